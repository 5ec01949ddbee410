//! The trace commands as a user runs them: `check --out/--trace-format/--report`, `trace`,
//! `replay` (bug reproduces: exit 1; fix kills it: exit 0), and bad input (exit 2).

mod common;

use common::model_path;
use std::path::PathBuf;
use std::process::{Command, Output};

fn zbs_mc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn incident_a() -> String {
    model_path("incident-a-lease-leak.toml")
        .display()
        .to_string()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zbs-mc-trace-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_saved_trace_replays_under_the_bug_and_is_killed_by_the_fix() {
    let json = tmp("a.json");
    let out = zbs_mc(&["check", &incident_a(), "--out", json.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "check still reports the violation"
    );
    assert!(stdout(&out).contains("no_leaked_owner                  VIOLATED"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("json trace of no_leaked_owner written"));

    let out = zbs_mc(&["replay", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("REPRODUCED: no_leaked_owner is violated after step 5 (as saved)")
    );

    let out = zbs_mc(&[
        "replay",
        json.to_str().unwrap(),
        "--variant",
        "revoke_releases_owner=on",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("variant:  revoke_releases_owner=on"));
    assert!(
        text.contains("NOT REPRODUCED: all 5 steps replay"),
        "{text}"
    );
    assert!(text.contains("≠ saved state: owners: {}"), "{text}");

    let out = zbs_mc(&[
        "replay",
        json.to_str().unwrap(),
        "--variant",
        "revoke_releases_owner=on",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["result"], "property_holds");
    assert_eq!(doc["replayed"], 5);
    assert_eq!(doc["same_model_file"], true);

    // The saved trace re-renders in another format without re-exploring.
    let out = zbs_mc(&["trace", json.to_str().unwrap(), "--format", "mermaid"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("operator->>meta: 5. UpdateTopo(chunk-5)"));
}

#[test]
fn trace_formats_go_to_stdout_or_to_a_file_named_by_extension() {
    let out = zbs_mc(&["check", &incident_a(), "--trace-format", "itf"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only ITF");
    assert_eq!(doc["states"].as_array().unwrap().len(), 6);

    let dot = tmp("a.dot");
    let out = zbs_mc(&["trace", &incident_a(), "--out", dot.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        std::fs::read_to_string(&dot)
            .unwrap()
            .starts_with("digraph")
    );

    let out = zbs_mc(&["trace", &incident_a(), "--format", "test-plan"]);
    assert!(stdout(&out).contains("HOLD BACK from here: the heartbeat of session chunk-5"));

    // With the fix there is nothing to render: exit 0, a note on stderr, empty stdout.
    let out = zbs_mc(&[
        "check",
        &incident_a(),
        "--variant",
        "revoke_releases_owner=on",
        "--trace-format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no trace to render"));

    // A reached `sometimes` property gives an example trace.
    let out = zbs_mc(&[
        "trace",
        &incident_a(),
        "--property",
        "delivered_then_revoked",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("example for delivered_then_revoked"));
}

#[test]
fn the_report_is_one_self_contained_file() {
    let html = tmp("reports/a.html");
    let out = zbs_mc(&["check", &incident_a(), "--report", html.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for needle in [
        "Verdicts",
        "Counterexample: no_leaked_owner (5 steps, shortest)",
        "<svg",
        "RevokeRecoverCmds(5): dropped cmd pid 3133 (never delivered), owner 5 kept",
        "<td>owner 5</td>",
        "distinct states</td><td>1229",
        "owner_eventually_released</td><td>liveness</td><td class=\"violated\">VIOLATED",
        "name = &quot;incident-a-lease-leak&quot;",
        "revoke_releases_owner",
    ] {
        assert!(page.contains(needle), "{needle:?} missing");
    }
    // Nothing is fetched from anywhere.
    for needle in ["src=\"http", "href=\"http", "<link", "@import", "url(http"] {
        assert!(!page.contains(needle), "{needle:?} found");
    }
}

#[test]
fn bad_trace_input_exits_2() {
    let out = zbs_mc(&["replay", "no/such/trace.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/trace.json"));

    let junk = tmp("junk.json");
    std::fs::write(&junk, "{\"schema\": 1}").unwrap();
    let out = zbs_mc(&["replay", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a zbs-mc JSON trace"));

    let out = zbs_mc(&["check", &incident_a(), "--property", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown property \"nope\""));

    let out = zbs_mc(&["explore"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_shipped_incident_a_trace_still_replays() {
    // reports/incident-a.json is what the README tells reviewers to replay. If the model
    // changed so that it no longer reproduces, regenerate it (reports/README.md).
    let shipped = model_path("../reports/incident-a.json");
    let out = zbs_mc(&["replay", shipped.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "reports/incident-a.json no longer reproduces; regenerate it (reports/README.md):\n{}",
        stdout(&out)
    );
    let out = zbs_mc(&[
        "replay",
        shipped.to_str().unwrap(),
        "--variant",
        "revoke_releases_owner=on",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
