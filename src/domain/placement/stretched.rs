//! Stretched (two-zone) clusters at medium/high load (`RecoverManager::RepairInStretched()`,
//! `MoveToOtherZone()`): two replicas in the prefer-local zone, one in the other.

use super::topo_safety::{primary_zone, zone_misfit, zone_quotas};
use super::{MigrateReason, PlacementInput, get_dst, get_src_and_replace};
use crate::domain::Cid;
use crate::domain::recover_cmd::MigrateCandidate;

/// `RecoverManager::RepairInStretched()`: when the replicas are not split 2 : 1 over the
/// prefer-local zone and the other zone, `MoveToOtherZone()`; otherwise repair inside one
/// zone: `GetSrcAndReplace()`, then `GetDst()` restricted to replace's zone ("in the 2 : 1
/// case there is no cross-zone migrate"), safer required.
pub fn repair_in_stretched(input: &PlacementInput) -> Option<(MigrateCandidate, MigrateReason)> {
    let p = input.pext;
    if zone_misfit(input, &p.location) > 0 {
        return move_to_other_zone(input).map(|c| (c, MigrateReason::MoveToOtherZone));
    }
    let (replace, src) = get_src_and_replace(input, &|_| true);
    if replace == 0 || src == 0 {
        return None;
    }
    let zone = input.zone(replace);
    let dst = get_dst(input, replace, &|d| input.zone(d) == zone, true);
    input
        .feasible(src, dst, replace)
        .map(|c| (c, MigrateReason::RepairTopo))
}

/// `RecoverManager::MoveToOtherZone()`: move one replica from a zone holding more than its
/// share (or from a chunk with no zone) to the zone holding less: two in the prefer-local
/// zone (else the zone holding most replicas), one in the other. replace/src by
/// `GetSrcAndReplace()` among the misplaced replicas; dst by `GetDst()` in the short zone.
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
    // The zone misfit is the first key of the safety rank: filling the short zone from a
    // misplaced replica always makes the location safer, so "safer" costs nothing here.
    let dst = get_dst(input, replace, &*short_zone, true);
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

    /// Brief §4: "Stretched (two-zone) cluster: two replicas in the prefer-local zone, one
    /// in the other."
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

    /// "in the 2 : 1 case there is no cross-zone migrate" (notes behind the brief): repair
    /// stays in replace's zone.
    #[test]
    fn in_zone_repair_keeps_the_split() {
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
        // [1, 2 | 4]: 1 and 2 share a1; prefer local 1 stays, 2 moves to a2 (chunk 3).
        let i = c.input(&[1, 2, 4], Some(1));
        let (cand, why) = repair_in_stretched(&i).unwrap();
        assert_eq!(why, MigrateReason::RepairTopo);
        assert_eq!((cand.replace, cand.dst), (2, 3));
    }
}
