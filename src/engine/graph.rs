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
//!    candidate; the edge names it by fingerprint, and the candidate keeps the smallest
//!    position (chunk, edge within the chunk) of an edge that reached it.
//! 2. **number** (the calling thread) — the candidates are numbered in the order of those
//!    first positions; then chunks in order, edges in order, each node enters the graph at
//!    its first edge, with that edge's parent as its BFS parent. Edges are therefore
//!    appended, and nodes numbered, in exactly the sequential generation order, so the graph
//!    (nodes, edges, classes, enabled masks, BFS parents) is the one a one-thread build
//!    makes, and the limits are checked after every parent just as there.
//!
//! Whichever thread builds a candidate first, the state is the same (a successor is a function
//! of its parent and action, and equal fingerprints mean equal states); two threads that meet
//! a new successor at once may both build it, and one copy is dropped.

use super::fingerprint::{Fingerprint, IdentityBuild};
use super::limits::Limits;
use super::liveness::{FairClass, Liveness, LivenessKind};
use super::progress::Reporter;
use super::repr::{Repr, Unbuilt};
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
    /// The first node of each depth (nodes are numbered level by level; the initial states
    /// are depth 0).
    level_starts: Vec<u32>,
    /// CSR: edges of node `u` are `off[u]..off[u+1]`.
    off: Vec<u32>,
    pub(crate) succ: Vec<u32>,
    pub(crate) class: Vec<u8>,
    pub(crate) enabled: Vec<u64>,
    /// Per property: `p` and `q` per node.
    pub(crate) p: Vec<Bits>,
    pub(crate) q: Vec<Bits>,
}

/// One bit per node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        *self.words.last_mut().expect("just pushed") |= u64::from(bit) << (self.len % 64);
        self.len += 1;
    }
}

impl std::ops::Index<usize> for Bits {
    type Output = bool;
    fn index(&self, u: usize) -> &bool {
        assert!(u < self.len, "bit {u} of {}", self.len);
        if self.words[u / 64] >> (u % 64) & 1 == 1 {
            &true
        } else {
            &false
        }
    }
}

impl Graph {
    fn new(props: usize) -> Self {
        Graph {
            fps: Vec::new(),
            parent: Vec::new(),
            level_starts: Vec::new(),
            off: vec![0],
            succ: Vec::new(),
            class: Vec::new(),
            enabled: Vec::new(),
            p: vec![Bits::default(); props],
            q: vec![Bits::default(); props],
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.fps.len()
    }
    pub(crate) fn edges(&self, u: usize) -> impl Iterator<Item = (usize, u8)> + '_ {
        (self.off[u] as usize..self.off[u + 1] as usize)
            .map(|e| (self.succ[e] as usize, self.class[e]))
    }
    /// Whether node `u` has no successor.
    pub(crate) fn is_dead_end(&self, u: usize) -> bool {
        self.off[u] == self.off[u + 1]
    }
    /// The breadth-first depth of node `u`.
    pub(crate) fn depth(&self, u: usize) -> u32 {
        (self.level_starts.partition_point(|&s| s as usize <= u) - 1) as u32
    }
    /// The deepest level (0 for an empty graph).
    pub(crate) fn max_depth(&self) -> u32 {
        self.level_starts.len().saturating_sub(1) as u32
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
    /// Numbers a new node (its labels given as bits, property `i` at bit `i`). Nodes come
    /// level by level: a parent's depth is that of the nodes being expanded.
    fn push_node(&mut self, fp: Fingerprint, parent: Option<u32>, labels: Labels) -> u32 {
        let v = u32::try_from(self.fps.len()).expect("fewer than 2^32 states in a graph");
        let depth = parent.map_or(0, |u| self.depth(u as usize) + 1) as usize;
        debug_assert!(
            depth + 1 >= self.level_starts.len(),
            "nodes come level by level"
        );
        if depth == self.level_starts.len() {
            self.level_starts.push(v);
        }
        self.fps.push(fp);
        self.parent.push(parent.unwrap_or(NO_PARENT));
        for (i, (p, q)) in self.p.iter_mut().zip(self.q.iter_mut()).enumerate() {
            p.push(labels.p >> i & 1 == 1);
            q.push(labels.q >> i & 1 == 1);
        }
        v
    }
    /// Ends the edges of the next node to expand (nodes are expanded in numbering order),
    /// with the classes enabled in it.
    fn close_node(&mut self, enabled: u64) {
        self.enabled.push(enabled);
        self.off
            .push(u32::try_from(self.succ.len()).expect("fewer than 2^32 edges in a graph"));
    }

    /// A graph of `n` initial nodes (depth 0) with `edges` (no fairness class) and one
    /// liveness property whose `p` and `q` are `labels(u)`, for unit tests.
    #[cfg(test)]
    pub(crate) fn of_edges(
        n: usize,
        edges: &[(usize, usize)],
        labels: impl Fn(usize) -> (bool, bool),
    ) -> Graph {
        let mut by_source = edges.to_vec();
        by_source.sort_by_key(|&(u, _)| u);
        let mut edges = by_source.into_iter().peekable();
        let mut g = Graph::new(1);
        for u in 0..n {
            let (p, q) = labels(u);
            let l = Labels {
                p: u64::from(p),
                q: u64::from(q),
                safety: 0,
            };
            g.push_node(u as Fingerprint, None, l);
            while let Some((_, v)) = edges.next_if(|&(from, _)| from == u) {
                g.succ.push(v as u32);
                g.class.push(NO_CLASS);
            }
            g.close_node(0);
        }
        g
    }
}

/// The graph's nodes by fingerprint: an open-addressing table of node numbers, the
/// fingerprints themselves read from [`Graph::fps`] (4 B a slot, at most 5/8 full, instead
/// of a hash map's 16 B entries beside the graph's own copy of the key). Read by every
/// thread while a batch expands; written by the numbering thread between.
struct NodeIndex {
    slots: Vec<u32>,
    len: usize,
}

const NO_NODE: u32 = u32::MAX;

impl NodeIndex {
    fn new() -> Self {
        NodeIndex {
            slots: vec![NO_NODE; 1024],
            len: 0,
        }
    }
    /// The slots `fp` probes, in order (fingerprints are hashes: their low bits are the
    /// home slot).
    fn probe(&self, fp: Fingerprint) -> impl Iterator<Item = usize> {
        let mask = self.slots.len() - 1;
        let home = fp as usize;
        (0..).map(move |k| home.wrapping_add(k) & mask)
    }
    fn get(&self, fps: &[Fingerprint], fp: Fingerprint) -> Option<u32> {
        for i in self.probe(fp) {
            match self.slots[i] {
                NO_NODE => return None,
                v if fps[v as usize] == fp => return Some(v),
                _ => {}
            }
        }
        unreachable!("the table always has a free slot")
    }
    /// Adds node `v` (`fps[v]` not yet in the table).
    fn insert(&mut self, fps: &[Fingerprint], v: u32) {
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            let mut bigger = NodeIndex {
                slots: vec![NO_NODE; self.slots.len() * 2],
                len: 0,
            };
            for &u in self.slots.iter().filter(|&&u| u != NO_NODE) {
                bigger.put(fps, u);
            }
            *self = bigger;
        }
        self.put(fps, v);
    }
    fn put(&mut self, fps: &[Fingerprint], v: u32) {
        let fp = fps[v as usize];
        let i = self
            .probe(fp)
            .find(|&i| self.slots[i] == NO_NODE)
            .expect("the table always has a free slot");
        debug_assert!(self.get(fps, fp).is_none(), "a node indexed twice");
        self.slots[i] = v;
        self.len += 1;
    }
}

/// No component: the node lies outside the subgraph [`Graph::sccs`] decomposed.
pub(crate) const NO_COMP: u32 = u32::MAX;

/// The strongly connected components of a subgraph of a [`Graph`] ([`Graph::sccs`]).
pub(crate) struct Sccs {
    /// Each node's component, [`NO_COMP`] outside the subgraph.
    pub(crate) comp: Vec<u32>,
    /// CSR: the members of component `k` are `members[off[k]..off[k + 1]]`, ascending.
    off: Vec<u32>,
    members: Vec<u32>,
}

impl Sccs {
    /// How many components there are.
    pub(crate) fn len(&self) -> usize {
        self.off.len() - 1
    }
    /// The nodes of component `k`, in ascending order.
    pub(crate) fn members(&self, k: usize) -> impl ExactSizeIterator<Item = usize> + Clone + '_ {
        self.members[self.off[k] as usize..self.off[k + 1] as usize]
            .iter()
            .map(|&u| u as usize)
    }
}

impl Graph {
    /// The strongly connected components of the subgraph on the nodes where `inside` holds
    /// (and the edges between two of them), by Tarjan's algorithm with explicit stacks, so
    /// that a deep graph cannot overflow the thread's stack. Works on the graph's own edge
    /// arrays: besides the result (4 B a node of the graph, up to 8 B a node of the subgraph)
    /// it needs 8 B a node and, at their deepest, 12 B a node of stacks.
    pub(crate) fn sccs(&self, inside: impl Fn(usize) -> bool) -> Sccs {
        const UNVISITED: u32 = u32::MAX;
        let n = self.len();
        let mut index = vec![UNVISITED; n];
        let mut low = vec![0u32; n];
        let mut comp = vec![NO_COMP; n];
        // Tarjan's stack of visited nodes not yet in a component, and the DFS call stack
        // (node, next edge to follow).
        let mut open: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, u32)> = Vec::new();
        let (mut visited, mut comps) = (0u32, 0u32);
        for root in 0..n {
            if !inside(root) || index[root] != UNVISITED {
                continue;
            }
            index[root] = visited;
            low[root] = visited;
            visited += 1;
            open.push(root as u32);
            calls.push((root as u32, self.off[root]));
            while let Some((u, e)) = calls.last_mut() {
                let u = *u as usize;
                if *e < self.off[u + 1] {
                    let v = self.succ[*e as usize] as usize;
                    *e += 1;
                    if !inside(v) {
                        continue;
                    }
                    if index[v] == UNVISITED {
                        index[v] = visited;
                        low[v] = visited;
                        visited += 1;
                        open.push(v as u32);
                        calls.push((v as u32, self.off[v]));
                    } else if comp[v] == NO_COMP {
                        // On Tarjan's stack: in the component being formed.
                        low[u] = low[u].min(index[v]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    let parent = parent as usize;
                    low[parent] = low[parent].min(low[u]);
                }
                if low[u] == index[u] {
                    loop {
                        let w = open.pop().expect("u is on Tarjan's stack") as usize;
                        comp[w] = comps;
                        if w == u {
                            break;
                        }
                    }
                    comps += 1;
                }
            }
        }
        debug_assert!(open.is_empty());
        drop((index, low, open, calls));
        let mut off = vec![0u32; comps as usize + 1];
        for &k in comp.iter().filter(|&&k| k != NO_COMP) {
            off[k as usize + 1] += 1;
        }
        for k in 0..comps as usize {
            off[k + 1] += off[k];
        }
        let mut fill = off.clone();
        let mut members = vec![0u32; off[comps as usize] as usize];
        for (u, &k) in comp.iter().enumerate().filter(|&(_, &k)| k != NO_COMP) {
            members[fill[k as usize] as usize] = u as u32;
            fill[k as usize] += 1;
        }
        Sccs { comp, off, members }
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
    /// The state itself, kept only for an observer (boxed: a batch's candidate tables keep
    /// their capacity, and an `ActorModelState` inline tripled their slots).
    state: Option<Box<M::State>>,
}

/// An optional per-state observer (see [`build`]).
pub(crate) type Observer<'a, S> = Option<&'a mut dyn FnMut(&S)>;

/// A candidate in its batch's table: where the batch first met it, its node once numbered.
struct Slot<M: Model, P> {
    /// The position of the first edge to it, `(chunk << 32) | edge index within the chunk`:
    /// chunks are walked in order and their edges in order, so this is where a one-thread
    /// build would number it.
    first: u64,
    /// Its node number ([`Candidates::number`]).
    node: u32,
    /// Until numbered.
    candidate: Option<Candidate<M, P>>,
}

/// A shard of [`Candidates`].
type Shard<M, P> = Mutex<HashMap<Fingerprint, Slot<M, P>, IdentityBuild>>;

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
    fn shard(&self, fp: Fingerprint) -> &Shard<M, P> {
        &self.shards[shard_of(fp)]
    }
    /// Whether `fp` is a candidate; if so, an edge at `pos` reaches it.
    fn touch(&self, fp: Fingerprint, pos: u64) -> bool {
        match self.shard(fp).lock().unwrap().get_mut(&fp) {
            Some(slot) => {
                slot.first = slot.first.min(pos);
                true
            }
            None => false,
        }
    }
    /// An edge at `pos` reaches `fp`, a successor found in no table: keeps the first
    /// candidate offered for it.
    fn offer(&self, fp: Fingerprint, pos: u64, c: impl FnOnce() -> Candidate<M, P>) {
        let c = c();
        self.shard(fp)
            .lock()
            .unwrap()
            .entry(fp)
            .and_modify(|slot| slot.first = slot.first.min(pos))
            .or_insert(Slot {
                first: pos,
                node: u32::MAX,
                candidate: Some(c),
            });
    }
    /// Once the batch is expanded: numbers the candidates from `base` on in the order of
    /// their first edges, and hands them over in that order with their fingerprints.
    fn number(&mut self, base: u32) -> Vec<(Fingerprint, Candidate<M, P>)> {
        let mut order: Vec<(u64, Fingerprint)> = self
            .shards
            .iter_mut()
            .flat_map(|s| {
                s.get_mut()
                    .unwrap()
                    .iter()
                    .map(|(&fp, slot)| (slot.first, fp))
            })
            .collect();
        order.sort_unstable();
        order
            .into_iter()
            .zip(base..)
            .map(|((_, fp), node)| {
                let i = shard_of(fp);
                let slot = self.shards[i].get_mut().unwrap().get_mut(&fp);
                let slot = slot.expect("a candidate listed");
                slot.node = node;
                (fp, slot.candidate.take().expect("numbered once"))
            })
            .collect()
    }
    /// The shards' tables, to read without locking once the batch is expanded.
    fn tables(&mut self) -> Vec<&HashMap<Fingerprint, Slot<M, P>, IdentityBuild>> {
        self.shards
            .iter_mut()
            .map(|s| &*s.get_mut().unwrap())
            .collect()
    }
    /// Forgets the batch's candidates (keeping the tables' capacity).
    fn clear(&mut self) {
        for s in &mut self.shards {
            s.get_mut().unwrap().clear();
        }
    }
}

const SHARDS: usize = 64;

/// The [`Candidates`] shard of `fp`.
fn shard_of(fp: Fingerprint) -> usize {
    (fp >> 58) as usize % SHARDS
}

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
    let mut index = NodeIndex::new();
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
        if index.get(&built.graph.fps, fp).is_some() {
            continue;
        }
        let l = labeller.labels(&c, true);
        let v = number(&mut built.graph, &mut built.first_hit, fp, None, l);
        index.insert(&built.graph.fps, v);
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
        let depth = built.graph.depth(lo);
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
                &built.graph.fps,
                &candidates,
                &level[start..end],
                threads,
                &pool,
                keep_states,
                chunk,
            );
            let g = &mut built.graph;
            // Numbered in the order of their first edges, which is where the walk below meets
            // them: the numbers a one-thread build gives, found without a lookup per edge.
            let base = g.len() as u32;
            let mut fresh = candidates.number(base).into_iter();
            let numbered = candidates.tables();
            let mut next_node = base;
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
                            Target::Candidate(fp) => numbered[shard_of(fp)][&fp].node,
                        };
                        if v == next_node {
                            // The first edge to a new node: it enters the graph here.
                            let (fp, c) = fresh.next().expect("a candidate per new node");
                            let w = number(g, &mut built.first_hit, fp, Some(u as u32), c.labels);
                            debug_assert_eq!(w, v);
                            index.insert(&g.fps, v);
                            if let (Some(f), Some(s)) = (on_new.as_mut(), &c.state) {
                                f(s);
                            }
                            next.push(c.packed);
                            next_node += 1;
                        }
                        debug_assert!(v < next_node, "nodes are met in number order");
                        g.succ.push(v);
                        g.class.push(cls);
                    }
                    e = end_e as usize;
                    g.close_node(enabled);
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
            debug_assert!(fresh.next().is_none(), "a candidate without an edge");
            drop(numbered);
            candidates.clear();
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
    index: &NodeIndex,
    fps: &[Fingerprint],
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
                let memo = repr.memo_packed(packed, state);
                let mut enabled = 0u64;
                model.actions(state, &mut actions);
                for action in actions.drain(..) {
                    let cls = class_code(fair(&action));
                    // Where this edge is: a candidate remembers the first edge to it.
                    let pos = ((k as u64) << 32) | chunk.edges.len() as u64;
                    // (An earlier edge of this chunk to a candidate came first.)
                    let lookup = |fp: &Fingerprint| match index.get(fps, *fp) {
                        Some(v) => Some(Target::Node(v)),
                        None => (met.contains(fp) || candidates.touch(*fp, pos))
                            .then_some(Target::Candidate(*fp)),
                    };
                    // An edge to a known state needs only the successor's fingerprint.
                    let fast =
                        repr.successor_fingerprint(model, &memo, &mut scratch, state, &action);
                    let known = match fast {
                        Unbuilt::Disabled => continue,
                        Unbuilt::Known(fp, _) => lookup(&fp),
                        Unbuilt::Unknown => None,
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
                                    candidates.offer(fp, pos, || Candidate {
                                        labels: labeller.labels(&c, false),
                                        state: keep_states.then(|| Box::new(c.clone())),
                                        packed: repr.pack_sharing(
                                            &mut scratch,
                                            c,
                                            (state, packed),
                                            fast.token(),
                                        ),
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
            g.close_node(enabled);
            u += 1;
        }
        (g, bits)
    }

    type Summary = (
        Vec<Fingerprint>,
        Vec<u32>,
        Vec<u32>,
        Vec<u32>,
        Vec<u32>,
        Vec<u8>,
        Vec<u64>,
        Vec<Bits>,
        Vec<Bits>,
    );

    fn summary(g: Graph) -> Summary {
        (
            g.fps,
            g.parent,
            g.level_starts,
            g.off,
            g.succ,
            g.class,
            g.enabled,
            g.p,
            g.q,
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

    /// A graph with `n` nodes and these edges (no labels), for the SCC tests.
    fn from_edges(n: usize, edges: &[(usize, usize)]) -> Graph {
        Graph::of_edges(n, edges, |_| (false, false))
    }

    proptest::proptest! {
        /// Two nodes of the subgraph share a component exactly when each reaches the other
        /// inside it; components partition the subgraph, members ascending, and Tarjan's
        /// numbering is a reverse topological order of the component graph.
        #[test]
        fn sccs_are_the_mutually_reachable_classes(
            n in 1usize..12,
            edges in proptest::collection::vec((0usize..12, 0usize..12), 0..40),
            inside in proptest::collection::vec(proptest::bool::weighted(0.8), 12),
        ) {
            let edges: Vec<_> = edges.into_iter().filter(|&(u, v)| u < n && v < n).collect();
            let g = from_edges(n, &edges);
            let sccs = g.sccs(|u| inside[u]);
            // reach[u][v]: a path (possibly empty) from u to v through the subgraph.
            let mut reach = vec![vec![false; n]; n];
            for u in (0..n).filter(|&u| inside[u]) {
                reach[u][u] = true;
                let mut stack = vec![u];
                while let Some(x) = stack.pop() {
                    for (y, _) in g.edges(x) {
                        if inside[y] && !reach[u][y] {
                            reach[u][y] = true;
                            stack.push(y);
                        }
                    }
                }
            }
            let mut seen = vec![false; n];
            for k in 0..sccs.len() {
                let m: Vec<usize> = sccs.members(k).collect();
                proptest::prop_assert!(!m.is_empty() && m.windows(2).all(|w| w[0] < w[1]));
                for &u in &m {
                    proptest::prop_assert_eq!(sccs.comp[u], k as u32);
                    seen[u] = true;
                }
            }
            for u in 0..n {
                proptest::prop_assert_eq!(seen[u], inside[u]);
                proptest::prop_assert_eq!(sccs.comp[u] == NO_COMP, !inside[u]);
                for v in (0..n).filter(|&v| inside[u] && inside[v]) {
                    let same = sccs.comp[u] == sccs.comp[v];
                    proptest::prop_assert_eq!(same, reach[u][v] && reach[v][u], "{} {}", u, v);
                    if reach[u][v] {
                        proptest::prop_assert!(sccs.comp[u] >= sccs.comp[v]);
                    }
                }
            }
        }
    }

    #[test]
    fn a_deep_cycle_is_one_component_without_recursion() {
        // A path of a million nodes closed into a cycle: a recursive DFS would need a
        // million frames.
        let n = 1_000_000;
        let mut edges: Vec<_> = (0..n - 1).map(|u| (u, u + 1)).collect();
        edges.push((n - 1, 0));
        let g = from_edges(n, &edges);
        let sccs = g.sccs(|_| true);
        assert_eq!(sccs.len(), 1);
        assert_eq!(sccs.members(0).len(), n);
        // Outside the subgraph the cycle breaks into a path of singletons.
        let cut = g.sccs(|u| u != 0);
        assert_eq!(cut.len(), n - 1);
        assert_eq!(cut.comp[0], NO_COMP);
    }

    #[test]
    fn the_node_index_finds_every_node_across_growth_and_shared_home_slots() {
        // Spread fingerprints (through several doublings of the table) and fingerprints
        // with equal low bits (one home slot: long probe runs that wrap around).
        let spread = (0..20_000u64).map(|k| fingerprint(&k));
        let same_home = (1..300u64).map(|k| k << 40);
        let fps: Vec<Fingerprint> = spread.chain(same_home).collect();
        let mut index = NodeIndex::new();
        for v in 0..fps.len() {
            assert_eq!(index.get(&fps, fps[v]), None);
            index.insert(&fps, v as u32);
        }
        assert!(index.slots.len() > 20_000, "the table grew");
        for (v, &fp) in fps.iter().enumerate() {
            assert_eq!(index.get(&fps, fp), Some(v as u32));
        }
        assert_eq!(index.get(&fps, 7 << 40 | 1), None);
        assert_eq!(index.get(&fps, fingerprint(&"absent")), None);
    }
}
