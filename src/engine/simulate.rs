//! Seeded random walks: cheap bug hunting on state spaces too large to exhaust.
//!
//! Each run `i` gets its own seed, [`run_seed`]`(seed, i)`; a run is a pure function of its
//! seed (splitmix64, our own, so no crate version can change the sequence), so a violation
//! reported with its run seed is replayed exactly by [`replay_run`].

use super::limits::Limits;
use super::trace::Trace;
use super::{Options, StopReason, Verdict, fingerprint::fingerprint};
use stateright::{Expectation, Model};
use std::fmt::Debug;

/// splitmix64: tiny, fast, statistically fine for choosing among enabled actions.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), by multiply-shift (bias < n / 2^64).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() as u128) * (n as u128)) >> 64) as usize
    }
}

/// The seed of run `i` of a simulation seeded with `seed`.
pub fn run_seed(seed: u64, i: u64) -> u64 {
    SplitMix64::new(seed ^ fingerprint(&i)).next_u64()
}

/// Result for one property.
#[derive(Clone, Debug)]
pub struct SimResult<S, A> {
    pub name: &'static str,
    pub expectation: Expectation,
    /// `Violated` (Always: counterexample found), `Holds` (Sometimes: example found), else
    /// `Unknown`: simulation never proves anything.
    pub verdict: Verdict,
    /// Run seed that produced `trace` (pass to [`replay_run`]).
    pub seed: Option<u64>,
    pub trace: Option<Trace<S, A>>,
}

/// What a simulation found.
#[derive(Clone, Debug)]
pub struct SimOutcome<S, A> {
    /// Walks taken (fewer than asked when every property was decided first, or a limit
    /// stopped the simulation).
    pub runs: u64,
    /// The limit that stopped the simulation before its last run, if any.
    pub stopped_by: Option<StopReason>,
    pub total_steps: u64,
    pub seconds: f64,
    pub properties: Vec<SimResult<S, A>>,
}

/// One random walk from run seed `seed`, at most `max_depth` steps, stopping early at a
/// state where `stop` holds (after recording it) or without enabled actions.
fn walk<M>(
    model: &M,
    seed: u64,
    max_depth: u32,
    mut stop: impl FnMut(&M::State) -> bool,
) -> Option<Trace<M::State, M::Action>>
where
    M: Model,
    M::State: Clone,
    M::Action: Clone,
{
    let mut rng = SplitMix64::new(seed);
    let inits: Vec<_> = model
        .init_states()
        .into_iter()
        .filter(|s| model.within_boundary(s))
        .collect();
    if inits.is_empty() {
        return None;
    }
    let init = inits[rng.below(inits.len())].clone();
    let mut trace = Trace::new(init);
    if stop(&trace.init) {
        return Some(trace);
    }
    let mut actions = Vec::new();
    let mut enabled: Vec<(M::Action, M::State)> = Vec::new();
    for _ in 0..max_depth {
        let cur = trace.last();
        actions.clear();
        model.actions(cur, &mut actions);
        enabled.clear();
        for a in actions.drain(..) {
            if let Some(n) = model.next_state(cur, a.clone())
                && model.within_boundary(&n)
            {
                enabled.push((a, n));
            }
        }
        if enabled.is_empty() {
            break;
        }
        let (a, s) = enabled.swap_remove(rng.below(enabled.len()));
        trace.push(a, s);
        if stop(trace.last()) {
            break;
        }
    }
    Some(trace)
}

/// Runs `runs` random walks of at most `max_depth` steps and checks `Always` / `Sometimes`
/// properties on every visited state. The first run (in run order) that decides a property
/// is reported, trimmed to the first offending state.
pub fn simulate<M>(
    model: &M,
    runs: u64,
    seed: u64,
    max_depth: u32,
) -> SimOutcome<M::State, M::Action>
where
    M: Model,
    M::State: Clone + Debug,
    M::Action: Clone + Debug,
{
    let unlimited = Options {
        max_states: None,
        max_depth: None,
        timeout: None,
        max_memory_bytes: None,
        ..Options::default()
    };
    simulate_within(model, runs, seed, max_depth, &unlimited)
}

/// [`simulate`] within the limits of `opts`: `timeout`, `max_memory_bytes`, and `max_states`
/// counted as states visited by all walks together (the initial state of each walk
/// included). A limit is checked after every step, so it can cut the last walk short; the
/// states visited so far are checked all the same. The other fields of `opts` are ignored.
pub fn simulate_within<M>(
    model: &M,
    runs: u64,
    seed: u64,
    max_depth: u32,
    opts: &Options,
) -> SimOutcome<M::State, M::Action>
where
    M: Model,
    M::State: Clone + Debug,
    M::Action: Clone + Debug,
{
    let start = std::time::Instant::now();
    let mut limits = Limits::new(opts);
    let mut stopped_by = None;
    let mut visited = 0u64;
    let mut done = 0u64;
    let props = model.properties();
    let mut results: Vec<SimResult<M::State, M::Action>> = props
        .iter()
        .map(|p| SimResult {
            name: p.name,
            expectation: p.expectation.clone(),
            verdict: Verdict::Unknown,
            seed: None,
            trace: None,
        })
        .collect();
    let mut total_steps = 0;
    for i in 0..runs {
        if results
            .iter()
            .zip(&props)
            .all(|(r, p)| r.verdict != Verdict::Unknown || p.expectation == Expectation::Eventually)
            && !props.is_empty()
        {
            break;
        }
        if let Some(r) = limits.check(visited) {
            stopped_by = Some(r);
            break;
        }
        let s = run_seed(seed, i);
        let Some(trace) = walk(model, s, max_depth, |_| {
            visited += 1;
            if stopped_by.is_none() {
                stopped_by = limits.check(visited);
            }
            stopped_by.is_some()
        }) else {
            break;
        };
        done += 1;
        total_steps += trace.steps.len() as u64;
        for (r, p) in results.iter_mut().zip(&props) {
            if r.verdict != Verdict::Unknown {
                continue;
            }
            let hit = |st: &M::State| super::discovers(model, p, st);
            let states = std::iter::once(&*trace.init).chain(trace.steps.iter().map(|(_, s)| &**s));
            if let Some(k) = states.into_iter().position(hit) {
                r.verdict = match p.expectation {
                    Expectation::Always => Verdict::Violated,
                    _ => Verdict::Holds,
                };
                r.seed = Some(s);
                r.trace = Some(Trace {
                    init: trace.init.clone(),
                    steps: trace.steps[..k].to_vec(),
                });
            }
        }
        if stopped_by.is_some() {
            break;
        }
    }
    SimOutcome {
        runs: done,
        stopped_by,
        total_steps,
        seconds: start.elapsed().as_secs_f64(),
        properties: results,
    }
}

/// Replays the run with run seed `seed` (as reported in [`SimResult::seed`]), up to
/// `max_depth` steps; `None` if the model has no initial state.
pub fn replay_run<M>(model: &M, seed: u64, max_depth: u32) -> Option<Trace<M::State, M::Action>>
where
    M: Model,
    M::State: Clone,
    M::Action: Clone,
{
    walk(model, seed, max_depth, |_| false)
}
