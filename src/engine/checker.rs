//! [`Checker`]: the one way into the engine's exhaustive searches.
//!
//! A run is described by a builder — which model, how its states are kept, the options
//! (threads, symmetry, limits), the liveness properties and their fairness, an observer — and
//! ended by [`Checker::check`] (safety and liveness on this machine) or
//! [`Checker::distributed`] (safety on timely dataflow). The builder picks the search: the
//! safety search alone (`safety.rs`) when there is no liveness property and no observer, one
//! exploration for both (`one_pass.rs`) when both would explore everything, else the safety
//! search and then the liveness graph.
//!
//! How states are kept is the builder's type parameter, fixed by the constructor:
//! [`Checker::new`] keeps them whole ([`AnyStates`], any model, no symmetry),
//! [`Checker::symmetric`] whole and reduced by [`SymmetricModel::canonical`] when
//! symmetry is on ([`SymmetricStates`]), [`Checker::actors`] in the engine's representation
//! of a stateright `ActorModel`'s states ([`ActorStates`]: successors fingerprinted unbuilt,
//! frontier packed and interned). The three give the same states, verdicts and traces
//! (`tests/engine_actor.rs` compares them); they differ in time and memory.

use super::actor_repr::Actors;
use super::explore::Observer;
use super::liveness::{self, FairClass, FairModel, Liveness, LivenessOutcome};
use super::repr::{Plain, Repr};
use super::symmetry::{Canonical, Identity, SymmetricModel};
use super::{ActorSymmetric, Options, Outcome, PackableActor, PackableHistory, one_pass, safety};
use super::{distributed, distributed::Codec, distributed::Workers};
use stateright::Model;
use stateright::actor::ActorModel;
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

/// How a [`Checker`] keeps states: whole, fingerprinted through `Hash`, never reduced
/// ([`Checker::new`]).
pub struct AnyStates;

/// How a [`Checker`] keeps states: whole, replaced by [`SymmetricModel::canonical`] before
/// they are stored when [`Options::symmetry`] is on ([`Checker::symmetric`]).
pub struct SymmetricStates;

/// How a [`Checker`] keeps states: an `ActorModel`'s, in the engine's actor representation,
/// reduced by symmetry when [`Options::symmetry`] is on ([`Checker::actors`]).
pub struct ActorStates;

/// What [`Checker::check`] found: the safety outcome (`model.properties()`) and the liveness
/// outcome (the properties given to [`Checker::liveness`]; no results without any).
pub struct Checked<M: Model> {
    pub safety: Outcome<M>,
    /// With one exploration for both its `seconds` are those of the liveness analysis alone
    /// (the exploration's are the safety outcome's).
    pub liveness: LivenessOutcome<M>,
}

/// The fairness of a model's actions: a weak-fairness class or none.
type Fairness<'a, A> = Box<dyn Fn(&A) -> Option<FairClass> + Sync + 'a>;

/// A run of the engine being described; see the module documentation.
///
/// ```ignore
/// let checked = Checker::actors(&model)
///     .options(opts)
///     .liveness(&props)
///     .check();
/// ```
pub struct Checker<'a, M: Model, S> {
    model: &'a M,
    states: PhantomData<S>,
    opts: Options,
    liveness: &'a [Liveness<M>],
    fairness: Fairness<'a, M::Action>,
    observer: Observer<'a, M::State>,
    one_pass: bool,
}

impl<'a, M: Model> Checker<'a, M, AnyStates> {
    /// A search of `model` keeping states whole, without symmetry.
    pub fn new(model: &'a M) -> Self {
        Checker::with_states(model)
    }
}

impl<'a, M: SymmetricModel> Checker<'a, M, SymmetricStates> {
    /// A search of `model` keeping states whole, reduced by its symmetry when
    /// [`Options::symmetry`] is on.
    pub fn symmetric(model: &'a M) -> Self {
        Checker::with_states(model)
    }
}

impl<'a, A, Cfg, H> Checker<'a, ActorModel<A, Cfg, H>, ActorStates>
where
    A: PackableActor,
    H: PackableHistory,
    ActorModel<A, Cfg, H>: ActorSymmetric<A, H>,
{
    /// A search of the actor model `model` in the engine's actor representation (reduced by
    /// its symmetry when [`Options::symmetry`] is on).
    pub fn actors(model: &'a ActorModel<A, Cfg, H>) -> Self {
        Checker::with_states(model)
    }
}

impl<'a, M: Model, S> Checker<'a, M, S> {
    fn with_states(model: &'a M) -> Self {
        Checker {
            model,
            states: PhantomData,
            opts: Options::default(),
            liveness: &[],
            fairness: Box::new(|_| None),
            observer: None,
            one_pass: true,
        }
    }

    /// Threads, symmetry, limits, progress and stopping rule of the run
    /// (default: [`Options::default`]).
    pub fn options(mut self, opts: Options) -> Self {
        self.opts = opts;
        self
    }

    /// Worker threads (≥ 1); results do not depend on it.
    pub fn threads(mut self, threads: usize) -> Self {
        self.opts.threads = threads;
        self
    }

    /// Whether to reduce by symmetry (not with [`Checker::new`]).
    pub fn symmetry(mut self, on: bool) -> Self {
        self.opts.symmetry = on;
        self
    }

    /// Liveness properties to check with no fairness assumption.
    pub fn liveness_unfair(mut self, props: &'a [Liveness<M>]) -> Self {
        self.liveness = props;
        self.fairness = Box::new(|_| None);
        self
    }

    /// Calls `on_new` once on every state the liveness graph stores (every reachable state,
    /// or every state before a limit stopped it; one per orbit with symmetry), in
    /// breadth-first order, on the calling thread: statistics the engine knows nothing of
    /// (e.g. which rules fire). With an observer the graph is built even without liveness
    /// properties.
    pub fn observe(mut self, on_new: &'a mut dyn FnMut(&M::State)) -> Self {
        self.observer = Some(on_new);
        self
    }

    /// Whether safety and liveness may share one exploration when both explore everything
    /// (default on; off runs the safety search and then the liveness graph, which
    /// `tests/one_pass.rs` compares the shared exploration with).
    pub fn one_pass(mut self, on: bool) -> Self {
        self.one_pass = on;
        self
    }
}

impl<'a, M: FairModel + Sync, S> Checker<'a, M, S> {
    /// Liveness properties to check under the model's weak-fairness classes
    /// ([`FairModel::fairness`]).
    pub fn liveness(mut self, props: &'a [Liveness<M>]) -> Self {
        let model = self.model;
        self.liveness = props;
        self.fairness = Box::new(move |a| model.fairness(a));
        self
    }
}

/// What every search asks of a model: shared by the exploring threads, its states and
/// actions cloned, compared, hashed and printed in traces.
pub trait Explorable:
    Model<State: Clone + Debug + Hash + Eq + Send + Sync, Action: Clone + Debug + Send + Sync> + Sync
{
}

impl<M> Explorable for M where
    M: Model<State: Clone + Debug + Hash + Eq + Send + Sync, Action: Clone + Debug + Send + Sync>
        + Sync
{
}

impl<'a, M: Explorable> Checker<'a, M, AnyStates> {
    /// Runs the search (see the module documentation).
    pub fn check(self) -> Checked<M> {
        self.unreduced();
        self.run(&Plain(Identity))
    }

    /// The safety search on timely dataflow (see [`Checker::distributed`] of actor states).
    pub fn distributed<C>(self, codec: C, workers: &Workers) -> Result<Outcome<M>, String>
    where
        M: Clone + Send + 'static,
        C: Codec<M::State> + 'static,
    {
        self.unreduced();
        self.run_distributed(Plain(Identity), codec, workers)
    }

    fn unreduced(&self) {
        assert!(
            !self.opts.symmetry,
            "Checker::new explores without symmetry: use Checker::symmetric or Checker::actors"
        );
    }
}

impl<'a, M: SymmetricModel + Explorable> Checker<'a, M, SymmetricStates> {
    /// Runs the search (see the module documentation).
    pub fn check(self) -> Checked<M> {
        if self.opts.symmetry {
            self.run(&Plain(Canonical))
        } else {
            self.run(&Plain(Identity))
        }
    }

    /// The safety search on timely dataflow (see [`Checker::distributed`] of actor states).
    pub fn distributed<C>(self, codec: C, workers: &Workers) -> Result<Outcome<M>, String>
    where
        M: Clone + Send + 'static,
        C: Codec<M::State> + 'static,
    {
        if self.opts.symmetry {
            self.run_distributed(Plain(Canonical), codec, workers)
        } else {
            self.run_distributed(Plain(Identity), codec, workers)
        }
    }
}

impl<'a, A, Cfg, H> Checker<'a, ActorModel<A, Cfg, H>, ActorStates>
where
    A: PackableActor,
    Cfg: Sync,
    H: PackableHistory,
    ActorModel<A, Cfg, H>: ActorSymmetric<A, H>,
{
    /// Runs the search (see the module documentation).
    pub fn check(self) -> Checked<ActorModel<A, Cfg, H>> {
        if self.opts.symmetry {
            self.run(&Actors(Canonical))
        } else {
            self.run(&Actors(Identity))
        }
    }

    /// The safety search on timely dataflow, by `workers` in this process or across
    /// processes (module [`distributed`]): the same states and verdicts as
    /// [`Checker::check`]'s safety outcome, counterexamples of the same length; `eventually`
    /// properties come out `Unknown`. `codec` moves states between workers. An error if a
    /// process could not be reached or was lost, or if liveness properties were given
    /// (liveness is not distributed).
    pub fn distributed<C>(
        self,
        codec: C,
        workers: &Workers,
    ) -> Result<Outcome<ActorModel<A, Cfg, H>>, String>
    where
        A: Clone + 'static,
        Cfg: Clone + Send + 'static,
        H: 'static,
        C: Codec<stateright::actor::ActorModelState<A, H>> + 'static,
    {
        if self.opts.symmetry {
            self.run_distributed(Actors(Canonical), codec, workers)
        } else {
            self.run_distributed(Actors(Identity), codec, workers)
        }
    }
}

impl<'a, M: Explorable, S> Checker<'a, M, S> {
    /// The search with representation `repr`.
    fn run<R: Repr<M>>(self, repr: &R) -> Checked<M> {
        let Checker {
            model,
            opts,
            liveness: props,
            fairness,
            observer,
            one_pass,
            ..
        } = self;
        if props.is_empty() && observer.is_none() {
            let safety = safety::run(model, repr, &opts);
            let liveness = LivenessOutcome {
                unique_states: safety.unique_states,
                edges: 0,
                complete: safety.complete,
                stopped_by: safety.stopped_by,
                seconds: 0.0,
                results: Vec::new(),
            };
            return Checked { safety, liveness };
        }
        let (safety, liveness) = if one_pass && one_pass::applies(model, &opts) {
            one_pass::check_both(model, repr, &*fairness, props, &opts, observer)
        } else {
            let safety = safety::run(model, repr, &opts);
            let no_safety = |_: &M::State| 0;
            let live = liveness::check_visiting(
                model, repr, &*fairness, props, &no_safety, &opts, observer,
            );
            (safety, live.0)
        };
        Checked { safety, liveness }
    }

    /// The timely search with representation `repr`.
    fn run_distributed<R, C>(
        self,
        repr: R,
        codec: C,
        workers: &Workers,
    ) -> Result<Outcome<M>, String>
    where
        M: Clone + Send + 'static,
        R: Repr<M> + Send + 'static,
        C: Codec<M::State> + 'static,
    {
        if !self.liveness.is_empty() || self.observer.is_some() {
            return Err(
                "liveness properties and observers need the state graph, which the \
                        timely search does not build: check them with Checker::check"
                    .into(),
            );
        }
        distributed::run(
            Arc::new(self.model.clone()),
            Arc::new(repr),
            Arc::new(codec),
            workers,
            &self.opts,
        )
    }
}

#[cfg(test)]
mod tests {
    //! What the builder decides itself: which searches it refuses, and that an observer sees
    //! the states the search stores. (The searches it picks are compared with each other in
    //! `tests/one_pass.rs`, `tests/engine_actor.rs` and `tests/distributed.rs`.)
    use super::*;
    use crate::engine::liveness::LivenessKind;
    use crate::engine::toy_actors::{Hub, HubState, State, hub};

    /// A codec the refused searches never reach.
    struct Unused;
    impl Codec<HubState> for Unused {
        type Cache = ();
        fn encode(&self, _: &mut (), _: &HubState, _: &mut Vec<u8>) {
            unreachable!("a refused search encodes nothing")
        }
        fn decode(&self, _: &mut (), _: &[u8]) -> HubState {
            unreachable!("a refused search decodes nothing")
        }
    }

    fn all_recorded() -> Vec<Liveness<Hub>> {
        vec![Liveness {
            name: "every count recorded",
            kind: LivenessKind::Eventually {
                q: |_, s: &HubState| matches!(&*s.actor_states[0], State::Hub { table, .. } if table.len() == 2),
            },
        }]
    }

    #[test]
    #[should_panic(expected = "without symmetry")]
    fn new_refuses_symmetry() {
        Checker::new(&hub(2, 2)).symmetry(true).check();
    }

    #[test]
    fn distributed_refuses_liveness_and_observers() {
        let m = hub(2, 2);
        let props = all_recorded();
        let with_liveness = Checker::actors(&m)
            .liveness(&props)
            .distributed(Unused, &Workers::Threads(1));
        assert!(with_liveness.unwrap_err().contains("liveness"));
        let mut seen = 0;
        let mut count = |_: &HubState| seen += 1;
        let observed = Checker::actors(&m)
            .observe(&mut count)
            .distributed(Unused, &Workers::Threads(1));
        assert!(observed.unwrap_err().contains("observers"));
        assert_eq!(seen, 0);
    }

    #[test]
    fn an_observer_sees_every_stored_state_once_and_changes_no_verdict() {
        let m = hub(2, 3);
        let plain = Checker::actors(&m).threads(2).check();
        assert!(plain.liveness.results.is_empty());
        let mut seen = std::collections::HashSet::new();
        let mut calls = 0;
        let mut record = |s: &HubState| {
            calls += 1;
            seen.insert(s.clone());
        };
        let observed = Checker::actors(&m).threads(2).observe(&mut record).check();
        assert_eq!(calls as u64, plain.safety.unique_states);
        assert_eq!(seen.len(), calls);
        assert_eq!(observed.safety.unique_states, plain.safety.unique_states);
        let verdicts = |c: &Checked<Hub>| {
            c.safety
                .properties
                .iter()
                .map(|r| (r.name, format!("{:?}", r.verdict)))
                .collect::<Vec<_>>()
        };
        assert_eq!(verdicts(&observed), verdicts(&plain));
        assert!(
            plain.safety.unique_states > 100,
            "{}",
            plain.safety.unique_states
        );
    }
}
