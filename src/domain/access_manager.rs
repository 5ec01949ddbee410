//! AccessManager: lease owners per pid and, per session, the `waiting_recover_cmds` handed
//! over in the next heartbeat reply.

use super::events::MetaEvent;
use super::meta::{Meta, MetaConfig};
use super::recover_cmd::RecoverCmd;
use super::{Cid, Pid};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct AccessManager {
    /// The lease owner of each pid that has one: the session (chunk) that is the pid's
    /// single access point.
    pub owners: BTreeMap<Pid, Cid>,
    /// Per session: commands to hand over in its next heartbeat reply.
    pub waiting_recover_cmds: BTreeMap<Cid, Vec<RecoverCmd>>,
    /// The live session of each chunk (its id, `access_session.rs`); a chunk whose session
    /// expired has none until its next session is created. Meta holds one session per chunk
    /// at a time and every expiry drops that session's owners and queue, so `owners` and
    /// `waiting_recover_cmds`, keyed by chunk, name the chunk's live session (specs A86).
    pub sessions: BTreeMap<Cid, super::access_session::SessionGen>,
}

impl AccessManager {
    /// One (empty) session per chunk.
    pub fn new(cids: impl IntoIterator<Item = Cid>) -> AccessManager {
        let cids: Vec<Cid> = cids.into_iter().collect();
        AccessManager {
            owners: BTreeMap::new(),
            waiting_recover_cmds: cids.iter().map(|&c| (c, Vec::new())).collect(),
            sessions: cids.iter().map(|&c| (c, 0)).collect(),
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
    /// `AccessManager::AllocOwnerForRecover(pid, src, dst, alive_location)` (notes:655): the
    /// pid's existing owner; else src; else dst; else a non-slow chunk by owner priority (the
    /// first healthy chunk holding an alive replica, specs A12); the owner is a session
    /// (`SessionInfo owner`, notes:442), so a chunk without a live session is no candidate
    /// (specs A86). Returns the owner and whether
    /// it was created here, or `None` when no chunk qualifies — the call can fail, as the
    /// draft `AddMigrateCmd()` shows (`fail to alloc migrate owner`, notes:443–445).
    pub fn alloc_owner_for_recover(&mut self, pid: Pid, src: Cid, dst: Cid) -> Option<(Cid, bool)> {
        if let Some(&owner) = self.access.owners.get(&pid) {
            return Some((owner, false));
        }
        let live = |c: Cid| self.access.sessions.contains_key(&c);
        let usable = |c: Cid| live(c) && self.chunks.get(c).is_some_and(|e| e.is_usable());
        let non_slow = |c: Cid| {
            live(c)
                && self
                    .chunks
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
            .or_else(|| alive.iter().copied().find(|&c| non_slow(c)))?;
        self.access.owners.insert(pid, owner);
        Some((owner, true))
    }

    /// `AccessManager::EnqueueRecoverCmd()` (notes:654–657): allocate the owner; if the owner
    /// is neither src nor dst but holds an alive replica, read from it instead (the src
    /// rewrite, notes:656); put the lease in the command and queue it on the owner session.
    /// `false` if `AllocOwnerForRecover()` failed (nothing queued, no owner created).
    pub fn enqueue_recover_cmd(&mut self, cmd: &mut RecoverCmd) -> bool {
        let Some((owner, created)) = self.alloc_owner_for_recover(cmd.pid, cmd.src, cmd.dst) else {
            return false;
        };
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
        true
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
        assert_eq!(m.alloc_owner_for_recover(3134, 5, 1), Some((4, false)));
        assert_eq!(m.alloc_owner_for_recover(3133, 5, 1), Some((5, true)));
        m.access.owners.clear();
        m.chunks.chunks.get_mut(&5).unwrap().status =
            crate::domain::chunk_table::ChunkStatus::Disconnected;
        assert_eq!(m.alloc_owner_for_recover(3133, 5, 1), Some((1, true)));
    }

    /// notes:443–445: `AllocOwnerForRecover()` can fail; the command is then refused, no
    /// owner is created, and what step 4 reserved is given back (unless the open question
    /// `alloc_failure_keeps_reservation` reads the draft literally).
    #[test]
    fn a_failed_owner_allocation_refuses_the_command_and_gives_reservations_back() {
        use crate::domain::chunk_table::ChunkStatus;
        use crate::domain::events::MetaEvent;
        use crate::domain::recover_cmd::MigrateCandidate;
        for keep in [false, true] {
            let mut m = incident_a_meta();
            // src 5 and dst 1 are removing (no owner there), the alive replicas 4 and 2 are
            // failslow: no chunk qualifies.
            for (cid, st) in [
                (5, ChunkStatus::Removing),
                (1, ChunkStatus::Removing),
                (4, ChunkStatus::Failslow),
                (2, ChunkStatus::Failslow),
            ] {
                m.chunks.chunks.get_mut(&cid).unwrap().status = st;
            }
            let clean = m.chunks.clone();
            let v = Variant {
                alloc_failure_keeps_reservation: keep,
                ..Variant::default()
            };
            let cand = MigrateCandidate {
                pid: 3133,
                src: 5,
                dst: 1,
                replace: 5,
            };
            let events = m.add_recover_cmd_unlock(&cfg(v), cand);
            assert!(
                matches!(events[..], [MetaEvent::OwnerAllocFailed { given_back, .. }] if given_back != keep),
                "{events:?}"
            );
            assert_eq!(m.owner_of(3133), None);
            assert!(m.recover.pid_cmds.is_empty());
            assert!(m.access.waiting_recover_cmds.values().all(Vec::is_empty));
            assert_eq!(m.chunks == clean, !keep, "keep={keep}");
            assert_eq!(m.reservations_balance(128), !keep);
        }
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
        assert!(m.enqueue_recover_cmd(&mut cmd));
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
