//! The timely search (`zbs-mc check --timely`, `--hosts`) against the default search: same
//! states, depth and verdicts, counterexamples of the same length that are real paths, on
//! every shipped model; and two `zbs-mc` processes on loopback print the same report.

mod common;

use std::process::Command;
use zbs_mc::actors::codec::StateCodec;
use zbs_mc::actors::model;
use zbs_mc::engine::distributed::Workers;
use zbs_mc::engine::{Checker, Options, Outcome, StopReason, Verdict};

type Summary = (
    u64,
    u32,
    bool,
    Option<StopReason>,
    Vec<(String, Verdict, Option<usize>)>,
);

fn summary(o: &Outcome<model::ZbsModel>) -> Summary {
    let props = o
        .properties
        .iter()
        .map(|p| {
            (
                p.name.to_string(),
                p.verdict,
                p.trace.as_ref().map(|t| t.len()),
            )
        })
        .collect();
    (
        o.unique_states,
        o.max_depth,
        o.complete,
        o.stopped_by,
        props,
    )
}

#[test]
fn timely_agrees_with_the_default_search_on_every_shipped_model() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    for file in files {
        let s = common::load(&file);
        let m = model::build(s.model_cfg(&s.variant));
        // Everything; a model too large for the suite is compared to a depth bound (a
        // states limit stops the default search mid-level, the timely one between levels).
        let mut opts = Options {
            threads: 1,
            max_states: Some(60_000),
            ..common::exhaustive()
        };
        let mut one = Checker::actors(&m).options(opts.clone()).check().safety;
        if !one.complete {
            opts = Options {
                threads: 1,
                max_depth: Some(12),
                ..common::exhaustive()
            };
            one = Checker::actors(&m).options(opts.clone()).check().safety;
        }
        let timely = Checker::actors(&m)
            .options(opts.clone())
            .distributed(StateCodec::new(&m.cfg), &Workers::Threads(2))
            .unwrap();
        assert_eq!(summary(&timely), summary(&one), "{file}");
        for p in &timely.properties {
            if let Some(t) = &p.trace {
                assert!(
                    t.is_valid_for(&m),
                    "{file}: {}'s trace is not a path",
                    p.name
                );
            }
        }
    }
}

#[test]
fn timely_with_symmetry_agrees_with_the_default_search() {
    let s = common::load("symmetric-chunks.toml");
    let cfg = s.model_cfg(&s.variant);
    let codec = StateCodec::new(&cfg);
    let m = model::build(cfg);
    let opts = Options {
        threads: 1,
        symmetry: true,
        ..common::exhaustive()
    };
    let one = Checker::actors(&m).options(opts.clone()).check().safety;
    let timely = Checker::actors(&m)
        .options(opts.clone())
        .distributed(codec, &Workers::Threads(3))
        .unwrap();
    assert_eq!(summary(&timely), summary(&one));
}

/// A free loopback port (bound, then let go: the process binds it again at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn report_without_timings(json: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(json)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(json)));
    for key in ["seconds", "peak_rss_bytes", "liveness_seconds"] {
        v.as_object_mut().unwrap().remove(key);
    }
    v
}

#[test]
fn two_processes_on_loopback_print_the_report_of_one() {
    let bin = env!("CARGO_BIN_EXE_zbs-mc");
    let model = common::model_path("incident-a-lease-leak.toml");
    let hosts = std::env::temp_dir().join(format!("zbs-mc-hosts-{}.txt", std::process::id()));
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let args = |extra: &[&str]| {
        let mut c = Command::new(bin);
        c.arg("check")
            .arg(&model)
            .args(["--no-liveness", "--quiet", "--format", "json"])
            .args(extra);
        c
    };
    let p1 = args(&["--hosts", hosts.to_str().unwrap(), "--process", "1"]).output_spawned();
    let p0 = args(&["--hosts", hosts.to_str().unwrap(), "--process", "0"])
        .output()
        .unwrap();
    let p1 = p1.wait_with_output().unwrap();
    std::fs::remove_file(&hosts).unwrap();
    let alone = args(&["--threads", "1"]).output().unwrap();
    // Incident A's leak is found: exit 1, from every process.
    for out in [&p0, &p1, &alone] {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (r0, r1, ra) = (
        report_without_timings(&p0.stdout),
        report_without_timings(&p1.stdout),
        report_without_timings(&alone.stdout),
    );
    assert_eq!(r0, r1, "the two processes disagree");
    for key in ["states", "max_depth", "complete", "stopped_by", "result"] {
        assert_eq!(r0[key], ra[key], "{key}");
    }
    let verdicts = |r: &serde_json::Value| -> Vec<(String, String, usize)> {
        r["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let steps = p["trace"].as_array().map_or(0, Vec::len);
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["verdict"].as_str().unwrap().to_string(),
                    steps,
                )
            })
            .collect()
    };
    assert_eq!(verdicts(&r0), verdicts(&ra));
}

#[test]
fn the_timely_search_refuses_liveness_and_a_bad_host_file() {
    let bin = env!("CARGO_BIN_EXE_zbs-mc");
    let model = common::model_path("incident-a-lease-leak.toml");
    let out = Command::new(bin)
        .args(["check", model.to_str().unwrap(), "--timely"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --no-liveness"));
    let hosts = std::env::temp_dir().join(format!("zbs-mc-badhosts-{}.txt", std::process::id()));
    std::fs::write(&hosts, "127.0.0.1:1\n").unwrap();
    let out = Command::new(bin)
        .args([
            "check",
            model.to_str().unwrap(),
            "--no-liveness",
            "--process",
            "3",
            "--hosts",
        ])
        .arg(&hosts)
        .output()
        .unwrap();
    std::fs::remove_file(&hosts).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lists 1 processes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A host file of two free loopback ports, removed when dropped.
struct HostFile(std::path::PathBuf);

impl HostFile {
    fn new(name: &str) -> HostFile {
        let path = std::env::temp_dir().join(format!("zbs-mc-{name}-{}.txt", std::process::id()));
        std::fs::write(
            &path,
            format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
        )
        .unwrap();
        HostFile(path)
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A process whose peer never starts gives up after --connect-timeout, saying why, instead
/// of waiting for ever (timely's own behaviour).
#[test]
fn a_process_whose_peer_never_starts_gives_up() {
    let bin = env!("CARGO_BIN_EXE_zbs-mc");
    let model = common::model_path("incident-a-lease-leak.toml");
    let hosts = HostFile::new("lonely");
    let out = Command::new(bin)
        .args(["check", model.to_str().unwrap(), "--no-liveness", "--quiet"])
        .args(["--process", "0", "--connect-timeout", "2", "--hosts"])
        .arg(&hosts.0)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not every process of the 2 listed connected within 2 s"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "no report: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A process whose peer is killed mid-search stops with an error (exit 2), not a hang or a
/// backtrace.
#[test]
fn a_process_whose_peer_dies_stops_with_an_error() {
    let bin = env!("CARGO_BIN_EXE_zbs-mc");
    // Big enough to be still running when its peer is killed.
    let model = common::model_path("bench/five-chunks-large.toml");
    let hosts = HostFile::new("dying");
    let args = |process: &str| {
        let mut c = Command::new(bin);
        c.args(["check", model.to_str().unwrap(), "--no-liveness", "--quiet"])
            .args(["--process", process, "--hosts"])
            .arg(&hosts.0)
            .env_remove("RUST_BACKTRACE");
        c
    };
    // Process 0 listens first, so process 1 connects at its first try.
    let p0 = args("0").output_spawned();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut p1 = args("1").output_spawned();
    // Both connected and searching (the search prints nothing before its report).
    std::thread::sleep(std::time::Duration::from_secs(3));
    p1.kill().unwrap();
    let _ = p1.wait();
    let out = p0.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the search stopped"), "{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
}

/// `Command::spawn` with its output captured.
trait SpawnCaptured {
    fn output_spawned(&mut self) -> std::process::Child;
}

impl SpawnCaptured for Command {
    fn output_spawned(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}
