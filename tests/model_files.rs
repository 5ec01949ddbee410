//! Every shipped model file: it loads, and every verdict its `[expected.*]` tables state is
//! the verdict exploration finds. The seeded-bug tables make this a mutation test: each broken
//! check must be caught by the property that guards it.

mod common;

use common::{check_all, load, model_path};
use zbs_mc::domain::variant::Variant;

/// The model files under `models/` (`dir` = "") or `models/bench/` (`dir` = "bench/").
fn model_files(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(model_path(dir))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.ends_with(".toml").then(|| format!("{dir}{name}"))
        })
        .collect();
    names.sort();
    names
}

/// Checks every `[expected.*]` table of `file`; returns how many verdicts were compared.
fn check_expectations(file: &str) -> usize {
    let s = load(file);
    assert!(!s.expected.is_empty(), "{file} states no expected verdicts");
    let mut checked = 0;
    for (label, verdicts) in &s.expected {
        let mut v = Variant::default();
        if label != "default" {
            for part in label.split(',') {
                v.apply(part).unwrap();
            }
        }
        let run = check_all(&s, &v);
        assert!(run.safety.complete, "{file} [{label}] did not finish");
        for (name, want) in verdicts {
            let got = run
                .finding(name)
                .unwrap_or_else(|| panic!("{file} [{label}]: {name} was not checked"));
            assert!(
                got.skipped.is_none(),
                "{file} [{label}]: {name} is skipped here"
            );
            assert_eq!(
                format!("{:?}", got.verdict).to_lowercase(),
                format!("{want:?}").to_lowercase(),
                "{file} [{label}] {name}"
            );
            checked += 1;
        }
        // Every property the run decided (of those the file checks, its `properties` list) is
        // stated: nothing found goes unpinned.
        for f in run
            .verdicts
            .iter()
            .filter(|f| f.skipped.is_none() && s.checks(f.name))
        {
            assert!(
                verdicts.contains_key(f.name),
                "{file} [{label}] does not state {} ({:?})",
                f.name,
                f.verdict
            );
        }
    }
    checked
}

#[test]
fn every_expected_verdict_of_every_model_file_is_found() {
    let files = model_files("");
    assert!(files.len() >= 2, "{files:?}");
    let checked: usize = files.iter().map(|f| check_expectations(f)).sum();
    assert!(checked >= 30, "only {checked} verdicts checked");
}

/// The engine's scale targets: explored by `zbs-mc bench` only (far beyond the suite's time);
/// here they are loaded, and state no expectations to check.
const SCALE_TARGETS: &[&str] = &["bench/six-chunks.toml"];

/// The benchmark models (`models/bench/`, ~0.6 M states; about 25 s in a release build).
#[test]
fn every_expected_verdict_of_every_bench_model_file_is_found() {
    let files = model_files("bench/");
    assert!(!files.is_empty());
    for f in files
        .iter()
        .filter(|f| !SCALE_TARGETS.contains(&f.as_str()))
    {
        assert!(check_expectations(f) > 0, "{f}");
    }
}

#[test]
fn the_scale_targets_load_and_state_no_expectations() {
    for f in SCALE_TARGETS {
        assert!(
            model_files("bench/").iter().any(|g| g == f),
            "{f} is missing"
        );
        let s = load(f);
        assert!(
            s.expected.is_empty(),
            "{f}: an expectation here would never be checked"
        );
        let m = zbs_mc::actors::model::build(s.model_cfg(&s.variant));
        assert_eq!(stateright::Model::init_states(&m).len(), 1, "{f}");
    }
}

/// Where each safety property fails through the model's interleavings: a model file and a
/// variant of real decisions only (today's code, fixes, open questions — never a seeded bug,
/// which deletes the check it guards). The verdict itself is checked with the file's other
/// expectations above.
const FAILS_THROUGH_INTERLEAVINGS: &[(&str, &str, &str)] = &[
    ("no_leaked_owner", "incident-a-lease-leak.toml", "default"),
    ("one_cmd_per_pid", "spare-chunks-failure.toml", "default"),
    (
        "well_formed_cmd",
        "incident-a-revoked-replace.toml",
        "default",
    ),
    (
        "reservations_balance",
        "recover-and-migrate.toml",
        "revoke_releases_owner=on,release_uses_rewritten_src=on",
    ),
    (
        "slots_never_exceeded",
        "revoked-command-overcommit.toml",
        "default",
    ),
    (
        "space_never_overcommitted",
        "revoked-command-overcommit.toml",
        "default",
    ),
    (
        "safe_final_location",
        "incident-a-lease-leak.toml",
        "default",
    ),
    (
        "migrate_never_lowers_safety",
        "stale-candidate-topology.toml",
        "default",
    ),
    ("cmd_dst_has_space", "incident-c-cow-space.toml", "default"),
];

#[test]
fn every_safety_property_fails_somewhere_through_interleavings() {
    let seeded: Vec<&str> = zbs_mc::domain::variant::SWITCHES
        .iter()
        .filter(|sw| sw.kind == zbs_mc::domain::variant::SwitchKind::SeededBug)
        .map(|sw| sw.name)
        .collect();
    for p in zbs_mc::properties::PROPERTIES
        .iter()
        .filter(|p| p.expectation == stateright::Expectation::Always)
    {
        let &(_, file, label) = FAILS_THROUGH_INTERLEAVINGS
            .iter()
            .find(|(name, ..)| *name == p.name)
            .unwrap_or_else(|| panic!("{}: no model where it fails", p.name));
        assert!(
            !seeded.iter().any(|b| label.contains(b)),
            "{}: {label} turns a seeded bug on",
            p.name
        );
        let s = load(file);
        let want = s
            .expected
            .get(label)
            .and_then(|t| t.get(p.name))
            .unwrap_or_else(|| panic!("{file} [{label}] states nothing for {}", p.name));
        assert_eq!(
            format!("{want:?}"),
            "Violated",
            "{file} [{label}] {}",
            p.name
        );
    }
}

/// `no_leaked_owner` holds non-vacuously: every table of every model file that expects it to
/// hold also expects a revoke to be reached (`revoke_reached`).
#[test]
fn no_leaked_owner_never_holds_without_a_revoke() {
    for file in model_files("").iter().chain(&model_files("bench/")) {
        let s = load(file);
        for (label, t) in &s.expected {
            if t.get("no_leaked_owner").map(|v| format!("{v:?}")) == Some("Holds".into()) {
                assert_eq!(
                    t.get("revoke_reached").map(|v| format!("{v:?}")),
                    Some("Holds".into()),
                    "{file} [{label}]: no_leaked_owner holds without a revoke"
                );
            }
        }
    }
}

#[test]
fn each_seeded_bug_is_caught_by_the_property_that_guards_it() {
    let s = load("recover-and-migrate.toml");
    let seeded = zbs_mc::domain::variant::SWITCHES
        .iter()
        .filter(|sw| sw.kind == zbs_mc::domain::variant::SwitchKind::SeededBug);
    for sw in seeded {
        let label = format!("revoke_releases_owner=on,{}=off", sw.name);
        let mut v = Variant::default();
        v.apply("revoke_releases_owner=on").unwrap();
        v.set(sw.name, "off").unwrap();
        let expected = s
            .expected_for(&v)
            .unwrap_or_else(|| panic!("recover-and-migrate.toml has no [expected.\"{label}\"]"));
        assert!(
            expected.values().any(|e| format!("{e:?}") == "Violated"),
            "{label} must expect a violation"
        );
    }
}

#[test]
fn one_and_two_threads_find_the_same_states_verdicts_and_trace_lengths() {
    let s = load("recover-and-migrate.toml");
    let m = zbs_mc::actors::model::build(s.model_cfg(&s.variant));
    let run = |threads| {
        let o = zbs_mc::engine::Checker::new(&m)
            .options(zbs_mc::engine::Options {
                threads,
                ..common::exhaustive()
            })
            .check()
            .safety;
        let summary: Vec<_> = o
            .properties
            .iter()
            .map(|p| (p.name, p.verdict, p.trace.as_ref().map(|t| t.steps.len())))
            .collect();
        (o.unique_states, summary)
    };
    assert_eq!(run(1), run(2));
}
