//! Incident D, the manual migrate RPC of ZBS-20993 (`models/incident-d-manual-migrate.toml`):
//! what the model finds in the draft `RecoverManager::AddMigrateCmd()` (notes:385–463), pinned
//! by state counts, verdicts and shortest-trace lengths per variant.

mod common;

use common::{check_all, load, variant};
use zbs_mc::engine::Verdict;

const FILE: &str = "incident-d-manual-migrate.toml";

/// (variant overrides, states, then per property: verdict and, for a violated safety
/// property, the length of its shortest counterexample).
fn run(overrides: &[&str]) -> zbs_mc::verdicts::Run {
    let s = load(FILE);
    let v = variant(&s, overrides);
    check_all(&s, &v)
}

fn verdict(run: &zbs_mc::verdicts::Run, name: &str) -> (Verdict, Option<usize>) {
    let f = run
        .finding(name)
        .unwrap_or_else(|| panic!("{name} not checked"));
    (f.verdict, f.trace.as_ref().map(|t| t.steps.len()))
}

/// The draft as written: two runs of the same command both pass PExtentHasCmdUnLock (14
/// steps to two queued commands), the second reservation for the same pid (10 steps), a
/// command that completes between EnqueueRecoverCmd and the pid_cmds_ insert and is then
/// tracked for ever (12 steps), and the scan moves the replica back.
#[test]
fn the_draft_races_with_itself_and_with_the_heartbeat_and_is_undone_by_the_scan() {
    let r = run(&[]);
    assert!(r.safety.complete);
    assert_eq!(r.safety.unique_states, 477_732);
    assert_eq!(
        verdict(&r, "one_cmd_per_pid"),
        (Verdict::Violated, Some(14))
    );
    assert_eq!(
        verdict(&r, "reservations_balance"),
        (Verdict::Violated, Some(10))
    );
    assert_eq!(
        verdict(&r, "well_formed_cmd"),
        (Verdict::Violated, Some(12))
    );
    assert_eq!(verdict(&r, "slots_never_exceeded").0, Verdict::Holds);
    assert_eq!(verdict(&r, "manual_migrate_sticks").0, Verdict::Violated);
}

/// Under the lock the three races are gone; what stays violated comes from the topology
/// update (incident A's paths: RevokeRecoverCmds keeps the owner; a command revoked after
/// delivery), and the scan still moves the replica back.
#[test]
fn the_lock_closes_the_races_and_the_scan_still_undoes_the_migrate() {
    for locking in ["add_migrate_cmd=locked", "add_migrate_cmd=locked_releasing"] {
        let r = run(&[locking]);
        assert_eq!(r.safety.unique_states, 8_895, "{locking}");
        assert_eq!(verdict(&r, "reservations_balance").0, Verdict::Holds);
        assert_eq!(verdict(&r, "manual_migrate_sticks").0, Verdict::Violated);
        // The revoke-after-delivery findings of the other models, reached here too.
        assert_eq!(verdict(&r, "one_cmd_per_pid").0, Verdict::Violated);
        assert_eq!(verdict(&r, "no_leaked_owner").0, Verdict::Violated);
    }
}

/// Honouring the manual migrate without the lock leaves the races; with the lock it makes
/// the migrate stick.
#[test]
fn honouring_the_manual_migrate_makes_it_stick_only_together_with_the_lock() {
    let r = run(&["scan_honours_manual_migrate=on"]);
    assert_eq!(r.safety.unique_states, 342_342);
    assert_eq!(verdict(&r, "one_cmd_per_pid").0, Verdict::Violated);
    assert_eq!(verdict(&r, "manual_migrate_sticks").0, Verdict::Violated);
    let r = run(&["add_migrate_cmd=locked", "scan_honours_manual_migrate=on"]);
    assert_eq!(r.safety.unique_states, 4_321);
    assert_eq!(verdict(&r, "manual_migrate_sticks").0, Verdict::Holds);
    assert_eq!(verdict(&r, "reservations_balance").0, Verdict::Holds);
    assert_eq!(verdict(&r, "safe_final_location").0, Verdict::Holds);
}

/// With incident A's fixes as well, only the open two-commands-after-a-revoke finding of
/// `spare-chunks-failure.toml` remains.
#[test]
fn with_every_fix_only_the_known_revoke_finding_remains() {
    let r = run(&[
        "add_migrate_cmd=locked",
        "scan_honours_manual_migrate=on",
        "revoke_releases_owner=on",
        "replace_requires_tracked_cmd=on",
    ]);
    assert_eq!(r.safety.unique_states, 2_900);
    let violated: Vec<&str> = r
        .verdicts
        .iter()
        .filter(|f| f.verdict == Verdict::Violated && f.kind != zbs_mc::verdicts::Kind::Sometimes)
        .map(|f| f.name)
        .collect();
    assert_eq!(violated, ["one_cmd_per_pid"]);
}
