//! Topology safety: how well a location's replicas are spread over failure domains
//! (zone → rack → brick → node), and the best locations a pid could have.
//!
//! ZBS has no single function for this; it is the yardstick `RepairPextentTopo()` /
//! `GetDst()` ("makes the topology safer") and the `LocalizedComparator` ("topology spread")
//! compare with; the notes do not define it (notes:595 "能让拓扑结构更安全", makes the topology
//! safer). The order is specs A42 (`specs/placement.md` §2).

use super::{LoadLevel, PlacementInput, zone_of};
use crate::domain::Cid;
use crate::domain::topology::{Domain, Level, NodeIx, Topology};
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// How safe a location is (specs A42). Compared lexicographically, best last:
/// 1. fewest `zone_misfit` (stretched clusters only: replicas not in their 2 : 1 zone split);
/// 2. most distinct zones, 3. racks, 4. bricks, 5. nodes (chunks);
/// 6. most replicas on healthy (not failslow) chunks.
///
/// A chunk that hangs directly below `"topo"` (unplaced) has no zone, rack or brick: it adds
/// a node but no domain at the higher levels (specs A49).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
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
/// replicas wanted in the other zone). Two in the prefer-local zone, one in the secondary
/// zone (notes:96); other counts `n - 1 : 1`, with two replicas one each, a single replica in
/// the prefer-local zone (specs A47).
pub(crate) fn zone_quotas(n: usize) -> (usize, usize) {
    let n = n.max(1);
    let pref = (n - 1).max(1);
    (pref, n - pref)
}

/// The zone that plays "prefer-local zone" for `location`: prefer local's zone if it has
/// one (notes:599), else the zone holding most of the location's replicas (ties: the lowest
/// object; specs A47).
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

/// Replicas of `location` outside the stretched 2 : 1 split (0 when not stretched, and at low
/// load, which does not distinguish stretched clusters: notes:79).
pub(crate) fn zone_misfit(input: &PlacementInput, location: &[Cid]) -> u8 {
    if !input.zone_rules() {
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

/// Prefer local, when low-load localization requires every aimed-for location to hold it
/// (specs A44).
pub(crate) fn forced_prefer_local(input: &PlacementInput) -> Option<Cid> {
    input
        .pext
        .preferred_cid
        .filter(|&p| input.load == LoadLevel::Low && input.is_healthy(p))
}

/// How a chunk takes part in a best-location search: it may be chosen, or must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    Free,
    Forced,
}

/// The chunks a pid may aim for and how many of them a location takes: the eligible chunks
/// ([`PlacementInput::eligible`]), `expected_replica_num` of them (fewer if there are fewer);
/// at low load with a healthy prefer local (specs A44), prefer local is forced in and the
/// others fill the remaining `expected_replica_num - 1` places.
fn candidate_pool(input: &PlacementInput) -> (std::collections::BTreeMap<Cid, Pick>, usize) {
    let n = usize::from(input.pext.expected_replica_num);
    let mut picks: std::collections::BTreeMap<Cid, Pick> = input
        .eligible_chunks()
        .into_iter()
        .map(|c| (c, Pick::Free))
        .collect();
    match forced_prefer_local(input) {
        Some(p) => {
            picks.remove(&p);
            let k = 1 + n.saturating_sub(1).min(picks.len());
            picks.insert(p, Pick::Forced);
            (picks, k)
        }
        None => {
            let k = n.min(picks.len());
            (picks, k)
        }
    }
}

/// What a set of chunks scores at the levels that add up over the topology tree: distinct
/// zones, racks and bricks, and healthy chunks. Compared lexicographically in this order
/// (the [`SafetyRank`] order without the zone misfit and the node count, which are settled
/// separately). The lexicographic order is compatible with addition, so a best sum is a
/// sum of best parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Spread {
    zones: u16,
    racks: u16,
    bricks: u16,
    healthy: u16,
}

impl std::ops::Add for Spread {
    type Output = Spread;
    fn add(self, o: Spread) -> Spread {
        Spread {
            zones: self.zones + o.zones,
            racks: self.racks + o.racks,
            bricks: self.bricks + o.bricks,
            healthy: self.healthy + o.healthy,
        }
    }
}

/// `table[j]`: the best [`Spread`] of exactly `j` chunks chosen below one topo object (`None`:
/// `j` chunks cannot be chosen there, e.g. a forced chunk would be left out). At most `k + 1`
/// entries.
type Table = Vec<Option<Spread>>;

/// The table of nothing: zero chunks, zero spread.
fn empty_table() -> Table {
    vec![Some(Spread::default())]
}

/// The best way to split `j` chunks between two disjoint parts of the tree: a (max, +)
/// convolution, cut at `k` chunks.
fn merge(a: &[Option<Spread>], b: &[Option<Spread>], k: usize) -> Table {
    let len = (a.len() + b.len() - 1).min(k + 1);
    let mut out: Table = vec![None; len];
    for (i, x) in a.iter().enumerate() {
        let Some(x) = *x else { continue };
        for (j, y) in b.iter().enumerate().take(len.saturating_sub(i)) {
            if let Some(y) = *y {
                let s = Some(x + y);
                if s > out[i + j] {
                    out[i + j] = s;
                }
            }
        }
    }
    out
}

/// The tables of every zone holding a candidate chunk, and of the candidates outside every
/// zone (directly below `"topo"`, or below a rack or brick that hangs there). Bottom-up over
/// the tree: a brick, rack or zone adds one to its level as soon as one chunk below it is
/// chosen — exactly [`distinct_objects`] of the chosen set.
fn zone_tables(
    input: &PlacementInput,
    picks: &std::collections::BTreeMap<Cid, Pick>,
    k: usize,
) -> (std::collections::BTreeMap<NodeIx, Table>, Table) {
    let tree = &input.topo.tree;
    let mut open: std::collections::BTreeMap<NodeIx, Table> = Default::default();
    let add = |open: &mut std::collections::BTreeMap<NodeIx, Table>, at: NodeIx, t: &Table| {
        let e = open.entry(at).or_insert_with(empty_table);
        *e = merge(e, t, k);
    };
    for (&c, &pick) in picks {
        let healthy = u16::from(input.is_healthy(c));
        let leaf = vec![
            (pick == Pick::Free).then_some(Spread::default()),
            Some(Spread {
                healthy,
                ..Spread::default()
            }),
        ];
        add(&mut open, input.topo.parent_of(c).unwrap_or(0), &leaf);
    }
    let mut zones = std::collections::BTreeMap::new();
    for level in [Level::Brick, Level::Rack, Level::Zone] {
        let here: Vec<NodeIx> = open
            .keys()
            .copied()
            .filter(|&n| n != 0 && tree.node(n).level == level)
            .collect();
        for n in here {
            let mut t = open.remove(&n).expect("listed above");
            for s in t.iter_mut().skip(1).flatten() {
                match level {
                    Level::Brick => s.bricks += 1,
                    Level::Rack => s.racks += 1,
                    Level::Zone => s.zones += 1,
                    Level::Root => unreachable!("the root is not finalised here"),
                }
            }
            if level == Level::Zone {
                zones.insert(n, t);
            } else {
                add(&mut open, tree.node(n).parent.unwrap_or(0), &t);
            }
        }
    }
    let unzoned = open.remove(&0).unwrap_or_else(empty_table);
    debug_assert!(open.is_empty(), "every object below the root is finalised");
    (zones, unzoned)
}

/// The highest [`safety_rank`] of a location of exactly `k` of the `picks` (every forced one
/// among them), computed without enumerating locations: a dynamic program over the topology
/// tree ([`zone_tables`]), O(chunks · k²) for the spread; in a stretched cluster the zone
/// misfit depends only on how many chunks sit in the prefer-local zone, in the other zones
/// and in none, so every such split is tried. `None` when no such location exists.
///
/// Why trying each zone as the prefer-local zone is exact when prefer local has none
/// ([`primary_zone`] then takes the zone holding most replicas): the misfit
/// `max(0, a - pref) + max(0, b - other) + unknown` with `other <= pref` (see
/// [`zone_quotas`]) is never smaller for another zone than for the most-held one, so the
/// misfit of a location is the minimum over zones, and the best rank is the best over zones.
fn best_rank_of(
    input: &PlacementInput,
    picks: &std::collections::BTreeMap<Cid, Pick>,
    k: usize,
) -> Option<SafetyRank> {
    let (zones, unzoned) = zone_tables(input, picks, k);
    let rank = |misfit: usize, s: Spread| SafetyRank {
        zone_misfit: misfit as u8,
        zones: s.zones as u8,
        racks: s.racks as u8,
        bricks: s.bricks as u8,
        nodes: k as u8,
        healthy: s.healthy as u8,
    };
    if !input.zone_rules() {
        let all = zones.values().fold(unzoned, |acc, t| merge(&acc, t, k));
        return all.get(k).copied().flatten().map(|s| rank(0, s));
    }
    let (pref_quota, other_quota) = zone_quotas(usize::from(input.pext.expected_replica_num));
    let primaries: Vec<Option<NodeIx>> = match input.pext.preferred_cid.and_then(|p| input.zone(p))
    {
        Some(z) => vec![Some(z)],
        None if zones.is_empty() => vec![None],
        None => zones.keys().copied().map(Some).collect(),
    };
    let mut best: Option<SafetyRank> = None;
    for primary in primaries {
        let in_pref = primary
            .and_then(|z| zones.get(&z).cloned())
            .unwrap_or_else(empty_table);
        let in_other = zones
            .iter()
            .filter(|&(&z, _)| Some(z) != primary)
            .fold(empty_table(), |acc, (_, t)| merge(&acc, t, k));
        for (a, sa) in in_pref.iter().enumerate() {
            let Some(sa) = *sa else { continue };
            for (b, sb) in in_other.iter().enumerate().take((k + 1).saturating_sub(a)) {
                let Some(sb) = *sb else { continue };
                let Some(su) = unzoned.get(k - a - b).copied().flatten() else {
                    continue;
                };
                let misfit =
                    a.saturating_sub(pref_quota) + b.saturating_sub(other_quota) + (k - a - b);
                let r = rank(misfit, sa + sb + su);
                if best.is_none_or(|b| r > b) {
                    best = Some(r);
                }
            }
        }
    }
    best
}

/// The rank of the best (topology-safe) locations of the pid: the highest [`safety_rank`]
/// of a location of `expected_replica_num` eligible chunks (fewer if there are fewer; at low
/// load with a healthy prefer local, holding prefer local — specs A44). The level
/// `RepairPextentTopo()` repairs towards. Computed without enumerating locations
/// ([`best_rank_of`]); `None` only if no location exists.
pub fn best_rank(input: &PlacementInput) -> Option<SafetyRank> {
    let (picks, k) = candidate_pool(input);
    best_rank_of(input, &picks, k)
}

/// One best location of the pid ([`best_rank`]), sorted by cid: the first in cid order
/// (lexicographically smallest) of all best locations. Built chunk by chunk: a chunk is taken
/// if some best location holds it together with the chunks taken so far, and ruled out
/// otherwise — one [`best_rank_of`] per chunk, never the list of all locations (which can
/// be astronomically long: 100 chunks, 5 replicas, 75 million).
pub fn best_location(input: &PlacementInput) -> Option<Vec<Cid>> {
    let (mut picks, k) = candidate_pool(input);
    let best = best_rank_of(input, &picks, k)?;
    let cids: Vec<Cid> = picks.keys().copied().collect();
    for c in cids {
        if picks.values().filter(|&&p| p == Pick::Forced).count() == k {
            break;
        }
        if picks[&c] == Pick::Forced {
            continue;
        }
        picks.insert(c, Pick::Forced);
        if best_rank_of(input, &picks, k) != Some(best) {
            picks.remove(&c);
        }
    }
    let chosen: Vec<Cid> = picks
        .into_iter()
        .filter(|&(_, p)| p == Pick::Forced)
        .map(|(c, _)| c)
        .collect();
    debug_assert_eq!(chosen.len(), k);
    debug_assert_eq!(safety_rank(input, &chosen), best);
    Some(chosen)
}

/// The test oracle: every candidate location (see [`candidate_pool`]) enumerated.
#[cfg(test)]
pub(crate) mod enumeration {
    use super::*;

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

    /// Every candidate location, sorted, in cid order.
    pub(crate) fn candidate_locations(input: &PlacementInput) -> Vec<Vec<Cid>> {
        let (picks, k) = candidate_pool(input);
        let forced: Vec<Cid> = picks
            .iter()
            .filter(|&(_, &p)| p == Pick::Forced)
            .map(|(&c, _)| c)
            .collect();
        let free: Vec<Cid> = picks
            .iter()
            .filter(|&(_, &p)| p == Pick::Free)
            .map(|(&c, _)| c)
            .collect();
        combinations(&free, k - forced.len())
            .into_iter()
            .map(|mut s| {
                s.extend(&forced);
                s.sort_unstable();
                s
            })
            .collect()
    }

    /// All best locations, by enumeration.
    pub(crate) fn best_locations(input: &PlacementInput) -> Vec<Vec<Cid>> {
        let all = candidate_locations(input);
        let Some(best) = all.iter().map(|l| safety_rank(input, l)).max() else {
            return Vec::new();
        };
        all.into_iter()
            .filter(|l| safety_rank(input, l) == best)
            .collect()
    }

    /// The best rank, by enumeration.
    pub(crate) fn best_rank(input: &PlacementInput) -> Option<SafetyRank> {
        candidate_locations(input)
            .iter()
            .map(|l| safety_rank(input, l))
            .max()
    }
}

/// A stretched (two-zone) cluster: the chunks hang below two or more distinct zones — the
/// check `RepairPextentTopo()` branches on (`RepairInStretched()` vs `RepairInZone()`,
/// notes:582-583). ZBS keeps it as cluster configuration; the model reads it off the
/// topology tree (specs A47).
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

    /// specs A42: a rack beats a brick, a brick beats a node.
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

    /// notes:96: two replicas in the prefer-local zone, one in the secondary zone (at
    /// medium/high load: notes:79).
    #[test]
    fn stretched_rank_counts_replicas_outside_the_2_1_split() {
        let mut c = Cluster::stretched();
        c.load = LoadLevel::Medium;
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
            enumeration::best_locations(&i),
            vec![vec![1, 2, 4], vec![1, 4, 5], vec![2, 4, 5]]
        );
        assert_eq!(best_location(&i), Some(vec![1, 2, 4]));
        let mut medium = i;
        medium.load = LoadLevel::Medium;
        assert_eq!(
            enumeration::best_locations(&medium).len(),
            4,
            "every 3 of 4 bricks"
        );
        assert_eq!(best_location(&medium), Some(vec![1, 2, 4]));
        assert_eq!(enumeration::combinations(&[1, 2, 3, 4], 2).len(), 6);
    }

    /// 255 chunks: brick `b` = (cid - 1) % 50, rack = `b` % 10; racks 0-4 in `zone-a`, 5-9 in
    /// `zone-a` too unless `two_zones` (then in `zone-b`).
    fn big(two_zones: bool) -> Cluster {
        let mut objects: Vec<(String, Level, String)> = vec![
            ("zone-a".into(), Level::Zone, "topo".into()),
            ("zone-b".into(), Level::Zone, "topo".into()),
        ];
        for r in 0..10 {
            let z = if two_zones && r >= 5 {
                "zone-b"
            } else {
                "zone-a"
            };
            objects.push((format!("r{r}"), Level::Rack, z.into()));
        }
        for b in 0..50 {
            objects.push((format!("b{b}"), Level::Brick, format!("r{}", b % 10)));
        }
        let objects: Vec<(&str, Level, &str)> = objects
            .iter()
            .map(|(n, l, p)| (n.as_str(), *l, p.as_str()))
            .collect();
        let names: Vec<(Cid, String)> = (1..=255u8)
            .map(|c| (c, format!("b{}", (usize::from(c) - 1) % 50)))
            .collect();
        let chunks: Vec<(Cid, &str)> = names.iter().map(|(c, n)| (*c, n.as_str())).collect();
        Cluster::build(&objects, &chunks)
    }

    /// Issue 16: the best rank was found by enumerating every location — 4 GB for 100 chunks
    /// and 5 replicas, an abort for 60 chunks and 7 replicas and for `placement` on 255
    /// chunks. Now it is computed on the tree: 255 chunks and 7 replicas, at low load with
    /// prefer local, at medium load, and stretched.
    #[test]
    fn the_best_location_of_255_chunks_is_computed_not_enumerated() {
        let rank = |misfit, zones, racks, bricks| SafetyRank {
            zone_misfit: misfit,
            zones,
            racks,
            bricks,
            nodes: 7,
            healthy: 7,
        };
        let spread: Vec<Cid> = (1..=7).collect();
        let mut c = big(false);
        assert_eq!(c.load, LoadLevel::Low);
        let i = c.input(&spread, Some(1));
        assert_eq!(best_rank(&i), Some(rank(0, 1, 7, 7)));
        assert_eq!(best_location(&i), Some(spread.clone()));
        assert!(crate::domain::placement::safe_final_location(&i));
        c.load = LoadLevel::Medium;
        // Seven replicas in rack 0 (bricks 0, 10, 20, 30, 40): not safe, repaired.
        let crowded = [1, 11, 21, 31, 41, 51, 61];
        let i = c.input(&crowded, None);
        assert_eq!(best_rank(&i), Some(rank(0, 1, 7, 7)));
        assert_eq!(best_location(&i), Some(spread.clone()));
        assert!(!crate::domain::placement::is_topology_safe(&i));
        let (_, why) = crate::domain::placement::propose_migrate_why(&i).unwrap();
        assert_eq!(why, crate::domain::placement::MigrateReason::RepairTopo);
        // Stretched, medium load, prefer local 1 in zone-a: six replicas there (five racks,
        // six bricks), one in zone-b. The first such location in cid order takes 1-5 (racks
        // 0-4), 6 (rack 5, zone-b) and 11 (brick 10, rack 0): 7-10 are in zone-b.
        let mut c = big(true);
        c.load = LoadLevel::Medium;
        let i = c.input(&spread, Some(1));
        assert!(i.zone_rules());
        assert_eq!(best_rank(&i), Some(rank(0, 2, 6, 7)));
        assert_eq!(best_location(&i), Some(vec![1, 2, 3, 4, 5, 6, 11]));
    }

    #[test]
    fn stretched_is_read_off_the_zones() {
        assert!(is_stretched(&Cluster::stretched().topo));
        assert!(!is_stretched(&Cluster::incident_a_faithful().topo));
    }
}
