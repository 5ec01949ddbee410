//! `RecoverManager::ReGenerateMigrateForRemovingChunk()`: move replicas off a chunk being
//! removed. Removal must be quick, so topology safety is not a condition (the recover
//! choice is used: the dst making the location safest).

use super::{PlacementInput, safety_rank};
use crate::domain::chunk_table::ChunkStatus;
use crate::domain::recover_cmd::MigrateCandidate;
use std::cmp::Reverse;

/// `RecoverManager::ReGenerateMigrateForRemovingChunk()`, for one pid: replace = the first
/// replica on a removing chunk; src = it (a removing chunk still serves reads); dst = the
/// chunk that can receive the pid and makes the location safest, then fewest commands, most
/// free space, lowest cid. Nothing for a temporary replica or a pid that needs recover.
pub fn regenerate_migrate_for_removing_chunk(input: &PlacementInput) -> Option<MigrateCandidate> {
    let p = input.pext;
    if p.temporary_replica || input.needs_recover() {
        return None;
    }
    let replace = p
        .location
        .iter()
        .copied()
        .find(|&c| input.status(c) == Some(ChunkStatus::Removing))?;
    let dst = input
        .chunks
        .chunks
        .keys()
        .copied()
        .filter(|&d| input.can_receive(d))
        .max_by_key(|&d| {
            let after: Vec<_> = p
                .location
                .iter()
                .map(|&c| if c == replace { d } else { c })
                .collect();
            (
                safety_rank(input, &after),
                Reverse(input.cmd_count(d)),
                input.free_space(d),
                Reverse(d),
            )
        })?;
    input.feasible(replace, dst, replace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::placement::fixtures::*;

    /// Brief §3: "Callers: … `ReGenerateMigrateForRemovingChunk()`."
    #[test]
    fn a_replica_on_a_removing_chunk_moves_whatever_the_load() {
        let mut c = Cluster::incident_a_faithful();
        c.set_status(5, ChunkStatus::Removing);
        let i = c.input(&[4, 2, 5], Some(4));
        let cand = regenerate_migrate_for_removing_chunk(&i).unwrap();
        assert_eq!((cand.src, cand.dst, cand.replace), (5, 1, 5));
        let (_, why) = crate::domain::placement::propose_migrate_why(&i).unwrap();
        assert_eq!(why, crate::domain::placement::MigrateReason::RemovingChunk);
    }
}
