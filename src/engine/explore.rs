//! The exploration core: the one breadth-first loop every exhaustive search runs on every
//! thread — the safety search, the liveness graph, and both in one pass.
//!
//! States are numbered in the order a sequential BFS first meets them (level, then parent,
//! then action), whatever the thread count. A level is expanded in batches; each batch is cut
//! into chunks of consecutive parents that the threads claim:
//!
//! 1. **expand** (parallel) — for each parent of a chunk, in order, every action's
//!    successor: its fingerprint (unbuilt where the representation can; the lookups of a
//!    few parents' successors are prefetched together), looked up among the states numbered
//!    so far (read-only during the phase). A successor not found there, and not met before in
//!    the chunk, is built, canonicalised, labelled (the safety hits and the liveness `p`/`q`
//!    of the caller) and packed as one of the chunk's candidates, at the chunk's first edge
//!    to it. A successor not yet built is first claimed batch-wide ([`Claims`]): only the
//!    first chunk to claim it builds it, and the claim keeps the batch's first edge to it.
//!    A graph search also records each edge with its fairness class.
//! 2. **number** (the calling thread) — each claimed candidate moves to the batch's first
//!    edge to it; then chunks in order, parents in order, edges in order, a candidate met at
//!    its edge is numbered unless an earlier edge numbered its state (an earlier chunk may
//!    have built the same successor: the copy is dropped), with that edge's parent as its
//!    BFS parent. Every state is therefore numbered at its first edge, and edges appended, in
//!    exactly the sequential generation order, so what is kept — the state graph
//!    ([`Keep::Graph`]: nodes, edges, classes, enabled masks, BFS parents) or the visited set
//!    with each state's first parent ([`Keep::Visited`]) — is the one a one-thread search
//!    makes, and the limits are checked after every parent just as there.
//!
//! Whichever chunk builds a candidate, the state is the same (a successor is a function of
//! its parent and action, and equal fingerprints mean equal states). Numbering is sequential,
//! one visited-set (or node-index) insert a candidate, prefetched a few candidates ahead.
//! Rebuilding a successor two chunks met costs less than a batch-wide table when it is built
//! to be fingerprinted anyway (the toy: 79 % of its candidates are such copies, and claiming
//! them was 1.5× slower); a claim pays when building is the expensive part (the ZBS actor
//! models, whose successors are fingerprinted unbuilt: unclaimed, 71 % copies and 1.8× slower).
//!
//! A depth bound `m` expands the states at depth `m` without numbering their new successors:
//! if they have none, nothing was cut and the search is complete.

use super::fingerprint::{Fingerprint, IdentityBuild};
use super::graph::{Graph, Labels, NO_CLASS, NodeIndex, class_code};
use super::limits::Limits;
use super::liveness::{FairClass, Liveness, LivenessKind};
use super::progress::Reporter;
use super::repr::{Repr, Unbuilt};
use super::visited::{ROOT, SHARDS, Shard, Visited, shard_of};
use super::{Options, StopReason};
use stateright::Model;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLockReadGuard};

/// Parents a thread claims at a time.
pub(crate) const CHUNK: usize = 512;
/// Chunks expanded before their successors are numbered (bounds the candidates buffered and
/// how far a limit can be overshot).
const BATCH_CHUNKS: usize = 16;
/// Frontier states are kept in blocks of this many: growing a level never copies it (no
/// doubling slack, no transient 2× peak), and expanded blocks are freed by the next batch's
/// threads.
const BLOCK: usize = 4096;
/// Parents whose successors' fingerprints are computed (and their slots prefetched) before
/// any of them is looked up.
const WINDOW: usize = 8;
/// How many candidates ahead numbering prefetches their slots.
const PREFETCH: usize = 8;

/// Runs `f` on `threads` threads (the caller's included) and waits for all of them.
pub(crate) fn par<F: Fn() + Sync>(threads: usize, f: F) {
    if threads <= 1 {
        f();
        return;
    }
    std::thread::scope(|sc| {
        for _ in 1..threads {
            sc.spawn(&f);
        }
        f();
    });
}

/// What a search keeps of the states it numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The state graph: every edge with its fairness class, the enabled classes of every
    /// state, the liveness labels (for the liveness analysis).
    Graph,
    /// The fingerprints and each one's first parent, in the visited set (for the safety
    /// search: 8 B a state in memory, the parents logged to disk).
    Visited,
}

/// What a search kept.
pub(crate) enum Kept {
    Graph(Graph),
    Visited(Visited),
}

/// What [`explore`] found.
pub(crate) struct Explored {
    pub(crate) kept: Kept,
    /// States numbered.
    pub(crate) states: u64,
    /// The deepest level that holds a state.
    pub(crate) max_depth: u32,
    /// The limit that stopped the search, if one did.
    pub(crate) stopped: Option<StopReason>,
    /// Per safety bit, the first state (its number and fingerprint) whose label has it.
    pub(crate) first_hit: [Option<(usize, Fingerprint)>; 64],
}

/// What a search asks of each state and when it may stop early.
pub(crate) struct Search<'a, M: Model> {
    pub(crate) model: &'a M,
    pub(crate) keep: Keep,
    /// The fairness class of each action ([`Keep::Graph`]).
    pub(crate) fair: &'a (dyn Fn(&M::Action) -> Option<FairClass> + Sync),
    /// The liveness properties whose `p`/`q` label the graph ([`Keep::Graph`]).
    pub(crate) props: &'a [Liveness<M>],
    /// Up to 64 bits a state (e.g. which safety properties it violates), whose first state
    /// [`Explored::first_hit`] reports.
    pub(crate) safety: &'a (dyn Fn(&M::State) -> u64 + Sync),
    /// Stop ([`StopReason::Decided`]) once every one of these bits has its first state
    /// (0: never).
    pub(crate) decided_when: u64,
    /// Parents a thread claims at a time ([`CHUNK`]; tests make it small, so that small
    /// models cross many chunks and batches).
    pub(crate) chunk: usize,
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

/// A successor not among the numbered states when it was met in its batch.
struct Candidate<M: Model, P> {
    labels: Labels,
    packed: P,
    /// The state itself, kept only for an observer (boxed: a batch's candidate tables keep
    /// their capacity, and an `ActorModelState` inline tripled their slots).
    state: Option<Box<M::State>>,
}

/// An optional per-state observer (see [`explore`]).
pub(crate) type Observer<'a, S> = Option<&'a mut dyn FnMut(&S)>;

/// A block of a level: `(packed state, fingerprint)`s.
type Block<P> = Vec<(P, Fingerprint)>;

/// One BFS level: blocks of `(packed state, fingerprint)`, in numbering order.
struct Frontier<P> {
    blocks: Vec<Block<P>>,
    /// Global index of each block's first item.
    starts: Vec<usize>,
    len: usize,
}

impl<P> Frontier<P> {
    fn new() -> Self {
        Frontier {
            blocks: Vec::new(),
            starts: Vec::new(),
            len: 0,
        }
    }
    fn push(&mut self, item: (P, Fingerprint)) {
        if self.blocks.last().is_none_or(|b| b.len() == BLOCK) {
            // Small at first, doubling up to a full block: a small model's levels stay small.
            let cap = (8usize << self.blocks.len().min(9)).min(BLOCK);
            self.blocks.push(Vec::with_capacity(cap));
            self.starts.push(self.len);
        }
        self.blocks.last_mut().expect("just pushed").push(item);
        self.len += 1;
    }
    /// Items `lo..hi`, in order.
    fn range(&self, lo: usize, hi: usize) -> impl Iterator<Item = &(P, Fingerprint)> {
        let b = self.starts.partition_point(|&s| s <= lo).saturating_sub(1);
        let skip = lo - self.starts.get(b).copied().unwrap_or(0);
        self.blocks[b.min(self.blocks.len())..]
            .iter()
            .flatten()
            .skip(skip)
            .take(hi - lo)
    }
    /// Hands over every block that ends at or before `idx`, to be freed.
    fn release_before(&mut self, idx: usize, trash: &mut Vec<Block<P>>) {
        for (b, block) in self.blocks.iter_mut().enumerate() {
            if self.starts[b] + block.len() <= idx {
                if block.capacity() > 0 {
                    trash.push(std::mem::take(block));
                }
            } else if self.starts[b] >= idx {
                break;
            }
        }
    }
}

/// The states numbered so far, as the expanding threads read them.
enum Seen<'a> {
    Nodes {
        index: &'a NodeIndex,
        fps: &'a [Fingerprint],
    },
    Visited(&'a [RwLockReadGuard<'a, Shard>]),
}

impl Seen<'_> {
    /// The number of `fp`'s state (a graph), or any number (the visited set), if it has one.
    #[inline]
    fn get(&self, fp: Fingerprint) -> Option<u32> {
        match self {
            Seen::Nodes { index, fps } => index.get(fps, fp),
            Seen::Visited(shards) => shards[shard_of(fp)].contains(fp).then_some(u32::MAX),
        }
    }
    /// Hints the CPU to fetch where [`Seen::get`] will look for `fp` first.
    #[inline(always)]
    fn prefetch(&self, fp: Fingerprint) {
        match self {
            Seen::Nodes { index, .. } => index.prefetch(fp),
            Seen::Visited(shards) => shards[shard_of(fp)].prefetch(fp),
        }
    }
}

#[derive(Clone, Copy)]
enum Target {
    Node(u32),
    Candidate(Fingerprint),
}

/// One chunk's expansion: per parent the end of its edges, the edges themselves
/// ([`Keep::Graph`] only: a safety search counts them), and the chunk's candidates, each at
/// its first edge in the batch (see [`Claims`]), in the order of those edges.
struct Chunk<M: Model, P> {
    ends: Vec<u32>,
    edges: Vec<(Target, u8)>,
    fresh: Vec<Fresh<M, P>>,
}

/// A candidate in its chunk: the index of its first edge there, its fingerprint, itself, and
/// whether it was claimed ([`Claims`]).
type Fresh<M, P> = (u32, Fingerprint, Candidate<M, P>, bool);

/// The batch's successors that were not built to be fingerprinted: the first chunk to claim
/// one builds it, the others only record an edge to it (building is what a claim saves; a
/// successor already built costs less to pack again than to claim). Each claim keeps the
/// position of the batch's first edge to its successor, `(chunk << 32) | edge index within
/// the chunk`. A claimed successor outside the boundary has no candidate: its edges are
/// dropped when numbered. Sharded by fingerprint.
struct Claims {
    shards: Vec<Mutex<HashMap<Fingerprint, u64, IdentityBuild>>>,
}

impl Claims {
    fn new() -> Self {
        Claims {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
    /// An edge at `pos` reaches `fp`: whether it is the first to claim it (and builds it).
    fn claim(&self, fp: Fingerprint, pos: u64) -> bool {
        let mut shard = self.shards[shard_of(fp)].lock().unwrap();
        match shard.entry(fp) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let first = e.get_mut();
                *first = (*first).min(pos);
                false
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(pos);
                true
            }
        }
    }
    /// Once the batch is expanded: moves each claimed candidate to the batch's first edge
    /// to it, and forgets the claims.
    fn relocate<M: Model, P>(&mut self, chunks: &mut [Chunk<M, P>]) {
        if self
            .shards
            .iter_mut()
            .all(|s| s.get_mut().unwrap().is_empty())
        {
            return;
        }
        let mut moved = Vec::new();
        for (k, chunk) in chunks.iter_mut().enumerate() {
            let here = |pos: u32| ((k as u64) << 32) | u64::from(pos);
            let shards = &mut self.shards;
            let mut first = |fp: Fingerprint| shards[shard_of(fp)].get_mut().unwrap()[&fp];
            if chunk.fresh.iter().any(|f| f.3 && first(f.1) != here(f.0)) {
                for f in std::mem::take(&mut chunk.fresh) {
                    let at = if f.3 { first(f.1) } else { here(f.0) };
                    if at == here(f.0) {
                        chunk.fresh.push(f);
                    } else {
                        moved.push((at, f));
                    }
                }
            }
        }
        let mut touched = Vec::new();
        for (at, mut f) in moved {
            let k = (at >> 32) as usize;
            f.0 = at as u32;
            chunks[k].fresh.push(f);
            touched.push(k);
        }
        touched.sort_unstable();
        touched.dedup();
        for k in touched {
            chunks[k].fresh.sort_by_key(|f| f.0);
        }
        for s in &mut self.shards {
            s.get_mut().unwrap().clear();
        }
    }
}

/// Where [`explore`] numbers states: the graph and its node index, or the visited set (whose
/// shards the numbering thread holds for writing).
struct Numbering<'v> {
    graph: Option<(Graph, NodeIndex)>,
    visited: Vec<std::sync::RwLockWriteGuard<'v, Shard>>,
    /// Per safety bit, the first state whose label has it.
    first_hit: [Option<(usize, Fingerprint)>; 64],
    /// The safety bits some state has.
    hits: u64,
    /// States numbered.
    count: usize,
}

impl Numbering<'_> {
    /// Numbers `fp`'s state (labels `l`, BFS parent `parent`: its number and fingerprint)
    /// unless it has a number: its number (a graph's node; `u32::MAX` for a visited set's
    /// known state) and whether it is new.
    fn number(
        &mut self,
        fp: Fingerprint,
        parent: Option<(usize, Fingerprint)>,
        l: Labels,
    ) -> (u32, bool) {
        let v = self.count;
        if let Some((graph, index)) = &mut self.graph {
            if let Some(known) = index.get(&graph.fps, fp) {
                return (known, false);
            }
            let u = graph.push_node(fp, parent.map(|(u, _)| u as u32), l);
            debug_assert_eq!(u as usize, v);
            index.insert(&graph.fps, u);
        } else if !self.visited[shard_of(fp)].insert(fp, parent.map_or(ROOT, |(_, p)| p)) {
            return (u32::MAX, false);
        }
        self.count += 1;
        let mut bits = l.safety;
        self.hits |= bits;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            self.first_hit[b].get_or_insert((v, fp));
            bits &= bits - 1;
        }
        (u32::try_from(v).unwrap_or(u32::MAX), true)
    }
    /// The number of `fp`'s state in the graph, if it has one.
    fn node(&self, fp: Fingerprint) -> Option<u32> {
        let (graph, index) = self.graph.as_ref()?;
        index.get(&graph.fps, fp)
    }
    /// Hints the CPU to fetch where [`Numbering::number`] will look for `fp` first.
    #[inline(always)]
    fn prefetch(&self, fp: Fingerprint) {
        match &self.graph {
            Some((_, index)) => index.prefetch(fp),
            None => self.visited[shard_of(fp)].prefetch(fp),
        }
    }
    /// An edge of the state being expanded ([`Keep::Graph`]).
    fn edge(&mut self, v: u32, cls: u8) {
        if let Some((graph, _)) = &mut self.graph {
            graph.succ.push(v);
            graph.class.push(cls);
        }
    }
    /// Ends the edges of the state being expanded ([`Keep::Graph`]).
    fn close(&mut self, enabled: u64) {
        if let Some((graph, _)) = &mut self.graph {
            graph.close_node(enabled);
        }
    }
}

/// Explores `model` breadth-first (see the module docs) on `opts.threads` threads, keeping
/// what `search.keep` asks. `on_new`, if given, sees every numbered state once, in numbering
/// order, on the calling thread.
pub(crate) fn explore<M, R>(
    search: &Search<'_, M>,
    repr: &R,
    opts: &Options,
    limits: &mut Limits,
    mut on_new: Observer<'_, M::State>,
) -> Explored
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Hash + Send + Sync,
    M::Action: Send + Sync,
{
    let model = search.model;
    let graph_kept = search.keep == Keep::Graph;
    let props = if graph_kept { search.props } else { &[] };
    assert!(
        props.len() <= 64,
        "at most 64 liveness properties per graph"
    );
    let labeller = Labeller {
        model,
        props,
        safety: search.safety,
    };
    let chunk = search.chunk;
    let visited = Visited::new();
    // `at` borrows `visited`, which is handed over after it.
    let (graph, first_hit, count, stopped, max_depth) = {
        let mut at = Numbering {
            graph: graph_kept.then(|| (Graph::new(props.len()), NodeIndex::new())),
            visited: Vec::new(),
            first_hit: [None; 64],
            hits: 0,
            count: 0,
        };
        let mut stopped = None;
        let mut level: Frontier<R::Packed> = Frontier::new();
        at.visited = write_all(&visited, graph_kept);
        for s in model.init_states() {
            if !model.within_boundary(&s) {
                continue;
            }
            let c = repr.canon(model, s);
            let fp = repr.fingerprint(&c);
            if !at.number(fp, None, labeller.labels(&c, true)).1 {
                continue;
            }
            if let Some(f) = on_new.as_mut() {
                f(&c);
            }
            level.push((repr.pack(c, None), fp));
        }
        at.visited.clear();
        let threads = opts.threads.max(1);
        let keep_states = on_new.is_some();
        let pool: Mutex<Vec<R::Scratch>> = Mutex::new(Vec::new());
        let mut claims = Claims::new();
        // Blocks of the expanding level already expanded: the next batch's threads free them.
        let mut trash = Mutex::new(Vec::new());
        let mut reporter = Reporter::new(opts.progress);
        let task = if graph_kept { "state graph" } else { "explore" };
        let decided_when = if opts.stop_when_decided {
            search.decided_when
        } else {
            0
        };
        // The number of `level`'s first state, and its depth.
        let (mut lo, mut depth) = (0usize, 0u32);
        let mut max_depth = 0u32;
        'levels: while level.len > 0 {
            let at_bound = opts.max_depth.is_some_and(|m| depth >= m);
            let n = level.len;
            let mut next: Frontier<R::Packed> = Frontier::new();
            let mut start = 0;
            while start < n {
                let end = (start + BATCH_CHUNKS * chunk).min(n);
                let mut chunks = {
                    let guards;
                    let seen = match &at.graph {
                        Some((graph, index)) => Seen::Nodes {
                            index,
                            fps: &graph.fps,
                        },
                        None => {
                            guards = visited.read_all();
                            Seen::Visited(&guards)
                        }
                    };
                    let batch = Batch {
                        model,
                        repr,
                        fair: search.fair,
                        labeller: &labeller,
                        seen: &seen,
                        claims: &claims,
                        trash: &trash,
                        edges: graph_kept,
                        pool: &pool,
                        keep_states,
                        chunk,
                    };
                    expand(&batch, &level, start, end, threads)
                };
                if at_bound && chunks.iter().any(|c| !c.fresh.is_empty()) {
                    // The bound cuts a successor off: the search is not complete.
                    stopped = Some(StopReason::MaxDepth);
                    break 'levels;
                }
                at.visited = write_all(&visited, graph_kept);
                let mut parents = level.range(start, end);
                let mut u = lo + start;
                claims.relocate(&mut chunks);
                for Chunk { ends, edges, fresh } in chunks {
                    // The chunk's candidates, in the order of their first edges: where the walk
                    // below meets them. One that an earlier chunk of the batch numbered is
                    // dropped, so every state is numbered at its first edge.
                    let mut fresh = fresh.into_iter();
                    let take = |at: &Numbering<'_>, fresh: &mut std::vec::IntoIter<_>| {
                        let (_, fp, c, _): Fresh<M, _> =
                            fresh.next().expect("a candidate at its first edge");
                        if let Some(ahead) = fresh.as_slice().get(PREFETCH) {
                            at.prefetch(ahead.1);
                        }
                        (fp, c)
                    };
                    let mut e = 0usize;
                    for &end_e in &ends {
                        let parent = Some((u, parents.next().expect("a parent per end").1));
                        let mut numbered_here = |at: &mut Numbering<'_>, fp, c: Candidate<M, _>| {
                            let (v, new) = at.number(fp, parent, c.labels);
                            if new {
                                if let (Some(f), Some(s)) = (on_new.as_mut(), &c.state) {
                                    f(s);
                                }
                                next.push((c.packed, fp));
                            }
                            v
                        };
                        if graph_kept {
                            let mut enabled = 0u64;
                            for (i, &(t, cls)) in edges[e..end_e as usize].iter().enumerate() {
                                let pos = (e + i) as u32;
                                let v = match t {
                                    Target::Node(v) => v,
                                    Target::Candidate(_)
                                        if fresh.as_slice().first().is_some_and(|f| f.0 == pos) =>
                                    {
                                        let (fp, c) = take(&at, &mut fresh);
                                        numbered_here(&mut at, fp, c)
                                    }
                                    // An edge to a state numbered at an earlier edge, or to a
                                    // claimed successor outside the boundary (no edge).
                                    Target::Candidate(fp) => match at.node(fp) {
                                        Some(v) => v,
                                        None => continue,
                                    },
                                };
                                if cls != NO_CLASS {
                                    enabled |= 1 << cls;
                                }
                                at.edge(v, cls);
                            }
                            at.close(enabled);
                        } else {
                            // This parent's new successors: the candidates first met at its edges.
                            while fresh.as_slice().first().is_some_and(|f| f.0 < end_e) {
                                let (fp, c) = take(&at, &mut fresh);
                                numbered_here(&mut at, fp, c);
                            }
                        }
                        e = end_e as usize;
                        u += 1;
                        if next.len > 0 {
                            max_depth = depth + 1;
                        }
                        let count = at.count;
                        if u.is_multiple_of(4096) {
                            reporter.tick(task, count as u64, depth, (count - u) as u64);
                        }
                        // As after each parent of a one-thread search: stop if a limit is
                        // reached, or every property asked for is decided, and something is
                        // left to expand.
                        let left = count > u;
                        if left && let Some(r) = limits.check(count as u64) {
                            stopped = Some(r);
                            break 'levels;
                        }
                        if left && decided_when != 0 && at.hits & decided_when == decided_when {
                            stopped = Some(StopReason::Decided);
                            break 'levels;
                        }
                    }
                    debug_assert!(fresh.next().is_none(), "a candidate without an edge");
                }
                at.visited.clear();
                drop(parents);
                level.release_before(end, trash.get_mut().unwrap());
                start = end;
            }
            lo += level.len;
            level = next;
            if level.len > 0 {
                depth += 1;
            }
            // The expanded level gone, its parts can be let go of.
            trash.get_mut().unwrap().clear();
            for scratch in pool.lock().unwrap().iter_mut() {
                repr.trim_parts(scratch);
            }
        }
        (at.graph.take(), at.first_hit, at.count, stopped, max_depth)
    };
    Explored {
        kept: match graph {
            Some((graph, _)) => Kept::Graph(graph),
            None => Kept::Visited(visited),
        },
        states: count as u64,
        max_depth,
        stopped,
        first_hit,
    }
}

/// Write access to every shard of the visited set, unless a graph is kept.
fn write_all(visited: &Visited, graph_kept: bool) -> Vec<std::sync::RwLockWriteGuard<'_, Shard>> {
    if graph_kept {
        Vec::new()
    } else {
        (0..SHARDS).map(|i| visited.shard(i)).collect()
    }
}

/// What the expanding threads of a batch share.
struct Batch<'a, M: Model, R: Repr<M>>
where
    M::State: Clone,
{
    model: &'a M,
    repr: &'a R,
    fair: &'a (dyn Fn(&M::Action) -> Option<FairClass> + Sync),
    labeller: &'a Labeller<'a, M>,
    seen: &'a Seen<'a>,
    claims: &'a Claims,
    /// Frontier blocks to free.
    trash: &'a Mutex<Vec<Block<R::Packed>>>,
    /// Whether edges are recorded ([`Keep::Graph`]).
    edges: bool,
    pool: &'a Mutex<Vec<R::Scratch>>,
    keep_states: bool,
    chunk: usize,
}

/// Phase 1 of a batch: the chunks of `level[start..end]`, expanded on `threads` threads, in
/// order.
fn expand<M, R>(
    b: &Batch<'_, M, R>,
    level: &Frontier<R::Packed>,
    start: usize,
    end: usize,
    threads: usize,
) -> Vec<Chunk<M, R::Packed>>
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Hash + Send + Sync,
    M::Action: Send + Sync,
{
    let (model, repr, chunk_len) = (b.model, b.repr, b.chunk);
    let count = (end - start).div_ceil(chunk_len);
    let claimed = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(count));
    par(threads.min(count), || {
        loop {
            let block = b.trash.lock().unwrap().pop();
            if block.is_none() {
                break;
            }
        }
        let mut scratch = b.pool.lock().unwrap().pop().unwrap_or_default();
        let mut mine = Vec::new();
        let mut actions = Vec::new();
        let mut succs = Vec::new();
        // The chunk's parents, and those of a window with their successors' end in `succs`.
        let mut window = Vec::new();
        let mut open = Vec::new();
        // Candidates this chunk has met (saves a lock per repeated successor).
        let mut met: std::collections::HashSet<Fingerprint, IdentityBuild> = Default::default();
        loop {
            let k = claimed.fetch_add(1, Ordering::Relaxed);
            if k >= count {
                break;
            }
            let lo = start + k * chunk_len;
            let hi = (lo + chunk_len).min(end);
            let mut chunk = Chunk {
                ends: Vec::with_capacity(hi - lo),
                edges: Vec::new(),
                fresh: Vec::new(),
            };
            // Edges of the chunk so far (recorded or not).
            let mut n_edges = 0u32;
            met.clear();
            window.extend(level.range(lo, hi).map(|(packed, _)| packed));
            for parents in window.chunks(WINDOW) {
                // First every successor's fingerprint, for a few parents at once, its slot
                // among the numbered states prefetched; then the lookups: they are random
                // memory accesses, and these overlap instead of waiting one after the other.
                for &packed in parents {
                    let state = repr.unpack(packed);
                    let memo = repr.memo_packed(packed, &state);
                    model.actions(&state, &mut actions);
                    for action in actions.drain(..) {
                        let cls = if b.edges {
                            class_code((b.fair)(&action))
                        } else {
                            NO_CLASS
                        };
                        // An edge to a known state needs only the successor's fingerprint.
                        let fast =
                            repr.successor_fingerprint(model, &memo, &mut scratch, &state, &action);
                        let succ = match fast {
                            Unbuilt::Disabled => continue,
                            Unbuilt::Known(fp, _) => (fp, fast, Err(action)),
                            Unbuilt::Unknown => {
                                let Some(c) = build(model, repr, &state, action) else {
                                    continue;
                                };
                                (repr.child_fingerprint(&memo, &state, &c), fast, Ok(c))
                            }
                        };
                        b.seen.prefetch(succ.0);
                        succs.push((succ.0, succ.1, succ.2, cls));
                    }
                    open.push((packed, state, memo, succs.len()));
                }
                let mut all = succs.drain(..);
                let mut from = 0;
                for (packed, state, memo, to) in open.drain(..) {
                    let state = &*state;
                    'edges: for (fp, fast, built, cls) in all.by_ref().take(to - from) {
                        // (An earlier edge of this chunk to a candidate came first.)
                        let t = match b.seen.get(fp) {
                            Some(v) => Target::Node(v),
                            None if met.contains(&fp) => Target::Candidate(fp),
                            None => 'new: {
                                let pos = ((k as u64) << 32) | u64::from(n_edges);
                                let (c, claimed) = match built {
                                    Ok(c) => (c, false),
                                    Err(action) => {
                                        met.insert(fp);
                                        if !b.claims.claim(fp, pos) {
                                            // Another chunk builds it.
                                            break 'new Target::Candidate(fp);
                                        }
                                        let Some(c) = build(model, repr, state, action) else {
                                            // Outside the boundary: no candidate.
                                            continue 'edges;
                                        };
                                        debug_assert_eq!(
                                            fp,
                                            repr.child_fingerprint(&memo, state, &c),
                                            "successor_fingerprint disagrees with the built successor"
                                        );
                                        (c, true)
                                    }
                                };
                                met.insert(fp);
                                chunk.fresh.push((
                                    n_edges,
                                    fp,
                                    Candidate {
                                        labels: b.labeller.labels(&c, false),
                                        state: b.keep_states.then(|| Box::new(c.clone())),
                                        packed: repr.pack_sharing(
                                            &mut scratch,
                                            c,
                                            (state, packed),
                                            fast.token(),
                                        ),
                                    },
                                    claimed,
                                ));
                                Target::Candidate(fp)
                            }
                        };
                        if b.edges {
                            chunk.edges.push((t, cls));
                        }
                        n_edges += 1;
                    }
                    from = to;
                    chunk.ends.push(n_edges);
                }
            }
            window.clear();
            mine.push((k, chunk));
        }
        b.pool.lock().unwrap().push(scratch);
        done.lock().unwrap().extend(mine);
    });
    let mut done = done.into_inner().unwrap();
    done.sort_unstable_by_key(|&(k, _)| k);
    debug_assert!(done.iter().enumerate().all(|(i, &(k, _))| i == k));
    done.into_iter().map(|(_, c)| c).collect()
}

/// The successor `action` leads to from `state`, canonical; `None` if there is none or it
/// lies outside the model's boundary.
fn build<M: Model, R: Repr<M>>(
    model: &M,
    repr: &R,
    state: &M::State,
    action: M::Action,
) -> Option<M::State>
where
    M::State: Clone,
{
    let next = model.next_state(state, action)?;
    model
        .within_boundary(&next)
        .then(|| repr.canon(model, next))
}

#[cfg(test)]
mod tests {
    //! The core against a plain sequential BFS, for both of what it keeps, any thread count
    //! and any cut of the levels into chunks and batches, with successors fingerprinted built
    //! (chunk-local candidates) and unbuilt (claimed batch-wide).
    use super::*;
    use crate::engine::fingerprint::fingerprint;
    use crate::engine::graph::{Bits, NO_PARENT};
    use crate::engine::repr::Plain;
    use crate::engine::symmetry::Identity;
    use std::borrow::Cow;

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

    /// [`Plain`], but fingerprinting every successor unbuilt, even one outside the boundary
    /// (as [`super::super::actor_repr::Actors`] does): its candidates are claimed.
    struct Unbuilt;

    impl Repr<Grid> for Unbuilt {
        type Packed = (u8, u8, bool);
        type Memo = ();
        type Scratch = ();
        type Token = ();
        fn canon(&self, _: &Grid, s: (u8, u8, bool)) -> (u8, u8, bool) {
            s
        }
        fn fingerprint(&self, s: &(u8, u8, bool)) -> Fingerprint {
            fingerprint(s)
        }
        fn memo(&self, _: &(u8, u8, bool)) {}
        fn child_fingerprint(&self, _: &(), _: &(u8, u8, bool), c: &(u8, u8, bool)) -> u64 {
            fingerprint(c)
        }
        fn successor_fingerprint(
            &self,
            model: &Grid,
            _: &(),
            _: &mut (),
            parent: &(u8, u8, bool),
            action: &Step,
        ) -> super::Unbuilt<()> {
            match model.next_state(parent, *action) {
                Some(s) => super::Unbuilt::Known(fingerprint(&s), ()),
                None => super::Unbuilt::Disabled,
            }
        }
        fn pack(
            &self,
            s: (u8, u8, bool),
            _: Option<(&(u8, u8, bool), &(u8, u8, bool))>,
        ) -> Self::Packed {
            s
        }
        fn unpack<'a>(&self, p: &'a (u8, u8, bool)) -> Cow<'a, (u8, u8, bool)> {
            Cow::Borrowed(p)
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
            Liveness::eventually("x full", |m: &Grid, s: &(u8, u8, bool)| s.0 == m.n),
            Liveness::leads_to(
                "flag leads to y full",
                |_: &Grid, s: &(u8, u8, bool)| s.2,
                |m: &Grid, s: &(u8, u8, bool)| s.1 == m.n,
            ),
        ]
    }

    fn safety(s: &(u8, u8, bool)) -> u64 {
        u64::from(s.0 + s.1 == 7) | u64::from(s.0 == 3 && s.2) << 1
    }

    /// The graph by definition (a plain sequential BFS), and each node's safety bits.
    fn reference(m: &Grid) -> (Graph, Vec<u64>) {
        let props = props();
        let mut g = Graph::new(props.len());
        let mut index: HashMap<Fingerprint, u32> = HashMap::new();
        let mut states: Vec<(u8, u8, bool)> = Vec::new();
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
                states.push(s);
                bits.push(safety(&s));
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

    fn summary(g: &Graph) -> Summary {
        (
            g.fps.clone(),
            g.parent.clone(),
            g.level_starts.clone(),
            g.off.clone(),
            g.succ.clone(),
            g.class.clone(),
            g.enabled.clone(),
            g.p.clone(),
            g.q.clone(),
        )
    }

    /// One exploration of `m` with successors fingerprinted built or unbuilt; `seen` gets
    /// the states the observer sees, in order.
    fn run(
        m: &Grid,
        unbuilt: bool,
        keep: Keep,
        opts: &Options,
        chunk: usize,
        seen: &mut Vec<Fingerprint>,
    ) -> Explored {
        let props = props();
        let search = Search {
            model: m,
            keep,
            fair: &fair,
            props: &props,
            safety: &safety,
            decided_when: 0b11,
            chunk,
        };
        let mut on_new = |s: &(u8, u8, bool)| seen.push(fingerprint(s));
        let mut limits = Limits::new(opts);
        if unbuilt {
            explore(&search, &Unbuilt, opts, &mut limits, Some(&mut on_new))
        } else {
            explore(
                &search,
                &Plain(Identity),
                opts,
                &mut limits,
                Some(&mut on_new),
            )
        }
    }

    /// Every thread count, chunk size and way of fingerprinting.
    fn cuts() -> impl Iterator<Item = (usize, usize, bool)> {
        (1..=3).flat_map(|t| {
            [1, 2, 3, CHUNK]
                .into_iter()
                .flat_map(move |c| [false, true].map(|u| (t, c, u)))
        })
    }

    #[test]
    fn any_cut_of_the_work_keeps_what_a_sequential_bfs_finds() {
        let m = Grid { n: 9 };
        let (want, bits) = reference(&m);
        assert!(want.len() > 150, "{}", want.len());
        let first_hit: Vec<Option<(usize, Fingerprint)>> = (0..2)
            .map(|b| {
                let v = bits.iter().position(|&x| x >> b & 1 == 1)?;
                Some((v, want.fps[v]))
            })
            .collect();
        assert!(first_hit.iter().all(Option::is_some));
        let depth = want.level_starts.len() as u32 - 1;
        let no_stop = Options {
            stop_when_decided: false,
            ..Options::default()
        };
        for (threads, chunk, unbuilt) in cuts() {
            let opts = Options {
                threads,
                ..no_stop.clone()
            };
            let case = format!("threads {threads} chunk {chunk} unbuilt {unbuilt}");
            for keep in [Keep::Graph, Keep::Visited] {
                let mut seen = Vec::new();
                let x = run(&m, unbuilt, keep, &opts, chunk, &mut seen);
                assert_eq!(x.stopped, None, "{case}");
                assert_eq!(x.states, want.len() as u64, "{case}");
                assert_eq!(x.max_depth, depth, "{case}");
                assert_eq!(x.first_hit[..2], first_hit[..], "{case}");
                assert_eq!(seen, want.fps, "observer order, {case}");
                match x.kept {
                    Kept::Graph(g) => assert_eq!(summary(&g), summary(&want), "{case}"),
                    Kept::Visited(v) => {
                        assert_eq!(v.len(), want.len() as u64);
                        for (u, &fp) in want.fps.iter().enumerate() {
                            let parent = want.parent[u];
                            let parent = if parent == NO_PARENT {
                                ROOT
                            } else {
                                want.fps[parent as usize]
                            };
                            assert_eq!(v.parent(fp), Some(parent), "{case}");
                        }
                    }
                }
            }
        }
        // A depth bound at the deepest level cuts nothing off: the search is complete.
        let bounded = Options {
            max_depth: Some(depth),
            ..no_stop
        };
        for keep in [Keep::Graph, Keep::Visited] {
            let x = run(&m, true, keep, &bounded, 2, &mut Vec::new());
            assert_eq!((x.stopped, x.states), (None, want.len() as u64));
        }
    }

    #[test]
    fn limits_stop_where_a_one_thread_search_stops() {
        let m = Grid { n: 9 };
        let (want, _) = reference(&m);
        for (opts, reason) in [
            (
                Options {
                    max_states: Some(40),
                    stop_when_decided: false,
                    ..Options::default()
                },
                StopReason::MaxStates,
            ),
            (
                Options {
                    max_depth: Some(5),
                    stop_when_decided: false,
                    ..Options::default()
                },
                StopReason::MaxDepth,
            ),
            (
                Options {
                    stop_when_decided: true,
                    ..Options::default()
                },
                StopReason::Decided,
            ),
        ] {
            let mut graphs = Vec::new();
            let mut counts = Vec::new();
            for (threads, chunk, unbuilt) in cuts() {
                let opts = Options {
                    threads,
                    ..opts.clone()
                };
                for keep in [Keep::Graph, Keep::Visited] {
                    let x = run(&m, unbuilt, keep, &opts, chunk, &mut Vec::new());
                    assert_eq!(x.stopped, Some(reason), "{opts:?}");
                    counts.push((x.states, x.max_depth, x.first_hit));
                    if let Kept::Graph(g) = x.kept {
                        graphs.push(summary(&g));
                    }
                }
            }
            assert!(counts.windows(2).all(|w| w[0] == w[1]), "{opts:?}");
            assert!(graphs.windows(2).all(|w| w[0] == w[1]), "{opts:?}");
            assert!(counts[0].0 < want.len() as u64, "{opts:?} stopped early");
        }
    }
}
