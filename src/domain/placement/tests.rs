//! The engineer's incident-A questions (brief §5 A, task 8), answered by the policy.

use super::fixtures::*;
use super::*;
use crate::domain::events::MetaEvent;
use crate::domain::pextent::pack_location;
use crate::domain::recover_manager::tests::{cfg, incident_a_meta};
use crate::domain::variant::Variant;

fn apply(c: &mut Cluster, cand: &MigrateCandidate) {
    let p = c.pextents.get_mut(&cand.pid).unwrap();
    p.replace_replica(cand.replace, cand.dst, p.epoch).unwrap();
}

/// notes:5 "低负载、非双活、没有 failslow、topo 结构不变的话，topo 安全终态是 4 2 5" (low load, not
/// stretched, no failslow, topology unchanged: the topology-safe final state is 4 2 5).
#[test]
fn with_the_topology_unchanged_4_2_5_is_the_safe_final_location() {
    let c = Cluster::incident_a_faithful();
    let i = c.input_pid(3133);
    assert_eq!(i.load, LoadLevel::Low);
    assert!(!i.stretched);
    assert!(is_topology_safe(&i));
    assert!(is_localized(&i));
    assert!(safe_final_location(&i));
    assert_eq!(propose_migrate(&i), None, "no 5 → 1 migrate");
    assert!(is_quiescent_safe(&ClusterView::derive(
        &c.topo,
        &c.chunks,
        &c.pextents
    )));
}

/// Brief §5 A: "`[UPDATE TOPO OBJ]` moves chunk 5 to parent `"topo"` … an identical command
/// for pid 3134 (`src 5 dst 1 replace 5 owner 5`) was delivered and completed (… location
/// `[4,2,5]` → `[4,2,1]`)." After the move chunk 5 has no brick: `[4, 2, 5]` spans two
/// bricks, `[4, 2, 1]` three. The policy wants exactly the logged command.
#[test]
fn after_chunk_5_moves_to_topo_the_policy_wants_4_2_1() {
    let mut c = Cluster::incident_a_faithful();
    c.topo.move_chunk(5, 0).unwrap();
    let i = c.input_pid(3134);
    assert!(!safe_final_location(&i));
    assert_eq!(localized_order(&i), vec![4, 2, 1]);
    assert_eq!(best_location(&i), Some(vec![1, 2, 4]));
    assert_eq!(
        topo_safety::enumeration::best_locations(&i),
        vec![vec![1, 2, 4]]
    );
    let (cand, why) = propose_migrate_why(&i).unwrap();
    assert_eq!(why, MigrateReason::Localization);
    assert_eq!((cand.src, cand.dst, cand.replace), (5, 1, 5));
    assert!(migrate_never_lowers_safety(&i, &cand));
    apply(&mut c, &cand);
    assert_eq!(pack_location(&c.pextents[&3134].location), 66052);
    let i = c.input_pid(3134);
    assert!(safe_final_location(&i));
    assert_eq!(propose_migrate(&i), None, "no ping-pong");
}

/// Brief §5 A: "the replicas satisfy localization so no new migrate comes: the owner is
/// leaked forever." In the model the replicas do *not* satisfy localization after the move
/// — the policy wants `[4, 2, 1]` — but the low-load rule never replaces the lease owner
/// ("replace = an alive replica outside the expected set that is not the lease owner"), and
/// the leaked owner is chunk 5, the only replica outside the expected set.
#[test]
fn the_leaked_owner_is_what_blocks_the_next_migrate_for_3133() {
    let mut c = Cluster::incident_a_faithful();
    c.topo.move_chunk(5, 0).unwrap();
    c.owner = Some(5);
    let i = c.input_pid(3133);
    assert_eq!(localized_order(&i), vec![4, 2, 1]);
    assert_eq!(
        get_repair_cid(&i, &[4, 2, 1]),
        (1, 0, 0),
        "dst 1, no replace"
    );
    assert_eq!(propose_migrate(&i), None);
    assert!(
        !safe_final_location(&i),
        "stuck unsafe, with the owner leaked"
    );
}

/// The whole sequence on the meta tables: the 3133 command is revoked by the move and its
/// owner kept; the next migrate scan queues 3134 (no owner) but not 3133 (owner 5).
#[test]
fn the_scan_after_the_move_queues_3134_only() {
    let c = cfg(Variant::default());
    let mut m = incident_a_meta();
    m.topology = Cluster::incident_a_faithful().topo.into();
    assert!(
        m.regenerate_waiting_migrate_list(&c).is_empty(),
        "[4, 2, 5] is safe"
    );
    // The 3133 command as logged (made by a scan we cannot reproduce, see specs/placement.md §9).
    let cand = MigrateCandidate {
        pid: 3133,
        src: 5,
        dst: 1,
        replace: 5,
    };
    m.add_recover_cmd_unlock(&c, cand);
    m.update_topo_obj(&c, 5, 0);
    assert_eq!(m.owner_of(3133), Some(5));
    let queued = m.regenerate_waiting_migrate_list(&c);
    assert_eq!(
        queued,
        vec![MetaEvent::MigrateQueued(MigrateCandidate {
            pid: 3134,
            ..cand
        })]
    );
}

/// The lead's first incident-A tree (`topology::tests::incident_a()`) puts chunks 2 and 5 in
/// one brick: there the policy wants 5 → 1 *before* the move too, and `[4, 2, 5]` is never
/// the safe final location — contradicting the brief, hence the faithful tree (specs/placement.md §9).
#[test]
fn in_the_shared_brick_tree_5_to_1_is_wanted_before_the_move() {
    let m = incident_a_meta();
    let view = ClusterView::derive(&m.topology, &m.chunks, &m.pextents);
    let i = view.for_pid(&m.pextents[&3133], None);
    let cand = propose_migrate(&i).unwrap();
    assert_eq!((cand.src, cand.dst, cand.replace), (5, 1, 5));
    assert!(!safe_final_location(&i));
}

/// `GenerateRecoverCmds()`: the recover dst makes the location safest.
#[test]
fn a_recover_goes_to_a_chunk_in_a_fresh_brick() {
    let m = incident_a_meta();
    let mut p = m.pextents[&3133].clone();
    p.location = vec![4, 2];
    p.alive_location = vec![4, 2];
    assert_eq!(recover_src_dst(&p, &m.topology, &m.chunks), Some((4, 1)));
}

/// A pid without prefer local gets topology repair at low load as well (specs A53).
#[test]
fn low_load_without_prefer_local_repairs_topology() {
    let c = Cluster::two_racks();
    let i = c.input(&[1, 2, 4], None);
    assert_eq!(i.load, LoadLevel::Low);
    let (cand, why) = propose_migrate_why(&i).unwrap();
    assert_eq!(why, MigrateReason::RepairTopo);
    assert_eq!((cand.replace, cand.dst), (1, 3));
}

/// `migrate_never_lowers_safety`: the brief's exception is low-load localization.
#[test]
fn localization_may_lower_safety_on_the_way_but_repair_may_not() {
    let c = Cluster::two_racks();
    // rack-a: a1 {1, 2}, a2 {3}; rack-b: b1 {4, 5}. [3, 4] prefer local 1: move 3 → 1 keeps
    // 2 racks, 2 bricks; moving 4 → 1 would drop to one rack.
    let i = c.input(&[3, 4], Some(1));
    let bad = MigrateCandidate {
        pid: 1000,
        src: 4,
        dst: 1,
        replace: 4,
    };
    let mut medium = i;
    medium.load = LoadLevel::Medium;
    assert!(!migrate_never_lowers_safety(&medium, &bad));
    // At low load the expected set is [1, 4]: replacing 4 is not a localization move.
    assert_eq!(localized_order(&i), vec![1, 4]);
    assert!(!migrate_never_lowers_safety(&i, &bad));
    let good = MigrateCandidate {
        replace: 3,
        src: 3,
        ..bad
    };
    assert!(migrate_never_lowers_safety(&i, &good));
}

/// specs/placement.md §10, the exception of notes:569: "replace = an alive replica outside the expected set that
/// is not the lease owner (first failslow one, else the last in location)" is chosen without
/// regard to safety, so one localization step can lower the rank; the next restores it.
#[test]
fn localization_can_lower_safety_on_the_way() {
    use crate::domain::topology::Level;
    // rack-1: brick B1 {1 (prefer local), 2}, brick B2 {3}; rack-2: B3 {4}, B4 {5}.
    let mut c = Cluster::build(
        &[
            ("z", Level::Zone, "topo"),
            ("rack-1", Level::Rack, "z"),
            ("rack-2", Level::Rack, "z"),
            ("B1", Level::Brick, "rack-1"),
            ("B2", Level::Brick, "rack-1"),
            ("B3", Level::Brick, "rack-2"),
            ("B4", Level::Brick, "rack-2"),
        ],
        &[(1, "B1"), (2, "B1"), (3, "B2"), (4, "B3"), (5, "B4")],
    );
    let mut p = pext(7, &[4, 2, 5], Some(1));
    c.pextents.insert(7, p.clone());
    let i = c.input_pid(7);
    assert_eq!(localized_order(&i), vec![1, 4, 3]);
    let first = propose_migrate(&i).unwrap();
    assert_eq!((first.src, first.dst, first.replace), (5, 1, 5));
    let before = safety_rank(&i, &[4, 2, 5]);
    let after = safety_rank(&i, &[4, 2, 1]);
    assert!(after < before, "two bricks instead of three");
    assert!(migrate_never_lowers_safety(&i, &first), "the exception");
    p.replace_replica(5, 1, p.epoch).unwrap();
    c.pextents.insert(7, p);
    let i = c.input_pid(7);
    let second = propose_migrate(&i).unwrap();
    assert_eq!((second.dst, second.replace), (3, 2));
    apply(&mut c, &second);
    let i = c.input_pid(7);
    assert!(safe_final_location(&i));
    assert_eq!(safety_rank(&i, &i.pext.location), before);
}

/// notes:335 "如果集群整体尚有可用空间时比如整体 provisioned 比例在 90% 以下，不向 Used Space
/// 比例大于 95% 的节点迁移数据" (while the cluster's overall provisioned ratio is under 90%,
/// do not migrate onto a node whose used-space ratio is over 95%). The cluster side reads the
/// provisioned ratio (specs A41), not the used + reserved ratio the load level is made of.
#[test]
fn the_95_percent_guard_reads_the_cluster_provisioned_ratio() {
    let mut c = Cluster::two_racks();
    for e in c.chunks.chunks.values_mut() {
        e.capacity = 100;
        e.used = 96;
    }
    c.load = LoadLevel::from_chunks(&c.chunks);
    assert_eq!(c.load, LoadLevel::VeryHigh, "96 % used");
    // [1, 2] share brick a1; 3 and 4 would be safer, but every chunk is over 95 % used and
    // the pextent table provisions nothing: the guard holds.
    let i = c.input(&[1, 2], None);
    assert_eq!(propose_migrate(&i), None);
    // 450 of 500 units provisioned (90 %): the guard is lifted.
    let mut big = pext(2000, &[1, 2, 3, 4, 5], None);
    big.size = 90;
    c.pextents.insert(2000, big);
    let i = c.input(&[1, 2], None);
    let cand = propose_migrate(&i).expect("the guard is lifted at 90 % provisioned");
    assert_eq!((cand.replace, cand.dst), (1, 4));
}

/// notes:335 "在 Migrate 时进行检查" (the 95 % check is made when migrating): a recover
/// (`GenerateRecoverCmds()`) may still go to a chunk over 95 % used if it has room.
#[test]
fn a_recover_may_go_to_a_chunk_over_95_percent_used() {
    let mut c = Cluster::incident_a_faithful();
    c.set_used(5, 10);
    let e = c.chunks.chunks.get_mut(&1).unwrap();
    e.capacity = 100;
    e.used = 96;
    let p = pext(3133, &[4, 2], Some(4));
    let mut p3 = p.clone();
    p3.expected_replica_num = 3;
    assert_eq!(recover_src_dst(&p3, &c.topo, &c.chunks), Some((4, 1)));
}
