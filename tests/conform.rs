//! `zbs-mc conform` end to end: the incident-A log, logs that conform, logs that must be
//! rejected, rotated files, the model's own counterexamples read back, and the CLI's exit
//! codes and JSON.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use zbs_mc::actors::model::{self, ZbsModel};
use zbs_mc::conform::parse::parse_message;
use zbs_mc::conform::report::{Report, Verdict, conform};
use zbs_mc::conform::search::Options;
use zbs_mc::scenario::Scenario;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conform")
        .join(name)
}

fn model_of(path: &Path) -> ZbsModel {
    let s = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
    model::build(s.model_cfg(&s.variant))
}

fn one_pid() -> ZbsModel {
    model_of(&fixture("one-pid.toml"))
}

/// Conforms the fixture logs `names` (in that order) against `model`.
fn run(model: &ZbsModel, names: &[&str]) -> Report {
    let files: Vec<(String, String)> = names
        .iter()
        .map(|n| (n.to_string(), std::fs::read_to_string(fixture(n)).unwrap()))
        .collect();
    conform(model, "m", "m.toml", "default", &files, &Options::default())
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn leaked(r: &Report) -> Vec<(u32, u8)> {
    r.pending
        .iter()
        .filter(|p| p.leaked)
        .map(|p| (p.pid, p.owner))
        .collect()
}

fn unexplained_line(r: &Report) -> usize {
    r.unexplained
        .as_ref()
        .expect("an unexplained event")
        .at
        .line
}

#[test]
fn incident_a_leaks_pid_3133_on_chunk_5_and_nothing_against_pid_3134() {
    let m = model_of(&common::model_path("incident-a-lease-leak.toml"));
    let r = run(&m, &["incident-a.log"]);
    assert_eq!(r.verdict, Verdict::PropertyBroken, "{r:#?}");
    assert_eq!(leaked(&r), [(3133, 5)]);
    let p = &r.pending[0];
    assert!(p.in_every_behaviour);
    assert!(
        p.message.contains("allocated at line 22060")
            && p.message
                .contains("revoked at line 22061 ([UPDATE TOPO OBJ] chunk-5) before any [RECOVER]")
            && p.message.contains("never released up to the log's end"),
        "{}",
        p.message
    );
    let lines: Vec<usize> = p.lines.iter().map(|l| l.line).collect();
    assert_eq!(lines, [22060, 22061]);
    assert!(r.pending.iter().all(|p| p.pid != 3134 || !p.leaked));
    let b = r
        .broken
        .iter()
        .find(|b| b.property == "no_leaked_owner")
        .unwrap();
    assert_eq!(b.at.as_ref().unwrap().line, 22061);
}

#[test]
fn a_delivered_completed_and_released_command_conforms_cleanly() {
    let r = run(&one_pid(), &["delivered-and-released.log"]);
    assert_eq!(r.verdict, Verdict::Conforms, "{r:#?}");
    assert!(r.broken.is_empty());
    assert!(
        r.pending.is_empty(),
        "the owner was released: {:?}",
        r.pending
    );
    assert_eq!(r.checked_events, 4);
    assert_eq!(r.unmodelled.get("MigrateFor"), Some(&1));
    assert_eq!(r.unmodelled.get("CowPextent"), Some(&1));
    assert_eq!(r.files[0].unknown, 1, "the noise line");
}

#[test]
fn rotated_files_merge_by_time_whatever_their_order() {
    let one = run(&one_pid(), &["delivered-and-released.log"]);
    let rotated = run(&one_pid(), &["rotated.log", "rotated.log.1"]);
    assert_eq!(rotated.verdict, Verdict::Conforms);
    assert_eq!(rotated.checked_events, one.checked_events);
    assert_eq!(rotated.behaviours, one.behaviours);
}

#[test]
fn a_command_revoked_before_delivery_leaks_its_owner() {
    let r = run(&one_pid(), &["revoked-before-delivery.log"]);
    assert_eq!(r.verdict, Verdict::PropertyBroken);
    assert_eq!(leaked(&r), [(3133, 5)]);
    let msg = &r.pending[0].message;
    assert!(
        msg.contains("allocated at line 1")
            && msg.contains("revoked at line 2 ([UPDATE TOPO OBJ] chunk-5) before any [RECOVER]"),
        "{msg}"
    );
    assert!(r.broken.iter().any(|b| b.property == "no_leaked_owner"));
}

#[test]
fn an_event_out_of_order_is_rejected_at_its_line() {
    let r = run(&one_pid(), &["out-of-order.log"]);
    assert_eq!(r.verdict, Verdict::NotABehaviour);
    assert_eq!(
        unexplained_line(&r),
        1,
        "[RECOVER] before its add recover cmd"
    );
}

#[test]
fn a_recover_for_a_revoked_command_is_rejected() {
    let r = run(&one_pid(), &["recover-after-revoke.log"]);
    assert_eq!(r.verdict, Verdict::NotABehaviour);
    assert_eq!(unexplained_line(&r), 3);
    let u = r.unexplained.unwrap();
    assert!(u.state.pid_cmds.is_empty(), "the command was revoked");
    assert_eq!(u.state.owners.get(&3133), Some(&5), "its owner stayed");
}

#[test]
fn a_replace_replica_with_a_stale_epoch_is_rejected() {
    let r = run(&one_pid(), &["stale-epoch-replace.log"]);
    assert_eq!(r.verdict, Verdict::NotABehaviour);
    assert_eq!(unexplained_line(&r), 3);
    let u = r.unexplained.unwrap();
    assert!(
        u.considered.iter().any(|c| c
            .would_log
            .iter()
            .any(|l| l.contains("REPLACE REPLICA") && l.contains("epoch: 4354"))),
        "the model's REPLACE REPLICA quotes epoch 4354: {:?}",
        u.considered
    );
}

#[test]
fn the_unlogged_bound_is_honoured() {
    // The first `add recover cmd` needs two unlogged steps first (the migrate scan and the
    // list swap): with one allowed, the log is out of reach.
    let m = one_pid();
    let files = [(
        "d.log".to_string(),
        std::fs::read_to_string(fixture("delivered-and-released.log")).unwrap(),
    )];
    let opts = Options {
        max_silent: 1,
        ..Options::default()
    };
    let r = conform(&m, "m", "m.toml", "default", &files, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::NotABehaviour);
    assert_eq!(unexplained_line(&r), 2);
}

#[test]
fn a_malformed_known_line_is_an_error_naming_its_file_and_line() {
    let files = [(
        "malformed.log".to_string(),
        std::fs::read_to_string(fixture("malformed.log")).unwrap(),
    )];
    let errors = conform(&one_pid(), "m", "m", "default", &files, &Options::default())
        .expect_err("a parse error");
    assert_eq!(errors.len(), 1);
    let e = errors[0].to_string();
    assert!(
        e.starts_with("malformed.log:2: malformed [RECOVER] line"),
        "{e}"
    );
    assert!(e.contains("src_chunk"), "{e}");
}

/// Every invariant counterexample the model finds on the model files, rendered as `check`
/// prints it, is read back by `conform` as a behaviour of that model, and the property it
/// breaks is broken on it.
#[test]
fn the_models_own_counterexamples_conform() {
    let (mut checked, mut shown) = (0, 0);
    for name in [
        "incident-a-lease-leak.toml",
        "incident-a-revoked-replace.toml",
        "recover-and-migrate.toml",
        "spare-chunks-failure.toml",
    ] {
        let s = common::load(name);
        let (m, outcome) = common::check(&s, &s.variant);
        for p in &outcome.properties {
            let Some(trace) = &p.trace else { continue };
            let def = zbs_mc::properties::find(p.name).unwrap();
            if !matches!(def.expectation, stateright::Expectation::Always) {
                continue;
            }
            let cx = zbs_mc::trace::Counterexample::new(
                &m,
                zbs_mc::trace::counterexample::ModelSource {
                    name: s.name.clone(),
                    file: name.into(),
                    text: s.source.clone(),
                },
                s.variant.clone(),
                def,
                trace.clone(),
            );
            let text = cx.render(zbs_mc::trace::TraceFormat::Text);
            let files = [(format!("{name}:{}", p.name), text.clone())];
            let r = conform(&m, &s.name, name, "default", &files, &Options::default())
                .unwrap_or_else(|e| panic!("{name} {}: {e:?}", p.name));
            assert_ne!(
                r.verdict,
                Verdict::NotABehaviour,
                "{name} {}: {:#?}\n{text}",
                p.name,
                r.unexplained
            );
            assert!(r.checked_events > 0);
            // Where the violating step itself logs a meta line, the log shows the violation;
            // where it is unlogged (a chunk loss after the last logged line), the log ends
            // before it and nothing may be claimed.
            let last = cx.steps.last().unwrap();
            let logged = last.log.iter().any(|l| {
                l.split_once("] ")
                    .filter(|(head, _)| head.contains(".cc"))
                    .is_some_and(|(_, msg)| {
                        matches!(parse_message(msg), Ok(Some(e)) if e.kind().always_logged())
                    })
            });
            if logged {
                assert!(
                    r.broken.iter().any(|b| b.property == p.name),
                    "{name}: {} is broken on its own counterexample: {:?}",
                    p.name,
                    r.broken
                );
                shown += 1;
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked} counterexamples read back");
    assert!(shown >= 3, "{shown} violations seen on the log");
}

fn zbs_mc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn cli_exit_codes_follow_the_verdict() {
    let m = "tests/fixtures/conform/one-pid.toml";
    let code = |log: &str| {
        zbs_mc(&[
            "conform",
            &format!("tests/fixtures/conform/{log}"),
            "--model",
            m,
        ])
        .status
        .code()
    };
    assert_eq!(code("delivered-and-released.log"), Some(0));
    assert_eq!(code("revoked-before-delivery.log"), Some(1));
    assert_eq!(code("out-of-order.log"), Some(4));
    let bad = zbs_mc(&[
        "conform",
        "tests/fixtures/conform/malformed.log",
        "--model",
        m,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("tests/fixtures/conform/malformed.log:2: malformed [RECOVER] line")
    );
    let missing = zbs_mc(&["conform", "no/such.log", "--model", m]);
    assert_eq!(missing.status.code(), Some(2));
    let kind = zbs_mc(&[
        "conform",
        "tests/fixtures/conform/out-of-order.log",
        "--model",
        m,
        "--unlogged",
        "Nonsense",
    ]);
    assert_eq!(kind.status.code(), Some(2));
}

#[test]
fn cli_json_is_one_object_with_the_schema_and_the_leak() {
    let out = zbs_mc(&[
        "conform",
        "tests/fixtures/conform/revoked-before-delivery.log",
        "--model",
        "tests/fixtures/conform/one-pid.toml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "zbs-mc/conform/1");
    assert_eq!(v["verdict"], "property_broken");
    assert_eq!(v["pending"][0]["pid"], 3133);
    assert_eq!(v["pending"][0]["leaked"], true);
    assert_eq!(v["pending"][0]["lines"][1]["line"], 2);
}

#[test]
fn cli_reads_the_shipped_incident_a_report_text() {
    // reports/incident-a-default.txt is `check`'s text: two counterexamples; the first
    // (no_leaked_owner) is read.
    let out = zbs_mc(&[
        "conform",
        "reports/incident-a-default.txt",
        "--model",
        "models/incident-a-lease-leak.toml",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("the first (no_leaked_owner) read"), "{text}");
    assert!(text.contains("LEAKED pid 3133: owner 5"), "{text}");
    assert!(!text.contains("LEAKED pid 3134"), "{text}");
}

#[test]
fn the_focused_search_and_the_full_search_agree_on_every_fixture() {
    let full = Options {
        focused: false,
        ..Options::default()
    };
    let incident = model_of(&common::model_path("incident-a-lease-leak.toml"));
    let cases: [(&ZbsModel, &str); 7] = [
        (&incident, "incident-a.log"),
        (&one_pid(), "delivered-and-released.log"),
        (&one_pid(), "revoked-before-delivery.log"),
        (&one_pid(), "out-of-order.log"),
        (&one_pid(), "recover-after-revoke.log"),
        (&one_pid(), "stale-epoch-replace.log"),
        (&one_pid(), "incident-a.log"),
    ];
    for (m, name) in cases {
        let files = [(
            name.to_string(),
            std::fs::read_to_string(fixture(name)).unwrap(),
        )];
        let a = conform(m, "m", "m", "d", &files, &Options::default()).unwrap();
        let b = conform(m, "m", "m", "d", &files, &full).unwrap();
        assert_eq!(a.verdict, b.verdict, "{name}");
        assert_eq!(
            a.unexplained.as_ref().map(|u| u.at.line),
            b.unexplained.as_ref().map(|u| u.at.line),
            "{name}"
        );
        assert_eq!(leaked(&a), leaked(&b), "{name}");
    }
}

/// `--infer`: no model file; the incident-A log alone gives pid 3133's leaked owner on chunk 5
/// (pid 3133's location borrowed from pid 3134, which got the same command; chunk 5 beside
/// chunk 2, so the migrate scan proposes 5 → 1), and the file it writes is the model checked.
#[test]
fn infer_finds_the_incident_a_leak_from_the_log_alone() {
    let out_file = std::env::temp_dir().join(format!("zbs-mc-infer-{}.toml", std::process::id()));
    let out = zbs_mc(&[
        "conform",
        "tests/fixtures/conform/incident-a.log",
        "--infer",
        "--infer-out",
        out_file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "property_broken");
    let pending = v["pending"].as_array().unwrap();
    let leaks: Vec<_> = pending
        .iter()
        .filter(|p| p["leaked"] == true)
        .map(|p| (p["pid"].as_u64().unwrap(), p["owner"].as_u64().unwrap()))
        .collect();
    assert_eq!(leaks, vec![(3133, 5)], "{pending:#?}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    let s = Scenario::parse(&out_file, text.clone()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        text.contains("pid 3134's, which got the same command"),
        "{text}"
    );
    assert!(
        text.contains("{ cid = 5, parent = \"brick-2\""),
        "chunk 5 beside chunk 2: {text}"
    );
    // The saved file, given back with --model, is the same model: the same verdict.
    let m = model::build(s.model_cfg(&s.variant));
    let r = run(&m, &["incident-a.log"]);
    assert_eq!(r.verdict, Verdict::PropertyBroken);
    assert_eq!(leaked(&r), vec![(3133, 5)]);
    std::fs::remove_file(&out_file).unwrap();
}

/// `--infer` on a log where the pid is delivered, completes and is released: it conforms
/// cleanly (the location rebuilt from the `[RECOVER]` lease).
#[test]
fn infer_on_a_clean_log_conforms() {
    let out = zbs_mc(&[
        "conform",
        "tests/fixtures/conform/delivered-and-released.log",
        "--infer",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("CONFORMS"), "{stdout}");
}

#[test]
fn infer_refuses_what_it_cannot_do() {
    let both = zbs_mc(&[
        "conform",
        "tests/fixtures/conform/incident-a.log",
        "--infer",
        "--model",
        "tests/fixtures/conform/one-pid.toml",
    ]);
    assert_eq!(both.status.code(), Some(2));
    let neither = zbs_mc(&["conform", "tests/fixtures/conform/incident-a.log"]);
    assert_eq!(neither.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&neither.stderr).contains("--model"));
    let dir = std::env::temp_dir().join(format!("zbs-mc-infer-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let noise = dir.join("noise.log");
    std::fs::write(
        &noise,
        "I0802 23:16:11.700000 58510 x.cc:12] nothing of ours\n",
    )
    .unwrap();
    let empty = zbs_mc(&["conform", noise.to_str().unwrap(), "--infer"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("--infer: the log names no pid"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
    let malformed = zbs_mc(&["conform", "tests/fixtures/conform/malformed.log", "--infer"]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("malformed.log:2:"));
    std::fs::remove_dir_all(&dir).unwrap();
}
