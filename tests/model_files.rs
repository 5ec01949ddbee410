//! Every shipped model file: it loads, and every verdict its `[expected.*]` tables state is
//! the verdict exploration finds. The seeded-bug tables make this a mutation test: each broken
//! check must be caught by the property that guards it.

mod common;

use common::{check_all, load, model_path};
use zbs_mc::domain::variant::Variant;

fn model_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(model_path(""))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.ends_with(".toml").then_some(name)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_expected_verdict_of_every_model_file_is_found() {
    let files = model_files();
    assert!(files.len() >= 2, "{files:?}");
    let mut checked = 0;
    for file in files {
        let s = load(&file);
        assert!(!s.expected.is_empty(), "{file} states no expected verdicts");
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
        }
    }
    assert!(checked >= 30, "only {checked} verdicts checked");
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
        let o = zbs_mc::engine::explore(
            &m,
            &zbs_mc::engine::Options {
                threads,
                ..common::exhaustive()
            },
        );
        let summary: Vec<_> = o
            .properties
            .iter()
            .map(|p| (p.name, p.verdict, p.trace.as_ref().map(|t| t.steps.len())))
            .collect();
        (o.unique_states, summary)
    };
    assert_eq!(run(1), run(2));
}
