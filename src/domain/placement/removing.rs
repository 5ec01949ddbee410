//! `RecoverManager::ReGenerateMigrateForRemovingChunk()`: move replicas off a chunk being
//! removed (notes:627 "针对要退出的 Chunk 上的所有 pid 做迁移", migrate every pid on the chunk
//! that is leaving). The notes give no more; the rest is specs A52: removal must finish, so
//! topology safety is not a condition (the dst making the location safest is taken).

use super::{PlacementInput, safety_rank};
use crate::domain::chunk_table::ChunkStatus;
use crate::domain::recover_cmd::MigrateCandidate;
use std::cmp::Reverse;

/// `RecoverManager::ReGenerateMigrateForRemovingChunk()`, for one pid (notes:627; the choices
/// are specs A52): replace = the first replica on a removing chunk; src = it (a removing
/// chunk still serves reads); dst = the chunk that can receive the pid and makes the location
/// safest, then fewest commands, most free space, lowest cid. Nothing for a temporary replica
/// or a pid that needs recover (specs A50).
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

    /// notes:627: `ReGenerateMigrateForRemovingChunk()` migrates every pid on a leaving
    /// chunk; first and at any load: specs A52.
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
