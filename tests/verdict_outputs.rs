//! What the printers say is what was computed: a re-rendered trace states the verdict its own
//! states show (issue 16 item 7); `check`'s text, JSON and HTML render one typed result with
//! a versioned schema (item 8); liveness properties are first-class — listed, picked with
//! `--property`, written as a lasso in every trace format, replayed, and in the HTML report
//! (item 12).

mod common;

use common::model_path;
use std::path::PathBuf;
use std::process::{Command, Output};
use zbs_mc::verdicts::{CHECK_SCHEMA, CheckReport, Kind, Overall, Status};

fn zbs_mc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn model(name: &str) -> String {
    model_path(name).display().to_string()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zbs-mc-verdict-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The checked-in incident-A trace (no_leaked_owner violated after step 5).
fn saved_incident_a() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reports/incident-a.json")
        .display()
        .to_string()
}

// Item 7.

#[test]
fn a_saved_trace_rendered_for_another_property_says_what_that_property_does_there() {
    let out = zbs_mc(&[
        "trace",
        &saved_incident_a(),
        "--property",
        "one_cmd_per_pid",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("violated"), "{text}");
    assert!(
        text.contains("✓ one_cmd_per_pid holds in every state of this trace"),
        "{text}"
    );
    assert!(
        text.contains("trace for one_cmd_per_pid (5 steps)"),
        "{text}"
    );

    let out = zbs_mc(&[
        "trace",
        &saved_incident_a(),
        "--property",
        "one_cmd_per_pid",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["verdict"], "holds");
    assert_eq!(doc["property"], "one_cmd_per_pid");
}

#[test]
fn a_saved_trace_rendered_under_the_fix_does_not_claim_the_violation() {
    for format in ["text", "itf", "mermaid", "test-plan", "json"] {
        let out = zbs_mc(&[
            "trace",
            &saved_incident_a(),
            "--variant",
            "revoke_releases_owner=on",
            "--format",
            format,
        ]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{format}: {text}");
        assert!(
            !text.contains("is violated") && !text.contains("\"violated\""),
            "{format}: {text}"
        );
    }
    let out = zbs_mc(&[
        "trace",
        &saved_incident_a(),
        "--variant",
        "revoke_releases_owner=on",
    ]);
    let text = stdout(&out);
    assert!(text.contains("⇒ owners: {}"), "{text}");
    assert!(
        text.contains("✓ no_leaked_owner holds in every state of this trace"),
        "{text}"
    );
    // Under the bug it still says violated, and exits 1.
    let out = zbs_mc(&["trace", &saved_incident_a()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("✗ no_leaked_owner is violated here"));
}

// Item 8.

fn check_json(file: &str, extra: &[&str]) -> (Option<i32>, CheckReport) {
    let mut args = vec!["check", file, "--format", "json", "--quiet"];
    args.extend_from_slice(extra);
    let out = zbs_mc(&args);
    let report: CheckReport =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    (out.status.code(), report)
}

#[test]
fn a_sometimes_property_never_reached_is_not_reached_in_json_as_in_text() {
    // Incident A without its topology update: nothing is ever revoked, so the companion
    // `delivered_then_revoked` is never reached while every invariant holds.
    let text = std::fs::read_to_string(model("incident-a-lease-leak.toml"))
        .unwrap()
        .replace("topo_updates = 1", "topo_updates = 0");
    let path = tmp("incident-a-no-topology.toml");
    std::fs::write(&path, text).unwrap();
    let file = path.to_str().unwrap().to_string();
    let (code, report) = check_json(&file, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(report.schema, CHECK_SCHEMA);
    assert_eq!(report.result, Overall::Holds);
    let p = report.property("delivered_then_revoked").unwrap();
    assert_eq!((p.kind, p.verdict), (Kind::Sometimes, Status::NotReached));
    assert_eq!(p.companion_of.as_deref(), Some("no_leaked_owner"));
    // The raw JSON words, as a tool reads them.
    let out = zbs_mc(&["check", &file, "--format", "json", "--quiet"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "zbs-mc/check/1");
    let raw = doc["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "delivered_then_revoked")
        .unwrap();
    assert_eq!(raw["verdict"], "not_reached");
    assert_eq!(raw["kind"], "sometimes");

    let text = stdout(&zbs_mc(&["check", &file, "--quiet"]));
    assert!(
        text.contains("delivered_then_revoked           NOT REACHED (warning)"),
        "{text}"
    );
}

#[test]
fn text_json_and_html_agree_on_every_verdict() {
    for (file, extra) in [
        ("incident-a-lease-leak.toml", vec![]),
        ("incident-a-revoked-replace.toml", vec![]),
        (
            "incident-a-lease-leak.toml",
            vec!["--variant", "revoke_releases_owner=on"],
        ),
    ] {
        let file = model(file);
        let (code, report) = check_json(&file, &extra);
        assert_eq!(code, Some(report.result.exit_code()), "{file}");
        let html = tmp("agree.html");
        let mut args = vec![
            "check",
            &file,
            "--quiet",
            "--report",
            html.to_str().unwrap(),
        ];
        args.extend_from_slice(&extra);
        let out = zbs_mc(&args);
        assert_eq!(out.status.code(), code);
        let text = stdout(&out);
        let page = std::fs::read_to_string(&html).unwrap();
        for p in &report.properties {
            let line = text
                .lines()
                .find(|l| l.split_whitespace().next() == Some(&p.name))
                .unwrap_or_else(|| panic!("{} missing from the text", p.name));
            assert!(line.contains(p.verdict.text()), "{line} vs {:?}", p.verdict);
            let row_start = page
                .find(&format!("<tr data-property=\"{}\">", p.name))
                .unwrap_or_else(|| panic!("{} missing from the HTML", p.name));
            let row = &page[row_start..row_start + page[row_start..].find("</tr>").unwrap()];
            let html_word = match p.verdict {
                Status::Holds => ">holds<",
                Status::Reached => ">holds (reached)<",
                Status::Violated => ">VIOLATED<",
                Status::NotReached => ">NOT REACHED (warning)<",
                Status::Unknown => ">unknown<",
                Status::Skipped => ">skipped: ",
            };
            assert!(row.contains(html_word), "{row} vs {:?}", p.verdict);
            assert!(
                row.contains(&format!("<td>{}</td>", p.kind.word())),
                "{row}"
            );
        }
    }
}

// Item 12.

#[test]
fn properties_lists_the_liveness_properties() {
    let text = stdout(&zbs_mc(&["properties"]));
    for l in zbs_mc::properties::LIVENESS {
        assert!(text.contains(&format!("{} (liveness", l.name)), "{text}");
    }
    let out = zbs_mc(&["properties", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let live: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "liveness")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        live,
        [
            "owner_eventually_released",
            "recover_completes_or_reissued",
            "converges_to_safe_location",
            "manual_migrate_sticks",
            "recover_eventually_finishes",
            "replicas_eventually_expected"
        ]
    );
}

#[test]
fn a_dead_end_lasso_is_written_replayed_and_killed_by_the_fix() {
    let file = model("incident-a-lease-leak.toml");
    let json = tmp("dead-end.json");
    let out = zbs_mc(&[
        "check",
        &file,
        "--quiet",
        "--property",
        "owner_eventually_released",
        "--out",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["property"], "owner_eventually_released");
    assert_eq!(doc["verdict"], "violated");
    let n = doc["steps"].as_array().unwrap().len();
    assert_eq!(doc["loop"], n, "a dead end: the loop is the last state");

    let out = zbs_mc(&["replay", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains(
        "REPRODUCED: ✗ nothing more can happen here, and owner_eventually_released never came true"
    ));
    let out = zbs_mc(&[
        "replay",
        json.to_str().unwrap(),
        "--variant",
        "revoke_releases_owner=on",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("NOT REPRODUCED"));

    let out = zbs_mc(&["trace", json.to_str().unwrap(), "--format", "test-plan"]);
    assert_eq!(out.status.code(), Some(1));
    let plan = stdout(&out);
    assert!(plan.contains("DEAD END: after step"), "{plan}");
    assert!(plan.contains("ASSERT `owner_eventually_released` is violated"));
}

#[test]
fn a_cycle_lasso_carries_its_loop_in_json_itf_mermaid_and_replays() {
    let file = model("incident-a-revoked-replace.toml");
    let prop = "converges_to_safe_location";
    let json = tmp("cycle.json");
    let out = zbs_mc(&[
        "check",
        &file,
        "--quiet",
        "--property",
        prop,
        "--out",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let saved = std::fs::read_to_string(&json).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&saved).unwrap();
    let n = doc["steps"].as_array().unwrap().len();
    let l = doc["loop"].as_u64().unwrap() as usize;
    assert!(l < n, "a real cycle: loop {l}, {n} steps");
    // The last step returns to the state at `loop`.
    let state_at = |k: usize| {
        if k == 0 {
            doc["initial"].clone()
        } else {
            doc["steps"][k - 1]["state"].clone()
        }
    };
    assert_eq!(state_at(n), state_at(l));

    // ITF: each state once, `loop` as ITF defines it (the last state is followed by
    // states[loop]); decodes with the published crate.
    let out = zbs_mc(&["trace", json.to_str().unwrap(), "--format", "itf"]);
    assert_eq!(out.status.code(), Some(1));
    let itf: itf::Trace<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(itf.loop_index, Some(l as u64));
    assert_eq!(
        itf.states.len(),
        n,
        "states 0..{n} without the repeated one"
    );
    assert_eq!(
        itf.meta.other.get("status").map(String::as_str),
        Some("violated")
    );

    let out = zbs_mc(&["trace", json.to_str().unwrap(), "--format", "mermaid"]);
    let mmd = stdout(&out);
    assert!(
        mmd.contains(&format!("↻ loop: steps {}–{n} repeat forever", l + 1)),
        "{mmd}"
    );
    let text = stdout(&zbs_mc(&["trace", json.to_str().unwrap()]));
    assert!(
        text.contains(&format!(
            "✗ steps {}–{n} repeat forever (fairly), and {prop} never comes true",
            l + 1
        )),
        "{text}"
    );

    let out = zbs_mc(&["replay", json.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["result"], "reproduced");
    assert_eq!(r["kind"], "liveness");

    // A loop index that does not close the lasso is not shown as a violation.
    let mut bad = doc.clone();
    bad["loop"] = serde_json::json!(l - 1);
    let tampered = tmp("cycle-bad-loop.json");
    std::fs::write(&tampered, serde_json::to_string(&bad).unwrap()).unwrap();
    // Its verdict no longer matches its steps: a corrupted trace (exit 2), for every reader.
    for cmd in ["trace", "replay"] {
        let out = zbs_mc(&[cmd, tampered.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("corrupted trace"), "{err}");
    }
}

#[test]
fn the_html_report_has_a_liveness_section_with_the_lasso() {
    let html = tmp("live.html");
    let out = zbs_mc(&[
        "check",
        &model("incident-a-revoked-replace.toml"),
        "--quiet",
        "--report",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(&html).unwrap();
    let section = &page[page
        .find("<section class=\"liveness\">")
        .expect("a liveness section")..];
    assert!(section.contains("Liveness counterexample: converges_to_safe_location"));
    assert!(section.contains("Liveness counterexample: owner_eventually_released"));
    assert!(section.contains("repeat forever"));
    assert!(section.contains("class=\"steprow loop\"") || section.contains(" loop\""));
}

#[test]
fn check_and_trace_take_a_liveness_property() {
    let file = model("incident-a-lease-leak.toml");
    let out = zbs_mc(&[
        "trace",
        &file,
        "--property",
        "owner_eventually_released",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["property"], "owner_eventually_released");
    assert!(doc["loop"].is_u64());
    let out = zbs_mc(&["check", &file, "--quiet", "--property", "no_such_property"]);
    assert_eq!(out.status.code(), Some(2));
    // With the fix, the liveness property holds: nothing to render.
    let out = zbs_mc(&[
        "trace",
        &file,
        "--property",
        "owner_eventually_released",
        "--variant",
        "revoke_releases_owner=on",
    ]);
    assert_eq!(out.status.code(), Some(0));
}
