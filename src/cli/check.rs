//! `zbs-mc check MODEL`: explore, print verdicts and shortest counterexamples.

use super::{Format, exit};
use crate::actors::model;
use crate::engine::distributed::Workers;
use crate::engine::{Options, Progress};
use crate::verdicts;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The model file (TOML), e.g. models/incident-a-lease-leak.toml.
    pub model: PathBuf,
    /// Override a variant switch, e.g. --variant revoke_releases_owner=on (repeatable; see
    /// `zbs-mc variants`).
    #[arg(long = "variant", value_name = "NAME=OPTION")]
    pub variants: Vec<String>,
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Stop after this many distinct states (the verdicts not yet decided are reported unknown).
    /// With --simulate: after this many states visited by all walks together.
    #[arg(long)]
    pub max_states: Option<u64>,
    /// Do not explore beyond this many steps from the initial state.
    #[arg(long)]
    pub max_depth: Option<u32>,
    /// Stop after this many seconds (a positive number, fractions allowed: 0.5).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,
    /// Stop when resident memory reaches this many MiB.
    #[arg(long = "max-memory", value_name = "MIB", value_parser = parse_mib)]
    pub max_memory_bytes: Option<u64>,
    /// Stop as soon as every property is decided (faster; the state count is then partial).
    #[arg(long)]
    pub stop_when_decided: bool,
    /// No progress line on stderr (it is shown only on a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
    /// Symmetry reduction: explore one state per orbit of interchangeable pids and chunks
    /// (renamings that map the model file's cluster onto itself, e.g. two alike pids together
    /// with the chunks only they use). The rules are first audited to treat them alike; if
    /// they do not (ids in queue order, ties broken by id), the full space is explored and the
    /// `symmetry:` line says why. Counterexamples are still real, shortest paths.
    #[arg(long)]
    pub symmetry: bool,
    /// Skip the liveness properties (they need the whole state graph in memory).
    #[arg(long)]
    pub no_liveness: bool,
    /// Explore on timely dataflow, with --threads workers (safety only: add --no-liveness).
    /// The same states, verdicts and counterexample lengths as the default search.
    #[arg(long, conflicts_with_all = ["simulate", "replay_seed", "coverage"])]
    pub timely: bool,
    /// Explore on timely dataflow across processes (implies --timely): FILE lists one
    /// host:port per process, in process order (timely's host file). Start one `zbs-mc check`
    /// per line, the same arguments each, with its own --process; each prints the same
    /// report. Each runs --threads workers (default 1).
    #[arg(long, value_name = "FILE", requires = "process",
          conflicts_with_all = ["simulate", "replay_seed", "coverage"])]
    pub hosts: Option<PathBuf>,
    /// This process's number in the --hosts file (from 0).
    #[arg(long, value_name = "I", requires = "hosts")]
    pub process: Option<usize>,
    /// With --hosts: give up (exit 2) if not every process has connected within SECS
    /// seconds.
    #[arg(long, value_name = "SECS", requires = "hosts", default_value_t = 60)]
    pub connect_timeout: u64,
    /// Also print the action coverage: how many explored transitions fired each action,
    /// named by the ZBS function it mirrors (`never` for one that did not fire).
    #[arg(long, conflicts_with_all = ["simulate", "replay_seed"])]
    pub coverage: bool,
    /// Instead of exhausting the state space, take RUNS seeded random walks (for models too
    /// big to exhaust); violations are reported with a run seed for --replay-seed.
    #[arg(long, value_name = "RUNS", conflicts_with = "replay_seed")]
    pub simulate: Option<u64>,
    /// Seed of a simulation (the same seed gives the same runs).
    #[arg(long, default_value_t = 0, requires = "simulate")]
    pub seed: u64,
    /// Longest random walk, in steps.
    #[arg(long, default_value_t = 500, value_name = "STEPS")]
    pub walk_depth: u32,
    /// Walk the simulation run with this run seed again and print it.
    #[arg(long, value_name = "RUN_SEED")]
    pub replay_seed: Option<u64>,
    #[command(flatten)]
    pub output: super::trace::TraceOutput,
}

/// `--timeout SECONDS`: a positive, finite number of seconds that a `Duration` can hold.
pub fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err("must be a positive number of seconds".into());
    }
    std::time::Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("{text} seconds is more than this machine can time (at most ~1.8e19)"))
}

/// `--max-memory MIB`, in bytes. A figure too large to count in bytes is rejected rather than
/// wrapped (2^44 MiB would wrap to 0 and stop at once).
pub fn parse_mib(text: &str) -> Result<u64, String> {
    let mib: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of MiB"))?;
    mib.checked_mul(1 << 20).ok_or_else(|| {
        format!(
            "{mib} MiB is more bytes than 64 bits can count (at most {} MiB)",
            u64::MAX >> 20
        )
    })
}

/// Sends what is written to the process's standard output to its standard error instead,
/// until dropped.
struct StdoutToStderr {
    saved: libc::c_int,
}

impl StdoutToStderr {
    fn new() -> Self {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // SAFETY: dup and dup2 on the process's own standard descriptors, which stay open;
        // no Rust object owns descriptor 1, so replacing it breaks no invariant.
        let saved = unsafe {
            let saved = libc::dup(1);
            if saved >= 0 {
                libc::dup2(2, 1);
            }
            saved
        };
        StdoutToStderr { saved }
    }
}

impl Drop for StdoutToStderr {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        if self.saved >= 0 {
            // SAFETY: `saved` is the descriptor `new` duplicated from 1, still open.
            unsafe {
                libc::dup2(self.saved, 1);
                libc::close(self.saved);
            }
        }
    }
}

/// The timely workers `--timely` or `--hosts` ask for (`None`: the default search).
fn timely_workers(args: &CheckArgs) -> Result<Option<Workers>, String> {
    if !args.timely && args.hosts.is_none() {
        return Ok(None);
    }
    if !args.no_liveness {
        return Err(
            "the timely search checks safety only: liveness needs the whole state \
             graph in one process (specs/engine.md, \"Beyond one machine\"); add --no-liveness"
                .to_string(),
        );
    }
    Ok(Some(match (&args.hosts, args.process) {
        (Some(hosts), Some(process)) => {
            Workers::from_host_file(hosts, process, args.threads.unwrap_or(1))?
                .connect_within(std::time::Duration::from_secs(args.connect_timeout))
        }
        _ => Workers::Threads(args.threads.unwrap_or(Options::default().threads)),
    }))
}

pub fn run(args: &CheckArgs) -> i32 {
    let Some((scenario, variant)) = super::load_model(&args.model, &args.variants) else {
        return exit::BAD_INPUT;
    };
    if args.threads == Some(0) {
        eprintln!("error: --threads must be at least 1");
        return exit::BAD_INPUT;
    }
    let model = model::build(scenario.model_cfg(&variant));
    if (args.simulate.is_some() || args.replay_seed.is_some())
        && let Err(e) = super::simulate::refuse(args.symmetry, &args.output, args.max_depth)
    {
        eprintln!("error: {e}");
        return exit::BAD_INPUT;
    }
    if let Some(runs) = args.simulate {
        let req = super::simulate::SimRequest {
            runs,
            seed: args.seed,
            max_depth: args.walk_depth,
            limits: Options {
                max_states: args.max_states,
                timeout: args.timeout,
                max_memory_bytes: args.max_memory_bytes,
                ..Options::default()
            },
        };
        return super::simulate::run(&model, &req, args.format, &scenario, &variant, &args.output);
    }
    if let Some(seed) = args.replay_seed {
        if args.output.trace_format.is_some() || args.output.out.is_some() {
            eprintln!(
                "error: --replay-seed prints the run; to save its trace, run the --simulate \
                 that found it again with --out"
            );
            return exit::BAD_INPUT;
        }
        return super::simulate::replay(&model, seed, args.walk_depth);
    }
    let opts = Options {
        threads: args.threads.unwrap_or(Options::default().threads),
        max_states: args.max_states,
        max_depth: args.max_depth,
        timeout: args.timeout,
        max_memory_bytes: args.max_memory_bytes,
        progress: if args.quiet {
            Progress::Quiet
        } else {
            Progress::Auto
        },
        stop_when_decided: args.stop_when_decided,
        symmetry: args.symmetry,
    };
    let workers = match timely_workers(args) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let mut coverage = crate::verify::coverage::Coverage::new();
    let mut run = if let Some(workers) = &workers {
        // timely prints how its processes connect on stdout, which is the report's.
        let connecting = StdoutToStderr::new();
        // A process that goes away panics timely's threads in the others: one line each
        // (the search's own error follows), not a backtrace each.
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match std::thread::current().name() {
            Some(name) if name.starts_with("timely") => {
                let what = crate::engine::distributed::panic_message(info.payload());
                eprintln!("zbs-mc: {name}: {what}");
            }
            _ => default_hook(info),
        }));
        let run = verdicts::run_distributed(&model, &opts, workers);
        let _ = std::panic::take_hook();
        drop(connecting);
        match run {
            Ok(run) => run,
            Err(e) => {
                eprintln!("error: timely: {e}");
                return exit::BAD_INPUT;
            }
        }
    } else {
        let mut scratch = Vec::new();
        let mut visit = |s: &model::ZbsState| coverage.visit(&model, s, &mut scratch);
        let observer: Option<&mut dyn FnMut(&model::ZbsState)> = if args.coverage {
            Some(&mut visit)
        } else {
            None
        };
        verdicts::run_visiting(&model, &opts, !args.no_liveness, observer)
    };
    // The model file's `properties` list chooses what is reported.
    run.verdicts.retain(|f| scenario.checks(f.name));
    let coverage = args.coverage.then_some(coverage);
    let report = verdicts::CheckReport::of(
        &scenario.name,
        &scenario.path.display().to_string(),
        &variant,
        scenario.expected_for(&variant),
        &model,
        &run,
    );
    let mut out = match (args.format, &coverage) {
        (Format::Json, None) => verdicts::print::json(&report),
        (Format::Json, Some(c)) => {
            let mut doc = serde_json::to_value(&report).expect("the report serialises");
            doc["coverage"] = c
                .rows()
                .map(|(a, n)| (a.name().to_string(), serde_json::json!(n)))
                .collect::<serde_json::Map<_, _>>()
                .into();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("JSON of plain values")
            )
        }
        (Format::Text, None) => verdicts::print::text(&report),
        (Format::Text, Some(c)) => {
            format!(
                "{}\ncoverage:\n{}",
                verdicts::print::text(&report),
                c.table()
            )
        }
    };
    match super::trace::after_check(&args.output, &scenario, &variant, &model, &run, &report) {
        Ok(Some(trace)) => out = trace,
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    }
    super::emit(&out);
    report.result.exit_code()
}
