//! Medium/high load topology repair (`RecoverManager::RepairTopoInMediumHighLoad()`,
//! `RepairPextentTopo()`, `RepairInZone()`, `GetSrcAndReplace()`, `GetDst()`: notes:574-603).

use super::{MigrateReason, PlacementInput, repair_in_stretched, safety_rank};
use crate::domain::Cid;
use crate::domain::recover_cmd::MigrateCandidate;
use std::cmp::Reverse;

/// `RecoverManager::RepairPextentTopo()`: `RepairInStretched()` in a stretched cluster at
/// medium/high load, else `RepairInZone()` (notes:582-583; low load does not distinguish
/// stretched clusters, notes:79). Nothing for a pid with a temporary replica or one that
/// needs recover (specs A50).
pub fn repair_pextent_topo(input: &PlacementInput) -> Option<(MigrateCandidate, MigrateReason)> {
    if input.pext.temporary_replica || input.needs_recover() {
        return None;
    }
    if input.zone_rules() {
        repair_in_stretched(input)
    } else {
        repair_in_zone(input).map(|c| (c, MigrateReason::RepairTopo))
    }
}

/// `RecoverManager::GetSrcAndReplace()`: `(replace, src)`, 0 when none, among the alive
/// replicas `among` accepts.
///
/// Replicas are ordered failslow first, then by topology (the replica whose removal leaves
/// the others best spread first: a replica sharing a domain comes before a lone one), then
/// by capacity, largest first, then location order (notes:587, read as specs A51).
/// replace = the first that is not prefer local, not the lease owner and has a free command
/// slot; else the owner (if it holds an alive replica); else 0 (notes:589). src = replace;
/// if replace is failslow, the first non-failslow alive replica, 0 if none (notes:591;
/// "the first": specs A51).
pub fn get_src_and_replace(input: &PlacementInput, among: &dyn Fn(Cid) -> bool) -> (Cid, Cid) {
    let p = input.pext;
    let alive: Vec<Cid> = p
        .location
        .iter()
        .copied()
        .filter(|&c| p.is_alive_on(c))
        .collect();
    let mut order: Vec<(usize, Cid)> = alive
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, c)| among(c))
        .collect();
    order.sort_by_key(|&(ix, r)| {
        let rest: Vec<Cid> = p.location.iter().copied().filter(|&c| c != r).collect();
        (
            !input.is_failslow(r),
            Reverse(safety_rank(input, &rest)),
            Reverse(input.entry(r).map_or(0, |e| e.capacity)),
            ix,
        )
    });
    let replace = order
        .iter()
        .map(|&(_, r)| r)
        .find(|&r| Some(r) != p.preferred_cid && Some(r) != input.owner && input.has_slot(r))
        .or_else(|| input.owner.filter(|&o| alive.contains(&o) && among(o)))
        .unwrap_or(0);
    let src = if replace != 0 && input.is_failslow(replace) {
        alive
            .iter()
            .copied()
            .find(|&c| !input.is_failslow(c))
            .unwrap_or(0)
    } else {
        replace
    };
    (replace, src)
}

/// `RecoverManager::GetDst()`: the chunk to receive the replica that replaces `replace`, 0
/// when none. Candidates: not holding the pid, healthy (not failslow), a free command slot
/// (notes:595 conditions 1-3), room and the 95 % / 90 % guard (notes:335, specs A58),
/// accepted by `zone_ok`, and — when `require_safer` (not stretched: notes:595 condition 4;
/// stretched clusters need not, notes:599) — making the location's [`safety_rank`] strictly
/// higher. Prefer local if it is a candidate (notes:595); else the candidate giving the
/// safest location, then fewest commands, most free space, lowest cid (specs A58).
pub fn get_dst(
    input: &PlacementInput,
    replace: Cid,
    zone_ok: &dyn Fn(Cid) -> bool,
    require_safer: bool,
) -> Cid {
    let p = input.pext;
    let before = safety_rank(input, &p.location);
    let rank_with = |d: Cid| {
        let after: Vec<Cid> = p
            .location
            .iter()
            .map(|&c| if c == replace { d } else { c })
            .collect();
        safety_rank(input, &after)
    };
    let ok =
        |d: Cid| input.can_receive(d) && zone_ok(d) && (!require_safer || rank_with(d) > before);
    if let Some(pl) = p.preferred_cid.filter(|&pl| ok(pl)) {
        return pl;
    }
    input
        .chunks
        .chunks
        .keys()
        .copied()
        .filter(|&d| ok(d))
        .max_by_key(|&d| {
            (
                rank_with(d),
                Reverse(input.cmd_count(d)),
                input.free_space(d),
                Reverse(d),
            )
        })
        .unwrap_or(0)
}

/// `RecoverManager::RepairInZone()` (not stretched, notes:582): `GetSrcAndReplace()` then
/// `GetDst()` with "makes the topology safer" required (notes:595); no command if replace or
/// src is 0 (notes:601) or dst is 0 (specs A59).
pub fn repair_in_zone(input: &PlacementInput) -> Option<MigrateCandidate> {
    let (replace, src) = get_src_and_replace(input, &|_| true);
    if replace == 0 || src == 0 {
        return None;
    }
    let dst = get_dst(input, replace, &|_| true, true);
    input.feasible(src, dst, replace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chunk_table::ChunkStatus;
    use crate::domain::placement::LoadLevel;
    use crate::domain::placement::fixtures::*;

    fn medium(mut c: Cluster) -> Cluster {
        c.load = LoadLevel::Medium;
        c
    }

    /// notes:576 (a topology-safety scan first) and notes:595 (dst makes the topology safer,
    /// specs A42): a shared brick is left for a fresh one.
    #[test]
    fn a_shared_brick_is_repaired_into_a_fresh_one() {
        let c = medium(Cluster::two_racks());
        // a1 {1, 2}, a2 {3}, b1 {4, 5}: [1, 2, 4] shares brick a1.
        let i = c.input(&[1, 2, 4], None);
        let cand = repair_in_zone(&i).unwrap();
        assert_eq!((cand.src, cand.dst, cand.replace), (1, 3, 1));
        let i = c.input(&[1, 3, 4], None);
        assert_eq!(repair_in_zone(&i), None, "already safe");
    }

    /// "replace = first replica (failslow first, then by capacity) that is not prefer local,
    /// not owner, and has free command slots, else the owner".
    #[test]
    fn replace_skips_prefer_local_owner_and_full_slots_then_falls_back_to_the_owner() {
        let mut c = medium(Cluster::two_racks());
        let i = c.input(&[1, 2, 4], Some(1));
        assert_eq!(
            get_src_and_replace(&i, &|_| true),
            (2, 2),
            "1 is prefer local"
        );
        c.owner = Some(2);
        let i = c.input(&[1, 2, 4], Some(1));
        assert_eq!(
            get_src_and_replace(&i, &|_| true),
            (4, 4),
            "then the lone replica"
        );
        c.busy(4, c.slots);
        let i = c.input(&[1, 2, 4], Some(1));
        assert_eq!(get_src_and_replace(&i, &|_| true), (2, 2), "else the owner");
        c.chunks.chunks.get_mut(&1).unwrap().capacity = 20;
        c.owner = None;
        let i = c.input(&[1, 2, 4], None);
        assert_eq!(
            get_src_and_replace(&i, &|_| true).0,
            1,
            "larger capacity first"
        );
    }

    /// "failslow first"; GetSrcAndReplace: a failslow replace reads from a healthy replica.
    #[test]
    fn a_failslow_replica_is_replaced_first_and_not_read_from() {
        let mut c = medium(Cluster::two_racks());
        c.set_status(4, ChunkStatus::Failslow);
        let i = c.input(&[1, 3, 4], None);
        assert_eq!(get_src_and_replace(&i, &|_| true), (4, 1));
        // 5 shares brick b1 with 4 but is healthy: the location gets safer.
        let cand = repair_in_zone(&i).unwrap();
        assert_eq!((cand.src, cand.dst, cand.replace), (1, 5, 4));
    }

    /// "dst = prefer local if that makes the topology safer, else the chunk that most
    /// improves topology safety."
    #[test]
    fn dst_is_prefer_local_only_when_that_is_safer() {
        let c = medium(Cluster::two_racks());
        // [1, 2] shares a1. Replacing 2: prefer local 3 (a2) is safer, 4 (b1) safer still.
        let i = c.input(&[1, 2], Some(3));
        assert_eq!(get_dst(&i, 2, &|_| true, true), 3);
        let i = c.input(&[1, 2], None);
        assert_eq!(get_dst(&i, 2, &|_| true, true), 4);
        // [1, 4] is safe: prefer local 2 (shares a1 with 1) would make it less safe.
        let i = c.input(&[1, 4], Some(2));
        assert_eq!(get_dst(&i, 4, &|_| true, true), 0);
    }

    /// "No command if replace or src is 0."
    #[test]
    fn no_command_without_replace_or_src() {
        let mut c = medium(Cluster::two_racks());
        c.owner = Some(9);
        // Two replicas in a1: 1 is prefer local, 2 has no free slot, the owner holds none.
        c.busy(2, c.slots);
        let i = c.input(&[1, 2], Some(1));
        assert_eq!(get_src_and_replace(&i, &|_| true), (0, 0));
        assert_eq!(repair_in_zone(&i), None);
    }
}
