//! The chunk table (`ChunkTableEntry`): status, space, and the per-chunk reservations that
//! `AddRecoverCmdUnlock()` step 4 makes for every command a chunk takes part in.

use super::recover_cmd::RecoverCmd;
use super::{Cid, Pid};
use std::collections::{BTreeMap, BTreeSet};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ChunkStatus {
    Healthy,
    /// Slow disks or network: avoided as a new owner and as a migrate target.
    Failslow,
    Removing,
    Disconnected,
}

/// One row of the chunk table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChunkEntry {
    pub status: ChunkStatus,
    /// Capacity and used space, in the model's space units.
    pub capacity: u32,
    pub used: u32,
    /// Space reserved for commands whose dst is this chunk.
    pub reserved: u32,
    /// Pids this chunk receives as a command's dst.
    pub rx_pids: BTreeSet<Pid>,
    /// Pids whose replica on this chunk a command replaces.
    pub tx_pids: BTreeSet<Pid>,
    /// Pids this chunk is the read source for.
    pub recover_src_pids: BTreeSet<Pid>,
}

impl ChunkEntry {
    pub fn new(capacity: u32, used: u32) -> ChunkEntry {
        ChunkEntry {
            status: ChunkStatus::Healthy,
            capacity,
            used,
            reserved: 0,
            rx_pids: BTreeSet::new(),
            tx_pids: BTreeSet::new(),
            recover_src_pids: BTreeSet::new(),
        }
    }

    pub fn free_space(&self) -> u32 {
        self.capacity.saturating_sub(self.used + self.reserved)
    }

    /// How many commands the chunk takes part in (its used command slots).
    pub fn cmd_count(&self) -> usize {
        self.rx_pids.len() + self.tx_pids.len() + self.recover_src_pids.len()
    }

    pub fn is_usable(&self) -> bool {
        matches!(self.status, ChunkStatus::Healthy | ChunkStatus::Failslow)
    }
}

/// All chunk rows, by cid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct ChunkTable {
    pub chunks: BTreeMap<Cid, ChunkEntry>,
}

impl ChunkTable {
    pub fn get(&self, cid: Cid) -> Option<&ChunkEntry> {
        self.chunks.get(&cid)
    }

    /// `AddRecoverCmdUnlock()` step 4: reserve dst `rx_pids` and its space, replaced
    /// `tx_pids`, src `recover_src_pids`.
    pub fn reserve(&mut self, cmd: &RecoverCmd) {
        let dst = self.chunks.get_mut(&cmd.dst).expect("dst is a known chunk");
        dst.rx_pids.insert(cmd.pid);
        dst.reserved += cmd.reserved_space;
        if cmd.replace != 0 {
            let replace = self.chunks.get_mut(&cmd.replace).expect("replace is known");
            replace.tx_pids.insert(cmd.pid);
        }
        let src = self
            .chunks
            .get_mut(&cmd.reserved_src)
            .expect("src is known");
        src.recover_src_pids.insert(cmd.pid);
    }

    /// The inverse of [`ChunkTable::reserve`], when the command ends or is revoked.
    /// `src` is the chunk whose `recover_src_pids` entry is released: normally the one that
    /// was reserved, but see the `release_uses_rewritten_src` variant.
    pub fn release(&mut self, cmd: &RecoverCmd, src: Cid) {
        if let Some(dst) = self.chunks.get_mut(&cmd.dst) {
            dst.rx_pids.remove(&cmd.pid);
            dst.reserved = dst.reserved.saturating_sub(cmd.reserved_space);
        }
        if let Some(replace) = self.chunks.get_mut(&cmd.replace) {
            replace.tx_pids.remove(&cmd.pid);
        }
        if let Some(src) = self.chunks.get_mut(&src) {
            src.recover_src_pids.remove(&cmd.pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> RecoverCmd {
        RecoverCmd {
            reserved_space: 2,
            ..crate::domain::recover_cmd::tests::incident_a_cmd(3133)
        }
    }

    fn table() -> ChunkTable {
        ChunkTable {
            chunks: [1, 2, 4, 5]
                .into_iter()
                .map(|c| (c, ChunkEntry::new(10, 3)))
                .collect(),
        }
    }

    #[test]
    fn reserve_then_release_restores_the_row() {
        let mut t = table();
        let before = t.clone();
        t.reserve(&cmd());
        assert_eq!(t.get(1).unwrap().free_space(), 5);
        assert_eq!(t.get(5).unwrap().cmd_count(), 2, "tx and src");
        t.release(&cmd(), 5);
        assert_eq!(t, before);
    }

    #[test]
    fn releasing_the_wrong_src_leaves_a_reservation_behind() {
        let mut t = table();
        t.reserve(&cmd());
        t.release(&cmd(), 4);
        assert!(t.get(5).unwrap().recover_src_pids.contains(&3133));
    }
}
