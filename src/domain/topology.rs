//! The topology tree (`ChunkManager`'s topo objects): root `"topo"` → zones → racks →
//! bricks → nodes (chunks).
//!
//! The zones/racks/bricks part never changes during a run, so it lives in an immutable,
//! shared [`TopologyTree`] (built and validated with `petgraph`). What does change —
//! `[UPDATE TOPO OBJ]` moving a chunk to another parent — is the small per-state
//! [`Topology::chunk_parent`] map, so cloning a state never copies the tree.

use super::Cid;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// Index of a (non-chunk) node in the [`TopologyTree`]. 32 bits: a tree may hold more than
/// 65,535 objects (a 16-bit index wrapped there, and the wrapped parent links read as a cycle).
pub type NodeIx = u32;

/// How deep a topo object sits. Chunks are `Node`s, always leaves.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Level {
    Root,
    Zone,
    Rack,
    Brick,
}

impl Level {
    /// The level a child of this level must have (`None` below a brick: only chunks).
    fn child(self) -> Option<Level> {
        match self {
            Level::Root => Some(Level::Zone),
            Level::Zone => Some(Level::Rack),
            Level::Rack => Some(Level::Brick),
            Level::Brick => None,
        }
    }
}

/// One topo object above the chunks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TopoNode {
    pub name: String,
    pub level: Level,
    pub parent: Option<NodeIx>,
}

/// Why a tree or a move is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopoError {
    #[error("unknown topo object {0:?}")]
    UnknownNode(String),
    #[error("duplicate topo object {0:?}")]
    Duplicate(String),
    #[error("{child:?} is a {child_level:?} but its parent {parent:?} is a {parent_level:?}")]
    BadLevel {
        child: String,
        child_level: Level,
        parent: String,
        parent_level: Level,
    },
    #[error("the topology has a cycle through {0:?}")]
    Cycle(String),
    #[error("unknown chunk {0}")]
    UnknownChunk(Cid),
}

/// The immutable part of the topology: the root and every zone, rack and brick.
#[derive(Debug)]
pub struct TopologyTree {
    nodes: Vec<TopoNode>,
    graph: DiGraph<NodeIx, ()>,
    /// Digest of `nodes`, so a state's hash covers the tree without rehashing every name.
    digest: u64,
}

/// The index of the `i`-th object. A tree's objects come from a model file held in memory, so
/// there are far fewer than 2^32 of them.
fn node_ix(i: usize) -> NodeIx {
    NodeIx::try_from(i).expect("fewer than 2^32 topology objects")
}

/// Name of the root object, as in `new_parent_id: "topo"`.
pub const ROOT: &str = "topo";

impl TopologyTree {
    /// Builds the tree from `(name, level, parent name)` triples; the root `"topo"` is implicit.
    /// Levels must go root → zone → rack → brick, one step at a time, except that any node
    /// may hang directly below the root (ZBS lets an admin place objects there).
    pub fn new(objects: &[(String, Level, String)]) -> Result<TopologyTree, TopoError> {
        let mut nodes = vec![TopoNode {
            name: ROOT.to_string(),
            level: Level::Root,
            parent: None,
        }];
        let mut by_name: BTreeMap<&str, NodeIx> = BTreeMap::from([(ROOT, 0)]);
        for (name, level, _) in objects {
            if by_name.contains_key(name.as_str()) || *level == Level::Root {
                return Err(TopoError::Duplicate(name.clone()));
            }
            by_name.insert(name, node_ix(nodes.len()));
            nodes.push(TopoNode {
                name: name.clone(),
                level: *level,
                parent: None,
            });
        }
        for (name, level, parent) in objects {
            let p = *by_name
                .get(parent.as_str())
                .ok_or_else(|| TopoError::UnknownNode(parent.clone()))?;
            let parent_level = nodes[p as usize].level;
            if parent_level != Level::Root && parent_level.child() != Some(*level) {
                return Err(TopoError::BadLevel {
                    child: name.clone(),
                    child_level: *level,
                    parent: parent.clone(),
                    parent_level,
                });
            }
            nodes[by_name[name.as_str()] as usize].parent = Some(p);
        }
        let mut graph = DiGraph::new();
        for ix in 0..nodes.len() {
            graph.add_node(node_ix(ix));
        }
        for (ix, node) in nodes.iter().enumerate() {
            if let Some(p) = node.parent {
                graph.add_edge(NodeIndex::new(p as usize), NodeIndex::new(ix), ());
            }
        }
        // Levels strictly increase downwards, so a cycle is impossible; keep the check as the
        // statement of the invariant the ancestor walks below rely on.
        if petgraph::algo::is_cyclic_directed(&graph) {
            return Err(TopoError::Cycle(nodes[0].name.clone()));
        }
        let mut hasher = DefaultHasher::new();
        nodes.hash(&mut hasher);
        Ok(TopologyTree {
            digest: hasher.finish(),
            nodes,
            graph,
        })
    }

    pub fn node(&self, ix: NodeIx) -> &TopoNode {
        &self.nodes[ix as usize]
    }

    pub fn find(&self, name: &str) -> Option<NodeIx> {
        self.nodes.iter().position(|n| n.name == name).map(node_ix)
    }

    /// How many objects the tree holds, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: the root is always there.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node and its ancestors up to the root, nearest first.
    pub fn ancestors(&self, ix: NodeIx) -> impl Iterator<Item = NodeIx> + '_ {
        std::iter::successors(Some(ix), move |&i| self.nodes[i as usize].parent)
    }

    /// The tree as a petgraph graph (edges parent → child), e.g. for rendering.
    pub fn graph(&self) -> &DiGraph<NodeIx, ()> {
        &self.graph
    }
}

/// A failure domain at some level: a real topo object, or — for a chunk that hangs above
/// that level (e.g. directly below `"topo"`) — the chunk alone, sharing it with nobody.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Domain {
    Object(NodeIx),
    Alone(Cid),
}

/// The whole topology as one state sees it: the shared tree plus where each chunk hangs.
#[derive(Clone, Debug)]
pub struct Topology {
    pub tree: Arc<TopologyTree>,
    pub chunk_parent: BTreeMap<Cid, NodeIx>,
}

impl PartialEq for Topology {
    fn eq(&self, other: &Self) -> bool {
        (Arc::ptr_eq(&self.tree, &other.tree) || self.tree.digest == other.tree.digest)
            && self.chunk_parent == other.chunk_parent
    }
}
impl Eq for Topology {}
impl Hash for Topology {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The digest stands for every node of the tree (see `TopologyTree::digest`).
        self.tree.digest.hash(state);
        self.chunk_parent.hash(state);
    }
}

/// A state's topology as it travels between processes (`zbs-mc check --hosts`): where each
/// chunk hangs, and the digest of the tree, which is static and not sent.
#[derive(serde::Serialize, serde::Deserialize)]
struct TopologyWire {
    tree_digest: u64,
    chunk_parent: BTreeMap<Cid, NodeIx>,
}

impl serde::Serialize for Topology {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        TopologyWire {
            tree_digest: self.tree.digest,
            chunk_parent: self.chunk_parent.clone(),
        }
        .serialize(ser)
    }
}

/// A deserialised topology holds a placeholder tree (no objects, the sent digest) until
/// [`Topology::rebind_tree`] gives it the model's.
impl<'de> serde::Deserialize<'de> for Topology {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let wire = TopologyWire::deserialize(de)?;
        Ok(Topology {
            tree: Arc::new(TopologyTree {
                nodes: Vec::new(),
                graph: DiGraph::new(),
                digest: wire.tree_digest,
            }),
            chunk_parent: wire.chunk_parent,
        })
    }
}

impl Topology {
    /// Gives a deserialised topology the model's tree (`tree`), which must be the one it
    /// was serialised with (same digest).
    pub fn rebind_tree(&mut self, tree: &Arc<TopologyTree>) {
        assert_eq!(
            self.tree.digest, tree.digest,
            "a state's topology rebound to another model's tree"
        );
        self.tree = Arc::clone(tree);
    }

    pub fn parent_of(&self, cid: Cid) -> Option<NodeIx> {
        self.chunk_parent.get(&cid).copied()
    }

    /// `[UPDATE TOPO OBJ]`: hang chunk `cid` below `new_parent`.
    pub fn move_chunk(&mut self, cid: Cid, new_parent: NodeIx) -> Result<(), TopoError> {
        let slot = self
            .chunk_parent
            .get_mut(&cid)
            .ok_or(TopoError::UnknownChunk(cid))?;
        *slot = new_parent;
        Ok(())
    }

    /// The chunk's failure domain at `level` (zone, rack or brick).
    pub fn domain(&self, cid: Cid, level: Level) -> Domain {
        self.parent_of(cid)
            .and_then(|p| {
                self.tree
                    .ancestors(p)
                    .find(|&a| self.tree.node(a).level == level)
            })
            .map_or(Domain::Alone(cid), Domain::Object)
    }

    /// A chunk hanging directly below the root has no brick, rack or zone: it was taken
    /// out of its place (the incident-A `new_parent_id: "topo"` move).
    pub fn is_unplaced(&self, cid: Cid) -> bool {
        self.parent_of(cid) == Some(0)
    }

    /// Failure-domain distance: 0 for the same chunk, 1 when two chunks share a brick,
    /// 2 a rack, 3 a zone, 4 when they share nothing below the root.
    pub fn distance(&self, a: Cid, b: Cid) -> u8 {
        if a == b {
            return 0;
        }
        [Level::Brick, Level::Rack, Level::Zone]
            .iter()
            .position(|&l| {
                let da = self.domain(a, l);
                matches!(da, Domain::Object(_)) && da == self.domain(b, l)
            })
            .map_or(4, |i| i as u8 + 1)
    }

    /// Number of distinct failure domains the replicas of `location` occupy at `level`.
    pub fn spread(&self, location: &[Cid], level: Level) -> usize {
        let mut domains: Vec<Domain> = location.iter().map(|&c| self.domain(c, level)).collect();
        domains.sort_unstable();
        domains.dedup();
        domains.len()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The incident-A cluster: one zone, one rack, chunk 2 and 5 sharing brick b2.
    pub(crate) fn incident_a() -> Topology {
        let o = |n: &str, l, p: &str| (n.to_string(), l, p.to_string());
        let tree = TopologyTree::new(&[
            o("zone-default", Level::Zone, "topo"),
            o("rack-1", Level::Rack, "zone-default"),
            o("brick-1", Level::Brick, "rack-1"),
            o("brick-2", Level::Brick, "rack-1"),
            o("brick-3", Level::Brick, "rack-1"),
        ])
        .unwrap();
        let b = |n| tree.find(n).unwrap();
        let chunk_parent = BTreeMap::from([
            (1, b("brick-3")),
            (2, b("brick-2")),
            (4, b("brick-1")),
            (5, b("brick-2")),
        ]);
        Topology {
            tree: Arc::new(tree),
            chunk_parent,
        }
    }

    #[test]
    fn distance_follows_the_lowest_shared_object() {
        let t = incident_a();
        assert_eq!(t.distance(2, 5), 1, "same brick");
        assert_eq!(t.distance(4, 5), 2, "same rack, other brick");
        assert_eq!(t.distance(4, 4), 0);
    }

    #[test]
    fn moving_a_chunk_to_the_root_leaves_it_alone_in_every_domain() {
        let mut t = incident_a();
        assert_eq!(t.spread(&[4, 2, 5], Level::Brick), 2);
        t.move_chunk(5, 0).unwrap();
        assert!(t.is_unplaced(5));
        assert_eq!(t.domain(5, Level::Brick), Domain::Alone(5));
        assert_eq!(t.spread(&[4, 2, 5], Level::Brick), 3);
        assert_eq!(t.distance(2, 5), 4);
    }

    #[test]
    fn moves_change_equality_and_unknown_chunks_are_refused() {
        let t = incident_a();
        let mut moved = t.clone();
        moved.move_chunk(5, 0).unwrap();
        assert_ne!(t, moved);
        assert_eq!(moved.move_chunk(9, 0), Err(TopoError::UnknownChunk(9)));
    }

    /// Issue 16: with 65,536 objects or more a 16-bit index wrapped, the wrapped parent links
    /// formed a loop and a valid tree was refused as "the topology has a cycle".
    #[test]
    fn a_tree_of_more_than_65535_objects_is_accepted() {
        let o = |n: &str, l, p: &str| (n.to_string(), l, p.to_string());
        let mut objects = vec![o("z", Level::Zone, "topo"), o("r", Level::Rack, "z")];
        objects.extend((0..70_000).map(|b| o(&format!("b{b}"), Level::Brick, "r")));
        let tree = TopologyTree::new(&objects).expect("a valid tree of 70,003 objects");
        assert_eq!(tree.len(), 70_003);
        let last = tree.find("b69999").unwrap();
        assert!(last > 65_535);
        let names: Vec<&str> = tree
            .ancestors(last)
            .map(|a| tree.node(a).name.as_str())
            .collect();
        assert_eq!(names, ["b69999", "r", "z", "topo"]);
        let topo = Topology {
            tree: Arc::new(tree),
            chunk_parent: BTreeMap::from([(1, last), (2, 3)]),
        };
        assert_eq!(topo.distance(1, 2), 2, "two bricks of rack r");
    }

    #[test]
    fn bad_trees_are_refused_with_the_object_named() {
        let o = |n: &str, l, p: &str| (n.to_string(), l, p.to_string());
        let err = TopologyTree::new(&[o("b", Level::Brick, "nowhere")]).unwrap_err();
        assert_eq!(err, TopoError::UnknownNode("nowhere".into()));
        let err = TopologyTree::new(&[o("z", Level::Zone, "topo"), o("b", Level::Brick, "z")])
            .unwrap_err();
        assert!(matches!(err, TopoError::BadLevel { .. }), "{err}");
        let err = TopologyTree::new(&[o("z", Level::Zone, "topo"), o("z", Level::Zone, "topo")])
            .unwrap_err();
        assert_eq!(err, TopoError::Duplicate("z".into()));
    }
}
