//! Placement: which migrates the migrate scan (`RecoverManager::ReGenerateWaitingMigrateList()`)
//! wants, and which recover targets `GenerateRecoverCmds()` picks.
//!
//! One file per ZBS function family (every rule with its line of the notes, `notes:NNN`, or
//! its assumption, A40-A59, is in `specs/placement.md`):
//!
//! | file | ZBS functions |
//! |---|---|
//! | [`topo_safety`] | topology safety: the rank of a location, the best locations of a pid |
//! | [`localization`] | low load: `RepairPExtentForLocalization()`, `GetRepairCid()`, `LocalizedComparator` |
//! | [`repair_topo`] | medium/high load: `RepairPextentTopo()`, `RepairInZone()`, `GetSrcAndReplace()`, `GetDst()` |
//! | [`stretched`] | two-zone clusters: `RepairInStretched()`, `MoveToOtherZone()` |
//! | [`rebalance`] | capacity rebalance: `DoMove()`, `ShouldMove()`, the load level |
//! | [`removing`] | `ReGenerateMigrateForRemovingChunk()` |
//!
//! Every function here is pure: it reads a [`PlacementInput`] (one pid plus a read-only view
//! of the cluster) and returns a [`MigrateCandidate`] or nothing. Nothing here changes state;
//! `MakeMigrateCmd()` (in `recover_manager.rs`) queues what [`propose_migrate`] returns.

pub mod localization;
pub mod rebalance;
pub mod removing;
pub mod repair_topo;
pub mod stretched;
pub mod topo_safety;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod proptests;

use super::chunk_table::{ChunkEntry, ChunkStatus, ChunkTable};
use super::pextent::PExtent;
use super::recover_cmd::MigrateCandidate;
use super::topology::{Level, NodeIx, Topology};
use super::{Cid, Pid};
use std::collections::BTreeMap;

pub use localization::{get_repair_cid, localized_order, repair_pextent_for_localization};
pub use rebalance::{
    LoadLevel, cluster_provisioned_percent, cluster_used_percent, do_move, should_move,
};
pub use removing::regenerate_migrate_for_removing_chunk;
pub use repair_topo::{get_dst, get_src_and_replace, repair_in_zone, repair_pextent_topo};
pub use stretched::{move_to_other_zone, repair_in_stretched};
pub use topo_safety::{SafetyRank, best_location, best_rank, is_stretched, safety_rank};

/// `FLAGS_max_recover_cmds_per_chunk`: command slots per chunk, ZBS default 128 (notes:238
/// "recover cmd slot 默认 128", notes:246).
pub const DEFAULT_MAX_RECOVER_CMDS_PER_CHUNK: usize = 128;
/// `RepairPExtentForLocalization()`: no migrate when src or dst has more commands issued
/// (notes:563, condition 4).
pub const LOCALIZATION_MAX_CMDS_PER_CHUNK: usize = 200;
/// `RepairPExtentForLocalization()`: no migrate when src has less than 256 MB free (notes:563,
/// condition 5). One model space unit is one extent (256 MiB, specs A57), so one unit.
pub const LOCALIZATION_MIN_SRC_FREE: u32 = 1;
/// Never migrate onto a chunk whose used space is over this percentage … (notes:335)
pub const CHUNK_NEARLY_FULL_PERCENT: u64 = 95;
/// … while the cluster's provisioned ratio is under this percentage (notes:335; notes:331
/// calls 90 % allocated the very high load).
pub const CLUSTER_VERY_HIGH_PERCENT: u64 = 90;

/// Why a migrate was proposed: the ZBS caller of `MakeMigrateCmd()` that made it, so traces
/// can say `Migrate for localization in storage pool: system`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum MigrateReason {
    /// `RepairPExtentForLocalization()` (low load).
    Localization,
    /// `RepairPextentTopo()` → `RepairInZone()` / `RepairInStretched()` (medium/high load).
    RepairTopo,
    /// `RepairInStretched()` → `MoveToOtherZone()`: restore the 2 : 1 zone split.
    MoveToOtherZone,
    /// `DoMove()`: capacity rebalance from a high-load chunk to a low-load one.
    Rebalance,
    /// `ReGenerateMigrateForRemovingChunk()`.
    RemovingChunk,
}

impl MigrateReason {
    /// The ZBS function that made the candidate (the caller of `MakeMigrateCmd()`).
    pub fn zbs_function(self) -> &'static str {
        match self {
            MigrateReason::Localization => "RepairPExtentForLocalization",
            MigrateReason::RepairTopo => "RepairPextentTopo",
            MigrateReason::MoveToOtherZone => "MoveToOtherZone",
            MigrateReason::Rebalance => "DoMove",
            MigrateReason::RemovingChunk => "ReGenerateMigrateForRemovingChunk",
        }
    }
}

/// What the migrate scan knows about the whole cluster: the same for every pid of one scan.
#[derive(Clone, Copy, Debug)]
pub struct ClusterView<'a> {
    pub topo: &'a Topology,
    pub chunks: &'a ChunkTable,
    /// The whole pextent table (`DoMove()` ranks the pids on a high-load chunk).
    pub pextents: &'a BTreeMap<Pid, PExtent>,
    pub load: LoadLevel,
    /// `FLAGS_max_recover_cmds_per_chunk`.
    pub max_recover_cmds_per_chunk: usize,
    /// Two data zones (plus a witness): `RepairInStretched()` instead of `RepairInZone()`.
    pub stretched: bool,
    /// The cluster's provisioned ratio in percent ([`cluster_provisioned_percent`]), which
    /// the 95 % / 90 % guard reads (notes:335).
    pub provisioned_percent: u64,
}

impl<'a> ClusterView<'a> {
    /// The view `ReGenerateWaitingMigrateList()` works with: the load level derived from chunk
    /// space ([`LoadLevel::from_chunks`]), stretched when the chunks sit in two or more zones
    /// ([`is_stretched`]), and the default command slots.
    pub fn derive(
        topo: &'a Topology,
        chunks: &'a ChunkTable,
        pextents: &'a BTreeMap<Pid, PExtent>,
    ) -> ClusterView<'a> {
        ClusterView {
            topo,
            chunks,
            pextents,
            load: LoadLevel::from_chunks(chunks),
            max_recover_cmds_per_chunk: DEFAULT_MAX_RECOVER_CMDS_PER_CHUNK,
            stretched: is_stretched(topo),
            provisioned_percent: cluster_provisioned_percent(chunks, pextents),
        }
    }

    /// The input for one pid with lease owner `owner`: one iteration of
    /// `ReGenerateWaitingMigrateList()`'s loop over the pextent table.
    pub fn for_pid(&self, pext: &'a PExtent, owner: Option<Cid>) -> PlacementInput<'a> {
        PlacementInput {
            pext,
            topo: self.topo,
            chunks: self.chunks,
            pextents: self.pextents,
            owner,
            load: self.load,
            max_recover_cmds_per_chunk: self.max_recover_cmds_per_chunk,
            stretched: self.stretched,
            provisioned_percent: self.provisioned_percent,
        }
    }
}

/// Everything one placement decision reads: one pid, its lease owner, and the cluster.
#[derive(Clone, Copy, Debug)]
pub struct PlacementInput<'a> {
    pub pext: &'a PExtent,
    pub topo: &'a Topology,
    pub chunks: &'a ChunkTable,
    pub pextents: &'a BTreeMap<Pid, PExtent>,
    /// The pid's lease owner in AccessManager, if any.
    pub owner: Option<Cid>,
    pub load: LoadLevel,
    pub max_recover_cmds_per_chunk: usize,
    pub stretched: bool,
    /// See [`ClusterView::provisioned_percent`].
    pub provisioned_percent: u64,
}

/// `RecoverManager::ReGenerateWaitingMigrateList()`, for one pid: the migrate the scan wants,
/// which the caller hands to `MakeMigrateCmd()`.
///
/// Order: a replica on a removing chunk first (`ReGenerateMigrateForRemovingChunk()`,
/// notes:627; first: specs A52); then at low load `RepairPExtentForLocalization()` for a pid
/// with prefer local (notes:557-563; pids without prefer local get `RepairPextentTopo()`:
/// specs A53); at medium/high load `RepairPextentTopo()` (notes:574-603) and, when it wants
/// nothing for this pid, `DoMove()` (notes:605-615; per pid: specs A54).
pub fn propose_migrate(input: &PlacementInput) -> Option<MigrateCandidate> {
    propose_migrate_why(input).map(|(cand, _)| cand)
}

/// [`propose_migrate`] (`ReGenerateWaitingMigrateList()`) together with the ZBS caller of
/// `MakeMigrateCmd()` that made the candidate.
pub fn propose_migrate_why(input: &PlacementInput) -> Option<(MigrateCandidate, MigrateReason)> {
    if let Some(cand) = regenerate_migrate_for_removing_chunk(input) {
        return Some((cand, MigrateReason::RemovingChunk));
    }
    match input.load {
        LoadLevel::Low if input.pext.preferred_cid.is_some() => {
            repair_pextent_for_localization(input).map(|c| (c, MigrateReason::Localization))
        }
        LoadLevel::Low => repair_pextent_topo(input),
        LoadLevel::Medium | LoadLevel::High | LoadLevel::VeryHigh => repair_pextent_topo(input)
            .or_else(|| do_move(input).map(|c| (c, MigrateReason::Rebalance))),
    }
}

/// `RecoverManager::GenerateRecoverCmds()`'s choice for a pid below its expected replica
/// count (the notes give no rule: notes:75 "GenerateRecoverCmds 里面的 src 也可以有选择策略的，
/// 目前的写法太乱了", its src choice could have a policy, today's code is messy; specs A55):
/// src = the first alive replica on a connected, non-failslow chunk (else the first alive
/// one); dst = the healthy chunk with space for the pid that makes the location safest
/// ([`safety_rank`] of location + dst), then fewest commands, most free space, lowest cid.
/// The 95 % / 90 % guard is not applied: notes:335 makes it a migrate check ("在 Migrate 时
/// 进行检查").
pub fn recover_src_dst(pext: &PExtent, topo: &Topology, chunks: &ChunkTable) -> Option<(Cid, Cid)> {
    let empty = BTreeMap::new();
    let view = ClusterView::derive(topo, chunks, &empty);
    let input = view.for_pid(pext, None);
    let alive = || {
        pext.alive_location
            .iter()
            .copied()
            .filter(|&c| input.is_usable(c))
    };
    let src = alive()
        .find(|&c| !input.is_failslow(c))
        .or_else(|| alive().next())?;
    let dst = chunks
        .chunks
        .keys()
        .copied()
        .filter(|&d| !pext.holds(d) && input.is_healthy(d) && input.has_space(d))
        .max_by_key(|&d| {
            let mut loc = pext.location.clone();
            loc.push(d);
            let e = input.entry(d);
            (
                safety_rank(&input, &loc),
                std::cmp::Reverse(e.map_or(0, ChunkEntry::cmd_count)),
                e.map_or(0, ChunkEntry::free_space),
                std::cmp::Reverse(d),
            )
        })?;
    Some((src, dst))
}

/// The pid is *topology-safe*: it has exactly `expected_replica_num` replicas, all alive on
/// connected (healthy or failslow) chunks, and no location of eligible chunks ranks higher
/// ([`best_rank`]). At low load with a healthy prefer local, only locations holding prefer
/// local count (specs A44). The goal of `RepairPextentTopo()`; the notes define no such
/// check (specs A43).
pub fn is_topology_safe(input: &PlacementInput) -> bool {
    let p = input.pext;
    p.location.len() == usize::from(p.expected_replica_num)
        && p.location.iter().all(|&c| input.eligible(c))
        && best_rank(input).is_some_and(|best| safety_rank(input, &p.location) >= best)
}

/// Localized at low load (`GetRepairCid()` rule 1, notes:567 "如果 prefer local 有该副本，并且
/// 其他活跃副本满足本地化/局部化的分配策略，说明副本满足分配规则": prefer local holds a replica
/// and the other alive replicas follow the localization policy): prefer local (when healthy,
/// notes:563 condition 1) holds a replica and every alive replica is in the
/// `LocalizedComparator` expected set. Other loads, and pids without a healthy prefer local,
/// are trivially localized.
pub fn is_localized(input: &PlacementInput) -> bool {
    let p = input.pext;
    match p.preferred_cid {
        Some(pl) if input.load == LoadLevel::Low && input.is_healthy(pl) => {
            let expected = localized_order(input);
            p.holds(pl) && p.alive_location.iter().all(|c| expected.contains(c))
        }
        _ => true,
    }
}

/// The *safe final location* of one pid (brief §6; notes:5 "topo 安全终态", the topology-safe
/// final state): `expected_replica_num` replicas, all alive, topology-safe
/// ([`is_topology_safe`]), and localized at low load ([`is_localized`]). Mirrors what
/// `ReGenerateWaitingMigrateList()` converges to; no ZBS function checks it (specs A43).
pub fn safe_final_location(input: &PlacementInput) -> bool {
    !input.needs_recover() && is_topology_safe(input) && is_localized(input)
}

/// *Safe final location* for the whole table (brief §6): every pid satisfies
/// [`safe_final_location`] (the lease owner plays no part in it). Meant for quiescent
/// states: topology and load unchanged and every command drained. Mirrors no ZBS function;
/// it is what `ReGenerateWaitingMigrateList()` is supposed to reach.
pub fn is_quiescent_safe(view: &ClusterView) -> bool {
    view.pextents
        .values()
        .all(|p| safe_final_location(&view.for_pid(p, None)))
}

/// *Migrate never lowers topology safety*, for a candidate made against `before` (the pid as
/// it was when `MakeMigrateCmd()` queued it): the location with `replace` swapped for `dst`
/// ranks at least as high as before. Exceptions (specs/placement.md §10): a low-load localization move
/// (`RepairPExtentForLocalization()`: notes:569 picks replace as "location 中的最后一个", the
/// last in location, without regard to safety; the bound is then that dst is in the expected
/// set and replace is not), and `ReGenerateMigrateForRemovingChunk()` (moves off a removing
/// chunk ignore topology, specs A52).
pub fn migrate_never_lowers_safety(before: &PlacementInput, cand: &MigrateCandidate) -> bool {
    let p = before.pext;
    let after: Vec<Cid> = p
        .location
        .iter()
        .map(|&c| if c == cand.replace { cand.dst } else { c })
        .collect();
    if safety_rank(before, &after) >= safety_rank(before, &p.location) {
        return true;
    }
    if before.status(cand.replace) == Some(ChunkStatus::Removing) {
        return true;
    }
    // The exception of notes:569: a low-load localization move (dst expected, replace not).
    before.load == LoadLevel::Low && p.preferred_cid.is_some_and(|pl| before.is_healthy(pl)) && {
        let expected = localized_order(before);
        expected.contains(&cand.dst) && !expected.contains(&cand.replace)
    }
}

// ---- Helpers every rule shares: chunk state, space, slots, zones. ----

impl PlacementInput<'_> {
    pub(crate) fn entry(&self, cid: Cid) -> Option<&ChunkEntry> {
        self.chunks.get(cid)
    }

    pub(crate) fn status(&self, cid: Cid) -> Option<ChunkStatus> {
        self.entry(cid).map(|e| e.status)
    }

    pub(crate) fn is_healthy(&self, cid: Cid) -> bool {
        self.status(cid) == Some(ChunkStatus::Healthy)
    }

    pub(crate) fn is_failslow(&self, cid: Cid) -> bool {
        self.status(cid) == Some(ChunkStatus::Failslow)
    }

    /// Connected: healthy or failslow (not removing, not disconnected).
    pub(crate) fn is_usable(&self, cid: Cid) -> bool {
        self.entry(cid).is_some_and(ChunkEntry::is_usable)
    }

    pub(crate) fn cmd_count(&self, cid: Cid) -> usize {
        self.entry(cid).map_or(usize::MAX, ChunkEntry::cmd_count)
    }

    /// Has a free command slot (`max_recover_cmds_per_chunk`, notes:246).
    pub(crate) fn has_slot(&self, cid: Cid) -> bool {
        self.cmd_count(cid) < self.max_recover_cmds_per_chunk
    }

    /// The stretched-cluster rules apply: the cluster is stretched and the load is not low
    /// (notes:79 "低负载没有区分双活，中高负载开始有区分": low load does not distinguish
    /// stretched clusters, medium and high load do).
    pub(crate) fn zone_rules(&self) -> bool {
        self.stretched && self.load != LoadLevel::Low
    }

    pub(crate) fn free_space(&self, cid: Cid) -> u32 {
        self.entry(cid).map_or(0, ChunkEntry::free_space)
    }

    /// The 95 % / 90 % guard of migrates (notes:335 "在 Migrate 时进行检查，如果集群整体尚有可用
    /// 空间时比如整体 provisioned 比例在 90% 以下，不向 Used Space 比例大于 95% 的节点迁移数据，即便
    /// Provsioned 比较低": when migrating, while the cluster's overall provisioned ratio is
    /// under 90 %, no data goes to a node whose used-space ratio is over 95 %, even if its
    /// provisioned space is low). The chunk side reads `used`, the cluster side the
    /// provisioned ratio ([`cluster_provisioned_percent`], specs A41).
    pub(crate) fn nearly_full_banned(&self, cid: Cid) -> bool {
        self.provisioned_percent < CLUSTER_VERY_HIGH_PERCENT
            && self.entry(cid).is_some_and(|e| {
                u64::from(e.used) * 100 > CHUNK_NEARLY_FULL_PERCENT * u64::from(e.capacity)
            })
    }

    /// Free space for one more replica of this pid (`AddRecoverCmdUnlock()` step 4, notes:653
    /// "确保 dst 上有足够的空间").
    pub(crate) fn has_space(&self, cid: Cid) -> bool {
        self.free_space(cid) >= self.pext.size
    }

    /// A migrate target's space: free space for the pid, and not banned by the 95 % / 90 %
    /// guard of migrates.
    pub(crate) fn has_room(&self, cid: Cid) -> bool {
        self.has_space(cid) && !self.nearly_full_banned(cid)
    }

    /// A migrate dst before the command-count rules: does not hold the pid, healthy (not
    /// failslow: notes:568 and notes:595 "不处于 failsow"), room ([`Self::has_room`]).
    pub(crate) fn accepts(&self, cid: Cid) -> bool {
        !self.pext.holds(cid) && self.is_healthy(cid) && self.has_room(cid)
    }

    /// A migrate dst with a command slot (notes:595 "还有待生成 cmd 配额", quota for commands
    /// left).
    pub(crate) fn can_receive(&self, cid: Cid) -> bool {
        self.accepts(cid) && self.has_slot(cid)
    }

    /// May be part of a location the policy aims for (specs A43): a connected chunk that holds
    /// an alive replica, or a healthy chunk with room for one ([`Self::has_room`]: a location
    /// is reached by migrates, so the migrate guard applies).
    pub(crate) fn eligible(&self, cid: Cid) -> bool {
        if self.pext.holds(cid) {
            self.is_usable(cid) && self.pext.is_alive_on(cid)
        } else {
            self.is_healthy(cid) && self.has_room(cid)
        }
    }

    /// Every eligible chunk, by cid.
    pub(crate) fn eligible_chunks(&self) -> Vec<Cid> {
        self.chunks
            .chunks
            .keys()
            .copied()
            .filter(|&c| self.eligible(c))
            .collect()
    }

    /// The chunk's zone object, if it hangs below one (an unplaced chunk has none).
    pub(crate) fn zone(&self, cid: Cid) -> Option<NodeIx> {
        zone_of(self.topo, cid)
    }

    /// Known to be in another zone: both chunks have a zone and they differ. A chunk without
    /// one (directly below `"topo"`) is not known to be elsewhere; ZBS keeps its `zone:
    /// "default"` (the incident-A `[RECOVER]` line still shows it after the move).
    pub(crate) fn in_other_zone(&self, a: Cid, b: Cid) -> bool {
        matches!((self.zone(a), self.zone(b)), (Some(za), Some(zb)) if za != zb)
    }

    /// Fewer replicas than expected, or a replica not alive: recover's business, not migrate's
    /// (specs A50; notes:400 refuses a manual migrate of a recovering pid, "is recovering").
    pub(crate) fn needs_recover(&self) -> bool {
        let p = self.pext;
        p.location.len() < usize::from(p.expected_replica_num)
            || p.location.iter().any(|&c| !p.is_alive_on(c))
    }

    /// `AddRecoverCmdUnlock()` would accept it, as far as placement can tell (notes:652-653:
    /// src holds the pid, dst does not and has space): src and replace hold alive replicas on
    /// connected (or removing) chunks, dst can receive it ([`Self::can_receive`]), and every
    /// chunk involved has a command slot (for src and replace: specs A48).
    pub(crate) fn feasible(&self, src: Cid, dst: Cid, replace: Cid) -> Option<MigrateCandidate> {
        self.feasible_with(src, dst, replace, true)
    }

    /// [`Self::feasible`], with the command-slot checks only if `slots`: the localization
    /// scan has its own count rule instead (notes:563, more than 200 commands).
    pub(crate) fn feasible_with(
        &self,
        src: Cid,
        dst: Cid,
        replace: Cid,
        slots: bool,
    ) -> Option<MigrateCandidate> {
        let p = self.pext;
        let holds_alive = |c: Cid| {
            c != 0
                && p.holds(c)
                && p.is_alive_on(c)
                && matches!(
                    self.status(c),
                    Some(ChunkStatus::Healthy | ChunkStatus::Failslow | ChunkStatus::Removing)
                )
        };
        let ok = holds_alive(src)
            && holds_alive(replace)
            && dst != 0
            && self.accepts(dst)
            && (!slots || (self.has_slot(dst) && self.has_slot(src) && self.has_slot(replace)));
        ok.then_some(MigrateCandidate {
            pid: p.pid,
            src,
            dst,
            replace,
        })
    }
}

/// The zone object above `cid`, if any.
pub(crate) fn zone_of(topo: &Topology, cid: Cid) -> Option<NodeIx> {
    match topo.domain(cid, Level::Zone) {
        super::topology::Domain::Object(z) => Some(z),
        super::topology::Domain::Alone(_) => None,
    }
}

#[cfg(test)]
mod tests;
