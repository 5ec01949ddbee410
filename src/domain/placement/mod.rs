//! Placement: which migrates the migrate scan (`RecoverManager::ReGenerateWaitingMigrateList()`)
//! wants, and which recover targets `GenerateRecoverCmds()` picks.
//!
//! One file per ZBS function family (the written rules, with the brief's wording, are in
//! `specs/placement.md`):
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
pub use rebalance::{LoadLevel, cluster_used_percent, do_move, should_move};
pub use removing::regenerate_migrate_for_removing_chunk;
pub use repair_topo::{get_dst, get_src_and_replace, repair_in_zone, repair_pextent_topo};
pub use stretched::{move_to_other_zone, repair_in_stretched};
pub use topo_safety::{SafetyRank, best_locations, best_rank, is_stretched, safety_rank};

/// `FLAGS_max_recover_cmds_per_chunk`: command slots per chunk, ZBS default 128.
pub const DEFAULT_MAX_RECOVER_CMDS_PER_CHUNK: usize = 128;
/// `RepairPExtentForLocalization()`: no migrate when src or dst takes part in more commands.
pub const LOCALIZATION_MAX_CMDS_PER_CHUNK: usize = 200;
/// `RepairPExtentForLocalization()`: no migrate when src has less than 256 MB free. One model
/// space unit is one extent (256 MiB, see `PExtent::size`), so the bound is one unit.
pub const LOCALIZATION_MIN_SRC_FREE: u32 = 1;
/// Never migrate onto a chunk whose used space is over this percentage …
pub const CHUNK_NEARLY_FULL_PERCENT: u64 = 95;
/// … while the cluster is under this percentage (the very-high-load threshold).
pub const CLUSTER_VERY_HIGH_PERCENT: u64 = 90;

/// Why a migrate was proposed: the ZBS caller of `MakeMigrateCmd()` that made it, so traces
/// can say `Migrate for localization in storage pool: system`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
}

/// `RecoverManager::ReGenerateWaitingMigrateList()`, for one pid: the migrate the scan wants,
/// which the caller hands to `MakeMigrateCmd()`.
///
/// Order: a replica on a removing chunk first (`ReGenerateMigrateForRemovingChunk()`); then
/// at low load `RepairPExtentForLocalization()` (pids without prefer local get
/// `RepairPextentTopo()`); at medium/high load `RepairPextentTopo()` and, when it wants
/// nothing, `DoMove()`.
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
/// count: src = the first alive replica on a connected, non-failslow chunk (else the first
/// alive one); dst = the healthy chunk with room that makes the location safest
/// ([`safety_rank`] of location + dst), then fewest commands, most free space, lowest cid.
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
        .filter(|&d| !pext.holds(d) && input.is_healthy(d) && input.has_room(d))
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
/// local count (see specs §1). Mirrors the goal of `RepairPextentTopo()`.
pub fn is_topology_safe(input: &PlacementInput) -> bool {
    let p = input.pext;
    p.location.len() == usize::from(p.expected_replica_num)
        && p.location.iter().all(|&c| input.eligible(c))
        && best_rank(input).is_some_and(|best| safety_rank(input, &p.location) >= best)
}

/// Localized at low load (`GetRepairCid()` rule 1): prefer local (when healthy) holds a
/// replica and every alive replica is in the `LocalizedComparator` expected set. Other loads,
/// and pids without a healthy prefer local, are trivially localized.
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

/// The *safe final location* of one pid (brief §6): `expected_replica_num` replicas, all
/// alive, topology-safe ([`is_topology_safe`]), and localized at low load ([`is_localized`]).
/// Mirrors what `ReGenerateWaitingMigrateList()` converges to; no ZBS function checks it.
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
/// ranks at least as high as before. Exceptions (specs §9): a low-load localization move
/// (`RepairPExtentForLocalization()`: replace is "the last in location", chosen without
/// regard to safety; the bound is then that dst is in the expected set and replace is not),
/// and `ReGenerateMigrateForRemovingChunk()` (moves off a removing chunk ignore topology).
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
    // The brief's exception: a low-load localization move (dst expected, replace not).
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

    /// Has a free command slot (`max_recover_cmds_per_chunk`).
    pub(crate) fn has_slot(&self, cid: Cid) -> bool {
        self.cmd_count(cid) < self.max_recover_cmds_per_chunk
    }

    pub(crate) fn free_space(&self, cid: Cid) -> u32 {
        self.entry(cid).map_or(0, ChunkEntry::free_space)
    }

    /// "Never migrate onto a chunk whose used space is over 95% while the cluster is under
    /// 90%."
    pub(crate) fn nearly_full_banned(&self, cid: Cid) -> bool {
        self.load != LoadLevel::VeryHigh
            && self.entry(cid).is_some_and(|e| {
                u64::from(e.used) * 100 > CHUNK_NEARLY_FULL_PERCENT * u64::from(e.capacity)
            })
    }

    /// Space for one more replica of this pid, and not banned by the 95 % / 90 % rule.
    pub(crate) fn has_room(&self, cid: Cid) -> bool {
        self.free_space(cid) >= self.pext.size && !self.nearly_full_banned(cid)
    }

    /// A migrate dst: does not hold the pid, healthy (not failslow), room, a command slot.
    pub(crate) fn can_receive(&self, cid: Cid) -> bool {
        !self.pext.holds(cid) && self.is_healthy(cid) && self.has_room(cid) && self.has_slot(cid)
    }

    /// May be part of a location the policy aims for: a connected chunk that holds an alive
    /// replica, or a healthy chunk with room for one.
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

    /// Fewer replicas than expected, or a replica not alive: recover's business, not migrate's.
    pub(crate) fn needs_recover(&self) -> bool {
        let p = self.pext;
        p.location.len() < usize::from(p.expected_replica_num)
            || p.location.iter().any(|&c| !p.is_alive_on(c))
    }

    /// `AddRecoverCmdUnlock()` would accept it, as far as placement can tell: src and replace
    /// hold alive replicas on connected chunks, dst does not hold the pid and can receive it,
    /// and every chunk involved has a command slot.
    pub(crate) fn feasible(&self, src: Cid, dst: Cid, replace: Cid) -> Option<MigrateCandidate> {
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
            && self.can_receive(dst)
            && self.has_slot(src)
            && self.has_slot(replace);
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
