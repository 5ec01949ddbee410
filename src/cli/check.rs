//! `zbs-mc check MODEL`: explore, print verdicts and shortest counterexamples.

use super::{Format, exit};
use crate::actors::model;
use crate::engine::{Options, Progress};
use crate::scenario::Scenario;
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
    #[arg(long)]
    pub max_states: Option<u64>,
    /// Do not explore beyond this many steps from the initial state.
    #[arg(long)]
    pub max_depth: Option<u32>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Stop when resident memory reaches this many MiB.
    #[arg(long, value_name = "MIB")]
    pub max_memory: Option<u64>,
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

pub fn run(args: &CheckArgs) -> i32 {
    let scenario = match Scenario::load(&args.model) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let mut variant = scenario.variant.clone();
    for v in &args.variants {
        if let Err(e) = variant.apply(v) {
            eprintln!("error: --variant {v}: {e}");
            return exit::BAD_INPUT;
        }
    }
    if args.threads == Some(0) {
        eprintln!("error: --threads must be at least 1");
        return exit::BAD_INPUT;
    }
    if args.timeout.is_some_and(|t| !(t > 0.0 && t.is_finite())) {
        eprintln!("error: --timeout must be a positive number of seconds");
        return exit::BAD_INPUT;
    }
    let model = model::build(scenario.model_cfg(&variant));
    if let Some(runs) = args.simulate {
        let req = super::simulate::SimRequest {
            runs,
            seed: args.seed,
            max_depth: args.walk_depth,
        };
        return super::simulate::run(&model, &req, args.format);
    }
    if let Some(seed) = args.replay_seed {
        return super::simulate::replay(&model, seed, args.walk_depth);
    }
    let opts = Options {
        threads: args.threads.unwrap_or(Options::default().threads),
        max_states: args.max_states,
        max_depth: args.max_depth,
        timeout: args.timeout.map(std::time::Duration::from_secs_f64),
        max_memory_bytes: args.max_memory.map(|mib| mib << 20),
        progress: if args.quiet {
            Progress::Quiet
        } else {
            Progress::Auto
        },
        stop_when_decided: args.stop_when_decided,
        symmetry: args.symmetry,
    };
    let run = verdicts::run(&model, &opts, !args.no_liveness);
    let report = verdicts::CheckReport::of(
        &scenario.name,
        &scenario.path.display().to_string(),
        &variant,
        scenario.expected_for(&variant),
        &model,
        &run,
    );
    let mut out = match args.format {
        Format::Json => verdicts::print::json(&report),
        Format::Text => verdicts::print::text(&report),
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
