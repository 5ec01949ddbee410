//! `zbs-mc verify`: the fix matrix. Every model file × every variant combination its
//! `[expected.*]` tables name × every property it checks, each combination explored once
//! (safety and liveness together, [`crate::verdicts::run_visiting`]), independent runs in
//! parallel, each cell compared with the verdict the file expects; plus the action coverage
//! of every run ([`coverage`]) and `--changed`, the diff one option makes against each
//! model's own variant.
//!
//! This module is the library core: it plans, runs and compares, and returns typed results
//! ([`Matrix`], [`Changed`]); [`render`] formats them (text, Markdown, JSON, JUnit XML) and
//! `cli/verify.rs` is the thin command line.

pub mod coverage;
pub mod render;

use crate::actors::model;
use crate::domain::variant::Variant;
use crate::engine::{self, Progress, StopReason, Verdict};
use crate::scenario::{self, ExpectedVerdict, Scenario};
use crate::trace::Counterexample;
use crate::trace::counterexample::property_named;
use crate::verdicts::{self, Finding};
use coverage::{Action, Coverage};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The model files `verify` reads: each path is a file, or a directory whose `*.toml` files
/// (not those of its subdirectories) are taken, in name order.
pub fn model_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "toml"))
                .collect();
            in_dir.sort();
            if in_dir.is_empty() {
                return Err(format!("{}: no model files (*.toml) in it", p.display()));
            }
            files.extend(in_dir);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    files.dedup();
    Ok(files)
}

/// Loads every model file; the first invalid one is the error (file:line:column: why).
pub fn load(files: &[PathBuf]) -> Result<Vec<Scenario>, String> {
    files
        .iter()
        .map(|f| Scenario::load(f).map_err(|e| e.to_string()))
        .collect()
}

/// How runs are made.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Runs explored at the same time (each run itself on one thread).
    pub parallel: usize,
    /// Per-run limits (an undecided cell is `unknown`).
    pub max_states: Option<u64>,
    pub max_depth: Option<u32>,
    pub timeout: Option<std::time::Duration>,
    /// Render each violated cell's trace as a replayable JSON document (for `--out`).
    pub json_traces: bool,
    /// Print one line per finished run on stderr.
    pub progress: bool,
    /// Count the action coverage of each run (`--changed` does not report it).
    pub coverage: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            parallel: engine::Options::default().threads,
            max_states: None,
            max_depth: None,
            timeout: None,
            json_traces: false,
            progress: false,
            coverage: true,
        }
    }
}

/// One property's result under one variant: a cell of the matrix.
#[derive(Clone, Debug)]
pub struct Cell {
    pub property: &'static str,
    /// `always`, `sometimes` or `liveness`.
    pub kind: &'static str,
    pub verdict: Verdict,
    /// Not checked on this model (liveness needing unbounded scans), and why.
    pub skipped: Option<&'static str>,
    /// Steps of the counterexample (for liveness: prefix and cycle).
    pub steps: Option<usize>,
    pub expected: Option<ExpectedVerdict>,
    /// The counterexample as the text trace prints it (violated `always` / liveness cells).
    pub trace_text: Option<String>,
    /// The replayable JSON trace (`always` cells, with [`RunOptions::json_traces`]).
    pub trace_json: Option<String>,
}

/// How a cell compares with the model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The verdict the file expects.
    AsExpected,
    /// Not the verdict the file expects.
    Mismatch,
    /// The file states no verdict for this cell: shown, not compared.
    Unstated,
    /// A limit stopped exploration before the property was decided.
    Undecided,
}

impl Cell {
    /// The verdict as model files write it (`holds` / `violated`), `unknown` or `skipped`.
    pub fn word(&self) -> &'static str {
        if self.skipped.is_some() {
            return "skipped";
        }
        match self.verdict {
            Verdict::Holds => "holds",
            Verdict::Violated => "violated",
            Verdict::Unknown => "unknown",
        }
    }

    pub fn status(&self) -> Status {
        match (self.expected, self.verdict) {
            _ if self.skipped.is_some() => Status::Mismatch,
            (_, Verdict::Unknown) => Status::Undecided,
            (None, _) => Status::Unstated,
            (Some(e), v) if expected_word(e) == verdict_word(v) => Status::AsExpected,
            (Some(_), _) => Status::Mismatch,
        }
    }
}

pub fn expected_word(e: ExpectedVerdict) -> &'static str {
    match e {
        ExpectedVerdict::Holds => "holds",
        ExpectedVerdict::Violated => "violated",
    }
}

pub fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "holds",
        Verdict::Violated => "violated",
        Verdict::Unknown => "unknown",
    }
}

/// One exploration: one model under one variant.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The `[expected.<label>]` label (`default`, or the changed switches).
    pub label: String,
    pub variant: Variant,
    pub states: u64,
    /// Wall-clock time of the run (exploration, liveness, coverage, traces).
    pub seconds: f64,
    pub complete: bool,
    pub stopped_by: Option<StopReason>,
    pub cells: Vec<Cell>,
    pub coverage: Coverage,
}

impl RunResult {
    pub fn count(&self, status: Status) -> usize {
        self.cells.iter().filter(|c| c.status() == status).count()
    }

    pub fn cell(&self, property: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.property == property)
    }

    /// Why the run stopped early, in words (`max states`, …), for `unknown (…)` cells.
    pub fn limit(&self) -> &'static str {
        match self.stopped_by {
            Some(StopReason::MaxStates) => "max states",
            Some(StopReason::MaxDepth) => "max depth",
            Some(StopReason::Timeout) => "timeout",
            Some(StopReason::MaxMemory) => "max memory",
            Some(StopReason::Decided) | None => "limit",
        }
    }
}

/// One model file's rows.
#[derive(Debug)]
pub struct ModelResult {
    pub name: String,
    pub file: String,
    /// The file's `properties` list, if it has one.
    pub properties: Option<Vec<String>>,
    pub runs: Vec<RunResult>,
}

/// Everything `verify` found.
#[derive(Debug)]
pub struct Matrix {
    pub models: Vec<ModelResult>,
    /// Runs explored at the same time.
    pub parallel: usize,
    /// Wall-clock time of the whole matrix.
    pub seconds: f64,
}

impl Matrix {
    pub fn runs(&self) -> impl Iterator<Item = (&ModelResult, &RunResult)> {
        self.models
            .iter()
            .flat_map(|m| m.runs.iter().map(move |r| (m, r)))
    }

    pub fn cells(&self) -> impl Iterator<Item = (&ModelResult, &RunResult, &Cell)> {
        self.runs()
            .flat_map(|(m, r)| r.cells.iter().map(move |c| (m, r, c)))
    }

    pub fn count(&self, status: Status) -> usize {
        self.cells()
            .filter(|(_, _, c)| c.status() == status)
            .count()
    }

    /// The coverage of every run added up.
    pub fn total_coverage(&self) -> Coverage {
        let mut all = Coverage::new();
        for (_, r) in self.runs() {
            all.add(&r.coverage);
        }
        all
    }

    /// Actions that fired in no run of any model: a dead rule, or a scenario missing.
    pub fn never_fired(&self) -> Vec<Action> {
        let all = self.total_coverage();
        all.rows()
            .filter(|&(_, n)| n == 0)
            .map(|(a, _)| a)
            .collect()
    }

    /// The exit code: 1 on a mismatch, else 3 if a cell is undecided, else 0.
    pub fn exit_code(&self) -> i32 {
        use crate::cli::exit;
        if self.count(Status::Mismatch) > 0 {
            exit::VIOLATED
        } else if self.count(Status::Undecided) > 0 {
            exit::UNDECIDED
        } else {
            exit::HOLDS
        }
    }
}

/// The rows of one model: every `[expected.*]` label (`default` first, then by how many
/// switches change, then by name), or, with no table, the file's own `[variant]`.
pub fn rows(s: &Scenario) -> Result<Vec<(String, Variant)>, String> {
    if s.expected.is_empty() {
        return Ok(vec![(
            scenario::variant_label(&s.variant),
            s.variant.clone(),
        )]);
    }
    let mut rows = s
        .expected
        .keys()
        .map(|label| {
            scenario::variant_of_label(label)
                .map(|v| (label.clone(), v))
                .map_err(|e| format!("{}: expected.{e}", s.path.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    rows.sort_by_key(|(label, v)| (label != "default", v.changes().len(), label.clone()));
    Ok(rows)
}

/// One job of the matrix: model `model` under `variant`.
struct Job<'a> {
    model: usize,
    scenario: &'a Scenario,
    label: String,
    variant: Variant,
}

/// Runs the whole matrix of `scenarios`.
pub fn verify(scenarios: &[Scenario], opts: &RunOptions) -> Result<Matrix, String> {
    let mut jobs = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        for (label, variant) in rows(s)? {
            jobs.push(Job {
                model: i,
                scenario: s,
                label,
                variant,
            });
        }
    }
    let started = Instant::now();
    let results = run_jobs(&jobs, opts);
    let mut models: Vec<ModelResult> = scenarios
        .iter()
        .map(|s| ModelResult {
            name: s.name.clone(),
            file: s.path.display().to_string(),
            properties: s.properties.clone(),
            runs: Vec::new(),
        })
        .collect();
    for (job, result) in jobs.iter().zip(results) {
        models[job.model].runs.push(result);
    }
    Ok(Matrix {
        models,
        parallel: opts.parallel.max(1),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Explores every job, `opts.parallel` at a time; results in job order.
fn run_jobs(jobs: &[Job], opts: &RunOptions) -> Vec<RunResult> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RunResult>>> = Mutex::new(vec![None; jobs.len()]);
    let workers = opts.parallel.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = run_one(job.scenario, &job.label, &job.variant, opts);
                    if opts.progress {
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        eprintln!(
                            "[{n}/{}] {} [{}]: {} states, {:.2} s",
                            jobs.len(),
                            job.scenario.name,
                            job.label,
                            r.states,
                            r.seconds
                        );
                    }
                    results.lock().expect("no worker panics holding it")[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("workers finished")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Explores `s` under `variant` once: verdicts, counterexamples and coverage.
pub fn run_one(s: &Scenario, label: &str, variant: &Variant, opts: &RunOptions) -> RunResult {
    let started = Instant::now();
    let model = model::build(s.model_cfg(variant));
    let engine_opts = engine::Options {
        threads: 1,
        symmetry: false,
        max_states: opts.max_states,
        max_depth: opts.max_depth,
        timeout: opts.timeout,
        max_memory_bytes: None,
        progress: Progress::Quiet,
        stop_when_decided: false,
    };
    let mut cov = Coverage::new();
    let mut scratch = Vec::new();
    let mut visit = |state: &crate::actors::model::ZbsState| cov.visit(&model, state, &mut scratch);
    let observer: Option<&mut dyn FnMut(&crate::actors::model::ZbsState)> = if opts.coverage {
        Some(&mut visit)
    } else {
        None
    };
    let run = verdicts::run_visiting(&model, &engine_opts, true, observer);
    let expected = s.expected.get(label);
    let cells = run
        .verdicts
        .iter()
        .filter(|f| s.checks(f.name))
        .filter(|f| f.skipped.is_none() || expected.is_some_and(|e| e.contains_key(f.name)))
        .map(|f| {
            cell(
                s,
                &model,
                variant,
                f,
                expected.and_then(|e| e.get(f.name)),
                opts,
            )
        })
        .collect();
    RunResult {
        label: label.to_string(),
        variant: variant.clone(),
        states: run.safety.unique_states,
        seconds: started.elapsed().as_secs_f64(),
        complete: run.safety.complete,
        stopped_by: run.safety.stopped_by,
        cells,
        coverage: cov,
    }
}

fn cell(
    s: &Scenario,
    model: &crate::actors::model::ZbsModel,
    variant: &Variant,
    f: &Finding,
    expected: Option<&ExpectedVerdict>,
    opts: &RunOptions,
) -> Cell {
    // Counterexamples only: a violated invariant or liveness property (a `sometimes`
    // companion's trace is an example of reaching it).
    let trace = f
        .trace
        .as_ref()
        .filter(|_| f.verdict == Verdict::Violated && f.kind != crate::verdicts::Kind::Sometimes);
    let trace_text = trace.map(|t| {
        let (n, mut text) = crate::trace::render_text(model, t);
        text.push_str(&match f.cycle_start {
            None => format!("    ✗ {} is violated here\n", f.name),
            Some(start) if start == n => format!(
                "    ✗ nothing more can happen here, and {} never came true\n",
                f.name
            ),
            Some(start) => format!(
                "    ✗ steps {}–{n} repeat forever (fairly), and {} never comes true\n",
                start + 1,
                f.name
            ),
        });
        text
    });
    let trace_json = trace
        .filter(|_| opts.json_traces && f.kind == crate::verdicts::Kind::Always)
        .and_then(|t| {
            let def = property_named(f.name)?;
            let source = crate::cli::trace::source_of(s);
            let cx = Counterexample::new(model, source, variant.clone(), def, t.clone());
            Some(crate::trace::json::render(&cx))
        });
    Cell {
        property: f.name,
        kind: f.kind.word(),
        verdict: f.verdict,
        skipped: f.skipped,
        steps: trace.map(|t| t.steps.len()),
        expected: expected.copied(),
        trace_text,
        trace_json,
    }
}

/// How one property moved when `--changed` switched an option on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Violated before, holds now.
    Fixed,
    /// Held before, violated now.
    Regressed,
    /// Violated before and after.
    UnchangedViolated,
    /// Unknown before or after (a limit).
    Undecided,
}

/// One property of one model whose verdict `--changed` reports.
#[derive(Clone, Debug)]
pub struct ChangedCell {
    pub property: &'static str,
    pub kind: &'static str,
    pub change: Change,
    pub before: Cell,
    pub after: Cell,
}

/// One model under `--changed`.
#[derive(Debug)]
pub struct ChangedModel {
    pub name: String,
    pub file: String,
    pub base: RunResult,
    /// `None`: the model's own variant already has the option (nothing to compare).
    pub after: Option<RunResult>,
    /// What changed (and what stayed violated), in property order.
    pub cells: Vec<ChangedCell>,
}

/// The answer to `verify --changed NAME=OPTION`.
#[derive(Debug)]
pub struct Changed {
    pub assignment: String,
    pub models: Vec<ChangedModel>,
    pub parallel: usize,
    pub seconds: f64,
}

impl Changed {
    pub fn count(&self, change: Change) -> usize {
        self.models
            .iter()
            .flat_map(|m| &m.cells)
            .filter(|c| c.change == change)
            .count()
    }

    /// 1 when something regressed, else 3 when something is undecided, else 0.
    pub fn exit_code(&self) -> i32 {
        use crate::cli::exit;
        if self.count(Change::Regressed) > 0 {
            exit::VIOLATED
        } else if self.count(Change::Undecided) > 0 {
            exit::UNDECIDED
        } else {
            exit::HOLDS
        }
    }
}

/// `--changed`: every model under its own variant (plus `base` overrides), then with
/// `assignment` applied too; each checked property compared.
pub fn changed(
    scenarios: &[Scenario],
    base: &[String],
    assignment: &str,
    opts: &RunOptions,
) -> Result<Changed, String> {
    let mut jobs = Vec::new();
    let mut pairs = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let mut before = s.variant.clone();
        for b in base {
            before.apply(b).map_err(|e| format!("--variant {b}: {e}"))?;
        }
        let mut after = before.clone();
        after
            .apply(assignment)
            .map_err(|e| format!("--changed {assignment}: {e}"))?;
        let label = |v: &Variant| scenario::variant_label(v);
        jobs.push(Job {
            model: i,
            scenario: s,
            label: label(&before),
            variant: before.clone(),
        });
        let same = after == before;
        if !same {
            jobs.push(Job {
                model: i,
                scenario: s,
                label: label(&after),
                variant: after,
            });
        }
        pairs.push(same);
    }
    let started = Instant::now();
    let opts = &RunOptions {
        coverage: false,
        ..opts.clone()
    };
    let mut results = run_jobs(&jobs, opts).into_iter();
    let mut models = Vec::new();
    for (s, same) in scenarios.iter().zip(pairs) {
        let base = results.next().expect("one base run per model");
        let after = (!same).then(|| results.next().expect("a changed run"));
        let cells = after
            .as_ref()
            .map(|a| compare(&base, a))
            .unwrap_or_default();
        models.push(ChangedModel {
            name: s.name.clone(),
            file: s.path.display().to_string(),
            base,
            after,
            cells,
        });
    }
    Ok(Changed {
        assignment: assignment.to_string(),
        models,
        parallel: opts.parallel.max(1),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The cells whose verdict changed, or stayed violated, between two runs of one model.
fn compare(before: &RunResult, after: &RunResult) -> Vec<ChangedCell> {
    before
        .cells
        .iter()
        .filter(|b| b.skipped.is_none())
        .filter_map(|b| {
            let a = after.cell(b.property)?;
            let change = match (b.verdict, a.verdict) {
                (Verdict::Unknown, _) | (_, Verdict::Unknown) => Change::Undecided,
                (Verdict::Violated, Verdict::Holds) => Change::Fixed,
                (Verdict::Holds, Verdict::Violated) => Change::Regressed,
                // A `sometimes` companion never reached, before and after: a warning the
                // matrix shows, not something this option did.
                (Verdict::Violated, Verdict::Violated) if b.kind == "sometimes" => return None,
                (Verdict::Violated, Verdict::Violated) => Change::UnchangedViolated,
                (Verdict::Holds, Verdict::Holds) => return None,
            };
            Some(ChangedCell {
                property: b.property,
                kind: b.kind,
                change,
                before: b.clone(),
                after: a.clone(),
            })
        })
        .collect()
}

/// A file-name-safe form of a variant label (`a=on,b=off` → `a=on+b=off`).
pub fn label_slug(label: &str) -> String {
    label
        .chars()
        .map(|c| match c {
            ',' => '+',
            c if c.is_ascii_alphanumeric() || "=_-+.".contains(c) => c,
            _ => '_',
        })
        .collect()
}

/// Where `--out DIR` puts a violated cell's trace.
pub fn trace_path(dir: &Path, model: &str, label: &str, cell: &Cell) -> PathBuf {
    let ext = if cell.trace_json.is_some() {
        "json"
    } else {
        "txt"
    };
    dir.join("traces")
        .join(label_slug(model))
        .join(label_slug(label))
        .join(format!("{}.{ext}", cell.property))
}
