//! Action coverage, as TLC reports it: for one exploration, how many of its transitions fired
//! each action of the model, every action named by the ZBS function it mirrors.
//!
//! An *action* is either a step (a timer firing or a message delivered: `RecoverManager::DoScan`,
//! `Meta::ReplaceReplica`, …) or an outcome the step's meta-log lines show
//! (`AccessManager::AllocOwnerForRecover: new owner`, each `AddRecoverCmdUnlock` refusal by its
//! check number, each way `RevokeRecoverCmds` drops something, …). The count of an action is
//! the number of explored transitions — edges of the state graph: every enabled step of every
//! reachable state, once — in which it fired (a scan that adds two commands counts once for
//! `AddRecoverCmdUnlock: command added`). With `--symmetry` the states are orbit
//! representatives, so the counts are per orbit.
//!
//! The counts come from re-running each enabled step's handler on the state (the same code
//! the checker runs, as trace rendering does) for every state the exploration stores
//! ([`crate::verdicts::run_visiting`]): the engine knows nothing of them. The mapping from
//! steps and meta events to actions is one exhaustive `match` each ([`Action::of_step`],
//! [`Action::of_event`]), so a new timer, message or event kind does not compile until it is
//! named here.

use crate::actors::model::{ModelCfg, ZbsModel, ZbsState};
use crate::actors::{LogLine, Msg, Timer};
use crate::domain::events::{MetaEvent, Refusal};
use crate::domain::manual_migrate::RpcEvent;
use crate::domain::pextent::ReplaceRefusal;
use crate::domain::snapshot::{SnapshotEvent, SnapshotMsg, SnapshotTimer};
use crate::trace::ZbsAction;
use stateright::Model;
use stateright::actor::{ActorModelAction, Out, is_no_op, is_no_op_with_timer};
use std::borrow::Cow;

/// Declares [`Action`], its list [`Action::ALL`] and its names, from one table.
macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// One action of the ZBS model, as coverage counts it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            /// Every action, in the order coverage tables list them.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The ZBS function (and, for an outcome, what it did).
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    // ---- steps: a timer fires or a message is delivered (specs/model.md, steps 1–17) ----
    /// Timer `Scan` (step 3).
    DoScan => "RecoverManager::DoScan",
    /// Timer `MigrateScan` (step 1).
    MigrateScan => "RecoverManager::ReGenerateWaitingMigrateList",
    /// Timer `SwapMigrate` (step 2).
    SwapMigrate => "RecoverManager: swap passive/active_waiting_migrate_",
    /// Timer `Heartbeat(c)` (step 4): the reply carries `[RECOVER]` commands.
    HeartbeatReply => "AccessManager: heartbeat reply sends [RECOVER]",
    /// Deliver `HeartbeatReply` (step 5).
    RecoverNotification => "chunk: Get recover notification (caches the lease)",
    /// Timer `Execute(pid)` (step 6).
    RecoverEnd => "chunk: [NORMAL RECOVER END], sends REPLACE REPLICA",
    /// Deliver `ReplaceReplica` (step 7).
    ReplaceReplica => "Meta::ReplaceReplica",
    /// Timer `IdleRelease(pid)` (step 8).
    IdleRelease => "libmeta: releases an idle lease",
    /// Deliver `ReleaseOwner` (step 9).
    ReleaseOwner => "AccessManager::ReleaseOwner",
    /// Timer `TopoUpdate(i)` (step 10).
    TopoRequest => "operator: [UPDATE TOPO OBJ] request",
    /// Deliver `UpdateTopo` (step 11).
    UpdateTopoObj => "ChunkManager::UpdateTopoObj",
    /// Timer `ChunkFailure(i)` (step 12).
    ChunkFailure => "operator: a chunk's node goes down",
    /// Deliver `Disconnect` (step 13).
    ChunkDown => "chunk: lost (session, lease cache, running commands gone)",
    /// Deliver `ChunkLost` (step 14): the session expires, its leases die.
    SessionExpired => "ChunkManager: session of a lost chunk expires",
    /// Timer `AppIo(pid)` (step 15).
    AppIoRequest => "client: app IO",
    /// Deliver `AppIo` (step 16).
    LeaseForIo => "AccessManager::GetLease (app IO)",
    /// Deliver `GrantLease` (step 17).
    CacheLease => "libmeta: caches the lease",
    /// Timer `MissHeartbeat` (step 22).
    MissHeartbeat => "Access Session Follower: heartbeat reply missed (KeepAlive -> Jeopardy -> Expired)",
    /// Timer `RenewSession` (step 23).
    RenewSession => "Access Session Follower: heartbeat reply renews the session lease",
    /// Timer `CreateSession` (step 24).
    CreateSessionRequest => "Access: CreateSession for a new session",
    /// Deliver `SessionTimeout` (step 25).
    SessionTimeout => "meta: session master times a session out",
    /// Deliver `CreateSession` (step 26).
    CreateSession => "meta: CreateSession registers a new session",
    /// Deliver `SessionCreated` (step 27).
    SessionCreated => "Access Session Handler: session created (Init -> KeepAlive)",
    // ---- outcomes: what the meta-log lines of a step say happened ----
    /// `MetaEvent::MigrateQueued`.
    MakeMigrateCmd => "RecoverManager::MakeMigrateCmd",
    /// `MetaEvent::RecoverQueued`.
    RecoverQueued => "RecoverManager::ReGenerateWaitingRecoverList: pids queued",
    /// `MetaEvent::CmdAdded`.
    CmdAdded => "RecoverManager::AddRecoverCmdUnlock: command added",
    /// `MetaEvent::CmdRefused` with `Refusal::PidHasCmd`.
    RefusedPidHasCmd => "RecoverManager::AddRecoverCmdUnlock: refused by check 1 (pid has a command)",
    /// `MetaEvent::CmdRefused` with `Refusal::BadReplicas`.
    RefusedBadReplicas => "RecoverManager::AddRecoverCmdUnlock: refused by check 3 (src/dst/replace replicas)",
    /// `MetaEvent::CmdRefused` with `Refusal::NoSpace`.
    RefusedNoSpace => "RecoverManager::AddRecoverCmdUnlock: refused by check 4 (dst space)",
    /// `MetaEvent::CmdRefused` with `Refusal::NoSlot`.
    RefusedNoSlot => "RecoverManager::AddRecoverCmdUnlock: refused by check 4 (command slots)",
    /// `MetaEvent::CmdRefused` with `Refusal::UnknownPid`.
    RefusedUnknownPid => "RecoverManager::AddRecoverCmdUnlock: refused (pid not in the pextent table)",
    /// `MetaEvent::CmdAdded` whose owner was created for it.
    AllocOwnerCreated => "AccessManager::AllocOwnerForRecover: new owner",
    /// `MetaEvent::CmdAdded` whose owner existed.
    AllocOwnerExisting => "AccessManager::AllocOwnerForRecover: existing owner",
    /// `MetaEvent::CmdAdded` whose src was rewritten to its owner.
    SrcRewritten => "AccessManager::EnqueueRecoverCmd: src rewritten to the owner",
    /// `MetaEvent::TopoUpdated`.
    TopoMoved => "ChunkManager::UpdateTopoObj: chunk moved",
    /// `MetaEvent::CmdRefused` with `Refusal::TmpReplicaCurrent`.
    RefusedTmpReplica => "RecoverManager::AddRecoverCmdUnlock: refused by check 2 (temporary replica already current)",
    /// `MetaEvent::OwnerAllocFailed`, reservations given back.
    AllocOwnerFailedGivenBack => "AccessManager::AllocOwnerForRecover: failed, command refused, reservations given back",
    /// `MetaEvent::OwnerAllocFailed`, reservations kept (the draft read literally).
    AllocOwnerFailedKept => "AccessManager::AllocOwnerForRecover: failed, command refused, reservations kept",
    /// `MetaEvent::MigrateForLocalization`.
    MigrateForLocalization => "RecoverManager::ReGenerateMigrateForLocalizeInStoragePool: Migrate for localization",
    /// `MetaEvent::ScanCursor`.
    ScanCursor => "RecoverManager: next_repair_scan_pids_ cursor advanced",
    /// `MetaEvent::RevokeSparedRewrittenSrc`.
    RevokeSparedRewrittenSrc => "RecoverManager::RevokeRecoverCmds: command spared (src rewritten to the owner)",
    /// Any of the four `RevokeRecoverCmds` outcomes below.
    RevokeRecoverCmds => "RecoverManager::RevokeRecoverCmds",
    /// `MetaEvent::CandidateRevoked`.
    RevokedCandidate => "RecoverManager::RevokeRecoverCmds: waiting migrate dropped",
    /// `MetaEvent::CmdRevoked`, queued, owner kept.
    RevokedQueuedOwnerKept => "RecoverManager::RevokeRecoverCmds: undelivered command dropped, owner kept",
    /// `MetaEvent::CmdRevoked`, queued, owner released.
    RevokedQueuedOwnerReleased => "RecoverManager::RevokeRecoverCmds: undelivered command dropped, owner released",
    /// `MetaEvent::CmdRevoked`, already delivered.
    RevokedDelivered => "RecoverManager::RevokeRecoverCmds: delivered command dropped",
    /// `MetaEvent::CmdRevoked` of a command only owned by the lost chunk (`Meta::chunk_lost`).
    OrphanDropped => "ChunkManager: commands owned by a lost chunk dropped",
    /// `MetaEvent::SessionCmdDropped`, never handed over.
    SessionCmdDroppedQueued => "meta: expired session's undelivered command leaves pid_cmds_",
    /// `MetaEvent::SessionCmdDropped`, handed over.
    SessionCmdDroppedDelivered => "meta: expired session's delivered command leaves pid_cmds_",
    /// `MetaEvent::SessionCmdsKept`.
    SessionCmdsKept => "meta: expired session's commands stay in pid_cmds_",
    /// `MetaEvent::ReplaceReplica` accepted.
    ReplaceAccepted => "Meta::ReplaceReplica: accepted",
    /// `ReplaceRefusal::StaleEpoch`.
    ReplaceStaleEpoch => "Meta::ReplaceReplica: refused, stale epoch",
    /// `ReplaceRefusal::UnknownCmd`.
    ReplaceUntracked => "Meta::ReplaceReplica: refused, command no longer tracked",
    /// `ReplaceRefusal::SrcNotInLocation`.
    ReplaceSrcMissing => "Meta::ReplaceReplica: refused, replaced replica not in location",
    /// `ReplaceRefusal::DstAlreadyInLocation`.
    ReplaceDstPresent => "Meta::ReplaceReplica: refused, dst already in location",
    /// `MetaEvent::ReplicaRemoved`.
    ReplicaRemoved => "RecoverManager::DoRemoveReplica: replica removed",
    /// `MetaEvent::LastReplicaKept`.
    LastReplicaKept => "RecoverManager::DoRemoveReplica: last replica kept",
    /// `MetaEvent::OwnerReleased`.
    OwnerReleased => "AccessManager::ReleaseOwner: owner released",
    /// `MetaEvent::ReleaseIgnored`.
    ReleaseIgnored => "AccessManager::ReleaseOwner: not the owner, ignored",
    /// `MetaEvent::LeaseGranted` with a new owner.
    LeaseNewOwner => "AccessManager::GetLease: new owner",
    /// `MetaEvent::LeaseGranted` to the existing owner.
    LeaseExistingOwner => "AccessManager::GetLease: granted by the existing owner",
    /// `MetaEvent::IoServed`.
    IoServed => "AccessManager::GetLease: served through the cached owner",
    /// Timer `ManualMigrate(i)`: the operator runs `zbs-meta migrate create`.
    ManualMigrateRequest => "operator: zbs-meta migrate create",
    /// Deliver `MigrateCreate`: the RPC reaches meta.
    AddMigrateCmdRpc => "MetaRpcServer: AddMigrateCmd RPC received",
    /// Timer `AddMigrateStep(s)`: the RPC thread runs its next step.
    AddMigrateCmdStep => "RecoverManager::AddMigrateCmd: next step",
    /// Deliver `MigrateDone`: the RPC returned to the operator.
    ManualMigrateReturned => "operator: zbs-meta migrate create returned",
    /// `RpcEvent::Received`.
    AddMigrateCmdReceived => "RecoverManager::AddMigrateCmd: started on an RPC thread",
    /// `RpcEvent::Passed`.
    AddMigrateCmdPassed => "RecoverManager::AddMigrateCmd: a check passed",
    /// `RpcEvent::Refused`, nothing kept.
    AddMigrateCmdRefused => "RecoverManager::AddMigrateCmd: refused",
    /// `RpcEvent::Refused`, the reservation kept (the draft's failure path).
    AddMigrateCmdRefusedKept => "RecoverManager::AddMigrateCmd: refused, reservation kept",
    /// `RpcEvent::Reserved`.
    AddMigrateCmdReserved => "ChunkTable::ReserveSpaceForRecover (AddMigrateCmd)",
    /// `RpcEvent::OwnerAllocated`.
    AddMigrateCmdOwner => "AccessManager::AllocOwnerForRecover (AddMigrateCmd)",
    /// `RpcEvent::Enqueued`.
    AddMigrateCmdEnqueued => "AccessManager::EnqueueRecoverCmd (AddMigrateCmd)",
    /// `RpcEvent::Added`, `pid_cmds_` had no command for the pid.
    AddMigrateCmdAdded => "RecoverManager::AddMigrateCmd: add recover cmd by rpc",
    /// Timer `RecoverTick(pid)`: a paced copy's tick (incident B).
    RecoverTick => "chunk: recover handler copies for one tick",
    /// Deliver `RecoverTimedOut`: meta's recover_timeout_ms ends the command.
    RecoverTimeout => "RecoverManager: recover_timeout_ms ends a recover",
    /// Timer `ExtentGc(pid)`.
    ExtentGcStep => "RecoverManager: EXTENT GC of a timed-out recover's temporary pextent",
    /// `MetaEvent::RecoverTimedOut` of a command meta still tracked.
    RecoverTimeoutEnded => "RecoverManager: recover_timeout_ms: command ended, reservations released",
    /// `MetaEvent::RecoverTimedOut` of a command meta no longer tracked.
    RecoverTimeoutUntracked => "RecoverManager: recover_timeout_ms: command no longer tracked",
    /// `MetaEvent::ExtentGc`.
    ExtentGcReclaimed => "EXTENT GC: temporary pextent reclaimed",
    /// `RpcEvent::Added` that overwrote another command in `pid_cmds_`.
    AddMigrateCmdOverwrote => "RecoverManager::AddMigrateCmd: pid_cmds_ entry overwritten",
    // ---- incident C: snapshots and copy-on-write (`snapshot.rs`, `cow.rs`) ----
    /// Timer `Snapshot(Create)`: the snapshot plan fires.
    SnapshotPlan => "snapshot plan: REVOKE LEASE, CREATE SNAPSHOT",
    /// Timer `Snapshot(Write)`: the VM writes to a COW-marked vExtent.
    VolumeWrite => "MetaRpcServer::GetVExtentLease on a COW-marked vExtent",
    /// Deliver `Snapshot(RevokeLease)`: a chunk's libmeta clears leases by vtable.
    ClearCachedLeaseByVtable => "libmeta Meta::ClearCachedLease by vtable",
    /// Deliver `Snapshot(RecoverFailed)`: meta learns a recover failed.
    RecoverFailedReported => "chunk: recover failed (ELeaseExpired) reported to meta",
    /// `SnapshotEvent::RevokeLease`.
    RevokeLeaseByVtable => "REVOKE LEASE by vtable: owners cleared on meta",
    /// `SnapshotEvent::Created`.
    SnapshotCreated => "CREATE SNAPSHOT: vExtents marked COW",
    /// `SnapshotEvent::CowNoSpace`.
    CowNoSpace => "PExtentAllocator: no enough space on chunk to cow pextent",
    /// `SnapshotEvent::CowPextent`.
    CowPextent => "MetaRpcServer: COW PEXTENT",
    /// `SnapshotEvent::CowFailed`.
    CowFailed => "MetaRpcServer: FAIL TO COW PEXTENT",
    /// `SnapshotEvent::RecoverFailed`, still tracked.
    LeaseExpiredCmdDropped => "RecoverManager: recover failed (ELeaseExpired), pid_cmds_ entry dropped",
    /// `SnapshotEvent::RecoverFailed`, no longer tracked.
    LeaseExpiredUntracked => "RecoverManager: recover failed (ELeaseExpired), not tracked",
}

/// Actions fit one bit each in a transition's set.
const _: () = assert!(Action::ALL.len() <= 128);

impl Action {
    /// The step action of an enabled `ActorModelAction`; `None` for the kinds the ZBS model
    /// never enables (no lossy network, no crashes, no random choices).
    pub fn of_step(action: &ZbsAction) -> Option<Action> {
        Some(match action {
            ActorModelAction::Deliver { msg, .. } => match msg {
                Msg::HeartbeatReply(..) => Action::RecoverNotification,
                Msg::ReplaceReplica(_) => Action::ReplaceReplica,
                Msg::ReleaseOwner(..) => Action::ReleaseOwner,
                Msg::UpdateTopo { .. } => Action::UpdateTopoObj,
                Msg::AppIo(_) => Action::LeaseForIo,
                Msg::GrantLease(..) => Action::CacheLease,
                Msg::SessionTimeout(_) => Action::SessionTimeout,
                Msg::CreateSession(_) => Action::CreateSession,
                Msg::SessionCreated(_) => Action::SessionCreated,
                Msg::ChunkLost(_) => Action::SessionExpired,
                Msg::Disconnect => Action::ChunkDown,
                Msg::MigrateCreate { .. } => Action::AddMigrateCmdRpc,
                Msg::MigrateDone { .. } => Action::ManualMigrateReturned,
                Msg::RecoverTimedOut(_) => Action::RecoverTimeout,
                Msg::Snapshot(SnapshotMsg::RevokeLease { .. }) => Action::ClearCachedLeaseByVtable,
                Msg::Snapshot(SnapshotMsg::RecoverFailed { .. }) => Action::RecoverFailedReported,
            },
            ActorModelAction::Timeout(_, timer) => match timer {
                Timer::Scan => Action::DoScan,
                Timer::MigrateScan => Action::MigrateScan,
                Timer::SwapMigrate => Action::SwapMigrate,
                Timer::Heartbeat(_) => Action::HeartbeatReply,
                Timer::Execute(_) => Action::RecoverEnd,
                Timer::IdleRelease(_) => Action::IdleRelease,
                Timer::TopoUpdate(_) => Action::TopoRequest,
                Timer::AppIo(_) => Action::AppIoRequest,
                Timer::ChunkFailure(_) => Action::ChunkFailure,
                Timer::ManualMigrate(_) => Action::ManualMigrateRequest,
                Timer::AddMigrateStep(_) => Action::AddMigrateCmdStep,
                Timer::MissHeartbeat => Action::MissHeartbeat,
                Timer::RenewSession => Action::RenewSession,
                Timer::CreateSession => Action::CreateSessionRequest,
                Timer::RecoverTick(_) => Action::RecoverTick,
                Timer::ExtentGc(_) => Action::ExtentGcStep,
                Timer::Snapshot(SnapshotTimer::Create) => Action::SnapshotPlan,
                Timer::Snapshot(SnapshotTimer::Write) => Action::VolumeWrite,
            },
            ActorModelAction::Drop(_)
            | ActorModelAction::Crash(_)
            | ActorModelAction::Recover(_)
            | ActorModelAction::SelectRandom { .. } => return None,
        })
    }

    /// The actions one meta event shows (appended to `out`).
    pub fn of_event(cfg: &ModelCfg, event: &MetaEvent, out: &mut Vec<Action>) {
        match event {
            MetaEvent::MigrateQueued(_) => out.push(Action::MakeMigrateCmd),
            MetaEvent::RecoverQueued { .. } => out.push(Action::RecoverQueued),
            MetaEvent::MigrateListsSwapped { .. } => out.push(Action::SwapMigrate),
            MetaEvent::CmdAdded(cmd) => {
                out.push(Action::CmdAdded);
                out.push(if cmd.owner_allocated {
                    Action::AllocOwnerCreated
                } else {
                    Action::AllocOwnerExisting
                });
                if cmd.src != cmd.reserved_src {
                    out.push(Action::SrcRewritten);
                }
            }
            MetaEvent::CmdRefused { why, .. } => out.push(match why {
                Refusal::PidHasCmd => Action::RefusedPidHasCmd,
                Refusal::BadReplicas => Action::RefusedBadReplicas,
                Refusal::NoSpace => Action::RefusedNoSpace,
                Refusal::NoSlot => Action::RefusedNoSlot,
                Refusal::UnknownPid => Action::RefusedUnknownPid,
                Refusal::TmpReplicaCurrent => Action::RefusedTmpReplica,
            }),
            MetaEvent::TopoUpdated { .. } => out.push(Action::TopoMoved),
            MetaEvent::OwnerAllocFailed { given_back, .. } => out.push(if *given_back {
                Action::AllocOwnerFailedGivenBack
            } else {
                Action::AllocOwnerFailedKept
            }),
            MetaEvent::MigrateForLocalization => out.push(Action::MigrateForLocalization),
            MetaEvent::ScanCursor { .. } => out.push(Action::ScanCursor),
            MetaEvent::RevokeSparedRewrittenSrc { .. } => {
                out.push(Action::RevokeSparedRewrittenSrc)
            }
            MetaEvent::CandidateRevoked { .. } => {
                out.push(Action::RevokeRecoverCmds);
                out.push(Action::RevokedCandidate);
            }
            MetaEvent::CmdRevoked {
                cid,
                cmd,
                was_queued,
                owner_kept,
                erased_waiting_recover: _,
            } => {
                // `Meta::chunk_lost` reports the commands that die with the lost chunk's
                // session (owned by it, src and dst elsewhere) with the same event as
                // `RevokeRecoverCmds(cid)`: tell them apart by that function's own test.
                let revoked = cmd.src == *cid
                    || cmd.dst == *cid
                    || (cfg.meta.variant.revoke_includes_replace && cmd.replace == *cid);
                if !revoked {
                    out.push(Action::OrphanDropped);
                    return;
                }
                out.push(Action::RevokeRecoverCmds);
                out.push(match (was_queued, owner_kept) {
                    (true, true) => Action::RevokedQueuedOwnerKept,
                    (true, false) => Action::RevokedQueuedOwnerReleased,
                    (false, _) => Action::RevokedDelivered,
                });
            }
            MetaEvent::RecoverSent { .. } => out.push(Action::HeartbeatReply),
            MetaEvent::ReplaceReplica { result, .. } => out.push(match result {
                Ok(_) => Action::ReplaceAccepted,
                Err(ReplaceRefusal::StaleEpoch { .. }) => Action::ReplaceStaleEpoch,
                Err(ReplaceRefusal::UnknownCmd) => Action::ReplaceUntracked,
                Err(ReplaceRefusal::SrcNotInLocation) => Action::ReplaceSrcMissing,
                Err(ReplaceRefusal::DstAlreadyInLocation) => Action::ReplaceDstPresent,
            }),
            // Counted by its step: a lost chunk's `ChunkLost` (`SessionExpired`), a missed
            // heartbeat's `SessionTimeout`, or a `CreateSession` that supersedes the session.
            MetaEvent::SessionExpired { .. } => {}
            MetaEvent::SessionCreated { .. } => {}
            MetaEvent::SessionCmdsKept { .. } => out.push(Action::SessionCmdsKept),
            MetaEvent::SessionCmdDropped { was_queued, .. } => out.push(if *was_queued {
                Action::SessionCmdDroppedQueued
            } else {
                Action::SessionCmdDroppedDelivered
            }),
            MetaEvent::ReplicaRemoved { .. } => out.push(Action::ReplicaRemoved),
            MetaEvent::LastReplicaKept { .. } => out.push(Action::LastReplicaKept),
            MetaEvent::OwnerReleased { .. } => out.push(Action::OwnerReleased),
            MetaEvent::ReleaseIgnored { .. } => out.push(Action::ReleaseIgnored),
            MetaEvent::LeaseGranted { created, .. } => out.push(if *created {
                Action::LeaseNewOwner
            } else {
                Action::LeaseExistingOwner
            }),
            MetaEvent::IoServed { .. } => out.push(Action::IoServed),
            MetaEvent::RecoverTimedOut { tracked, .. } => out.push(if *tracked {
                Action::RecoverTimeoutEnded
            } else {
                Action::RecoverTimeoutUntracked
            }),
            MetaEvent::ExtentGc { .. } => out.push(Action::ExtentGcReclaimed),
            MetaEvent::AddMigrateCmd(e) => out.push(match e {
                RpcEvent::Received { .. } => Action::AddMigrateCmdReceived,
                RpcEvent::Passed { .. } => Action::AddMigrateCmdPassed,
                RpcEvent::Refused {
                    reservation_kept: true,
                    ..
                } => Action::AddMigrateCmdRefusedKept,
                RpcEvent::Refused {
                    reservation_kept: false,
                    ..
                } => Action::AddMigrateCmdRefused,
                RpcEvent::Reserved { .. } => Action::AddMigrateCmdReserved,
                RpcEvent::OwnerAllocated { .. } => Action::AddMigrateCmdOwner,
                RpcEvent::Enqueued { .. } => Action::AddMigrateCmdEnqueued,
                RpcEvent::Added {
                    overwrote: None, ..
                } => Action::AddMigrateCmdAdded,
                RpcEvent::Added {
                    overwrote: Some(_), ..
                } => Action::AddMigrateCmdOverwrote,
            }),
            MetaEvent::Snapshot(e) => out.push(match e {
                SnapshotEvent::RevokeLease { .. } => Action::RevokeLeaseByVtable,
                SnapshotEvent::Created { .. } => Action::SnapshotCreated,
                SnapshotEvent::CowNoSpace { .. } => Action::CowNoSpace,
                SnapshotEvent::CowPextent { .. } => Action::CowPextent,
                SnapshotEvent::CowFailed { .. } => Action::CowFailed,
                SnapshotEvent::RecoverFailed { tracked: true, .. } => {
                    Action::LeaseExpiredCmdDropped
                }
                SnapshotEvent::RecoverFailed { tracked: false, .. } => {
                    Action::LeaseExpiredUntracked
                }
            }),
        }
    }

    /// Finds an action by its name.
    pub fn named(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
}

/// How often each action fired in one exploration.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Per action (indexed as [`Action::ALL`]): transitions in which it fired.
    counts: Vec<u64>,
    /// States whose steps were counted.
    pub states: u64,
    /// Transitions counted (enabled steps of those states).
    pub transitions: u64,
}

impl Coverage {
    pub fn new() -> Coverage {
        Coverage {
            counts: vec![0; Action::ALL.len()],
            states: 0,
            transitions: 0,
        }
    }

    /// Transitions in which `action` fired.
    pub fn count(&self, action: Action) -> u64 {
        self.counts.get(action as usize).copied().unwrap_or(0)
    }

    /// Every action with its count, in [`Action::ALL`] order.
    pub fn rows(&self) -> impl Iterator<Item = (Action, u64)> + '_ {
        Action::ALL.iter().map(|&a| (a, self.count(a)))
    }

    /// Adds another run's counts (for "fired in any model").
    pub fn add(&mut self, other: &Coverage) {
        if self.counts.is_empty() {
            self.counts = vec![0; Action::ALL.len()];
        }
        for (a, n) in other.rows() {
            self.counts[a as usize] += n;
        }
        self.states += other.states;
        self.transitions += other.transitions;
    }

    /// Counts the enabled steps of `state` (the observer of [`crate::verdicts::run_visiting`]).
    pub fn visit(&mut self, model: &ZbsModel, state: &ZbsState, scratch: &mut Vec<ZbsAction>) {
        if self.counts.is_empty() {
            self.counts = vec![0; Action::ALL.len()];
        }
        self.states += 1;
        scratch.clear();
        model.actions(state, scratch);
        let mut fired = Vec::new();
        for action in scratch.drain(..) {
            let Some(step) = Action::of_step(&action) else {
                continue;
            };
            let Some(lines) = transition_log(model, state, &action) else {
                continue;
            };
            self.transitions += 1;
            fired.clear();
            fired.push(step);
            for line in &lines {
                match line {
                    LogLine::Meta(e) => Action::of_event(&model.cfg, e, &mut fired),
                    LogLine::Chunk(_) | LogLine::Remark(_) => {}
                }
            }
            let mut seen: u128 = 0;
            for a in &fired {
                let bit = 1u128 << (*a as usize);
                if seen & bit == 0 {
                    seen |= bit;
                    self.counts[*a as usize] += 1;
                }
            }
        }
    }

    /// A plain-text table: one row per action, `never` for an action that did not fire.
    pub fn table(&self) -> String {
        let width = Action::ALL
            .iter()
            .map(|a| a.name().len())
            .max()
            .unwrap_or(0);
        let mut s = format!("{:<width$}  {:>10}\n", "action (ZBS function)", "fired in");
        for (a, n) in self.rows() {
            let n = if n == 0 {
                "never".to_string()
            } else {
                n.to_string()
            };
            s.push_str(&format!("{:<width$}  {n:>10}\n", a.name()));
        }
        s.push_str(&format!(
            "({} transitions of {} states; an action counts once per transition it fires in)\n",
            self.transitions, self.states
        ));
        s
    }
}

/// The log lines of `action` from `state` if it is a transition (what stateright's
/// `next_state` would take: not a no-op, not to a crashed actor), else `None`.
fn transition_log(model: &ZbsModel, state: &ZbsState, action: &ZbsAction) -> Option<Vec<LogLine>> {
    let mut out = Out::new();
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            let ix = usize::from(*dst);
            if ix >= state.actor_states.len() || state.crashed[ix] {
                return None;
            }
            let mut actor_state = Cow::Borrowed(&*state.actor_states[ix]);
            let lines = model.actors[ix].handle_msg(&mut actor_state, *src, msg, &mut out);
            (!is_no_op(&actor_state, &out)).then_some(lines)
        }
        ActorModelAction::Timeout(id, timer) => {
            let ix = usize::from(*id);
            let mut actor_state = Cow::Borrowed(&*state.actor_states[ix]);
            let lines = model.actors[ix].handle_timeout(&mut actor_state, timer, &mut out);
            (!is_no_op_with_timer(&actor_state, &out, timer)).then_some(lines)
        }
        ActorModelAction::Drop(_)
        | ActorModelAction::Crash(_)
        | ActorModelAction::Recover(_)
        | ActorModelAction::SelectRandom { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_say_the_zbs_function() {
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        for a in Action::ALL {
            assert_eq!(Action::named(a.name()), Some(*a));
            assert_eq!(Action::ALL[*a as usize], *a, "ALL is in declaration order");
        }
        assert_eq!(
            Action::RevokeRecoverCmds.name(),
            "RecoverManager::RevokeRecoverCmds"
        );
    }
}
