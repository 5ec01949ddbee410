//! `zbs-mc bench`: times our engine and stateright's BFS on identical work.
//!
//! A single configuration (`bench toy N P K M …`) is explored in-process — once, or, if it
//! takes under a second, repeatedly (for 2 s) for the median time — and printed as text or JSON. With no model argument the standard set runs, each configuration in a fresh
//! child process (this executable re-run with `bench <config> --format json`), so every row's
//! peak RSS is that configuration's own and not the high-water mark of earlier rows.
//!
//! Wiring: the binary must route a top-level subcommand named [`SUBCOMMAND`] to [`run`]:
//! ```ignore
//! #[derive(clap::Subcommand)]
//! enum Cmd { Bench(zbs_mc::bench::BenchArgs), /* … */ }
//! // …
//! Cmd::Bench(args) => std::process::exit(zbs_mc::bench::run(&args, &extra_models)?),
//! ```

pub mod heap;
pub mod spin;
pub mod toy;

use crate::engine::{self, Options, Progress, SymmetricModel};
use anyhow::{Context, bail};
use stateright::{Checker, Model};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Instant;
use toy::Toy;

/// Name of the subcommand the standard set re-executes for each configuration.
pub const SUBCOMMAND: &str = "bench";

/// Which engine explores.
#[derive(
    clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// `zbs_mc::engine::Checker::new` / `::symmetric` (`::actors` on the ZBS models), safety only.
    Ours,
    /// `model.checker().threads(t).spawn_bfs().join()`.
    Stateright,
    /// What `zbs-mc check MODEL` does by default: the safety and the liveness properties
    /// from one exploration (`Checker::actors(..).liveness(..).check()`); the ZBS models only.
    Check,
    /// `zbs-mc check MODEL --no-liveness --timely`: the safety search on timely dataflow,
    /// every state (`Checker::actors(..).distributed(..)`); the ZBS models only. The standard
    /// set also runs it across two processes (`--hosts`).
    Timely,
    /// SPIN 6's multi-core breadth-first search (`-DBFS_PAR`) on the lease toy written in
    /// Promela (module [`spin`]); the fixed toy only, without symmetry. Needs `spin` and `cc`
    /// on the PATH; the standard set leaves its rows out without them.
    Spin,
}

impl Engine {
    /// The `--engine` value that selects it.
    fn arg(self) -> &'static str {
        match self {
            Engine::Ours => "ours",
            Engine::Stateright => "stateright",
            Engine::Check => "check",
            Engine::Timely => "timely",
            Engine::Spin => "spin",
        }
    }
}

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Arguments of `zbs-mc bench`.
#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// `toy`, or the name of an extra benchmark model. Omit to run the standard set.
    pub model: Option<String>,
    /// Toy parameters: N P K M (chunks, pids, topology budget, generations per pid).
    pub params: Vec<u32>,
    /// Toy with the fix on (the default).
    #[arg(long, conflicts_with = "buggy")]
    pub fixed: bool,
    /// Toy with the fix off (NoLeakedOwner is violated).
    #[arg(long)]
    pub buggy: bool,
    /// Symmetry reduction (pid × chunk permutations; our engine only).
    #[arg(long)]
    pub symmetry: bool,
    /// Worker threads (default: all available).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = Engine::Ours)]
    pub engine: Engine,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Standard set: run every configuration this many times, in rounds (the rows of one
    /// configuration one after the other, then again), and report per row the median
    /// seconds and peak memory. On a shared VM one run's time varies by ±20 %; the
    /// speed-up and ratio lines compare medians. A model too large for one thread
    /// (`bench-six-chunks`, within its memory limit) runs once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=99))]
    pub rounds: u32,
}

/// A property violation found by a benchmark run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    pub property: String,
    pub steps: usize,
    pub actions: Vec<String>,
}

/// One measured run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BenchRow {
    pub name: String,
    pub engine: Engine,
    pub threads: usize,
    pub states: u64,
    pub seconds: f64,
    pub peak_rss_bytes: u64,
    /// Resident memory when exploration started (the binary and the loaded model): the
    /// process floor both engines share. `peak_rss_bytes - start_rss_bytes` is what the
    /// exploration itself took.
    #[serde(default)]
    pub start_rss_bytes: u64,
    pub complete: bool,
    pub violations: Vec<Violation>,
    /// Most heap bytes the exploration held at once (see [`heap`]), measured in a run of its
    /// own for explorations under [`HEAP_RUN_MAX`] seconds — where peak resident memory is
    /// mostly the process floor; `None` for longer ones, or without the counting allocator.
    #[serde(default)]
    pub peak_heap_bytes: Option<u64>,
    /// How many times the exploration ran; `seconds` is the median. Runs shorter than
    /// [`SHORT_RUN`] are repeated: one run of a few milliseconds measures thread start-up and
    /// the clock, not the engine.
    #[serde(default = "one")]
    pub runs: u32,
}

fn one() -> u32 {
    1
}

/// A run faster than this is repeated until [`REPEAT_FOR`] has passed (at most
/// [`MAX_RUNS`] runs), and its median time reported: a single run of a tenth of a second
/// varied by ±30 % between runs on this VM.
const SHORT_RUN: f64 = 1.0;
const REPEAT_FOR: f64 = 2.0;
const MAX_RUNS: u32 = 200;

/// Explorations faster than this get an extra run that counts their heap.
pub const HEAP_RUN_MAX: f64 = 1.0;

/// The peak heap of one more run of `f`, if the timed runs took under [`HEAP_RUN_MAX`].
fn heap_of<T>(seconds: f64, f: impl FnOnce() -> T) -> Option<u64> {
    if seconds >= HEAP_RUN_MAX {
        return None;
    }
    heap::peak_during(f).1
}

/// Runs `f` once, or repeatedly if it is short; returns the last result, the median seconds
/// and the number of runs.
fn timed<T>(f: impl FnMut() -> T) -> (T, f64, u32) {
    timed_with(SHORT_RUN, REPEAT_FOR, f)
}

/// [`timed`] with its thresholds: runs shorter than `short` seconds are repeated until
/// `repeat_for` seconds have passed (at most [`MAX_RUNS`] runs).
fn timed_with<T>(short: f64, repeat_for: f64, mut f: impl FnMut() -> T) -> (T, f64, u32) {
    repeat_runs(short, repeat_for, || {
        let start = Instant::now();
        let out = f();
        (out, start.elapsed().as_secs_f64())
    })
}

/// The repetition rule of [`timed_with`], on runs that report their own duration in seconds:
/// repeat while the first run was shorter than `short` and the runs so far total less than
/// `repeat_for` (at most [`MAX_RUNS`]); the median duration and the number of runs.
fn repeat_runs<T>(short: f64, repeat_for: f64, mut run: impl FnMut() -> (T, f64)) -> (T, f64, u32) {
    let mut times = Vec::new();
    loop {
        let (out, secs) = run();
        times.push(secs);
        let total: f64 = times.iter().sum();
        if times[0] >= short || total >= repeat_for || times.len() as u32 >= MAX_RUNS {
            times.sort_by(f64::total_cmp);
            return (out, times[times.len() / 2], times.len() as u32);
        }
    }
}

/// An extra model for the standard set, e.g. the ZBS model. `run` is called in the child
/// process, so `name` must be a valid `bench <name>` argument in the same binary (pass the same
/// `extra` list to [`run`] there). [`run_ours`] and [`run_stateright`] build rows.
pub struct BenchModel {
    pub name: String,
    pub run: Box<dyn Fn(Engine, usize) -> BenchRow + Send + Sync>,
    /// Too large for stateright's BFS and for one thread: the standard set runs only
    /// [`Engine::Check`] on every thread, within [`LARGE_LIMITS`].
    pub large: bool,
    /// The model file whose timely search the standard set also times: `zbs-mc check FILE
    /// --no-liveness --timely` with one worker, against two such processes with one worker
    /// each on loopback (`--hosts`).
    pub timely_processes: Option<String>,
}

/// The memory (MiB) and time (s) a [`BenchModel::large`] run may take before it stops
/// (`complete` then says false): the scale target, with room to see how far it is missed.
pub const LARGE_LIMITS: (u64, u64) = (4096, 300);

/// Explores `model` once with our engine (no symmetry).
pub fn run_ours<M>(name: &str, model: &M, threads: usize) -> BenchRow
where
    M: Model + Sync,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    measure_ours(name, threads, false, |o| {
        engine::Checker::new(model)
            .options(o.clone())
            .check()
            .safety
    })
}

/// Explores `model` once with our engine and symmetry reduction.
pub fn run_ours_symmetric<M>(name: &str, model: &M, threads: usize) -> BenchRow
where
    M: SymmetricModel + Sync,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    measure_ours(name, threads, true, |o| {
        engine::Checker::symmetric(model)
            .options(o.clone())
            .check()
            .safety
    })
}

/// One run of our engine: the `explore` closure with the benchmark options, measured from the resident
/// memory before it starts.
pub fn measure_ours<M: Model>(
    name: &str,
    threads: usize,
    symmetry: bool,
    explore: impl Fn(&Options) -> engine::Outcome<M>,
) -> BenchRow
where
    M::Action: Debug,
{
    let start = engine::current_rss_bytes().unwrap_or(0);
    let opts = bench_options(threads, symmetry);
    let (out, seconds, runs) = timed(|| explore(&opts));
    BenchRow {
        seconds,
        runs,
        peak_heap_bytes: heap_of(seconds, || explore(&opts)),
        ..row_from_outcome(name, threads, start, &out)
    }
}

/// One run of the timely safety search (every state), measured as [`measure_ours`] measures.
pub fn measure_timely<M: Model>(
    name: &str,
    threads: usize,
    explore: impl Fn(&Options) -> engine::Outcome<M>,
) -> BenchRow
where
    M::Action: Debug,
{
    let every_state = |o: &Options| {
        explore(&Options {
            stop_when_decided: false,
            ..o.clone()
        })
    };
    BenchRow {
        engine: Engine::Timely,
        ..measure_ours(name, threads, false, every_state)
    }
}

/// `zbs-mc check FILE --no-liveness --timely --threads 1` in one process, then across
/// `processes` processes of one worker each on loopback (`--hosts`): rows named `name` and
/// `name/Np` (`threads`: workers in all; memory: process 0's). Process 0 starts first, and
/// each next one 200 ms later.
fn run_timely_processes(name: &str, file: &str, processes: usize) -> anyhow::Result<Vec<BenchRow>> {
    let exe = std::env::current_exe().context("locating the current executable")?;
    let check = |extra: &[String]| {
        let mut c = std::process::Command::new(&exe);
        c.args([
            "check",
            file,
            "--no-liveness",
            "--quiet",
            "--format",
            "json",
        ])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
        c
    };
    let row =
        |label: &str, workers: usize, out: std::process::Output| -> anyhow::Result<BenchRow> {
            // Exit 1 is a violation found (the model's expectation), not a failure.
            if !matches!(out.status.code(), Some(0 | 1)) {
                bail!("{label}: zbs-mc check failed: {}", out.status);
            }
            let report: serde_json::Value = serde_json::from_slice(&out.stdout)
                .with_context(|| format!("{label}: parsing the check report"))?;
            Ok(BenchRow {
                name: label.to_string(),
                engine: Engine::Timely,
                threads: workers,
                states: report["states"].as_u64().unwrap_or(0),
                seconds: report["seconds"].as_f64().unwrap_or(f64::NAN),
                peak_rss_bytes: report["peak_rss_bytes"].as_u64().unwrap_or(0),
                start_rss_bytes: 0,
                complete: report["complete"].as_bool().unwrap_or(false),
                violations: Vec::new(),
                runs: 1,
                peak_heap_bytes: None,
            })
        };
    let one = check(&["--timely".into(), "--threads".into(), "1".into()])
        .output()
        .context("running zbs-mc check --timely")?;
    let mut rows = vec![row(name, 1, one)?];
    let hosts = std::env::temp_dir().join(format!("zbs-mc-bench-hosts-{}", std::process::id()));
    let ports = (0..processes)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            Ok(format!("127.0.0.1:{}\n", l.local_addr()?.port()))
        })
        .collect::<std::io::Result<String>>()?;
    std::fs::write(&hosts, ports)?;
    let children = (0..processes)
        .map(|i| {
            let mut c = check(&[
                "--hosts".into(),
                hosts.display().to_string(),
                "--process".into(),
                i.to_string(),
                "--threads".into(),
                "1".into(),
            ]);
            let child = c.spawn();
            std::thread::sleep(std::time::Duration::from_millis(200));
            child
        })
        .collect::<std::io::Result<Vec<_>>>()
        .context("starting the timely processes")?;
    let outs = children
        .into_iter()
        .map(|c| c.wait_with_output())
        .collect::<std::io::Result<Vec<_>>>()?;
    let _ = std::fs::remove_file(&hosts);
    let label = format!("{name}/{processes}p");
    let first = outs.into_iter().next().expect("at least one process");
    rows.push(row(&label, processes, first)?);
    Ok(rows)
}

/// One run of the default check (`check`: the safety outcome and the liveness outcome of one
/// exploration), measured as [`measure_ours`] measures; its seconds are the exploration's and
/// the liveness analysis's. With `large`, within [`LARGE_LIMITS`].
pub fn measure_check<M: Model>(
    name: &str,
    threads: usize,
    large: bool,
    check: impl Fn(&Options) -> engine::Checked<M>,
) -> BenchRow
where
    M::State: Clone,
    M::Action: Clone + Debug,
{
    let start = engine::current_rss_bytes().unwrap_or(0);
    // As `zbs-mc check` runs: every state, so that safety and liveness share one exploration.
    let opts = Options {
        stop_when_decided: false,
        max_memory_bytes: large.then_some(LARGE_LIMITS.0 << 20),
        timeout: large.then_some(std::time::Duration::from_secs(LARGE_LIMITS.1)),
        ..bench_options(threads, false)
    };
    let run = || {
        let checked = check(&opts);
        let seconds = checked.safety.seconds + checked.liveness.seconds;
        (checked, seconds)
    };
    let (
        engine::Checked {
            safety,
            liveness: live,
        },
        seconds,
        runs,
    ) = repeat_runs(SHORT_RUN, REPEAT_FOR, run);
    let mut row = row_from_outcome(name, threads, start, &safety);
    row.violations.extend(
        live.results
            .iter()
            .filter_map(|r| r.lasso.as_ref().map(|l| (r.name, l)))
            .map(|(property, l)| {
                let t = l.unrolled();
                Violation {
                    property: property.to_string(),
                    steps: t.len(),
                    actions: t.actions().map(|a| format!("{a:?}")).collect(),
                }
            }),
    );
    BenchRow {
        engine: Engine::Check,
        seconds,
        runs,
        complete: safety.complete && live.complete,
        peak_heap_bytes: heap_of(seconds, run),
        ..row
    }
}

/// Explores `model` once with stateright's BFS checker.
pub fn run_stateright<M>(name: &str, model: M, threads: usize) -> BenchRow
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + Eq + Send + Sync + 'static,
    M::Action: Clone + Debug + PartialEq + Send + Sync + 'static,
{
    let props = model.properties();
    let start_rss_bytes = engine::current_rss_bytes().unwrap_or(0);
    // The paths are part of the result, as our engine's traces are of its run: stateright
    // builds them on demand (`discoveries()`), so that call is timed too.
    let explore = || {
        let checker = model.clone().checker().threads(threads).spawn_bfs().join();
        let discoveries = checker.discoveries();
        (checker, discoveries)
    };
    let ((checker, discoveries), seconds, runs) = timed(explore);
    let peak_heap_bytes = heap_of(seconds, explore);
    let violations = props
        .iter()
        .filter(|p| p.expectation.discovery_is_failure())
        .filter_map(|p| {
            discoveries.get(p.name).map(|path| {
                let actions = path.clone().into_actions();
                Violation {
                    property: p.name.to_string(),
                    steps: actions.len(),
                    actions: actions.iter().map(|a| format!("{a:?}")).collect(),
                }
            })
        })
        .collect();
    BenchRow {
        name: name.to_string(),
        engine: Engine::Stateright,
        threads,
        states: checker.unique_state_count() as u64,
        seconds,
        peak_rss_bytes: engine::peak_rss_bytes(),
        start_rss_bytes,
        complete: checker.is_done() && discoveries.is_empty(),
        violations,
        runs,
        peak_heap_bytes,
    }
}

/// The options every benchmark run uses.
fn bench_options(threads: usize, symmetry: bool) -> Options {
    Options {
        threads,
        symmetry,
        progress: Progress::Auto,
        ..Options::default()
    }
}

/// A table row from one run of our engine, started at resident memory `start_rss_bytes`.
fn row_from_outcome<M: Model>(
    name: &str,
    threads: usize,
    start_rss_bytes: u64,
    out: &engine::Outcome<M>,
) -> BenchRow
where
    M::Action: Debug,
{
    let violations = out
        .properties
        .iter()
        .filter(|p| p.verdict == engine::Verdict::Violated && p.trace.is_some())
        .filter(|p| p.expectation.discovery_is_failure())
        .map(|p| {
            let t = p.trace.as_ref().unwrap();
            Violation {
                property: p.name.to_string(),
                steps: t.len(),
                actions: t.actions().map(|a| format!("{a:?}")).collect(),
            }
        })
        .collect();
    BenchRow {
        name: name.to_string(),
        engine: Engine::Ours,
        threads,
        states: out.unique_states,
        seconds: out.seconds,
        peak_rss_bytes: out.peak_rss_bytes,
        start_rss_bytes,
        complete: out.complete,
        violations,
        runs: 1,
        peak_heap_bytes: None,
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A toy configuration of the standard set.
#[derive(Clone, Copy, Debug)]
struct ToyConfig {
    n: u32,
    p: u32,
    k: u32,
    m: u32,
    fixed: bool,
    symmetry: bool,
}

impl ToyConfig {
    fn label(&self) -> String {
        format!(
            "toy {} {} {} {}{}{}",
            self.n,
            self.p,
            self.k,
            self.m,
            if self.fixed { "" } else { " --buggy" },
            if self.symmetry { " --symmetry" } else { "" }
        )
    }
    fn args(&self) -> Vec<String> {
        let mut v: Vec<String> = ["toy".to_string()]
            .into_iter()
            .chain([self.n, self.p, self.k, self.m].map(|x| x.to_string()))
            .collect();
        v.push(if self.fixed { "--fixed" } else { "--buggy" }.into());
        if self.symmetry {
            v.push("--symmetry".into());
        }
        v
    }
}

const STANDARD: &[ToyConfig] = &[
    ToyConfig {
        n: 4,
        p: 4,
        k: 1,
        m: 1,
        fixed: true,
        symmetry: false,
    },
    ToyConfig {
        n: 3,
        p: 4,
        k: 1,
        m: 2,
        fixed: true,
        symmetry: false,
    },
    ToyConfig {
        n: 3,
        p: 4,
        k: 8,
        m: 2,
        fixed: true,
        symmetry: false,
    },
    ToyConfig {
        n: 3,
        p: 4,
        k: 8,
        m: 2,
        fixed: false,
        symmetry: false,
    },
    ToyConfig {
        n: 3,
        p: 4,
        k: 10,
        m: 2,
        fixed: true,
        symmetry: true,
    },
];

/// Runs `zbs-mc bench …`; returns the process exit code.
pub fn run(args: &BenchArgs, extra: &[BenchModel]) -> anyhow::Result<i32> {
    let threads = args.threads.unwrap_or_else(default_threads).max(1);
    let Some(model) = &args.model else {
        return run_standard_set(args, threads, extra);
    };
    let row = if model == "toy" {
        let [n, p, k, m] = args.params[..] else {
            bail!("usage: bench toy N P K M [--fixed|--buggy] [--symmetry]");
        };
        let toy = Toy::new(n, p, k, m, !args.buggy).map_err(anyhow::Error::msg)?;
        let cfg = ToyConfig {
            n,
            p,
            k,
            m,
            fixed: !args.buggy,
            symmetry: args.symmetry,
        };
        let name = cfg.label();
        match (args.engine, args.symmetry) {
            (Engine::Ours, false) => run_ours(&name, &toy, threads),
            (Engine::Ours, true) => run_ours_symmetric(&name, &toy, threads),
            (Engine::Stateright, false) => run_stateright(&name, toy, threads),
            (Engine::Stateright, true) => bail!("stateright's BFS ignores symmetry"),
            (Engine::Check, _) => {
                bail!("--engine check is for the ZBS models (the toy has no liveness properties)")
            }
            (Engine::Timely, _) => bail!("--engine timely is for the ZBS models"),
            (Engine::Spin, false) => spin::run(&name, &toy, threads)?,
            (Engine::Spin, true) => bail!("the SPIN rows run the toy without symmetry"),
        }
    } else if let Some(b) = extra.iter().find(|b| &b.name == model) {
        (b.run)(args.engine, threads)
    } else {
        bail!("unknown bench model {model:?} (expected `toy` or one of the extra models)");
    };
    match args.format {
        Format::Json => crate::cli::outln!("{}", serde_json::to_string(&row)?),
        Format::Text => {
            print_header();
            print_row(&row);
        }
    }
    Ok(0)
}

fn run_child(config_args: &[String], engine: Engine, threads: usize) -> anyhow::Result<BenchRow> {
    let exe = std::env::current_exe().context("locating the current executable")?;
    let out = std::process::Command::new(exe)
        .arg(SUBCOMMAND)
        .args(config_args)
        .args(["--engine", engine.arg()])
        .args(["--threads", &threads.to_string(), "--format", "json"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running benchmark child")?;
    if !out.status.success() {
        bail!("benchmark child {config_args:?} failed: {}", out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("parsing child output {line:?}"))
}

/// A configuration of the standard set: its label, its `bench` arguments, and its (engine,
/// threads) runs.
type Job = (String, Vec<String>, Vec<(Engine, usize)>);

fn run_standard_set(args: &BenchArgs, threads: usize, extra: &[BenchModel]) -> anyhow::Result<i32> {
    let with_spin = spin::available();
    if !with_spin {
        eprintln!(
            "bench: `spin` or `cc` is not on the PATH: the SPIN rows are left out (apt-get install spin)"
        );
    }
    let mut jobs: Vec<Job> = STANDARD
        .iter()
        .map(|c| {
            let mut engines = vec![(Engine::Ours, threads)];
            if !c.symmetry {
                engines.push((Engine::Stateright, threads));
            }
            if with_spin && c.fixed && !c.symmetry {
                engines.push((Engine::Spin, threads));
            }
            (c.label(), c.args(), engines)
        })
        .collect();
    for b in extra {
        let runs = if b.large {
            vec![(Engine::Check, threads)]
        } else {
            // The default check on one thread and on all of them, for the parallel speed-up.
            let mut v = vec![(Engine::Ours, threads), (Engine::Check, 1)];
            if threads > 1 {
                v.push((Engine::Check, threads));
            }
            v.push((Engine::Stateright, threads));
            v
        };
        jobs.push((b.name.clone(), vec![b.name.clone()], runs));
    }
    let mut rows = Vec::new();
    let mut failed = false;
    if args.format == Format::Text {
        print_header();
    }
    for (label, cargs, runs) in &jobs {
        let rounds = if extra.iter().any(|b| b.large && &b.name == label) {
            1
        } else {
            args.rounds
        };
        // Per engine and thread count, the rows of every round.
        let mut measured: Vec<Vec<BenchRow>> = vec![Vec::new(); runs.len()];
        for _ in 0..rounds {
            for (&(e, t), rows) in runs.iter().zip(&mut measured) {
                match run_child(cargs, e, t) {
                    Ok(row) => rows.push(row),
                    Err(err) => {
                        failed = true;
                        eprintln!("{label} ({e:?}, {t} threads): {err:#}");
                    }
                }
            }
        }
        let done: Vec<BenchRow> = measured.into_iter().filter_map(median_row).collect();
        if args.format == Format::Text {
            for row in &done {
                print_row(row);
            }
        }
        if args.format == Format::Text {
            let find = |e: Engine, t: usize| done.iter().find(|r| r.engine == e && r.threads == t);
            if let (Some(ours), Some(theirs)) = (
                find(Engine::Ours, threads),
                find(Engine::Stateright, threads),
            ) {
                print_ratio(ours, theirs, "stateright / ours");
            }
            if let (Some(ours), Some(theirs)) =
                (find(Engine::Ours, threads), find(Engine::Spin, threads))
            {
                print_ratio(ours, theirs, "spin / ours");
            }
            if let (Some(check), Some(theirs)) = (
                find(Engine::Check, threads),
                find(Engine::Stateright, threads),
            ) {
                print_ratio(check, theirs, "stateright / check");
            }
            if threads > 1
                && let (Some(one), Some(all)) =
                    (find(Engine::Check, 1), find(Engine::Check, threads))
            {
                print_ratio(all, one, &format!("check: 1 thread / {threads} threads"));
            }
        }
        rows.extend(done);
    }
    for b in extra {
        let Some(file) = &b.timely_processes else {
            continue;
        };
        // One process, then two: the rows of every round.
        let mut measured: [Vec<BenchRow>; 2] = Default::default();
        for _ in 0..args.rounds {
            match run_timely_processes(&b.name, file, 2) {
                Ok(done) => {
                    for (row, rows) in done.into_iter().zip(&mut measured) {
                        rows.push(row);
                    }
                }
                Err(err) => {
                    failed = true;
                    eprintln!("{} (timely processes): {err:#}", b.name);
                }
            }
        }
        if let [Some(one), Some(two)] = measured.map(median_row) {
            if args.format == Format::Text {
                print_row(&one);
                print_row(&two);
                print_ratio(&two, &one, "timely: 1 process / 2 processes");
            }
            rows.extend([one, two]);
        }
    }
    if args.format == Format::Json {
        crate::cli::outln!("{}", serde_json::to_string(&rows)?);
    }
    Ok(if failed { 1 } else { 0 })
}

/// One row for several runs of one configuration: the median seconds and the median peak
/// memory (each taken on its own), `runs` summed; the rest (states, verdicts) from the run of
/// median time. `None` for no runs.
fn median_row(mut rows: Vec<BenchRow>) -> Option<BenchRow> {
    fn median<T: Copy>(mut v: Vec<T>, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> T {
        v.sort_by(cmp);
        v[v.len() / 2]
    }
    if rows.is_empty() {
        return None;
    }
    let runs = rows.iter().map(|r| r.runs).sum();
    let rss = median(rows.iter().map(|r| r.peak_rss_bytes).collect(), Ord::cmp);
    let heap = median(rows.iter().map(|r| r.peak_heap_bytes).collect(), Ord::cmp);
    rows.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let mut row = rows.swap_remove(rows.len() / 2);
    row.runs = runs;
    row.peak_rss_bytes = rss;
    row.peak_heap_bytes = heap;
    Some(row)
}

fn print_header() {
    crate::cli::outln!(
        "{:<28} {:<10} {:>3} {:>12} {:>9} {:>4} {:>11} {:>9} {:>8} {:>9} {:>9}  violations",
        "model",
        "engine",
        "thr",
        "states",
        "seconds",
        "runs",
        "states/s",
        "peak MiB",
        "B/state",
        "explore",
        "heap MiB",
    );
}

/// MiB the exploration itself took: peak resident memory above the process floor.
fn explore_mib(r: &BenchRow) -> f64 {
    r.peak_rss_bytes.saturating_sub(r.start_rss_bytes) as f64 / (1u64 << 20) as f64
}

/// MiB of heap the exploration held at its peak, if measured.
fn heap_mib(r: &BenchRow) -> Option<f64> {
    r.peak_heap_bytes.map(|b| b as f64 / (1u64 << 20) as f64)
}

/// How one run compares with another (`what` says which over which): time, peak memory,
/// memory above the floor and peak heap (on a small model both peaks are the floor, and only
/// the last two tell).
fn print_ratio(ours: &BenchRow, theirs: &BenchRow, what: &str) {
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let heap = match (heap_mib(theirs), heap_mib(ours)) {
        (Some(t), Some(o)) => format!("{:.1}x", ratio(t, o)),
        _ => "-".into(),
    };
    crate::cli::outln!(
        "{:<28} {:<10} {:>3} {:>12} {:>8.1}x {:>4} {:>11} {:>8.1}x {:>8} {:>8.1}x {:>9}  ({what})",
        "",
        "ratio",
        "",
        "",
        ratio(theirs.seconds, ours.seconds),
        "",
        "",
        ratio(theirs.peak_rss_bytes as f64, ours.peak_rss_bytes as f64),
        "",
        ratio(explore_mib(theirs), explore_mib(ours)),
        heap,
    );
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Seconds to three significant digits (at least two decimals): a repeated run of a few
/// milliseconds is worth reading.
fn seconds_text(s: f64) -> String {
    let decimals = if s > 0.0 && s < 1.0 {
        (2 - s.log10().floor() as i32).clamp(2, 6) as usize
    } else {
        2
    };
    format!("{s:.decimals$}")
}

fn print_row(r: &BenchRow) {
    let rate = r.states as f64 / r.seconds.max(1e-9);
    let violations = if r.violations.is_empty() {
        "-".to_string()
    } else {
        r.violations
            .iter()
            .map(|v| {
                format!(
                    "{} in {} steps: {}",
                    v.property,
                    v.steps,
                    v.actions.join("; ")
                )
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    crate::cli::outln!(
        "{:<28} {:<10} {:>3} {:>12} {:>9} {:>4} {:>11} {:>9.0} {:>8.1} {:>9.1} {:>9}  {}",
        r.name,
        format!("{:?}", r.engine).to_lowercase(),
        r.threads,
        group(r.states),
        seconds_text(r.seconds),
        r.runs,
        group(rate as u64),
        r.peak_rss_bytes as f64 / (1u64 << 20) as f64,
        r.peak_rss_bytes as f64 / r.states.max(1) as f64,
        explore_mib(r),
        heap_mib(r).map_or("-".into(), |h| format!("{h:.2}")),
        violations
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_three_significant_digits() {
        assert_eq!(seconds_text(12.345), "12.35");
        assert_eq!(seconds_text(0.634), "0.634");
        assert_eq!(seconds_text(0.00223), "0.00223");
        assert_eq!(seconds_text(0.0), "0.00");
    }

    #[test]
    fn rounds_report_the_median_of_each_figure() {
        let row = |states, seconds, peak_rss_bytes, peak_heap_bytes| BenchRow {
            name: "m".into(),
            engine: Engine::Check,
            threads: 2,
            states,
            seconds,
            peak_rss_bytes,
            start_rss_bytes: 0,
            complete: true,
            violations: Vec::new(),
            peak_heap_bytes,
            runs: 1,
        };
        assert!(median_row(Vec::new()).is_none());
        let m = median_row(vec![
            row(1, 3.0, 10, Some(5)),
            row(2, 1.0, 30, None),
            row(3, 2.0, 20, Some(7)),
        ])
        .unwrap();
        // Time and memory are medians on their own; the rest is the median-time run's.
        assert_eq!(
            (
                m.seconds,
                m.peak_rss_bytes,
                m.peak_heap_bytes,
                m.states,
                m.runs
            ),
            (2.0, 20, Some(5), 3, 3)
        );
        let m = median_row(vec![row(1, 4.0, 8, None), row(2, 6.0, 9, None)]).unwrap();
        assert_eq!((m.seconds, m.peak_rss_bytes, m.runs), (6.0, 9, 2));
    }

    #[test]
    fn short_runs_are_repeated_and_long_ones_are_not() {
        // Runs that report fixed durations: the rule is checked without a clock.
        let (_, secs, runs) = repeat_runs(0.02, 0.1, || ((), 0.03));
        assert_eq!((secs, runs), (0.03, 1), "a 30 ms run is long enough");
        let (_, secs, runs) = repeat_runs(0.05, 0.1, || ((), 0.03));
        assert_eq!(
            (secs, runs),
            (0.03, 4),
            "30 ms runs until 0.1 s have passed"
        );
        let mut n = 0;
        let (last, _, runs) = repeat_runs(0.05, 1.0, || {
            n += 1;
            (n, 0.0)
        });
        assert_eq!(
            (last, runs),
            (MAX_RUNS, MAX_RUNS),
            "a no-op stops at MAX_RUNS"
        );
        let mut d = [0.01, 0.05, 0.02].into_iter();
        let (_, median, runs) = repeat_runs(0.03, 0.075, || ((), d.next().unwrap()));
        assert_eq!((median, runs), (0.02, 3), "the median of the runs made");
        // And on the real clock, only what no load can change: a no-op is repeated.
        let mut n = 0;
        let (_, _, runs) = timed(|| n += 1);
        assert!(runs > 1 && runs == n, "{runs} runs of a no-op");
    }
}
