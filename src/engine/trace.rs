//! Real, replayable traces and their reconstruction from fingerprint chains.
//!
//! The visited set keeps only fingerprints of (canonical) states. A trace is rebuilt by
//! replaying the model from its initial states: at each step we take the first action (in the
//! model's deterministic action order) whose successor, once canonicalised, has the next
//! fingerprint of the chain. With symmetry on, the replayed states are real states (not
//! representatives): if the real state `r` is in the orbit of the stored representative `c`,
//! i.e. `r = π·c`, then every successor `c → c'` has a counterpart `r → π·c'`, whose canonical
//! form is that of `c'`, so the search at each step always succeeds.

use super::fingerprint::Fingerprint;
use super::repr::{Repr, Unbuilt};
use stateright::Model;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// A path from an initial state: `init`, then `(action, resulting state)` per step.
///
/// States are shared (`Arc`): the traces of one run start alike (breadth-first paths from
/// the same initial state), and each state of their common prefix is kept once; a state of a
/// stateright actor model is a few kilobytes of hash maps.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Trace<S, A> {
    pub init: Arc<S>,
    pub steps: Vec<(A, Arc<S>)>,
}

impl<S, A> Trace<S, A> {
    /// The trace of no steps from `init`.
    pub fn new(init: S) -> Self {
        Trace {
            init: Arc::new(init),
            steps: Vec::new(),
        }
    }

    /// Appends a step to `state`.
    pub fn push(&mut self, action: A, state: S) {
        self.steps.push((action, Arc::new(state)));
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether it has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The last state.
    pub fn last(&self) -> &S {
        self.steps.last().map(|(_, s)| s).unwrap_or(&self.init)
    }

    /// The actions in order.
    pub fn actions(&self) -> impl Iterator<Item = &A> {
        self.steps.iter().map(|(a, _)| a)
    }

    /// Converts to stateright's `Path` (e.g. for its Explorer or reports); `None` if the trace
    /// is not a path of `model`.
    pub fn to_path<M>(&self, model: &M) -> Option<stateright::Path<S, A>>
    where
        M: Model<State = S, Action = A>,
        S: Clone + PartialEq,
        A: PartialEq,
    {
        stateright::Path::from_actions(model, S::clone(&self.init), self.actions())
    }

    /// Checks that every step is a transition of `model` (actions enabled, same successor).
    pub fn is_valid_for<M>(&self, model: &M) -> bool
    where
        M: Model<State = S, Action = A>,
        S: PartialEq,
        A: PartialEq + Clone,
    {
        if !model.init_states().contains(&self.init) {
            return false;
        }
        let mut cur = &self.init;
        let mut actions = Vec::new();
        for (a, s) in &self.steps {
            actions.clear();
            model.actions(cur, &mut actions);
            if !actions.contains(a) || model.next_state(cur, a.clone()).as_ref() != Some(s) {
                return false;
            }
            cur = s;
        }
        true
    }
}

/// Fingerprint of a state as the engine stores it.
#[inline]
pub(crate) fn stored_fp<M: Model, R: Repr<M>>(model: &M, repr: &R, s: M::State) -> Fingerprint
where
    M::State: Clone,
{
    repr.fingerprint(&repr.canon(model, s))
}

/// One real step from `cur` to a successor whose stored fingerprint is `target`, optionally
/// restricted to actions accepted by `accept`. `scratch` is the representation's (the
/// search's own, if at hand: its handler results make the step cheap).
pub(crate) fn step_to<M, R>(
    model: &M,
    repr: &R,
    cur: &M::State,
    scratch: &mut R::Scratch,
    target: Fingerprint,
    accept: &dyn Fn(&M::Action) -> bool,
) -> Option<(M::Action, M::State)>
where
    M: Model,
    R: Repr<M>,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let mut actions = Vec::new();
    model.actions(cur, &mut actions);
    // As in the search: a successor whose fingerprint the representation tells unbuilt is
    // built only if it is the one wanted.
    let memo = repr.memo(cur);
    for a in actions {
        if !accept(&a) {
            continue;
        }
        let fast = repr.successor_fingerprint(model, &memo, scratch, cur, &a);
        match fast {
            Unbuilt::Disabled => continue,
            Unbuilt::Known(fp, _) if fp != target => continue,
            Unbuilt::Known(..) | Unbuilt::Unknown => {}
        }
        let Some(next) = model.next_state(cur, a.clone()) else {
            continue;
        };
        // A fingerprint told unbuilt is the built successor's (no canonical form differs).
        let reached = match fast {
            Unbuilt::Known(..) => {
                debug_assert_eq!(
                    repr.child_fingerprint(&memo, cur, &repr.canon(model, next.clone())),
                    target
                );
                true
            }
            Unbuilt::Unknown | Unbuilt::Disabled => {
                repr.child_fingerprint(&memo, cur, &repr.canon(model, next.clone())) == target
            }
        };
        if reached && model.within_boundary(&next) {
            return Some((a, next));
        }
    }
    None
}

/// The first initial state whose stored fingerprint is `fp`.
pub(crate) fn init_with<M, R>(model: &M, repr: &R, fp: Fingerprint) -> Option<M::State>
where
    M: Model,
    R: Repr<M>,
    M::State: Clone + Hash,
{
    model
        .init_states()
        .into_iter()
        .find(|s| stored_fp(model, repr, s.clone()) == fp)
}

/// The states traces of one run have replayed, by stored fingerprint (with the action that
/// reached each): every chain is a breadth-first parent chain, so a state replayed for one
/// trace brings its whole prefix for the next, and the traces share those states.
pub(crate) struct Replayed<S, A> {
    inits: HashMap<Fingerprint, Arc<S>>,
    steps: HashMap<Fingerprint, (A, Arc<S>)>,
}

impl<S, A> Default for Replayed<S, A> {
    fn default() -> Self {
        Replayed {
            inits: HashMap::new(),
            steps: HashMap::new(),
        }
    }
}

/// Replays a fingerprint chain (starting at an initial state) into a real trace, reusing
/// the states `done` holds (and adding the new ones).
pub(crate) fn replay<M, R>(
    model: &M,
    repr: &R,
    scratch: &mut R::Scratch,
    chain: &[Fingerprint],
    done: &mut Replayed<M::State, M::Action>,
) -> Trace<M::State, M::Action>
where
    M: Model,
    R: Repr<M>,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let init = done
        .inits
        .entry(chain[0])
        .or_insert_with(|| {
            Arc::new(
                init_with(model, repr, chain[0]).expect("trace replay: no matching initial state"),
            )
        })
        .clone();
    let mut trace = Trace {
        init,
        steps: Vec::with_capacity(chain.len() - 1),
    };
    for &fp in &chain[1..] {
        if let Some((a, s)) = done.steps.get(&fp) {
            trace.steps.push((a.clone(), s.clone()));
            continue;
        }
        let (a, s) = step_to(model, repr, trace.last(), scratch, fp, &|_| true)
            .expect("trace replay: no successor matches (nondeterministic model or bad symmetry?)");
        let s = Arc::new(s);
        done.steps.insert(fp, (a.clone(), s.clone()));
        trace.steps.push((a, s));
    }
    trace
}
