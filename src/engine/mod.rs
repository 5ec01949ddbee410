//! Our own exploration engine over stateright's [`Model`] trait.
//!
//! Why not stateright's checkers: their BFS discovery paths are not the shortest, BFS ignores
//! symmetry, `eventually` is unsound on cyclic graphs and has no fairness, `timeout()` is
//! ignored with one thread, and `Path` has no serde. See `specs/engine.md`.
//!
//! Entry points: [`Checker`] (every exhaustive search: safety — `Always` / `Sometimes`, and
//! stateright's `Eventually` via the liveness checker — liveness under weak fairness with
//! lasso counterexamples, symmetry, on this machine or on timely dataflow), [`simulate`]
//! (seeded random walks), [`symmetry::audit`] (the symmetry contract checked).

pub(crate) mod actor_repr;
mod checker;
pub mod distributed;
mod explore;
pub mod fingerprint;
mod graph;
mod limits;
pub mod liveness;
mod one_pass;
pub mod parts;
mod progress;
pub(crate) mod repr;
mod safety;
pub mod simulate;
pub mod symmetry;
#[cfg(test)]
mod toy_actors;
pub mod trace;
pub mod visited;

use stateright::actor::{ActorModel, ActorModelAction, ActorModelState};
use stateright::{Expectation, Model, Property};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

pub use checker::{ActorStates, AnyStates, Checked, Checker, Explorable, SymmetricStates};
pub use limits::{current_rss_bytes, peak_rss_bytes};
pub use liveness::{
    FairClass, FairModel, Lasso, Liveness, LivenessKind, LivenessOutcome, LivenessResult,
};
pub use simulate::{SimOutcome, SimResult, replay_run, run_seed, simulate, simulate_within};
pub use symmetry::SymmetricModel;
pub use trace::Trace;

/// Whether to print progress lines on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Progress {
    /// Every ~1 s, only when stderr is a terminal.
    #[default]
    Auto,
    /// Never.
    Quiet,
    /// Every ~1 s, even when stderr is not a terminal (logs, CI).
    Always,
}

/// Exploration options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Worker threads (≥ 1). Results do not depend on it.
    pub threads: usize,
    /// Use [`SymmetricModel::canonical`] (only honoured by the `_symmetric` entry points).
    pub symmetry: bool,
    /// Stop once this many distinct states are stored (checked between batches, so the final
    /// count may exceed it by at most one batch of successors).
    pub max_states: Option<u64>,
    /// Do not expand states at this depth (initial states have depth 0).
    pub max_depth: Option<u32>,
    /// Wall-clock budget.
    pub timeout: Option<Duration>,
    /// Stop when the process's resident set (VmRSS) exceeds this.
    pub max_memory_bytes: Option<u64>,
    /// Progress reporting.
    pub progress: Progress,
    /// Stop as soon as every `Always`/`Sometimes` property is decided (stateright does the
    /// same). Set to `false` to always count the whole state space.
    pub stop_when_decided: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            symmetry: false,
            max_states: None,
            max_depth: None,
            timeout: None,
            max_memory_bytes: None,
            progress: Progress::Auto,
            stop_when_decided: true,
        }
    }
}

/// Outcome of checking one property.
///
/// `Always` / `Eventually`: `Holds` = proved on the whole (reduced) state space, `Violated` =
/// counterexample in `trace`, `Unknown` = exploration stopped early without a counterexample.
/// `Sometimes`: `Holds` = an example was found (in `trace`), `Violated` = exhaustively none,
/// `Unknown` = stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    Holds,
    Violated,
    Unknown,
}

/// Why exploration stopped before covering the whole state space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopReason {
    MaxStates,
    MaxDepth,
    Timeout,
    MaxMemory,
    /// Every property was decided and [`Options::stop_when_decided`] was set.
    Decided,
}

/// Result for one of `model.properties()`.
pub struct PropertyResult<M: Model> {
    pub name: &'static str,
    pub expectation: Expectation,
    pub verdict: Verdict,
    /// Counterexample (`Always`), example (`Sometimes`): a real path from an initial state.
    /// For `Eventually`, the lasso's prefix followed by one turn of its cycle.
    pub trace: Option<Trace<M::State, M::Action>>,
    /// For `Eventually` violations: the full lasso.
    pub lasso: Option<Lasso<M::State, M::Action>>,
}

impl<M: Model> Clone for PropertyResult<M>
where
    M::State: Clone,
    M::Action: Clone,
{
    fn clone(&self) -> Self {
        PropertyResult {
            name: self.name,
            expectation: self.expectation.clone(),
            verdict: self.verdict,
            trace: self.trace.clone(),
            lasso: self.lasso.clone(),
        }
    }
}

impl<M: Model> Debug for PropertyResult<M>
where
    M::State: Debug,
    M::Action: Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PropertyResult")
            .field("name", &self.name)
            .field("expectation", &self.expectation)
            .field("verdict", &self.verdict)
            .field("trace", &self.trace)
            .field("lasso", &self.lasso)
            .finish()
    }
}

/// What an exploration found.
pub struct Outcome<M: Model> {
    /// Distinct states stored (orbits when symmetry is on).
    pub unique_states: u64,
    /// Deepest BFS level reached (initial states are depth 0).
    pub max_depth: u32,
    pub seconds: f64,
    /// Process peak resident set (VmHWM) at the end; 0 where unavailable.
    pub peak_rss_bytes: u64,
    /// The whole reachable (reduced) state space was explored.
    pub complete: bool,
    pub stopped_by: Option<StopReason>,
    /// One entry per `model.properties()`, same order.
    pub properties: Vec<PropertyResult<M>>,
}

impl<M: Model> Outcome<M> {
    /// Looks a property result up by name.
    pub fn property(&self, name: &str) -> Option<&PropertyResult<M>> {
        self.properties.iter().find(|p| p.name == name)
    }
}

impl<M: Model> Debug for Outcome<M>
where
    M::State: Debug,
    M::Action: Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("unique_states", &self.unique_states)
            .field("max_depth", &self.max_depth)
            .field("seconds", &self.seconds)
            .field("peak_rss_bytes", &self.peak_rss_bytes)
            .field("complete", &self.complete)
            .field("stopped_by", &self.stopped_by)
            .field("properties", &self.properties)
            .finish()
    }
}

/// Whether `state` is a discovery of safety property `p`: a violation of an `always`
/// property or an example of a `sometimes` one (never for `eventually`, which liveness
/// checks).
pub(crate) fn discovers<M: Model>(model: &M, p: &Property<M>, state: &M::State) -> bool {
    match p.expectation {
        Expectation::Always => !(p.condition)(model, state),
        Expectation::Sometimes => (p.condition)(model, state),
        Expectation::Eventually => false,
    }
}

/// The safety bits of `state`: bit `i` set when it is a discovery of property `i`
/// ([`discovers`]; at most 64 properties).
pub(crate) fn discoveries<M: Model>(model: &M, props: &[Property<M>], state: &M::State) -> u64 {
    debug_assert!(props.len() <= 64, "at most 64 safety properties");
    props.iter().enumerate().fold(0u64, |bits, (i, p)| {
        bits | u64::from(discovers(model, p, state)) << i
    })
}

/// Whether every safety property is decided (`decided[i]`: property `i` has its discovery),
/// there being at least one; `eventually` properties are not safety's to decide.
pub(crate) fn safety_decided<M: Model>(
    props: &[Property<M>],
    decided: impl IntoIterator<Item = bool>,
) -> bool {
    let mut any = false;
    let all = props.iter().zip(decided).all(|(p, d)| {
        let safety = p.expectation != Expectation::Eventually;
        any |= safety;
        d || !safety
    });
    any && all
}

/// The verdict of an `always` or `sometimes` property: whether a state was found that
/// violates it (`always`) or satisfies it (`sometimes`), and whether everything was explored.
pub(crate) fn safety_verdict(expectation: &Expectation, found: bool, complete: bool) -> Verdict {
    match (expectation, found) {
        (Expectation::Always, true) => Verdict::Violated,
        (Expectation::Sometimes, true) => Verdict::Holds,
        (Expectation::Always, false) if complete => Verdict::Holds,
        (Expectation::Sometimes, false) if complete => Verdict::Violated,
        _ => Verdict::Unknown,
    }
}

/// An actor whose model states the engine can pack and move between threads (what
/// [`Checker::actors`] needs of it).
pub trait PackableActor:
    stateright::actor::Actor<
        Msg: Ord + Send + Sync,
        Timer: Ord + Send + Sync,
        State: Send + Sync + Eq + parts::SharedParts,
        Random: Send + Sync,
        Storage: Send + Sync,
    > + Send
    + Sync
{
}

impl<A> PackableActor for A where
    A: stateright::actor::Actor<
            Msg: Ord + Send + Sync,
            Timer: Ord + Send + Sync,
            State: Send + Sync + Eq + parts::SharedParts,
            Random: Send + Sync,
            Storage: Send + Sync,
        > + Send
        + Sync
{
}

/// A history an `ActorModel` state may record, as the engine needs it.
pub trait PackableHistory: Clone + Debug + Hash + Eq + Send + Sync {}

impl<H: Clone + Debug + Hash + Eq + Send + Sync> PackableHistory for H {}

/// An `ActorModel` of actors `A` and history `H` with symmetry (the identity if none): the
/// models [`Checker::actors`] takes.
pub trait ActorSymmetric<A: PackableActor, H>:
    SymmetricModel<
        State = ActorModelState<A, H>,
        Action = ActorModelAction<A::Msg, A::Timer, A::Random>,
    >
{
}

impl<M, A: PackableActor, H> ActorSymmetric<A, H> for M where
    M: SymmetricModel<
            State = ActorModelState<A, H>,
            Action = ActorModelAction<A::Msg, A::Timer, A::Random>,
        >
{
}

/// Checks, on the first `max_states` states of `model` (breadth-first), the contract of the
/// actor representation of [`Checker::actors`]: on every successor the
/// fingerprint computed from the parent's and the handler's output alone, and the one
/// computed re-hashing only the changed actors, equal the built successor's full
/// fingerprint; a value rebuilt in allocations of its own hashes the same; packing loses
/// nothing. Panics at the first broken rule (a test of the model calls it); returns how
/// many successors were checked and how many the unbuilt shortcut fingerprinted.
pub fn check_actor_repr<A, Cfg, H>(
    model: &ActorModel<A, Cfg, H>,
    max_states: usize,
) -> (usize, usize)
where
    A: PackableActor,
    Cfg: Sync,
    H: PackableHistory,
{
    actor_repr::check_contract(model, max_states)
}
