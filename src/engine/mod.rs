//! Interim exploration engine: single-threaded breadth-first search with parent links, so every
//! counterexample is a shortest path. (To be replaced by the full engine: parallel,
//! symmetry, liveness, limits — same API.)

use stateright::{Expectation, Model};
use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::{BuildHasher, Hash};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub threads: usize,
    pub symmetry: bool,
    pub max_states: Option<u64>,
    pub max_depth: Option<u32>,
    pub timeout: Option<Duration>,
    pub max_memory_bytes: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Violated,
    Unknown,
}

#[derive(Clone, Debug)]
pub struct Trace<S, A> {
    pub init: S,
    pub steps: Vec<(A, S)>,
}

pub struct PropertyResult<M: Model> {
    pub name: &'static str,
    pub expectation: Expectation,
    pub verdict: Verdict,
    pub trace: Option<Trace<M::State, M::Action>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    MaxStates,
    MaxDepth,
    Timeout,
    MaxMemory,
}

pub struct Outcome<M: Model> {
    pub unique_states: u64,
    pub max_depth: u32,
    pub seconds: f64,
    pub peak_rss_bytes: u64,
    pub complete: bool,
    pub stopped_by: Option<StopReason>,
    pub properties: Vec<PropertyResult<M>>,
}

type Fp = u64;

fn fingerprint<S: Hash>(s: &S) -> Fp {
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(s)
}

pub fn explore<M>(model: &M, opts: &Options) -> Outcome<M>
where
    M: Model,
    M::State: Clone + Debug + Hash,
    M::Action: Clone + Debug,
{
    let start = Instant::now();
    let props = model.properties();
    let mut found: Vec<Option<Fp>> = vec![None; props.len()];
    let mut parent: HashMap<Fp, Option<Fp>> = HashMap::new();
    let mut queue: VecDeque<(M::State, u32)> = VecDeque::new();
    for s in model.init_states() {
        let fp = fingerprint(&s);
        if parent.insert(fp, None).is_none() {
            queue.push_back((s, 0));
        }
    }
    let mut max_depth = 0;
    let mut stopped_by = None;
    let mut actions = Vec::new();
    while let Some((state, depth)) = queue.pop_front() {
        max_depth = max_depth.max(depth);
        let fp = fingerprint(&state);
        for (i, p) in props.iter().enumerate() {
            if found[i].is_none() {
                let holds = (p.condition)(model, &state);
                let hit = match p.expectation {
                    Expectation::Always => !holds,
                    Expectation::Sometimes => holds,
                    Expectation::Eventually => false,
                };
                if hit {
                    found[i] = Some(fp);
                }
            }
        }
        if let Some(limit) = opts.max_states
            && parent.len() as u64 >= limit
        {
            stopped_by = Some(StopReason::MaxStates);
            break;
        }
        if opts.timeout.is_some_and(|t| start.elapsed() >= t) {
            stopped_by = Some(StopReason::Timeout);
            break;
        }
        if opts.max_depth.is_some_and(|d| depth >= d) {
            stopped_by = Some(StopReason::MaxDepth);
            continue;
        }
        actions.clear();
        model.actions(&state, &mut actions);
        for a in actions.drain(..) {
            if let Some(next) = model.next_state(&state, a) {
                if !model.within_boundary(&next) {
                    continue;
                }
                let nfp = fingerprint(&next);
                if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(nfp) {
                    e.insert(Some(fp));
                    queue.push_back((next, depth + 1));
                }
            }
        }
    }
    let complete = stopped_by.is_none();
    let properties = props
        .iter()
        .zip(found)
        .map(|(p, hit)| {
            let verdict = match (&p.expectation, hit, complete) {
                (Expectation::Always, Some(_), _) => Verdict::Violated,
                (Expectation::Sometimes, Some(_), _) => Verdict::Holds,
                (Expectation::Always, None, true) => Verdict::Holds,
                (Expectation::Sometimes, None, true) => Verdict::Violated,
                _ => Verdict::Unknown,
            };
            PropertyResult {
                name: p.name,
                expectation: p.expectation.clone(),
                verdict,
                trace: hit.map(|fp| rebuild(model, &parent, fp)),
            }
        })
        .collect();
    Outcome {
        unique_states: parent.len() as u64,
        max_depth,
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_bytes: 0,
        complete,
        stopped_by,
        properties,
    }
}

/// Replays from an initial state along the parent chain to the state with fingerprint `target`.
fn rebuild<M>(model: &M, parent: &HashMap<Fp, Option<Fp>>, target: Fp) -> Trace<M::State, M::Action>
where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let mut chain = vec![target];
    while let Some(Some(p)) = parent.get(chain.last().unwrap()) {
        chain.push(*p);
    }
    chain.reverse();
    let init = model
        .init_states()
        .into_iter()
        .find(|s| fingerprint(s) == chain[0])
        .expect("the chain starts at an initial state");
    let mut steps: Vec<(M::Action, M::State)> = Vec::new();
    let mut current = init.clone();
    for &want in &chain[1..] {
        let (a, s) = model
            .next_steps(&current)
            .into_iter()
            .find(|(_, s)| fingerprint(s) == want)
            .expect("a recorded successor is reproducible");
        steps.push((a, s.clone()));
        current = s;
    }
    Trace { init, steps }
}
