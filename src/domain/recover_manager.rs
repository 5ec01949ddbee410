//! RecoverManager: the waiting lists and sets, `pid_cmds_`, and the functions that turn
//! placement wishes into commands (`DoScan`, `MakeMigrateCmd`, `AddRecoverCmdUnlock`) or
//! take them back (`RevokeRecoverCmds`).

use super::events::{MetaEvent, Refusal};
use super::meta::{Meta, MetaConfig};
use super::pextent::EpochRule;
use super::placement;
use super::recover_cmd::{MigrateCandidate, RecoverCmd};
use super::{Cid, Pid};
use std::collections::{BTreeMap, BTreeSet};

/// RecoverManager's containers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct RecoverManager {
    /// Only `MakeMigrateCmd()` pushes here.
    pub passive_waiting_migrate: Vec<MigrateCandidate>,
    /// Only `GenerateMigrateCmds()` and `RevokeRecoverCmds()` erase from here.
    pub active_waiting_migrate: Vec<MigrateCandidate>,
    /// Pids needing recover, filled by `AddToWaitingRecoverIfNecessary()`; erased by
    /// `GenerateRecoverCmds()` and `RevokeRecoverCmds()` (notes:632).
    pub active_waiting_recover: BTreeSet<Pid>,
    /// Pids needing recover, refilled by every scan's `ReGenerateWaitingRecoverList()`.
    pub passive_waiting_recover: BTreeSet<Pid>,
    /// pid → the one command in progress for it.
    pub pid_cmds: BTreeMap<Pid, RecoverCmd>,
    /// Per pid, the number of commands ever accepted for it: the next one's `id`. A model
    /// stand-in for ZBS's `start_ms`, which tells two commands for one pid apart (specs A19).
    pub cmds_issued: BTreeMap<Pid, u32>,
    /// `next_repair_scan_pids_[storage_pool_id]` (notes:346): the pid the next migrate scan
    /// starts its walk at (0: the first pid). One storage pool (specs A20).
    pub next_repair_scan_pid: Pid,
    /// Model-only observations (ghost variables, not ZBS state) that properties read.
    pub ghost: Ghost,
    /// The manual migrate RPC (`AddMigrateCmd()`, ZBS-20993): calls in progress and the
    /// commands it made.
    pub manual: super::manual_migrate::ManualMigrates,
    /// Timed-out recovers whose temporary pextent waits for `EXTENT GC` (incident B,
    /// `recover_timeout.rs`).
    pub timeouts: super::recover_timeout::RecoverTimeouts,
    /// The snapshotted volume of incident C (vtable, COW marks, thin space; `snapshot.rs`):
    /// empty unless the model file has a `[volume]`.
    pub volume: super::snapshot::Volume,
}

/// What the model remembers of the past only so that properties can speak of it: never read
/// by a rule (specs A27).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Ghost {
    /// Pids one of whose commands `RevokeRecoverCmds()` (or a session's loss) took back.
    pub revoked_pids: BTreeSet<Pid>,
    /// Pids that got a command accepted after some command had been revoked.
    pub issued_after_revoke: BTreeSet<Pid>,
    /// The first migrate `AddRecoverCmdUnlock()` accepted that lowers its pid's topology
    /// safety in the topology of that moment (`placement::migrate_never_lowers_safety`).
    pub safety_lowering_migrate: Option<MigrateCandidate>,
}

/// A temporary-replica recover's source (`AddRecoverCmdUnlock()` check 2, notes:651): the
/// epoch of the version the temporary replica holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TmpReplicaSrc {
    pub epoch: u64,
}

impl RecoverManager {
    /// Is `pid` waiting in either migrate list?
    pub fn migrate_waiting(&self, pid: Pid) -> bool {
        self.passive_waiting_migrate
            .iter()
            .chain(self.active_waiting_migrate.iter())
            .any(|c| c.pid == pid)
    }

    /// `MakeMigrateCmd()`: push a candidate onto `passive_waiting_migrate_`.
    ///
    /// Modelling choice (specs A4): a pid that already has a command or already waits in a
    /// migrate list is not pushed again.
    pub fn make_migrate_cmd(&mut self, cand: MigrateCandidate) -> bool {
        if self.pid_cmds.contains_key(&cand.pid) || self.migrate_waiting(cand.pid) {
            return false;
        }
        self.passive_waiting_migrate.push(cand);
        debug_assert!(
            self.passive_waiting_migrate
                .iter()
                .chain(&self.active_waiting_migrate)
                .filter(|c| c.pid == cand.pid)
                .count()
                == 1,
            "A4: at most one waiting migrate per pid"
        );
        true
    }

    /// The 60-s swap of the two migrate lists.
    pub fn swap_waiting_migrate(&mut self) -> MetaEvent {
        std::mem::swap(
            &mut self.passive_waiting_migrate,
            &mut self.active_waiting_migrate,
        );
        MetaEvent::MigrateListsSwapped {
            now_active: self.active_waiting_migrate.len(),
        }
    }
}

impl Meta {
    /// Whether a migrate scan that queued something logs `Migrate for localization in storage
    /// pool: system` (`recover_manager.cc:1232`): at low load, where the scan is
    /// `ReGenerateMigrateForLocalizeInStoragePool()`. The notes read the line as the mark of a
    /// migrate happening (notes:472, notes:492–495), so a scan that queues nothing logs none.
    pub fn migrate_for_localization(&self, cfg: &MetaConfig) -> bool {
        self.cluster_view(cfg.max_recover_cmds_per_chunk).load == placement::LoadLevel::Low
    }

    /// `RecoverManager::ReGenerateWaitingMigrateList()` (the migrate scan): walk the pids from
    /// the cursor `next_repair_scan_pids_` in ascending pid order (`pid_map->GetNextSetId()`,
    /// notes:346), at most `scan_extents_num` of them (notes:73), ask placement for each pid
    /// and queue what it proposes via `MakeMigrateCmd()`; the cursor then points at the pid
    /// after the last one walked, or back at the first when the walk reached the end
    /// (specs A20).
    pub fn regenerate_waiting_migrate_list(&mut self, cfg: &MetaConfig) -> Vec<MetaEvent> {
        let limit = cfg.scan_extents_num.unwrap_or(usize::MAX);
        let start = self.recover.next_repair_scan_pid;
        let walked: Vec<Pid> = self
            .pextents
            .range(start..)
            .map(|(&p, _)| p)
            .take(limit)
            .collect();
        let next = walked
            .last()
            .and_then(|&last| self.pextents.range(last + 1..).next().map(|(&p, _)| p))
            .unwrap_or(0);
        let view = self.cluster_view(cfg.max_recover_cmds_per_chunk);
        let mut events = Vec::new();
        let proposals: Vec<MigrateCandidate> = walked
            .iter()
            .filter(|&&pid| !self.scan_honours_manual(cfg, pid))
            .filter_map(|pid| {
                let pext = &self.pextents[pid];
                placement::propose_migrate(&view.for_pid(pext, self.owner_of(*pid)))
            })
            .collect();
        if cfg.scan_extents_num.is_some() {
            events.push(MetaEvent::ScanCursor {
                walked: walked.clone(),
                next,
            });
        }
        self.recover.next_repair_scan_pid = next;
        for cand in proposals {
            if self.recover.make_migrate_cmd(cand) {
                events.push(MetaEvent::MigrateQueued(cand));
            }
        }
        events
    }

    /// `RecoverManager::DoScan()`: 1. `GenerateRecoverCmds()` for `active_waiting_recover_`
    /// (into which the last scan's passive set is merged first, specs A5) and
    /// `GenerateMigrateCmds()` for `active_waiting_migrate_`; 3. `ReGenerateWaitingRecoverList()`.
    pub fn do_scan(&mut self, cfg: &MetaConfig) -> Vec<MetaEvent> {
        let mut events = Vec::new();
        let rm = &mut self.recover;
        let passive = std::mem::take(&mut rm.passive_waiting_recover);
        rm.active_waiting_recover.extend(passive);
        // GenerateRecoverCmds(): each pid below its expected replicas gets a recover command.
        for pid in std::mem::take(&mut self.recover.active_waiting_recover) {
            let Some(pext) = self.pextents.get(&pid) else {
                continue;
            };
            // A timed-out recover's temporary pextent is reclaimed first (notes:299).
            if self.awaits_extent_gc(pid) {
                continue;
            }
            // GetDstCandidates(): the space figure is switch `recover_dst_space` (specs A75).
            if let Some((src, dst)) = self.get_dst_candidates(cfg, pext) {
                let cand = MigrateCandidate {
                    pid,
                    src,
                    dst,
                    replace: 0,
                };
                events.extend(self.add_recover_cmd_unlock(cfg, cand));
            }
        }
        // GenerateMigrateCmds(): every active candidate becomes a command or is dropped.
        for cand in std::mem::take(&mut self.recover.active_waiting_migrate) {
            events.extend(self.add_recover_cmd_unlock(cfg, cand));
        }
        events.extend(self.regenerate_waiting_recover_list());
        self.note_cmds_without_space(&events);
        events
    }

    /// `ReGenerateWaitingRecoverList()`: pids with fewer replicas than expected and no
    /// command are collected anew in `passive_waiting_recover_`; modelling choice (specs A5):
    /// the next scan swaps them into the active set, as the migrate lists are swapped.
    pub fn regenerate_waiting_recover_list(&mut self) -> Option<MetaEvent> {
        let rm = &mut self.recover;
        rm.passive_waiting_recover = self
            .pextents
            .values()
            .filter(|p| {
                p.location.len() < usize::from(p.expected_replica_num)
                    && !rm.pid_cmds.contains_key(&p.pid)
            })
            .map(|p| p.pid)
            .collect();
        (!rm.passive_waiting_recover.is_empty()).then(|| MetaEvent::RecoverQueued {
            pids: rm.passive_waiting_recover.iter().copied().collect(),
        })
    }

    /// `RecoverManager::AddRecoverCmdUnlock()` with its checks 1–5 (notes:648–657), for a
    /// candidate that is not a temporary-replica recover.
    pub fn add_recover_cmd_unlock(
        &mut self,
        cfg: &MetaConfig,
        cand: MigrateCandidate,
    ) -> Vec<MetaEvent> {
        self.add_recover_cmd_unlock_from(cfg, cand, None)
    }

    /// `RecoverManager::AddRecoverCmdUnlock()`; `tmp` is the temporary replica a recover
    /// reads from, if it is a temporary-replica recover (check 2). Returns the log events:
    /// the command added, or why it was refused (and, when `AllocOwnerForRecover()` failed,
    /// the reservations given back).
    pub fn add_recover_cmd_unlock_from(
        &mut self,
        cfg: &MetaConfig,
        cand: MigrateCandidate,
        tmp: Option<TmpReplicaSrc>,
    ) -> Vec<MetaEvent> {
        let refused = |why| MetaEvent::CmdRefused {
            pid: cand.pid,
            src: cand.src,
            dst: cand.dst,
            replace: cand.replace,
            why,
        };
        match self.try_add_recover_cmd(cfg, cand, tmp) {
            Ok(cmd) => vec![MetaEvent::CmdAdded(cmd)],
            Err(Refused::Check(why)) => vec![refused(why)],
            Err(Refused::NoOwner { given_back }) => vec![MetaEvent::OwnerAllocFailed {
                pid: cand.pid,
                src: cand.src,
                dst: cand.dst,
                replace: cand.replace,
                given_back,
            }],
        }
    }

    fn try_add_recover_cmd(
        &mut self,
        cfg: &MetaConfig,
        cand: MigrateCandidate,
        tmp: Option<TmpReplicaSrc>,
    ) -> Result<RecoverCmd, Refused> {
        let check = |why| Err(Refused::Check(why));
        let Some(pext) = self.pextents.get(&cand.pid) else {
            return check(Refusal::UnknownPid);
        };
        // 1. The pid already has a command (notes:650).
        if cfg.variant.check_pid_has_cmd && self.recover.pid_cmds.contains_key(&cand.pid) {
            return check(Refusal::PidHasCmd);
        }
        // 2. A temporary-replica recover whose source version (compared by epoch) is already
        //    in the pextent (notes:651): nothing to recover from the temporary replica.
        if tmp.is_some_and(|t| t.epoch <= pext.epoch) {
            return check(Refusal::TmpReplicaCurrent);
        }
        // 3. src must hold the pid; a migrate's dst must not, its replaced replica must
        //    (notes:652).
        let is_migrate = cand.replace != 0;
        if cfg.variant.check_src_dst_hold
            && (!pext.holds(cand.src)
                || pext.holds(cand.dst)
                || (is_migrate && !pext.holds(cand.replace)))
        {
            return check(Refusal::BadReplicas);
        }
        // 4. dst space, command slots (notes:653); then reserve.
        let space = pext.size;
        let involved = [cand.src, cand.dst, cand.replace];
        let Some(dst) = self.chunks.get(cand.dst) else {
            return check(Refusal::BadReplicas);
        };
        if dst.free_space() < space {
            return check(Refusal::NoSpace);
        }
        if involved.iter().filter(|&&c| c != 0).any(|&c| {
            self.chunks
                .get(c)
                .is_none_or(|e| e.cmd_count() >= cfg.max_recover_cmds_per_chunk)
        }) {
            return check(Refusal::NoSlot);
        }
        let lowers_safety = is_migrate && {
            let view = self.cluster_view(cfg.max_recover_cmds_per_chunk);
            !placement::migrate_never_lowers_safety(
                &view.for_pid(pext, self.owner_of(cand.pid)),
                &cand,
            )
        };
        let mut cmd = RecoverCmd {
            id: self
                .recover
                .cmds_issued
                .get(&cand.pid)
                .copied()
                .unwrap_or(0)
                + 1,
            pid: cand.pid,
            src: cand.src,
            dst: cand.dst,
            replace: cand.replace,
            owner: 0,
            epoch: pext.epoch,
            owner_allocated: false,
            reserved_src: cand.src,
            reserved_space: space,
        };
        self.chunks.reserve(&cmd);
        // 5. AccessManager::EnqueueRecoverCmd(): owner, src rewrite, session queue. The
        //    draft AddMigrateCmd() (notes:443–445) refuses the command when
        //    AllocOwnerForRecover() fails; what step 4 reserved is given back (specs A23).
        if !self.enqueue_recover_cmd(&mut cmd) {
            let given_back = !cfg.variant.alloc_failure_keeps_reservation;
            if given_back {
                self.chunks.release(&cmd, cmd.reserved_src);
            }
            return Err(Refused::NoOwner { given_back });
        }
        self.recover.cmds_issued.insert(cmd.pid, cmd.id);
        let ghost = &mut self.recover.ghost;
        if !ghost.revoked_pids.is_empty() {
            ghost.issued_after_revoke.insert(cmd.pid);
        }
        if lowers_safety {
            ghost.safety_lowering_migrate.get_or_insert(cand);
        }
        self.recover.pid_cmds.insert(cmd.pid, cmd);
        Ok(cmd)
    }

    /// `RecoverManager::DoRemoveReplica()` for every pid with a replica on the lost chunk `cid`,
    /// then `AddToWaitingRecover(pid)` → `active_waiting_recover_` (notes:631). The last
    /// replica of a pid is kept (there is nothing to recover from otherwise; specs A10). The
    /// epoch advances under [`EpochRule::RemoveReplica`] and
    /// [`EpochRule::EveryLocationChange`] (specs A21).
    pub fn do_remove_replicas(&mut self, cfg: &MetaConfig, cid: Cid) -> Vec<MetaEvent> {
        let mut events = Vec::new();
        let pids: Vec<Pid> = self
            .pextents
            .values()
            .filter(|p| p.holds(cid))
            .map(|p| p.pid)
            .collect();
        for pid in pids {
            let pext = self.pextents.get_mut(&pid).expect("listed above");
            if pext.location.len() == 1 {
                events.push(MetaEvent::LastReplicaKept { pid, cid });
                continue;
            }
            pext.location.retain(|&c| c != cid);
            pext.alive_location.retain(|&c| c != cid);
            if cfg.variant.epoch_rule != EpochRule::Never {
                pext.epoch += 1;
            }
            debug_assert!(!pext.location.is_empty(), "the last replica is kept");
            events.push(MetaEvent::ReplicaRemoved {
                pid,
                cid,
                location: pext.location.clone(),
                epoch: pext.epoch,
            });
            self.recover.active_waiting_recover.insert(pid);
        }
        events
    }

    /// `RecoverManager::RevokeRecoverCmds(cid)`: drop every command whose src or dst is `cid`
    /// from both migrate lists, `pid_cmds_` and the sessions' `waiting_recover_cmds`
    /// (notes:14), and erase its pid from `active_waiting_recover_` (notes:632).
    ///
    /// The src it matches is the command's src *after* `EnqueueRecoverCmd()`'s rewrite to the
    /// owner (notes:656): a command whose scan-chosen src was `cid` but was rewritten is not
    /// taken, one rewritten *to* `cid` is (specs A24; the trace says which).
    ///
    /// Today it keeps the owner `AllocOwnerForRecover()` created; with the
    /// `revoke_releases_owner` fix it releases that owner when the command was still queued
    /// (never handed to the owner's session, so nobody caches the lease).
    pub fn revoke_recover_cmds(&mut self, cfg: &MetaConfig, cid: Cid) -> Vec<MetaEvent> {
        let mut events = Vec::new();
        let with_replace = cfg.variant.revoke_includes_replace;
        let hits = |src: Cid, dst: Cid, replace: Cid| {
            src == cid || dst == cid || (with_replace && replace == cid)
        };
        let rm = &mut *self.recover;
        for list in [
            &mut rm.passive_waiting_migrate,
            &mut rm.active_waiting_migrate,
        ] {
            let (dropped, kept): (Vec<_>, Vec<_>) = list
                .iter()
                .copied()
                .partition(|c| hits(c.src, c.dst, c.replace));
            *list = kept;
            events.extend(
                dropped
                    .into_iter()
                    .map(|cand| MetaEvent::CandidateRevoked { cid, cand }),
            );
        }
        let (revoked, spared): (Vec<RecoverCmd>, Vec<RecoverCmd>) = self
            .recover
            .pid_cmds
            .values()
            .copied()
            .partition(|c| hits(c.src, c.dst, c.replace));
        // Commands the src rewrite moved away from `cid`: kept, and the trace says why.
        events.extend(
            spared
                .into_iter()
                .filter(|c| c.reserved_src == cid && c.src != cid)
                .map(|cmd| MetaEvent::RevokeSparedRewrittenSrc { cid, cmd }),
        );
        for cmd in revoked {
            let was_queued = self.access.dequeue_recover_cmd(&cmd);
            self.finish_cmd(cfg, &cmd);
            let release = cfg.variant.revoke_releases_owner && was_queued && cmd.owner_allocated;
            if release && self.access.owners.get(&cmd.pid) == Some(&cmd.owner) {
                self.access.owners.remove(&cmd.pid);
            }
            let rm = &mut *self.recover;
            let erased = rm.active_waiting_recover.remove(&cmd.pid);
            rm.ghost.revoked_pids.insert(cmd.pid);
            events.push(MetaEvent::CmdRevoked {
                cid,
                cmd,
                was_queued,
                owner_kept: !release,
                erased_waiting_recover: erased,
            });
        }
        events
    }
}

/// Why `try_add_recover_cmd` did not add a command.
enum Refused {
    /// One of checks 1–4 (nothing was reserved).
    Check(Refusal),
    /// `AllocOwnerForRecover()` found no owner after step 4 reserved; `given_back`: the
    /// reservations were released.
    NoOwner { given_back: bool },
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::access_manager::AccessManager;
    use crate::domain::chunk_table::{ChunkEntry, ChunkTable};
    use crate::domain::placement::fixtures::pext;
    use crate::domain::topology;
    use crate::domain::variant::Variant;

    /// The checker tells states apart by hash: a candidate in the passive list and the same
    /// candidate in the active list must hash differently (`im`'s vectors, hashed without
    /// their length, did not, and the checker skipped states).
    #[test]
    fn a_candidate_hashes_differently_in_each_migrate_list() {
        let cand = crate::domain::recover_cmd::MigrateCandidate {
            pid: 3133,
            src: 5,
            dst: 1,
            replace: 5,
        };
        let passive = RecoverManager {
            passive_waiting_migrate: vec![cand],
            ..RecoverManager::default()
        };
        let active = RecoverManager {
            active_waiting_migrate: vec![cand],
            ..RecoverManager::default()
        };
        assert_ne!(passive, active);
        let hash = |r: &RecoverManager| {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            r.hash(&mut h);
            h.finish()
        };
        assert_ne!(hash(&passive), hash(&active));
    }

    /// The incident-A meta: pids 3133 and 3134 at `[4, 2, 5]`, prefer local 4, no owners.
    pub(crate) fn incident_a_meta() -> Meta {
        Meta {
            topology: topology::tests::incident_a().into(),
            pextents: [3133, 3134]
                .into_iter()
                .map(|p| (p, pext(p, &[4, 2, 5], Some(4))))
                .collect(),
            chunks: ChunkTable {
                chunks: [1, 2, 4, 5]
                    .into_iter()
                    .map(|c| (c, ChunkEntry::new(10, 2)))
                    .collect(),
            }
            .into(),
            recover: RecoverManager::default().into(),
            access: AccessManager::new([1, 2, 4, 5]).into(),
        }
    }

    pub(crate) fn cfg(variant: Variant) -> MetaConfig {
        MetaConfig {
            variant,
            max_recover_cmds_per_chunk: 128,
            scan_extents_num: None,
        }
    }

    fn cand(pid: Pid) -> MigrateCandidate {
        MigrateCandidate {
            pid,
            src: 5,
            dst: 1,
            replace: 5,
        }
    }

    #[test]
    fn add_recover_cmd_allocates_src_as_owner_and_queues_on_its_session() {
        let mut m = incident_a_meta();
        let ev = m.add_recover_cmd_unlock(&cfg(Variant::default()), cand(3133));
        assert_eq!(
            ev[0].lines(1, 0),
            [
                "I0101 00:00:01.000000 58510 recover_manager.cc:414] add recover cmd for pid: \
                 3133 src: 5 dst: 1 replace: 5 owner: 5",
                "# model: AllocOwnerForRecover created owner 5"
            ]
        );
        assert_eq!(m.owner_of(3133), Some(5));
        assert_eq!(m.access.waiting_recover_cmds[&5].len(), 1);
        assert!(m.chunks.get(1).unwrap().rx_pids.contains(&3133));
    }

    /// A pid's commands are numbered 1, 2, … in the order they are issued (`cmd #n` in traces;
    /// a chunk tells a reissued command from the revoked one by it).
    #[test]
    fn a_pids_commands_are_numbered_from_one_in_issue_order() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        m.add_recover_cmd_unlock(&c, cand(3133));
        assert_eq!(m.recover.pid_cmds[&3133].id, 1);
        m.update_topo_obj(&c, 5, 0);
        assert!(m.recover.pid_cmds.is_empty(), "the revoke took it");
        m.add_recover_cmd_unlock(&c, cand(3133));
        assert_eq!(m.recover.pid_cmds[&3133].id, 2);
        m.add_recover_cmd_unlock(&c, cand(3134));
        assert_eq!(m.recover.pid_cmds[&3134].id, 1, "numbers are per pid");
    }

    #[test]
    fn checks_one_and_three_refuse() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        m.add_recover_cmd_unlock(&c, cand(3133));
        assert!(matches!(
            m.add_recover_cmd_unlock(&c, cand(3133))[..],
            [MetaEvent::CmdRefused {
                why: Refusal::PidHasCmd,
                ..
            }]
        ));
        let bad = MigrateCandidate {
            dst: 2,
            ..cand(3134)
        };
        assert!(matches!(
            m.add_recover_cmd_unlock(&c, bad)[..],
            [MetaEvent::CmdRefused {
                why: Refusal::BadReplicas,
                ..
            }]
        ));
    }

    /// Check 2 (notes:651): a temporary-replica recover whose source version is already in
    /// the pextent is refused; one with a newer version is not.
    #[test]
    fn check_two_refuses_a_temporary_replica_recover_already_in_the_extent() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        m.pextents.get_mut(&3133).unwrap().location = vec![4, 2];
        let rec = MigrateCandidate {
            pid: 3133,
            src: 4,
            dst: 1,
            replace: 0,
        };
        let current = Some(TmpReplicaSrc { epoch: 4354 });
        assert!(matches!(
            m.add_recover_cmd_unlock_from(&c, rec, current)[..],
            [MetaEvent::CmdRefused {
                why: Refusal::TmpReplicaCurrent,
                ..
            }]
        ));
        let newer = Some(TmpReplicaSrc { epoch: 4355 });
        assert!(matches!(
            m.add_recover_cmd_unlock_from(&c, rec, newer)[..],
            [MetaEvent::CmdAdded(_)]
        ));
    }

    /// notes:632: RevokeRecoverCmds erases the revoked command's pid from
    /// active_waiting_recover_.
    #[test]
    fn revoke_erases_the_pid_from_active_waiting_recover() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        m.add_recover_cmd_unlock(&c, cand(3133));
        m.recover.active_waiting_recover.insert(3133);
        let events = m.revoke_recover_cmds(&c, 5);
        assert!(m.recover.active_waiting_recover.is_empty());
        assert!(matches!(
            events[..],
            [MetaEvent::CmdRevoked {
                erased_waiting_recover: true,
                ..
            }]
        ));
    }

    /// notes:656: the src rewrite decides which commands a later RevokeRecoverCmds(cid) takes.
    #[test]
    fn revoke_matches_the_rewritten_src() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        m.access.owners.insert(3134, 4);
        let events = m.add_recover_cmd_unlock(&c, cand(3134));
        let [MetaEvent::CmdAdded(cmd)] = events[..] else {
            panic!("{events:?}")
        };
        assert_eq!((cmd.src, cmd.reserved_src), (4, 5));
        assert!(
            events[0]
                .remarks()
                .iter()
                .any(|r| r.contains("rewrote src 5 -> 4"))
        );
        // Moving chunk 5 spares it (its src is 4 now)… except that dst 1 / replace 5 do not
        // hit either: only src or dst count.
        let spared = m.revoke_recover_cmds(&c, 5);
        assert!(matches!(
            spared[..],
            [MetaEvent::RevokeSparedRewrittenSrc { .. }]
        ));
        assert_eq!(m.recover.pid_cmds.len(), 1);
        // …moving chunk 4 takes it.
        let taken = m.revoke_recover_cmds(&c, 4);
        assert!(
            matches!(taken[..], [MetaEvent::CmdRevoked { .. }]),
            "{taken:?}"
        );
    }

    /// specs A20: the migrate scan walks `scan_extents_num` pids from its cursor.
    #[test]
    fn the_migrate_scan_walks_from_its_cursor() {
        let c = MetaConfig {
            scan_extents_num: Some(1),
            ..cfg(Variant::default())
        };
        let mut m = incident_a_meta();
        let queued = |events: Vec<MetaEvent>| -> Vec<Pid> {
            events
                .iter()
                .filter_map(|e| match e {
                    MetaEvent::MigrateQueued(c) => Some(c.pid),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(queued(m.regenerate_waiting_migrate_list(&c)), vec![3133]);
        assert_eq!(m.recover.next_repair_scan_pid, 3134);
        assert_eq!(queued(m.regenerate_waiting_migrate_list(&c)), vec![3134]);
        assert_eq!(m.recover.next_repair_scan_pid, 0, "wrapped");
        assert!(
            queued(m.regenerate_waiting_migrate_list(&c)).is_empty(),
            "3133 waits already"
        );
    }

    #[test]
    fn revoke_before_delivery_keeps_the_owner_today_and_releases_it_with_the_fix() {
        for (fix, owner_after) in [(false, Some(5)), (true, None)] {
            let v = Variant {
                revoke_releases_owner: fix,
                ..Variant::default()
            };
            let c = cfg(v);
            let mut m = incident_a_meta();
            let clean = m.chunks.clone();
            m.add_recover_cmd_unlock(&c, cand(3133));
            let events = m.update_topo_obj(&c, 5, 0);
            assert_eq!(events.len(), 2, "{events:?}");
            assert_eq!(m.owner_of(3133), owner_after, "fix={fix}");
            assert!(m.recover.pid_cmds.is_empty());
            assert!(m.access.waiting_recover_cmds[&5].is_empty());
            assert_eq!(m.chunks, clean, "revoke releases every reservation");
        }
    }

    #[test]
    fn revoke_after_delivery_keeps_the_owner_even_with_the_fix() {
        let v = Variant {
            revoke_releases_owner: true,
            ..Variant::default()
        };
        let c = cfg(v);
        let mut m = incident_a_meta();
        m.add_recover_cmd_unlock(&c, cand(3134));
        assert_eq!(m.access.take_waiting_recover_cmds(5).len(), 1);
        m.update_topo_obj(&c, 5, 0);
        assert_eq!(
            m.owner_of(3134),
            Some(5),
            "chunk 5 caches the lease: keep it"
        );
    }

    #[test]
    fn migrate_lists_flow_passive_to_active_to_command() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        let queued = |events: Vec<MetaEvent>| {
            events
                .into_iter()
                .filter(|e| matches!(e, MetaEvent::MigrateQueued(_)))
                .count()
        };
        assert_eq!(
            queued(m.regenerate_waiting_migrate_list(&c)),
            2,
            "both pids share brick-2 twice"
        );
        assert_eq!(
            queued(m.regenerate_waiting_migrate_list(&c)),
            0,
            "no duplicates"
        );
        assert!(m.do_scan(&c).is_empty(), "nothing active yet");
        m.recover.swap_waiting_migrate();
        let added = m.do_scan(&c);
        assert!(added.iter().all(|e| matches!(e, MetaEvent::CmdAdded(_))));
        assert_eq!(m.recover.pid_cmds.len(), 2);
        assert!(m.recover.active_waiting_migrate.is_empty());
    }
}
