//! Liveness (`eventually q`, `p leads-to q`) under weak fairness, with lasso counterexamples.
//!
//! Algorithm (explicit graph + SCCs, see `specs/engine.md`):
//! 1. BFS over the (canonical) state graph, storing every edge with the fairness class of its
//!    action, the set of classes enabled in each state, BFS parents and `p`/`q` per property.
//! 2. Per property, restrict to `B` = states where `q` is false and compute the SCCs of `B`
//!    (petgraph's iterative Kosaraju: no recursion, so deep graphs cannot overflow the stack).
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

use super::fingerprint::{Fingerprint, IdentityBuild};
use super::limits::Limits;
use super::progress::Reporter;
use super::repr::{Plain, Repr};
use super::symmetry::{Canonical, Identity, SymmetricModel};
use super::trace::{Trace, init_with, step_to};
use super::{Options, StopReason, Verdict};
use petgraph::graph::{DiGraph, NodeIndex};
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

/// Checks `props` under `model`'s weak-fairness classes (no symmetry).
pub fn check_liveness<M>(model: &M, props: &[Liveness<M>], opts: &Options) -> LivenessOutcome<M>
where
    M: FairModel + Sync,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    check_with(model, &Plain(Identity), &|a| model.fairness(a), props, opts)
}

/// Checks `props` with no fairness assumption at all.
pub fn check_liveness_unfair<M>(
    model: &M,
    props: &[Liveness<M>],
    opts: &Options,
) -> LivenessOutcome<M>
where
    M: Model + Sync,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    check_with(model, &Plain(Identity), &|_| None, props, opts)
}

/// Like [`check_liveness`] on the symmetry quotient when `opts.symmetry`. Requires `p`, `q`
/// and the fairness classes to be invariant under the symmetry group.
pub fn check_liveness_symmetric<M>(
    model: &M,
    props: &[Liveness<M>],
    opts: &Options,
) -> LivenessOutcome<M>
where
    M: FairModel + SymmetricModel + Sync,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    if opts.symmetry {
        check_with(
            model,
            &Plain(Canonical),
            &|a| model.fairness(a),
            props,
            opts,
        )
    } else {
        check_with(model, &Plain(Identity), &|a| model.fairness(a), props, opts)
    }
}

const NO_CLASS: u8 = u8::MAX;
const NO_PARENT: u32 = u32::MAX;

/// The explicit state graph. Nodes are numbered in breadth-first order (parents, then
/// actions, in order): the order a sequential BFS first meets the states.
pub(crate) struct Graph {
    pub(crate) fps: Vec<Fingerprint>,
    parent: Vec<u32>,
    pub(crate) depth: Vec<u32>,
    init: Vec<bool>,
    /// CSR: edges of node `u` are `off[u]..off[u+1]`.
    off: Vec<usize>,
    succ: Vec<u32>,
    class: Vec<u8>,
    enabled: Vec<u64>,
    /// Per property: `p` and `q` per node.
    p: Vec<Vec<bool>>,
    q: Vec<Vec<bool>>,
}

impl Graph {
    fn len(&self) -> usize {
        self.fps.len()
    }
    fn edges(&self, u: usize) -> impl Iterator<Item = (usize, u8)> + '_ {
        (self.off[u]..self.off[u + 1]).map(|e| (self.succ[e] as usize, self.class[e]))
    }
    pub(crate) fn path_from_init(&self, mut u: usize) -> Vec<usize> {
        let mut v = vec![u];
        while self.parent[u] != NO_PARENT {
            u = self.parent[u] as usize;
            v.push(u);
        }
        v.reverse();
        v
    }
}

fn class_code(c: Option<FairClass>) -> u8 {
    match c {
        Some(FairClass(f)) => {
            assert!(f < 64, "fairness classes must be < 64");
            f
        }
        None => NO_CLASS,
    }
}

fn eval<M: Model>(model: &M, props: &[Liveness<M>], s: &M::State, g: &mut Graph, init: bool) {
    for (i, pr) in props.iter().enumerate() {
        let (p, q) = match &pr.kind {
            LivenessKind::Eventually { q } => (init, q(model, s)),
            LivenessKind::LeadsTo { p, q } => (p(model, s), q(model, s)),
        };
        g.p[i].push(p);
        g.q[i].push(q);
    }
}

fn build<M, R>(
    model: &M,
    repr: &R,
    fair: &dyn Fn(&M::Action) -> Option<FairClass>,
    props: &[Liveness<M>],
    opts: &Options,
    limits: &mut Limits,
    on_new: &mut dyn FnMut(&M::State),
) -> (Graph, Option<StopReason>)
where
    M: Model,
    R: Repr<M>,
    M::State: Clone + Hash,
{
    let mut g = Graph {
        fps: Vec::new(),
        parent: Vec::new(),
        depth: Vec::new(),
        init: Vec::new(),
        off: vec![0],
        succ: Vec::new(),
        class: Vec::new(),
        enabled: Vec::new(),
        p: vec![Vec::new(); props.len()],
        q: vec![Vec::new(); props.len()],
    };
    let mut index: HashMap<Fingerprint, u32, IdentityBuild> = HashMap::default();
    let mut queue: VecDeque<R::Packed> = VecDeque::new();
    let mut reporter = Reporter::new(opts.progress);
    for s in model.init_states() {
        if !model.within_boundary(&s) {
            continue;
        }
        let c = repr.canon(model, s);
        let fp = repr.fingerprint(&c);
        if index.contains_key(&fp) {
            continue;
        }
        index.insert(fp, g.fps.len() as u32);
        g.fps.push(fp);
        g.parent.push(NO_PARENT);
        g.depth.push(0);
        g.init.push(true);
        eval(model, props, &c, &mut g, true);
        on_new(&c);
        queue.push_back(repr.pack(c, None));
    }
    let mut actions = Vec::new();
    let mut u = 0usize;
    let mut scratch = R::Scratch::default();
    while let Some(packed) = queue.pop_front() {
        let state = repr.unpack(&packed);
        let state = &*state;
        let memo = repr.memo_packed(&scratch, &packed, state);
        let mut enabled = 0u64;
        model.actions(state, &mut actions);
        for action in actions.drain(..) {
            let cls = class_code(fair(&action));
            // An edge to a known state needs only the successor's fingerprint.
            let fast = repr.successor_fingerprint(model, &memo, &mut scratch, state, &action);
            let known = match fast {
                Some(None) => continue,
                Some(Some(fp)) => index.get(&fp).copied(),
                None => None,
            };
            let v = match known {
                Some(v) => {
                    if cls != NO_CLASS {
                        enabled |= 1 << cls;
                    }
                    v
                }
                None => {
                    let Some(next) = model.next_state(state, action) else {
                        continue;
                    };
                    if !model.within_boundary(&next) {
                        continue;
                    }
                    if cls != NO_CLASS {
                        enabled |= 1 << cls;
                    }
                    let c = repr.canon(model, next);
                    let fp = repr.child_fingerprint(&memo, state, &c);
                    match index.get(&fp) {
                        Some(&v) => v,
                        None => {
                            let v = g.fps.len() as u32;
                            index.insert(fp, v);
                            g.fps.push(fp);
                            g.parent.push(u as u32);
                            g.depth.push(g.depth[u] + 1);
                            g.init.push(false);
                            eval(model, props, &c, &mut g, false);
                            on_new(&c);
                            queue.push_back(repr.pack_sharing(&mut scratch, c, (state, &packed)));
                            v
                        }
                    }
                }
            };
            g.succ.push(v);
            g.class.push(cls);
        }
        g.enabled.push(enabled);
        g.off.push(g.succ.len());
        u += 1;
        if u.is_multiple_of(4096) {
            reporter.tick(
                "state graph",
                g.fps.len() as u64,
                g.depth[u - 1],
                queue.len() as u64,
            );
        }
        if let Some(r) = limits.check(g.fps.len() as u64)
            && !queue.is_empty()
        {
            return (g, Some(r));
        }
        if opts.max_depth.is_some_and(|m| g.depth[u - 1] >= m) && !queue.is_empty() {
            // A depth bound cuts behaviours short: liveness cannot be decided.
            return (g, Some(StopReason::MaxDepth));
        }
    }
    (g, None)
}

/// Steps of a lasso as graph nodes: `(node, class of the edge entering it)`.
type Steps = Vec<(usize, u8)>;

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
fn analyse(g: &Graph, i: usize) -> Option<(Vec<usize>, Steps)> {
    let n = g.len();
    let q = &g.q[i];
    let p = &g.p[i];
    // SCCs of B (¬q states, edges inside B).
    let mut b: DiGraph<(), (), u32> = DiGraph::with_capacity(n, 0);
    for _ in 0..n {
        b.add_node(());
    }
    for u in (0..n).filter(|&u| !q[u]) {
        for (v, _) in g.edges(u) {
            if !q[v] {
                b.add_edge(NodeIndex::new(u), NodeIndex::new(v), ());
            }
        }
    }
    let sccs = petgraph::algo::kosaraju_scc(&b);
    drop(b);
    let mut comp = vec![u32::MAX; n];
    for (k, scc) in sccs.iter().enumerate() {
        for x in scc {
            comp[x.index()] = k as u32;
        }
    }
    let mut accepting = vec![false; n];
    for (k, scc) in sccs.iter().enumerate() {
        let k = k as u32;
        if q[scc[0].index()] {
            continue;
        }
        let mut all_enabled = u64::MAX;
        let mut taken = 0u64;
        let mut internal_edge = false;
        for x in scc {
            let u = x.index();
            all_enabled &= g.enabled[u];
            for (v, c) in g.edges(u) {
                if comp[v] == k {
                    internal_edge = true;
                    if c != NO_CLASS {
                        taken |= 1 << c;
                    }
                }
            }
        }
        if internal_edge && all_enabled & !taken == 0 {
            for x in scc {
                accepting[x.index()] = true;
            }
        }
    }
    for u in 0..n {
        if !q[u] && g.off[u] == g.off[u + 1] {
            accepting[u] = true; // deadlock without q
        }
    }
    // Backward BFS inside B from the accepting states.
    let mut rev_off = vec![0usize; n + 1];
    for u in (0..n).filter(|&u| !q[u]) {
        for (v, _) in g.edges(u) {
            if !q[v] {
                rev_off[v + 1] += 1;
            }
        }
    }
    for k in 0..n {
        rev_off[k + 1] += rev_off[k];
    }
    let mut fill = rev_off.clone();
    let mut rev = vec![0u32; rev_off[n]];
    for u in (0..n).filter(|&u| !q[u]) {
        for (v, _) in g.edges(u) {
            if !q[v] {
                rev[fill[v]] = u as u32;
                fill[v] += 1;
            }
        }
    }
    let mut next_hop = vec![u32::MAX; n];
    let mut queue: VecDeque<usize> = VecDeque::new();
    for u in (0..n).filter(|&u| accepting[u]) {
        next_hop[u] = u as u32;
        queue.push_back(u);
    }
    while let Some(v) = queue.pop_front() {
        for &u in &rev[rev_off[v]..rev_off[v + 1]] {
            let u = u as usize;
            if next_hop[u] == u32::MAX {
                next_hop[u] = v as u32;
                queue.push_back(u);
            }
        }
    }
    // The shallowest p ∧ ¬q state that can stay in B forever (fairly).
    let start = (0..n)
        .filter(|&u| p[u] && !q[u] && next_hop[u] != u32::MAX)
        .min_by_key(|&u| (g.depth[u], u))?;
    let mut prefix = g.path_from_init(start);
    let mut cur = start;
    while next_hop[cur] as usize != cur {
        cur = next_hop[cur] as usize;
        prefix.push(cur);
    }
    if g.off[cur] == g.off[cur + 1] {
        return Some((prefix, Vec::new()));
    }
    // A fair cycle through `cur` inside its SCC.
    let k = comp[cur];
    let members: Vec<usize> = sccs[k as usize].iter().map(|x| x.index()).collect();
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
                cycle.extend(path_in(g, &comp, k, at, u, false));
                cycle.push((v, f));
                at = v;
            }
            None => {
                let w = *members
                    .iter()
                    .find(|&&w| g.enabled[w] >> f & 1 == 0)
                    .expect("accepting SCC: class disabled somewhere");
                cycle.extend(path_in(g, &comp, k, at, w, false));
                at = w;
            }
        }
    }
    cycle.extend(path_in(g, &comp, k, at, cur, cycle.is_empty()));
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

/// Shared implementation (also used by `explore` for stateright `eventually` properties).
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
    check_visiting(model, repr, fair, props, opts, &mut |_| {}).0
}

/// [`check_with`], calling `on_new` on every state as the graph first stores it (in node
/// order), and handing back the graph, the seconds its construction took, and the limit that
/// stopped its construction (the outcome's `stopped_by` may also be a limit that stopped the
/// analysis of a complete graph).
pub(crate) fn check_visiting<M, R>(
    model: &M,
    repr: &R,
    fair: &(dyn Fn(&M::Action) -> Option<FairClass> + Sync),
    props: &[Liveness<M>],
    opts: &Options,
    on_new: &mut dyn FnMut(&M::State),
) -> (LivenessOutcome<M>, Graph, f64, Option<StopReason>)
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    let mut limits = Limits::new(opts);
    let (g, stopped) = build(model, repr, fair, props, opts, &mut limits, on_new);
    let built = limits.elapsed();
    // The analysis allocates on top of the graph; a memory limit is honoured before it
    // does (the graph itself was built within the limit).
    let mut analysis_stopped = None;
    let mut results = Vec::with_capacity(props.len());
    for (i, pr) in props.iter().enumerate() {
        if stopped.is_none()
            && analysis_stopped.is_none()
            && let Some(max) = opts.max_memory_bytes
            && super::current_rss_bytes().is_some_and(|rss| rss + analysis_bytes(&g, i) > max)
        {
            analysis_stopped = Some(StopReason::MaxMemory);
        }
        if stopped.is_some() || analysis_stopped.is_some() {
            results.push(LivenessResult {
                name: pr.name,
                verdict: Verdict::Unknown,
                lasso: None,
            });
            continue;
        }
        results.push(match analyse(&g, i) {
            None => LivenessResult {
                name: pr.name,
                verdict: Verdict::Holds,
                lasso: None,
            },
            Some((prefix, cycle)) => LivenessResult {
                name: pr.name,
                verdict: Verdict::Violated,
                lasso: Some(realise(model, repr, fair, &g, &prefix, &cycle)),
            },
        });
    }
    let outcome = LivenessOutcome {
        unique_states: g.len() as u64,
        edges: g.succ.len() as u64,
        complete: stopped.is_none() && analysis_stopped.is_none(),
        stopped_by: stopped.or(analysis_stopped),
        seconds: limits.elapsed(),
        results,
    };
    (outcome, g, built, stopped)
}

/// What [`analyse`] allocates for property `i` at its peak, on top of the graph, in bytes:
/// first petgraph's copy of the graph (8 B a node, 16 B an edge of the ¬q subgraph),
/// Kosaraju's finishing order, stack and visited set (12 B a node) and one `Vec` per SCC
/// (≤ 56 B a node with the allocator's overhead); then, with the SCCs kept, the component,
/// acceptance, reverse-edge (4 B an edge) and BFS arrays (33 B a node). An upper bound from
/// the node and edge counts, so that `max_memory_bytes` is honoured before the allocation
/// rather than noticed after it.
fn analysis_bytes(g: &Graph, i: usize) -> u64 {
    let q = &g.q[i];
    let n = g.len() as u64;
    let b_edges: u64 = (0..g.len())
        .filter(|&u| !q[u])
        .map(|u| g.edges(u).filter(|&(v, _)| !q[v]).count() as u64)
        .sum();
    let sccs = 56 * n;
    let first = 8 * n + 16 * b_edges + 12 * n + sccs;
    let then = sccs + 33 * n + 4 * b_edges;
    first.max(then)
}
