//! Liveness (`eventually q`, `p leads-to q`) under weak fairness, with lasso counterexamples.
//!
//! Algorithm (explicit graph + SCCs, see `specs/engine.md`):
//! 1. BFS over the (canonical) state graph, storing every edge with the fairness class of its
//!    action, the set of classes enabled in each state, BFS parents and `p`/`q` per property.
//! 2. Per property, restrict to `B` = states where `q` is false and compute the SCCs of `B`
//!    (`Graph::sccs`: Tarjan's algorithm with explicit stacks, on the graph's own edge arrays).
//! 3. A non-trivial SCC `C` of `B` contains a weakly fair infinite path iff for every class
//!    `f`: `C` contains an `f`-edge, or some state of `C` has `f` disabled (a path that tours
//!    all of `C` forever is then fair; otherwise `f` is enabled everywhere in `C` and can never
//!    be taken while staying in `C`). States of `B` without any successor (deadlocks) are also
//!    accepting: the behaviour ends there without `q`.
//! 4. Counterexample: the shallowest `p ∧ ¬q` state (initial `¬q` state for `eventually`)
//!    from which `B` reaches an accepting SCC or deadlock; lasso = BFS path to it, shortest path
//!    inside `B` to the accepting part, then a cycle inside `C` through one edge of every
//!    fairness class present in `C` (or a state where the class is disabled), with no detour
//!    for a class the cycle built so far already takes or passes disabled.
//!
//! With symmetry the graph is the quotient graph. That is sound when `p`, `q` and the
//! fairness classes are invariant under the symmetry group (the quotient is then a
//! bisimulation that preserves labels, enabledness and classes); the real lasso is recovered
//! by replaying the quotient cycle until the real state at its start repeats.

use super::explore::{CHUNK, Keep, Kept, Observer, Search, explore};
use super::fingerprint::Fingerprint;
use super::graph::{Graph, NO_CLASS, class_code};
use super::limits::Limits;
use super::repr::Repr;
use super::trace::{Trace, init_with, step_to};
use super::{Options, StopReason, Verdict};
use stateright::Model;
use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;

/// A weak-fairness class (0..64). Every action of the class counts as "taking" it; the class
/// is enabled in a state when any of its actions is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct FairClass(pub u8);

/// A model with weak-fairness assumptions: an infinite behaviour is only considered if, for
/// every class, the class is taken infinitely often or disabled infinitely often.
pub trait FairModel: Model {
    /// The weak-fairness class of `action`, or `None` if it is not fair (may be ignored
    /// forever).
    fn fairness(&self, action: &Self::Action) -> Option<FairClass>;
}

/// What a liveness property demands.
pub enum LivenessKind<M: Model> {
    /// Every (fair) behaviour from an initial state reaches a `q` state.
    Eventually { q: fn(&M, &M::State) -> bool },
    /// Whenever `p` holds, `q` holds then or later, on every (fair) behaviour.
    LeadsTo {
        p: fn(&M, &M::State) -> bool,
        q: fn(&M, &M::State) -> bool,
    },
}

impl<M: Model> Clone for LivenessKind<M> {
    fn clone(&self) -> Self {
        match self {
            LivenessKind::Eventually { q } => LivenessKind::Eventually { q: *q },
            LivenessKind::LeadsTo { p, q } => LivenessKind::LeadsTo { p: *p, q: *q },
        }
    }
}

/// A named liveness property.
pub struct Liveness<M: Model> {
    pub name: &'static str,
    pub kind: LivenessKind<M>,
}

impl<M: Model> Clone for Liveness<M> {
    fn clone(&self) -> Self {
        Liveness {
            name: self.name,
            kind: self.kind.clone(),
        }
    }
}

impl<M: Model> Liveness<M> {
    /// `◇ q` from every initial state.
    pub fn eventually(name: &'static str, q: fn(&M, &M::State) -> bool) -> Self {
        Liveness {
            name,
            kind: LivenessKind::Eventually { q },
        }
    }

    /// `p ⤳ q`.
    pub fn leads_to(
        name: &'static str,
        p: fn(&M, &M::State) -> bool,
        q: fn(&M, &M::State) -> bool,
    ) -> Self {
        Liveness {
            name,
            kind: LivenessKind::LeadsTo { p, q },
        }
    }
}

/// An infinite counterexample: `prefix`, then `cycle` forever. The cycle starts and ends at
/// `prefix.last()`. An empty cycle means the behaviour deadlocks at `prefix.last()`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lasso<S, A> {
    pub prefix: Trace<S, A>,
    pub cycle: Vec<(A, S)>,
}

impl<S: Clone, A: Clone> Lasso<S, A> {
    /// Whether the behaviour ends in a deadlock instead of a cycle.
    pub fn is_deadlock(&self) -> bool {
        self.cycle.is_empty()
    }

    /// The prefix followed by one turn of the cycle, as a plain trace.
    pub fn unrolled(&self) -> Trace<S, A> {
        let mut t = self.prefix.clone();
        for (a, s) in &self.cycle {
            t.push(a.clone(), s.clone());
        }
        t
    }
}

/// Verdict for one liveness property.
pub struct LivenessResult<M: Model> {
    pub name: &'static str,
    /// `Holds`, `Violated` (see `lasso`) or `Unknown` (graph construction stopped early).
    pub verdict: Verdict,
    pub lasso: Option<Lasso<M::State, M::Action>>,
}

impl<M: Model> Debug for LivenessResult<M>
where
    M::State: Debug,
    M::Action: Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LivenessResult")
            .field("name", &self.name)
            .field("verdict", &self.verdict)
            .field("lasso", &self.lasso)
            .finish()
    }
}

/// Result of a liveness check.
pub struct LivenessOutcome<M: Model> {
    pub unique_states: u64,
    pub edges: u64,
    pub complete: bool,
    pub stopped_by: Option<StopReason>,
    pub seconds: f64,
    pub results: Vec<LivenessResult<M>>,
}

impl<M: Model> LivenessOutcome<M> {
    /// Looks a result up by name.
    pub fn result(&self, name: &str) -> Option<&LivenessResult<M>> {
        self.results.iter().find(|r| r.name == name)
    }
}

/// Steps of a lasso as graph nodes: `(node, class of the edge entering it)`.
type Steps = Vec<(usize, u8)>;

/// A property's counterexample in the graph, if it has one: prefix nodes and cycle steps.
type Analysis = Option<(Vec<usize>, Steps)>;

/// Shortest path `from → to` using only edges inside component `comp_id`; with `nonempty`,
/// `from == to` yields a cycle of at least one edge.
fn path_in(g: &Graph, comp: &[u32], comp_id: u32, from: usize, to: usize, nonempty: bool) -> Steps {
    if from == to && !nonempty {
        return Vec::new();
    }
    let mut prev: HashMap<usize, (usize, u8)> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(u) = queue.pop_front() {
        for (v, c) in g.edges(u) {
            if comp[v] != comp_id || prev.contains_key(&v) {
                continue;
            }
            prev.insert(v, (u, c));
            if v == to {
                let mut steps = Vec::new();
                let mut cur = v;
                loop {
                    let (p, c) = prev[&cur];
                    steps.push((cur, c));
                    if p == from {
                        break;
                    }
                    cur = p;
                }
                steps.reverse();
                return steps;
            }
            queue.push_back(v);
        }
    }
    unreachable!("nodes of one SCC are mutually reachable")
}

/// Finds a lasso (as graph nodes) for property `i`, if there is one.
fn analyse(g: &Graph, i: usize) -> Analysis {
    let n = g.len();
    let q = &g.q[i];
    let p = &g.p[i];
    // SCCs of B (¬q states, edges inside B).
    let sccs = g.sccs(|u| !q[u]);
    let comp = &sccs.comp;
    let mut accepting = vec![false; n];
    for k in 0..sccs.len() {
        let mut all_enabled = u64::MAX;
        let mut taken = 0u64;
        let mut internal_edge = false;
        for u in sccs.members(k) {
            all_enabled &= g.enabled[u];
            for (v, c) in g.edges(u) {
                if comp[v] == k as u32 {
                    internal_edge = true;
                    if c != NO_CLASS {
                        taken |= 1 << c;
                    }
                }
            }
        }
        if internal_edge && all_enabled & !taken == 0 {
            for u in sccs.members(k) {
                accepting[u] = true;
            }
        }
    }
    for u in 0..n {
        if !q[u] && g.is_dead_end(u) {
            accepting[u] = true; // deadlock without q
        }
    }
    // Which components reach an accepting state inside B. Tarjan numbers a component after
    // every component it has an edge to, so one pass in component order decides each from
    // its own members and the components it points to (no reverse edges needed).
    let mut reaches = vec![false; sccs.len()];
    for k in 0..sccs.len() {
        reaches[k] = sccs.members(k).any(|u| {
            accepting[u]
                || g.edges(u).any(|(v, _)| {
                    !q[v] && comp[v] as usize != k && {
                        debug_assert!((comp[v] as usize) < k, "Tarjan's order");
                        reaches[comp[v] as usize]
                    }
                })
        });
    }
    // The shallowest p ∧ ¬q state that can stay in B forever (fairly): nodes are numbered
    // level by level, so the first one.
    let start = (0..n).find(|&u| p[u] && !q[u] && reaches[comp[u] as usize])?;
    let mut prefix = g.path_from_init(start);
    // Then a shortest path inside B to an accepting state: breadth-first from `start`,
    // through the states that reach one, the first accepting state met (edge order).
    let mut from = vec![u32::MAX; n];
    from[start] = start as u32;
    let mut queue = VecDeque::from([start]);
    let mut cur = start;
    'search: while let Some(u) = queue.pop_front() {
        if accepting[u] {
            cur = u;
            break;
        }
        for (v, _) in g.edges(u) {
            if q[v] || from[v] != u32::MAX || !reaches[comp[v] as usize] {
                continue;
            }
            from[v] = u as u32;
            if accepting[v] {
                cur = v;
                break 'search;
            }
            queue.push_back(v);
        }
    }
    debug_assert!(accepting[cur], "start reaches an accepting state");
    drop(queue);
    let mut tail = Vec::new();
    let mut at = cur;
    while at != start {
        tail.push(at);
        at = from[at] as usize;
    }
    drop(from);
    prefix.extend(tail.into_iter().rev());
    if g.is_dead_end(cur) {
        return Some((prefix, Vec::new()));
    }
    // A fair cycle through `cur` inside its SCC.
    let k = comp[cur];
    let members: Vec<usize> = sccs.members(k as usize).collect();
    let any_enabled = members.iter().fold(0u64, |a, &u| a | g.enabled[u]);
    let mut cycle: Steps = Vec::new();
    let mut at = cur;
    // Classes the cycle so far takes, or passes a state where they are disabled: those need
    // no detour (a cycle that already goes once round a loop through every class is kept).
    let mut covered = !g.enabled[cur];
    for f in (0..64u8).filter(|f| any_enabled >> f & 1 == 1) {
        for &(v, c) in &cycle {
            if c != NO_CLASS {
                covered |= 1 << c;
            }
            covered |= !g.enabled[v];
        }
        if covered >> f & 1 == 1 {
            continue;
        }
        let edge = members.iter().find_map(|&u| {
            g.edges(u)
                .find(|&(v, c)| c == f && comp[v] == k)
                .map(|(v, _)| (u, v))
        });
        match edge {
            Some((u, v)) => {
                cycle.extend(path_in(g, comp, k, at, u, false));
                cycle.push((v, f));
                at = v;
            }
            None => {
                let w = *members
                    .iter()
                    .find(|&&w| g.enabled[w] >> f & 1 == 0)
                    .expect("accepting SCC: class disabled somewhere");
                cycle.extend(path_in(g, comp, k, at, w, false));
                at = w;
            }
        }
    }
    cycle.extend(path_in(g, comp, k, at, cur, cycle.is_empty()));
    Some((prefix, cycle))
}

/// Maps a graph lasso to a real one by replay (see module docs for symmetry).
fn realise<M, R>(
    model: &M,
    repr: &R,
    fair: &dyn Fn(&M::Action) -> Option<FairClass>,
    g: &Graph,
    prefix: &[usize],
    cycle: &Steps,
) -> Lasso<M::State, M::Action>
where
    M: Model,
    R: Repr<M>,
    M::State: Clone + Hash + Eq,
    M::Action: Clone,
{
    let init = init_with(model, repr, g.fps[prefix[0]]).expect("lasso replay: no initial state");
    let mut scratch = R::Scratch::default();
    let mut pre = Trace::new(init);
    for &u in &prefix[1..] {
        let (a, s) = step_to(model, repr, pre.last(), &mut scratch, g.fps[u], &|_| true)
            .expect("lasso replay failed (nondeterministic model or bad symmetry?)");
        pre.push(a, s);
    }
    if cycle.is_empty() {
        return Lasso {
            prefix: pre,
            cycle: Vec::new(),
        };
    }
    // Replay turns of the quotient cycle until a real cycle-start state repeats.
    let mut cur = pre.last().clone();
    let mut starts: Vec<M::State> = vec![cur.clone()];
    let mut turns: Vec<Vec<(M::Action, M::State)>> = Vec::new();
    for _ in 0..100_000 {
        let mut turn = Vec::with_capacity(cycle.len());
        for &(v, c) in cycle {
            let (a, s) = step_to(model, repr, &cur, &mut scratch, g.fps[v], &|a| {
                class_code(fair(a)) == c
            })
            .expect("lasso replay failed (fairness classes not symmetric?)");
            cur = s.clone();
            turn.push((a, s));
        }
        turns.push(turn);
        if let Some(j) = starts.iter().position(|s| *s == cur) {
            for (a, s) in turns.drain(..j).flatten() {
                pre.push(a, s);
            }
            return Lasso {
                prefix: pre,
                cycle: turns.into_iter().flatten().collect(),
            };
        }
        starts.push(cur.clone());
    }
    panic!("lasso replay: real cycle did not close");
}

/// Shared implementation (also used by the safety search, `safety::run`, for stateright
/// `eventually` properties).
pub(crate) fn check_with<M, R>(
    model: &M,
    repr: &R,
    fair: &(dyn Fn(&M::Action) -> Option<FairClass> + Sync),
    props: &[Liveness<M>],
    opts: &Options,
) -> LivenessOutcome<M>
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    check_visiting(model, repr, fair, props, &|_| 0, opts, None).0
}

/// The state graph a liveness check explored, the limit that stopped its exploration, and
/// per safety bit the first node (number and fingerprint) whose label has it.
pub(crate) struct Built {
    pub(crate) graph: Graph,
    pub(crate) stopped: Option<StopReason>,
    pub(crate) first_hit: [Option<(usize, Fingerprint)>; 64],
}

/// [`check_with`], labelling every state with `safety`'s bits (see [`Built::first_hit`]) and
/// calling `on_new`, if given, on every state as the graph first stores it (in node order),
/// and handing back what the build found and the seconds it took (the outcome's `stopped_by`
/// may also be a limit that stopped the analysis of a complete graph).
pub(crate) fn check_visiting<M, R>(
    model: &M,
    repr: &R,
    fair: &(dyn Fn(&M::Action) -> Option<FairClass> + Sync),
    props: &[Liveness<M>],
    safety: &(dyn Fn(&M::State) -> u64 + Sync),
    opts: &Options,
    on_new: Observer<'_, M::State>,
) -> (LivenessOutcome<M>, Built, f64)
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    let mut limits = Limits::new(opts);
    let search = Search {
        model,
        keep: Keep::Graph,
        fair,
        props,
        safety,
        decided_when: 0,
        chunk: CHUNK,
    };
    let explored = explore(&search, repr, opts, &mut limits, on_new);
    let Kept::Graph(graph) = explored.kept else {
        unreachable!("a graph was asked for")
    };
    let built = Built {
        graph,
        stopped: explored.stopped,
        first_hit: explored.first_hit,
    };
    let (g, stopped) = (&built.graph, built.stopped);
    let elapsed = limits.elapsed();
    // The analysis allocates on top of the graph; a memory limit is honoured before it
    // does (the graph itself was built within the limit). The properties are analysed one
    // at a time: each allocation is then freed before the next (on the ZBS models the
    // analyses take a few percent of the run, and running them on several threads at once
    // bought no time but held several allocations at once).
    let mut analysis_stopped = None;
    let analysed: Vec<Option<Analysis>> = if stopped.is_some() {
        props.iter().map(|_| None).collect()
    } else {
        (0..props.len())
            .map(|i| {
                if analysis_stopped.is_none()
                    && let Some(max) = opts.max_memory_bytes
                    && super::current_rss_bytes().is_some_and(|rss| rss + analysis_bytes(g) > max)
                {
                    analysis_stopped = Some(StopReason::MaxMemory);
                }
                analysis_stopped.is_none().then(|| analyse(g, i))
            })
            .collect()
    };
    let results = props
        .iter()
        .zip(analysed)
        .map(|(pr, a)| match a {
            None => LivenessResult {
                name: pr.name,
                verdict: Verdict::Unknown,
                lasso: None,
            },
            Some(None) => LivenessResult {
                name: pr.name,
                verdict: Verdict::Holds,
                lasso: None,
            },
            Some(Some((prefix, cycle))) => LivenessResult {
                name: pr.name,
                verdict: Verdict::Violated,
                lasso: Some(realise(model, repr, fair, g, &prefix, &cycle)),
            },
        })
        .collect();
    let outcome = LivenessOutcome {
        unique_states: g.len() as u64,
        edges: g.succ.len() as u64,
        complete: stopped.is_none() && analysis_stopped.is_none(),
        stopped_by: stopped.or(analysis_stopped),
        seconds: limits.elapsed(),
        results,
    };
    (outcome, built, elapsed)
}

/// What [`analyse`] allocates for a property at its peak, on top of the graph, in bytes: at
/// most 32 B a node. Tarjan's arrays and stacks at their deepest (`Graph::sccs`: 20 B a node)
/// beside the components (12 B a node); afterwards, with the components kept, less: the
/// acceptance flags (1 B a node, 1 B a component) and the forward search to an accepting
/// state (12 B a node with its queue). Checked before the allocation, so that
/// `max_memory_bytes` is honoured rather than noticed after it.
fn analysis_bytes(g: &Graph) -> u64 {
    32 * g.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Breadth-first distances inside the ¬q nodes from `from` (`None`: not reached).
    fn distances_in_b(g: &Graph, from: usize) -> Vec<Option<usize>> {
        let q = &g.q[0];
        let mut d = vec![None; g.len()];
        d[from] = Some(0);
        let mut queue = VecDeque::from([from]);
        while let Some(u) = queue.pop_front() {
            for (v, _) in g.edges(u) {
                if !q[v] && d[v].is_none() {
                    d[v] = Some(d[u].unwrap() + 1);
                    queue.push_back(v);
                }
            }
        }
        d
    }

    proptest::proptest! {
        /// Without fairness classes, a ¬q state is accepting when it lies on a cycle of ¬q
        /// states or has no successor. The lasso starts at the first `p ∧ ¬q` node that reaches
        /// one inside ¬q, goes there by a shortest path of edges inside ¬q, then closes a cycle
        /// (or stops at the dead end); no lasso exactly when no such node exists.
        #[test]
        fn lassos_start_first_and_reach_acceptance_shortest(
            n in 1usize..12,
            edges in proptest::collection::vec((0usize..12, 0usize..12), 0..30),
            labels in proptest::collection::vec((proptest::bool::ANY, proptest::bool::weighted(0.3)), 12),
        ) {
            let edges: Vec<_> = edges.into_iter().filter(|&(u, v)| u < n && v < n).collect();
            let g = Graph::of_edges(n, &edges, |u| labels[u]);
            let q = &g.q[0];
            let on_cycle = |u: usize| g.edges(u).any(|(v, _)| !q[v] && distances_in_b(&g, v)[u].is_some());
            let accepting = |u: usize| !q[u] && (g.is_dead_end(u) || on_cycle(u));
            let to_accepting = |u: usize| {
                let d = distances_in_b(&g, u);
                (0..n).filter(|&v| accepting(v)).filter_map(|v| d[v]).min()
            };
            let start = (0..n).find(|&u| labels[u].0 && !q[u] && to_accepting(u).is_some());
            let found = analyse(&g, 0);
            proptest::prop_assert_eq!(found.is_some(), start.is_some());
            let Some((prefix, cycle)) = found else { return Ok(()) };
            let start = start.unwrap();
            // All nodes are initial: the prefix is the start, then the way to acceptance.
            proptest::prop_assert_eq!(prefix[0], start);
            proptest::prop_assert_eq!(Some(prefix.len() - 1), to_accepting(start));
            for w in prefix.windows(2) {
                proptest::prop_assert!(g.edges(w[0]).any(|(v, _)| v == w[1]));
            }
            proptest::prop_assert!(prefix.iter().all(|&u| !q[u]));
            let last = *prefix.last().unwrap();
            proptest::prop_assert!(accepting(last));
            if g.is_dead_end(last) {
                proptest::prop_assert!(cycle.is_empty());
            } else {
                proptest::prop_assert!(!cycle.is_empty());
                let mut at = last;
                for &(v, _) in &cycle {
                    proptest::prop_assert!(g.edges(at).any(|(w, _)| w == v) && !q[v]);
                    at = v;
                }
                proptest::prop_assert_eq!(at, last, "the cycle closes");
            }
        }
    }
}
