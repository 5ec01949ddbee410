//! `zbs-mc check MODEL`: explore, print verdicts and shortest counterexamples.

use super::{Format, exit};
use crate::actors::model;
use crate::engine::{self, Options, Progress, Verdict};
use crate::scenario::{ExpectedVerdict, Scenario};
use crate::trace;
use crate::verdicts;
use serde_json::json;
use std::fmt::Write;
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

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "holds",
        Verdict::Violated => "violated",
        Verdict::Unknown => "unknown",
    }
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
    let mut coverage = crate::verify::coverage::Coverage::new();
    let mut run = {
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
    let (outcome, reported, liveness_seconds) = (&run.safety, &run.verdicts, run.liveness_seconds);
    let expected = scenario.expected_for(&variant);
    let expected_of = |name: &str| expected.and_then(|e| e.get(name)).copied();

    let mut out = String::new();
    match args.format {
        Format::Json => {
            let properties: Vec<_> = reported
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name,
                        "kind": p.kind,
                        "verdict": if p.skipped.is_some() { "skipped" } else { verdict_word(p.verdict) },
                        "skipped_because": p.skipped,
                        "expected": expected_of(p.name),
                        "trace": p.trace.as_ref().map(|t| trace::describe(&model, t)),
                        "cycle_start": p.cycle_start,
                    })
                })
                .collect();
            let doc = json!({
                "model": scenario.name,
                "file": scenario.path.display().to_string(),
                "variant": variant.to_map(),
                "states": outcome.unique_states,
                "max_depth": outcome.max_depth,
                "seconds": outcome.seconds,
                "liveness_seconds": liveness_seconds,
                "peak_rss_bytes": engine::peak_rss_bytes(),
                "complete": outcome.complete,
                "stopped_by": outcome.stopped_by.map(|s| format!("{s:?}")),
                "symmetry": run.symmetry,
                "properties": properties,
                "coverage": coverage.as_ref().map(|c| c
                    .rows()
                    .map(|(a, n)| (a.name().to_string(), json!(n)))
                    .collect::<serde_json::Map<_, _>>()),
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).expect("JSON of plain values")
            );
        }
        Format::Text => {
            let _ = writeln!(
                out,
                "model:    {} ({})",
                scenario.name,
                scenario.path.display()
            );
            let _ = writeln!(out, "variant:  {variant}");
            let _ = writeln!(
                out,
                "explored: {} states, depth {}, {:.2} s{}{}",
                outcome.unique_states,
                outcome.max_depth,
                outcome.seconds,
                liveness_seconds.map_or(String::new(), |s| format!(" + {s:.2} s liveness")),
                match outcome.stopped_by {
                    None => " (complete)".to_string(),
                    Some(engine::StopReason::Decided) =>
                        " (stopped early: every property decided; not every state was explored)"
                            .to_string(),
                    Some(s) => format!(" (stopped: {s:?} limit; not every state was explored)"),
                }
            );
            if let Some(sym) = &run.symmetry {
                let _ = writeln!(out, "symmetry: {}", sym.describe());
            }
            let _ = writeln!(out);
            for p in reported {
                let word = match (p.verdict, p.kind) {
                    _ if p.skipped.is_some() => "SKIPPED",
                    (Verdict::Holds, "sometimes") => "HOLDS (reached)",
                    (Verdict::Violated, "sometimes") => "NOT REACHED (warning)",
                    (Verdict::Holds, _) => "HOLDS",
                    (Verdict::Violated, _) => "VIOLATED",
                    (Verdict::Unknown, _) => "UNKNOWN",
                };
                let kind = if p.kind == "liveness" {
                    " (liveness)"
                } else {
                    ""
                };
                let note = match expected_of(p.name) {
                    _ if p.skipped.is_some() => format!(" ({})", p.skipped.unwrap_or_default()),
                    Some(e) if verdict_word(p.verdict) != expected_word(e) => {
                        format!("   ≠ model file expects {}", expected_word(e))
                    }
                    _ => String::new(),
                };
                let _ = writeln!(out, "  {:<32} {word}{kind}{note}", p.name);
            }
            for f in run.unreached() {
                let guards = crate::properties::find(f.name)
                    .and_then(|d| d.companion_of)
                    .unwrap_or("its invariant");
                let _ = writeln!(
                    out,
                    "  warning: {} was never reached, so {guards} may hold vacuously in this model",
                    f.name
                );
            }
            if let Some(c) = &coverage {
                let _ = write!(out, "\ncoverage:\n{}", c.table());
            }
            for p in reported {
                let Some(t) = &p.trace else { continue };
                let (n, text) = trace::render_text(&model, t);
                let what = match p.cycle_start {
                    None => "shortest",
                    Some(_) => "prefix then a fair cycle, or a dead end",
                };
                let _ = write!(
                    out,
                    "\ncounterexample for {} ({n} steps, {what}):\n{text}",
                    p.name
                );
                match p.cycle_start {
                    None => {
                        let _ = writeln!(out, "    ✗ {} is violated here", p.name);
                    }
                    Some(start) if start == n => {
                        let _ = writeln!(
                            out,
                            "    ✗ nothing more can happen here, and {} never came true",
                            p.name
                        );
                    }
                    Some(start) => {
                        let _ = writeln!(
                            out,
                            "    ✗ steps {}–{} repeat forever (fairly), and {} never comes true",
                            start + 1,
                            n,
                            p.name
                        );
                    }
                }
            }
        }
    }
    match super::trace::after_check(&args.output, &scenario, &variant, &model, &run) {
        Ok(Some(trace)) => out = trace,
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    }
    super::emit(&out);
    if run.any_violated() {
        exit::VIOLATED
    } else if run.any_undecided() {
        exit::UNDECIDED
    } else {
        exit::HOLDS
    }
}

fn expected_word(e: ExpectedVerdict) -> &'static str {
    match e {
        ExpectedVerdict::Holds => "holds",
        ExpectedVerdict::Violated => "violated",
    }
}
