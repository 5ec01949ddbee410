//! Low load: localization (`RecoverManager::RepairPExtentForLocalization()`,
//! `GetRepairCid()`, `LocalizedComparator`).

use super::topo_safety::forced_prefer_local;
use super::{
    LOCALIZATION_MAX_CMDS_PER_CHUNK, LOCALIZATION_MIN_SRC_FREE, PlacementInput, safety_rank,
};
use crate::domain::Cid;
use crate::domain::recover_cmd::MigrateCandidate;
use std::cmp::Reverse;

/// `LocalizedComparator`: the expected distribution around prefer local, in order. The notes
/// name it (notes:568 "符合期望分布（即符合 LocalizedComparator 分配策略）的下一个副本", the next
/// replica of the expected distribution) and require its order to stay put while the
/// topology does (notes:71 "只要 topo 不变 … LocalizedComparator 得到的排序结果是不变的"), but
/// do not give its keys; the model's (specs A45):
///
/// Prefer local first (when healthy); then, slot by slot, the eligible chunk that is best by:
/// 1. topology spread: the [`safety_rank`] of the chunks chosen so far plus this one;
/// 2. nearest to prefer local in the tree (`Topology::distance`);
/// 3. already holds a replica (the comparator is seeded with the existing replicas, so a
///    safe location stays put: no ping-pong);
/// 4. lowest cid (stands in for ZBS's ring id).
///
/// Used at low load only, where stretched clusters are not distinguished (notes:79
/// "低负载没有区分双活"): no 2 : 1 zone slots.
pub fn localized_order(input: &PlacementInput) -> Vec<Cid> {
    let p = input.pext;
    let n = usize::from(p.expected_replica_num);
    let prefer = forced_prefer_local(input);
    let mut chosen: Vec<Cid> = prefer.into_iter().collect();
    let mut pool: Vec<Cid> = input
        .eligible_chunks()
        .into_iter()
        .filter(|c| !chosen.contains(c))
        .collect();
    while chosen.len() < n && !pool.is_empty() {
        let (ix, _) = pool
            .iter()
            .enumerate()
            .max_by_key(|&(_, &c)| {
                let mut with = chosen.clone();
                with.push(c);
                (
                    safety_rank(input, &with),
                    Reverse(prefer.map_or(0, |pl| input.topo.distance(pl, c))),
                    p.holds(c),
                    Reverse(c),
                )
            })
            .expect("the pool is not empty");
        chosen.push(pool.remove(ix));
    }
    chosen
}

/// `RecoverManager::GetRepairCid()`: `(dst, replace, src)` for a localization migrate, each
/// 0 when none, given the [`localized_order`] `expected`. Chosen dst → replace → src
/// (notes:565):
/// - prefer local holds a replica and every alive replica is expected → `(0, 0, 0)`
///   (notes:567);
/// - dst = prefer local if it lacks a replica and is not failslow, else the next chunk in the
///   expected order that lacks one (notes:568);
/// - replace = an alive replica outside the expected set that is not the lease owner: the
///   first failslow one, else the last in location (notes:569);
/// - src = replace, unless replace is failslow or in another zone than dst: then an alive,
///   non-failslow replica in dst's zone, if there is one (notes:570; a chunk without a zone
///   is not known to be in another zone, specs A49).
pub fn get_repair_cid(input: &PlacementInput, expected: &[Cid]) -> (Cid, Cid, Cid) {
    let p = input.pext;
    let Some(pl) = p.preferred_cid else {
        return (0, 0, 0);
    };
    let alive = &p.alive_location;
    if p.holds(pl) && alive.iter().all(|c| expected.contains(c)) {
        return (0, 0, 0);
    }
    let dst = if !p.holds(pl) && !input.is_failslow(pl) {
        pl
    } else {
        expected.iter().copied().find(|&c| !p.holds(c)).unwrap_or(0)
    };
    let outside: Vec<Cid> = alive
        .iter()
        .copied()
        .filter(|&c| !expected.contains(&c) && Some(c) != input.owner)
        .collect();
    let replace = outside
        .iter()
        .copied()
        .find(|&c| input.is_failslow(c))
        .or_else(|| outside.last().copied())
        .unwrap_or(0);
    let mut src = replace;
    let move_src = replace != 0
        && dst != 0
        && (input.is_failslow(replace) || input.in_other_zone(replace, dst));
    if move_src
        && let Some(s) = alive
            .iter()
            .copied()
            .find(|&c| !input.is_failslow(c) && !input.in_other_zone(c, dst))
    {
        src = s;
    }
    (dst, replace, src)
}

/// `RecoverManager::RepairPExtentForLocalization()` (low load, notes:561-563): the migrate
/// that moves the pid towards its [`localized_order`], or nothing when prefer local is
/// missing or not healthy (condition 1), the pid has a temporary replica (2) or needs recover
/// (specs A50), `GetRepairCid()` finds no dst, replace or src (3; "any": specs A59), src or
/// dst has more than 200 commands (4; the scan's only count rule, no slot check), src has
/// less than 256 MB free (5), or dst cannot take the pid (space, the 95 % / 90 % guard:
/// notes:335, notes:653).
pub fn repair_pextent_for_localization(input: &PlacementInput) -> Option<MigrateCandidate> {
    let p = input.pext;
    let pl = p.preferred_cid?;
    if !input.is_healthy(pl) || p.temporary_replica || input.needs_recover() {
        return None;
    }
    let expected = localized_order(input);
    let (dst, replace, src) = get_repair_cid(input, &expected);
    if dst == 0 || replace == 0 || src == 0 {
        return None;
    }
    if input.cmd_count(dst) > LOCALIZATION_MAX_CMDS_PER_CHUNK
        || input.cmd_count(src) > LOCALIZATION_MAX_CMDS_PER_CHUNK
        || input.free_space(src) < LOCALIZATION_MIN_SRC_FREE
    {
        return None;
    }
    // The 200-command rule is this scan's only command-count rule (notes:563): no slot check.
    input.feasible_with(src, dst, replace, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::chunk_table::ChunkStatus;
    use crate::domain::placement::fixtures::*;

    /// notes:5: low load, not stretched, no failslow, topology unchanged — the topology-safe
    /// final state of pid 3133 is 4 2 5; notes:567: then no migrate.
    #[test]
    fn the_pid_3133_cluster_expects_4_2_5() {
        let c = Cluster::incident_a_faithful();
        let i = c.input_pid(3133);
        assert_eq!(localized_order(&i), vec![4, 2, 5]);
        assert_eq!(get_repair_cid(&i, &[4, 2, 5]), (0, 0, 0));
        assert_eq!(repair_pextent_for_localization(&i), None);
    }

    /// "nearest in the topology to prefer local": with equal spread the chunk in prefer
    /// local's rack wins.
    #[test]
    fn equal_spread_goes_to_the_nearest_chunk() {
        let c = Cluster::build(
            &[
                ("z", crate::domain::topology::Level::Zone, "topo"),
                ("r1", crate::domain::topology::Level::Rack, "z"),
                ("r2", crate::domain::topology::Level::Rack, "z"),
                ("b1", crate::domain::topology::Level::Brick, "r1"),
                ("b2", crate::domain::topology::Level::Brick, "r1"),
                ("b3", crate::domain::topology::Level::Brick, "r2"),
                ("b4", crate::domain::topology::Level::Brick, "r2"),
            ],
            &[(1, "b1"), (2, "b2"), (3, "b3"), (4, "b4")],
        );
        // 2 replicas, prefer local 3: a second rack (1 or 2) beats 4 in 3's own rack.
        let i = c.input(&[3, 4], Some(3));
        assert_eq!(localized_order(&i), vec![3, 1]);
        // 3 replicas: after 3 and 1, chunk 4 (3's rack-mate) and chunk 2 (1's) tie on spread
        // (2 racks, 3 bricks); 4 is nearer to prefer local.
        let i = c.input(&[3, 4, 1], Some(3));
        assert_eq!(localized_order(&i), vec![3, 1, 4]);
    }

    /// "dst = prefer local if it lacks a replica and is not failslow".
    #[test]
    fn dst_is_prefer_local_when_it_lacks_a_replica() {
        let c = Cluster::incident_a_faithful();
        let i = c.input(&[2, 5, 1], Some(4));
        let expected = localized_order(&i);
        // 1, 2 and 5 all hold a replica and tie on spread and distance: lowest cids win.
        assert_eq!(expected, vec![4, 1, 2]);
        // "replace = an alive replica outside the expected set": 5.
        assert_eq!(get_repair_cid(&i, &expected), (4, 5, 5));
        let cand = repair_pextent_for_localization(&i).unwrap();
        assert_eq!((cand.src, cand.dst, cand.replace), (5, 4, 5));
    }

    /// "replace = an alive replica outside the expected set that is not the lease owner
    /// (first failslow one, else the last in location)".
    #[test]
    fn replace_skips_the_owner_and_prefers_a_failslow_replica() {
        let mut c = Cluster::two_racks();
        // rack-a: a1 {1, 2}, a2 {3}; rack-b: b1 {4, 5}. Two replicas at [1, 2], prefer
        // local 3: expected [3, 4] (the other rack), so both replicas are outside it.
        let i = c.input(&[1, 2], Some(3));
        let expected = localized_order(&i);
        assert_eq!(expected, vec![3, 4]);
        assert_eq!(get_repair_cid(&i, &expected), (3, 2, 2), "last in location");
        c.owner = Some(2);
        let i = c.input(&[1, 2], Some(3));
        assert_eq!(get_repair_cid(&i, &expected), (3, 1, 1), "2 is the owner");
        c.owner = None;
        c.set_status(1, ChunkStatus::Failslow);
        let i = c.input(&[1, 2], Some(3));
        let expected = localized_order(&i);
        assert_eq!(expected, vec![3, 4]);
        // The failslow replica is replaced first; as src the healthy replica 2 reads.
        assert_eq!(get_repair_cid(&i, &expected), (3, 1, 2));
    }

    /// notes:570 "如果 replace_cid slowfail 或者和 dst_cid 不在同一个可用域，那么会从活跃副本中找跟
    /// dst_cid 在同一个可用域且不是 slow fail 的 cid 作为 src_cid" (if replace is failslow or in
    /// another zone than dst, src = an alive replica in dst's zone that is not failslow).
    #[test]
    fn src_moves_to_dst_zone_or_off_a_failslow_replace() {
        let mut c = Cluster::stretched();
        // zone-a: 1, 2, 3; zone-b: 4, 5 (low load: no 2 : 1 slots). Prefer local 1: a second
        // zone first (4), then 2, nearer to 1 than 5.
        let i = c.input(&[1, 4, 5], Some(1));
        let expected = localized_order(&i);
        assert_eq!(expected, vec![1, 4, 2]);
        // dst 2 (zone-a), replace 5 (zone-b): src = the alive zone-a replica, 1.
        assert_eq!(get_repair_cid(&i, &expected), (2, 5, 1));
        c.set_status(5, ChunkStatus::Failslow);
        let i = c.input(&[1, 2, 5], Some(1));
        let expected = localized_order(&i);
        assert_eq!(expected, vec![1, 4, 2], "healthy 4 before failslow 5");
        // replace 5 is failslow: src = first non-failslow alive replica in dst 4's zone-b —
        // none, so src stays 5.
        assert_eq!(get_repair_cid(&i, &expected), (4, 5, 5));
    }

    /// "No migrate if prefer local is unhealthy, the pid has a temporary replica, src/dst
    /// command counts exceed 200, or src has < 256 MB free."
    #[test]
    fn the_four_no_migrate_conditions() {
        let base = Cluster::incident_a_faithful();
        let wants = |c: &Cluster, p: crate::domain::pextent::PExtent| {
            repair_pextent_for_localization(&c.input_for(p)).is_some()
        };
        let p = pext(1, &[2, 5, 1], Some(4));
        let mut c = base.clone();
        c.slots = 1000;
        assert!(wants(&c, p.clone()));

        let mut unhealthy = c.clone();
        unhealthy.set_status(4, ChunkStatus::Failslow);
        assert!(!wants(&unhealthy, p.clone()), "prefer local unhealthy");

        let mut temp = p.clone();
        temp.temporary_replica = true;
        assert!(!wants(&c, temp), "temporary replica");

        let mut busy = c.clone();
        busy.busy(4, 201);
        assert!(!wants(&busy, p.clone()), "dst in more than 200 commands");
        let mut busy = c.clone();
        busy.busy(5, 200);
        assert!(wants(&busy, p.clone()), "200 is still fine");
        busy.busy(5, 201);
        assert!(!wants(&busy, p.clone()), "src in more than 200 commands");

        let mut full = c.clone();
        full.set_used(5, 10);
        assert!(!wants(&full, p.clone()), "src has no free extent");
    }

    /// notes:79 "低负载没有区分双活，中高负载开始有区分" (low load does not distinguish
    /// stretched clusters; medium and high load do): at low load the expected order of a
    /// stretched cluster follows spread and nearness only, with no 2 : 1 zone slots.
    #[test]
    fn low_load_does_not_split_a_stretched_cluster_2_1() {
        use crate::domain::topology::Level;
        // zone-a: rack ra {1 (a1), 2 (a2)}; zone-b: racks rb1 {4}, rb2 {5}.
        let c = Cluster::build(
            &[
                ("zone-a", Level::Zone, "topo"),
                ("zone-b", Level::Zone, "topo"),
                ("ra", Level::Rack, "zone-a"),
                ("rb1", Level::Rack, "zone-b"),
                ("rb2", Level::Rack, "zone-b"),
                ("a1", Level::Brick, "ra"),
                ("a2", Level::Brick, "ra"),
                ("b1", Level::Brick, "rb1"),
                ("b2", Level::Brick, "rb2"),
            ],
            &[(1, "a1"), (2, "a2"), (4, "b1"), (5, "b2")],
        );
        let i = c.input(&[1, 2, 4], Some(1));
        assert!(i.stretched);
        assert_eq!(i.load, crate::domain::placement::LoadLevel::Low);
        // Three racks beat two: 5 (its own rack) comes before 2 (prefer local's rack).
        assert_eq!(localized_order(&i), vec![1, 4, 5]);
        let cand = repair_pextent_for_localization(&i).unwrap();
        // replace 2 is in another zone than dst 5: src = the alive replica in 5's zone, 4.
        assert_eq!((cand.src, cand.dst, cand.replace), (4, 5, 2));
    }

    /// notes:563 "4. dst_cid/src_cid 上被下发的 recover 命令超过 200 条" (no migrate when dst
    /// or src has more than 200 recover commands issued): that is the localization scan's only
    /// command-count rule. The 128 command slots (notes:238, `max_recover_cmds_per_chunk`) are
    /// not one of its conditions, so 150 commands on dst or src do not stop it.
    #[test]
    fn the_200_command_rule_is_the_only_count_rule_of_localization() {
        let mut c = Cluster::incident_a_faithful();
        assert_eq!(c.slots, 128);
        let p = pext(1, &[2, 5, 1], Some(4));
        c.busy(4, 150);
        c.busy(5, 150);
        let cand = repair_pextent_for_localization(&c.input_for(p.clone()))
            .expect("150 commands on dst 4 and src 5 are fewer than 200");
        assert_eq!((cand.src, cand.dst, cand.replace), (5, 4, 5));
        c.busy(4, 201);
        assert_eq!(repair_pextent_for_localization(&c.input_for(p)), None);
    }

    /// notes:557 "针对有本地化偏好的副本" (for replicas with a localization preference): no
    /// prefer local, no localization. The command slots play no part (notes:563).
    #[test]
    fn no_prefer_local_means_no_localization_and_slots_play_no_part() {
        let mut c = Cluster::incident_a_faithful();
        assert_eq!(
            repair_pextent_for_localization(&c.input(&[2, 5, 1], None)),
            None
        );
        c.slots = 0;
        assert!(repair_pextent_for_localization(&c.input(&[2, 5, 1], Some(4))).is_some());
    }
}
