//! The benchmark plumbing: CLI arguments, rows, and agreement between the two engines.

use clap::Parser;
use zbs_mc::bench::toy::Toy;
use zbs_mc::bench::{BenchArgs, Engine, Format, run, run_ours, run_ours_symmetric, run_stateright};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

#[test]
fn parses_the_documented_command_line() {
    let cli = Cli::try_parse_from([
        "bench",
        "toy",
        "3",
        "4",
        "8",
        "2",
        "--buggy",
        "--symmetry",
        "--threads",
        "2",
        "--engine",
        "stateright",
        "--format",
        "json",
    ])
    .unwrap();
    let a = cli.args;
    assert_eq!(a.model.as_deref(), Some("toy"));
    assert_eq!(a.params, vec![3, 4, 8, 2]);
    assert!(a.buggy && a.symmetry && !a.fixed);
    assert_eq!(a.threads, Some(2));
    assert_eq!(a.engine, Engine::Stateright);
    assert_eq!(a.format, Format::Json);
    assert!(
        Cli::try_parse_from(["bench", "toy", "1", "1", "1", "1", "--fixed", "--buggy"]).is_err()
    );
    let none = Cli::try_parse_from(["bench"]).unwrap().args;
    assert!(none.model.is_none() && none.params.is_empty());
}

#[test]
fn engines_agree_on_the_toy() {
    let toy = Toy::new(3, 3, 1, 1, true).unwrap();
    let ours = run_ours("t", &toy, 2);
    let theirs = run_stateright("t", toy.clone(), 2);
    assert_eq!(ours.states, Toy::reference_count(3, 3, 1, 1));
    assert_eq!(theirs.states, ours.states);
    assert!(ours.violations.is_empty() && theirs.violations.is_empty());
    assert!(ours.complete);
    let sym = run_ours_symmetric("t", &toy, 2);
    assert!(sym.states < ours.states);

    let buggy = Toy::new(3, 3, 1, 1, false).unwrap();
    let row = run_ours("b", &buggy, 1);
    assert_eq!(row.violations.len(), 1);
    assert_eq!(row.violations[0].steps, 2);
    let json = serde_json::to_value(&row).unwrap();
    for key in ["states", "seconds", "peak_rss_bytes", "violations"] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn single_config_run_and_bad_arguments() {
    let parse = |v: &[&str]| Cli::try_parse_from(v).unwrap().args;
    assert_eq!(
        run(
            &parse(&["bench", "toy", "2", "2", "1", "1", "--format", "json"]),
            &[]
        )
        .unwrap(),
        0
    );
    assert!(run(&parse(&["bench", "toy", "2", "2", "1"]), &[]).is_err());
    assert!(run(&parse(&["bench", "toy", "9", "2", "1", "1"]), &[]).is_err());
    assert!(run(&parse(&["bench", "nosuchmodel"]), &[]).is_err());
    let extra = [zbs_mc::bench::BenchModel {
        name: "tiny".into(),
        run: Box::new(|_, t| run_ours("tiny", &Toy::new(1, 1, 0, 0, true).unwrap(), t)),
        large: false,
        timely_processes: None,
    }];
    assert_eq!(run(&parse(&["bench", "tiny"]), &extra).unwrap(), 0);
}

#[test]
fn the_binary_counts_the_heap_of_short_runs() {
    // The `zbs-mc` binary installs the counting allocator; this test binary does not.
    let toy = Toy::new(2, 2, 1, 1, true).unwrap();
    assert_eq!(run_ours("toy", &toy, 1).peak_heap_bytes, None);
    for engine in ["ours", "stateright"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
            .args(["bench", "toy", "2", "2", "1", "1", "--format", "json"])
            .args(["--threads", "2", "--engine", engine])
            .output()
            .unwrap();
        assert!(out.status.success(), "{engine}: {out:?}");
        let row: zbs_mc::bench::BenchRow = serde_json::from_slice(&out.stdout).unwrap();
        let heap = row.peak_heap_bytes.expect("a short run's heap is counted");
        // The visited set alone holds 16 bytes per state.
        assert!(
            heap >= 16 * row.states,
            "{engine}: {heap} bytes for {} states",
            row.states
        );
    }
}

#[test]
fn the_default_check_is_benchmarked_on_the_zbs_models_only() {
    let bench = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("bench")
            .args(args)
            .output()
            .unwrap()
    };
    let out = bench(&[
        "incident-a",
        "--engine",
        "check",
        "--threads",
        "2",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let row: zbs_mc::bench::BenchRow = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row.engine, zbs_mc::bench::Engine::Check);
    assert!(row.complete);
    // The same states as the safety search, and a liveness violation beside the safety ones.
    let out = bench(&[
        "incident-a",
        "--engine",
        "ours",
        "--threads",
        "2",
        "--format",
        "json",
    ]);
    let safety: zbs_mc::bench::BenchRow = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row.states, safety.states);
    let names: Vec<_> = row.violations.iter().map(|v| v.property.as_str()).collect();
    assert!(names.contains(&"no_leaked_owner"), "{names:?}");
    assert!(names.contains(&"owner_eventually_released"), "{names:?}");
    assert!(
        !safety
            .violations
            .iter()
            .any(|v| v.property == "owner_eventually_released")
    );
    let out = bench(&["toy", "2", "2", "1", "1", "--engine", "check"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ZBS models"),
        "{out:?}"
    );
}

/// Whether SPIN can run here; under `CI=true` (where `.ci/run` installs it) it must.
fn spin_here() -> bool {
    if zbs_mc::bench::spin::available() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "spin or cc is missing — but CI=true, where .ci/run installs them"
    );
    eprintln!("spin or cc is not on the PATH: the SPIN comparison is not tested here");
    false
}

#[test]
fn spin_explores_exactly_the_toys_states() {
    // The Promela translation is the toy only if SPIN finds the closed-form count, with
    // NoLeakedOwner asserted on every state and never violated (the fix is on).
    if !spin_here() {
        return;
    }
    for (n, p, k, m) in [(2, 2, 1, 1), (3, 3, 2, 1)] {
        let toy = Toy::new(n, p, k, m, true).unwrap();
        for threads in [1, 2] {
            let row = zbs_mc::bench::spin::run("toy", &toy, threads).unwrap();
            assert_eq!(row.engine, Engine::Spin);
            assert_eq!(
                row.states,
                Toy::reference_count(n.into(), p, k.into(), m.into()),
                "toy {n} {p} {k} {m}, {threads} threads"
            );
            assert_eq!(ours_states(&toy), row.states);
        }
    }
    let buggy = Toy::new(2, 2, 1, 1, false).unwrap();
    let err = zbs_mc::bench::spin::run("toy", &buggy, 1).unwrap_err();
    assert!(err.to_string().contains("fixed toy"), "{err}");
}

fn ours_states(toy: &Toy) -> u64 {
    run_ours("toy", toy, 1).states
}
