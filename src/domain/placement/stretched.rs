//! Stretched (two-zone) clusters at medium/high load (`RecoverManager::RepairInStretched()`,
//! `MoveToOtherZone()`, notes:583): two replicas in the prefer-local zone, one in the other
//! (notes:96 "双活的选，为啥是先 2 个 prefer local zone 再 1 个 secondary zone", the stretched
//! choice takes two in the prefer-local zone, then one in the secondary zone). Low load does
//! not distinguish stretched clusters (notes:79), so none of this applies there.

use super::topo_safety::{primary_zone, zone_misfit, zone_quotas};
use super::{MigrateReason, PlacementInput, get_dst, get_src_and_replace};
use crate::domain::Cid;
use crate::domain::recover_cmd::MigrateCandidate;

/// `RecoverManager::RepairInStretched()`: when the replicas are not split 2 : 1 over the
/// prefer-local zone and the other zone, `MoveToOtherZone()`; otherwise nothing. The notes
/// say its dst must respect prefer local's zone and need not make the topology safer
/// (notes:599 "需要考虑 prefer local 所在的 zone，然后不需要考虑让拓扑结构更安全"); with the
/// zones split right there is then nothing it aims for, so the model repairs the zone split
/// only (specs A46).
pub fn repair_in_stretched(input: &PlacementInput) -> Option<(MigrateCandidate, MigrateReason)> {
    let p = input.pext;
    if zone_misfit(input, &p.location) == 0 {
        return None;
    }
    move_to_other_zone(input).map(|c| (c, MigrateReason::MoveToOtherZone))
}

/// `RecoverManager::MoveToOtherZone()`: move one replica from a zone holding more than its
/// share (or from a chunk with no zone) to the zone holding less: two in the prefer-local
/// zone (notes:96; else the zone holding most replicas, specs A47), one in the other.
/// replace/src by `GetSrcAndReplace()` among the misplaced replicas (notes:585: the same
/// selection rules as `RepairInZone()`); dst by `GetDst()` in the short zone, not required
/// to be safer (notes:599).
pub fn move_to_other_zone(input: &PlacementInput) -> Option<MigrateCandidate> {
    let p = input.pext;
    let (pref_quota, other_quota) = zone_quotas(usize::from(p.expected_replica_num));
    let primary = primary_zone(input, &p.location);
    let in_pref = p
        .location
        .iter()
        .filter(|&&c| input.zone(c).is_some() && input.zone(c) == primary)
        .count();
    let in_other = p
        .location
        .iter()
        .filter(|&&c| input.zone(c).is_some() && input.zone(c) != primary)
        .count();
    let misplaced = |c: Cid| match input.zone(c) {
        None => true,
        Some(z) if Some(z) == primary => in_pref > pref_quota,
        Some(_) => in_other > other_quota,
    };
    let short_zone: Box<dyn Fn(Cid) -> bool> = if in_pref < pref_quota {
        Box::new(|d| input.zone(d).is_some() && input.zone(d) == primary)
    } else if in_other < other_quota {
        Box::new(|d| input.zone(d).is_some() && input.zone(d) != primary)
    } else {
        return None;
    };
    let (replace, src) = get_src_and_replace(input, &misplaced);
    if replace == 0 || src == 0 {
        return None;
    }
    // notes:599: the dst need not make the topology safer. (It does anyway: the zone misfit
    // is the first key of the safety rank, and filling the short zone from a misplaced
    // replica lowers it.)
    let dst = get_dst(input, replace, &*short_zone, false);
    input.feasible(src, dst, replace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::placement::LoadLevel;
    use crate::domain::placement::fixtures::*;

    fn medium() -> Cluster {
        let mut c = Cluster::stretched();
        c.load = LoadLevel::Medium;
        c
    }

    /// notes:96: two replicas in the prefer-local zone, one in the secondary zone.
    #[test]
    fn three_in_one_zone_move_one_to_the_other() {
        let c = medium();
        // zone-a: 1, 2, 3; zone-b: 4, 5.
        let i = c.input(&[1, 2, 3], Some(1));
        let (cand, why) = repair_in_stretched(&i).unwrap();
        assert_eq!(why, MigrateReason::MoveToOtherZone);
        assert_eq!((cand.replace, cand.dst), (2, 4));
    }

    #[test]
    fn two_in_the_other_zone_move_one_home() {
        let c = medium();
        let i = c.input(&[1, 4, 5], Some(1));
        let (cand, why) = repair_in_stretched(&i).unwrap();
        assert_eq!(why, MigrateReason::MoveToOtherZone);
        assert_eq!((cand.replace, cand.dst), (4, 2));
        let i = c.input(&[4, 5, 1], Some(4));
        assert_eq!(
            repair_in_stretched(&i),
            None,
            "zone-b is prefer local's: 2 : 1 already"
        );
    }

    /// notes:599 "双活集群：…需要考虑 prefer local 所在的 zone，然后不需要考虑让拓扑结构更安全"
    /// (stretched: consider prefer local's zone, and the topology need not get safer): with
    /// the zones split 2 : 1 there is nothing for `RepairInStretched()` to do, even where a
    /// brick is shared (specs A46).
    #[test]
    fn a_2_1_split_is_not_repaired_inside_a_zone() {
        let mut c = Cluster::build(
            &[
                ("zone-a", crate::domain::topology::Level::Zone, "topo"),
                ("zone-b", crate::domain::topology::Level::Zone, "topo"),
                ("ra", crate::domain::topology::Level::Rack, "zone-a"),
                ("rb", crate::domain::topology::Level::Rack, "zone-b"),
                ("a1", crate::domain::topology::Level::Brick, "ra"),
                ("a2", crate::domain::topology::Level::Brick, "ra"),
                ("b1", crate::domain::topology::Level::Brick, "rb"),
                ("b2", crate::domain::topology::Level::Brick, "rb"),
            ],
            &[(1, "a1"), (2, "a1"), (3, "a2"), (4, "b1"), (5, "b2")],
        );
        c.load = LoadLevel::Medium;
        // [1, 2 | 4]: 1 and 2 share a1, chunk 3 (a2) would spread them.
        let i = c.input(&[1, 2, 4], Some(1));
        assert_eq!(repair_in_stretched(&i), None);
        assert_eq!(crate::domain::placement::propose_migrate_why(&i), None);
    }
}
