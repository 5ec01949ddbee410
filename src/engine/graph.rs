//! The explicit state graph of a liveness check, built breadth-first on every thread.
//!
//! Nodes are numbered in the order a sequential BFS first meets the states (level, then
//! parent, then action), whatever the thread count. A level is expanded in batches; each
//! batch is cut into chunks of consecutive parents that the threads claim:
//!
//! 1. **expand** (parallel) — for each parent of a chunk, in order, every action's
//!    successor: its fingerprint (unbuilt where the representation can), looked up among the
//!    nodes numbered so far (read-only during the phase) and among the batch's candidates (a
//!    table sharded by fingerprint). A successor found in neither is built, canonicalised,
//!    labelled (the safety hits and the liveness `p`/`q` of the caller) and packed as a
//!    candidate; the edge names it by fingerprint.
//! 2. **number** (the calling thread) — chunks in order, edges in order: an edge to a
//!    candidate numbers it if it is not numbered yet, with the edge's parent as its BFS
//!    parent. Edges are therefore appended, and nodes numbered, in exactly the sequential
//!    generation order, so the graph (nodes, edges, classes, enabled masks, BFS parents) is the
//!    one a one-thread build makes, and the limits are checked after every parent just as there.
//!
//! Whichever thread builds a candidate first, the state is the same (a successor is a function
//! of its parent and action, and equal fingerprints mean equal states); two threads that meet
//! a new successor at once may both build it, and one copy is dropped.

use super::fingerprint::{Fingerprint, IdentityBuild};
use super::limits::Limits;
use super::liveness::{FairClass, Liveness, LivenessKind};
use super::progress::Reporter;
use super::repr::Repr;
use super::{Options, StopReason};
use stateright::Model;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) const NO_CLASS: u8 = u8::MAX;
const NO_PARENT: u32 = u32::MAX;
/// Parents a thread claims at a time.
pub(crate) const CHUNK: usize = 128;
/// Chunks expanded before their successors are numbered (bounds the candidates buffered and
/// how far a limit can be overshot).
const BATCH_CHUNKS: usize = 64;

/// The explicit state graph. Nodes are numbered in breadth-first order (parents, then
/// actions, in order): the order a sequential BFS first meets the states.
pub(crate) struct Graph {
    pub(crate) fps: Vec<Fingerprint>,
    pub(crate) parent: Vec<u32>,
    pub(crate) depth: Vec<u32>,
    pub(crate) init: Vec<bool>,
    /// CSR: edges of node `u` are `off[u]..off[u+1]`.
    pub(crate) off: Vec<usize>,
    pub(crate) succ: Vec<u32>,
    pub(crate) class: Vec<u8>,
    pub(crate) enabled: Vec<u64>,
    /// Per property: `p` and `q` per node.
    pub(crate) p: Vec<Vec<bool>>,
    pub(crate) q: Vec<Vec<bool>>,
}

impl Graph {
    fn new(props: usize) -> Self {
        Graph {
            fps: Vec::new(),
            parent: Vec::new(),
            depth: Vec::new(),
            init: Vec::new(),
            off: vec![0],
            succ: Vec::new(),
            class: Vec::new(),
            enabled: Vec::new(),
            p: vec![Vec::new(); props],
            q: vec![Vec::new(); props],
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.fps.len()
    }
    pub(crate) fn edges(&self, u: usize) -> impl Iterator<Item = (usize, u8)> + '_ {
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
    /// Numbers a new node (its labels given as bits, property `i` at bit `i`).
    fn push_node(&mut self, fp: Fingerprint, parent: Option<u32>, labels: Labels) -> u32 {
        let v = self.fps.len() as u32;
        self.fps.push(fp);
        self.parent.push(parent.unwrap_or(NO_PARENT));
        self.depth
            .push(parent.map_or(0, |u| self.depth[u as usize] + 1));
        self.init.push(parent.is_none());
        for (i, (p, q)) in self.p.iter_mut().zip(self.q.iter_mut()).enumerate() {
            p.push(labels.p >> i & 1 == 1);
            q.push(labels.q >> i & 1 == 1);
        }
        v
    }
}

pub(crate) fn class_code(c: Option<FairClass>) -> u8 {
    match c {
        Some(FairClass(f)) => {
            assert!(f < 64, "fairness classes must be < 64");
            f
        }
        None => NO_CLASS,
    }
}

/// What the caller wants to know of each state, as bits: liveness `p`/`q` per liveness
/// property, and `safety` (the caller's own bits, e.g. which safety properties it violates).
#[derive(Clone, Copy, Default)]
struct Labels {
    p: u64,
    q: u64,
    safety: u64,
}

/// The states' labels: computed on the exploring threads.
struct Labeller<'a, M: Model> {
    model: &'a M,
    props: &'a [Liveness<M>],
    safety: &'a (dyn Fn(&M::State) -> u64 + Sync),
}

impl<M: Model> Labeller<'_, M> {
    fn labels(&self, s: &M::State, init: bool) -> Labels {
        let mut l = Labels {
            safety: (self.safety)(s),
            ..Labels::default()
        };
        for (i, pr) in self.props.iter().enumerate() {
            let (p, q) = match &pr.kind {
                LivenessKind::Eventually { q } => (init, q(self.model, s)),
                LivenessKind::LeadsTo { p, q } => (p(self.model, s), q(self.model, s)),
            };
            l.p |= u64::from(p) << i;
            l.q |= u64::from(q) << i;
        }
        l
    }
}

/// A successor not among the numbered nodes when it was met in its batch.
struct Candidate<M: Model, P> {
    labels: Labels,
    packed: P,
    /// The state itself, kept only for an observer.
    state: Option<M::State>,
}

/// An optional per-state observer (see [`build`]).
pub(crate) type Observer<'a, S> = Option<&'a mut dyn FnMut(&S)>;

/// A shard of [`Candidates`].
type Shard<M, P> = Mutex<HashMap<Fingerprint, Candidate<M, P>, IdentityBuild>>;

/// The batch's candidates, sharded by fingerprint.
struct Candidates<M: Model, P> {
    shards: Vec<Shard<M, P>>,
}

impl<M: Model, P> Candidates<M, P> {
    fn new() -> Self {
        Candidates {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
    fn shard(
        &self,
        fp: Fingerprint,
    ) -> &Mutex<HashMap<Fingerprint, Candidate<M, P>, IdentityBuild>> {
        &self.shards[(fp >> 58) as usize % SHARDS]
    }
    fn contains(&self, fp: Fingerprint) -> bool {
        self.shard(fp).lock().unwrap().contains_key(&fp)
    }
    /// Keeps the first candidate offered for `fp`.
    fn offer(&self, fp: Fingerprint, c: impl FnOnce() -> Candidate<M, P>) {
        let c = c();
        self.shard(fp).lock().unwrap().entry(fp).or_insert(c);
    }
    fn is_empty(&mut self) -> bool {
        self.shards
            .iter_mut()
            .all(|s| s.get_mut().unwrap().is_empty())
    }
    /// The candidate of `fp`, once the expand phase is over.
    fn take(&mut self, fp: Fingerprint) -> Option<Candidate<M, P>> {
        let i = (fp >> 58) as usize % SHARDS;
        self.shards[i].get_mut().unwrap().remove(&fp)
    }
}

const SHARDS: usize = 64;

#[derive(Clone, Copy)]
enum Target {
    Node(u32),
    Candidate(Fingerprint),
}

/// One chunk's expansion: per parent the end of its edges and its enabled classes.
struct Chunk {
    ends: Vec<u32>,
    enabled: Vec<u64>,
    edges: Vec<(Target, u8)>,
}

/// What [`build`] found: the graph, the limit that stopped it, and per safety bit the first
/// node (in numbering order) whose label has it.
pub(crate) struct Built {
    pub(crate) graph: Graph,
    pub(crate) stopped: Option<StopReason>,
    pub(crate) first_hit: [Option<usize>; 64],
}

/// The state graph of `model` (see the module docs), its threads claiming `chunk` parents at
/// a time ([`CHUNK`]; tests make it small, so that small models cross many chunks and
/// batches). `safety` labels each state with up to 64 bits whose first node
/// [`Built::first_hit`] reports; `on_new`, if given, sees every node's state once, in
/// numbering order, on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build<M, R>(
    model: &M,
    repr: &R,
    fair: &(dyn Fn(&M::Action) -> Option<FairClass> + Sync),
    props: &[Liveness<M>],
    safety: &(dyn Fn(&M::State) -> u64 + Sync),
    opts: &Options,
    limits: &mut Limits,
    mut on_new: Observer<'_, M::State>,
    chunk: usize,
) -> Built
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Hash + Send + Sync,
    M::Action: Send + Sync,
{
    assert!(
        props.len() <= 64,
        "at most 64 liveness properties per graph"
    );
    let labeller = Labeller {
        model,
        props,
        safety,
    };
    let mut built = Built {
        graph: Graph::new(props.len()),
        stopped: None,
        first_hit: [None; 64],
    };
    let mut index: HashMap<Fingerprint, u32, IdentityBuild> = HashMap::default();
    let mut level: Vec<R::Packed> = Vec::new();
    let number = |g: &mut Graph, first: &mut [Option<usize>; 64], fp, parent, l: Labels| {
        let v = g.push_node(fp, parent, l);
        let mut bits = l.safety;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            first[b].get_or_insert(v as usize);
            bits &= bits - 1;
        }
        v
    };
    for s in model.init_states() {
        if !model.within_boundary(&s) {
            continue;
        }
        let c = repr.canon(model, s);
        let fp = repr.fingerprint(&c);
        if index.contains_key(&fp) {
            continue;
        }
        let l = labeller.labels(&c, true);
        let v = number(&mut built.graph, &mut built.first_hit, fp, None, l);
        index.insert(fp, v);
        if let Some(f) = on_new.as_mut() {
            f(&c);
        }
        level.push(repr.pack(c, None));
    }
    let threads = opts.threads.max(1);
    let keep_states = on_new.is_some();
    let pool: Mutex<Vec<R::Scratch>> = Mutex::new(Vec::new());
    // Empty between batches: every candidate is numbered or found numbered by its edges.
    let mut candidates = Candidates::new();
    let mut reporter = Reporter::new(opts.progress);
    // The node of `level[0]`.
    let mut lo = 0usize;
    while !level.is_empty() {
        let depth = built.graph.depth[lo];
        // A depth bound stops after the first parent at the bound (as a one-thread build
        // that checks it after each parent does).
        let n = if opts.max_depth.is_some_and(|m| depth >= m) {
            1
        } else {
            level.len()
        };
        let mut next: Vec<R::Packed> = Vec::new();
        let mut start = 0;
        while start < n {
            let end = (start + BATCH_CHUNKS * chunk).min(n);
            let chunks = expand(
                model,
                repr,
                fair,
                &labeller,
                &index,
                &candidates,
                &level[start..end],
                threads,
                &pool,
                keep_states,
                chunk,
            );
            let g = &mut built.graph;
            let mut u = lo + start;
            for Chunk {
                ends,
                enabled: enabled_masks,
                edges,
            } in chunks
            {
                let mut e = 0usize;
                for (&end_e, &enabled) in ends.iter().zip(&enabled_masks) {
                    for &(t, cls) in &edges[e..end_e as usize] {
                        let v = match t {
                            Target::Node(v) => v,
                            Target::Candidate(fp) => match index.get(&fp) {
                                Some(&v) => v,
                                None => {
                                    let c =
                                        candidates.take(fp).expect("a candidate per new successor");
                                    let v = number(
                                        g,
                                        &mut built.first_hit,
                                        fp,
                                        Some(u as u32),
                                        c.labels,
                                    );
                                    index.insert(fp, v);
                                    if let (Some(f), Some(s)) = (on_new.as_mut(), &c.state) {
                                        f(s);
                                    }
                                    next.push(c.packed);
                                    v
                                }
                            },
                        };
                        g.succ.push(v);
                        g.class.push(cls);
                    }
                    e = end_e as usize;
                    g.enabled.push(enabled);
                    g.off.push(g.succ.len());
                    u += 1;
                    if u.is_multiple_of(4096) {
                        reporter.tick(
                            "state graph",
                            g.fps.len() as u64,
                            depth,
                            (g.len() - u) as u64,
                        );
                    }
                    // As after each parent of a one-thread build: stop if a limit is reached
                    // and something is left to expand.
                    let left = g.len() > u;
                    if left && let Some(r) = limits.check(g.fps.len() as u64) {
                        built.stopped = Some(r);
                        return built;
                    }
                    if left && opts.max_depth.is_some_and(|m| depth >= m) {
                        // A depth bound cuts behaviours short: liveness cannot be decided.
                        built.stopped = Some(StopReason::MaxDepth);
                        return built;
                    }
                }
            }
            debug_assert!(candidates.is_empty(), "a candidate without an edge");
            start = end;
        }
        lo += level.len();
        level = next;
        for scratch in pool.lock().unwrap().iter_mut() {
            repr.trim_parts(scratch);
        }
    }
    built
}

/// Phase 1 of a batch: the chunks of `parents`, expanded on `threads` threads, in order.
#[allow(clippy::too_many_arguments)]
fn expand<M, R>(
    model: &M,
    repr: &R,
    fair: &(dyn Fn(&M::Action) -> Option<FairClass> + Sync),
    labeller: &Labeller<'_, M>,
    index: &HashMap<Fingerprint, u32, IdentityBuild>,
    candidates: &Candidates<M, R::Packed>,
    parents: &[R::Packed],
    threads: usize,
    pool: &Mutex<Vec<R::Scratch>>,
    keep_states: bool,
    chunk_len: usize,
) -> Vec<Chunk>
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Hash + Send + Sync,
    M::Action: Send + Sync,
{
    let count = parents.len().div_ceil(chunk_len);
    let claimed = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, Chunk)>> = Mutex::new(Vec::with_capacity(count));
    super::bfs::par(threads.min(count), || {
        let mut scratch = pool.lock().unwrap().pop().unwrap_or_default();
        let mut mine = Vec::new();
        let mut actions = Vec::new();
        // Candidates this chunk has met (saves a lock per repeated successor).
        let mut met: std::collections::HashSet<Fingerprint, IdentityBuild> = Default::default();
        loop {
            let k = claimed.fetch_add(1, Ordering::Relaxed);
            if k >= count {
                break;
            }
            let range = k * chunk_len..((k + 1) * chunk_len).min(parents.len());
            let mut chunk = Chunk {
                ends: Vec::with_capacity(range.len()),
                enabled: Vec::with_capacity(range.len()),
                edges: Vec::new(),
            };
            met.clear();
            for packed in &parents[range] {
                let state = repr.unpack(packed);
                let state = &*state;
                let memo = repr.memo_packed(&scratch, packed, state);
                let mut enabled = 0u64;
                model.actions(state, &mut actions);
                for action in actions.drain(..) {
                    let cls = class_code(fair(&action));
                    let lookup = |fp: &Fingerprint| match index.get(fp) {
                        Some(&v) => Some(Target::Node(v)),
                        None => (met.contains(fp) || candidates.contains(*fp))
                            .then_some(Target::Candidate(*fp)),
                    };
                    // An edge to a known state needs only the successor's fingerprint.
                    let fast =
                        repr.successor_fingerprint(model, &memo, &mut scratch, state, &action);
                    let known = match fast {
                        Some(None) => continue,
                        Some(Some(fp)) => lookup(&fp),
                        None => None,
                    };
                    let t = match known {
                        Some(t) => t,
                        None => {
                            let Some(next) = model.next_state(state, action) else {
                                continue;
                            };
                            if !model.within_boundary(&next) {
                                continue;
                            }
                            let c = repr.canon(model, next);
                            let fp = repr.child_fingerprint(&memo, state, &c);
                            match lookup(&fp) {
                                Some(t) => t,
                                None => {
                                    candidates.offer(fp, || Candidate {
                                        labels: labeller.labels(&c, false),
                                        state: keep_states.then(|| c.clone()),
                                        packed: repr.pack_sharing(&mut scratch, c, (state, packed)),
                                    });
                                    Target::Candidate(fp)
                                }
                            }
                        }
                    };
                    if let Target::Candidate(fp) = t {
                        met.insert(fp);
                    }
                    if cls != NO_CLASS {
                        enabled |= 1 << cls;
                    }
                    chunk.edges.push((t, cls));
                }
                chunk.enabled.push(enabled);
                chunk.ends.push(chunk.edges.len() as u32);
            }
            mine.push((k, chunk));
        }
        done.lock().unwrap().extend(mine);
        pool.lock().unwrap().push(scratch);
    });
    let mut done = done.into_inner().unwrap();
    done.sort_unstable_by_key(|&(k, _)| k);
    debug_assert!(done.iter().enumerate().all(|(i, &(k, _))| i == k));
    done.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fingerprint::fingerprint;
    use crate::engine::repr::Plain;
    use crate::engine::symmetry::Identity;

    /// Two counters up to `n` and a flag; a reset when both are full.
    struct Grid {
        n: u8,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    enum Step {
        IncX,
        IncY,
        Flip,
        Reset,
    }

    impl Model for Grid {
        type State = (u8, u8, bool);
        type Action = Step;
        fn init_states(&self) -> Vec<Self::State> {
            vec![(0, 0, false), (1, 0, true), (0, 0, false)]
        }
        fn actions(&self, s: &Self::State, out: &mut Vec<Step>) {
            out.extend([Step::IncX, Step::IncY, Step::Flip]);
            if s.0 == self.n && s.1 == self.n {
                out.push(Step::Reset);
            }
        }
        fn next_state(&self, s: &Self::State, a: Step) -> Option<Self::State> {
            let &(x, y, z) = s;
            match a {
                Step::IncX => (x < self.n).then_some((x + 1, y, z)),
                Step::IncY => (y < self.n).then_some((x, y + 1, z)),
                Step::Flip => Some((x, y, !z)),
                Step::Reset => Some((0, 0, z)),
            }
        }
        fn within_boundary(&self, s: &Self::State) -> bool {
            // Cuts a corner of the grid: some actions lead outside.
            !(s.0 == 1 && s.1 == self.n)
        }
    }

    fn fair(a: &Step) -> Option<FairClass> {
        match a {
            Step::IncX => Some(FairClass(0)),
            Step::IncY => Some(FairClass(1)),
            Step::Flip | Step::Reset => None,
        }
    }

    fn props() -> Vec<Liveness<Grid>> {
        vec![
            Liveness::eventually("x full", x_full),
            Liveness::leads_to("flag leads to y full", flagged, y_full),
        ]
    }

    fn x_full(m: &Grid, s: &(u8, u8, bool)) -> bool {
        s.0 == m.n
    }
    fn y_full(m: &Grid, s: &(u8, u8, bool)) -> bool {
        s.1 == m.n
    }
    fn flagged(_: &Grid, s: &(u8, u8, bool)) -> bool {
        s.2
    }

    fn safety(s: &(u8, u8, bool)) -> u64 {
        u64::from(s.0 + s.1 == 7) | u64::from(s.0 == 3 && s.2) << 1
    }

    /// The graph by definition (a plain sequential BFS), and each node's safety bits.
    fn reference(m: &Grid) -> (Graph, Vec<u64>) {
        let props = props();
        let mut g = Graph::new(props.len());
        let mut index: HashMap<Fingerprint, u32> = HashMap::new();
        let mut bits = Vec::new();
        let labeller = Labeller {
            model: m,
            props: &props,
            safety: &safety,
        };
        for s in m.init_states() {
            let fp = fingerprint(&s);
            if let std::collections::hash_map::Entry::Vacant(e) = index.entry(fp) {
                e.insert(g.push_node(fp, None, labeller.labels(&s, true)));
                bits.push(safety(&s));
            }
        }
        let mut states: Vec<_> = Vec::new();
        for s in m.init_states() {
            if !states.contains(&s) {
                states.push(s);
            }
        }
        let mut u = 0;
        while u < states.len() {
            let s = states[u];
            let mut acts = Vec::new();
            m.actions(&s, &mut acts);
            let mut enabled = 0;
            for a in acts {
                let Some(t) = m.next_state(&s, a) else {
                    continue;
                };
                if !m.within_boundary(&t) {
                    continue;
                }
                let fp = fingerprint(&t);
                let v = *index.entry(fp).or_insert_with(|| {
                    states.push(t);
                    bits.push(safety(&t));
                    g.push_node(fp, Some(u as u32), labeller.labels(&t, false))
                });
                let cls = class_code(fair(&a));
                if cls != NO_CLASS {
                    enabled |= 1 << cls;
                }
                g.succ.push(v);
                g.class.push(cls);
            }
            g.enabled.push(enabled);
            g.off.push(g.succ.len());
            u += 1;
        }
        (g, bits)
    }

    type Summary = (
        Vec<Fingerprint>,
        Vec<u32>,
        Vec<u32>,
        Vec<bool>,
        Vec<usize>,
        Vec<u32>,
        Vec<u8>,
        Vec<u64>,
        Vec<Vec<bool>>,
        Vec<Vec<bool>>,
    );

    fn summary(g: Graph) -> Summary {
        (
            g.fps, g.parent, g.depth, g.init, g.off, g.succ, g.class, g.enabled, g.p, g.q,
        )
    }

    fn built(m: &Grid, opts: &Options, chunk: usize, seen: &mut Vec<Fingerprint>) -> Built {
        let mut on_new = |s: &(u8, u8, bool)| seen.push(fingerprint(s));
        build(
            m,
            &Plain(Identity),
            &fair,
            &props(),
            &safety,
            opts,
            &mut Limits::new(opts),
            Some(&mut on_new),
            chunk,
        )
    }

    #[test]
    fn any_thread_count_and_chunk_size_builds_the_sequential_graph() {
        let m = Grid { n: 9 };
        let (want, bits) = reference(&m);
        assert!(want.len() > 150, "{}", want.len());
        let first_hit: Vec<Option<usize>> = (0..2)
            .map(|b| bits.iter().position(|&x| x >> b & 1 == 1))
            .collect();
        assert!(first_hit.iter().all(Option::is_some));
        let want = summary(want);
        for threads in 1..=3 {
            for chunk in [1, 2, 3, CHUNK] {
                let opts = Options {
                    threads,
                    ..Options::default()
                };
                let mut seen = Vec::new();
                let b = built(&m, &opts, chunk, &mut seen);
                assert_eq!(b.stopped, None);
                assert_eq!(
                    b.first_hit[..2],
                    first_hit[..],
                    "threads {threads} chunk {chunk}"
                );
                assert_eq!(seen, b.graph.fps, "observer order");
                assert_eq!(summary(b.graph), want, "threads {threads} chunk {chunk}");
            }
        }
    }

    #[test]
    fn limits_stop_where_a_one_thread_build_stops() {
        let m = Grid { n: 9 };
        for opts in [
            Options {
                max_states: Some(40),
                ..Options::default()
            },
            Options {
                max_depth: Some(5),
                ..Options::default()
            },
        ] {
            let mut runs = Vec::new();
            for threads in 1..=3 {
                for chunk in [1, 3, CHUNK] {
                    let b = built(
                        &m,
                        &Options {
                            threads,
                            ..opts.clone()
                        },
                        chunk,
                        &mut Vec::new(),
                    );
                    assert!(b.stopped.is_some(), "{opts:?}");
                    runs.push((b.stopped, summary(b.graph)));
                }
            }
            assert!(runs.windows(2).all(|w| w[0] == w[1]), "{opts:?}");
        }
    }
}
