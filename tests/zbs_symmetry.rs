//! Symmetry on the ZBS model: the group is computed from the model file, audited before it
//! reduces anything, and a reduced run keeps every verdict with real, shortest traces.

mod common;

use common::{exhaustive, load, variant};
use zbs_mc::actors::model::{ZbsModel, build};
use zbs_mc::actors::symmetry::Renaming;
use zbs_mc::engine::Options;
use zbs_mc::verdicts::{self, Run, SymmetryStatus};

fn model(name: &str, overrides: &[&str]) -> ZbsModel {
    let s = load(name);
    build(s.model_cfg(&variant(&s, overrides)))
}

fn symmetric() -> Options {
    Options {
        symmetry: true,
        ..exhaustive()
    }
}

fn leak_steps(r: &Run) -> Option<usize> {
    r.finding("no_leaked_owner")?
        .trace
        .as_ref()
        .map(|t| t.steps.len())
}

#[test]
fn chunks_are_interchangeable_only_together_with_their_pids() {
    // Chunks 5, 6 and 7 share brick-2 with equal entries (3! candidate chunk permutations),
    // and the two pids look alike (2 candidate pid permutations); of the 11 non-identity
    // candidates only the joint swap maps the cluster onto itself.
    let m = model("symmetric-chunks.toml", &[]);
    let joint = Renaming {
        pids: [(3133, 3134), (3134, 3133)].into(),
        cids: [(6, 7), (7, 6)].into(),
    };
    assert_eq!(m.cfg.symmetry.renamings, vec![joint]);
    assert_eq!(m.cfg.symmetry.chunk_classes, vec![vec![6, 7]]);
    // Chunk 5 is named by both pids at the same position, 2 and 5 by incident A's pids in
    // order: no chunk renaming fixes that cluster, only the pid swap does.
    let a = model("incident-a-lease-leak.toml", &[]);
    assert!(a.cfg.symmetry.chunk_classes.is_empty());
    assert_eq!(a.cfg.symmetry.pid_classes, vec![vec![3133, 3134]]);
}

#[test]
fn a_reduced_run_keeps_every_verdict_with_real_shortest_traces() {
    for (name, overrides, full, orbits) in [
        ("symmetric-chunks.toml", &[][..], 639, 363),
        (
            "symmetric-chunks.toml",
            &["revoke_releases_owner=on"][..],
            639,
            363,
        ),
        ("incident-a-revoked-replace.toml", &[][..], 1200, 631),
        ("incident-a-topology.toml", &[][..], 1206, 637),
    ] {
        let m = model(name, overrides);
        let plain = verdicts::run(&m, &exhaustive(), true);
        let sym = verdicts::run(&m, &symmetric(), true);
        assert_eq!(plain.safety.unique_states, full, "{name} {overrides:?}");
        assert_eq!(sym.safety.unique_states, orbits, "{name} {overrides:?}");
        assert!(
            matches!(sym.symmetry.as_ref().map(|s| &s.status), Some(SymmetryStatus::Applied { orbits_audited }) if *orbits_audited as u64 == orbits)
        );
        for (a, b) in plain.verdicts.iter().zip(&sym.verdicts) {
            assert_eq!((a.name, a.verdict), (b.name, b.verdict), "{name}");
            if let Some(t) = &b.trace {
                assert!(
                    t.is_valid_for(&m),
                    "{name} {}: a real, replayable path",
                    b.name
                );
            }
        }
        assert_eq!(leak_steps(&sym), leak_steps(&plain), "still shortest");
    }
}

#[test]
fn a_symmetry_the_rules_break_is_refused_and_the_full_space_explored() {
    // A scan queues both pids' migrates in pid order and placement gives the first the lower
    // spare chunk: the renamed state (the other pid first) behaves differently, so the audit
    // refuses the reduction.
    let m = model("spare-chunks-failure.toml", &[]);
    assert_eq!(m.cfg.symmetry.pid_classes, vec![vec![3133, 3134]]);
    assert_eq!(m.cfg.symmetry.chunk_classes, vec![vec![6, 7]]);
    let sym = verdicts::run(&m, &symmetric(), false);
    let Some(SymmetryStatus::Broken { depth, what }) = sym.symmetry.as_ref().map(|s| &s.status)
    else {
        panic!("expected the audit to refuse: {:?}", sym.symmetry);
    };
    assert!(*depth > 0 && what.contains("orbits"), "{depth} {what}");
    assert_eq!(
        sym.safety.unique_states, 34_271,
        "the full space, unreduced"
    );
    let plain = verdicts::run(&m, &exhaustive(), false);
    for (a, b) in plain.verdicts.iter().zip(&sym.verdicts) {
        assert_eq!((a.name, a.verdict), (b.name, b.verdict));
    }
}

#[test]
fn no_symmetry_no_audit() {
    let m = model("recover-and-migrate.toml", &[]);
    let r = verdicts::run(&m, &symmetric(), false);
    assert_eq!(r.symmetry.map(|s| s.status), Some(SymmetryStatus::None));
    assert_eq!(r.safety.unique_states, 25_796);
}

#[test]
fn the_migrate_scan_cursor_breaks_incident_as_pid_symmetry() {
    // One pid per migrate scan, walked in pid order from next_repair_scan_pids_ (specs A20):
    // 3133 is always walked before 3134, so the audit refuses the swap incident A's
    // configuration allows.
    let m = model("incident-a-lease-leak.toml", &[]);
    assert_eq!(m.cfg.symmetry.pid_classes, vec![vec![3133, 3134]]);
    let sym = verdicts::run(&m, &symmetric(), false);
    assert!(
        matches!(
            sym.symmetry.as_ref().map(|s| &s.status),
            Some(SymmetryStatus::Broken { .. })
        ),
        "{:?}",
        sym.symmetry
    );
    assert_eq!(sym.safety.unique_states, 1229, "the full space, unreduced");
}

#[test]
fn renaming_is_a_group_action_on_every_reachable_state() {
    use stateright::Model;
    use zbs_mc::engine::SymmetricModel;
    use zbs_mc::engine::symmetry::SymmetryGroup;
    // Every state of symmetric-chunks (pids and chunks renamed together: actor slots, network
    // ids, timers, meta tables): the joint swap undoes itself, and all states of one orbit get
    // one representative — what the reduction's soundness rests on beyond the audit.
    let m = model("symmetric-chunks.toml", &[]);
    let mut seen = std::collections::HashSet::new();
    let mut queue: Vec<_> = m.init_states();
    let mut moved = 0;
    while let Some(s) = queue.pop() {
        if !seen.insert(s.clone()) {
            continue;
        }
        let c = m.canonical(&s);
        assert_eq!(m.canonical(&c), c, "canonical is idempotent");
        for image in m.images(&s) {
            moved += usize::from(image != s);
            assert_eq!(m.canonical(&image), c, "one representative per orbit");
            assert_eq!(m.images(&image), vec![s.clone()], "the swap undoes itself");
        }
        let mut actions = Vec::new();
        m.actions(&s, &mut actions);
        queue.extend(actions.into_iter().filter_map(|a| m.next_state(&s, a)));
    }
    assert_eq!(seen.len(), 639);
    assert!(moved > 400, "the renaming changes most states ({moved})");
}

#[test]
fn a_limit_that_stops_the_audit_leaves_the_run_unreduced() {
    // Half-audited is not audited: the reduction is applied only over a whole audit.
    let m = model("incident-a-revoked-replace.toml", &[]);
    let opts = Options {
        max_states: Some(100),
        ..symmetric()
    };
    let r = verdicts::run(&m, &opts, false);
    assert!(
        matches!(
            r.symmetry.as_ref().map(|s| &s.status),
            Some(SymmetryStatus::Unverified {
                orbits_audited: 100
            })
        ),
        "{:?}",
        r.symmetry
    );
    assert!(!r.safety.complete);
    // A depth bound is the same for the audit and the run: the audit covers what is explored.
    let opts = Options {
        max_depth: Some(5),
        ..symmetric()
    };
    let r = verdicts::run(&m, &opts, false);
    assert!(
        r.symmetry.as_ref().is_some_and(|s| s.applied()),
        "{:?}",
        r.symmetry
    );
}
