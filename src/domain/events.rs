//! What the meta leader logs: every domain operation returns these, and the trace renderers
//! print them in the wording of the real meta log (`recover_manager.cc`, `access_manager.cc`,
//! `chunk_manager.cc`, `meta_rpc_server.cc`).

use super::pextent::{ReplaceRefusal, pack_location};
use super::recover_cmd::{MigrateCandidate, RecoverCmd};
use super::{Cid, Pid};
use std::fmt;

/// Why `AddRecoverCmdUnlock()` refused a candidate (its checks 1–4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Check 1: the pid already has a command in `pid_cmds_`.
    PidHasCmd,
    /// Check 3: src does not hold the pid, or (migrate) dst already does / replace does not.
    BadReplicas,
    /// Check 4: dst lacks space.
    NoSpace,
    /// Check 4 (slots): a chunk involved already uses all `max_recover_cmds_per_chunk` slots.
    NoSlot,
    /// The pid is not in the pextent table.
    UnknownPid,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MetaEvent {
    /// `MakeMigrateCmd()` pushed a candidate onto `passive_waiting_migrate_`.
    MigrateQueued(MigrateCandidate),
    /// `ReGenerateWaitingRecoverList()` found pids below their expected replica count.
    RecoverQueued { pids: Vec<Pid> },
    /// The 60-s swap of `passive_waiting_migrate_` and `active_waiting_migrate_`.
    MigrateListsSwapped { now_active: usize },
    /// `AddRecoverCmdUnlock()` accepted a command.
    CmdAdded(RecoverCmd),
    CmdRefused {
        pid: Pid,
        src: Cid,
        dst: Cid,
        replace: Cid,
        why: Refusal,
    },
    /// `[UPDATE TOPO OBJ]` moved a chunk.
    TopoUpdated { cid: Cid, new_parent: String },
    /// `RevokeRecoverCmds(cid)` dropped a waiting candidate.
    CandidateRevoked { cid: Cid, cand: MigrateCandidate },
    /// `RevokeRecoverCmds(cid)` dropped a command; `owner_kept` says whether the owner stayed.
    CmdRevoked {
        cid: Cid,
        cmd: RecoverCmd,
        was_queued: bool,
        owner_kept: bool,
    },
    /// A heartbeat reply handed a command to its owner's session (`[RECOVER]: pid: …`).
    RecoverSent(RecoverCmd),
    /// `[REPLACE REPLICA]`, accepted (new location) or refused.
    ReplaceReplica {
        pid: Pid,
        src: Cid,
        dst: Cid,
        epoch: u64,
        result: Result<Vec<Cid>, ReplaceRefusal>,
    },
    /// Meta noticed chunk `cid` stopped heartbeating: its session expired, its leases died.
    SessionExpired { cid: Cid, owners_cleared: Vec<Pid> },
    /// `DoRemoveReplica()`: a replica on a lost chunk left the location.
    ReplicaRemoved {
        pid: Pid,
        cid: Cid,
        location: Vec<Cid>,
    },
    /// `DoRemoveReplica()` kept the last replica of a pid on a lost chunk.
    LastReplicaKept { pid: Pid, cid: Cid },
    /// `Release owner : pid: … session: …` (a chunk released an idle lease).
    OwnerReleased { pid: Pid, session: Cid },
    /// A release for a pid the session no longer owns: nothing to do on meta.
    ReleaseIgnored { pid: Pid, session: Cid },
    /// App IO needed the pid's lease: meta granted it to `owner` (`created`: a new owner).
    LeaseGranted { pid: Pid, owner: Cid, created: bool },
    /// App IO went through an owner without touching meta's lease state.
    IoServed { pid: Pid, owner: Cid },
}

impl fmt::Display for MetaEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaEvent::MigrateQueued(c) => write!(
                f,
                "recover_manager.cc] MakeMigrateCmd: pid: {} src: {} dst: {} replace: {} -> passive_waiting_migrate_",
                c.pid, c.src, c.dst, c.replace
            ),
            MetaEvent::RecoverQueued { pids } => write!(
                f,
                "recover_manager.cc] ReGenerateWaitingRecoverList: pids {pids:?} -> passive_waiting_recover_"
            ),
            MetaEvent::MigrateListsSwapped { now_active } => write!(
                f,
                "recover_manager.cc] swap passive/active_waiting_migrate_ ({now_active} now active)"
            ),
            MetaEvent::CmdAdded(c) => {
                write!(
                    f,
                    "recover_manager.cc] add recover cmd for pid: {} src: {} dst: {} replace: {} owner: {}",
                    c.pid, c.src, c.dst, c.replace, c.owner
                )?;
                if c.owner_allocated {
                    write!(f, "  (AllocOwnerForRecover created owner {})", c.owner)?;
                }
                Ok(())
            }
            MetaEvent::CmdRefused {
                pid,
                src,
                dst,
                replace,
                why,
            } => write!(
                f,
                "recover_manager.cc] AddRecoverCmdUnlock refused pid: {pid} src: {src} dst: {dst} replace: {replace}: {why:?}"
            ),
            MetaEvent::TopoUpdated { cid, new_parent } => write!(
                f,
                "chunk_manager.cc] [UPDATE TOPO OBJ] chunk-{cid} new_parent_id: \"{new_parent}\", [RESPONSE]: ST:OK"
            ),
            MetaEvent::CandidateRevoked { cid, cand } => write!(
                f,
                "recover_manager.cc] RevokeRecoverCmds({cid}): dropped waiting migrate pid {} src {} dst {}",
                cand.pid, cand.src, cand.dst
            ),
            MetaEvent::CmdRevoked {
                cid,
                cmd,
                was_queued,
                owner_kept,
            } => write!(
                f,
                "recover_manager.cc] RevokeRecoverCmds({cid}): dropped cmd pid {}{}, owner {} {}",
                cmd.pid,
                if *was_queued {
                    " (never delivered)"
                } else {
                    " (already delivered)"
                },
                cmd.owner,
                if *owner_kept { "kept" } else { "released" }
            ),
            MetaEvent::RecoverSent(c) => write!(
                f,
                "access_manager.cc] [RECOVER]: pid: {} lease {{ owner {{ cid: {} }} }} dst_chunk: {} replace_chunk: {} src_chunk: {} is_migrate: {} epoch: {}",
                c.pid,
                c.owner,
                c.dst,
                c.replace,
                c.src,
                c.is_migrate(),
                c.epoch
            ),
            MetaEvent::ReplaceReplica {
                pid,
                src,
                dst,
                epoch,
                result,
            } => {
                write!(
                    f,
                    "meta_rpc_server.cc] [REPLACE REPLICA]: [REQUEST]: pid: {pid} src_chunk: {src} dst_chunk: {dst} epoch: {epoch}, [RESPONSE]: "
                )?;
                match result {
                    Ok(loc) => write!(f, "ST:OK, location: {} {:?}", pack_location(loc), loc),
                    Err(why) => write!(f, "refused: {why:?}"),
                }
            }
            MetaEvent::SessionExpired {
                cid,
                owners_cleared,
            } => write!(
                f,
                "access_manager.cc] session of chunk-{cid} expired; leases of pids {owners_cleared:?} die with it"
            ),
            MetaEvent::ReplicaRemoved { pid, cid, location } => write!(
                f,
                "recover_manager.cc] DoRemoveReplica pid: {pid} cid: {cid} -> location: {} {location:?}; AddToWaitingRecover",
                pack_location(location)
            ),
            MetaEvent::LastReplicaKept { pid, cid } => write!(
                f,
                "recover_manager.cc] DoRemoveReplica pid: {pid} cid: {cid}: last replica, kept"
            ),
            MetaEvent::OwnerReleased { pid, session } => write!(
                f,
                "access_manager.cc] Release owner : pid: {pid} session: chunk-{session}"
            ),
            MetaEvent::ReleaseIgnored { pid, session } => write!(
                f,
                "access_manager.cc] Release owner : pid: {pid} session: chunk-{session} (not the owner: ignored)"
            ),
            MetaEvent::LeaseGranted {
                pid,
                owner,
                created,
            } => write!(
                f,
                "access_manager.cc] lease for IO on pid: {pid} owner: {owner}{}",
                if *created { " (new owner)" } else { "" }
            ),
            MetaEvent::IoServed { pid, owner } => write!(
                f,
                "access_manager.cc] IO on pid: {pid} served through owner {owner} (meta unchanged)"
            ),
        }
    }
}
