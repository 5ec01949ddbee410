//! What the meta leader logs: every domain operation returns these, and the trace renderers
//! print them as the real meta log does — the glog line verbatim (`I0802 23:16:11.647876
//! 58510 recover_manager.cc:414] add recover cmd for pid: …`, same words and field order,
//! packed locations; `shared/domain/log-samples.md`), and the model's own remarks on separate
//! lines that start with [`REMARK`]. An event ZBS logs no known line for has remarks only.
//!
//! What the model does not know (timestamps, thread ids, session uuids, ips, `alive_sec`,
//! `allocated_space`, …) is filled with fixed placeholders (specs A22), so the lines parse as
//! the real ones do and an engineer can grep the real log for the words.

use super::pextent::{PExtent, ReplaceRefusal, pack_location};
use super::recover_cmd::{MigrateCandidate, RecoverCmd};
use super::{Cid, Pid};
use std::fmt::Write;

/// The marker that starts every line of the model's own (not a ZBS log line).
pub const REMARK: &str = "# model: ";

/// Thread ids as in the log samples, one per source file (placeholders, specs A22).
const RECOVER_MANAGER: u32 = 58510;
const ACCESS_MANAGER: u32 = 58511;
const RPC: u32 = 9843;
const RECOVER_HANDLER: u32 = 5052;

/// The glog header of the `line`-th line of trace step `step`: the model has no clock, so
/// step *n* is logged at second *n* of a synthetic day (`I0101 00:00:05.000000` for step 5).
pub fn glog_header(step: usize, line: usize, thread: u32, file_line: &str) -> String {
    let (h, m, s) = (step / 3600 % 24, step / 60 % 60, step % 60);
    format!("I0101 {h:02}:{m:02}:{s:02}.{line:06} {thread:>5} {file_line}] ")
}

/// The session uuid the model gives chunk `cid` (placeholder: the real ones come from
/// `ACCESS SESSION INITIALIZE`); `[RECOVER]` and `[UPDATE TOPO OBJ]` lines map it to the cid.
pub fn session_uuid(cid: Cid) -> String {
    format!("00000000-0000-0000-0000-{:012x}", cid)
}

/// Chunk `cid`'s (documentation) address, `192.0.2.<cid>`, and as ZBS packs it (`num_ip`).
fn ip(cid: Cid) -> (String, u32) {
    (
        format!("192.0.2.{cid}"),
        u32::from_le_bytes([192, 0, 2, cid]),
    )
}

/// A zone's name as `[RECOVER]` prints it: the model's `zone-default` is ZBS's `default`.
pub fn zone_label(name: &str) -> &str {
    name.strip_prefix("zone-").unwrap_or(name)
}

/// Why `AddRecoverCmdUnlock()` refused a candidate (its checks 1–4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Refusal {
    /// Check 1: the pid already has a command in `pid_cmds_`.
    PidHasCmd,
    /// Check 3: src does not hold the pid, or (migrate) dst already does / replace does not.
    BadReplicas,
    /// Check 4: dst lacks space.
    NoSpace,
    /// Check 4 (slots): a chunk involved already uses all `max_recover_cmds_per_chunk` slots.
    NoSlot,
    /// Check 2: a temporary-replica recover whose source version is already in the pextent.
    TmpReplicaCurrent,
    /// The pid is not in the pextent table.
    UnknownPid,
}

impl Refusal {
    fn words(&self) -> &'static str {
        match self {
            Refusal::PidHasCmd => "check 1: the pid already has a command",
            Refusal::BadReplicas => {
                "check 3: src does not hold the pid, or dst already does, or replace does not"
            }
            Refusal::NoSpace => "check 4: dst lacks space",
            Refusal::NoSlot => "check 4: a chunk involved has no free command slot",
            Refusal::TmpReplicaCurrent => {
                "check 2: the temporary replica's version is already in the pextent"
            }
            Refusal::UnknownPid => "the pid is not in the pextent table",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MetaEvent {
    /// The migrate scan at low load (`ReGenerateMigrateForLocalizeInStoragePool()`).
    MigrateForLocalization,
    /// The migrate scan walked `walked` from `next_repair_scan_pids_`; the next starts at
    /// `next` (0: the first pid).
    ScanCursor { walked: Vec<Pid>, next: Pid },
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
    /// `AllocOwnerForRecover()` failed after step 4 reserved: the command is refused;
    /// `given_back`: the reservations were released.
    OwnerAllocFailed {
        pid: Pid,
        src: Cid,
        dst: Cid,
        replace: Cid,
        given_back: bool,
    },
    /// `[UPDATE TOPO OBJ]` moved a chunk.
    TopoUpdated { cid: Cid, new_parent: String },
    /// `RevokeRecoverCmds(cid)` dropped a waiting candidate.
    CandidateRevoked { cid: Cid, cand: MigrateCandidate },
    /// `RevokeRecoverCmds(cid)` dropped a command; `owner_kept` says whether the owner stayed;
    /// `erased_waiting_recover`: its pid was erased from `active_waiting_recover_`.
    CmdRevoked {
        cid: Cid,
        cmd: RecoverCmd,
        was_queued: bool,
        owner_kept: bool,
        erased_waiting_recover: bool,
    },
    /// `RevokeRecoverCmds(cid)` did not take a command whose scan-chosen src was `cid`:
    /// `EnqueueRecoverCmd()` had rewritten its src to the owner.
    RevokeSparedRewrittenSrc { cid: Cid, cmd: RecoverCmd },
    /// A heartbeat reply handed a command to its owner's session (`[RECOVER]: pid: …`), with
    /// the pextent as meta had it and the zone of the owner and of each replica.
    RecoverSent {
        cmd: RecoverCmd,
        pext: PExtent,
        owner_zone: String,
        zones: Vec<String>,
    },
    /// `[REPLACE REPLICA]`: the pextent after an accepted replace, or why it was refused;
    /// `tracked`: the command was still in `pid_cmds_`.
    ReplaceReplica {
        cmd: RecoverCmd,
        tracked: bool,
        result: Result<PExtent, ReplaceRefusal>,
    },
    /// Meta noticed chunk `cid` stopped heartbeating: its session expired, its leases died.
    SessionExpired { cid: Cid, owners_cleared: Vec<Pid> },
    /// Session `generation` of chunk `cid` was created (`CreateSession`; the log's `ACCESS
    /// SESSION INITIALIZE`, notes:132, whose shape the notes do not show).
    SessionCreated {
        cid: Cid,
        generation: super::access_session::SessionGen,
    },
    /// The expired session of `cid` owned these commands; under
    /// `session_expiry_cmds=kept` they stay in `pid_cmds_` (specs A89).
    SessionCmdsKept { cid: Cid, cmds: Vec<RecoverCmd> },
    /// A command the expired session of `cid` owned left `pid_cmds_` with it, reservations
    /// given back (`session_expiry_cmds=revoked`); `was_queued`: never handed over.
    SessionCmdDropped {
        cid: Cid,
        cmd: RecoverCmd,
        was_queued: bool,
    },
    /// `DoRemoveReplica()`: a replica on a lost chunk left the location.
    ReplicaRemoved {
        pid: Pid,
        cid: Cid,
        location: Vec<Cid>,
        epoch: u64,
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
    /// A step of the manual migrate RPC `RecoverManager::AddMigrateCmd()` (ZBS-20993).
    AddMigrateCmd(super::manual_migrate::RpcEvent),
    /// `recover_timeout_ms` passed for a recover (notes:298): meta ended it (`tracked`: it
    /// was still in `pid_cmds_`); its temporary pextent on dst waits for `EXTENT GC`.
    RecoverTimedOut { cmd: RecoverCmd, tracked: bool },
    /// `EXTENT GC` reclaimed pid's temporary pextent on chunk `cid` (notes:293, 298).
    ExtentGc { pid: Pid, cid: Cid },
    /// Snapshots and copy-on-write (incident C, `snapshot.rs`, `cow.rs`).
    Snapshot(super::snapshot::SnapshotEvent),
}

/// The real log line of an event: thread, `file:line`, message (after the header).
pub struct Glog {
    pub thread: u32,
    pub file_line: &'static str,
    pub message: String,
}

fn glog(thread: u32, file_line: &'static str, message: String) -> Option<Glog> {
    Some(Glog {
        thread,
        file_line,
        message,
    })
}

fn cmd_words(c: &RecoverCmd) -> String {
    format!(
        "pid {} src {} dst {} replace {} owner {}",
        c.pid, c.src, c.dst, c.replace, c.owner
    )
}

impl MetaEvent {
    /// The line ZBS meta logs for this event, if it logs one the samples show.
    pub fn glog(&self) -> Option<Glog> {
        match self {
            MetaEvent::MigrateForLocalization => glog(
                RECOVER_MANAGER,
                "recover_manager.cc:1232",
                "Migrate for localization in storage pool: system".into(),
            ),
            MetaEvent::CmdAdded(c) if c.is_migrate() => glog(
                RECOVER_MANAGER,
                "recover_manager.cc:414",
                format!(
                    "add recover cmd for pid: {} src: {} dst: {} replace: {} owner: {}",
                    c.pid, c.src, c.dst, c.replace, c.owner
                ),
            ),
            MetaEvent::CmdAdded(c) => glog(
                RECOVER_MANAGER,
                "recover_manager.cc:419",
                format!(
                    "add recover cmd for pid: {} src: {} dst: {} replace: 0",
                    c.pid, c.src, c.dst
                ),
            ),
            MetaEvent::TopoUpdated { cid, new_parent } => {
                let u = session_uuid(*cid);
                glog(
                    RPC,
                    "chunk_manager.cc:992",
                    format!(
                        "[UPDATE TOPO OBJ]: [REQUEST]: id: \"{u}\" new_parent_id: \"{new_parent}\", \
                         [RESPONSE]: ST:OK, type: NODE id: \"{u}\" parent_id: \"{new_parent}\" \
                         name: \"chunk-{cid}-{u}\" create_time: 0 position {{ row: 0 column: 0 }} \
                         dimension {{ row: 1 column: 1 }} ring_id: 0, [TIME]: 0 us."
                    ),
                )
            }
            MetaEvent::RecoverSent {
                cmd: c,
                pext,
                owner_zone,
                zones,
            } => {
                let (owner_ip, owner_num) = ip(c.owner);
                let mut m = format!(
                    "[RECOVER]: pid: {pid} lease {{ owner {{ uuid: \"{uuid}\" ip: \"{owner_ip}\" \
                     num_ip: {owner_num} port: 10201 cid: {owner} secondary_data_ip: \
                     \"198.51.100.{owner}\" zone: \"{zone}\" scvm_mode_host_data_ip: \"\" \
                     alive_sec: 0 machine_uuid: \"{uuid}\" }} pid: {pid} location: {loc} \
                     origin_pid: {origin} epoch: {epoch} origin_epoch: 0 ever_exist: true \
                     meta_generation: 1 expected_replica_num: {expected} thin_provision: {thin}",
                    pid = c.pid,
                    uuid = session_uuid(c.owner),
                    owner = c.owner,
                    zone = zone_label(owner_zone),
                    loc = pack_location(&pext.location),
                    origin = pext.origin_pid.unwrap_or(0),
                    epoch = pext.epoch,
                    expected = pext.expected_replica_num,
                    thin = pext.thin_provision,
                );
                for (cid, zone) in pext.location.iter().zip(zones) {
                    let (_, num) = ip(*cid);
                    let _ = write!(
                        m,
                        " chunks {{ id: {cid} data_ip: {num} data_port: 10201 rpc_ip: {num} \
                         rpc_port: 10200 zone_id: \"{}\" }}",
                        zone_label(zone)
                    );
                }
                let _ = write!(
                    m,
                    " }} dst_chunk: {} replace_chunk: {} src_chunk: {} is_migrate: {} epoch: {} \
                     active_location: {} start_ms: {}",
                    c.dst,
                    c.replace,
                    c.src,
                    c.is_migrate(),
                    c.epoch,
                    pack_location(&pext.alive_location),
                    c.id
                );
                glog(ACCESS_MANAGER, "access_manager.cc:1060", m)
            }
            MetaEvent::ReplaceReplica { cmd: c, result, .. } => {
                let mut m = format!(
                    "[REPLACE REPLICA]: [REQUEST]: session: \"{}\" pid: {} src_chunk: {} \
                     dst_chunk: {} epoch: {} reset_location_to_dst: false \
                     reset_generation: 18446744073709551615, [RESPONSE]: ",
                    session_uuid(c.owner),
                    c.pid,
                    if c.is_migrate() { c.replace } else { 0 },
                    c.dst,
                    c.epoch
                );
                match result {
                    Ok(p) => {
                        let _ = write!(
                            m,
                            "ST:OK, pid: {} location: {} expected_replica_num: {} ever_exist: true \
                             origin_pid: {} epoch: {} origin_epoch: 0 generation: 1 \
                             preferred_cid: {} thin_provision: {} alive_location: {} \
                             allocated_space: {}, [TIME]: 0 us.",
                            p.pid,
                            pack_location(&p.location),
                            p.expected_replica_num,
                            p.origin_pid.unwrap_or(0),
                            p.epoch,
                            p.preferred_cid.unwrap_or(0),
                            p.thin_provision,
                            pack_location(&p.alive_location),
                            p.size
                        );
                    }
                    Err(_) => m.push_str("ST:EBadRequest, , [TIME]: 0 us."),
                }
                glog(RPC, "meta_rpc_server.cc:1987", m)
            }
            MetaEvent::OwnerReleased { pid, session } => glog(
                ACCESS_MANAGER,
                "access_manager.cc:1905",
                format!(
                    "Release owner : pid: {pid} session: {}",
                    session_uuid(*session)
                ),
            ),
            MetaEvent::AddMigrateCmd(e) => {
                e.glog().and_then(|(file_line, m)| glog(RPC, file_line, m))
            }
            MetaEvent::Snapshot(e) => e
                .glog()
                .and_then(|(_, file_line, m)| glog(RPC, file_line, m)),
            MetaEvent::ScanCursor { .. }
            | MetaEvent::MigrateQueued(_)
            | MetaEvent::RecoverQueued { .. }
            | MetaEvent::MigrateListsSwapped { .. }
            | MetaEvent::CmdRefused { .. }
            | MetaEvent::OwnerAllocFailed { .. }
            | MetaEvent::CandidateRevoked { .. }
            | MetaEvent::CmdRevoked { .. }
            | MetaEvent::RevokeSparedRewrittenSrc { .. }
            | MetaEvent::SessionExpired { .. }
            | MetaEvent::SessionCreated { .. }
            | MetaEvent::SessionCmdsKept { .. }
            | MetaEvent::SessionCmdDropped { .. }
            | MetaEvent::ReplicaRemoved { .. }
            | MetaEvent::LastReplicaKept { .. }
            | MetaEvent::ReleaseIgnored { .. }
            | MetaEvent::LeaseGranted { .. }
            | MetaEvent::IoServed { .. }
            // The notes name the GC command (`EXTENT GC CMD`, notes:293) but show no line
            // of either: remarks only.
            | MetaEvent::RecoverTimedOut { .. }
            | MetaEvent::ExtentGc { .. } => None,
        }
    }

    /// The model's remarks on this event (without the [`REMARK`] marker): what the real
    /// line does not say, or, for an event with no known log line, what happened.
    pub fn remarks(&self) -> Vec<String> {
        let one = |s: String| vec![s];
        match self {
            MetaEvent::MigrateForLocalization => Vec::new(),
            MetaEvent::ScanCursor { walked, next } => one(format!(
                "ReGenerateWaitingMigrateList walked pids {walked:?} from next_repair_scan_pids_ \
                 (scan_extents_num); the next scan starts at {}",
                if *next == 0 {
                    "the first pid".to_string()
                } else {
                    format!("pid {next}")
                }
            )),
            MetaEvent::MigrateQueued(c) => one(format!(
                "MakeMigrateCmd: pid: {} src: {} dst: {} replace: {} -> passive_waiting_migrate_",
                c.pid, c.src, c.dst, c.replace
            )),
            MetaEvent::RecoverQueued { pids } => one(format!(
                "ReGenerateWaitingRecoverList: pids {pids:?} -> passive_waiting_recover_"
            )),
            MetaEvent::MigrateListsSwapped { now_active } => one(format!(
                "swap passive/active_waiting_migrate_ ({now_active} now active)"
            )),
            MetaEvent::CmdAdded(c) => {
                let mut r = Vec::new();
                if !c.is_migrate() {
                    r.push(format!("owner: {}", c.owner));
                }
                if c.owner_allocated {
                    r.push(format!("AllocOwnerForRecover created owner {}", c.owner));
                }
                if c.src != c.reserved_src {
                    r.push(format!(
                        "EnqueueRecoverCmd rewrote src {} -> {} (the owner holds an alive \
                         replica): RevokeRecoverCmds({}) will not take this command, \
                         RevokeRecoverCmds({}) will",
                        c.reserved_src, c.src, c.reserved_src, c.src
                    ));
                }
                r
            }
            MetaEvent::CmdRefused {
                pid,
                src,
                dst,
                replace,
                why,
            } => one(format!(
                "AddRecoverCmdUnlock refused pid: {pid} src: {src} dst: {dst} replace: {replace} \
                 ({})",
                why.words()
            )),
            MetaEvent::OwnerAllocFailed {
                pid,
                src,
                dst,
                replace,
                given_back,
            } => one(format!(
                "AllocOwnerForRecover failed for pid: {pid} src: {src} dst: {dst} replace: \
                 {replace} (\"fail to alloc migrate owner for recover cmd\"): command refused, \
                 reservations {}",
                if *given_back { "given back" } else { "kept" }
            )),
            MetaEvent::TopoUpdated { .. } => Vec::new(),
            MetaEvent::CandidateRevoked { cid, cand } => one(format!(
                "RevokeRecoverCmds({cid}): dropped waiting migrate pid {} src {} dst {}",
                cand.pid, cand.src, cand.dst
            )),
            MetaEvent::CmdRevoked {
                cid,
                cmd,
                was_queued,
                owner_kept,
                erased_waiting_recover,
            } => one(format!(
                "RevokeRecoverCmds({cid}): dropped cmd pid {}{}, owner {} {}{}",
                cmd.pid,
                if *was_queued {
                    " (never delivered)"
                } else {
                    " (already delivered)"
                },
                cmd.owner,
                if *owner_kept { "kept" } else { "released" },
                if *erased_waiting_recover {
                    "; pid erased from active_waiting_recover_"
                } else {
                    ""
                }
            )),
            MetaEvent::RevokeSparedRewrittenSrc { cid, cmd } => one(format!(
                "RevokeRecoverCmds({cid}) keeps cmd {}: its src was rewritten {} -> {} by \
                 EnqueueRecoverCmd",
                cmd_words(cmd),
                cmd.reserved_src,
                cmd.src
            )),
            MetaEvent::RecoverSent { .. } => Vec::new(),
            MetaEvent::ReplaceReplica {
                cmd,
                tracked,
                result,
            } => {
                let mut r = Vec::new();
                if !tracked {
                    r.push(format!(
                        "the command ({}) is no longer in pid_cmds_ (revoked after delivery)",
                        cmd_words(cmd)
                    ));
                }
                match result {
                    Ok(p) => r.push(format!("location now {:?}", p.location)),
                    Err(why) => r.push(format!("refused: {why:?}")),
                }
                r
            }
            MetaEvent::SessionExpired {
                cid,
                owners_cleared,
            } => one(format!(
                "session of chunk-{cid} expired; leases of pids {owners_cleared:?} die with it"
            )),
            MetaEvent::SessionCreated { cid, generation } => one(format!(
                "chunk-{cid} created session {generation}: no lease, empty recover cmd queue"
            )),
            MetaEvent::SessionCmdsKept { cid, cmds } => cmds
                .iter()
                .map(|c| {
                    format!(
                        "cmd {} of expired session chunk-{cid} stays in pid_cmds_ with its \
                         reservations (session_expiry_cmds=kept)",
                        cmd_words(c)
                    )
                })
                .collect(),
            MetaEvent::SessionCmdDropped {
                cid,
                cmd,
                was_queued,
            } => one(format!(
                "cmd {} of expired session chunk-{cid} ({}) leaves pid_cmds_, reservations \
                 given back (session_expiry_cmds=revoked)",
                cmd_words(cmd),
                if *was_queued {
                    "never handed over: its queue died with the session"
                } else {
                    "already handed over"
                }
            )),
            MetaEvent::ReplicaRemoved {
                pid,
                cid,
                location,
                epoch,
            } => one(format!(
                "DoRemoveReplica pid: {pid} cid: {cid} -> location: {} {location:?} epoch: \
                 {epoch}; AddToWaitingRecover",
                pack_location(location)
            )),
            MetaEvent::LastReplicaKept { pid, cid } => one(format!(
                "DoRemoveReplica pid: {pid} cid: {cid}: last replica, kept"
            )),
            MetaEvent::OwnerReleased { session, .. } => one(format!("session of chunk-{session}")),
            MetaEvent::ReleaseIgnored { pid, session } => one(format!(
                "Release owner of pid {pid} from chunk-{session}: not the owner, ignored"
            )),
            MetaEvent::LeaseGranted {
                pid,
                owner,
                created,
            } => one(format!(
                "lease for IO on pid: {pid} owner: {owner}{}",
                if *created { " (new owner)" } else { "" }
            )),
            MetaEvent::IoServed { pid, owner } => one(format!(
                "IO on pid: {pid} served through owner {owner} (meta unchanged)"
            )),
            MetaEvent::AddMigrateCmd(e) => e.remarks(),
            MetaEvent::RecoverTimedOut { cmd, tracked } => one(format!(
                "recover_timeout_ms passed for cmd {}: {}; its temporary pextent on chunk-{} \
                 waits for EXTENT GC",
                cmd_words(cmd),
                if *tracked {
                    "meta ends it (pid_cmds_ entry and reservations released)"
                } else {
                    "meta no longer tracks it"
                },
                cmd.dst
            )),
            MetaEvent::ExtentGc { pid, cid } => one(format!(
                "EXTENT GC CMD to chunk-{cid}: the temporary pextent of pid {pid}'s timed-out \
                 recover is reclaimed; the pid may be recovered again"
            )),
            MetaEvent::Snapshot(e) => e.remarks(),
        }
    }

    /// The event as trace lines: its glog line (header for step `step`, line `line`) if ZBS
    /// logs one, then each remark behind [`REMARK`].
    pub fn lines(&self, step: usize, line: usize) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(g) = self.glog() {
            let mut header = glog_header(step, line, g.thread, g.file_line);
            // An error line (`E0703 …`, notes:488) keeps glog's severity letter.
            if let MetaEvent::Snapshot(e) = self
                && let Some(('E', ..)) = e.glog()
            {
                header.replace_range(..1, "E");
            }
            out.push(format!("{header}{}", g.message));
        }
        out.extend(self.remarks().into_iter().map(|r| format!("{REMARK}{r}")));
        out
    }
}

/// What a chunk logs (chunk-side lines, `recover_handler.cc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkLine {
    /// `Get recover notification: pid: 8` (the sample has no glog header).
    Notification(RecoverCmd),
    /// `recover_handler.cc:1024] [NORMAL RECOVER END] pid: … src_cid: … dst_cid: … is_migrate:
    /// … replace_cid: … epoch: …`.
    RecoverEnd(RecoverCmd),
}

impl ChunkLine {
    pub fn lines(&self, step: usize, line: usize) -> Vec<String> {
        match self {
            ChunkLine::Notification(c) => vec![
                format!("Get recover notification: pid: {}", c.pid),
                format!("{REMARK}lease cached; {} (cmd #{})", cmd_words(c), c.id),
            ],
            ChunkLine::RecoverEnd(c) => vec![format!(
                "{}[NORMAL RECOVER END] pid: {} state: END cur_block: 1024 src_cid: {} dst_cid: {} \
                 is_migrate: {} silence_ms: 0 replace_cid: {} epoch: {} gen: 1",
                glog_header(step, line, RECOVER_HANDLER, "recover_handler.cc:1024"),
                c.pid,
                c.src,
                c.dst,
                c.is_migrate(),
                c.replace,
                c.epoch
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recover_cmd::tests::incident_a_cmd;

    fn pid_3134(location: Vec<Cid>) -> PExtent {
        PExtent {
            pid: 3134,
            alive_location: location.clone(),
            location,
            expected_replica_num: 3,
            epoch: 4354,
            preferred_cid: Some(4),
            thin_provision: true,
            size: 1,
            origin_pid: None,
            temporary_replica: false,
        }
    }

    /// The words and field order of the log samples, header included.
    #[test]
    fn lines_are_the_log_samples_verbatim_up_to_placeholders() {
        let cmd = RecoverCmd {
            pid: 3134,
            ..incident_a_cmd(3134)
        };
        let added = MetaEvent::CmdAdded(cmd).lines(3, 0);
        assert_eq!(
            added,
            vec![
                "I0101 00:00:03.000000 58510 recover_manager.cc:414] add recover cmd for pid: \
                 3134 src: 5 dst: 1 replace: 5 owner: 5",
                "# model: AllocOwnerForRecover created owner 5",
            ]
        );
        let recover = MetaEvent::CmdAdded(RecoverCmd {
            replace: 0,
            src: 1,
            dst: 4,
            owner_allocated: false,
            ..cmd
        })
        .lines(0, 0);
        assert!(
            recover[0].ends_with(
                "recover_manager.cc:419] add recover cmd for pid: 3134 src: 1 dst: 4 replace: 0"
            ),
            "{recover:?}"
        );
        let sent = MetaEvent::RecoverSent {
            cmd,
            pext: pid_3134(vec![4, 2, 5]),
            owner_zone: "zone-default".into(),
            zones: vec!["zone-default".into(); 3],
        }
        .lines(9, 0);
        let real = "access_manager.cc:1060] [RECOVER]: pid: 3134 lease { owner { uuid: ";
        assert!(sent[0].contains(real), "{sent:?}");
        for words in [
            "cid: 5 secondary_data_ip: \"198.51.100.5\" zone: \"default\"",
            "} pid: 3134 location: 328196 origin_pid: 0 epoch: 4354 origin_epoch: 0 ever_exist: \
             true meta_generation: 1 expected_replica_num: 3 thin_provision: true chunks { id: 4 \
             data_ip: 67240128 data_port: 10201",
            "} } dst_chunk: 1 replace_chunk: 5 src_chunk: 5 is_migrate: true epoch: 4354 \
             active_location: 328196 start_ms: 1",
        ] {
            assert!(sent[0].contains(words), "{words} in {sent:?}");
        }
        let replaced = MetaEvent::ReplaceReplica {
            cmd,
            tracked: true,
            result: Ok(pid_3134(vec![4, 2, 1])),
        }
        .lines(12, 0);
        assert!(
            replaced[0].contains(
                "meta_rpc_server.cc:1987] [REPLACE REPLICA]: [REQUEST]: session: \
                 \"00000000-0000-0000-0000-000000000005\" pid: 3134 src_chunk: 5 dst_chunk: 1 \
                 epoch: 4354 reset_location_to_dst: false reset_generation: \
                 18446744073709551615, [RESPONSE]: ST:OK, pid: 3134 location: 66052 \
                 expected_replica_num: 3 ever_exist: true origin_pid: 0 epoch: 4354"
            ),
            "{replaced:?}"
        );
        let moved = MetaEvent::TopoUpdated {
            cid: 5,
            new_parent: "topo".into(),
        }
        .lines(5, 0);
        assert!(moved[0].starts_with("I0101 00:00:05.000000  9843 chunk_manager.cc:992] [UPDATE TOPO OBJ]: [REQUEST]: id: \"00000000-0000-0000-0000-000000000005\" new_parent_id: \"topo\", [RESPONSE]: ST:OK, type: NODE"), "{moved:?}");
        assert!(moved[0].contains("name: \"chunk-5-00000000-0000-0000-0000-000000000005\""));
    }

    #[test]
    fn events_without_a_known_log_line_are_remarks_only() {
        let revoked = MetaEvent::CmdRevoked {
            cid: 5,
            cmd: incident_a_cmd(3133),
            was_queued: true,
            owner_kept: true,
            erased_waiting_recover: false,
        };
        assert_eq!(
            revoked.lines(5, 1),
            vec![
                "# model: RevokeRecoverCmds(5): dropped cmd pid 3133 (never delivered), owner 5 kept"
            ]
        );
    }

    #[test]
    fn num_ip_is_packed_as_zbs_packs_it() {
        // data_ip: 67240128 is chunk 4's in the [RECOVER] sample (192.0.2.4).
        assert_eq!(ip(4).1, 67240128);
        assert_eq!(ip(2).1, 33685696);
    }
}
