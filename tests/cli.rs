//! The `zbs-mc` binary as a user runs it: exit codes, JSON, errors on bad input.

mod common;

use common::model_path;
use std::process::{Command, Output};

fn zbs_mc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn incident_a() -> String {
    model_path("incident-a-lease-leak.toml")
        .display()
        .to_string()
}

#[test]
fn check_exits_1_on_the_bug_and_0_with_the_fix() {
    let out = zbs_mc(&["check", &incident_a()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("no_leaked_owner                  VIOLATED"),
        "{text}"
    );
    assert!(
        text.contains("counterexample for no_leaked_owner (5 steps, shortest)"),
        "{text}"
    );
    assert!(
        text.contains("RevokeRecoverCmds(5): dropped cmd pid 3133 (never delivered), owner 5 kept")
    );

    let out = zbs_mc(&[
        "check",
        &incident_a(),
        "--variant",
        "revoke_releases_owner=on",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn json_output_is_one_object_with_the_documented_fields() {
    let out = zbs_mc(&["check", &incident_a(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["model"], "incident-a-lease-leak");
    assert_eq!(doc["variant"]["revoke_releases_owner"], "off");
    assert_eq!(doc["states"], 1229);
    assert!(doc["seconds"].as_f64().unwrap() >= 0.0);
    let props = doc["properties"].as_array().unwrap();
    let leak = props
        .iter()
        .find(|p| p["name"] == "no_leaked_owner")
        .unwrap();
    assert_eq!(leak["verdict"], "violated");
    assert_eq!(leak["expected"], "violated");
    let trace = leak["trace"].as_array().unwrap();
    assert_eq!(trace.len(), 5);
    assert_eq!(trace[4]["actor"], "meta");
    assert_eq!(trace[4]["state"]["owners"]["3133"], 5);
    let holds = props
        .iter()
        .find(|p| p["name"] == "one_cmd_per_pid")
        .unwrap();
    assert_eq!(
        (holds["verdict"].as_str(), holds["trace"].is_null()),
        (Some("holds"), true)
    );
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_problem() {
    let out = zbs_mc(&["check", "no/such/model.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/model.toml"));

    let out = zbs_mc(&[
        "check",
        &incident_a(),
        "--variant",
        "revoke_releases_owner=maybe",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("takes off or on"));

    let dir = std::env::temp_dir().join(format!("zbs-mc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    let text = std::fs::read_to_string(incident_a()).unwrap();
    std::fs::write(
        &bad,
        text.replace("location = [4, 2, 5]", "location = [4, 2, 9]"),
    )
    .unwrap();
    let out = zbs_mc(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:") && err.contains("pids.location: chunk 9"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = zbs_mc(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn properties_and_variants_are_listed() {
    let out = zbs_mc(&["properties"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for p in zbs_mc::properties::PROPERTIES {
        assert!(text.contains(p.name), "{} missing", p.name);
    }
    let out = zbs_mc(&["variants", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "revoke_releases_owner")
    );
}

#[test]
fn a_simulation_finding_replays_from_its_run_seed() {
    let model = model_path("recover-and-migrate.toml");
    let model = model.to_str().unwrap();
    let simulate = || {
        let args = [
            "check",
            model,
            "--simulate",
            "300",
            "--seed",
            "7",
            "--format",
            "json",
        ];
        let out = zbs_mc(&args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "the chunk-loss leak is found by random walks"
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let doc = simulate();
    let leak = doc["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "no_leaked_owner")
        .unwrap();
    assert_eq!(leak["verdict"], "violated");
    let seed = leak["run_seed"].as_u64().unwrap().to_string();
    let steps = leak["trace"].as_array().unwrap().len();
    // The same seed gives the same runs (everything but the time taken).
    let (mut first, mut again) = (doc.clone(), simulate());
    first["simulation"]["seconds"] = 0.into();
    again["simulation"]["seconds"] = 0.into();
    assert!(again == first, "same seed, different runs");
    // The run seed replays the walk up to the same violation.
    let replay = zbs_mc(&["check", model, "--replay-seed", &seed]);
    assert_eq!(replay.status.code(), Some(1));
    let text = String::from_utf8(replay.stdout).unwrap();
    assert!(
        text.contains(&format!("replay of run seed {seed} ({steps} steps)")),
        "{text}"
    );
    assert!(
        text.contains("✗ no_leaked_owner is violated here"),
        "{text}"
    );
}
