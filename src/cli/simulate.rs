//! `check --simulate RUNS [--seed S]`: seeded random walks for configurations too big to
//! exhaust. A violation is reported with the run seed that found it; `check --replay-seed R`
//! walks that very run again and prints it, so a simulation finding is as replayable as an
//! exhaustive one. Simulation proves nothing when it finds nothing: that verdict is unknown.

use super::{Format, exit};
use crate::actors::model::ZbsModel;
use crate::engine::{self, Verdict};
use crate::trace;
use serde_json::json;
use std::fmt::Write;

/// What to simulate.
pub struct SimRequest {
    pub runs: u64,
    pub seed: u64,
    pub max_depth: u32,
}

/// Runs the walks, prints the findings, returns the exit code.
pub fn run(model: &ZbsModel, req: &SimRequest, format: Format) -> i32 {
    let sim = engine::simulate(model, req.runs, req.seed, req.max_depth);
    let violated = sim.properties.iter().any(|p| {
        p.verdict == Verdict::Violated && p.expectation == stateright::Expectation::Always
    });
    let mut out = String::new();
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
                "simulation": { "runs": sim.runs, "seed": req.seed, "max_depth": req.max_depth,
                                "steps": sim.total_steps, "seconds": sim.seconds },
                "properties": props,
            });
            let _ = writeln!(out, "{doc:#}");
        }
        Format::Text => {
            let _ = writeln!(
                out,
                "simulation: {} runs from seed {}, {} steps, {:.2} s (random walks prove nothing \
                 when they find nothing)\n",
                sim.runs, req.seed, sim.total_steps, sim.seconds
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
    super::emit(&out);
    if violated {
        exit::VIOLATED
    } else {
        exit::UNDECIDED
    }
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
