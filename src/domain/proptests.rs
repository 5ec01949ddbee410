//! Property tests over random operation sequences on the meta-side domain core: whatever
//! order scans, heartbeats, completions, topology moves, chunk losses and lease releases come
//! in, the queues never hold two commands for one pid (while check 1 is on) and every
//! reservation belongs to a command still in `pid_cmds_` (so a revoke leaves none behind).

use super::Pid;
use super::meta::Meta;
use super::placement::fixtures::pext;
use super::recover_cmd::RecoverCmd;
use super::recover_manager::tests::{cfg, incident_a_meta};
use super::variant::Variant;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
enum Op {
    MigrateScan,
    Swap,
    Scan,
    /// Session of the i-th chunk gets its heartbeat reply.
    Heartbeat(usize),
    /// The i-th delivered command finishes (REPLACE REPLICA).
    Finish(usize),
    /// The i-th chunk moves below the j-th topo object.
    Move(usize, usize),
    Lost(usize),
    /// The owner of the i-th pid releases its lease.
    Release(usize),
}

const CIDS: [u8; 4] = [1, 2, 4, 5];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::MigrateScan),
        Just(Op::Swap),
        Just(Op::Scan),
        (0..4usize).prop_map(Op::Heartbeat),
        (0..4usize).prop_map(Op::Finish),
        (0..4usize, 0..6usize).prop_map(|(c, p)| Op::Move(c, p)),
        (0..4usize).prop_map(Op::Lost),
        (0..4usize).prop_map(Op::Release),
    ]
}

/// Incident A's cluster plus a pid that needs a recover and one with a single replica.
fn start() -> Meta {
    let mut m = incident_a_meta();
    let mut short = pext(7001, &[2, 5], Some(2));
    short.expected_replica_num = 3;
    m.pextents.insert(7001, short);
    m.pextents.insert(7003, pext(7003, &[4], Some(4)));
    m
}

/// Meta-side commands per pid: `pid_cmds_` and every session queue.
fn issued(m: &Meta) -> BTreeMap<Pid, BTreeSet<u32>> {
    let mut by_pid: BTreeMap<Pid, BTreeSet<u32>> = BTreeMap::new();
    let queued = m.access.waiting_recover_cmds.values().flatten();
    for c in m.recover.pid_cmds.values().chain(queued) {
        by_pid.entry(c.pid).or_default().insert(c.id);
    }
    by_pid
}

fn run(ops: &[Op], variant: Variant) -> Result<(), TestCaseError> {
    let c = cfg(variant);
    let mut m = start();
    let mut delivered: Vec<RecoverCmd> = Vec::new();
    let pids: Vec<Pid> = m.pextents.keys().copied().collect();
    for op in ops {
        match *op {
            Op::MigrateScan => {
                m.regenerate_waiting_migrate_list(&c);
            }
            Op::Swap => {
                m.recover.swap_waiting_migrate();
            }
            Op::Scan => {
                m.do_scan(&c);
            }
            Op::Heartbeat(i) => delivered.extend(m.access.take_waiting_recover_cmds(CIDS[i])),
            Op::Finish(i) => {
                if i < delivered.len() {
                    let cmd = delivered.remove(i);
                    m.replace_replica(&c, &cmd);
                }
            }
            Op::Move(i, parent) => {
                let parent = parent.min(m.topology.tree.graph().node_count() - 1)
                    as crate::domain::topology::NodeIx;
                if m.topology.tree.node(parent).level == super::topology::Level::Brick
                    || parent == 0
                {
                    m.update_topo_obj(&c, CIDS[i], parent);
                }
            }
            Op::Lost(i) => {
                m.chunk_lost(&c, CIDS[i]);
                delivered.retain(|d| d.owner != CIDS[i]);
            }
            Op::Release(i) => {
                let pid = pids[i % pids.len()];
                if let Some(owner) = m.owner_of(pid) {
                    m.access.release_owner(pid, owner);
                }
            }
        }
        prop_assert!(
            issued(&m).values().all(|ids| ids.len() <= 1),
            "two commands for one pid after {op:?}"
        );
        prop_assert!(
            m.reservations_balance(128),
            "reservations after {op:?}: {m:?}"
        );
        for q in m.access.waiting_recover_cmds.values() {
            for cmd in q {
                prop_assert_eq!(m.recover.pid_cmds.get(&cmd.pid), Some(cmd));
            }
        }
        prop_assert!(m.pextents.values().all(|p| !p.location.is_empty()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn queues_and_reservations_stay_consistent(ops in proptest::collection::vec(op(), 1..40)) {
        run(&ops, Variant::default())?;
    }

    #[test]
    fn the_fix_keeps_them_consistent_too(ops in proptest::collection::vec(op(), 1..40)) {
        let v = Variant {
            revoke_releases_owner: true,
            ..Variant::default()
        };
        run(&ops, v)?;
    }
}

/// The proptest's invariants are not vacuous: without check 1 a short sequence breaks them.
#[test]
fn without_check_one_two_commands_for_one_pid_appear() {
    let v = Variant {
        check_pid_has_cmd: false,
        ..Variant::default()
    };
    let ops = [Op::MigrateScan, Op::Swap, Op::Lost(1), Op::Scan];
    let err = run(&ops, v).expect_err("recover and migrate of pid 7001 in one DoScan");
    assert!(
        err.to_string().contains("two commands for one pid"),
        "{err}"
    );
}
