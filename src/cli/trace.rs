//! Trace output shared by `check` (`--trace-format`, `--out`, `--property`, `--report`) and
//! the `trace` subcommand, which renders one trace of a model file or re-renders a saved
//! JSON trace in another format.

use super::exit;
use crate::actors::model::ZbsState;
use crate::actors::model::{self, ZbsModel};
use crate::domain::variant::Variant;
use crate::engine::{self, Options, Outcome, Trace, Verdict};
use crate::properties::PropertyDef;
use crate::scenario::Scenario;
use crate::trace::counterexample::{ModelSource, property_named};
use crate::trace::json::SavedTrace;
use crate::trace::replay::{self, ReplayEnd};
use crate::trace::{Counterexample, TraceFormat, ZbsAction};
use std::path::{Path, PathBuf};

/// The trace and report options of `check`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct TraceOutput {
    /// Render the counterexample in this format: text, json (replayable), itf, mermaid (raw
    /// diagram), markdown (the diagram in a Markdown page), dot, test-plan. Without --out it
    /// replaces the normal output on stdout.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub trace_format: Option<TraceFormat>,
    /// Write the counterexample to FILE (format: --trace-format, else from the file name:
    /// .json, .itf.json, .mmd, .md, .dot, .txt, .plan).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Whose trace to render (default: the first violated invariant). A `sometimes`
    /// property that is reached gives an example trace.
    #[arg(long, value_name = "NAME")]
    pub property: Option<String>,
    /// Write a self-contained HTML report (verdicts, sequence diagram, steps, model file).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// Where a model came from, for a scenario loaded from a file.
pub fn source_of(s: &Scenario) -> ModelSource {
    ModelSource {
        name: s.name.clone(),
        file: s.path.display().to_string(),
        text: s.source.clone(),
    }
}

/// A property and its trace.
pub type Picked = (&'static PropertyDef, Trace<ZbsState, ZbsAction>);

/// The trace to render: `--property`'s, or the first violated invariant's. `Ok(None)` when
/// there is none (every invariant holds, or the property has no trace).
pub fn pick(outcome: &Outcome<ZbsModel>, property: Option<&str>) -> Result<Option<Picked>, String> {
    if let Some(name) = property {
        let def = property_named(name)
            .ok_or_else(|| format!("unknown property {name:?} (see `zbs-mc properties`)"))?;
        let found = outcome.properties.iter().find(|p| p.name == name);
        return Ok(found.and_then(|p| p.trace.clone()).map(|t| (def, t)));
    }
    Ok(outcome
        .properties
        .iter()
        .filter(|p| {
            p.verdict == Verdict::Violated && p.expectation == stateright::Expectation::Always
        })
        .find_map(|p| Some((property_named(p.name)?, p.trace.clone()?))))
}

/// Writes `text` to `path` (creating its directory).
pub fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn format_for(format: Option<TraceFormat>, out: Option<&Path>) -> TraceFormat {
    format
        .or_else(|| out.and_then(TraceFormat::from_path))
        .unwrap_or(TraceFormat::Text)
}

/// What `check` does with its trace options once it has explored. Returns the text that
/// replaces its normal stdout (`--trace-format` without `--out`), if any.
pub fn after_check(
    opts: &TraceOutput,
    scenario: &Scenario,
    variant: &Variant,
    model: &ZbsModel,
    run: &crate::verdicts::Run,
) -> Result<Option<String>, String> {
    let outcome = &run.safety;
    let source = source_of(scenario);
    if let Some(path) = &opts.report {
        let liveness: Vec<_> = run
            .verdicts
            .iter()
            .filter(|f| f.kind == "liveness")
            .collect();
        let html = crate::report::render(
            model,
            &source,
            variant,
            outcome,
            &liveness,
            scenario.expected_for(variant),
        );
        write_file(path, &html)?;
        eprintln!("report written to {}", path.display());
    }
    if opts.trace_format.is_none() && opts.out.is_none() {
        if let Some(name) = &opts.property {
            property_named(name)
                .ok_or_else(|| format!("unknown property {name:?} (see `zbs-mc properties`)"))?;
        }
        return Ok(None);
    }
    let picked = pick(outcome, opts.property.as_deref())?;
    write_trace(opts, source, variant, model, picked)
}

/// Renders `picked` as `--trace-format` / `--out` ask (nothing when they do not): writes the
/// file, or returns the text that replaces the command's normal stdout.
pub fn write_trace(
    opts: &TraceOutput,
    source: ModelSource,
    variant: &Variant,
    model: &ZbsModel,
    picked: Option<Picked>,
) -> Result<Option<String>, String> {
    if opts.trace_format.is_none() && opts.out.is_none() {
        return Ok(None);
    }
    let format = format_for(opts.trace_format, opts.out.as_deref());
    let Some((def, trace)) = picked else {
        eprintln!("no trace to render: no invariant is violated (or the property has no trace)");
        return Ok(opts.out.is_none().then(String::new));
    };
    let cx = Counterexample::new(model, source, variant.clone(), def, trace);
    let text = cx.render(format);
    match &opts.out {
        Some(path) => {
            write_file(path, &text)?;
            eprintln!(
                "{} trace of {} written to {}",
                format!("{format:?}").to_lowercase(),
                def.name,
                path.display()
            );
            Ok(None)
        }
        None => Ok(Some(text)),
    }
}

/// `zbs-mc trace INPUT`.
#[derive(clap::Args, Debug)]
pub struct TraceArgs {
    /// A model file (.toml) to check, or a saved JSON trace (from --trace-format json) to
    /// replay and render in another format.
    pub input: PathBuf,
    /// Override a variant switch (repeatable), e.g. --variant revoke_releases_owner=on.
    #[arg(long = "variant", value_name = "NAME=OPTION")]
    pub variants: Vec<String>,
    /// Whose trace (default: the first violated invariant; for a saved trace: its own).
    #[arg(long, value_name = "NAME")]
    pub property: Option<String>,
    /// Output format (default: text, or what --out's file name suggests).
    #[arg(long, value_enum)]
    pub format: Option<TraceFormat>,
    /// Write to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Exit codes: 1 a violation trace was rendered, 0 there was none to render, 2 bad input.
pub fn run(args: &TraceArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            exit::BAD_INPUT
        }
    }
}

fn run_inner(args: &TraceArgs) -> Result<i32, String> {
    let format = format_for(args.format, args.out.as_deref());
    let text = std::fs::read_to_string(&args.input)
        .map_err(|e| format!("{}: {e}", args.input.display()))?;
    let is_trace = args.input.extension().is_some_and(|e| e == "json");
    let (rendered, violated) = if is_trace {
        let saved = SavedTrace::parse(&text)?;
        let name = args.property.as_deref().unwrap_or(&saved.property);
        let def = property_named(name).ok_or_else(|| format!("unknown property {name:?}"))?;
        let (model, source, variant) = replay::model_for(&saved, None, &args.variants)?;
        let r = replay::replay(&model, &saved, def);
        if let ReplayEnd::Blocked { step, wanted, .. } = &r.end {
            eprintln!(
                "note: the trace stops at step {step} under this variant ({wanted} is not possible); rendering the replayed prefix"
            );
        }
        let hit = matches!(r.end, ReplayEnd::Reproduced { .. });
        let cx = Counterexample::new(&model, source, variant, def, r.trace);
        (
            cx.render(format),
            hit && def.expectation == stateright::Expectation::Always,
        )
    } else {
        let scenario = Scenario::parse(&args.input, text).map_err(|e| e.to_string())?;
        let mut variant = scenario.variant.clone();
        for v in &args.variants {
            variant
                .apply(v)
                .map_err(|e| format!("--variant {v}: {e}"))?;
        }
        let model = model::build(scenario.model_cfg(&variant));
        let outcome = engine::explore_actors(&model, &Options::default());
        match pick(&outcome, args.property.as_deref())? {
            None => {
                eprintln!("no trace: no invariant is violated (or the property has no trace)");
                return Ok(exit::HOLDS);
            }
            Some((def, trace)) => {
                let cx = Counterexample::new(&model, source_of(&scenario), variant, def, trace);
                (
                    cx.render(format),
                    def.expectation == stateright::Expectation::Always,
                )
            }
        }
    };
    match &args.out {
        Some(p) => write_file(p, &rendered)?,
        None => {
            super::emit(&rendered);
        }
    }
    Ok(if violated {
        exit::VIOLATED
    } else {
        exit::HOLDS
    })
}
