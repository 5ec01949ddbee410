//! Sessions and leases as ZBS has them (issue 12 §1): the second road to a stranded owner or
//! command, `models/incident-a-session-expiry.toml` — the owner's session expires between
//! `EnqueueRecoverCmd` and its next heartbeat. Pinned by state counts, verdicts and
//! shortest-trace lengths per variant, by what the checker's coverage shows fired, and by
//! invariants of the session wiring checked on every reachable state.

mod common;

use common::{check_all, load, variant};
use stateright::Expectation;
use zbs_mc::actors::Msg;
use zbs_mc::actors::model::{self, SystemView, ZbsModel, ZbsState};
use zbs_mc::domain::access_session::SessionState;
use zbs_mc::engine::Verdict;
use zbs_mc::verify::coverage::{Action, Coverage};

const FILE: &str = "incident-a-session-expiry.toml";

fn run(overrides: &[&str]) -> zbs_mc::verdicts::Run {
    let s = load(FILE);
    check_all(&s, &variant(&s, overrides))
}

fn verdict(run: &zbs_mc::verdicts::Run, name: &str) -> (Verdict, Option<usize>) {
    let f = run
        .finding(name)
        .unwrap_or_else(|| panic!("{name} not checked"));
    (f.verdict, f.trace.as_ref().map(|t| t.steps.len()))
}

/// The invariants and liveness properties that do not hold in `run`.
fn violated(run: &zbs_mc::verdicts::Run) -> Vec<&'static str> {
    run.verdicts
        .iter()
        .filter(|f| f.verdict == Verdict::Violated && f.kind != zbs_mc::verdicts::Kind::Sometimes)
        .map(|f| f.name)
        .collect()
}

fn coverage(overrides: &[&str]) -> Coverage {
    let s = load(FILE);
    let m = model::build(s.model_cfg(&variant(&s, overrides)));
    let mut cov = Coverage::new();
    let mut scratch = Vec::new();
    zbs_mc::verdicts::run_visiting(
        &m,
        &common::exhaustive(),
        false,
        Some(&mut |st| cov.visit(&m, st, &mut scratch)),
    );
    cov
}

/// Today's reading (`session_expiry_cmds=revoked`): no leak and no lost command — the owner
/// dies with its session and the command leaves `pid_cmds_` to be reissued — but the expired
/// session's REPLACE REPLICA, already on its way, lands beside the reissued command.
#[test]
fn today_no_leak_no_lost_command_but_the_expired_sessions_replace_lands() {
    let r = run(&[]);
    assert!(r.safety.complete);
    assert_eq!(r.safety.unique_states, 104_345);
    assert_eq!(violated(&r), ["well_formed_cmd"]);
    assert_eq!(
        verdict(&r, "well_formed_cmd"),
        (Verdict::Violated, Some(14))
    );
    assert_eq!(verdict(&r, "no_leaked_owner").0, Verdict::Holds);
    assert_eq!(verdict(&r, "owner_eventually_released").0, Verdict::Holds);
    assert_eq!(verdict(&r, "converges_to_safe_location").0, Verdict::Holds);
    // The revoke companion is reached through the session expiry alone (no topology update).
    assert_eq!(verdict(&r, "revoke_reached").0, Verdict::Holds);
    // The trace: the old session's REPLACE REPLICA lands last, after a scan reissued the
    // migrate with owner 1 (chunk 5 has no live session then).
    let s = load(FILE);
    let m = model::build(s.model_cfg(&variant(&s, &[])));
    let trace = r
        .finding("well_formed_cmd")
        .unwrap()
        .trace
        .as_ref()
        .unwrap();
    let (_, text) = zbs_mc::trace::render_text(&m, trace);
    assert!(text.contains("SessionTimeout(session 0)"), "{text}");
    assert!(
        text.contains("add recover cmd for pid: 3133 src: 5 dst: 1 replace: 5 owner: 1"),
        "{text}"
    );
    assert!(text.contains("revoked after delivery"), "{text}");
}

/// The road itself is taken: a command queued on chunk 5's session when it expires is
/// dropped with the session's queue, and a new session is created.
#[test]
fn the_owners_session_expires_with_its_command_still_queued() {
    let cov = coverage(&[]);
    for a in [
        Action::MissHeartbeat,
        Action::RenewSession,
        Action::SessionTimeout,
        Action::CreateSession,
        Action::SessionCreated,
        Action::SessionCmdDroppedQueued,
        Action::SessionCmdDroppedDelivered,
    ] {
        assert!(cov.count(a) > 0, "{} never fired", a.name());
    }
    assert_eq!(cov.count(Action::SessionCmdsKept), 0);
    let kept = coverage(&["session_expiry_cmds=kept"]);
    assert!(kept.count(Action::SessionCmdsKept) > 0);
    assert_eq!(kept.count(Action::SessionCmdDroppedQueued), 0);
}

/// The fix of `incident-a-revoked-replace.toml` closes it: every property holds.
#[test]
fn refusing_an_untracked_replace_closes_it() {
    let r = run(&["replace_requires_tracked_cmd=on"]);
    assert_eq!(r.safety.unique_states, 82_445);
    assert!(violated(&r).is_empty(), "{:?}", violated(&r));
}

/// The other reading (`session_expiry_cmds=kept`): the command stays in `pid_cmds_`, its
/// queue died with the session, the new session never gets it — a lost command, shown by
/// the liveness property; the replace fix does not help.
#[test]
fn keeping_the_expired_sessions_commands_loses_them() {
    for overrides in [
        &["session_expiry_cmds=kept"][..],
        &[
            "session_expiry_cmds=kept",
            "replace_requires_tracked_cmd=on",
        ],
    ] {
        let r = run(overrides);
        assert_eq!(r.safety.unique_states, 6_031, "{overrides:?}");
        assert_eq!(
            violated(&r),
            ["converges_to_safe_location"],
            "{overrides:?}"
        );
        assert_eq!(
            verdict(&r, "converges_to_safe_location"),
            (Verdict::Violated, Some(13))
        );
        assert_eq!(verdict(&r, "no_leaked_owner").0, Verdict::Holds);
        assert_eq!(verdict(&r, "owner_eventually_released").0, Verdict::Holds);
    }
}

/// On every reachable state of every variant: a chunk caches leases and runs commands only
/// in a live session (they die when it expires); meta names no owner on a chunk without a
/// live session (leases never carry into the next session, notes:771); meta's live session
/// of a chunk is never ahead of the chunk's own; and a heartbeat reply a chunk will still
/// take is for the session meta holds now (a command queued on an earlier session never
/// reaches the next one).
#[test]
fn sessions_keep_their_leases_and_queues_to_themselves() {
    fn wiring(m: &ZbsModel, st: &ZbsState) -> bool {
        let v = SystemView::of(&m.cfg, st);
        let meta = &v.meta.meta;
        v.sessions().all(|s| {
            let live = matches!(
                s.access.state,
                SessionState::KeepAlive | SessionState::Jeopardy
            );
            (live || (s.lease_cache.is_empty() && s.running.is_empty()))
                && meta
                    .live_session(s.cid)
                    .is_none_or(|g| g <= s.access.generation)
        }) && meta
            .access
            .owners
            .values()
            .all(|&o| meta.live_session(o).is_some())
            // A reply a chunk will still take is for the session meta holds now: what was
            // queued on an earlier session never reaches the next one.
            && v.sessions().all(|s| {
                v.to_chunk(s.cid).all(|msg| match msg {
                    Msg::HeartbeatReply(_, g) => meta.live_session(s.cid) == Some(*g),
                    _ => true,
                })
            })
    }
    let s = load(FILE);
    for overrides in [
        &[][..],
        &["session_expiry_cmds=kept"],
        &["replace_requires_tracked_cmd=on"],
    ] {
        let m = model::build(s.model_cfg(&variant(&s, overrides)))
            .property(Expectation::Always, "session_wiring", wiring)
            // Not vacuous: the model does reach a later session of chunk 5 (after its first expired).
            .property(
                Expectation::Sometimes,
                "second_session",
                |m: &ZbsModel, st: &ZbsState| {
                    let v = SystemView::of(&m.cfg, st);
                    v.session(5).is_some_and(|s| {
                        s.access.generation == 1 && s.access.state == SessionState::KeepAlive
                    })
                },
            );
        let o = zbs_mc::engine::Checker::actors(&m)
            .options(common::exhaustive())
            .check()
            .safety;
        assert_eq!(
            common::verdict(&o, "session_wiring"),
            Verdict::Holds,
            "{overrides:?}"
        );
        assert_eq!(common::verdict(&o, "second_session"), Verdict::Holds);
    }
}

/// Every other model file is unchanged by sessions: none loses a heartbeat (the budget
/// defaults to 0), so `incident-a-lease-leak.toml` explores exactly its 1,229 states.
#[test]
fn models_without_heartbeat_losses_are_unchanged() {
    let s = load("incident-a-lease-leak.toml");
    let r = check_all(&s, &variant(&s, &[]));
    assert_eq!(r.safety.unique_states, 1_229);
}
