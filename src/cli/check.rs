//! `zbs-mc check MODEL`: explore, print verdicts and shortest counterexamples.

use super::{Format, exit};
use crate::actors::model;
use crate::engine::{self, Options, Verdict};
use crate::scenario::{ExpectedVerdict, Scenario};
use crate::trace;
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
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
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
    if args.threads == 0 {
        eprintln!("error: --threads must be at least 1");
        return exit::BAD_INPUT;
    }
    let model = model::build(scenario.model_cfg(&variant));
    let opts = Options {
        threads: args.threads,
        max_states: args.max_states,
        max_depth: args.max_depth,
        timeout: args.timeout.map(std::time::Duration::from_secs_f64),
        ..Options::default()
    };
    let outcome = engine::explore(&model, &opts);
    let expected = scenario.expected_for(&variant);
    let expected_of = |name: &str| expected.and_then(|e| e.get(name)).copied();

    let any_violated = outcome
        .properties
        .iter()
        .any(|p| p.verdict == Verdict::Violated);
    let any_unknown = outcome
        .properties
        .iter()
        .any(|p| p.verdict == Verdict::Unknown);

    let mut out = String::new();
    match args.format {
        Format::Json => {
            let properties: Vec<_> = outcome
                .properties
                .iter()
                .map(|p| {
                    let steps = p
                        .trace
                        .as_ref()
                        .filter(|_| p.verdict == Verdict::Violated)
                        .map(|t| trace::describe(&model, t));
                    json!({
                        "name": p.name,
                        "kind": format!("{:?}", p.expectation).to_lowercase(),
                        "verdict": verdict_word(p.verdict),
                        "expected": expected_of(p.name),
                        "trace": steps,
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
                "complete": outcome.complete,
                "stopped_by": outcome.stopped_by.map(|s| format!("{s:?}")),
                "properties": properties,
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
                "explored: {} states, depth {}, {:.2} s{}",
                outcome.unique_states,
                outcome.max_depth,
                outcome.seconds,
                match outcome.stopped_by {
                    None => " (complete)".to_string(),
                    Some(s) => format!(" (stopped: {s:?} limit; not every state was explored)"),
                }
            );
            let _ = writeln!(out);
            for p in &outcome.properties {
                let word = match (p.verdict, p.expectation.clone()) {
                    (Verdict::Holds, stateright::Expectation::Sometimes) => "HOLDS (reached)",
                    (Verdict::Violated, stateright::Expectation::Sometimes) => {
                        "VIOLATED (never reached)"
                    }
                    (Verdict::Holds, _) => "HOLDS",
                    (Verdict::Violated, _) => "VIOLATED",
                    (Verdict::Unknown, _) => "UNKNOWN",
                };
                let note = match expected_of(p.name) {
                    Some(e) if verdict_word(p.verdict) != expected_word(e) => {
                        format!("   ≠ model file expects {}", expected_word(e))
                    }
                    _ => String::new(),
                };
                let _ = writeln!(out, "  {:<32} {word}{note}", p.name);
            }
            for p in &outcome.properties {
                if p.verdict != Verdict::Violated {
                    continue;
                }
                let Some(t) = &p.trace else { continue };
                let steps = trace::describe(&model, t);
                let _ = writeln!(
                    out,
                    "\ncounterexample for {} ({} steps, shortest):",
                    p.name,
                    steps.len()
                );
                let _ = write!(
                    out,
                    "{}",
                    trace::text::render(&trace::initial_summary(&model, t), &steps)
                );
                let _ = writeln!(out, "    ✗ {} is violated here", p.name);
            }
        }
    }
    match super::trace::after_check(&args.output, &scenario, &variant, &model, &outcome) {
        Ok(Some(trace)) => out = trace,
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    }
    super::emit(&out);
    if any_violated {
        exit::VIOLATED
    } else if any_unknown {
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
