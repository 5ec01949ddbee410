//! One full check of a ZBS model: safety properties by breadth-first exploration, then the
//! liveness properties under fairness, gathered into one list of verdicts with their
//! counterexamples. `check`, the tests and (later) `verify` all go through here.

use crate::actors::model::{ZbsModel, ZbsState};
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
/// [`properties::LIVENESS`] under the model's weak fairness.
pub fn run(model: &ZbsModel, opts: &Options, liveness: bool) -> Run {
    let safety = engine::explore_actors(model, opts);
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
        let budgets = &model.cfg.budgets;
        let (skipped, checked): (Vec<_>, Vec<_>) = properties::LIVENESS
            .iter()
            .partition(|l| l.skip_reason(budgets).is_some());
        verdicts.extend(skipped.iter().map(|l| Finding {
            name: l.name,
            kind: "liveness",
            verdict: Verdict::Unknown,
            trace: None,
            cycle_start: None,
            skipped: l.skip_reason(budgets),
        }));
        let props: Vec<_> = checked.iter().map(|l| (l.property)()).collect();
        let live = engine::check_liveness_actors(model, &props, opts);
        liveness_seconds = Some(live.seconds);
        verdicts.extend(live.results.into_iter().map(|r| {
            let (trace, cycle_start) = match r.lasso {
                Some(lasso) => {
                    let start = lasso.prefix.steps.len();
                    let mut t = lasso.prefix;
                    t.steps.extend(lasso.cycle);
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
    }
}
