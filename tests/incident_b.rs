//! Incident B, the recover timeout loop (`models/incident-b-recover-timeout.toml`,
//! notes:273–311): today's fixed concurrency loops for ever (issue → `recover_timeout_ms` →
//! `EXTENT GC` → identical reissue), each candidate fix of `recover_timeout_fix` ends the loop
//! without breaking a safety property; pinned by state counts, verdicts and the lasso as
//! `zbs-mc check --trace-format text` prints it.

mod common;

use common::{check_all, load, model_path, variant};
use zbs_mc::engine::Verdict;
use zbs_mc::scenario::Scenario;
use zbs_mc::verdicts::{Kind, Run};

const FILE: &str = "incident-b-recover-timeout.toml";

fn run(overrides: &[&str]) -> Run {
    let s = load(FILE);
    let v = variant(&s, overrides);
    check_all(&s, &v)
}

fn verdict(run: &Run, name: &str) -> Verdict {
    run.finding(name)
        .unwrap_or_else(|| panic!("{name} not checked"))
        .verdict
}

/// The properties of `run` (not `sometimes` companions) that are violated.
fn violated(run: &Run) -> Vec<&'static str> {
    run.verdicts
        .iter()
        .filter(|f| f.verdict == Verdict::Violated && f.kind != Kind::Sometimes)
        .map(|f| f.name)
        .collect()
}

const LIVENESS: [&str; 4] = [
    "owner_eventually_released",
    "recover_completes_or_reissued",
    "converges_to_safe_location",
    "recover_eventually_finishes",
];

/// Today: every safety invariant holds (the loop is legal), no replace ever lands, and every
/// liveness property is violated by the same lasso, which goes round the loop.
#[test]
fn todays_fixed_concurrency_loops_for_ever() {
    let r = run(&[]);
    assert!(r.safety.complete);
    assert_eq!(r.safety.unique_states, 596);
    assert_eq!(violated(&r), LIVENESS);
    assert_eq!(
        verdict(&r, "replica_replaced"),
        Verdict::Violated,
        "never reached"
    );
    let f = r.finding("recover_eventually_finishes").unwrap();
    let trace = f.trace.as_ref().expect("a lasso");
    let start = f.cycle_start.expect("a cycle, not a dead end");
    assert_eq!(
        (start, trace.steps.len()),
        (18, 39),
        "one turn of the loop for both pids"
    );
}

/// Each candidate fix ends the loop, and no other property regresses.
#[test]
fn every_candidate_fix_ends_the_loop_without_a_regression() {
    for (fix, states) in [
        ("adaptive_concurrency", 1_425),
        ("extend_timeout", 200),
        ("static_concurrency", 53),
    ] {
        let r = run(&[&format!("recover_timeout_fix={fix}")]);
        assert!(r.safety.complete, "{fix}");
        assert_eq!(r.safety.unique_states, states, "{fix}");
        assert!(violated(&r).is_empty(), "{fix}: {:?}", violated(&r));
        for name in LIVENESS {
            assert_eq!(verdict(&r, name), Verdict::Holds, "{fix} {name}");
        }
        assert_eq!(verdict(&r, "replica_replaced"), Verdict::Holds, "{fix}");
    }
}

/// Static mode holds only because the operator's value is one at which an extent copies within
/// the timeout: at 24 a copy still gets 32 / 24 = 1 unit per tick and loops again.
#[test]
fn static_mode_loops_again_with_a_value_the_cache_cannot_serve() {
    let path = model_path(FILE);
    let source = std::fs::read_to_string(&path).unwrap();
    let edited = source.replace("static_concurrency = 4", "static_concurrency = 24");
    assert_ne!(edited, source);
    let s = Scenario::parse(&path, edited).unwrap();
    let v = variant(&s, &["recover_timeout_fix=static_concurrency"]);
    let r = check_all(&s, &v);
    assert_eq!(violated(&r), LIVENESS);
}

/// `zbs-mc check … --property recover_eventually_finishes --trace-format text` prints the
/// lasso in meta-log words: the recover issued, handed over, copied tick by tick, timed out,
/// ended by meta, GC'd, and reissued — the reissue inside the repeating part.
#[test]
fn the_lasso_prints_in_meta_log_words() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "models/incident-b-recover-timeout.toml",
            "--property",
            "recover_eventually_finishes",
            "--trace-format",
            "text",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let issue = "recover_manager.cc:419] add recover cmd for pid: 1 src: 1 dst: 3 replace: 0";
    for words in [
        issue,
        "access_manager.cc:1060] [RECOVER]: pid: 1 lease { owner {",
        "Get recover notification: pid: 1",
        "# model: chunk-1 copies pid 1 (cmd #1): cur_block 128 of 1024 after 1 tick(s) (3 min; \
         recover_timeout_ms at 6 ticks = 18 min); 128 block(s) per tick at recover concurrency \
         32, cache thrashed",
        "# model: chunk-1: recover of pid 1 (cmd #1) not finished after 6 ticks (18 min), \
         cur_block 768 of 1024: it times out and reports it (notes:297)",
        "[meta] receives RecoverTimedOut(pid 1 src 1 dst 3 replace 0 owner 1) from chunk-1",
        "# model: recover_timeout_ms passed for cmd pid 1 src 1 dst 3 replace 0 owner 1: meta \
         ends it",
        "[meta] timer: EXTENT GC of pid 1's temporary pextent",
        "# model: EXTENT GC CMD to chunk-3: the temporary pextent of pid 1's timed-out recover \
         is reclaimed",
        "repeat forever (fairly), and recover_eventually_finishes never comes true",
    ] {
        assert!(text.contains(words), "{words:?} not in:\n{text}");
    }
    // The repeating part (steps 19–39) issues the identical command again, after the GC.
    assert!(text.contains("steps 19–39 repeat forever"), "{text}");
    let cycle = text.split("\n  19. ").nth(1).expect("step 19");
    let gc = cycle
        .find("EXTENT GC CMD to chunk-3")
        .expect("a GC in the cycle");
    let reissue = cycle.find(issue).expect("a reissue in the cycle");
    assert!(gc < reissue, "the reissue waits for the GC (notes:299)");
    assert!(
        !text.contains("[NORMAL RECOVER END]"),
        "no copy ever finishes"
    );
}

/// A `[recover_pace]` that cannot be meant is refused with its field and position.
#[test]
fn a_bad_recover_pace_is_refused_with_its_field() {
    let path = model_path(FILE);
    let source = std::fs::read_to_string(&path).unwrap();
    for (from, to, says) in [
        (
            "min_concurrency = 2",
            "min_concurrency = 40",
            "recover_pace.min_concurrency: 1..=concurrency (32), not 40",
        ),
        (
            "recover_timeout_ticks = 6",
            "recover_timeout_ticks = 0",
            "recover_pace.recover_timeout_ticks: at least 1",
        ),
        (
            "extent_units = 8",
            "extent_uints = 8",
            "unknown field `extent_uints`",
        ),
    ] {
        let err = Scenario::parse(&path, source.replace(from, to))
            .err()
            .unwrap_or_else(|| panic!("{to} accepted"))
            .to_string();
        assert!(err.contains(says), "{err}");
        assert!(err.contains("incident-b-recover-timeout.toml:"), "{err}");
    }
}
