//! `zbs-mc replay TRACE.json [--variant k=v]…`: re-executes a saved trace step by step.
//! Under the variant it was found with it reproduces the violation; under a fix it reports
//! the first step that is no longer possible, or that the property now holds in every state.
//!
//! Exit codes: 1 the violation reproduces; 0 it does not (the fix kills this
//! counterexample); 2 bad input.

use super::{Format, exit};
use crate::trace::counterexample::{content_hash, property_named};
use crate::trace::json::SavedTrace;
use crate::trace::replay::{self, ReplayEnd};
use serde_json::json;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// A JSON trace written by `check --trace-format json` (or `trace --format json`).
    pub trace: PathBuf,
    /// Override a variant switch on top of the trace's own variant (repeatable), e.g.
    /// --variant revoke_releases_owner=on to show that a fix kills the counterexample.
    #[arg(long = "variant", value_name = "NAME=OPTION")]
    pub variants: Vec<String>,
    /// Replay on this model file instead of the copy stored in the trace.
    #[arg(long, value_name = "MODEL.toml")]
    pub model: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: &ReplayArgs) -> i32 {
    let saved = match std::fs::read_to_string(&args.trace)
        .map_err(|e| format!("{}: {e}", args.trace.display()))
        .and_then(|t| SavedTrace::parse(&t))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    if let Some(live) = crate::trace::counterexample::liveness_named(&saved.property) {
        return super::trace::replay_lasso(args, &saved, live);
    }
    let Some(property) = property_named(&saved.property) else {
        eprintln!(
            "error: the trace's property {:?} is not a property of this zbs-mc",
            saved.property
        );
        return exit::BAD_INPUT;
    };
    let (model, source, variant) =
        match replay::model_for(&saved, args.model.as_deref(), &args.variants) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        };
    let same_model = content_hash(&source.text) == saved.model_hash;
    let r = replay::replay(&model, &saved, property);
    let reproduced = matches!(r.end, ReplayEnd::Reproduced { .. });
    let mut out = String::new();
    match args.format {
        Format::Json => {
            let (result, step) = match &r.end {
                ReplayEnd::Reproduced { at } => ("reproduced", Some(*at)),
                ReplayEnd::Blocked { step, .. } => ("step_impossible", Some(*step)),
                ReplayEnd::Holds => ("property_holds", None),
            };
            let (wanted, enabled) = match &r.end {
                ReplayEnd::Blocked {
                    wanted, enabled, ..
                } => (Some(wanted.clone()), enabled.clone()),
                _ => (None, Vec::new()),
            };
            let doc = json!({
                "trace": args.trace.display().to_string(),
                "model": source.name,
                "model_file": source.file,
                "same_model_file": same_model,
                "property": saved.property,
                "variant": variant.to_map(),
                "steps": saved.steps.len(),
                "replayed": r.trace.steps.len(),
                "result": result,
                "step": step,
                "wanted": wanted,
                "enabled": enabled,
                "differences": r.differences.iter().map(|(k, d)| json!({"step": k, "fields": d})).collect::<Vec<_>>(),
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).expect("plain values")
            );
        }
        Format::Text => {
            let _ = writeln!(
                out,
                "trace:    {} — {} {}, {} steps",
                args.trace.display(),
                saved.property,
                saved.verdict,
                saved.steps.len()
            );
            let _ = writeln!(
                out,
                "model:    {} ({}){}",
                source.name,
                source.file,
                if same_model {
                    ""
                } else {
                    "  [differs from the model file the trace was made from]"
                }
            );
            let _ = writeln!(out, "variant:  {variant}\n");
            let diffs: std::collections::BTreeMap<usize, &Vec<String>> =
                r.differences.iter().map(|(k, d)| (*k, d)).collect();
            if let Some(d) = diffs.get(&0) {
                let _ = writeln!(out, "   0. initial state differs: {}", d.join("; "));
            }
            for step in saved.steps.iter().take(r.trace.steps.len()) {
                let _ = writeln!(
                    out,
                    "  {:>2}. [{}] {}  ✓",
                    step.index, step.actor, step.action
                );
                if let Some(d) = diffs.get(&step.index) {
                    for line in d.iter() {
                        let _ = writeln!(out, "        ≠ saved state: {line}");
                    }
                }
            }
            match &r.end {
                ReplayEnd::Reproduced { at } => {
                    let _ = writeln!(
                        out,
                        "\nREPRODUCED: {} is {} after step {at}{}",
                        saved.property,
                        saved.verdict,
                        if *at == saved.steps.len() {
                            " (as saved)"
                        } else {
                            " (earlier than saved)"
                        }
                    );
                }
                ReplayEnd::Blocked {
                    step,
                    wanted,
                    enabled,
                } => {
                    let _ = writeln!(
                        out,
                        "  {step:>2}. {wanted}  ✗ no longer possible\n        enabled instead:"
                    );
                    for e in enabled {
                        let _ = writeln!(out, "          {e}");
                    }
                    let _ = writeln!(
                        out,
                        "\nNOT REPRODUCED: step {step} of {} is no longer possible under this variant; {} was not {} before it",
                        saved.steps.len(),
                        saved.property,
                        saved.verdict
                    );
                }
                ReplayEnd::Holds => {
                    let _ = writeln!(
                        out,
                        "\nNOT REPRODUCED: all {} steps replay, and {} is not {} in any state along them",
                        saved.steps.len(),
                        saved.property,
                        saved.verdict
                    );
                }
            }
        }
    }
    super::emit(&out);
    if reproduced {
        exit::VIOLATED
    } else {
        exit::HOLDS
    }
}
