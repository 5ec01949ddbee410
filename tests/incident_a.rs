//! Incident A end to end: today's ZBS leaks pid 3133's owner, the fix does not, one behaviour
//! follows the whole logged sequence (pid 3133 stranded, pid 3134 landing on `[4, 2, 1]`), and
//! the delivered-then-revoked path is explored without a leak.

mod common;

use common::{check, load, variant, verdict};
use stateright::Expectation;
use zbs_mc::actors::model::{SystemView, ZbsModel, ZbsState};
use zbs_mc::engine::Verdict;
use zbs_mc::properties;
use zbs_mc::trace;

const MODEL: &str = "incident-a-lease-leak.toml";

#[test]
fn today_the_owner_leaks_after_add_topo_update_revoke() {
    let s = load(MODEL);
    let (model, outcome) = check(&s, &variant(&s, &[]));
    assert!(outcome.complete);
    assert_eq!(
        outcome.unique_states, 1229,
        "pinned state count of the default variant"
    );
    assert_eq!(verdict(&outcome, "no_leaked_owner"), Verdict::Violated);
    let result = outcome
        .properties
        .iter()
        .find(|p| p.name == "no_leaked_owner")
        .unwrap();
    let steps = trace::describe(&model, result.trace.as_ref().unwrap());
    assert_eq!(steps.len(), 5, "shortest counterexample: {steps:#?}");
    let log: Vec<String> = steps.iter().flat_map(|s| s.log.clone()).collect();
    let position = |needle: &str| {
        log.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no log line with {needle:?} in {log:#?}"))
    };
    // The real log's order: command added → topology update of chunk 5 → revoke, owner kept.
    let added = position(
        "58510 recover_manager.cc:414] add recover cmd for pid: 3133 src: 5 dst: 1 replace: 5 owner: 5",
    );
    let moved = position(
        "chunk_manager.cc:992] [UPDATE TOPO OBJ]: [REQUEST]: id: \"00000000-0000-0000-0000-000000000005\" new_parent_id: \"topo\", [RESPONSE]: ST:OK",
    );
    let revoked = position(
        "# model: RevokeRecoverCmds(5): dropped cmd pid 3133 (never delivered), owner 5 kept",
    );
    assert!(added < moved && moved < revoked, "{log:#?}");
    // …and nothing is left to deliver or release the owner.
    let last = &steps.last().unwrap().state;
    assert_eq!(last.owners.get(&3133), Some(&5));
    assert!(last.lease_caches.is_empty());
    assert!(last.waiting_recover_cmds.is_empty() && last.in_flight.is_empty());
    assert!(
        !log.iter().any(|l| l.contains("[RECOVER]: pid: 3133")),
        "never delivered"
    );
}

#[test]
fn with_the_fix_every_property_holds_as_the_model_file_expects() {
    let s = load(MODEL);
    for overrides in [&[][..], &["revoke_releases_owner=on"][..]] {
        let v = variant(&s, overrides);
        let run = common::check_all(&s, &v);
        assert_eq!(run.safety.unique_states, 1229);
        let expected = s
            .expected_for(&v)
            .expect("the file states verdicts for both variants");
        let checked: Vec<_> = run
            .verdicts
            .iter()
            .filter(|f| f.skipped.is_none())
            .collect();
        assert_eq!(
            expected.len(),
            checked.len(),
            "every checked property has a verdict"
        );
        assert!(
            checked
                .iter()
                .any(|f| properties::LIVENESS.iter().any(|l| l.name == f.name)),
            "liveness is checked too"
        );
        for f in checked {
            let want = format!("{:?}", expected[f.name]).to_lowercase();
            let got = format!("{:?}", f.verdict).to_lowercase();
            assert_eq!(got, want, "{} under {overrides:?}", f.name);
        }
    }
}

/// In every reachable state, a pid whose delivered command meta has revoked is not leaked:
/// its owner's chunk caches the lease the command brought.
fn revoked_after_delivery_does_not_leak(m: &ZbsModel, s: &ZbsState) -> bool {
    let v = SystemView::of(&m.cfg, s);
    let tracked = &v.meta.meta.recover.pid_cmds;
    v.sessions().all(|session| {
        session
            .running
            .values()
            .filter(|c| tracked.get(&c.pid) != Some(*c))
            .all(|c| {
                v.meta.meta.owner_of(c.pid) != Some(session.cid)
                    || session.lease_cache.contains(&c.pid)
            })
    })
}

#[test]
fn the_delivered_then_revoked_path_is_explored_and_does_not_leak() {
    let s = load(MODEL);
    for overrides in [&[][..], &["revoke_releases_owner=on"][..]] {
        let model = zbs_mc::actors::model::build(s.model_cfg(&variant(&s, overrides))).property(
            Expectation::Always,
            "revoked_after_delivery_does_not_leak",
            revoked_after_delivery_does_not_leak,
        );
        let outcome = zbs_mc::engine::Checker::actors(&model)
            .options(common::exhaustive())
            .check()
            .safety;
        assert_eq!(
            verdict(&outcome, "delivered_then_revoked"),
            Verdict::Holds,
            "reached"
        );
        assert_eq!(
            verdict(&outcome, "revoked_after_delivery_does_not_leak"),
            Verdict::Holds,
            "{overrides:?}"
        );
    }
}

/// The real log of incident A (log-samples.md), the meta lines only, in order: what one
/// behaviour of the model must print, word for word up to the glog header's time and thread
/// and the placeholders the model cannot know (uuids, ips).
const LOGGED: [&str; 5] = [
    "recover_manager.cc:414] add recover cmd for pid: 3133 src: 5 dst: 1 replace: 5 owner: 5",
    "chunk_manager.cc:992] [UPDATE TOPO OBJ]: [REQUEST]: id: \"00000000-0000-0000-0000-000000000005\" new_parent_id: \"topo\", [RESPONSE]: ST:OK, type: NODE",
    "recover_manager.cc:414] add recover cmd for pid: 3134 src: 5 dst: 1 replace: 5 owner: 5",
    "access_manager.cc:1060] [RECOVER]: pid: 3134 lease { owner { uuid: \"00000000-0000-0000-0000-000000000005\"",
    "meta_rpc_server.cc:1987] [REPLACE REPLICA]: [REQUEST]: session: \"00000000-0000-0000-0000-000000000005\" pid: 3134 src_chunk: 5 dst_chunk: 1 epoch: 4354 reset_location_to_dst: false reset_generation: 18446744073709551615, [RESPONSE]: ST:OK, pid: 3134 location: 66052 expected_replica_num: 3 ever_exist: true origin_pid: 0 epoch: 4354",
];

/// Issue 11, item 1: the witness of `leak_beside_completed_migrate` (the README prints it)
/// is incident A event by event: add cmd 3133 (owner 5 created) → `[UPDATE TOPO OBJ]` chunk 5
/// (revoke, owner kept) → add cmd 3134 → `[RECOVER]` 3134 → `REPLACE REPLICA` 3134
/// `[4,2,5]` → `[4,2,1]` with epoch 4354 kept; no `[RECOVER]` for 3133, and every glog line of
/// the trace is one of these, in this order.
#[test]
fn one_behaviour_follows_the_whole_log() {
    let s = load(MODEL);
    let (model, outcome) = check(&s, &variant(&s, &[]));
    let found = outcome
        .properties
        .iter()
        .find(|p| p.name == "leak_beside_completed_migrate")
        .unwrap();
    assert_eq!(found.verdict, Verdict::Holds, "reached");
    let steps = trace::describe(&model, found.trace.as_ref().unwrap());
    let glog: Vec<&String> = steps
        .iter()
        .flat_map(|s| &s.log)
        .filter(|l| l.starts_with('I') && l.contains("] "))
        .filter(|l| !l.contains("recover_handler.cc") && !l.contains("Migrate for localization"))
        .collect();
    assert_eq!(glog.len(), LOGGED.len(), "{glog:#?}");
    for (got, want) in glog.iter().zip(LOGGED) {
        let header = got.split("] ").next().unwrap();
        assert!(
            header.starts_with("I0101 00:00:") && header.len() > 30,
            "glog header: {got}"
        );
        assert!(got.contains(want), "{got}\n  should contain\n{want}");
    }
    // The model's remarks say what the log does not: who created owner 5, that the revoke kept
    // it, that 3134's command was never revoked.
    let log: Vec<&String> = steps.iter().flat_map(|s| &s.log).collect();
    let at = |needle: &str| {
        log.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {log:#?}"))
    };
    assert!(at("# model: AllocOwnerForRecover created owner 5") < at("[UPDATE TOPO OBJ]"));
    assert!(
        at("# model: RevokeRecoverCmds(5): dropped cmd pid 3133 (never delivered), owner 5 kept")
            < at("add recover cmd for pid: 3134")
    );
    assert!(!log.iter().any(|l| l.contains("[RECOVER]: pid: 3133")));
    assert!(
        !log.iter()
            .any(|l| l.contains("RevokeRecoverCmds(5): dropped cmd pid 3134"))
    );
    let last = &steps.last().unwrap().state;
    assert_eq!(last.owners.get(&3133), Some(&5), "stranded");
    assert_eq!(last.locations[&3134], vec![4, 2, 1]);
    assert_eq!(last.locations[&3133], vec![4, 2, 5]);
    // The fix closes the leak, so the logged story is no longer a behaviour.
    let (_, fixed) = check(&s, &variant(&s, &["revoke_releases_owner=on"]));
    assert_eq!(
        verdict(&fixed, "leak_beside_completed_migrate"),
        Verdict::Violated
    );
}
