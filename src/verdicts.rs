//! One full check of a ZBS model: safety properties by breadth-first exploration, then the
//! liveness properties under fairness, gathered into one list of verdicts with their
//! counterexamples. `check`, the tests and (later) `verify` all go through here.

use crate::actors::model::{ZbsModel, ZbsState};
use crate::domain::{Cid, Pid};
use crate::engine::{self, Options, Outcome, Trace, Verdict};
use crate::properties;
use crate::trace::ZbsAction;

/// One property's result, safety or liveness.
pub struct Finding {
    pub name: &'static str,
    /// `always`, `sometimes` or `liveness`.
    pub kind: &'static str,
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
    /// What became of `--symmetry`, when it was asked for.
    pub symmetry: Option<SymmetryUse>,
}

/// What `--symmetry` found: the classes of interchangeable ids, and whether the audit let the
/// run use them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SymmetryUse {
    pub pid_classes: Vec<Vec<Pid>>,
    pub chunk_classes: Vec<Vec<Cid>>,
    #[serde(flatten)]
    pub status: SymmetryStatus,
}

/// The outcome of the symmetry audit that precedes a reduced run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SymmetryStatus {
    /// The configuration has no symmetry: explored without reduction.
    None,
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
    let status = if sym.renamings.is_empty() {
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

impl Run {
    /// An invariant or a liveness property is violated. A `sometimes` companion that is never
    /// reached is a warning (the invariant it guards may hold vacuously), not a violation.
    pub fn any_violated(&self) -> bool {
        self.verdicts
            .iter()
            .any(|f| f.verdict == Verdict::Violated && f.kind != "sometimes")
    }

    /// The `sometimes` companions never reached.
    pub fn unreached(&self) -> impl Iterator<Item = &Finding> {
        self.verdicts
            .iter()
            .filter(|f| f.verdict == Verdict::Violated && f.kind == "sometimes")
    }

    /// Some property that was to be checked is undecided (a limit stopped exploration).
    pub fn any_undecided(&self) -> bool {
        self.verdicts
            .iter()
            .any(|f| f.verdict == Verdict::Unknown && f.skipped.is_none())
    }

    pub fn finding(&self, name: &str) -> Option<&Finding> {
        self.verdicts.iter().find(|f| f.name == name)
    }
}

fn kind_word(e: &stateright::Expectation) -> &'static str {
    match e {
        stateright::Expectation::Always => "always",
        stateright::Expectation::Sometimes => "sometimes",
        stateright::Expectation::Eventually => "eventually",
    }
}

/// Explores `model` for its safety properties and, with `liveness`, checks
/// [`properties::LIVENESS`] under the model's weak fairness — both from one exploration
/// when the options let it (`engine::check_actors`).
///
/// With `opts.symmetry`, the symmetry contract is audited first and the reduction used only
/// where it holds ([`SymmetryUse`]).
pub fn run(model: &ZbsModel, opts: &Options, liveness: bool) -> Run {
    run_visiting(model, opts, liveness, None)
}

/// [`run`], also handing every explored state once to `on_state` (e.g. the action coverage
/// of `verify::coverage`). With an observer the states come from the one sequential
/// exploration that builds the state graph (`engine::check_actors_visiting`), also when no
/// liveness property is checked.
pub fn run_visiting(
    model: &ZbsModel,
    opts: &Options,
    liveness: bool,
    on_state: Option<&mut dyn FnMut(&ZbsState)>,
) -> Run {
    let started = std::time::Instant::now();
    let symmetry = opts.symmetry.then(|| audit_symmetry(model, opts));
    let reduced = symmetry.as_ref().is_some_and(SymmetryUse::applied);
    let opts = &Options {
        symmetry: reduced,
        // The audit spent part of the time budget.
        timeout: opts.timeout.map(|t| t.saturating_sub(started.elapsed())),
        ..opts.clone()
    };
    // Liveness properties this model's budgets allow (the others are reported skipped).
    let budgets = &model.cfg.budgets;
    let (skipped, checked): (Vec<_>, Vec<_>) = properties::LIVENESS
        .iter()
        .partition(|l| l.skip_reason(budgets).is_some());
    let live_props: Vec<_> = checked.iter().map(|l| (l.property)()).collect();
    // Safety and liveness from one exploration where possible (`engine::check_actors`).
    let live_props = if liveness { live_props } else { Vec::new() };
    let (safety, live) = match on_state {
        Some(visit) => {
            let (safety, live) = engine::check_actors_visiting(model, &live_props, opts, visit);
            (safety, (!live_props.is_empty()).then_some(live))
        }
        None if !live_props.is_empty() => {
            let (safety, live) = engine::check_actors(model, &live_props, opts);
            (safety, Some(live))
        }
        None => (engine::explore_actors(model, opts), None),
    };
    let mut verdicts: Vec<Finding> = safety
        .properties
        .iter()
        .map(|p| Finding {
            name: p.name,
            kind: kind_word(&p.expectation),
            verdict: p.verdict,
            trace: p.trace.clone().filter(|_| p.verdict == Verdict::Violated),
            cycle_start: None,
            skipped: None,
        })
        .collect();
    let mut liveness_seconds = None;
    if liveness {
        verdicts.extend(skipped.iter().map(|l| Finding {
            name: l.name,
            kind: "liveness",
            verdict: Verdict::Unknown,
            trace: None,
            cycle_start: None,
            skipped: l.skip_reason(budgets),
        }));
    }
    if let Some(live) = live {
        liveness_seconds = Some(live.seconds);
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
                kind: "liveness",
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
        symmetry,
    }
}
