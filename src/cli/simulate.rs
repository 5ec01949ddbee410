//! `check --simulate RUNS [--seed S]`: seeded random walks for configurations too big to
//! exhaust. A violation is reported with the run seed that found it; `check --replay-seed R`
//! walks that very run again and prints it, so a simulation finding is as replayable as an
//! exhaustive one. Simulation proves nothing when it finds nothing: that verdict is unknown.

use super::trace::{Picked, TraceOutput, source_of, write_trace};
use super::{Format, exit};
use crate::actors::model::ZbsModel;
use crate::domain::variant::Variant;
use crate::engine::{self, Options, Verdict};
use crate::scenario::Scenario;
use crate::trace;
use crate::trace::counterexample::property_named;
use serde_json::json;
use std::fmt::Write;

/// What to simulate.
pub struct SimRequest {
    pub runs: u64,
    pub seed: u64,
    pub max_depth: u32,
    /// `timeout`, `max_states` (states visited by all walks) and `max_memory_bytes`.
    pub limits: Options,
}

/// The options of `check` that a simulation cannot honour, with why; `Err` is the message.
pub fn refuse(symmetry: bool, output: &TraceOutput, max_depth: Option<u32>) -> Result<(), String> {
    if symmetry {
        return Err(
            "--symmetry does not apply to --simulate / --replay-seed: random walks \
                    store no states to reduce"
                .into(),
        );
    }
    if output.report.is_some() {
        return Err(
            "--report needs an exhaustive check (the page shows every verdict of the \
                    whole state space); with --simulate, save the counterexample with --out"
                .into(),
        );
    }
    if max_depth.is_some() {
        return Err(
            "--max-depth bounds an exhaustive search; a random walk's length is \
                    --walk-depth"
                .into(),
        );
    }
    Ok(())
}

/// Runs the walks, prints the findings (or, with `--trace-format` / `--out`, the trace of the
/// first violated invariant or of `--property`), returns the exit code.
pub fn run(
    model: &ZbsModel,
    req: &SimRequest,
    format: Format,
    scenario: &Scenario,
    variant: &Variant,
    output: &TraceOutput,
) -> i32 {
    let sim = engine::simulate_within(model, req.runs, req.seed, req.max_depth, &req.limits);
    let violated = sim.properties.iter().any(|p| {
        p.verdict == Verdict::Violated && p.expectation == stateright::Expectation::Always
    });
    let mut out = String::new();
    let stopped = sim.stopped_by.map(|s| format!("{s:?}"));
    match format {
        Format::Json => {
            let props: Vec<_> = sim
                .properties
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name,
                        "verdict": format!("{:?}", p.verdict).to_lowercase(),
                        "run_seed": p.seed,
                        "trace": p.trace.as_ref()
                            .filter(|_| p.verdict == Verdict::Violated)
                            .map(|t| trace::describe(model, t)),
                    })
                })
                .collect();
            let doc = json!({
                "model": scenario.name,
                "file": scenario.path.display().to_string(),
                "variant": variant.to_map(),
                "simulation": { "runs": sim.runs, "runs_asked": req.runs, "seed": req.seed,
                                "max_depth": req.max_depth, "steps": sim.total_steps,
                                "seconds": sim.seconds, "stopped_by": stopped },
                "properties": props,
            });
            let _ = writeln!(out, "{doc:#}");
        }
        Format::Text => {
            let _ = writeln!(
                out,
                "model:      {} ({})\nvariant:    {variant}",
                scenario.name,
                scenario.path.display()
            );
            let _ = writeln!(
                out,
                "simulation: {} runs from seed {}, {} steps, {:.2} s{} (random walks prove \
                 nothing when they find nothing)\n",
                sim.runs,
                req.seed,
                sim.total_steps,
                sim.seconds,
                stopped.map_or(String::new(), |s| format!(
                    " (stopped: {s} limit, {} of {} runs)",
                    sim.runs, req.runs
                )),
            );
            for p in &sim.properties {
                let word = match (p.verdict, &p.expectation) {
                    (Verdict::Violated, _) => "VIOLATED",
                    (Verdict::Holds, _) => "HOLDS (reached)",
                    _ => "not decided",
                };
                let seed = p
                    .seed
                    .map_or(String::new(), |s| format!("   (run seed {s})"));
                let _ = writeln!(out, "  {:<32} {word}{seed}", p.name);
            }
            for p in &sim.properties {
                if p.verdict != Verdict::Violated {
                    continue;
                }
                let (Some(t), Some(seed)) = (&p.trace, p.seed) else {
                    continue;
                };
                let (n, text) = trace::render_text(model, t);
                let _ = write!(
                    out,
                    "\ncounterexample for {} ({n} steps, random run; replay: --replay-seed {seed}):\n{text}",
                    p.name
                );
            }
        }
    }
    let picked = match pick(&sim, output.property.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    match write_trace(output, source_of(scenario), variant, model, picked) {
        Ok(Some(trace)) => out = trace,
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    }
    super::emit(&out);
    if violated {
        exit::VIOLATED
    } else {
        exit::UNDECIDED
    }
}

/// The simulation's trace to save: `--property`'s (a violated invariant or a reached
/// `sometimes` property), or the first violated invariant's.
fn pick(
    sim: &engine::SimOutcome<crate::actors::model::ZbsState, trace::ZbsAction>,
    property: Option<&str>,
) -> Result<Option<Picked>, String> {
    let found = |p: &&engine::SimResult<_, _>| match property {
        Some(name) => p.name == name,
        None => p.verdict == Verdict::Violated && p.expectation == stateright::Expectation::Always,
    };
    if let Some(name) = property {
        property_named(name)
            .ok_or_else(|| format!("unknown property {name:?} (see `zbs-mc properties`)"))?;
    }
    Ok(sim
        .properties
        .iter()
        .filter(|p| p.verdict != Verdict::Unknown)
        .find(found)
        .and_then(|p| {
            Some(Picked {
                property: property_named(p.name)?.into(),
                trace: p.trace.clone()?,
                loop_start: None,
            })
        }))
}

/// Walks run `seed` again and prints it, marking the first state that violates an invariant.
pub fn replay(model: &ZbsModel, seed: u64, max_depth: u32) -> i32 {
    let Some(t) = engine::replay_run(model, seed, max_depth) else {
        eprintln!("error: the model has no initial state");
        return exit::BAD_INPUT;
    };
    let props = stateright::Model::properties(model);
    let states: Vec<_> = std::iter::once(&t.init)
        .chain(t.steps.iter().map(|(_, s)| s))
        .collect();
    let first_bad = states.iter().enumerate().find_map(|(k, s)| {
        props
            .iter()
            .find(|p| p.expectation == stateright::Expectation::Always && !(p.condition)(model, s))
            .map(|p| (k, p.name))
    });
    let shown = engine::Trace {
        init: t.init.clone(),
        steps: t.steps[..first_bad.map_or(t.steps.len(), |(k, _)| k)].to_vec(),
    };
    let (n, text) = trace::render_text(model, &shown);
    let mut out = format!("replay of run seed {seed} ({n} steps):\n{text}");
    match first_bad {
        Some((_, name)) => {
            let _ = writeln!(out, "    ✗ {name} is violated here");
            super::emit(&out);
            exit::VIOLATED
        }
        None => {
            let _ = writeln!(out, "    no invariant is violated on this run");
            super::emit(&out);
            exit::HOLDS
        }
    }
}
