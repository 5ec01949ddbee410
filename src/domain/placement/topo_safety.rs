//! Topology safety: how well a location's replicas are spread over failure domains
//! (zone → rack → brick → node), and the best locations a pid could have.
//!
//! ZBS has no single function for this; it is the yardstick `RepairPextentTopo()` /
//! `GetDst()` ("makes the topology safer") and the `LocalizedComparator` ("topology spread")
//! compare with. The order is derived in `specs/placement.md` §1.

use super::{LoadLevel, PlacementInput, zone_of};
use crate::domain::Cid;
use crate::domain::topology::{Domain, Level, NodeIx, Topology};
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// How safe a location is. Compared lexicographically, best last:
/// 1. fewest `zone_misfit` (stretched clusters only: replicas not in their 2 : 1 zone split);
/// 2. most distinct zones, 3. racks, 4. bricks, 5. nodes (chunks);
/// 6. most replicas on healthy (not failslow) chunks.
///
/// A chunk that hangs directly below `"topo"` (unplaced) has no zone, rack or brick: it adds
/// a node but no domain at the higher levels (specs §1, "unplaced chunks").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SafetyRank {
    pub zone_misfit: u8,
    pub zones: u8,
    pub racks: u8,
    pub bricks: u8,
    pub nodes: u8,
    pub healthy: u8,
}

impl SafetyRank {
    fn key(&self) -> (std::cmp::Reverse<u8>, u8, u8, u8, u8, u8) {
        (
            std::cmp::Reverse(self.zone_misfit),
            self.zones,
            self.racks,
            self.bricks,
            self.nodes,
            self.healthy,
        )
    }
}

impl Ord for SafetyRank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for SafetyRank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Distinct real topo objects at `level` among `location`'s chunks (unplaced chunks add none).
fn distinct_objects(topo: &Topology, location: &[Cid], level: Level) -> u8 {
    let set: BTreeSet<NodeIx> = location
        .iter()
        .filter_map(|&c| match topo.domain(c, level) {
            Domain::Object(o) => Some(o),
            Domain::Alone(_) => None,
        })
        .collect();
    set.len() as u8
}

/// The stretched 2 : 1 split for `n` replicas: (replicas wanted in the prefer-local zone,
/// replicas wanted in the other zone). "Two replicas in the prefer-local zone, one in the
/// other"; with two replicas one each; a single replica stays in the prefer-local zone.
pub(crate) fn zone_quotas(n: usize) -> (usize, usize) {
    let n = n.max(1);
    let pref = (n - 1).max(1);
    (pref, n - pref)
}

/// The zone that plays "prefer-local zone" for `location`: prefer local's zone if it has
/// one, else the zone holding most of the location's replicas (ties: the lowest object).
pub(crate) fn primary_zone(input: &PlacementInput, location: &[Cid]) -> Option<NodeIx> {
    if let Some(z) = input.pext.preferred_cid.and_then(|p| input.zone(p)) {
        return Some(z);
    }
    let mut counts: std::collections::BTreeMap<NodeIx, usize> = Default::default();
    for &c in location {
        if let Some(z) = input.zone(c) {
            *counts.entry(z).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(z, n)| (n, std::cmp::Reverse(z)))
        .map(|(z, _)| z)
}

/// Replicas of `location` outside the stretched 2 : 1 split (0 when not stretched).
pub(crate) fn zone_misfit(input: &PlacementInput, location: &[Cid]) -> u8 {
    if !input.stretched {
        return 0;
    }
    let (pref_quota, other_quota) = zone_quotas(usize::from(input.pext.expected_replica_num));
    let primary = primary_zone(input, location);
    let (mut in_pref, mut in_other, mut unknown) = (0usize, 0usize, 0usize);
    for &c in location {
        match input.zone(c) {
            None => unknown += 1,
            Some(z) if Some(z) == primary => in_pref += 1,
            Some(_) => in_other += 1,
        }
    }
    (in_pref.saturating_sub(pref_quota) + in_other.saturating_sub(other_quota) + unknown) as u8
}

/// The safety rank of `location` for the pid of `input` (see [`SafetyRank`]). Pure function
/// of the topology, the chunks' failslow status, the prefer local's zone and whether the
/// cluster is stretched. Mirrors the yardstick of `RecoverManager::GetDst()` ("makes the
/// topology safer") and the "topology spread" part of `LocalizedComparator`.
pub fn safety_rank(input: &PlacementInput, location: &[Cid]) -> SafetyRank {
    let topo = input.topo;
    let nodes: BTreeSet<Cid> = location.iter().copied().collect();
    SafetyRank {
        zone_misfit: zone_misfit(input, location),
        zones: distinct_objects(topo, location, Level::Zone),
        racks: distinct_objects(topo, location, Level::Rack),
        bricks: distinct_objects(topo, location, Level::Brick),
        nodes: nodes.len() as u8,
        healthy: nodes.iter().filter(|&&c| input.is_healthy(c)).count() as u8,
    }
}

/// Prefer local, when low-load localization requires every aimed-for location to hold it.
pub(crate) fn forced_prefer_local(input: &PlacementInput) -> Option<Cid> {
    input
        .pext
        .preferred_cid
        .filter(|&p| input.load == LoadLevel::Low && input.is_healthy(p))
}

/// All `k`-subsets of `pool` (in cid order), each sorted.
pub(crate) fn combinations(pool: &[Cid], k: usize) -> Vec<Vec<Cid>> {
    fn go(pool: &[Cid], k: usize, start: usize, cur: &mut Vec<Cid>, out: &mut Vec<Vec<Cid>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..pool.len() {
            if pool.len() - i < k - cur.len() {
                break;
            }
            cur.push(pool[i]);
            go(pool, k, i + 1, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(pool, k, 0, &mut Vec::with_capacity(k), &mut out);
    out
}

/// Every location the pid could aim for: `expected_replica_num` eligible chunks (connected
/// chunks holding an alive replica, healthy chunks with room), fewer if the cluster has
/// fewer; at low load with a healthy prefer local, only locations holding prefer local.
fn candidate_locations(input: &PlacementInput) -> Vec<Vec<Cid>> {
    let n = usize::from(input.pext.expected_replica_num);
    let mut pool = input.eligible_chunks();
    match forced_prefer_local(input) {
        Some(p) => {
            pool.retain(|&c| c != p);
            let k = n.saturating_sub(1).min(pool.len());
            combinations(&pool, k)
                .into_iter()
                .map(|mut s| {
                    s.push(p);
                    s.sort_unstable();
                    s
                })
                .collect()
        }
        None => combinations(&pool, n.min(pool.len())),
    }
}

/// The set of best (topology-safe) locations for the pid: the candidate locations (see
/// specs §1) of the highest [`safety_rank`], each sorted by cid, in cid order.
/// Mirrors what `RepairPextentTopo()` / `LocalizedComparator` aim for.
pub fn best_locations(input: &PlacementInput) -> Vec<Vec<Cid>> {
    let all = candidate_locations(input);
    let Some(best) = all.iter().map(|l| safety_rank(input, l)).max() else {
        return Vec::new();
    };
    all.into_iter()
        .filter(|l| safety_rank(input, l) == best)
        .collect()
}

/// The rank of the best locations ([`best_locations`]): the level `RepairPextentTopo()`
/// repairs towards. `None` when the pid has no candidate location at all.
pub fn best_rank(input: &PlacementInput) -> Option<SafetyRank> {
    candidate_locations(input)
        .iter()
        .map(|l| safety_rank(input, l))
        .max()
}

/// A stretched (two-zone) cluster: the chunks hang below two or more distinct zones — the
/// check `RepairPextentTopo()` branches on (`RepairInStretched()` vs `RepairInZone()`). ZBS
/// keeps it as cluster configuration; the model reads it off the topology tree.
pub fn is_stretched(topo: &Topology) -> bool {
    let zones: BTreeSet<NodeIx> = topo
        .chunk_parent
        .keys()
        .filter_map(|&c| zone_of(topo, c))
        .collect();
    zones.len() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::placement::fixtures::*;

    /// Brief §4: "replicas should sit in distinct failure domains" — a rack beats a brick,
    /// a brick beats a node.
    #[test]
    fn higher_levels_weigh_more() {
        let c = Cluster::two_racks();
        let i = c.input(&[1, 2, 3], Some(1));
        // rack-a: bricks a1 {1, 2}, a2 {3}; rack-b: brick b1 {4, 5}.
        let two_racks_two_bricks = safety_rank(&i, &[1, 2, 4]);
        let one_rack_two_bricks = safety_rank(&i, &[1, 2, 3]);
        assert!(two_racks_two_bricks > one_rack_two_bricks);
        assert_eq!(
            (
                two_racks_two_bricks.racks,
                two_racks_two_bricks.bricks,
                two_racks_two_bricks.nodes
            ),
            (2, 2, 3)
        );
        assert!(
            safety_rank(&i, &[1, 3, 4]) > two_racks_two_bricks,
            "3 bricks"
        );
    }

    /// Incident A: "`[UPDATE TOPO OBJ]` moves chunk 5 to parent `"topo"`". An unplaced chunk
    /// counts as a node but as no zone, rack or brick.
    #[test]
    fn an_unplaced_chunk_counts_for_no_domain() {
        let mut c = Cluster::incident_a_faithful();
        let before = safety_rank(&c.input(&[4, 2, 5], Some(4)), &[4, 2, 5]);
        c.topo.move_chunk(5, 0).unwrap();
        let i = c.input(&[4, 2, 5], Some(4));
        let after = safety_rank(&i, &[4, 2, 5]);
        assert_eq!((before.bricks, after.bricks), (3, 2));
        assert_eq!(after.nodes, 3);
        assert!(safety_rank(&i, &[4, 2, 1]) > after);
    }

    /// Brief §4: "Stretched (two-zone) cluster: two replicas in the prefer-local zone, one in
    /// the other."
    #[test]
    fn stretched_rank_counts_replicas_outside_the_2_1_split() {
        let c = Cluster::stretched();
        // zone-a: 1, 2, 3 (separate bricks); zone-b: 4, 5.
        let i = c.input(&[1, 2, 3], Some(1));
        assert!(i.stretched);
        assert_eq!(safety_rank(&i, &[1, 2, 3]).zone_misfit, 1);
        assert_eq!(safety_rank(&i, &[1, 2, 4]).zone_misfit, 0);
        assert_eq!(safety_rank(&i, &[1, 4, 5]).zone_misfit, 1);
        assert!(safety_rank(&i, &[1, 2, 4]) > safety_rank(&i, &[1, 4, 5]));
        assert_eq!(zone_quotas(2), (1, 1));
        assert_eq!(zone_quotas(1), (1, 0));
    }

    /// "failslow chunks … in every choice": a failslow replica is worth less than a healthy
    /// one in an equally spread location.
    #[test]
    fn failslow_is_the_last_key() {
        let mut c = Cluster::incident_a_faithful();
        c.set_status(1, crate::domain::chunk_table::ChunkStatus::Failslow);
        let i = c.input(&[4, 2, 5], Some(4));
        assert!(safety_rank(&i, &[4, 2, 5]) > safety_rank(&i, &[4, 2, 1]));
    }

    #[test]
    fn best_locations_hold_prefer_local_at_low_load_only() {
        let c = Cluster::incident_a_faithful();
        let i = c.input(&[4, 2, 5], Some(4));
        assert_eq!(
            best_locations(&i),
            vec![vec![1, 2, 4], vec![1, 4, 5], vec![2, 4, 5]]
        );
        let mut medium = i;
        medium.load = LoadLevel::Medium;
        assert_eq!(best_locations(&medium).len(), 4, "every 3 of 4 bricks");
        assert_eq!(combinations(&[1, 2, 3, 4], 2).len(), 6);
    }

    #[test]
    fn stretched_is_read_off_the_zones() {
        assert!(is_stretched(&Cluster::stretched().topo));
        assert!(!is_stretched(&Cluster::incident_a_faithful().topo));
    }
}
