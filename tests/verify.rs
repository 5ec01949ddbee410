//! `zbs-mc verify`: the fix matrix over the shipped models, its JUnit XML (checked by a real
//! XML parser), a flipped expectation failing exactly its cell, `--changed` reporting what a
//! seeded bug breaks, the model files' `properties` list, and action coverage.

mod common;

use common::{check_all, load, model_path, variant};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use zbs_mc::actors::model;
use zbs_mc::engine::Verdict;
use zbs_mc::scenario::Scenario;
use zbs_mc::verify::coverage::{Action, Coverage};

fn zbs_mc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zbs-mc-verify-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The test cases of a JUnit document: (suite, case name, failure message, error message).
type Case = (String, String, Option<String>, Option<String>);

/// Parses JUnit XML with roxmltree and checks its structure against the JUnit schema's
/// shape: `testsuites` → `testsuite` (name, tests, failures, errors, time) → `testcase`
/// (name, classname, time) with at most one `failure` / `error` (type, message).
fn junit_cases(xml: &str) -> Vec<Case> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("invalid XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let num = |n: roxmltree::Node, a: &str| -> usize {
        n.attribute(a)
            .unwrap_or_else(|| panic!("<{}> lacks {a}", n.tag_name().name()))
            .parse()
            .unwrap()
    };
    let seconds = |n: roxmltree::Node| {
        let t: f64 = n.attribute("time").unwrap().parse().unwrap();
        assert!(t >= 0.0);
    };
    seconds(root);
    let mut all = Vec::new();
    for suite in root.children().filter(|n| n.is_element()) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        let name = suite.attribute("name").unwrap().to_string();
        seconds(suite);
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == "testcase")
            .collect();
        assert_eq!(num(suite, "tests"), cases.len(), "{name}");
        let mut failures = 0;
        let mut errors = 0;
        for case in cases {
            assert!(case.attribute("classname").is_some());
            seconds(case);
            let child = |tag: &str| {
                let found: Vec<_> = case
                    .children()
                    .filter(|n| n.is_element() && n.tag_name().name() == tag)
                    .collect();
                assert!(found.len() <= 1);
                found.first().map(|n| {
                    assert!(n.attribute("type").is_some());
                    n.attribute("message").unwrap().to_string()
                })
            };
            let (failure, error) = (child("failure"), child("error"));
            failures += usize::from(failure.is_some());
            errors += usize::from(error.is_some());
            all.push((
                name.clone(),
                case.attribute("name").unwrap().to_string(),
                failure,
                error,
            ));
        }
        assert_eq!(num(suite, "failures"), failures, "{name}");
        assert_eq!(num(suite, "errors"), errors, "{name}");
    }
    assert_eq!(num(root, "tests"), all.len());
    all
}

#[test]
fn the_shipped_matrix_matches_its_expectations_and_writes_valid_junit_and_replayable_traces() {
    let out_dir = temp_dir("shipped");
    let out = zbs_mc(&["verify", "--out", out_dir.to_str().unwrap(), "--quiet"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 mismatched, 0 undecided"), "{text}");
    assert!(
        !text.contains("five-chunks-large"),
        "models/bench/ is not in the default"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("verify.json")).unwrap())
            .unwrap();
    let xml = std::fs::read_to_string(out_dir.join("verify.xml")).unwrap();
    let cases = junit_cases(&xml);
    // One test case per cell, named by its variant and property.
    let mut cells = Vec::new();
    for m in json["models"].as_array().unwrap() {
        for r in m["runs"].as_array().unwrap() {
            for c in r["cells"].as_array().unwrap() {
                cells.push((
                    m["name"].as_str().unwrap().to_string(),
                    format!(
                        "[{}] {}",
                        r["label"].as_str().unwrap(),
                        c["property"].as_str().unwrap()
                    ),
                ));
                if let Some(file) = c["trace_file"].as_str() {
                    let saved = std::fs::read_to_string(file).unwrap();
                    if file.ends_with(".json") {
                        zbs_mc::trace::json::SavedTrace::parse(&saved).unwrap();
                    }
                }
            }
        }
    }
    let named: Vec<_> = cases
        .iter()
        .map(|(s, n, _, _)| (s.clone(), n.clone()))
        .collect();
    assert_eq!(named, cells);
    assert_eq!(
        json["summary"]["cells"].as_u64().unwrap() as usize,
        cases.len()
    );
    assert!(cases.iter().all(|(_, _, f, e)| f.is_none() && e.is_none()));
    let models: BTreeSet<_> = cases.iter().map(|c| c.0.clone()).collect();
    assert!(
        models.contains("incident-a-lease-leak") && models.len() >= 5,
        "{models:?}"
    );

    // The saved counterexample of incident A replays: the violation is reproduced.
    let trace = out_dir.join("traces/incident-a-lease-leak/default/no_leaked_owner.json");
    let replay = zbs_mc(&["replay", trace.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1), "{}", stdout(&replay));
    assert!(stdout(&replay).contains("REPRODUCED"));
    let md = std::fs::read_to_string(out_dir.join("verify.md")).unwrap();
    assert!(md.contains("## incident-a-lease-leak") && md.contains("## Action coverage"));
    let _ = std::fs::remove_dir_all(&out_dir);
}

/// Copies incident A's model file into a fresh directory with one expected verdict changed.
fn flipped(name: &str, from: &str, to: &str) -> PathBuf {
    let dir = temp_dir(name);
    let text = std::fs::read_to_string(model_path("incident-a-lease-leak.toml")).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from}");
    std::fs::write(dir.join("incident-a.toml"), text.replace(from, to)).unwrap();
    dir
}

#[test]
fn a_flipped_expected_verdict_fails_exactly_that_cell() {
    // Today's code violates no_leaked_owner; the copy claims it holds.
    let dir = flipped(
        "flip-default",
        "[expected.default]\nno_leaked_owner = \"violated\"",
        "[expected.default]\nno_leaked_owner = \"holds\"",
    );
    let out = zbs_mc(&["verify", dir.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    let cases = junit_cases(&xml);
    assert!(cases.len() >= 20, "{}", cases.len());
    let failed: Vec<_> = cases.iter().filter(|c| c.2.is_some()).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].1, "[default] no_leaked_owner");
    assert_eq!(
        failed[0].2.as_deref(),
        Some("expected holds, found violated (5 steps)")
    );
    // The failure body is the counterexample, in the words of the meta log.
    assert!(
        xml.contains("RevokeRecoverCmds(5): dropped cmd pid 3133 (never delivered), owner 5 kept")
    );
    assert!(xml.contains("✗ no_leaked_owner is violated here"));

    // The fix repairs no_leaked_owner; the copy claims it still leaks: no counterexample.
    let dir2 = flipped(
        "flip-fix",
        "[expected.\"revoke_releases_owner=on\"]\nno_leaked_owner = \"holds\"",
        "[expected.\"revoke_releases_owner=on\"]\nno_leaked_owner = \"violated\"",
    );
    let out = zbs_mc(&["verify", dir2.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let cases = junit_cases(&stdout(&out));
    let failed: Vec<_> = cases.iter().filter(|c| c.2.is_some()).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].1, "[revoke_releases_owner=on] no_leaked_owner");
    assert_eq!(
        failed[0].2.as_deref(),
        Some("expected violated, found holds")
    );

    // The text matrix marks the same cell.
    let out = zbs_mc(&["verify", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out)
            .contains("✗ 1 [default] no_leaked_owner: expected holds, found violated (5 steps)"),
        "{}",
        stdout(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

#[test]
fn limits_bad_input_and_exit_codes() {
    let a = model_path("incident-a-lease-leak.toml");
    let a = a.to_str().unwrap();
    let out = zbs_mc(&["verify", a, "--max-states", "50", "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(json["summary"]["undecided"].as_u64().unwrap() > 0);
    let out = zbs_mc(&["verify", a, "--max-states", "50", "--format", "junit"]);
    assert!(junit_cases(&stdout(&out)).iter().any(|c| c.3.is_some()));

    for args in [
        vec!["verify", "no/such/dir"],
        vec!["verify", a, "--changed", "no_such_switch=on"],
        vec!["verify", a, "--changed", "revoke_releases_owner"],
        vec!["verify", a, "--threads", "0"],
    ] {
        let out = zbs_mc(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error"),
            "{args:?}"
        );
    }
    let dir = temp_dir("bad-model");
    std::fs::write(
        dir.join("bad.toml"),
        "name = \"x\"\n[cluster]\nchunks = []\n",
    )
    .unwrap();
    let out = zbs_mc(&["verify", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The properties that go from holds to violated between `base` and `base + option`,
/// computed by two ordinary checks.
fn broken_by(s: &Scenario, base: &[&str], option: &str) -> BTreeSet<String> {
    let before = check_all(s, &variant(s, base));
    let mut with: Vec<&str> = base.to_vec();
    with.push(option);
    let after = check_all(s, &variant(s, &with));
    before
        .verdicts
        .iter()
        .filter(|f| f.verdict == Verdict::Holds && f.skipped.is_none())
        .filter(|f| {
            after
                .finding(f.name)
                .is_some_and(|a| a.verdict == Verdict::Violated)
        })
        .map(|f| f.name.to_string())
        .collect()
}

#[test]
fn changed_reports_exactly_the_properties_a_seeded_bug_breaks() {
    let out = zbs_mc(&[
        "verify",
        "--variant",
        "revoke_releases_owner=on",
        "--changed",
        "check_src_dst_hold=off",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "a regression exits 1");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let regressed: BTreeSet<(String, String)> = json["models"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| {
            m["changes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["change"] == "regressed")
                .map(move |c| {
                    (
                        m["name"].as_str().unwrap().to_string(),
                        c["property"].as_str().unwrap().to_string(),
                    )
                })
        })
        .collect();
    // Broken check 3 of AddRecoverCmdUnlock(): commands whose src lacks the pid or whose dst
    // holds it are issued where a scan proposes one for a pid whose replicas moved (a chunk
    // loss or a landed migrate), and nothing else breaks.
    let want: BTreeSet<_> = [
        ("recover-after-loss", "migrate_never_lowers_safety"),
        ("recover-and-migrate", "migrate_never_lowers_safety"),
        ("recover-and-migrate", "well_formed_cmd"),
        ("spare-chunks-failure", "migrate_never_lowers_safety"),
        ("spare-chunks-failure", "well_formed_cmd"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(regressed, want);
    assert_eq!(json["summary"]["fixed"], 0);

    // Every seeded bug: `--changed` lists exactly what two ordinary checks say it breaks,
    // which includes what the model file's table for it expects to be violated.
    let s = load("recover-and-migrate.toml");
    let seeded = zbs_mc::domain::variant::SWITCHES
        .iter()
        .filter(|sw| sw.kind == zbs_mc::domain::variant::SwitchKind::SeededBug);
    let base = ["revoke_releases_owner=on"];
    let broken = seeded.flat_map(|sw| {
        let default = sw.default_option();
        sw.options()
            .into_iter()
            .filter(move |o| *o != default)
            .map(move |o| format!("{}={o}", sw.name))
    });
    for option in broken {
        let ch = zbs_mc::verify::changed(
            std::slice::from_ref(&s),
            &[base[0].to_string()],
            &option,
            &zbs_mc::verify::RunOptions::default(),
        )
        .unwrap();
        let got: BTreeSet<String> = ch.models[0]
            .cells
            .iter()
            .filter(|c| c.change == zbs_mc::verify::Change::Regressed)
            .map(|c| c.property.to_string())
            .collect();
        let expected = broken_by(&s, &base, &option);
        assert_eq!(got, expected, "{option}");
        let base_table = s
            .expected_for(&variant(&s, &base))
            .expect("recover-and-migrate states the base variant's verdicts");
        let label = format!("{},{option}", base[0]);
        let table = s
            .expected_for(&variant(&s, &[base[0], option.as_str()]))
            .unwrap_or_else(|| panic!("no [expected.\"{label}\"]"));
        for (p, v) in table {
            // A `sometimes` property expected "violated" is one never reached, with or
            // without the bug: not something the option breaks.
            let sometimes = zbs_mc::properties::find(p)
                .is_some_and(|d| d.expectation == stateright::Expectation::Sometimes);
            let held_before = base_table
                .get(p)
                .is_some_and(|b| format!("{b:?}") == "Holds");
            if format!("{v:?}") == "Violated" && !sometimes && held_before {
                assert!(got.contains(p), "{option}: {p} is expected to break");
            }
        }
        assert!(!got.is_empty(), "{option} breaks something");
    }
}

#[test]
fn a_properties_list_selects_the_cells_and_is_validated() {
    let text = std::fs::read_to_string(model_path("incident-a-lease-leak.toml")).unwrap();
    let keep = "properties = [\"no_leaked_owner\", \"owner_eventually_released\"]\n";
    // Only the listed properties may have expected verdicts.
    let bad = format!("{keep}{text}");
    let e = Scenario::parse(Path::new("m.toml"), bad).unwrap_err();
    assert!(
        e.to_string().contains(
            "expected.default: \"cmd_in_progress\" is not in this file's `properties` list"
        ),
        "{e}"
    );
    let bad = format!("properties = [\"no_such\"]\n{text}");
    let e = Scenario::parse(Path::new("m.toml"), bad).unwrap_err();
    assert_eq!((e.line, e.column), (1, 15), "{e}");
    assert!(
        e.to_string().contains("unknown property \"no_such\""),
        "{e}"
    );
    let twice = text.replace(
        "[expected.\"revoke_releases_owner=on\"]",
        "[expected.\"revoke_releases_owner = on\"]\nno_leaked_owner = \"holds\"\n[expected.\"revoke_releases_owner=on\"]",
    );
    let e = Scenario::parse(Path::new("m.toml"), twice).unwrap_err();
    assert!(e.to_string().contains("same variant combination"), "{e}");

    // A file that lists two properties and states both for both variants.
    let (head, _) = text.split_once("[expected.default]").unwrap();
    let selected = format!(
        "{keep}{head}[expected.default]\nno_leaked_owner = \"violated\"\nowner_eventually_released = \"violated\"\n\
         [expected.\"revoke_releases_owner=on\"]\nno_leaked_owner = \"holds\"\nowner_eventually_released = \"holds\"\n"
    );
    let s = Scenario::parse(Path::new("m.toml"), selected.clone()).unwrap();
    assert!(s.checks("no_leaked_owner") && !s.checks("one_cmd_per_pid"));
    let dir = temp_dir("selected");
    std::fs::write(dir.join("a.toml"), &selected).unwrap();
    let out = zbs_mc(&["verify", dir.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let names: Vec<_> = junit_cases(&stdout(&out))
        .into_iter()
        .map(|c| c.1)
        .collect();
    assert_eq!(
        names,
        [
            "[default] no_leaked_owner",
            "[default] owner_eventually_released",
            "[revoke_releases_owner=on] no_leaked_owner",
            "[revoke_releases_owner=on] owner_eventually_released",
        ]
    );
    // `check` reports only the selected properties too.
    let out = zbs_mc(&[
        "check",
        dir.join("a.toml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["properties"].as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The coverage of one run of `file` under `overrides`.
fn coverage(file: &str, overrides: &[&str]) -> Coverage {
    let s = load(file);
    let m = model::build(s.model_cfg(&variant(&s, overrides)));
    let mut cov = Coverage::new();
    let mut scratch = Vec::new();
    let run = zbs_mc::verdicts::run_visiting(
        &m,
        &common::exhaustive(),
        true,
        Some(&mut |st| cov.visit(&m, st, &mut scratch)),
    );
    assert_eq!(
        cov.states, run.safety.unique_states,
        "every state is counted once"
    );
    cov
}

#[test]
fn coverage_names_every_action_and_incident_a_fires_revoke_recover_cmds() {
    // `check --coverage` lists every action, by its ZBS function.
    let out = zbs_mc(&[
        "check",
        model_path("incident-a-lease-leak.toml").to_str().unwrap(),
        "--coverage",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let names: BTreeSet<&str> = json["coverage"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let all: BTreeSet<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(names, all);
    for name in [
        "RecoverManager::RevokeRecoverCmds",
        "AccessManager::AllocOwnerForRecover: new owner",
        "RecoverManager::AddRecoverCmdUnlock: refused by check 1 (pid has a command)",
        "RecoverManager::AddRecoverCmdUnlock: refused by check 3 (src/dst/replace replicas)",
    ] {
        assert!(all.contains(name), "{name}");
    }
    let text = stdout(&zbs_mc(&[
        "check",
        model_path("incident-a-lease-leak.toml").to_str().unwrap(),
        "--coverage",
    ]));
    for a in Action::ALL {
        assert!(text.contains(a.name()), "{}", a.name());
    }

    // Incident A: the topology update revokes the undelivered command and keeps its owner;
    // with the fix the same revokes release it.
    let today = coverage("incident-a-lease-leak.toml", &[]);
    assert!(today.count(Action::RevokeRecoverCmds) > 0);
    assert!(today.count(Action::RevokedQueuedOwnerKept) > 0);
    assert_eq!(today.count(Action::RevokedQueuedOwnerReleased), 0);
    assert!(today.count(Action::AllocOwnerCreated) > 0);
    let fixed = coverage("incident-a-lease-leak.toml", &["revoke_releases_owner=on"]);
    assert_eq!(fixed.count(Action::RevokedQueuedOwnerKept), 0);
    assert_eq!(
        fixed.count(Action::RevokedQueuedOwnerReleased),
        today.count(Action::RevokedQueuedOwnerKept)
    );
    assert_eq!(
        fixed.count(Action::RevokeRecoverCmds),
        today.count(Action::RevokeRecoverCmds)
    );

    // A model without topology updates never sends or handles one, and without chunk losses
    // either (the other caller) never revokes.
    let mut without = 0;
    for e in std::fs::read_dir(model_path("")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".toml") || name.starts_with("bench") {
            continue;
        }
        let s = load(&name);
        let budgets = s.model_cfg(&s.variant).budgets;
        if budgets.topo_updates > 0 {
            continue;
        }
        let cov = coverage(&name, &[]);
        assert_eq!(cov.count(Action::UpdateTopoObj), 0, "{name}");
        assert_eq!(cov.count(Action::TopoMoved), 0, "{name}");
        if budgets.chunk_failures == 0 {
            assert_eq!(cov.count(Action::RevokeRecoverCmds), 0, "{name}");
            without += 1;
        }
        assert!(cov.count(Action::DoScan) > 0, "{name}");
    }
    // Every shipped model reaches a revoke (so `no_leaked_owner` never holds vacuously): take
    // incident A without its topology update as the model that has neither.
    let text = std::fs::read_to_string(model_path("incident-a-lease-leak.toml"))
        .unwrap()
        .replace("topo_updates = 1", "topo_updates = 0");
    let dir = std::env::temp_dir().join(format!("zbs-mc-verify-cov-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let no_topo = dir.join("incident-a-no-topology.toml");
    std::fs::write(&no_topo, text).unwrap();
    let cov = coverage(no_topo.to_str().unwrap(), &[]);
    assert_eq!(cov.count(Action::UpdateTopoObj), 0);
    assert_eq!(cov.count(Action::RevokeRecoverCmds), 0);
    assert!(cov.count(Action::DoScan) > 0 && cov.count(Action::CmdAdded) > 0);
    without += 1;
    assert!(without >= 1);
}
