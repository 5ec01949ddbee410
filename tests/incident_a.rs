//! Incident A end to end: today's ZBS leaks pid 3133's owner, the fix does not, and the
//! delivered-then-revoked path (pid 3134) is explored without a leak.

mod common;

use common::{check, load, variant, verdict};
use stateright::Expectation;
use zbs_mc::actors::model::{SystemView, ZbsModel, ZbsState};
use zbs_mc::engine::{self, Verdict};
use zbs_mc::properties;
use zbs_mc::trace;

const MODEL: &str = "incident-a-lease-leak.toml";

#[test]
fn today_the_owner_leaks_after_add_topo_update_revoke() {
    let s = load(MODEL);
    let (model, outcome) = check(&s, &variant(&s, &[]));
    assert!(outcome.complete);
    assert_eq!(
        outcome.unique_states, 423,
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
    let added = position("add recover cmd for pid: 3133 src: 5 dst: 1 replace: 5 owner: 5");
    let moved = position("[UPDATE TOPO OBJ] chunk-5 new_parent_id: \"topo\"");
    let revoked =
        position("RevokeRecoverCmds(5): dropped cmd pid 3133 (never delivered), owner 5 kept");
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
        assert_eq!(run.safety.unique_states, 423);
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
            checked.len() > properties::PROPERTIES.len(),
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
        let outcome = engine::explore_actors(&model, &common::exhaustive());
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
