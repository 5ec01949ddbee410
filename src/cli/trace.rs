//! Trace output shared by `check` (`--trace-format`, `--out`, `--property`, `--report`) and
//! the `trace` subcommand, which renders one trace of a model file or re-renders a saved
//! JSON trace in another format.

use super::exit;
use crate::actors::model::ZbsState;
use crate::actors::model::{self, ZbsModel};
use crate::domain::variant::Variant;
use crate::engine::{Options, Trace};
use crate::properties::PropertyDef;
use crate::scenario::Scenario;
use crate::trace::counterexample::{
    ModelSource, Subject, any_property_named, liveness_named, property_named,
};
use crate::trace::json::SavedTrace;
use crate::trace::replay::{self, ReplayEnd};
use crate::trace::{Counterexample, Property, Shown, TraceFormat, ZbsAction};
use crate::verdicts::{CheckReport, Kind, Run, Status};
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

/// A property and its trace (for a liveness property, a lasso: see `loop_start`).
pub struct Picked {
    pub property: Property,
    pub trace: Trace<ZbsState, ZbsAction>,
    /// For a lasso: the state the last step returns to.
    pub loop_start: Option<usize>,
}

impl Picked {
    pub fn counterexample<'a>(
        self,
        model: &'a ZbsModel,
        source: ModelSource,
        variant: Variant,
    ) -> Counterexample<'a> {
        Counterexample::with_loop(
            model,
            source,
            variant,
            self.property,
            self.trace,
            self.loop_start,
        )
    }
}

/// `unknown property "x"`, naming where the list is.
fn unknown_property(name: &str) -> String {
    format!("unknown property {name:?} (see `zbs-mc properties`)")
}

/// The trace to render: `--property`'s (an invariant's counterexample, a reached
/// `sometimes` property's example, a liveness property's lasso), or by default the first
/// violated invariant's, else the first violated liveness property's. `Ok(None)` when there
/// is none.
pub fn pick(run: &Run, property: Option<&str>) -> Result<Option<Picked>, String> {
    let safety = |name: &str| {
        let def = property_named(name)?;
        let found = run.safety.properties.iter().find(|p| p.name == name)?;
        Some(Picked {
            property: def.into(),
            trace: found.trace.clone()?,
            loop_start: None,
        })
    };
    let live = |name: &str| {
        let def = liveness_named(name)?;
        let f = run.finding(name)?;
        Some(Picked {
            property: def.into(),
            trace: f.trace.clone()?,
            loop_start: f.cycle_start,
        })
    };
    if let Some(name) = property {
        any_property_named(name).ok_or_else(|| unknown_property(name))?;
        return Ok(safety(name).or_else(|| live(name)));
    }
    let first = |kind: Kind| {
        run.verdicts
            .iter()
            .find(|f| f.kind == kind && f.status() == Status::Violated && f.trace.is_some())
    };
    Ok(match (first(Kind::Always), first(Kind::Liveness)) {
        (Some(f), _) => safety(f.name),
        (None, Some(f)) => live(f.name),
        (None, None) => None,
    })
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
    run: &Run,
    report: &CheckReport,
) -> Result<Option<String>, String> {
    let source = source_of(scenario);
    if let Some(path) = &opts.report {
        let html = crate::report::render(model, &source, variant, report, run);
        write_file(path, &html)?;
        eprintln!("report written to {}", path.display());
    }
    if opts.trace_format.is_none() && opts.out.is_none() {
        if let Some(name) = &opts.property {
            any_property_named(name).ok_or_else(|| unknown_property(name))?;
        }
        return Ok(None);
    }
    let picked = pick(run, opts.property.as_deref())?;
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
    let Some(picked) = picked else {
        eprintln!("no trace to render: no property is violated (or the property has no trace)");
        return Ok(opts.out.is_none().then(String::new));
    };
    let name = picked.property.name;
    let cx = picked.counterexample(model, source, variant.clone());
    let text = cx.render(format);
    match &opts.out {
        Some(path) => {
            write_file(path, &text)?;
            eprintln!(
                "{} trace of {name} written to {}",
                format!("{format:?}").to_lowercase(),
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

/// Replays every step of a saved trace without stopping: an invariant that never fails
/// (a liveness trace is judged on the whole lasso, by `Counterexample`).
static EVERY_STEP: PropertyDef = PropertyDef {
    name: "(every step)",
    expectation: stateright::Expectation::Always,
    companion_of: None,
    doc: "",
    needs_volume: false,
    check: |_, _| true,
};

/// Replays a saved trace on its model (with `overrides`) for `property`: up to where a
/// safety property is hit, or every step for a liveness property. Prints a note when a step
/// is no longer possible.
pub fn replay_saved(model: &ZbsModel, saved: &SavedTrace, property: Property) -> replay::Replay {
    let def = match property.subject {
        Subject::Safety(def) => def,
        Subject::Liveness(_) => &EVERY_STEP,
    };
    let r = replay::replay(model, saved, def);
    if let ReplayEnd::Blocked { step, wanted, .. } = &r.end {
        eprintln!(
            "note: the trace stops at step {step} under this variant ({wanted} is not possible); rendering the replayed prefix"
        );
    }
    r
}

/// Renders a saved trace (replayed) or a model file's trace. The exit code follows what
/// the rendered trace shows, computed on its states.
fn run_inner(args: &TraceArgs) -> Result<i32, String> {
    let format = format_for(args.format, args.out.as_deref());
    let text = std::fs::read_to_string(&args.input)
        .map_err(|e| format!("{}: {e}", args.input.display()))?;
    let is_trace = args.input.extension().is_some_and(|e| e == "json");
    let (rendered, violated) = if is_trace {
        let saved = SavedTrace::parse(&text)?;
        let name = args.property.as_deref().unwrap_or(&saved.property);
        let property = any_property_named(name).ok_or_else(|| unknown_property(name))?;
        let (model, source, variant) = replay::model_for(&saved, None, &args.variants)?;
        let r = replay_saved(&model, &saved, property);
        // The loop closes only if every step replayed.
        let loop_start = saved
            .loop_start
            .filter(|_| r.trace.steps.len() == saved.steps.len());
        let cx = Counterexample::with_loop(&model, source, variant, property, r.trace, loop_start);
        let violated = matches!(cx.shown, Shown::Violated { .. } | Shown::Lasso { .. });
        (cx.render(format), violated)
    } else {
        let scenario = Scenario::parse(&args.input, text).map_err(|e| e.to_string())?;
        let mut variant = scenario.variant.clone();
        for v in &args.variants {
            variant
                .apply(v)
                .map_err(|e| format!("--variant {v}: {e}"))?;
        }
        if let Some(name) = &args.property {
            any_property_named(name).ok_or_else(|| unknown_property(name))?;
        }
        let model = model::build(scenario.model_cfg(&variant));
        // Liveness needs the whole state graph: only when its trace may be the one asked for.
        let liveness = args
            .property
            .as_deref()
            .is_none_or(|n| liveness_named(n).is_some());
        let run = crate::verdicts::run(&model, &Options::default(), liveness);
        match pick(&run, args.property.as_deref())? {
            None => {
                eprintln!("no trace: no property is violated (or the property has no trace)");
                return Ok(exit::HOLDS);
            }
            Some(picked) => {
                let cx = picked.counterexample(&model, source_of(&scenario), variant);
                let violated = matches!(cx.shown, Shown::Violated { .. } | Shown::Lasso { .. });
                (cx.render(format), violated)
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

/// `zbs-mc replay` of a liveness trace (a lasso, with `loop`): re-executes every step, then
/// judges the whole replayed lasso (`Counterexample::with_loop`): it reproduces when the loop
/// still closes, stays fair and the property never comes true on it. Exit 1 reproduced, 0
/// not (a step is no longer possible, or the replayed lasso no longer violates it), 2 bad
/// input.
pub fn replay_lasso(
    args: &super::replay::ReplayArgs,
    saved: &SavedTrace,
    def: &'static crate::properties::LivenessDef,
) -> i32 {
    use crate::trace::counterexample::content_hash;
    use std::fmt::Write;
    let (model, source, variant) =
        match replay::model_for(saved, args.model.as_deref(), &args.variants) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        };
    let same_model = content_hash(&source.text) == saved.model_hash;
    let r = replay::replay(&model, saved, &EVERY_STEP);
    let complete = r.trace.steps.len() == saved.steps.len();
    let loop_start = saved.loop_start.filter(|_| complete);
    let replayed = r.trace.steps.len();
    let cx = Counterexample::with_loop(
        &model,
        source.clone(),
        variant.clone(),
        def.into(),
        r.trace,
        loop_start,
    );
    let reproduced = matches!(cx.shown, Shown::Lasso { .. });
    let (result, why) = match (&r.end, &cx.shown) {
        (ReplayEnd::Blocked { .. }, _) => ("step_impossible", None),
        (_, Shown::Lasso { .. }) => ("reproduced", None),
        (_, Shown::NotShown { why }) => ("property_holds", Some(why.clone())),
        (_, other) => ("property_holds", Some(format!("{other:?}"))),
    };
    let mut out = String::new();
    match args.format {
        super::Format::Json => {
            let doc = serde_json::json!({
                "trace": args.trace.display().to_string(),
                "model": source.name,
                "model_file": source.file,
                "same_model_file": same_model,
                "property": saved.property,
                "kind": Kind::Liveness,
                "variant": variant.to_map(),
                "steps": saved.steps.len(),
                "loop": saved.loop_start,
                "replayed": replayed,
                "result": result,
                "step": match &r.end { ReplayEnd::Blocked { step, .. } => Some(*step), _ => None },
                "why_not": why,
                "differences": r.differences.iter().map(|(k, d)| serde_json::json!({"step": k, "fields": d})).collect::<Vec<_>>(),
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).expect("plain values")
            );
        }
        super::Format::Text => {
            let _ = writeln!(
                out,
                "trace:    {} — {} (liveness) {}, {} steps, loop at state {}",
                args.trace.display(),
                saved.property,
                saved.verdict,
                saved.steps.len(),
                saved
                    .loop_start
                    .map_or("none".to_string(), |l| l.to_string())
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
            for step in saved.steps.iter().take(replayed) {
                let _ = writeln!(
                    out,
                    "  {:>2}. [{}] {}  ✓",
                    step.index, step.actor, step.action
                );
                for line in diffs.get(&step.index).into_iter().flat_map(|d| d.iter()) {
                    let _ = writeln!(out, "        ≠ saved state: {line}");
                }
            }
            match (&r.end, why) {
                (ReplayEnd::Blocked { step, wanted, .. }, _) => {
                    let _ = writeln!(
                        out,
                        "  {step:>2}. {wanted}  ✗ no longer possible\n\nNOT REPRODUCED: step {step} of {} is no longer possible under this variant",
                        saved.steps.len()
                    );
                }
                (_, None) => {
                    let _ = writeln!(out, "\nREPRODUCED: {}", cx.end_line());
                }
                (_, Some(why)) => {
                    let _ = writeln!(
                        out,
                        "\nNOT REPRODUCED: all {} steps replay, but they no longer show {} violated: {why}",
                        saved.steps.len(),
                        saved.property
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
