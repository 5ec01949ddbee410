//! The chunk side of a session with meta: what heartbeat replies bring, the lease cache
//! ("libmeta") and the recover commands the chunk is executing.

use super::recover_cmd::RecoverCmd;
use super::{Cid, Pid};
use std::collections::{BTreeMap, BTreeSet};

crate::switch_options! {
    /// What a chunk's recover handler does when a heartbeat reply brings a second command for
    /// a pid it already runs (reachable once two commands exist for one pid, e.g. a command
    /// revoked after delivery and its successor). The notes are silent: an open question
    /// (switch `second_cmd_for_running_pid`, specs A25).
    pub enum SecondCmd {
        /// The second replaces the first, which vanishes (a map keyed by pid; the first's
        /// `REPLACE REPLICA` never comes). The model's behaviour before the switch existed.
        FirstReplaced = "first_replaced",
        /// Both run, each to its own `REPLACE REPLICA`.
        BothRun = "both_run",
        /// The chunk refuses the second; it stays in `pid_cmds_` on meta, never run.
        SecondRefused = "second_refused",
    }
}

/// What a heartbeat reply did with one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    Started(RecoverCmd),
    BothRun {
        first: RecoverCmd,
        second: RecoverCmd,
    },
    SecondRefused {
        first: RecoverCmd,
        second: RecoverCmd,
    },
    FirstReplaced {
        first: RecoverCmd,
        second: RecoverCmd,
    },
}

impl Received {
    /// The pid of the command received.
    pub fn pid(&self) -> Pid {
        match self {
            Received::Started(c)
            | Received::BothRun { second: c, .. }
            | Received::SecondRefused { second: c, .. }
            | Received::FirstReplaced { second: c, .. } => c.pid,
        }
    }
}

/// One chunk's view of its session.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChunkSession {
    pub cid: Cid,
    /// Leases this chunk holds (libmeta's cache).
    pub lease_cache: BTreeSet<Pid>,
    /// Commands received in a heartbeat reply and not finished yet, by pid and command
    /// number (two for one pid only under [`SecondCmd::BothRun`]).
    pub running: BTreeMap<(Pid, u32), RecoverCmd>,
    /// The chunk was lost (disconnected): it holds nothing and messages to it are lost.
    pub down: bool,
    /// The Access session's state machine (`access_session.rs`): KeepAlive in session 0 unless
    /// heartbeats can be missed (`budgets.missed_heartbeats`).
    pub access: super::access_session::AccessSession,
    /// The recover handler's concurrency and running copies in a paced model (incident B,
    /// `recover_handler.rs`); empty otherwise.
    pub handler: super::recover_handler::RecoverHandler,
}

impl ChunkSession {
    pub fn new(cid: Cid) -> ChunkSession {
        ChunkSession {
            cid,
            lease_cache: BTreeSet::new(),
            running: BTreeMap::new(),
            down: false,
            access: super::access_session::AccessSession::established(0),
            handler: Default::default(),
        }
    }

    /// A heartbeat reply arrived: each command carries its lease (this session is the
    /// owner), which libmeta now caches (`Get recover notification: pid: …`). A command for a
    /// pid the chunk already runs is handled as `policy` says (specs A25): what the chunk's
    /// recover handler does then is not in the notes.
    pub fn on_heartbeat_reply(&mut self, cmds: &[RecoverCmd], policy: SecondCmd) -> Vec<Received> {
        let mut out = Vec::new();
        for cmd in cmds {
            debug_assert_eq!(cmd.owner, self.cid, "commands go to their owner's session");
            self.lease_cache.insert(cmd.pid);
            let running = self.running_for(cmd.pid).copied();
            match (running, policy) {
                (None, _) | (Some(_), SecondCmd::BothRun) => {
                    self.running.insert((cmd.pid, cmd.id), *cmd);
                    out.push(match running {
                        None => Received::Started(*cmd),
                        Some(first) => Received::BothRun {
                            first,
                            second: *cmd,
                        },
                    });
                }
                (Some(first), SecondCmd::SecondRefused) => {
                    out.push(Received::SecondRefused {
                        first,
                        second: *cmd,
                    });
                }
                (Some(first), SecondCmd::FirstReplaced) => {
                    self.running.remove(&(first.pid, first.id));
                    self.running.insert((cmd.pid, cmd.id), *cmd);
                    out.push(Received::FirstReplaced {
                        first,
                        second: *cmd,
                    });
                }
            }
        }
        out
    }

    /// The oldest command the chunk runs for `pid`.
    pub fn running_for(&self, pid: Pid) -> Option<&RecoverCmd> {
        self.running
            .range((pid, 0)..=(pid, u32::MAX))
            .next()
            .map(|(_, c)| c)
    }

    /// The copy of `pid`'s oldest running command is done: it leaves the chunk (its
    /// `REPLACE REPLICA` goes to meta). With two running, the older finishes first (A25).
    pub fn finish(&mut self, pid: Pid) -> Option<RecoverCmd> {
        let key = self.running_for(pid).map(|c| (c.pid, c.id))?;
        self.running.remove(&key)
    }

    /// libmeta releases a lease unused for about an hour; a lease a running command uses is
    /// not idle, nor, in a paced model, one whose timed-out recover is about to be reissued
    /// (specs A64). Returns whether it was released (and so must be reported to meta).
    pub fn idle_release(&mut self, pid: Pid) -> bool {
        self.running_for(pid).is_none()
            && !self.handler.keeps_lease(pid)
            && self.lease_cache.remove(&pid)
    }

    /// The chunk goes down: libmeta's cache and the running commands are gone with it.
    pub fn disconnect(&mut self) {
        self.down = true;
        self.lease_cache.clear();
        self.running.clear();
        self.handler.clear();
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
        s.on_heartbeat_reply(&[cmd(3134)], SecondCmd::FirstReplaced);
        assert!(s.lease_cache.contains(&3134));
        assert!(!s.idle_release(3134), "in use by the running command");
        assert_eq!(s.finish(3134), Some(cmd(3134)));
        assert!(s.idle_release(3134));
        assert!(!s.idle_release(3134), "nothing left to release");
    }

    #[test]
    fn a_second_command_for_a_running_pid_follows_the_switch() {
        let first = cmd(3134);
        let second = RecoverCmd { id: 2, ..first };
        let run = |policy| {
            let mut s = ChunkSession::new(5);
            s.on_heartbeat_reply(&[first], policy);
            let got = s.on_heartbeat_reply(&[second], policy);
            (got, s.running.values().copied().collect::<Vec<_>>())
        };
        assert_eq!(
            run(SecondCmd::FirstReplaced),
            (
                vec![Received::FirstReplaced { first, second }],
                vec![second]
            )
        );
        assert_eq!(
            run(SecondCmd::SecondRefused),
            (vec![Received::SecondRefused { first, second }], vec![first])
        );
        let (got, running) = run(SecondCmd::BothRun);
        assert_eq!(got, vec![Received::BothRun { first, second }]);
        assert_eq!(running, vec![first, second]);
        let mut s = ChunkSession::new(5);
        s.on_heartbeat_reply(&[first, second], SecondCmd::BothRun);
        assert_eq!(s.finish(3134), Some(first), "the older finishes first");
        assert_eq!(s.finish(3134), Some(second));
    }
}
