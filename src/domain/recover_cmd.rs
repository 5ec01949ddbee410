//! A recover / migrate command (`RecoverCmd`) and the candidates scans queue before one exists.

use super::{Cid, Pid};

/// What `MakeMigrateCmd()` pushes onto `passive_waiting_migrate_`: a wish, not yet a command.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct MigrateCandidate {
    pub pid: Pid,
    pub src: Cid,
    pub dst: Cid,
    pub replace: Cid,
}

/// A command `AddRecoverCmdUnlock()` accepted: it sits in `pid_cmds_`, then on its owner
/// session's `waiting_recover_cmds`, then runs on the owner's chunk.
///
/// Log line: `add recover cmd for pid: 3133 src: 5 dst: 1 replace: 5 owner: 5`.
/// Serialisable with every field, so a saved trace's replay finds the very same command.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct RecoverCmd {
    /// Which command this is: two commands for one pid with equal fields are still two
    /// (ZBS tells them apart by their start time, `start_ms`).
    pub id: u32,
    pub pid: Pid,
    /// Where the data is read from (may be rewritten to the owner by `EnqueueRecoverCmd()`).
    pub src: Cid,
    pub dst: Cid,
    /// The replica the migrate replaces; 0 for a recover (which adds `dst`).
    pub replace: Cid,
    /// The lease owner the command carries; it is handed to that session.
    pub owner: Cid,
    /// The pextent epoch the command was made against (`REPLACE REPLICA` must quote it).
    pub epoch: u64,
    /// `AllocOwnerForRecover()` created the owner for this command (the pid had none).
    pub owner_allocated: bool,
    /// The chunk whose `recover_src_pids` step 4 reserved (src before any rewrite).
    pub reserved_src: Cid,
    /// Space reserved on dst.
    pub reserved_space: u32,
}

impl RecoverCmd {
    pub fn is_migrate(&self) -> bool {
        self.replace != 0
    }

    /// Does the command involve chunk `cid` as src, dst or replaced replica?
    pub fn involves(&self, cid: Cid) -> bool {
        self.src == cid || self.dst == cid || self.replace == cid
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Incident A's migrate for `pid`: src 5, dst 1, replace 5, owner 5 created for it.
    pub(crate) fn incident_a_cmd(pid: Pid) -> RecoverCmd {
        RecoverCmd {
            id: 1,
            pid,
            src: 5,
            dst: 1,
            replace: 5,
            owner: 5,
            epoch: 4354,
            owner_allocated: true,
            reserved_src: 5,
            reserved_space: 1,
        }
    }
}
