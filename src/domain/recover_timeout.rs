//! RecoverManager's side of `recover_timeout_ms` (notes:273–311, incident B): a recover that
//! has not finished when the timeout passes is ended by meta, an `EXTENT GC` command reclaims
//! the temporary pextent the chunk created on dst, and only after that may a scan issue a new
//! recover for the pid:
//!
//! > 3. 17 分钟后，chunk 上 recover 命令未执行完成，报错超时。
//! > 4. meta leader 发现自己下发的 recover 命令已经超时结束，下发 GC 命令将临时 pextent A 给回收掉。
//! > 5. 等待临时 pextent A 回收掉后，meta leader 再次下发新的 recover 命令。（重复步骤 1）
//! > (notes:297–299)
//!
//! The chunk's clock decides when the timeout passes (`recover_handler.rs`; specs A63): meta
//! learns it from the chunk's report, and ends the command when it handles it.

use super::events::MetaEvent;
use super::meta::{Meta, MetaConfig};
use super::recover_cmd::RecoverCmd;
use super::{Cid, Pid};
use std::collections::BTreeMap;

/// Temporary pextents of timed-out recovers that wait for their `EXTENT GC`: pid → the dst
/// chunk they sit on. Empty in every model without `[recover_pace]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct RecoverTimeouts {
    pub gc_pending: BTreeMap<Pid, Cid>,
}

impl Meta {
    /// `recover_timeout_ms` passed for `cmd` (notes:298): meta ends it — it leaves
    /// `pid_cmds_` and its reservations are released — and its temporary pextent on dst waits
    /// for `EXTENT GC`. A command meta no longer tracks (revoked meanwhile) has nothing left
    /// to end, but its temporary pextent still needs the GC.
    ///
    /// The command number is a stand-in for ZBS's `start_ms` (specs A19): a timed-out command
    /// leaves nothing behind (the chunk dropped its run), so the identical reissue takes its
    /// number again and is the same model state — the loop of notes:303–309 is a cycle of the
    /// state graph, not an infinite path (specs A64).
    pub fn recover_timed_out(&mut self, cfg: &MetaConfig, cmd: &RecoverCmd) -> Vec<MetaEvent> {
        let tracked = self.recover.pid_cmds.get(&cmd.pid) == Some(cmd);
        if tracked {
            self.finish_cmd(cfg, cmd);
            let rm = &mut *self.recover;
            if rm.cmds_issued.get(&cmd.pid) == Some(&cmd.id) {
                match cmd.id.checked_sub(1).filter(|&n| n > 0) {
                    Some(n) => rm.cmds_issued.insert(cmd.pid, n),
                    None => rm.cmds_issued.remove(&cmd.pid),
                };
            }
        }
        self.recover.timeouts.gc_pending.insert(cmd.pid, cmd.dst);
        vec![MetaEvent::RecoverTimedOut { cmd: *cmd, tracked }]
    }

    /// `EXTENT GC` (notes:293, 298): the temporary pextent of `pid`'s timed-out recover is
    /// reclaimed on its dst chunk; the pid may be recovered again.
    pub fn extent_gc(&mut self, pid: Pid) -> Vec<MetaEvent> {
        match self.recover.timeouts.gc_pending.remove(&pid) {
            Some(cid) => vec![MetaEvent::ExtentGc { pid, cid }],
            None => Vec::new(),
        }
    }

    /// Whether `pid`'s last recover timed out and its temporary pextent is not reclaimed yet:
    /// `GenerateRecoverCmds()` waits for it (notes:299).
    pub fn awaits_extent_gc(&self, pid: Pid) -> bool {
        self.recover.timeouts.gc_pending.contains_key(&pid)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::events::MetaEvent;
    use crate::domain::recover_cmd::MigrateCandidate;
    use crate::domain::recover_manager::tests::{cfg, incident_a_meta};
    use crate::domain::variant::Variant;

    /// pid 3133 on [4, 2] of 3 needs a recover 4 -> 1.
    fn short_meta() -> crate::domain::meta::Meta {
        let mut m = incident_a_meta();
        m.pextents.get_mut(&3133).unwrap().location = vec![4, 2];
        m.pextents.get_mut(&3133).unwrap().alive_location = vec![4, 2];
        m
    }

    fn issue(m: &mut crate::domain::meta::Meta) -> crate::domain::recover_cmd::RecoverCmd {
        let cand = MigrateCandidate {
            pid: 3133,
            src: 4,
            dst: 1,
            replace: 0,
        };
        match &m.add_recover_cmd_unlock(&cfg(Variant::default()), cand)[..] {
            [MetaEvent::CmdAdded(c)] => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_timeout_ends_the_command_and_the_gc_precedes_an_identical_reissue() {
        let c = cfg(Variant::default());
        let mut m = short_meta();
        let clean = m.chunks.clone();
        let first = issue(&mut m);
        m.access.take_waiting_recover_cmds(first.owner);
        let events = m.recover_timed_out(&c, &first);
        assert_eq!(
            events,
            vec![MetaEvent::RecoverTimedOut {
                cmd: first,
                tracked: true
            }]
        );
        assert!(m.recover.pid_cmds.is_empty());
        assert_eq!(m.chunks, clean, "reservations released");
        assert!(m.awaits_extent_gc(3133));
        // GenerateRecoverCmds waits for the GC (notes:299).
        m.recover.active_waiting_recover.insert(3133);
        assert!(
            !m.do_scan(&c)
                .iter()
                .any(|e| matches!(e, MetaEvent::CmdAdded(_))),
            "no reissue before the GC"
        );
        assert_eq!(
            m.extent_gc(3133),
            vec![MetaEvent::ExtentGc { pid: 3133, cid: 1 }]
        );
        assert!(m.extent_gc(3133).is_empty(), "once");
        let again = issue(&mut m);
        assert_eq!(
            again,
            crate::domain::recover_cmd::RecoverCmd {
                owner_allocated: false,
                ..first
            },
            "the identical command (its owner kept), the same number"
        );
        assert!(m.recover.cmds_issued.get(&3133) == Some(&1));
    }

    #[test]
    fn an_untracked_timeout_still_needs_its_gc_and_keeps_the_numbering() {
        let c = cfg(Variant::default());
        let mut m = short_meta();
        let first = issue(&mut m);
        m.revoke_recover_cmds(&c, 1);
        let events = m.recover_timed_out(&c, &first);
        assert_eq!(
            events,
            vec![MetaEvent::RecoverTimedOut {
                cmd: first,
                tracked: false
            }]
        );
        assert_eq!(m.recover.cmds_issued.get(&3133), Some(&1));
        assert!(m.awaits_extent_gc(3133));
    }
}
