//! The explicit state graph of a liveness check, as `explore.rs` builds it (nodes numbered
//! in the order a sequential BFS first meets the states, edges in generation order), and
//! its strongly connected components.

use super::fingerprint::{Fingerprint, prefetch_slot};
use super::liveness::FairClass;

pub(crate) const NO_CLASS: u8 = u8::MAX;
pub(crate) const NO_PARENT: u32 = u32::MAX;

/// The explicit state graph. Nodes are numbered in breadth-first order (parents, then
/// actions, in order): the order a sequential BFS first meets the states.
pub(crate) struct Graph {
    pub(crate) fps: Vec<Fingerprint>,
    pub(crate) parent: Vec<u32>,
    /// The first node of each depth (nodes are numbered level by level; the initial states
    /// are depth 0).
    pub(crate) level_starts: Vec<u32>,
    /// CSR: edges of node `u` are `off[u]..off[u+1]`.
    pub(crate) off: Vec<u32>,
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
    pub(crate) fn new(props: usize) -> Self {
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
    pub(crate) fn push_node(
        &mut self,
        fp: Fingerprint,
        parent: Option<u32>,
        labels: Labels,
    ) -> u32 {
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
    pub(crate) fn close_node(&mut self, enabled: u64) {
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
pub(crate) struct NodeIndex {
    slots: Vec<u32>,
    len: usize,
}

const NO_NODE: u32 = u32::MAX;

impl NodeIndex {
    pub(crate) fn new() -> Self {
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
    pub(crate) fn get(&self, fps: &[Fingerprint], fp: Fingerprint) -> Option<u32> {
        for i in self.probe(fp) {
            match self.slots[i] {
                NO_NODE => return None,
                v if fps[v as usize] == fp => return Some(v),
                _ => {}
            }
        }
        unreachable!("the table always has a free slot")
    }
    /// Hints the CPU to fetch `fp`'s home slot.
    #[inline(always)]
    pub(crate) fn prefetch(&self, fp: Fingerprint) {
        prefetch_slot(&self.slots, fp as usize & (self.slots.len() - 1));
    }
    /// Adds node `v` (`fps[v]` not yet in the table).
    pub(crate) fn insert(&mut self, fps: &[Fingerprint], v: u32) {
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
pub(crate) struct Labels {
    pub(crate) p: u64,
    pub(crate) q: u64,
    pub(crate) safety: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fingerprint::fingerprint;

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
