//! AccessManager's bookkeeping, pinned function by function: the mutants `cargo mutants`
//! made of `src/domain/access_manager.rs` that no model file's verdict noticed (a heartbeat
//! reply handing over nothing or a bogus command, a dequeue that always or never succeeds, a
//! session expiry that kills the wrong leases) each change a ZBS rule (specs/testing.md).

use zbs_mc::domain::access_manager::AccessManager;
use zbs_mc::domain::recover_cmd::RecoverCmd;

fn cmd(id: u32, pid: u32, owner: u8) -> RecoverCmd {
    RecoverCmd {
        id,
        pid,
        src: owner,
        dst: 9,
        replace: 0,
        owner,
        epoch: 1,
        owner_allocated: true,
        reserved_src: owner,
        reserved_space: 1,
    }
}

#[test]
fn a_heartbeat_reply_hands_over_exactly_what_is_queued_and_empties_the_queue() {
    let mut am = AccessManager::new([1, 2]);
    let (a, b) = (cmd(1, 3133, 1), cmd(2, 3134, 1));
    am.waiting_recover_cmds.get_mut(&1).unwrap().extend([a, b]);
    assert_eq!(am.take_waiting_recover_cmds(2), Vec::<RecoverCmd>::new());
    assert_eq!(am.take_waiting_recover_cmds(1), vec![a, b]);
    assert_eq!(am.take_waiting_recover_cmds(1), Vec::<RecoverCmd>::new());
    assert!(am.waiting_recover_cmds[&1].is_empty());
    // A chunk without a session gets nothing.
    assert_eq!(am.take_waiting_recover_cmds(7), Vec::<RecoverCmd>::new());
}

#[test]
fn a_command_is_dequeued_only_while_it_waits_in_its_owners_queue() {
    let mut am = AccessManager::new([1, 2]);
    let (a, b) = (cmd(1, 3133, 1), cmd(2, 3134, 1));
    am.waiting_recover_cmds.get_mut(&1).unwrap().extend([a, b]);
    assert!(
        am.dequeue_recover_cmd(&a),
        "queued: revoked before delivery"
    );
    assert_eq!(
        am.waiting_recover_cmds[&1],
        vec![b],
        "only that command goes"
    );
    assert!(!am.dequeue_recover_cmd(&a), "gone already");
    // Handed over in a heartbeat reply: no longer dequeueable (revoked after delivery).
    am.take_waiting_recover_cmds(1);
    assert!(!am.dequeue_recover_cmd(&b));
    // A command whose owner has no session.
    assert!(!am.dequeue_recover_cmd(&cmd(3, 3135, 7)));
    // Another command with the same pid is not the queued one.
    am.waiting_recover_cmds
        .get_mut(&2)
        .unwrap()
        .push(cmd(4, 3133, 2));
    assert!(!am.dequeue_recover_cmd(&cmd(5, 3133, 2)));
    assert_eq!(am.waiting_recover_cmds[&2].len(), 1);
}

#[test]
fn an_expired_session_takes_exactly_its_own_leases_with_it() {
    let mut am = AccessManager::new([1, 2, 5]);
    am.owners.extend([(3133, 5), (3134, 5), (3135, 2)]);
    assert_eq!(am.expire_session(5), vec![3133, 3134]);
    assert_eq!(am.owners.len(), 1);
    assert_eq!(am.owners.get(&3135), Some(&2));
    assert_eq!(am.expire_session(5), Vec::<u32>::new());
    assert_eq!(am.expire_session(1), Vec::<u32>::new());
    assert_eq!(am.owners.get(&3135), Some(&2));
}
