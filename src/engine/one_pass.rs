//! Safety and liveness in one exploration.
//!
//! Without it, a run that checks both explores the model twice: the safety BFS, then the liveness
//! graph. The graph's construction already meets every reachable state in sequential
//! breadth-first order (level, then parent, then action), which is exactly the order in which
//! the safety search ranks its discoveries (both are `explore.rs`). So the first state of that order
//! that violates an `always` property (or satisfies a `sometimes` one) is the one the safety
//! search reports, and the graph's parent links are its shortest path: checking the safety
//! properties on each state as the graph stores it gives the same verdicts and traces
//! without the second exploration. `tests/one_pass.rs` compares the two ways on the models
//! we ship.
//!
//! Taken only when both searches would explore everything: no `max_states`, `max_depth` or
//! `stop_when_decided` (the two stop at different points), and no stateright `eventually`
//! among the model's properties (the safety search hands those to the liveness checker).

use super::explore::Observer;
use super::liveness::{FairClass, Liveness, LivenessOutcome, check_visiting};
use super::repr::Repr;
use super::trace::{Replayed, Trace, replay};
use super::{Options, Outcome, PropertyResult, peak_rss_bytes, safety_verdict};
use stateright::{Expectation, Model};
use std::fmt::Debug;
use std::hash::Hash;

/// Whether [`check_both`] gives what the two separate searches would for `opts`.
pub(crate) fn applies<M: Model>(model: &M, opts: &Options) -> bool {
    opts.max_states.is_none()
        && opts.max_depth.is_none()
        && !opts.stop_when_decided
        && model
            .properties()
            .iter()
            .all(|p| p.expectation != Expectation::Eventually)
}

/// The safety outcome and the liveness outcome of `model` from one exploration. The liveness
/// outcome's `seconds` are those of its analysis after the shared exploration, whose time is
/// the safety outcome's. `on_new`, if given, sees every reachable state once, in breadth-first order.
pub(crate) fn check_both<M, R>(
    model: &M,
    repr: &R,
    fair: &(dyn Fn(&M::Action) -> Option<FairClass> + Sync),
    live_props: &[Liveness<M>],
    opts: &Options,
    on_new: Observer<'_, M::State>,
) -> (Outcome<M>, LivenessOutcome<M>)
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    let props = model.properties();
    assert!(
        props.len() <= 64,
        "at most 64 safety properties in one pass"
    );
    // Bit `i`: the state violates `always` property `i` or is an example of `sometimes` `i`.
    let safety = |s: &M::State| super::discoveries(model, &props, s);
    let (mut live, built, explored) =
        check_visiting(model, repr, fair, live_props, &safety, opts, on_new);
    live.seconds -= explored;
    let (g, graph_stopped) = (&built.graph, built.stopped);
    // The node (breadth-first index) where each property was first discovered.
    let first = &built.first_hit[..props.len()];

    // Traces replayed together, sharing the states of their common prefixes.
    let mut scratch = R::Scratch::default();
    let mut done = Replayed::default();
    let mut trace_to = |u: usize| -> Trace<M::State, M::Action> {
        let chain: Vec<_> = g.path_from_init(u).into_iter().map(|v| g.fps[v]).collect();
        replay(model, repr, &mut scratch, &chain, &mut done)
    };
    // Every state was met even when a limit then stopped the liveness analysis.
    let complete = graph_stopped.is_none();
    let properties = props
        .iter()
        .zip(first)
        .map(|(p, f)| {
            let trace = f.map(|(u, _)| trace_to(u));
            PropertyResult {
                name: p.name,
                expectation: p.expectation.clone(),
                verdict: safety_verdict(&p.expectation, trace.is_some(), complete),
                trace,
                lasso: None,
            }
        })
        .collect();
    let safety = Outcome {
        unique_states: g.fps.len() as u64,
        max_depth: g.max_depth(),
        seconds: explored,
        peak_rss_bytes: peak_rss_bytes(),
        complete,
        stopped_by: graph_stopped,
        properties,
    };
    (safety, live)
}
