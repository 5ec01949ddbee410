//! The safety search: `always` and `sometimes` properties checked on every state the
//! exploration core (`explore.rs`) numbers, keeping only the visited set (each state's
//! fingerprint and first parent) — the least memory a search with traces needs.
//!
//! The core numbers states in the order a sequential BFS first meets them, whatever the
//! thread count, and labels each with the properties it discovers (violates an `always`,
//! satisfies a `sometimes`), so the first discovery of each property is the one a sequential
//! BFS finds first, and its parent chain is a shortest path to it (all states of depth ≤ d
//! are numbered before any of depth d + 1, each with a parent one level up). Stateright's
//! `eventually` properties are handed to the liveness checker.

use super::explore::{CHUNK, Explored, Keep, Kept, Search, explore};
use super::fingerprint::Fingerprint;
use super::limits::{Limits, peak_rss_bytes};
use super::liveness;
use super::repr::Repr;
use super::trace::{Replayed, Trace, replay};
use super::{Options, Outcome, PropertyResult, StopReason, Verdict, safety_verdict};
use stateright::{Expectation, Model};
use std::fmt::Debug;
use std::hash::Hash;

pub(crate) fn run<M, R>(model: &M, repr: &R, opts: &Options) -> Outcome<M>
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    run_with(model, repr, opts, CHUNK)
}

/// [`run`], the exploring threads claiming `chunk` parents at a time (tests make it small).
fn run_with<M, R>(model: &M, repr: &R, opts: &Options, chunk: usize) -> Outcome<M>
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    let props = model.properties();
    assert!(props.len() <= 64, "at most 64 safety properties");
    // Bit `i`: the state violates `always` property `i` or is an example of `sometimes` `i`.
    let safety = |s: &M::State| super::discoveries(model, &props, s);
    // Every safety property decided: each has its discovery (`eventually` ones are not
    // safety's to decide).
    let decided_when = props
        .iter()
        .enumerate()
        .filter(|(_, p)| p.expectation != Expectation::Eventually)
        .fold(0u64, |m, (i, _)| m | 1 << i);
    let mut limits = Limits::new(opts);
    let search = Search {
        model,
        keep: Keep::Visited,
        fair: &|_| None,
        props: &[],
        safety: &safety,
        decided_when,
        chunk,
    };
    let Explored {
        kept,
        states,
        max_depth,
        stopped,
        first_hit,
    } = explore(&search, repr, opts, &mut limits, None);
    let Kept::Visited(visited) = kept else {
        unreachable!("the visited set was asked for")
    };
    // The visited set goes before the traces are built (at the end of a small run they are
    // the peak): only the discoveries' fingerprint chains are needed of it.
    let chains: Vec<Option<Vec<Fingerprint>>> = first_hit[..props.len()]
        .iter()
        .map(|f| f.map(|(_, fp)| visited.chain_to(fp)))
        .collect();
    drop(visited);
    let mut scratch = R::Scratch::default();
    let traces = replay_found(model, repr, &mut scratch, chains);
    drop(scratch);

    let complete = stopped.is_none();
    let live_ok = matches!(stopped, None | Some(StopReason::Decided));
    let mut results = Vec::with_capacity(props.len());
    let eventually: Vec<usize> = (0..props.len())
        .filter(|&i| props[i].expectation == Expectation::Eventually)
        .collect();
    let mut live = if live_ok && !eventually.is_empty() {
        let lprops: Vec<_> = eventually
            .iter()
            .map(|&i| liveness::Liveness::eventually(props[i].name, props[i].condition))
            .collect();
        let out = liveness::check_with(model, repr, &|_| None, &lprops, opts);
        out.results.into_iter().map(Some).collect()
    } else {
        (0..eventually.len()).map(|_| None).collect::<Vec<_>>()
    }
    .into_iter();

    for (p, trace) in props.iter().zip(traces) {
        let (verdict, trace, lasso) = match p.expectation {
            Expectation::Always | Expectation::Sometimes => {
                let verdict = safety_verdict(&p.expectation, trace.is_some(), complete);
                (verdict, trace, None)
            }
            Expectation::Eventually => match live.next().flatten() {
                Some(r) => {
                    let trace = r.lasso.as_ref().map(|l| l.unrolled());
                    (r.verdict, trace, r.lasso)
                }
                None => (Verdict::Unknown, None, None),
            },
        };
        results.push(PropertyResult {
            name: p.name,
            expectation: p.expectation.clone(),
            verdict,
            trace,
            lasso,
        });
    }

    Outcome {
        unique_states: states,
        max_depth,
        seconds: limits.elapsed(),
        peak_rss_bytes: peak_rss_bytes(),
        complete,
        stopped_by: stopped,
        properties: results,
    }
}

/// The trace to each property's first discovery, replayed together: a state is replayed once
/// for all the traces through it (chains share prefixes, and properties discovered at the
/// same state share all of it).
fn replay_found<M, R>(
    model: &M,
    repr: &R,
    scratch: &mut R::Scratch,
    chains: Vec<Option<Vec<Fingerprint>>>,
) -> Vec<Option<Trace<M::State, M::Action>>>
where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
    R: Repr<M>,
{
    let mut done = Replayed::default();
    chains
        .iter()
        .map(|chain| {
            chain
                .as_ref()
                .map(|chain| replay(model, repr, scratch, chain, &mut done))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The safety search's result does not depend on how its levels are cut into work.
    use super::*;
    use crate::engine::actor_repr::Actors;
    use crate::engine::symmetry::Identity;
    use crate::engine::toy_actors::{Hub, HubState, hub};
    use stateright::Model;

    type Decided = (
        &'static str,
        Verdict,
        Option<Trace<HubState, <Hub as Model>::Action>>,
    );

    /// What a run decides: counts, depth, and each property's verdict and trace (compared
    /// as values: the `Debug` of equal networks may list messages in different orders).
    fn summary(out: &Outcome<Hub>) -> (u64, u32, Vec<Decided>) {
        let props = out
            .properties
            .iter()
            .map(|p| (p.name, p.verdict, p.trace.clone()))
            .collect();
        (out.unique_states, out.max_depth, props)
    }

    #[test]
    fn any_chunk_size_and_thread_count_give_one_result() {
        // Three workers counting to two: levels from 1 to about a thousand states (many
        // chunks and batches at the smaller sizes), a violation four steps deep.
        let model = hub(3, 2);
        let mut runs = Vec::new();
        for threads in [1, 2] {
            let opts = Options {
                threads,
                stop_when_decided: false,
                ..Options::default()
            };
            for chunk in [1, 5, CHUNK] {
                let out = run_with(&model, &Actors(Identity), &opts, chunk);
                assert_eq!(out.unique_states, 18_552);
                assert!(out.complete);
                let verdicts: Vec<_> = out.properties.iter().map(|p| p.verdict).collect();
                assert_eq!(
                    verdicts,
                    [Verdict::Holds, Verdict::Violated, Verdict::Holds]
                );
                // Two ticks, the second report delivered, its acknowledgement delivered.
                let trace = out.properties[1].trace.as_ref().unwrap();
                assert_eq!(trace.steps.len(), 4);
                runs.push(summary(&out));
            }
        }
        assert!(runs.windows(2).all(|w| w[0] == w[1]));
    }
}
