//! Capacity rebalance at medium/high load (`RecoverManager::ReGenerateMigrateForBalanceInStoragePool()`,
//! `Move()`, `DoMove()`, `ShouldMove()`: notes:605-615) and the cluster load level it depends
//! on (specs A40).

use super::{CLUSTER_VERY_HIGH_PERCENT, PlacementInput, safety_rank};
use crate::domain::chunk_table::{ChunkEntry, ChunkTable};
use crate::domain::pextent::PExtent;
use crate::domain::recover_cmd::MigrateCandidate;
use crate::domain::{Cid, Pid};
use std::cmp::Reverse;

/// Cluster space ratio from which the load is medium (not in the notes: specs A40).
pub const MEDIUM_LOAD_PERCENT: u64 = 50;
/// Cluster space ratio from which the load is high (not in the notes: specs A40).
pub const HIGH_LOAD_PERCENT: u64 = 80;
/// `DoMove()` moves replicas off chunks more than this many percentage points above the
/// cluster ratio, onto chunks more than this many points below it (not in the notes: specs
/// A56).
pub const BALANCE_MARGIN_PERCENT: u64 = 10;

/// The cluster load level the migrate scan branches on, from the cluster space ratio
/// (specs A40): low < 50 % ≤ medium < 80 % ≤ high < 90 % ≤ very high. The notes name the
/// levels (notes:79, notes:319, notes:605) and give only the very-high figure (notes:331,
/// 90 % allocated).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum LoadLevel {
    /// Localization (`RepairPExtentForLocalization()`).
    Low,
    /// Topology repair, then rebalance; prefer local's replica is kept (notes:324-326).
    Medium,
    /// Topology repair, then rebalance; localization is given up, prefer local's replica may
    /// move (notes:319, notes:326).
    High,
    /// As high (the 95 % / 90 % guard reads the provisioned ratio itself, specs A40/A41).
    VeryHigh,
}

impl LoadLevel {
    /// The level of a cluster whose space ratio is `percent` (the storage pool load the ZBS
    /// migrate scan, `ReGenerateWaitingMigrateList()`, branches on).
    pub fn from_percent(percent: u64) -> LoadLevel {
        match percent {
            p if p >= CLUSTER_VERY_HIGH_PERCENT => LoadLevel::VeryHigh,
            p if p >= HIGH_LOAD_PERCENT => LoadLevel::High,
            p if p >= MEDIUM_LOAD_PERCENT => LoadLevel::Medium,
            _ => LoadLevel::Low,
        }
    }

    /// The level derived from chunk space ([`cluster_used_percent`]). Mirrors the storage
    /// pool load the ZBS migrate scan reads before choosing localization or topology repair.
    pub fn from_chunks(chunks: &ChunkTable) -> LoadLevel {
        LoadLevel::from_percent(cluster_used_percent(chunks))
    }
}

/// Used plus reserved space over capacity, in percent, over the connected chunks: the
/// storage pool's load figure that `ReGenerateWaitingMigrateList()` and `ShouldMove()`
/// compare with (0 for an empty cluster; specs A40).
pub fn cluster_used_percent(chunks: &ChunkTable) -> u64 {
    let (used, cap) =
        chunks
            .chunks
            .values()
            .filter(|e| e.is_usable())
            .fold((0u64, 0u64), |(u, c), e| {
                (
                    u + u64::from(e.used) + u64::from(e.reserved),
                    c + u64::from(e.capacity),
                )
            });
    (used * 100).checked_div(cap).unwrap_or(0)
}

/// The cluster's provisioned ratio in percent, over the connected chunks: the space the
/// pextent table allocates on them (every replica at its full `size`, thin or thick) plus the
/// space reserved for commands, over their capacity (0 for an empty cluster). ZBS's
/// `provisioned_data_space` falls as soon as an extent is deleted while used space lags
/// (notes:333); the model file's `used` is the used space (specs A41). Read by the 95 % / 90 %
/// guard (notes:335).
pub fn cluster_provisioned_percent(
    chunks: &ChunkTable,
    pextents: &std::collections::BTreeMap<Pid, PExtent>,
) -> u64 {
    let usable = |c: &Cid| chunks.get(*c).is_some_and(ChunkEntry::is_usable);
    let allocated: u64 = pextents
        .values()
        .map(|p| u64::from(p.size) * p.location.iter().filter(|c| usable(c)).count() as u64)
        .sum();
    let (reserved, cap) = chunks
        .chunks
        .values()
        .filter(|e| e.is_usable())
        .fold((0u64, 0u64), |(r, c), e| {
            (r + u64::from(e.reserved), c + u64::from(e.capacity))
        });
    ((allocated + reserved) * 100).checked_div(cap).unwrap_or(0)
}

fn committed(e: &ChunkEntry) -> u64 {
    u64::from(e.used) + u64::from(e.reserved)
}

fn chunk_percent(e: &ChunkEntry) -> u64 {
    (committed(e) * 100)
        .checked_div(u64::from(e.capacity))
        .unwrap_or(100)
}

/// `Move()`'s order of the replicas to move: 0 thick, 1 thin without origin, 2 thin with
/// origin (made by copy-on-write of a snapshot) — notes:609.
pub(crate) fn move_class(p: &PExtent) -> u8 {
    match (p.thin_provision, p.origin_pid) {
        (false, _) => 0,
        (true, None) => 1,
        (true, Some(_)) => 2,
    }
}

/// `RecoverManager::ShouldMove()`: is this pid among those `Move()` takes off high-load chunk
/// `high`? The pids on `high` are ordered thick first, then thin without origin, then thin
/// with origin (notes:609; then by pid), and the chunk sheds the shortest prefix whose size
/// covers its excess over the cluster ratio (specs A56).
pub fn should_move(input: &PlacementInput, high: Cid) -> bool {
    let Some(e) = input.entry(high) else {
        return false;
    };
    let cluster = super::cluster_used_percent(input.chunks);
    let target = cluster * u64::from(e.capacity) / 100;
    let excess = committed(e).saturating_sub(target);
    let me = input.pext;
    let mut on_high: Vec<&PExtent> = input
        .pextents
        .values()
        .filter(|q| q.pid != me.pid && q.holds(high) && !q.temporary_replica)
        .chain(std::iter::once(me))
        .collect();
    on_high.sort_by_key(|q| (move_class(q), q.pid));
    let mut ahead = 0u64;
    for q in on_high {
        if q.pid == me.pid {
            return ahead < excess;
        }
        ahead += u64::from(q.size);
    }
    false
}

/// `RecoverManager::DoMove()` for one pid (medium/high load): move the pid's replica off a
/// high-load chunk onto a low-load chunk (notes:607). The rest is specs A56: the most loaded
/// high-load chunk first (more than [`BALANCE_MARGIN_PERCENT`] above the cluster ratio,
/// picked by [`should_move`], not the lease owner), a dst as far below, such that it stays
/// below the src after the move (no ping-pong) and the location's [`safety_rank`] does not
/// drop; dst order: safest, least loaded, lowest cid. At medium load prefer local's replica
/// stays (notes:324-326). Never onto a chunk over 95 % used while the cluster's provisioned
/// ratio is under 90 % (notes:335).
pub fn do_move(input: &PlacementInput) -> Option<MigrateCandidate> {
    let p = input.pext;
    if input.load == LoadLevel::Low || p.temporary_replica || input.needs_recover() {
        return None;
    }
    let cluster = cluster_used_percent(input.chunks);
    let before = safety_rank(input, &p.location);
    let size = u64::from(p.size);
    let pct = |c: Cid| input.entry(c).map_or(100, chunk_percent);
    let mut highs: Vec<Cid> = p
        .location
        .iter()
        .copied()
        .filter(|&h| {
            input.is_usable(h)
                && pct(h) > cluster + BALANCE_MARGIN_PERCENT
                && Some(h) != input.owner
                && !(input.load == LoadLevel::Medium && Some(h) == p.preferred_cid)
                && input.has_slot(h)
                && should_move(input, h)
        })
        .collect();
    highs.sort_by_key(|&h| (Reverse(pct(h)), h));
    for h in highs {
        let src = if input.is_failslow(h) {
            match p
                .alive_location
                .iter()
                .copied()
                .find(|&c| c != h && input.is_healthy(c))
            {
                Some(s) => s,
                None => continue,
            }
        } else {
            h
        };
        let he = input.entry(h)?;
        let after_of = |d: Cid| -> Vec<Cid> {
            p.location
                .iter()
                .map(|&c| if c == h { d } else { c })
                .collect()
        };
        let dst = input
            .chunks
            .chunks
            .iter()
            .filter(|&(&d, de)| {
                input.can_receive(d)
                    && chunk_percent(de) + BALANCE_MARGIN_PERCENT < cluster
                    // dst after the move stays below src after the move.
                    && (committed(de) + size) * u64::from(he.capacity)
                        < committed(he).saturating_sub(size) * u64::from(de.capacity)
                    && safety_rank(input, &after_of(d)) >= before
            })
            .max_by_key(|&(&d, de)| {
                (
                    safety_rank(input, &after_of(d)),
                    Reverse(chunk_percent(de)),
                    Reverse(d),
                )
            })
            .map(|(&d, _)| d);
        if let Some(cand) = dst.and_then(|d| input.feasible(src, d, h)) {
            return Some(cand);
        }
    }
    None
}

/// `RecoverManager::Move()`'s order of the pids leaving one chunk: thick, thin without
/// origin, thin with origin (notes:609), then by pid.
pub fn move_priority(p: &PExtent) -> (u8, Pid) {
    (move_class(p), p.pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::placement::fixtures::*;

    #[test]
    fn load_levels_follow_the_documented_thresholds() {
        assert_eq!(LoadLevel::from_percent(49), LoadLevel::Low);
        assert_eq!(LoadLevel::from_percent(50), LoadLevel::Medium);
        assert_eq!(LoadLevel::from_percent(80), LoadLevel::High);
        assert_eq!(LoadLevel::from_percent(90), LoadLevel::VeryHigh);
        let c = Cluster::incident_a_faithful();
        assert_eq!(cluster_used_percent(&c.chunks), 20);
        assert_eq!(
            c.load,
            LoadLevel::Low,
            "the pid-3133 cluster is at low load"
        );
    }

    /// Chunks 1, 2 at 90 %, chunks 4, 5 at 10 %: cluster 50 %, medium load.
    fn unbalanced() -> Cluster {
        let mut c = Cluster::incident_a_faithful();
        for (cid, used) in [(1, 9), (2, 9), (4, 1), (5, 1)] {
            c.set_used(cid, used);
        }
        c.load = LoadLevel::from_chunks(&c.chunks);
        c
    }

    /// notes:607 "把高负载节点的副本迁移到低负载节点" (move replicas of high-load nodes to
    /// low-load nodes).
    #[test]
    fn do_move_takes_a_replica_from_a_high_load_chunk_to_a_low_load_one() {
        let c = unbalanced();
        assert_eq!(c.load, LoadLevel::Medium);
        let i = c.input(&[1, 4], None);
        let cand = do_move(&i).unwrap();
        assert_eq!((cand.src, cand.dst, cand.replace), (1, 5, 1));
    }

    /// notes:609: thick first, then thin without origin, then thin with origin.
    #[test]
    fn thick_moves_first_then_thin_without_origin_then_thin_with_origin() {
        let mut c = unbalanced();
        // Chunk 1 has 9 used, target 5: excess 4. Four size-1 pids ahead of ours fill it.
        let mut ps = Vec::new();
        for (pid, thin, origin) in [
            (10, true, Some(1)),
            (11, true, None),
            (12, false, None),
            (13, true, None),
            (14, false, None),
        ] {
            let mut p = pext(pid, &[1, 4], None);
            p.thin_provision = thin;
            p.origin_pid = origin;
            ps.push(p.clone());
            c.pextents.insert(pid, p);
        }
        let order: Vec<Pid> = {
            let mut v = ps.clone();
            v.sort_by_key(move_priority);
            v.iter().map(|p| p.pid).collect()
        };
        assert_eq!(order, vec![12, 14, 11, 13, 10]);
        let moves = |pid: Pid| should_move(&c.input_pid(pid), 1);
        assert!(moves(12) && moves(14) && moves(11) && moves(13));
        assert!(!moves(10), "thin with origin comes last, past the excess");
    }

    /// notes:335: no migrate onto a node over 95 % used while the cluster's provisioned ratio
    /// is under 90 %.
    #[test]
    fn never_onto_a_nearly_full_chunk_below_90_percent_provisioned() {
        let mut c = unbalanced();
        c.chunks.chunks.get_mut(&5).unwrap().capacity = 100;
        c.set_used(5, 96);
        c.load = LoadLevel::from_chunks(&c.chunks);
        let i = c.input(&[1, 4], None);
        assert!(i.nearly_full_banned(5));
        assert_eq!(do_move(&i), None, "5 is the only low-load chunk left");
        let mut provisioned = i;
        provisioned.provisioned_percent = 90;
        assert!(!provisioned.nearly_full_banned(5));
    }

    #[test]
    fn no_rebalance_at_low_load_or_for_the_owner_or_a_balanced_cluster() {
        let c = unbalanced();
        let mut i = c.input(&[1, 4], None);
        i.owner = Some(1);
        assert_eq!(do_move(&i), None, "the owner's replica stays");
        i.owner = None;
        i.load = LoadLevel::Low;
        assert_eq!(do_move(&i), None);
        let balanced = Cluster::incident_a_faithful();
        let mut i = balanced.input(&[1, 4], None);
        i.load = LoadLevel::Medium;
        assert_eq!(do_move(&i), None);
    }
}
