//! Test clusters for the placement rules.

use super::{LoadLevel, PlacementInput, is_stretched};
use crate::domain::chunk_table::{ChunkEntry, ChunkStatus, ChunkTable};
use crate::domain::pextent::PExtent;
use crate::domain::topology::{Level, Topology, TopologyTree};
use crate::domain::{Cid, Pid};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A cluster to ask placement questions about.
#[derive(Clone, Debug)]
pub(crate) struct Cluster {
    pub topo: Topology,
    pub chunks: ChunkTable,
    pub pextents: BTreeMap<Pid, PExtent>,
    pub load: LoadLevel,
    pub slots: usize,
    pub owner: Option<Cid>,
}

/// A pextent at `location` with prefer local `preferred`, all replicas alive, thin, size 1.
pub(crate) fn pext(pid: Pid, location: &[Cid], preferred: Option<Cid>) -> PExtent {
    PExtent {
        pid,
        location: location.to_vec(),
        alive_location: location.to_vec(),
        expected_replica_num: location.len() as u8,
        epoch: 4354,
        preferred_cid: preferred,
        thin_provision: true,
        size: 1,
        origin_pid: None,
        temporary_replica: false,
    }
}

impl Cluster {
    /// `objects`: `(name, level, parent)`; `chunks`: `(cid, parent name)`; every chunk gets
    /// capacity 10, used 2.
    pub fn build(objects: &[(&str, Level, &str)], chunks: &[(Cid, &str)]) -> Cluster {
        let objects: Vec<(String, Level, String)> = objects
            .iter()
            .map(|&(n, l, p)| (n.to_string(), l, p.to_string()))
            .collect();
        let tree = TopologyTree::new(&objects).expect("a valid test tree");
        let chunk_parent: BTreeMap<Cid, crate::domain::topology::NodeIx> = chunks
            .iter()
            .map(|&(c, p)| (c, tree.find(p).expect("a known parent")))
            .collect();
        let table = ChunkTable {
            chunks: chunks
                .iter()
                .map(|&(c, _)| (c, ChunkEntry::new(10, 2)))
                .collect(),
        };
        Cluster {
            topo: Topology {
                tree: Arc::new(tree),
                chunk_parent,
            },
            load: LoadLevel::from_chunks(&table),
            chunks: table,
            pextents: BTreeMap::new(),
            slots: super::DEFAULT_MAX_RECOVER_CMDS_PER_CHUNK,
            owner: None,
        }
    }

    /// The incident-A cluster as the brief describes it (specs/placement.md §9): one zone `default`, one
    /// rack, and chunks 4, 2, 5, 1 each in a brick of its own, so that `[4, 2, 5]` is a
    /// topology-safe location. Pids 3133 and 3134 at `[4, 2, 5]`, prefer local 4.
    pub fn incident_a_faithful() -> Cluster {
        let mut c = Cluster::build(
            &[
                ("default", Level::Zone, "topo"),
                ("rack-1", Level::Rack, "default"),
                ("brick-1", Level::Brick, "rack-1"),
                ("brick-2", Level::Brick, "rack-1"),
                ("brick-3", Level::Brick, "rack-1"),
                ("brick-4", Level::Brick, "rack-1"),
            ],
            &[
                (4, "brick-1"),
                (2, "brick-2"),
                (5, "brick-3"),
                (1, "brick-4"),
            ],
        );
        for pid in [3133, 3134] {
            c.pextents.insert(pid, pext(pid, &[4, 2, 5], Some(4)));
        }
        c
    }

    /// rack-a: bricks a1 {1, 2}, a2 {3}; rack-b: brick b1 {4, 5}.
    pub fn two_racks() -> Cluster {
        Cluster::build(
            &[
                ("z", Level::Zone, "topo"),
                ("rack-a", Level::Rack, "z"),
                ("rack-b", Level::Rack, "z"),
                ("a1", Level::Brick, "rack-a"),
                ("a2", Level::Brick, "rack-a"),
                ("b1", Level::Brick, "rack-b"),
            ],
            &[(1, "a1"), (2, "a1"), (3, "a2"), (4, "b1"), (5, "b1")],
        )
    }

    /// zone-a: bricks a1 {1}, a2 {2}, a3 {3}; zone-b: bricks b1 {4}, b2 {5}.
    pub fn stretched() -> Cluster {
        Cluster::build(
            &[
                ("zone-a", Level::Zone, "topo"),
                ("zone-b", Level::Zone, "topo"),
                ("rack-a", Level::Rack, "zone-a"),
                ("rack-b", Level::Rack, "zone-b"),
                ("a1", Level::Brick, "rack-a"),
                ("a2", Level::Brick, "rack-a"),
                ("a3", Level::Brick, "rack-a"),
                ("b1", Level::Brick, "rack-b"),
                ("b2", Level::Brick, "rack-b"),
            ],
            &[(1, "a1"), (2, "a2"), (3, "a3"), (4, "b1"), (5, "b2")],
        )
    }

    /// The input for pid 1000 at `location` (expected replicas = its length).
    pub fn input(&self, location: &[Cid], preferred: Option<Cid>) -> PlacementInput<'_> {
        self.input_for(pext(1000, location, preferred))
    }

    /// The input for `p` (leaked: test inputs live for the whole test).
    pub fn input_for(&self, p: PExtent) -> PlacementInput<'_> {
        let p: &'static PExtent = Box::leak(Box::new(p));
        PlacementInput {
            pext: p,
            topo: &self.topo,
            chunks: &self.chunks,
            pextents: &self.pextents,
            owner: self.owner,
            load: self.load,
            max_recover_cmds_per_chunk: self.slots,
            stretched: is_stretched(&self.topo),
            provisioned_percent: super::cluster_provisioned_percent(&self.chunks, &self.pextents),
        }
    }

    /// The input for a pid of the pextent table.
    pub fn input_pid(&self, pid: Pid) -> PlacementInput<'_> {
        self.input_for(self.pextents[&pid].clone())
    }

    pub fn set_status(&mut self, cid: Cid, status: ChunkStatus) {
        self.chunks.chunks.get_mut(&cid).unwrap().status = status;
    }

    pub fn set_used(&mut self, cid: Cid, used: u32) {
        self.chunks.chunks.get_mut(&cid).unwrap().used = used;
    }

    /// Makes `cid` take part in `n` commands (as a dst of made-up pids).
    pub fn busy(&mut self, cid: Cid, n: usize) {
        let e = self.chunks.chunks.get_mut(&cid).unwrap();
        for i in 0..n {
            e.rx_pids.insert(1_000_000 + i as Pid);
        }
    }
}
