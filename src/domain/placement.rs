//! Placement: which migrates and recovers a scan wants.
//!
//! This is the *minimal* rule the core model needs (specs A3); the full ZBS policy
//! (`RepairPExtentForLocalization`, `RepairPextentTopo`, `DoMove`, stretched clusters) is a
//! later piece of work and will replace these functions behind the same signatures.
//!
//! Rule: a location is *topology-safe* when no two replicas share a brick (a chunk hanging
//! directly below `"topo"` shares a brick with nobody). An unsafe location gets one migrate:
//! replace = the last replica in location that shares a brick and is neither prefer local nor
//! the lease owner (the low-load rule "last in location, not the owner"); src = replace;
//! dst = the lowest-cid usable, non-failslow, placed chunk with space and command slots that
//! does not hold the pid and shares no brick with the replicas that stay.

use super::Cid;
use super::chunk_table::{ChunkStatus, ChunkTable};
use super::pextent::PExtent;
use super::recover_cmd::MigrateCandidate;
use super::topology::{Level, Topology};

/// No two replicas share a brick.
pub fn is_topology_safe(location: &[Cid], topo: &Topology) -> bool {
    topo.spread(location, Level::Brick) == location.len()
}

/// A chunk a new replica may go to.
fn is_good_target(cid: Cid, pext: &PExtent, topo: &Topology, chunks: &ChunkTable) -> bool {
    chunks
        .get(cid)
        .is_some_and(|e| e.status == ChunkStatus::Healthy && e.free_space() >= pext.size)
        && !pext.holds(cid)
        && !topo.is_unplaced(cid)
}

/// The migrate a scan proposes for `pext`, if its location is not topology-safe.
pub fn propose_migrate(
    pext: &PExtent,
    topo: &Topology,
    chunks: &ChunkTable,
    owner: Option<Cid>,
) -> Option<MigrateCandidate> {
    if is_topology_safe(&pext.location, topo) {
        return None;
    }
    let shares_brick = |c: Cid| {
        pext.location
            .iter()
            .any(|&o| o != c && topo.domain(o, Level::Brick) == topo.domain(c, Level::Brick))
    };
    let replace = *pext
        .location
        .iter()
        .rev()
        .find(|&&c| shares_brick(c) && Some(c) != pext.preferred_cid && Some(c) != owner)?;
    let staying: Vec<Cid> = pext
        .location
        .iter()
        .copied()
        .filter(|&c| c != replace)
        .collect();
    let dst = chunks.chunks.keys().copied().find(|&d| {
        is_good_target(d, pext, topo, chunks)
            && staying
                .iter()
                .all(|&s| topo.domain(s, Level::Brick) != topo.domain(d, Level::Brick))
    })?;
    Some(MigrateCandidate {
        pid: pext.pid,
        src: replace,
        dst,
        replace,
    })
}

/// A recover for a pid below its expected replica count: read from the first alive replica,
/// write to the first good target sharing no brick with the replicas (else any good target).
pub fn recover_src_dst(pext: &PExtent, topo: &Topology, chunks: &ChunkTable) -> Option<(Cid, Cid)> {
    let src = *pext.alive_location.first()?;
    let targets = || {
        chunks
            .chunks
            .keys()
            .copied()
            .filter(|&d| is_good_target(d, pext, topo, chunks))
    };
    let spread = targets().find(|&d| {
        pext.location
            .iter()
            .all(|&s| topo.domain(s, Level::Brick) != topo.domain(d, Level::Brick))
    });
    Some((src, spread.or_else(|| targets().next())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recover_manager::tests::incident_a_meta;

    #[test]
    fn incident_a_wants_5_to_1_before_the_move_and_nothing_after() {
        let mut m = incident_a_meta();
        let p = &m.pextents[&3133];
        let cand = propose_migrate(p, &m.topology, &m.chunks, None).unwrap();
        assert_eq!((cand.src, cand.dst, cand.replace), (5, 1, 5));
        m.topology.move_chunk(5, 0).unwrap();
        let p = &m.pextents[&3133];
        assert!(is_topology_safe(&p.location, &m.topology));
        assert_eq!(propose_migrate(p, &m.topology, &m.chunks, Some(5)), None);
    }

    #[test]
    fn the_owner_and_prefer_local_are_never_replaced() {
        let m = incident_a_meta();
        let p = &m.pextents[&3133];
        // 2 and 5 share brick-2: with 5 the owner, 2 is replaced instead.
        let cand = propose_migrate(p, &m.topology, &m.chunks, Some(5)).unwrap();
        assert_eq!(cand.replace, 2);
    }

    #[test]
    fn a_recover_goes_to_a_chunk_in_a_fresh_brick() {
        let m = incident_a_meta();
        let mut p = m.pextents[&3133].clone();
        p.location = vec![4, 2];
        p.alive_location = vec![4, 2];
        assert_eq!(recover_src_dst(&p, &m.topology, &m.chunks), Some((4, 1)));
    }
}
