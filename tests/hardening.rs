//! Regression tests for what a new user and a hostile input hit (issue 16): each test is one
//! reproduction that used to crash, hang, lose output or give a wrong answer.

mod common;

use common::model_path;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn zbs_mc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn incident_a() -> String {
    model_path("incident-a-lease-leak.toml")
        .display()
        .to_string()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zbs-mc-hardening-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A model of `pids` identical pids on chunk 1 of `chunks` identical chunks.
fn many_alike(pids: usize, chunks: usize) -> String {
    let cs: Vec<String> = (1..=chunks)
        .map(|c| format!("{{ cid = {c}, parent = \"b1\" }}"))
        .collect();
    let mut s = format!(
        "name = \"many\"\n[cluster]\ntopology = [{{ name = \"b1\", level = \"brick\", parent = \"topo\" }}]\nchunks = [{}]\n",
        cs.join(", ")
    );
    for p in 1..=pids {
        s.push_str(&format!("[[pids]]\npid = {p}\nlocation = [1]\n"));
    }
    s.push_str("[budgets]\nscans = 1\nmigrate_scans = 0\n");
    s
}

/// Runs `zbs-mc args…` and kills it if it outlives `limit` (a hang is a failure, not a
/// stuck test run).
fn within(limit: Duration, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "zbs-mc {args:?} still running after {limit:?}:\n{}",
                stdout(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

// ---- 1, 6: limits that overflowed ----

#[test]
fn a_huge_timeout_or_memory_cap_is_refused_not_a_panic_or_zero() {
    let out = zbs_mc(&["check", &incident_a(), "--timeout", "1e20"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--timeout"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    for bad in ["0", "-1", "nan", "inf", "x"] {
        let out = zbs_mc(&["check", &incident_a(), "--timeout", bad]);
        assert_eq!(out.status.code(), Some(2), "--timeout {bad}");
    }
    // 2^44 MiB is 2^64 bytes: it used to wrap to a cap of 0 and stop at the first state.
    let out = zbs_mc(&["check", &incident_a(), "--max-memory", "17592186044416"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("--max-memory"), "{}", stderr(&out));
    // The largest cap that fits is no cap at all for this model: it is checked whole.
    let out = zbs_mc(&["check", &incident_a(), "--max-memory", "17592186044415"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("1229 states"), "{}", stdout(&out));
}

// ---- 2: the symmetry group of 66 alike pids or chunks ----

#[test]
fn sixty_six_alike_pids_or_chunks_do_not_hang() {
    let dir = scratch("alike");
    for (name, pids, chunks) in [("pids", 66, 2), ("chunks", 1, 66), ("both", 70, 70)] {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, many_alike(pids, chunks)).unwrap();
        let p = path.to_str().unwrap();
        let limit = Duration::from_secs(60);
        let out = within(limit, &["check", p, "--symmetry", "--quiet"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stdout(&out));
        assert!(
            stdout(&out).contains("symmetry: group too large to use (")
                && stdout(&out).contains("explored without reduction"),
            "{name}: {}",
            stdout(&out)
        );
        let out = within(limit, &["check", p, "--quiet"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stdout(&out));
        let out = within(limit, &["trace", p]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        // Every step of the replayed trace needs the model too.
        let trace = dir.join(format!("{name}.json"));
        let out = within(
            limit,
            &[
                "check",
                p,
                "--property",
                "quiescent_reached",
                "--out",
                trace.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let out = within(limit, &["replay", trace.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert!(stdout(&out).contains("REPRODUCED"), "{}", stdout(&out));
        // The explorer builds its model before it listens: an unusable port makes it exit
        // right after building (it used to hang building the group first).
        let out = within(limit, &["explore", p, "--bind", "192.0.2.1", "--port", "1"]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains("cannot listen"), "{}", stderr(&out));
    }
}

// ---- 4: limits inside the symmetry audit, the simulation and the liveness analysis ----

/// Seven alike pids (7! = 5,040 renamings) on distinct chunks.
fn seven_alike() -> String {
    let mut s = String::from(
        "name = \"seven\"\n[cluster]\ntopology = [{ name = \"b1\", level = \"brick\", parent = \"topo\" }, { name = \"b2\", level = \"brick\", parent = \"topo\" }]\nchunks = [{ cid = 1, parent = \"b1\" }, { cid = 2, parent = \"b1\", capacity = 90 }, { cid = 3, parent = \"b2\" }]\n",
    );
    for p in 1..=7 {
        s.push_str(&format!("[[pids]]\npid = {p}\nlocation = [1, 2]\n"));
    }
    s.push_str("[budgets]\nscans = 1\nmigrate_scans = 1\n");
    s
}

#[test]
fn the_symmetry_audit_stops_at_the_timeout_inside_an_orbit() {
    let dir = scratch("seven");
    let path = dir.join("seven.toml");
    std::fs::write(&path, seven_alike()).unwrap();
    // One orbit of this model takes minutes to audit; the timeout is 1 s.
    let out = within(
        Duration::from_secs(60),
        &[
            "check",
            path.to_str().unwrap(),
            "--symmetry",
            "--timeout",
            "1",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("a limit stopped the audit after"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_simulation_honours_timeout_and_max_states() {
    let dir = scratch("sim");
    let path = dir.join("seven.toml");
    std::fs::write(&path, seven_alike()).unwrap();
    let p = path.to_str().unwrap();
    let limit = Duration::from_secs(60);
    let out = within(
        limit,
        &["check", p, "--simulate", "1000000000", "--timeout", "0.5"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("(stopped: Timeout limit"),
        "{}",
        stdout(&out)
    );
    let out = within(
        limit,
        &[
            "check",
            p,
            "--simulate",
            "1000000000",
            "--max-states",
            "1000",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["simulation"]["stopped_by"], "MaxStates");
    let steps = doc["simulation"]["steps"].as_u64().unwrap();
    let runs = doc["simulation"]["runs"].as_u64().unwrap();
    // States visited = steps + one initial state per walk.
    assert_eq!(steps + runs, 1000, "{doc}");
}

#[test]
fn the_liveness_analysis_honours_max_memory() {
    // The engine-level contract: with a cap below what the analysis needs on top of the
    // graph, the liveness verdicts are unknown and say why; the safety verdicts, from the
    // complete graph, stand.
    use zbs_mc::engine::{Options, StopReason, Verdict};
    let s = common::load("incident-a-lease-leak.toml");
    let m = zbs_mc::actors::model::build(s.model_cfg(&s.variant));
    let rss = zbs_mc::engine::current_rss_bytes().expect("Linux /proc");
    let opts = Options {
        // Just above what the process holds now: the small graph fits, its analysis not
        // (the estimate counts its arrays at dozens of bytes a node on top).
        max_memory_bytes: Some(rss + (64 << 20)),
        ..common::exhaustive()
    };
    let unlimited = zbs_mc::verdicts::run(&m, &common::exhaustive(), true);
    assert_eq!(
        unlimited
            .finding("owner_eventually_released")
            .unwrap()
            .verdict,
        Verdict::Violated
    );
    assert_eq!(unlimited.liveness_stopped_by, None);
    let capped = zbs_mc::verdicts::run(&m, &opts, true);
    assert!(capped.safety.complete);
    assert_eq!(capped.liveness_stopped_by, None, "64 MiB is plenty here");
    // A cap below the current resident set: the graph (tiny) is built in one go, then the
    // analysis is refused.
    let opts = Options {
        max_memory_bytes: Some(rss / 2),
        ..common::exhaustive()
    };
    let run = zbs_mc::verdicts::run(&m, &opts, true);
    assert_eq!(run.liveness_stopped_by, Some(StopReason::MaxMemory));
    assert_eq!(
        run.finding("owner_eventually_released").unwrap().verdict,
        Verdict::Unknown
    );
}

// ---- 5: the explorer under abuse ----

struct Server {
    port: u16,
}

/// An explorer of incident A on a loopback port, with small limits.
fn explorer(limits: zbs_mc::explorer::ServeLimits) -> Server {
    let args = zbs_mc::cli::explore::ExploreArgs {
        model: Some(model_path("incident-a-lease-leak.toml")),
        from: None,
        port: 0,
        bind: Ipv4Addr::LOCALHOST.into(),
        variants: Vec::new(),
    };
    let e = Arc::new(zbs_mc::cli::explore::build(&args).unwrap());
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || zbs_mc::explorer::serve_within(e, listener, limits));
    Server { port }
}

impl Server {
    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// Sends `request` and returns the status code of the answer.
    fn status(&self, request: &[u8]) -> u16 {
        let mut s = self.connect();
        let _ = s.write_all(request);
        status_of(&mut s)
    }
}

fn status_of(s: &mut TcpStream) -> u16 {
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

fn small_limits() -> zbs_mc::explorer::ServeLimits {
    zbs_mc::explorer::ServeLimits {
        workers: 2,
        queue: 2,
        header_bytes: 4096,
        request_time: Duration::from_millis(500),
    }
}

#[test]
fn the_explorer_bounds_header_size_and_request_time() {
    let server = explorer(small_limits());
    assert_eq!(server.status(GET), 200);
    // A header line larger than the bound (it used to be buffered whole: 516 MiB aborted it).
    let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 1 << 20));
    assert_eq!(server.status(&huge), 431);
    // A request that never finishes its headers.
    let started = Instant::now();
    assert_eq!(server.status(b"GET / HTTP/1.1\r\nHost: x\r\n"), 408);
    assert!(started.elapsed() < Duration::from_secs(10));
    // A request trickled out a byte at a time is held to the same total time.
    let mut s = server.connect();
    let started = Instant::now();
    for b in b"GET / HTTP/1.1\r\nX-Slow: abcdefghijklmnopqrstuvwxyz" {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    assert_eq!(status_of(&mut s), 408);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.status(GET), 200, "still answering");
}

#[test]
fn the_explorer_bounds_connections_and_keeps_answering() {
    let server = explorer(small_limits());
    // Far more idle connections than workers and queue: the extra ones are told at once.
    let idle: Vec<TcpStream> = (0..40).map(|_| server.connect()).collect();
    let mut busy = 0;
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        if status_of(&mut s) == 503 {
            busy += 1;
        }
    }
    assert!(busy >= 30, "only {busy} of 40 told busy");
    // Once the idle ones have timed out, a real request is served again.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(server.status(GET), 200);
}

#[test]
fn the_explorer_waits_instead_of_spinning_when_file_descriptors_run_out() {
    // The real binary with room for a few descriptors only.
    let exe = env!("CARGO_BIN_EXE_zbs-mc");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 16 && exec '{exe}' explore '{}' --port 0",
            incident_a()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut line = String::new();
    let mut out = child.stdout.take().unwrap();
    let child = Kill(child);
    let mut byte = [0u8];
    while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0] as char);
    }
    let port: u16 = line
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let cpu = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        // utime and stime, fields 14 and 15 (the 12th and 13th after the command name).
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    // Hold more connections than it has descriptors for: accept fails with EMFILE.
    let held: Vec<TcpStream> = (0..24)
        .filter_map(|_| TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu(child.0.id());
    std::thread::sleep(Duration::from_secs(2));
    let spent = cpu(child.0.id()) - before;
    // Clock ticks are 1/100 s: a spinning accept loop burns ~200 in 2 s.
    assert!(
        spent < 40,
        "{spent} ticks of CPU in 2 s while out of descriptors"
    );
    drop(held);
    // Descriptors free again: it answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = s.write_all(GET);
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        if text.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "no answer: {text:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---- 6: explore --from a trace blocked at its first step ----

#[test]
fn explore_from_a_trace_blocked_at_its_first_step_opens_at_step_0() {
    let dir = scratch("from");
    let (trace, good) = saved_trace(&dir);
    // A step numbered 0 used to be "blocked at step 0" and open "at step 18446744073709551615".
    let mut doc = good.clone();
    doc["steps"][0]["index"] = 0.into();
    doc["steps"][0]["event"]["timer"]["name"] = "scan".into();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, doc.to_string()).unwrap();
    let args = |model: Option<PathBuf>, from: &Path| zbs_mc::cli::explore::ExploreArgs {
        model,
        from: Some(from.to_path_buf()),
        port: 0,
        bind: Ipv4Addr::LOCALHOST.into(),
        variants: Vec::new(),
    };
    let e = zbs_mc::cli::explore::build(&args(None, &bad))
        .err()
        .unwrap();
    assert!(
        e.contains("corrupted trace") && e.contains("index 0"),
        "{e}"
    );
    assert!(!e.contains("18446744073709551615"), "{e}");
    // A sound trace whose first step is impossible on another model file (no migrate
    // scans) opens at the initial state, and says so.
    let no_migrate = dir.join("no-migrate.toml");
    let text = std::fs::read_to_string(incident_a()).unwrap();
    std::fs::write(
        &no_migrate,
        text.replace("migrate_scans = 2", "migrate_scans = 0"),
    )
    .unwrap();
    let e = zbs_mc::cli::explore::build(&args(Some(no_migrate.clone()), &trace)).unwrap();
    assert!(e.start.is_empty(), "opens at the initial state");
    let out = within(
        Duration::from_secs(30),
        &[
            "explore",
            no_migrate.to_str().unwrap(),
            "--from",
            trace.to_str().unwrap(),
            "--bind",
            "192.0.2.1",
            "--port",
            "1",
        ],
    );
    let err = stderr(&out);
    assert!(err.contains("opening at step 0"), "{err}");
}

// ---- 9: a tampered trace is bad input ----

fn saved_trace(dir: &Path) -> (PathBuf, serde_json::Value) {
    let trace = dir.join("a.json");
    let out = zbs_mc(&["check", &incident_a(), "--out", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let doc = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    (trace, doc)
}

#[test]
fn replay_trace_and_explore_refuse_a_tampered_trace() {
    let dir = scratch("tampered");
    let (_, good) = saved_trace(&dir);
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let tamper: Vec<(&str, Edit)> = vec![
        ("verdict", Box::new(|d| d["verdict"] = "meh".into())),
        (
            "model_hash",
            Box::new(|d| {
                let src = d["model_source"]
                    .as_str()
                    .unwrap()
                    .replace("used = 20", "used = 10");
                d["model_source"] = src.into();
            }),
        ),
        (
            "step 5: its event",
            Box::new(|d| d["steps"][4]["event"]["msg"]["cid"] = 4.into()),
        ),
        (
            "step 4: its log",
            Box::new(|d| d["steps"][3]["log"][0] = "meta    forged".into()),
        ),
    ];
    for (what, edit) in &tamper {
        let mut doc = good.clone();
        edit(&mut doc);
        let path = dir.join("bad.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        let p = path.to_str().unwrap();
        for args in [
            vec!["replay", p],
            vec!["replay", p, "--variant", "revoke_releases_owner=on"],
            vec!["trace", p],
        ] {
            let out = zbs_mc(&args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{what}, {args:?}: {}",
                stdout(&out)
            );
            assert!(
                stderr(&out).contains("corrupted trace") && stderr(&out).contains(what),
                "{what}: {}",
                stderr(&out)
            );
        }
        let args = zbs_mc::cli::explore::ExploreArgs {
            model: None,
            from: Some(path.clone()),
            port: 0,
            bind: Ipv4Addr::LOCALHOST.into(),
            variants: Vec::new(),
        };
        let e = zbs_mc::cli::explore::build(&args).err().expect(what);
        assert!(e.contains("corrupted trace"), "{e}");
    }
}

// ---- 10: output lost is not a success ----

#[test]
fn a_full_stdout_exits_2_for_every_subcommand() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = scratch("full");
    let (trace, _) = saved_trace(&dir);
    let t = trace.to_str().unwrap();
    let a = incident_a();
    let runs: Vec<Vec<&str>> = vec![
        vec!["check", &a],
        vec!["check", &a, "--format", "json"],
        vec!["check", &a, "--simulate", "5"],
        vec!["properties"],
        vec!["variants"],
        vec!["placement", &a],
        vec!["trace", &a],
        vec!["trace", t],
        vec!["replay", t],
        vec!["bench", "toy", "2", "2", "2", "1", "--threads", "1"],
        vec!["explore", &a, "--port", "0"],
    ];
    for args in runs {
        let out = Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
            .args(&args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot write the output to stdout"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

// ---- 11: model files and options an engineer would call wrong ----

#[test]
fn a_missing_model_file_has_no_position_and_variant_options_are_on_or_off() {
    let out = zbs_mc(&["check", "models/no-such-model.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: models/no-such-model.toml: cannot read the model file"),
        "{err}"
    );
    assert!(!err.contains(":0:0:"), "{err}");
    for option in ["yes", "true", "1"] {
        let v = format!("revoke_releases_owner={option}");
        let out = zbs_mc(&["check", &incident_a(), "--variant", &v]);
        assert_eq!(out.status.code(), Some(2), "{v}");
    }
}

#[test]
fn a_model_with_a_wrong_field_names_file_line_and_field() {
    let dir = scratch("model");
    let text = std::fs::read_to_string(incident_a()).unwrap();
    for (from, to, want) in [
        (
            "app_io = 0 ",
            "app_io = 1 ",
            ":57:10: budgets.app_io: app IO needs pids to touch",
        ),
        (
            "topo_updates = 1 ",
            "topo_updates = 2 ",
            ":56:16: budgets.topo_updates: 2 may happen, but [[topology_updates]] lists 1",
        ),
        (
            "capacity = 100, used = 20 },\n  { cid = 2",
            "capacity = 100, used = \"lots\" },\n  { cid = 2",
            ":31:57: cluster.chunks.used: invalid type: string \"lots\"",
        ),
    ] {
        let path = dir.join("m.toml");
        assert!(text.contains(from), "{from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let out = zbs_mc(&["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("error: {}{want}", path.display())),
            "{err}\nwant {want}"
        );
    }
}

// ---- 13: --simulate and its options; .mmd is raw Mermaid ----

#[test]
fn a_simulation_refuses_or_honours_every_check_option() {
    let dir = scratch("simopts");
    let a = incident_a();
    for (extra, what) in [
        (vec!["--symmetry"], "--symmetry"),
        (vec!["--report", "r.html"], "--report"),
        (vec!["--max-depth", "3"], "--max-depth"),
    ] {
        let mut args = vec!["check", &a, "--simulate", "20"];
        args.extend(extra);
        let out = zbs_mc(&args);
        assert_eq!(out.status.code(), Some(2), "{what}");
        assert!(stderr(&out).contains(what), "{}", stderr(&out));
    }
    // --out writes the simulation's counterexample, replayable.
    let trace = dir.join("sim.json");
    let out = zbs_mc(&[
        "check",
        &a,
        "--simulate",
        "20",
        "--out",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = zbs_mc(&["replay", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("REPRODUCED: no_leaked_owner"));
    // --trace-format replaces stdout, as with an exhaustive check.
    let out = zbs_mc(&["check", &a, "--simulate", "20", "--trace-format", "mermaid"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("sequenceDiagram\n"),
        "{}",
        stdout(&out)
    );
    // Its JSON names the model and the variant.
    let out = zbs_mc(&["check", &a, "--simulate", "20", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["model"], "incident-a-lease-leak");
    assert_eq!(doc["variant"]["revoke_releases_owner"], "off");
}

#[test]
fn mmd_files_are_raw_mermaid_and_md_files_markdown() {
    let dir = scratch("mermaid");
    let (mmd, md) = (dir.join("a.mmd"), dir.join("a.md"));
    for p in [&mmd, &md] {
        let out = zbs_mc(&["check", &incident_a(), "--out", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
    }
    let raw = std::fs::read_to_string(&mmd).unwrap();
    assert!(raw.starts_with("sequenceDiagram\n"), "{raw}");
    assert!(!raw.contains("```"), "{raw}");
    let page = std::fs::read_to_string(&md).unwrap();
    assert!(page.starts_with("# no_leaked_owner violated"), "{page}");
    assert!(page.contains(&format!("```mermaid\n{raw}```")), "{page}");
}

// ---- 17: the README is enough on its own ----

#[test]
fn the_readme_says_what_the_commands_need_and_names_only_files_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let msrv = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("Cargo.toml states its rust-version");
    assert!(
        readme.contains(&format!("Rust {msrv} or later")),
        "README names Rust {msrv}"
    );
    for needed in ["chromium", "chromedriver", "cargo install --path ."] {
        assert!(readme.contains(needed), "README says {needed:?}");
    }
    // Every path in backquotes is a file or directory of the repository (reports written
    // by the commands it shows are made in `reports/` or the working directory).
    for quoted in readme.split('`').skip(1).step_by(2) {
        let word = quoted.split_whitespace().next().unwrap_or("");
        let looks_like_path = word.contains('/')
            && !word.contains("://")
            && !word.starts_with('-')
            && word
                .rsplit('.')
                .next()
                .is_some_and(|e| ["md", "rs", "toml", "json", "html", "txt"].contains(&e));
        if looks_like_path && !quoted.starts_with("zbs-mc") && !quoted.starts_with("cargo") {
            assert!(
                !word.starts_with(".."),
                "README points outside the repository: {word}"
            );
            assert!(
                root.join(word).exists(),
                "README names {word}, which is not in the repository"
            );
        }
    }
    assert!(
        !readme.contains("shared/"),
        "README points at the shared directory"
    );
}
