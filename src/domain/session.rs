//! The chunk side of a session with meta: what heartbeat replies bring, the lease cache
//! ("libmeta") and the recover commands the chunk is executing.

use super::recover_cmd::RecoverCmd;
use super::{Cid, Pid};
use std::collections::{BTreeMap, BTreeSet};

/// One chunk's view of its session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkSession {
    pub cid: Cid,
    /// Leases this chunk holds (libmeta's cache).
    pub lease_cache: BTreeSet<Pid>,
    /// Commands received in a heartbeat reply and not finished yet.
    pub running: BTreeMap<Pid, RecoverCmd>,
    /// The chunk was lost (disconnected): it holds nothing and messages to it are lost.
    pub down: bool,
}

impl ChunkSession {
    pub fn new(cid: Cid) -> ChunkSession {
        ChunkSession {
            cid,
            lease_cache: BTreeSet::new(),
            running: BTreeMap::new(),
            down: false,
        }
    }

    /// A heartbeat reply arrived: each command carries its lease (this session is the
    /// owner), which libmeta now caches (`Get recover notification: pid: …`).
    pub fn on_heartbeat_reply(&mut self, cmds: &[RecoverCmd]) {
        for cmd in cmds {
            debug_assert_eq!(cmd.owner, self.cid, "commands go to their owner's session");
            self.lease_cache.insert(cmd.pid);
            self.running.insert(cmd.pid, *cmd);
        }
    }

    /// The copy is done: the command leaves the chunk (its `REPLACE REPLICA` goes to meta).
    pub fn finish(&mut self, pid: Pid) -> Option<RecoverCmd> {
        self.running.remove(&pid)
    }

    /// libmeta releases a lease unused for about an hour; a lease a running command uses is
    /// not idle. Returns whether it was released (and so must be reported to meta).
    pub fn idle_release(&mut self, pid: Pid) -> bool {
        !self.running.contains_key(&pid) && self.lease_cache.remove(&pid)
    }

    /// The chunk goes down: libmeta's cache and the running commands are gone with it.
    pub fn disconnect(&mut self) {
        self.down = true;
        self.lease_cache.clear();
        self.running.clear();
    }

    /// App IO through this chunk as owner: the lease is cached.
    pub fn cache_lease(&mut self, pid: Pid) {
        self.lease_cache.insert(pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::recover_cmd::tests::incident_a_cmd as cmd;

    #[test]
    fn a_delivered_command_caches_its_lease_which_is_idle_only_once_done() {
        let mut s = ChunkSession::new(5);
        s.on_heartbeat_reply(&[cmd(3134)]);
        assert!(s.lease_cache.contains(&3134));
        assert!(!s.idle_release(3134), "in use by the running command");
        assert_eq!(s.finish(3134), Some(cmd(3134)));
        assert!(s.idle_release(3134));
        assert!(!s.idle_release(3134), "nothing left to release");
    }
}
