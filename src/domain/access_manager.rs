//! AccessManager: lease owners per pid and, per session, the `waiting_recover_cmds` handed
//! over in the next heartbeat reply.

use super::events::MetaEvent;
use super::meta::{Meta, MetaConfig};
use super::recover_cmd::RecoverCmd;
use super::{Cid, Pid};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AccessManager {
    /// The lease owner of each pid that has one: the session (chunk) that is the pid's
    /// single access point.
    pub owners: BTreeMap<Pid, Cid>,
    /// Per session: commands to hand over in its next heartbeat reply.
    pub waiting_recover_cmds: BTreeMap<Cid, Vec<RecoverCmd>>,
}

impl AccessManager {
    /// One (empty) session per chunk.
    pub fn new(cids: impl IntoIterator<Item = Cid>) -> AccessManager {
        AccessManager {
            owners: BTreeMap::new(),
            waiting_recover_cmds: cids.into_iter().map(|c| (c, Vec::new())).collect(),
        }
    }

    /// The heartbeat reply: take everything queued for session `cid`.
    pub fn take_waiting_recover_cmds(&mut self, cid: Cid) -> Vec<RecoverCmd> {
        self.waiting_recover_cmds
            .get_mut(&cid)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Removes `cmd` from its owner session's queue; `true` if it was still there (i.e. not
    /// yet handed over).
    pub fn dequeue_recover_cmd(&mut self, cmd: &RecoverCmd) -> bool {
        let Some(queue) = self.waiting_recover_cmds.get_mut(&cmd.owner) else {
            return false;
        };
        let before = queue.len();
        queue.retain(|c| c != cmd);
        queue.len() != before
    }

    /// The session of chunk `cid` expired: every lease it held dies with it (a new session
    /// never reuses them) and nothing more is handed to it. Returns the pids whose owner it was.
    pub fn expire_session(&mut self, cid: Cid) -> Vec<Pid> {
        let dead: Vec<Pid> = self
            .owners
            .iter()
            .filter(|&(_, &o)| o == cid)
            .map(|(&p, _)| p)
            .collect();
        for pid in &dead {
            self.owners.remove(pid);
        }
        dead
    }

    /// `AccessManager::ReleaseOwner()`: a session reports it released an idle lease; the owner
    /// is cleared if that session still owns the pid.
    pub fn release_owner(&mut self, pid: Pid, session: Cid) -> MetaEvent {
        if self.owners.get(&pid) == Some(&session) {
            self.owners.remove(&pid);
            MetaEvent::OwnerReleased { pid, session }
        } else {
            MetaEvent::ReleaseIgnored { pid, session }
        }
    }
}

impl Meta {
    /// `AccessManager::AllocOwnerForRecover(pid, src, dst, alive_location)`: the pid's existing
    /// owner; else src; else dst; else the first usable, non-slow chunk holding an alive
    /// replica. Returns the owner and whether it was created here.
    pub fn alloc_owner_for_recover(&mut self, pid: Pid, src: Cid, dst: Cid) -> (Cid, bool) {
        if let Some(&owner) = self.access.owners.get(&pid) {
            return (owner, false);
        }
        let usable = |c: Cid| self.chunks.get(c).is_some_and(|e| e.is_usable());
        let non_slow = |c: Cid| {
            self.chunks
                .get(c)
                .is_some_and(|e| e.status == super::chunk_table::ChunkStatus::Healthy)
        };
        let alive = self
            .pextents
            .get(&pid)
            .map(|p| p.alive_location.clone())
            .unwrap_or_default();
        let owner = [src, dst]
            .into_iter()
            .find(|&c| usable(c))
            .or_else(|| alive.iter().copied().find(|&c| non_slow(c)))
            .unwrap_or(src);
        self.access.owners.insert(pid, owner);
        (owner, true)
    }

    /// `AccessManager::EnqueueRecoverCmd()`: allocate the owner; if the owner is neither src
    /// nor dst but holds an alive replica, read from it instead (the src rewrite); put the
    /// lease in the command and queue it on the owner session.
    pub fn enqueue_recover_cmd(&mut self, cmd: &mut RecoverCmd) {
        let (owner, created) = self.alloc_owner_for_recover(cmd.pid, cmd.src, cmd.dst);
        cmd.owner = owner;
        cmd.owner_allocated = created;
        let owner_alive = self
            .pextents
            .get(&cmd.pid)
            .is_some_and(|p| p.is_alive_on(owner));
        if owner != cmd.src && owner != cmd.dst && owner_alive {
            cmd.src = owner;
        }
        self.access
            .waiting_recover_cmds
            .entry(owner)
            .or_default()
            .push(*cmd);
    }

    /// App IO on `pid` needs its lease (`AccessManager::GetLease` for a VExtent/Extent lease):
    /// with no owner, the access point — prefer local if it holds an alive replica, else the
    /// first alive replica — becomes owner and caches the lease. With an owner, see the
    /// `app_io_recaches_owner` switch. Returns the event and the session to grant the lease to.
    pub fn lease_for_io(&mut self, cfg: &MetaConfig, pid: Pid) -> (MetaEvent, Option<Cid>) {
        if let Some(&owner) = self.access.owners.get(&pid) {
            return if cfg.variant.app_io_recaches_owner {
                (
                    MetaEvent::LeaseGranted {
                        pid,
                        owner,
                        created: false,
                    },
                    Some(owner),
                )
            } else {
                (MetaEvent::IoServed { pid, owner }, None)
            };
        }
        let Some(pext) = self.pextents.get(&pid) else {
            return (MetaEvent::IoServed { pid, owner: 0 }, None);
        };
        let owner = pext
            .preferred_cid
            .filter(|&c| pext.is_alive_on(c))
            .or_else(|| pext.alive_location.first().copied());
        match owner {
            Some(owner) => {
                self.access.owners.insert(pid, owner);
                (
                    MetaEvent::LeaseGranted {
                        pid,
                        owner,
                        created: true,
                    },
                    Some(owner),
                )
            }
            None => (MetaEvent::IoServed { pid, owner: 0 }, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::recover_manager::tests::{cfg, incident_a_meta};
    use crate::domain::variant::Variant;

    #[test]
    fn alloc_owner_prefers_existing_then_src_then_dst() {
        let mut m = incident_a_meta();
        m.access.owners.insert(3134, 4);
        assert_eq!(m.alloc_owner_for_recover(3134, 5, 1), (4, false));
        assert_eq!(m.alloc_owner_for_recover(3133, 5, 1), (5, true));
        m.access.owners.clear();
        m.chunks.chunks.get_mut(&5).unwrap().status =
            crate::domain::chunk_table::ChunkStatus::Disconnected;
        assert_eq!(m.alloc_owner_for_recover(3133, 5, 1), (1, true));
    }

    #[test]
    fn enqueue_rewrites_src_to_an_owner_holding_a_replica() {
        let mut m = incident_a_meta();
        m.access.owners.insert(3134, 4);
        let mut cmd = crate::domain::recover_cmd::RecoverCmd {
            owner: 0,
            owner_allocated: false,
            ..crate::domain::recover_cmd::tests::incident_a_cmd(3134)
        };
        m.enqueue_recover_cmd(&mut cmd);
        assert_eq!((cmd.src, cmd.owner, cmd.reserved_src), (4, 4, 5));
        assert_eq!(m.access.waiting_recover_cmds[&4].len(), 1);
    }

    #[test]
    fn io_creates_an_owner_at_prefer_local_and_reaches_a_set_owner_only_if_switched_on() {
        let mut m = incident_a_meta();
        let (_, grant) = m.lease_for_io(&cfg(Variant::default()), 3133);
        assert_eq!(grant, Some(4));
        m.access.owners.insert(3134, 5);
        assert_eq!(m.lease_for_io(&cfg(Variant::default()), 3134).1, None);
        let v = Variant {
            app_io_recaches_owner: true,
            ..Variant::default()
        };
        assert_eq!(m.lease_for_io(&cfg(v), 3134).1, Some(5));
    }

    #[test]
    fn release_owner_only_clears_the_owning_session() {
        let mut m = incident_a_meta();
        m.access.owners.insert(3133, 5);
        m.access.release_owner(3133, 4);
        assert_eq!(m.owner_of(3133), Some(5));
        m.access.release_owner(3133, 5);
        assert_eq!(m.owner_of(3133), None);
    }
}
