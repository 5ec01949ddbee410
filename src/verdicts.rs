//! One full check of a ZBS model: safety properties by breadth-first exploration, then the
//! liveness properties under fairness, gathered into one list of verdicts with their
//! counterexamples. `check`, the tests and (later) `verify` all go through here.

use crate::actors::model::{ZbsModel, ZbsState};
use crate::domain::{Cid, Pid};
use crate::engine::{self, Options, Outcome, Trace, Verdict};
use crate::properties;
use crate::scenario::ExpectedVerdict;
use crate::trace::ZbsAction;
use std::collections::BTreeMap;

pub mod print;

/// What a property demands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An invariant: true in every reachable state.
    Always,
    /// A `sometimes` companion: true in some reachable state (else the invariant it guards
    /// may hold vacuously).
    Sometimes,
    /// A liveness property, checked under the model's weak fairness.
    Liveness,
}

impl Kind {
    /// The kind of a stateright property (`eventually` properties are liveness).
    pub fn of(e: &stateright::Expectation) -> Kind {
        match e {
            stateright::Expectation::Always => Kind::Always,
            stateright::Expectation::Sometimes => Kind::Sometimes,
            stateright::Expectation::Eventually => Kind::Liveness,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Kind::Always => "always",
            Kind::Sometimes => "sometimes",
            Kind::Liveness => "liveness",
        }
    }
}

/// A property's result as every printer shows it (`check --format json`'s `verdict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// An invariant or liveness property holds on every (fair) behaviour.
    Holds,
    /// An invariant or liveness property is violated: there is a counterexample.
    Violated,
    /// A `sometimes` companion is true in some reachable state (there is an example).
    Reached,
    /// A `sometimes` companion is false in every reachable state: a warning, not a failure.
    NotReached,
    /// A limit stopped exploration before the property was decided.
    Unknown,
    /// Not checked on this model (`skipped_because` says why).
    Skipped,
}

impl Status {
    /// Whether this result makes `check` exit 1.
    pub fn is_failure(self) -> bool {
        self == Status::Violated
    }

    /// The verdict word of the text report.
    pub fn text(self) -> &'static str {
        match self {
            Status::Holds => "HOLDS",
            Status::Violated => "VIOLATED",
            Status::Reached => "HOLDS (reached)",
            Status::NotReached => "NOT REACHED (warning)",
            Status::Unknown => "UNKNOWN",
            Status::Skipped => "SKIPPED",
        }
    }
}

/// One property's result, safety or liveness.
pub struct Finding {
    pub name: &'static str,
    pub kind: Kind,
    pub verdict: Verdict,
    /// The counterexample (for `sometimes`: none is kept); for liveness, prefix and cycle
    /// joined.
    pub trace: Option<Trace<ZbsState, ZbsAction>>,
    /// For liveness: where the repeating cycle starts in `trace` (its length: a dead end).
    pub cycle_start: Option<usize>,
    /// Not checked on this model, and why.
    pub skipped: Option<&'static str>,
}

/// Everything one check found.
pub struct Run {
    pub safety: Outcome<ZbsModel>,
    pub verdicts: Vec<Finding>,
    /// Time of the liveness pass, if it ran.
    pub liveness_seconds: Option<f64>,
    /// The limit that stopped the liveness pass, if one did (it can stop the analysis of a
    /// state graph the safety verdicts were complete on: `--max-memory`).
    pub liveness_stopped_by: Option<engine::StopReason>,
    /// What became of `--symmetry`, when it was asked for.
    pub symmetry: Option<SymmetryUse>,
}

/// What `--symmetry` found: the classes of interchangeable ids, and whether the audit let the
/// run use them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SymmetryUse {
    pub pid_classes: Vec<Vec<Pid>>,
    pub chunk_classes: Vec<Vec<Cid>>,
    #[serde(flatten)]
    pub status: SymmetryStatus,
}

/// The outcome of the symmetry audit that precedes a reduced run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SymmetryStatus {
    /// The configuration has no symmetry: explored without reduction.
    None,
    /// So many ids look interchangeable that the group is too large to try: explored without
    /// reduction.
    TooLarge { why: String },
    /// The contract held on every reachable orbit: explored with reduction.
    Applied { orbits_audited: usize },
    /// A limit stopped the audit before it had seen every orbit: explored without reduction.
    Unverified { orbits_audited: usize },
    /// A state and one of its renamings behave differently (queue order, ties broken by id):
    /// explored without reduction.
    Broken { depth: usize, what: String },
}

impl SymmetryUse {
    /// One line for the text report.
    pub fn describe(&self) -> String {
        let classes = classes(&self.pid_classes, &self.chunk_classes);
        match &self.status {
            SymmetryStatus::None => "none in this configuration; explored without reduction".into(),
            SymmetryStatus::TooLarge { why } => {
                format!("group too large to use ({why}); explored without reduction")
            }
            SymmetryStatus::Applied { orbits_audited } => {
                format!("{classes} interchangeable; contract audited on {orbits_audited} orbits")
            }
            SymmetryStatus::Unverified { orbits_audited } => format!(
                "{classes} look interchangeable, but a limit stopped the audit after \
                 {orbits_audited} orbits: explored without reduction"
            ),
            SymmetryStatus::Broken { depth, what } => format!(
                "{classes} look interchangeable, but at depth {depth} a state and its renaming \
                 differ ({what}): the reduction cannot be trusted here, so explored without \
                 reduction"
            ),
        }
    }

    /// Whether the run was reduced.
    pub fn applied(&self) -> bool {
        matches!(self.status, SymmetryStatus::Applied { .. })
    }
}

/// `pids {3133, 3134}, chunks {6, 7}`.
fn classes(pids: &[Vec<Pid>], chunks: &[Vec<Cid>]) -> String {
    fn sets<T: std::fmt::Display>(name: &str, classes: &[Vec<T>]) -> Vec<String> {
        classes
            .iter()
            .map(|c| {
                let ids: Vec<String> = c.iter().map(T::to_string).collect();
                format!("{name} {{{}}}", ids.join(", "))
            })
            .collect()
    }
    let mut all = sets("pids", pids);
    all.extend(sets("chunks", chunks));
    all.join(", ")
}

/// Decides whether `--symmetry` may reduce this model: audits the contract on every orbit
/// (`engine::symmetry::audit`) and falls back to the full space when it breaks.
fn audit_symmetry(model: &ZbsModel, opts: &Options) -> SymmetryUse {
    let sym = &model.cfg.symmetry;
    let status = if let Some(why) = &sym.too_large {
        SymmetryStatus::TooLarge { why: why.clone() }
    } else if sym.renamings.is_empty() {
        SymmetryStatus::None
    } else {
        match engine::symmetry::audit(model, opts) {
            Ok(a) if a.complete => SymmetryStatus::Applied {
                orbits_audited: a.orbits,
            },
            Ok(a) => SymmetryStatus::Unverified {
                orbits_audited: a.orbits,
            },
            Err(b) => SymmetryStatus::Broken {
                depth: b.depth,
                what: b.what,
            },
        }
    };
    SymmetryUse {
        pid_classes: sym.pid_classes.clone(),
        chunk_classes: sym.chunk_classes.clone(),
        status,
    }
}

impl Finding {
    /// The result as printed: a `sometimes` companion is `reached` / `not_reached`, never
    /// `holds` / `violated`.
    pub fn status(&self) -> Status {
        match (self.skipped, self.kind, self.verdict) {
            (Some(_), _, _) => Status::Skipped,
            (None, _, Verdict::Unknown) => Status::Unknown,
            (None, Kind::Sometimes, Verdict::Holds) => Status::Reached,
            (None, Kind::Sometimes, Verdict::Violated) => Status::NotReached,
            (None, _, Verdict::Holds) => Status::Holds,
            (None, _, Verdict::Violated) => Status::Violated,
        }
    }
}

impl Run {
    /// An invariant or a liveness property is violated. A `sometimes` companion that is never
    /// reached is a warning (the invariant it guards may hold vacuously), not a violation.
    pub fn any_violated(&self) -> bool {
        self.verdicts.iter().any(|f| f.status().is_failure())
    }

    /// The `sometimes` companions never reached (a `sometimes` property that guards no
    /// invariant, such as an incident's witness, is not a companion).
    pub fn unreached(&self) -> impl Iterator<Item = &Finding> {
        self.verdicts.iter().filter(|f| {
            f.status() == Status::NotReached
                && crate::properties::find(f.name).is_some_and(|d| d.companion_of.is_some())
        })
    }

    /// Some property that was to be checked is undecided (a limit stopped exploration).
    pub fn any_undecided(&self) -> bool {
        self.verdicts
            .iter()
            .any(|f| f.verdict == Verdict::Unknown && f.skipped.is_none())
    }

    /// The overall result: violated, else undecided, else holds.
    pub fn overall(&self) -> Overall {
        if self.any_violated() {
            Overall::Violated
        } else if self.any_undecided() {
            Overall::Undecided
        } else {
            Overall::Holds
        }
    }

    pub fn finding(&self, name: &str) -> Option<&Finding> {
        self.verdicts.iter().find(|f| f.name == name)
    }
}

/// Explores `model` for its safety properties and, with `liveness`, checks
/// [`properties::LIVENESS`] under the model's weak fairness — both from one exploration
/// when the options let it (`engine::Checker::actors(..).liveness(..).check()`).
///
/// With `opts.symmetry`, the symmetry contract is audited first and the reduction used only
/// where it holds ([`SymmetryUse`]).
pub fn run(model: &ZbsModel, opts: &Options, liveness: bool) -> Run {
    run_visiting(model, opts, liveness, None)
}

/// [`run`], also handing every explored state once to `on_state` (e.g. the action coverage
/// of `verify::coverage`). With an observer the states come from the one sequential
/// exploration that builds the state graph (`engine::Checker::observe`), also when no
/// liveness property is checked.
pub fn run_visiting(
    model: &ZbsModel,
    opts: &Options,
    liveness: bool,
    on_state: Option<&mut dyn FnMut(&ZbsState)>,
) -> Run {
    let (symmetry, opts) = audited(model, opts);
    let opts = &opts;
    // Liveness properties this model's budgets allow (the others are reported skipped).
    let (skipped, checked): (Vec<_>, Vec<_>) = properties::LIVENESS
        .iter()
        .partition(|l| l.skip_reason(&model.cfg).is_some());
    let live_props: Vec<_> = checked.iter().map(|l| (l.property)()).collect();
    // Safety and liveness from one exploration where possible (`engine::Checker`).
    let live_props = if liveness { live_props } else { Vec::new() };
    let mut checker = engine::Checker::actors(model)
        .options(opts.clone())
        .liveness(&live_props);
    if let Some(visit) = on_state {
        checker = checker.observe(visit);
    }
    let checked = checker.check();
    let live = (!live_props.is_empty()).then_some(checked.liveness);
    assemble(model, checked.safety, live, liveness, &skipped, symmetry)
}

/// With `opts.symmetry`, the audit of the symmetry contract, and the options to explore
/// with: symmetry only where the audit found it holds, the time budget less the audit's time.
fn audited(model: &ZbsModel, opts: &Options) -> (Option<SymmetryUse>, Options) {
    let started = std::time::Instant::now();
    let symmetry = opts.symmetry.then(|| audit_symmetry(model, opts));
    let reduced = symmetry.as_ref().is_some_and(SymmetryUse::applied);
    let opts = Options {
        symmetry: reduced,
        timeout: opts.timeout.map(|t| t.saturating_sub(started.elapsed())),
        ..opts.clone()
    };
    (symmetry, opts)
}

/// [`run`] without liveness, on timely dataflow (`engine::Checker::distributed`): by
/// `workers` threads of this process or the processes of a cluster, each of which gets the
/// same run. An error is the cluster's (a process could not connect).
pub fn run_distributed(
    model: &ZbsModel,
    opts: &Options,
    workers: &engine::distributed::Workers,
) -> Result<Run, String> {
    let (symmetry, opts) = audited(model, opts);
    let codec = crate::actors::codec::StateCodec::new(&model.cfg);
    let safety = engine::Checker::actors(model)
        .options(opts)
        .distributed(codec, workers)?;
    Ok(assemble(model, safety, None, false, &[], symmetry))
}

/// The findings of one run: the safety outcome's, then (with `liveness`) the skipped and
/// the checked liveness properties'.
fn assemble(
    model: &ZbsModel,
    safety: engine::Outcome<ZbsModel>,
    live: Option<engine::LivenessOutcome<ZbsModel>>,
    liveness: bool,
    skipped: &[&properties::LivenessDef],
    symmetry: Option<SymmetryUse>,
) -> Run {
    let mut verdicts: Vec<Finding> = safety
        .properties
        .iter()
        .map(|p| {
            // A property of a feature the model does not have (a [volume]) is skipped.
            let skipped = properties::find(p.name).and_then(|d| d.skip_reason(&model.cfg.budgets));
            Finding {
                name: p.name,
                kind: Kind::of(&p.expectation),
                verdict: if skipped.is_some() {
                    Verdict::Unknown
                } else {
                    p.verdict
                },
                trace: p
                    .trace
                    .clone()
                    .filter(|_| p.verdict == Verdict::Violated && skipped.is_none()),
                cycle_start: None,
                skipped,
            }
        })
        .collect();
    let mut liveness_seconds = None;
    let mut liveness_stopped_by = None;
    if liveness {
        verdicts.extend(skipped.iter().map(|l| Finding {
            name: l.name,
            kind: Kind::Liveness,
            verdict: Verdict::Unknown,
            trace: None,
            cycle_start: None,
            skipped: l.skip_reason(&model.cfg),
        }));
    }
    if let Some(live) = live {
        liveness_seconds = Some(live.seconds);
        liveness_stopped_by = live.stopped_by;
        verdicts.extend(live.results.into_iter().map(|r| {
            let (trace, cycle_start) = match r.lasso {
                Some(lasso) => {
                    let start = lasso.prefix.steps.len();
                    let mut t = lasso.prefix;
                    for (a, s) in lasso.cycle {
                        t.push(a, s);
                    }
                    (Some(t), Some(start))
                }
                None => (None, None),
            };
            Finding {
                name: r.name,
                kind: Kind::Liveness,
                verdict: r.verdict,
                trace,
                cycle_start,
                skipped: None,
            }
        }));
    }
    Run {
        safety,
        verdicts,
        liveness_seconds,
        liveness_stopped_by,
        symmetry,
    }
}

/// The schema identifier of `check --format json` (specs/schema.md).
pub const CHECK_SCHEMA: &str = "zbs-mc/check/1";

/// How the whole check came out, as the exit code says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    /// Every property checked holds (exit 0); unreached companions are warnings.
    Holds,
    /// An invariant or liveness property is violated (exit 1).
    Violated,
    /// A limit stopped exploration before some property was decided (exit 3).
    Undecided,
}

impl Overall {
    /// The process exit code of `check` (`cli::exit`).
    pub fn exit_code(self) -> i32 {
        match self {
            Overall::Holds => 0,
            Overall::Violated => 1,
            Overall::Undecided => 3,
        }
    }
}

/// The result of one `check`, typed: the JSON printer serialises it, the text printer and
/// the HTML report render it, so the three cannot disagree. Schema `zbs-mc/check/1`,
/// documented field by field in specs/schema.md.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckReport {
    /// Always [`CHECK_SCHEMA`].
    pub schema: String,
    /// The model file's `name`.
    pub model: String,
    /// The model file's path as given.
    pub file: String,
    /// Every variant switch → `on` / `off`.
    pub variant: BTreeMap<String, String>,
    /// Distinct states explored by the safety search.
    pub states: u64,
    pub max_depth: u32,
    pub seconds: f64,
    /// Time of the liveness pass, if it ran.
    pub liveness_seconds: Option<f64>,
    /// The limit that stopped the liveness analysis after a complete exploration, if one did.
    pub liveness_stopped_by: Option<crate::engine::StopReason>,
    pub peak_rss_bytes: u64,
    /// Every reachable state was explored.
    pub complete: bool,
    /// The limit that stopped exploration, if one did.
    pub stopped_by: Option<crate::engine::StopReason>,
    /// What became of `--symmetry`, when it was asked for.
    pub symmetry: Option<SymmetryUse>,
    /// The overall result (the exit code).
    pub result: Overall,
    pub properties: Vec<PropertyReport>,
}

/// One property in a [`CheckReport`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PropertyReport {
    pub name: String,
    pub kind: Kind,
    pub verdict: Status,
    /// For a `sometimes` companion: the invariant it guards.
    pub companion_of: Option<String>,
    /// Why it was not checked (with `verdict: skipped`).
    pub skipped_because: Option<String>,
    /// What the model file's `[expected.*]` table says, if it says.
    pub expected: Option<ExpectedVerdict>,
    /// Whether the verdict is the expected one (`None` without an expectation).
    pub as_expected: Option<bool>,
    /// The counterexample's initial state (with `trace`).
    pub initial: Option<crate::trace::StateSummary>,
    /// The counterexample of a violated invariant or liveness property: shortest for an
    /// invariant; for liveness a lasso (see `loop`).
    pub trace: Option<Vec<crate::trace::Step>>,
    /// For a liveness counterexample: the state the last step returns to (0 the initial
    /// state, k the state after step k); equal to the number of steps for a dead end.
    #[serde(rename = "loop")]
    pub loop_start: Option<usize>,
}

impl CheckReport {
    /// The report of `run`, a check of `model` (the model file `name` at `file`, under
    /// `variant`, whose `[expected.*]` table for that variant is `expected`).
    pub fn of(
        name: &str,
        file: &str,
        variant: &crate::domain::variant::Variant,
        expected: Option<&BTreeMap<String, ExpectedVerdict>>,
        model: &ZbsModel,
        run: &Run,
    ) -> CheckReport {
        let o = &run.safety;
        let properties = run
            .verdicts
            .iter()
            .map(|f| {
                let expected = expected.and_then(|e| e.get(f.name)).copied();
                let as_expected = expected.filter(|_| f.skipped.is_none()).map(|e| {
                    matches!(
                        (e, f.verdict),
                        (ExpectedVerdict::Holds, Verdict::Holds)
                            | (ExpectedVerdict::Violated, Verdict::Violated)
                    )
                });
                PropertyReport {
                    name: f.name.to_string(),
                    kind: f.kind,
                    verdict: f.status(),
                    companion_of: properties::find(f.name)
                        .and_then(|d| d.companion_of)
                        .map(str::to_string),
                    skipped_because: f.skipped.map(str::to_string),
                    expected,
                    as_expected,
                    initial: f
                        .trace
                        .as_ref()
                        .map(|t| crate::trace::initial_summary(model, t)),
                    trace: f.trace.as_ref().map(|t| crate::trace::describe(model, t)),
                    loop_start: f.cycle_start,
                }
            })
            .collect();
        CheckReport {
            schema: CHECK_SCHEMA.to_string(),
            model: name.to_string(),
            file: file.to_string(),
            variant: variant
                .to_map()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            states: o.unique_states,
            max_depth: o.max_depth,
            seconds: o.seconds,
            liveness_seconds: run.liveness_seconds,
            liveness_stopped_by: run.liveness_stopped_by,
            peak_rss_bytes: engine::peak_rss_bytes(),
            complete: o.complete,
            stopped_by: o.stopped_by,
            symmetry: run.symmetry.clone(),
            result: run.overall(),
            properties,
        }
    }

    pub fn property(&self, name: &str) -> Option<&PropertyReport> {
        self.properties.iter().find(|p| p.name == name)
    }
}
