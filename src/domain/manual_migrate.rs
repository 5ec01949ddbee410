//! `RecoverManager::AddMigrateCmd()` — the manual migrate RPC of ZBS-20993 (notes:353–464):
//! `zbs-meta migrate create pid <pid> src_chunk <cid> dst_chunk <cid> replaced_chunk <cid>`
//! (notes:374), as the draft at notes:385–463 writes it.
//!
//! The draft calls the `…UnLock` helpers without taking RecoverManager's lock ("不确定是否需要
//! 加锁" — not sure whether it needs the lock, notes:387), so in the model each place where it
//! reads or writes meta's shared tables is a step of its own ([`Stage`]) and DoScan, heartbeat
//! replies, `REPLACE REPLICA` and topology updates interleave between them. With the switch
//! [`AddMigrateLocking::Locked`] the whole draft is one step, as under the lock DoScan holds.
//!
//! What the draft does on failure is kept: it reserves the space (`ReserveSpaceForRecover`,
//! notes:428) before `AllocOwnerForRecover()` (notes:443) and returns `EBadRequest` without
//! giving the reservation back; [`AddMigrateLocking::LockedReleasing`] gives it back.
//!
//! The draft does not compile as written (`it->pid()` at notes:403, `cmd.pid()` at notes:448,
//! `src_replica` / `dst_replica` at notes:454–461 name nothing); the model reads them as the
//! request's pid, `cmd_ptr`, src and dst. The final `avail_cmd_slots` decrements (notes:454–461)
//! change a local map that is then dropped: they have no effect and are not modelled.

use super::chunk_table::ChunkStatus;
use super::meta::{Meta, MetaConfig};
use super::recover_cmd::RecoverCmd;
use super::{Cid, Pid};
use std::collections::BTreeMap;

/// `zbs-meta migrate create pid … src_chunk … dst_chunk … replaced_chunk …` (notes:374): the
/// draft's input "pid, src, dst, replace" (notes:359).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct MigrateRequest {
    pub pid: Pid,
    pub src: Cid,
    pub dst: Cid,
    pub replace: Cid,
}

crate::switch_options! {
    /// How `RecoverManager::AddMigrateCmd()` runs (specs A80): the draft as written, or a fix.
    #[derive(Default)]
    pub enum AddMigrateLocking {
        /// The draft as written (notes:385–463): no lock, each access to meta's tables a step
        /// of its own; a failed `AllocOwnerForRecover()` returns with the reservation kept.
        #[default]
        Draft = "draft",
        /// The whole draft under RecoverManager's lock (one step); the failure path as written.
        Locked = "locked",
        /// Under the lock, and a failed `AllocOwnerForRecover()` gives the reservation back.
        LockedReleasing = "locked_releasing",
    }
}

/// Where an RPC handler thread is in the draft: the step it runs next.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Stage {
    /// `PExtentHasCmdUnLock(pid)` (notes:389).
    HasCmd,
    /// The pextent-table entry (`IsDead`, `NeedRecover`, `IsTemporaryReplica`; its epoch is
    /// kept for the command, notes:395–405, 434), the slots (`GetRecoverInfo`, notes:407–418)
    /// and the extent's location (notes:420–427): reads only, one step (specs A81).
    Checks,
    /// `ReserveSpaceForRecover(pid, src, replace, dst)` (notes:428).
    Reserve,
    /// The command is built (epoch read at [`Stage::Checks`]), then `AllocOwnerForRecover()`
    /// (notes:432–445).
    AllocOwner,
    /// `EnqueueRecoverCmd(cmd_ptr, owner)` (notes:447).
    Enqueue,
    /// `pid_cmds_[pid] = cmd_ptr` and the log line (notes:448–452): an assignment, which
    /// overwrites a command the pid may have got since [`Stage::HasCmd`].
    Insert,
}

/// One RPC handler thread running the draft: its request, where it is, and its locals.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AddMigrateCall {
    /// Which of the operator's requests this call answers (the RPC's caller).
    pub request: u8,
    pub req: MigrateRequest,
    pub stage: Stage,
    /// `pentry.Epoch()`, read at [`Stage::Checks`] (notes:395, 434).
    pub epoch: u64,
    /// The command, from [`Stage::Reserve`] on (its owner from [`Stage::AllocOwner`] on).
    pub cmd: Option<RecoverCmd>,
}

/// The manual-migrate state beside RecoverManager: the RPC calls in progress (their handler
/// threads' locals, by slot) and what the model needs to know of manual commands.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct ManualMigrates {
    /// RPC calls in progress, by handler slot (the smallest free one; specs A80).
    pub calls: BTreeMap<u8, AddMigrateCall>,
    /// Commands the RPC put in `pid_cmds_`: (pid, command number).
    pub cmds: std::collections::BTreeSet<(Pid, u32)>,
    /// pid → the location its last manual migrate's `REPLACE REPLICA` made. Read by the scan
    /// only under the fix `scan_honours_manual_migrate`; otherwise an observation for the
    /// liveness property `manual_migrate_sticks` (specs A84).
    pub landed: BTreeMap<Pid, Vec<Cid>>,
}

/// Why the RPC returned an error: the draft's `Status` (notes:390–445).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RpcRefusal {
    /// `EDuplicate`: "pid: … already has migrate cmd" (notes:390).
    Duplicate,
    /// `EBadRequest`: "pid: … is dead, …" (notes:398).
    Dead,
    /// `EBadRequest`: "pid: … is recovering." (notes:401).
    Recovering,
    /// `EBadRequest`: "pid: … is temporary replica, …" (notes:404).
    Temporary,
    /// `EBadRequest`: "src chunk … or dst chunk … does not have enough cmd slots." (notes:417).
    NoSlots,
    /// `EBadRequest`: "given src/replace chunk does not have the replica of pid: …" (notes:423).
    SrcReplaceMissing,
    /// `EBadRequest`: "given dst chunk already has the replica of pid: …" (notes:426).
    DstHasReplica,
    /// `EBadRequest`: "do not have enough space for this migration." (notes:429).
    NoSpace,
    /// `EBadRequest`: "fail to alloc migrate owner for recover cmd: …" (notes:444).
    NoOwner,
}

/// What one step of the RPC did (trace lines).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RpcEvent {
    /// The RPC arrived; `slot` is its handler thread.
    Received { req: MigrateRequest, slot: u8 },
    /// A check passed; the thread goes on.
    Passed { req: MigrateRequest, stage: Stage },
    /// The RPC returned an error; `reservation_kept`: what `ReserveSpaceForRecover` reserved
    /// stays reserved (the draft's failure path after notes:428).
    Refused {
        req: MigrateRequest,
        why: RpcRefusal,
        reservation_kept: bool,
    },
    /// `ReserveSpaceForRecover` reserved dst's space and the slots.
    Reserved { req: MigrateRequest },
    /// `AllocOwnerForRecover()` gave `owner` (`created`: a new owner).
    OwnerAllocated {
        req: MigrateRequest,
        owner: Cid,
        created: bool,
    },
    /// `EnqueueRecoverCmd()` queued the command on its owner's session.
    Enqueued { cmd: RecoverCmd },
    /// `pid_cmds_[pid] = cmd_ptr`, `add recover cmd by rpc for pid: …` (notes:450–452);
    /// `overwrote`: the command the assignment replaced (it stays queued or running, and its
    /// reservations stay).
    Added {
        cmd: RecoverCmd,
        overwrote: Option<RecoverCmd>,
    },
}

fn req_words(r: &MigrateRequest) -> String {
    format!(
        "pid {} src_chunk {} dst_chunk {} replaced_chunk {}",
        r.pid, r.src, r.dst, r.replace
    )
}

impl RpcRefusal {
    /// The draft's `Status` text.
    pub fn status(&self, r: &MigrateRequest) -> String {
        let pid = r.pid;
        match self {
            RpcRefusal::Duplicate => format!("EDuplicate: pid: {pid} already has migrate cmd"),
            RpcRefusal::Dead => format!(
                "EBadRequest: pid: {pid} is dead, maybe can try recover from temporary replica."
            ),
            RpcRefusal::Recovering => format!("EBadRequest: pid: {pid} is recovering."),
            RpcRefusal::Temporary => {
                format!("EBadRequest: pid: {pid} is temporary replica, does not trigger migration.")
            }
            RpcRefusal::NoSlots => format!(
                "EBadRequest: src chunk {} or dst chunk {} does not have enough cmd slots.",
                r.src, r.dst
            ),
            RpcRefusal::SrcReplaceMissing => format!(
                "EBadRequest: given src/replace chunk does not have the replica of pid: {pid}"
            ),
            RpcRefusal::DstHasReplica => {
                format!("EBadRequest: given dst chunk already has the replica of pid: {pid}")
            }
            RpcRefusal::NoSpace => {
                "EBadRequest: do not have enough space for this migration.".into()
            }
            RpcRefusal::NoOwner => format!(
                "EBadRequest: fail to alloc migrate owner for recover cmd: pid: {pid} src_chunk: \
                 {} dst_chunk: {} replace_chunk: {}",
                r.src, r.dst, r.replace
            ),
        }
    }
}

impl RpcEvent {
    /// The glog line ZBS would log (only the draft's `LOG(INFO)`, notes:450), as
    /// `(file:line, message)`; the line number is a placeholder (specs A22, A80).
    pub fn glog(&self) -> Option<(&'static str, String)> {
        match self {
            RpcEvent::Added { cmd: c, .. } => Some((
                "recover_manager.cc:0",
                format!(
                    "add recover cmd by rpc for pid: {} src: {} dst: {} replace: {} owner: {}",
                    c.pid, c.src, c.dst, c.replace, c.owner
                ),
            )),
            RpcEvent::Received { .. }
            | RpcEvent::Passed { .. }
            | RpcEvent::Refused { .. }
            | RpcEvent::Reserved { .. }
            | RpcEvent::OwnerAllocated { .. }
            | RpcEvent::Enqueued { .. } => None,
        }
    }

    /// The model's remarks.
    pub fn remarks(&self) -> Vec<String> {
        let one = |s: String| vec![s];
        match self {
            RpcEvent::Received { req, slot } => one(format!(
                "RPC migrate create {} arrives: AddMigrateCmd() runs on handler thread #{slot}",
                req_words(req)
            )),
            RpcEvent::Passed { req, stage } => one(format!(
                "AddMigrateCmd({}) {} passed (no lock held)",
                req_words(req),
                match stage {
                    Stage::HasCmd => "PExtentHasCmdUnLock: no cmd for the pid;",
                    Stage::Checks => "entry, cmd slots and location checks",
                    Stage::Reserve | Stage::AllocOwner | Stage::Enqueue | Stage::Insert => "step",
                }
            )),
            RpcEvent::Refused {
                req,
                why,
                reservation_kept,
            } => {
                let mut r = vec![format!(
                    "AddMigrateCmd({}) returns {}",
                    req_words(req),
                    why.status(req)
                )];
                if *reservation_kept {
                    r.push(format!(
                        "the space and slots ReserveSpaceForRecover reserved on dst {} for pid {} \
                         are not given back",
                        req.dst, req.pid
                    ));
                }
                r
            }
            RpcEvent::Reserved { req } => one(format!(
                "ReserveSpaceForRecover(pid {}, src {}, replace {}, dst {}): space and slots \
                 reserved",
                req.pid, req.src, req.replace, req.dst
            )),
            RpcEvent::OwnerAllocated {
                req,
                owner,
                created,
            } => one(format!(
                "AllocOwnerForRecover(pid {}) -> owner {owner}{}",
                req.pid,
                if *created { " (created)" } else { "" }
            )),
            RpcEvent::Enqueued { cmd } => one(format!(
                "EnqueueRecoverCmd: pid {} src {} dst {} replace {} queued on session chunk-{} \
                 (not yet in pid_cmds_)",
                cmd.pid, cmd.src, cmd.dst, cmd.replace, cmd.owner
            )),
            RpcEvent::Added { overwrote, .. } => match overwrote {
                None => Vec::new(),
                Some(o) => one(format!(
                    "pid_cmds_[{}] = cmd_ptr overwrote cmd #{} (src {} dst {} replace {} owner \
                     {}), which stays queued or running with its reservations",
                    o.pid, o.id, o.src, o.dst, o.replace, o.owner
                )),
            },
        }
    }
}

/// `GetRecoverInfo(&avail_cmd_slots)` (notes:408–415): the chunks with a free command slot.
/// Which chunks the chunk table reports is not in the notes: the model reports every chunk
/// that is not disconnected (specs A82).
fn has_free_slot(meta: &Meta, cfg: &MetaConfig, cid: Cid) -> bool {
    meta.chunks.get(cid).is_some_and(|e| {
        e.status != ChunkStatus::Disconnected && e.cmd_count() < cfg.max_recover_cmds_per_chunk
    })
}

impl ManualMigrates {
    /// The commands of RPC calls that reserved and have not inserted into `pid_cmds_` yet.
    pub fn reserving(&self) -> impl Iterator<Item = &RecoverCmd> {
        self.calls.values().filter_map(|c| c.cmd.as_ref())
    }

    /// An RPC call holds a command with `owner` for `pid` that it will queue on that session.
    pub fn will_queue(&self, pid: Pid, owner: Cid) -> bool {
        self.calls.values().any(|c| {
            c.stage == Stage::Enqueue && c.cmd.is_some_and(|m| m.pid == pid && m.owner == owner)
        })
    }
}

impl AddMigrateCall {
    pub fn new(request: u8, req: MigrateRequest) -> AddMigrateCall {
        AddMigrateCall {
            request,
            req,
            stage: Stage::HasCmd,
            epoch: 0,
            cmd: None,
        }
    }

    /// Runs the draft's next step on `meta`; returns its events and whether the RPC returned.
    pub fn step(&mut self, meta: &mut Meta, cfg: &MetaConfig) -> (Vec<RpcEvent>, bool) {
        let req = self.req;
        let refuse = |why, reservation_kept| {
            (
                vec![RpcEvent::Refused {
                    req,
                    why,
                    reservation_kept,
                }],
                true,
            )
        };
        let pass = |stage| (vec![RpcEvent::Passed { req, stage }], false);
        match self.stage {
            Stage::HasCmd => {
                if meta.recover.pid_cmds.contains_key(&req.pid) {
                    return refuse(RpcRefusal::Duplicate, false);
                }
                self.stage = Stage::Checks;
                pass(Stage::HasCmd)
            }
            Stage::Checks => {
                let Some(pext) = meta.pextents.get(&req.pid) else {
                    return refuse(RpcRefusal::Dead, false);
                };
                // `IsDead`: no alive replica; `NeedRecover`: fewer replicas than expected
                // (specs A82).
                if pext.alive_location.is_empty() {
                    return refuse(RpcRefusal::Dead, false);
                }
                if pext.location.len() < usize::from(pext.expected_replica_num) {
                    return refuse(RpcRefusal::Recovering, false);
                }
                if pext.temporary_replica {
                    return refuse(RpcRefusal::Temporary, false);
                }
                self.epoch = pext.epoch;
                if !has_free_slot(meta, cfg, req.src) || !has_free_slot(meta, cfg, req.dst) {
                    return refuse(RpcRefusal::NoSlots, false);
                }
                if !pext.holds(req.src) || !pext.holds(req.replace) {
                    return refuse(RpcRefusal::SrcReplaceMissing, false);
                }
                if pext.holds(req.dst) {
                    return refuse(RpcRefusal::DstHasReplica, false);
                }
                self.stage = Stage::Reserve;
                pass(Stage::Checks)
            }
            Stage::Reserve => {
                let size = meta.pextents.get(&req.pid).map_or(1, |p| p.size);
                if meta
                    .chunks
                    .get(req.dst)
                    .is_none_or(|e| e.free_space() < size)
                {
                    return refuse(RpcRefusal::NoSpace, false);
                }
                let cmd = RecoverCmd {
                    id: 0,
                    pid: req.pid,
                    src: req.src,
                    dst: req.dst,
                    replace: req.replace,
                    owner: 0,
                    epoch: self.epoch,
                    owner_allocated: false,
                    reserved_src: req.src,
                    reserved_space: size,
                };
                meta.chunks.reserve(&cmd);
                self.cmd = Some(cmd);
                self.stage = Stage::AllocOwner;
                (vec![RpcEvent::Reserved { req }], false)
            }
            Stage::AllocOwner => {
                let mut cmd = self.cmd.expect("reserved at Stage::Reserve");
                let Some((owner, created)) =
                    meta.alloc_owner_for_recover(req.pid, req.src, req.dst)
                else {
                    let release = cfg.variant.add_migrate_cmd == AddMigrateLocking::LockedReleasing;
                    if release {
                        meta.chunks.release(&cmd, cmd.reserved_src);
                    }
                    return refuse(RpcRefusal::NoOwner, !release);
                };
                let rm = &mut meta.recover;
                cmd.id = rm.cmds_issued.get(&req.pid).copied().unwrap_or(0) + 1;
                rm.cmds_issued.insert(req.pid, cmd.id);
                cmd.owner = owner;
                cmd.owner_allocated = created;
                self.cmd = Some(cmd);
                self.stage = Stage::Enqueue;
                (
                    vec![RpcEvent::OwnerAllocated {
                        req,
                        owner,
                        created,
                    }],
                    false,
                )
            }
            Stage::Enqueue => {
                let mut cmd = self.cmd.expect("built at Stage::AllocOwner");
                // EnqueueRecoverCmd()'s src rewrite (notes:656), as for a scan's command.
                let owner_alive = meta
                    .pextents
                    .get(&cmd.pid)
                    .is_some_and(|p| p.is_alive_on(cmd.owner));
                if cmd.owner != cmd.src && cmd.owner != cmd.dst && owner_alive {
                    cmd.src = cmd.owner;
                }
                meta.access
                    .waiting_recover_cmds
                    .entry(cmd.owner)
                    .or_default()
                    .push(cmd);
                self.cmd = Some(cmd);
                self.stage = Stage::Insert;
                (vec![RpcEvent::Enqueued { cmd }], false)
            }
            Stage::Insert => {
                let cmd = self.cmd.expect("queued at Stage::Enqueue");
                let rm = &mut meta.recover;
                let overwrote = rm.pid_cmds.insert(cmd.pid, cmd);
                rm.manual.cmds.insert((cmd.pid, cmd.id));
                if !rm.ghost.revoked_pids.is_empty() {
                    rm.ghost.issued_after_revoke.insert(cmd.pid);
                }
                (vec![RpcEvent::Added { cmd, overwrote }], true)
            }
        }
    }
}

impl Meta {
    /// The RPC `migrate create` arrives: under [`AddMigrateLocking::Draft`] a handler thread
    /// starts the draft (its steps are [`Meta::add_migrate_cmd_step`]); under a locked
    /// variant the whole draft runs now.
    pub fn add_migrate_cmd(
        &mut self,
        cfg: &MetaConfig,
        request: u8,
        req: MigrateRequest,
    ) -> Vec<RpcEvent> {
        let slot = (0..=u8::MAX)
            .find(|s| !self.recover.manual.calls.contains_key(s))
            .expect("fewer than 256 calls in progress");
        let mut events = vec![RpcEvent::Received { req, slot }];
        let mut call = AddMigrateCall::new(request, req);
        if cfg.variant.add_migrate_cmd == AddMigrateLocking::Draft {
            self.recover.manual.calls.insert(slot, call);
            return events;
        }
        loop {
            let (ev, done) = call.step(self, cfg);
            events.extend(ev);
            if done {
                return events;
            }
        }
    }

    /// The next step of the RPC call on handler `slot` (unlocked draft only).
    pub fn add_migrate_cmd_step(&mut self, cfg: &MetaConfig, slot: u8) -> Vec<RpcEvent> {
        let Some(mut call) = self.recover.manual.calls.remove(&slot) else {
            return Vec::new();
        };
        let (events, done) = call.step(self, cfg);
        if !done {
            self.recover.manual.calls.insert(slot, call);
        }
        events
    }

    /// A `REPLACE REPLICA` of a manual command landed: remember the location it made
    /// (`Meta::replace_replica` calls this for a command it still tracked).
    pub fn manual_migrate_landed(&mut self, cmd: &RecoverCmd) {
        if self.recover.manual.cmds.remove(&(cmd.pid, cmd.id)) {
            let location = self.pextents.get(&cmd.pid).map(|p| p.location.clone());
            if let Some(location) = location {
                self.recover.manual.landed.insert(cmd.pid, location);
            }
        }
    }

    /// The fix `scan_honours_manual_migrate`: the migrate scan leaves `pid` alone while it
    /// sits where its last manual migrate put it (specs A84).
    pub fn scan_honours_manual(&self, cfg: &MetaConfig, pid: Pid) -> bool {
        cfg.variant.scan_honours_manual_migrate
            && self
                .recover
                .manual
                .landed
                .get(&pid)
                .is_some_and(|l| self.pextents.get(&pid).is_some_and(|p| &p.location == l))
    }

    /// Every pid a manual migrate landed for sits where it put it, has no command, waits in no
    /// migrate list, and no migrate scan would move it: the liveness goal of
    /// `manual_migrate_sticks`.
    pub fn manual_migrates_settled(&self, cfg: &MetaConfig) -> bool {
        let view = self.cluster_view(cfg.max_recover_cmds_per_chunk);
        self.recover.manual.landed.iter().all(|(pid, l)| {
            self.pextents.get(pid).is_some_and(|p| {
                &p.location == l
                    && !self.recover.pid_cmds.contains_key(pid)
                    && !self.recover.migrate_waiting(*pid)
                    && (self.scan_honours_manual(cfg, *pid)
                        || super::placement::propose_migrate(&view.for_pid(p, self.owner_of(*pid)))
                            .is_none())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recover_cmd::MigrateCandidate;
    use crate::domain::recover_manager::tests::{cfg, incident_a_meta};
    use crate::domain::variant::Variant;

    fn req() -> MigrateRequest {
        MigrateRequest {
            pid: 3133,
            src: 5,
            dst: 1,
            replace: 5,
        }
    }

    fn run_to_end(m: &mut Meta, c: &MetaConfig) -> Vec<RpcEvent> {
        let mut events = m.add_migrate_cmd(c, 0, req());
        while !m.recover.manual.calls.is_empty() {
            events.extend(m.add_migrate_cmd_step(c, 0));
        }
        events
    }

    #[test]
    fn the_draft_adds_a_command_and_logs_its_line() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        let events = run_to_end(&mut m, &c);
        let Some(RpcEvent::Added {
            cmd,
            overwrote: None,
        }) = events.last()
        else {
            panic!("{events:?}")
        };
        assert_eq!(
            RpcEvent::Added {
                cmd: *cmd,
                overwrote: None
            }
            .glog()
            .unwrap()
            .1,
            "add recover cmd by rpc for pid: 3133 src: 5 dst: 1 replace: 5 owner: 5"
        );
        assert_eq!(m.recover.pid_cmds[&3133], *cmd);
        assert_eq!(m.access.waiting_recover_cmds[&5], vec![*cmd]);
        assert!(m.reservations_balance(128));
        // Six steps: HasCmd, Checks, Reserve, AllocOwner, Enqueue, Insert (+ the arrival).
        assert_eq!(events.len(), 7, "{events:?}");
    }

    /// The unlocked draft: DoScan's command for the pid lands in `pid_cmds_` between
    /// `PExtentHasCmdUnLock` and the insert, which overwrites it: two commands, unbalanced
    /// reservations. Under the lock the RPC sees the command and refuses.
    #[test]
    fn a_scan_command_between_the_check_and_the_insert_is_overwritten_unless_locked() {
        let scan_cand = MigrateCandidate {
            pid: 3133,
            src: 5,
            dst: 1,
            replace: 5,
        };
        // Draft: the RPC passes HasCmd, then the scan adds its command.
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        m.add_migrate_cmd(&c, 0, req());
        m.add_migrate_cmd_step(&c, 0);
        m.add_recover_cmd_unlock(&c, scan_cand);
        let mut last = Vec::new();
        while !m.recover.manual.calls.is_empty() {
            last = m.add_migrate_cmd_step(&c, 0);
        }
        assert!(
            matches!(
                last[..],
                [RpcEvent::Added {
                    overwrote: Some(_),
                    ..
                }]
            ),
            "{last:?}"
        );
        assert_eq!(
            m.access.waiting_recover_cmds[&5].len(),
            2,
            "two commands queued"
        );
        assert!(!m.reservations_balance(128));
        // Locked: the scan's command is there first, the RPC refuses.
        let c = cfg(Variant {
            add_migrate_cmd: AddMigrateLocking::Locked,
            ..Variant::default()
        });
        let mut m = incident_a_meta();
        m.add_recover_cmd_unlock(&c, scan_cand);
        let events = m.add_migrate_cmd(&c, 0, req());
        assert!(matches!(
            events[1],
            RpcEvent::Refused {
                why: RpcRefusal::Duplicate,
                ..
            }
        ));
        assert!(m.reservations_balance(128));
    }

    /// notes:428–445: a failed AllocOwnerForRecover returns with the reservation kept, unless
    /// the fix gives it back.
    #[test]
    fn a_failed_owner_allocation_keeps_the_reservation_as_the_draft_reads() {
        for (locking, kept) in [
            (AddMigrateLocking::Draft, true),
            (AddMigrateLocking::Locked, true),
            (AddMigrateLocking::LockedReleasing, false),
        ] {
            let c = cfg(Variant {
                add_migrate_cmd: locking,
                ..Variant::default()
            });
            let mut m = incident_a_meta();
            // src 5 removing, dst 1 removing, the other replicas failslow: no owner.
            for (cid, st) in [
                (5, ChunkStatus::Removing),
                (1, ChunkStatus::Removing),
                (4, ChunkStatus::Failslow),
                (2, ChunkStatus::Failslow),
            ] {
                m.chunks.chunks.get_mut(&cid).unwrap().status = st;
            }
            let events = run_to_end(&mut m, &c);
            assert!(
                matches!(
                    events.last(),
                    Some(RpcEvent::Refused { why: RpcRefusal::NoOwner, reservation_kept, .. })
                        if *reservation_kept == kept
                ),
                "{locking:?}: {events:?}"
            );
            assert_eq!(m.reservations_balance(128), !kept, "{locking:?}");
            assert!(m.recover.pid_cmds.is_empty());
        }
    }

    #[test]
    fn the_checks_refuse_as_the_draft_says() {
        let c = cfg(Variant {
            add_migrate_cmd: AddMigrateLocking::Locked,
            ..Variant::default()
        });
        let refusal = |m: &mut Meta, r: MigrateRequest| match m.add_migrate_cmd(&c, 0, r).last() {
            Some(RpcEvent::Refused { why, .. }) => Some(*why),
            _ => None,
        };
        let mut m = incident_a_meta();
        assert_eq!(
            refusal(&mut m, MigrateRequest { dst: 2, ..req() }),
            Some(RpcRefusal::DstHasReplica)
        );
        assert_eq!(
            refusal(&mut m, MigrateRequest { src: 1, ..req() }),
            Some(RpcRefusal::SrcReplaceMissing)
        );
        m.pextents.get_mut(&3133).unwrap().location = vec![4, 5];
        assert_eq!(refusal(&mut m, req()), Some(RpcRefusal::Recovering));
        let mut m = incident_a_meta();
        m.chunks.chunks.get_mut(&1).unwrap().used = 10;
        assert_eq!(refusal(&mut m, req()), Some(RpcRefusal::NoSpace));
        assert!(
            m.reservations_balance(128),
            "nothing reserved before the space check"
        );
        assert!(m.recover.manual.calls.is_empty());
    }

    #[test]
    fn a_landed_manual_migrate_is_remembered_and_honoured_only_with_the_fix() {
        for honour in [false, true] {
            let c = cfg(Variant {
                scan_honours_manual_migrate: honour,
                ..Variant::default()
            });
            let mut m = incident_a_meta();
            run_to_end(&mut m, &c);
            let cmd = m.recover.pid_cmds[&3133];
            m.replace_replica(&c, &cmd);
            assert_eq!(m.recover.manual.landed[&3133], vec![4, 2, 1]);
            assert_eq!(m.scan_honours_manual(&c, 3133), honour);
        }
    }
}
