//! What a ZBS log line says, typed: the events `zbs-mc conform` reads from a meta leader's
//! glog lines (and from chunk logs and the model's own trace text), each with where it came
//! from.

use crate::domain::{Cid, Pid};
use serde::Serialize;
use std::fmt;

/// Who a session is, as a line names it: a cid (`chunk-5` in the model's trace text) or the
/// session uuid of a real log (mapped to a cid when some line carries both).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Session {
    Cid(Cid),
    Uuid(String),
}

impl Session {
    /// A logged session matches the model's: equal cids, or a uuid no line maps to a cid
    /// (which says nothing).
    pub fn matches(&self, model: &Session) -> bool {
        match self {
            Session::Uuid(_) => true,
            Session::Cid(_) => self == model,
        }
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Session::Cid(c) => write!(f, "chunk-{c}"),
            Session::Uuid(u) => write!(f, "{u}"),
        }
    }
}

/// The kinds of event, as `conform` names them in its vocabulary and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Kind {
    /// `add recover cmd for pid …` (recover_manager.cc; notes:133).
    CmdAdded,
    /// `add recover cmd by rpc for pid …` (notes:450): a command an RPC added.
    CmdAddedByRpc,
    /// `[UPDATE TOPO OBJ]` answered ST:OK: a topology object moved (chunk_manager.cc).
    TopoUpdated,
    /// `[UPDATE TOPO OBJ]: [REQUEST]` without a response: the operator's request (the
    /// model's operator line; a real meta log only has the answered line).
    TopoRequested,
    /// `[RECOVER]: pid … lease { owner { … } } dst_chunk …` (access_manager.cc; notes:134).
    RecoverSent,
    /// `[REPLACE REPLICA]` (meta_rpc_server.cc).
    ReplaceReplica,
    /// `Release owner : pid … session …` (access_manager.cc; notes:516).
    OwnerReleased,
    /// Chunk side: `Get recover notification: pid …` (notes:135).
    RecoverNotified,
    /// Chunk side: `[NORMAL RECOVER END] pid …` (recover_handler.cc; notes:538).
    RecoverEnded,
    /// `Migrate for …` (notes:131): a migrate scan started, with its reason.
    MigrateFor,
    /// `Enqueue recover cmd for session …` (notes:132).
    Enqueued,
    /// `[COW PEXTENT]`.
    CowPextent,
    /// `[SET PEXTENT EXISTENCE]`.
    SetExistence,
    /// `There is no enough space on chunk …`.
    NoSpace,
    /// Chunk side: `[RECOVER] Setup for pid …` (notes:136).
    RecoverSetup,
    /// Chunk side: `SYNC GENERATION START` (notes:137).
    SyncGenerationStart,
    /// Chunk side: `FAIL TO SYNC GENERATION FROM cid … pid … st …` (notes:138).
    SyncGenerationFailed,
    /// `EXTENT GC` (notes:293).
    ExtentGc,
}

/// Every kind, in declaration order.
pub const ALL_KINDS: &[Kind] = &[
    Kind::CmdAdded,
    Kind::CmdAddedByRpc,
    Kind::TopoUpdated,
    Kind::TopoRequested,
    Kind::RecoverSent,
    Kind::ReplaceReplica,
    Kind::OwnerReleased,
    Kind::RecoverNotified,
    Kind::RecoverEnded,
    Kind::MigrateFor,
    Kind::Enqueued,
    Kind::CowPextent,
    Kind::SetExistence,
    Kind::NoSpace,
    Kind::RecoverSetup,
    Kind::SyncGenerationStart,
    Kind::SyncGenerationFailed,
    Kind::ExtentGc,
];

impl Kind {
    /// A kind by its name (`RecoverSent`), as `--unlogged` takes it.
    pub fn named(name: &str) -> Option<Kind> {
        ALL_KINDS
            .iter()
            .copied()
            .find(|k| format!("{k:?}").eq_ignore_ascii_case(name))
    }

    /// Kinds the meta leader logs at INFO whenever the step happens: a meta log that shows
    /// none of a pid's `[RECOVER]` lines says that no command was delivered to it. Chunk-side
    /// kinds (and the model's operator lines) are logged only where the log shows any.
    pub fn always_logged(self) -> bool {
        matches!(
            self,
            Kind::CmdAdded
                | Kind::CmdAddedByRpc
                | Kind::TopoUpdated
                | Kind::RecoverSent
                | Kind::ReplaceReplica
                | Kind::OwnerReleased
        )
    }

    /// Whether the model logs this kind at all: only such kinds are matched against its
    /// transitions. The others are read, counted and shown, never matched (the model has no
    /// COW, no GC, no sync-generation steps).
    pub fn modelled(self) -> bool {
        match self {
            Kind::CmdAdded
            | Kind::CmdAddedByRpc
            | Kind::TopoUpdated
            | Kind::TopoRequested
            | Kind::RecoverSent
            | Kind::ReplaceReplica
            | Kind::OwnerReleased
            | Kind::RecoverNotified
            | Kind::RecoverEnded => true,
            Kind::MigrateFor
            | Kind::Enqueued
            | Kind::CowPextent
            | Kind::SetExistence
            | Kind::NoSpace
            | Kind::RecoverSetup
            | Kind::SyncGenerationStart
            | Kind::SyncGenerationFailed
            | Kind::ExtentGc => false,
        }
    }
}

/// One event, in model terms once sessions and chunk uuids are mapped to cids.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind")]
pub enum Event {
    CmdAdded {
        pid: Pid,
        src: Cid,
        dst: Cid,
        replace: Cid,
        /// Older meta versions log no owner (`recover_manager.cc:419`).
        owner: Option<Cid>,
        by_rpc: bool,
    },
    /// A topology object moved below `new_parent`; `cid` is the chunk it is (from the
    /// `chunk-<cid>-<uuid>` name, the model's `chunk-<cid>`, or the object's id), `None`
    /// for a rack, brick or zone.
    TopoUpdated {
        cid: Option<Cid>,
        object_id: Option<String>,
        new_parent: String,
        /// The request only (no `[RESPONSE]`): the operator's side.
        request_only: bool,
    },
    RecoverSent {
        pid: Pid,
        owner: Cid,
        owner_uuid: Option<String>,
        src: Cid,
        dst: Cid,
        replace: Cid,
        is_migrate: bool,
        epoch: u64,
        /// The pextent's location the lease carried (real lines only).
        location: Option<Vec<Cid>>,
    },
    ReplaceReplica {
        session: Option<Session>,
        pid: Pid,
        src: Cid,
        dst: Cid,
        epoch: u64,
        /// ST:OK with the new location, or the status meta answered.
        ok: bool,
        location: Option<Vec<Cid>>,
        status: String,
        /// The response's `expected_replica_num` and `preferred_cid`, when it prints them
        /// (read by `conform --infer`; never matched).
        expected_replicas: Option<u8>,
        preferred_cid: Option<Cid>,
    },
    OwnerReleased {
        pid: Pid,
        session: Session,
    },
    RecoverNotified {
        pid: Pid,
    },
    RecoverEnded {
        pid: Pid,
        src: Cid,
        dst: Cid,
        replace: Cid,
        epoch: u64,
    },
    /// A line of a kind the model does not log (see [`Kind::modelled`]), with the pid it
    /// names, if any.
    Other {
        what: Kind,
        pid: Option<Pid>,
        text: String,
    },
}

impl Event {
    pub fn kind(&self) -> Kind {
        match self {
            Event::CmdAdded { by_rpc: false, .. } => Kind::CmdAdded,
            Event::CmdAdded { by_rpc: true, .. } => Kind::CmdAddedByRpc,
            Event::TopoUpdated {
                request_only: false,
                ..
            } => Kind::TopoUpdated,
            Event::TopoUpdated {
                request_only: true, ..
            } => Kind::TopoRequested,
            Event::RecoverSent { .. } => Kind::RecoverSent,
            Event::ReplaceReplica { .. } => Kind::ReplaceReplica,
            Event::OwnerReleased { .. } => Kind::OwnerReleased,
            Event::RecoverNotified { .. } => Kind::RecoverNotified,
            Event::RecoverEnded { .. } => Kind::RecoverEnded,
            Event::Other { what, .. } => *what,
        }
    }

    /// The pid the event is about, if any.
    pub fn pid(&self) -> Option<Pid> {
        match self {
            Event::CmdAdded { pid, .. }
            | Event::RecoverSent { pid, .. }
            | Event::ReplaceReplica { pid, .. }
            | Event::OwnerReleased { pid, .. }
            | Event::RecoverNotified { pid }
            | Event::RecoverEnded { pid, .. } => Some(*pid),
            Event::TopoUpdated { .. } => None,
            Event::Other { pid, .. } => *pid,
        }
    }

    /// A short name for sentences: `[UPDATE TOPO OBJ] chunk-5`, `[RECOVER] pid 3134`.
    pub fn label(&self) -> String {
        match self {
            Event::CmdAdded { pid, by_rpc, .. } => format!(
                "add recover cmd {}for pid {pid}",
                if *by_rpc { "by rpc " } else { "" }
            ),
            Event::TopoUpdated { cid: Some(c), .. } => format!("[UPDATE TOPO OBJ] chunk-{c}"),
            Event::TopoUpdated { object_id, .. } => {
                format!("[UPDATE TOPO OBJ] {}", object_id.as_deref().unwrap_or("?"))
            }
            Event::RecoverSent { pid, .. } => format!("[RECOVER] pid {pid}"),
            Event::ReplaceReplica { pid, .. } => format!("[REPLACE REPLICA] pid {pid}"),
            Event::OwnerReleased { pid, .. } => format!("Release owner pid {pid}"),
            Event::RecoverNotified { pid } => format!("Get recover notification pid {pid}"),
            Event::RecoverEnded { pid, .. } => format!("[NORMAL RECOVER END] pid {pid}"),
            Event::Other { what, .. } => format!("{what:?}"),
        }
    }

    /// Does the logged event `self` say what the model's event `model` says? Fields the log
    /// leaves out (an older line without `owner`, a session uuid no line maps to a cid, the
    /// location a model trace line does not print) match anything.
    pub fn matches(&self, model: &Event) -> bool {
        use Event as E;
        match (self, model) {
            (
                E::CmdAdded {
                    pid,
                    src,
                    dst,
                    replace,
                    owner,
                    by_rpc,
                },
                E::CmdAdded {
                    pid: p,
                    src: s,
                    dst: d,
                    replace: r,
                    owner: o,
                    by_rpc: b,
                },
            ) => {
                pid == p
                    && src == s
                    && dst == d
                    && replace == r
                    && by_rpc == b
                    && (owner.is_none() || owner == o)
            }
            (
                E::TopoUpdated {
                    cid,
                    new_parent,
                    request_only,
                    ..
                },
                E::TopoUpdated {
                    cid: c,
                    new_parent: n,
                    request_only: q,
                    ..
                },
            ) => cid == c && new_parent == n && request_only == q,
            (
                E::RecoverSent {
                    pid,
                    owner,
                    src,
                    dst,
                    replace,
                    is_migrate,
                    epoch,
                    location,
                    ..
                },
                E::RecoverSent {
                    pid: p,
                    owner: o,
                    src: s,
                    dst: d,
                    replace: r,
                    is_migrate: m,
                    epoch: e,
                    location: l,
                    ..
                },
            ) => {
                pid == p
                    && owner == o
                    && src == s
                    && dst == d
                    && replace == r
                    && is_migrate == m
                    && epoch == e
                    && (location.is_none() || l.is_none() || location == l)
            }
            (
                E::ReplaceReplica {
                    session,
                    pid,
                    src,
                    dst,
                    epoch,
                    ok,
                    location,
                    ..
                },
                E::ReplaceReplica {
                    session: ss,
                    pid: p,
                    src: s,
                    dst: d,
                    epoch: e,
                    ok: k,
                    location: l,
                    ..
                },
            ) => {
                pid == p
                    && src == s
                    && dst == d
                    && epoch == e
                    && ok == k
                    && match (session, ss) {
                        (Some(a), Some(b)) => a.matches(b),
                        _ => true,
                    }
                    && (location.is_none() || l.is_none() || location == l)
            }
            (E::OwnerReleased { pid, session }, E::OwnerReleased { pid: p, session: s }) => {
                pid == p && session.matches(s)
            }
            (E::RecoverNotified { pid }, E::RecoverNotified { pid: p }) => pid == p,
            (
                E::RecoverEnded {
                    pid,
                    src,
                    dst,
                    replace,
                    epoch,
                },
                E::RecoverEnded {
                    pid: p,
                    src: s,
                    dst: d,
                    replace: r,
                    epoch: e,
                },
            ) => pid == p && src == s && dst == d && replace == r && epoch == e,
            _ => false,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |o: &Option<Cid>| o.map_or("?".to_string(), |c| c.to_string());
        match self {
            Event::CmdAdded {
                pid,
                src,
                dst,
                replace,
                owner,
                by_rpc,
            } => write!(
                f,
                "add recover cmd {}for pid: {pid} src: {src} dst: {dst} replace: {replace} owner: {}",
                if *by_rpc { "by rpc " } else { "" },
                opt(owner)
            ),
            Event::TopoUpdated {
                cid,
                object_id,
                new_parent,
                request_only,
            } => {
                write!(f, "[UPDATE TOPO OBJ] ")?;
                match (cid, object_id) {
                    (Some(c), _) => write!(f, "chunk-{c}")?,
                    (None, Some(id)) => write!(f, "object {id}")?,
                    (None, None) => write!(f, "object ?")?,
                }
                write!(f, " new_parent_id: \"{new_parent}\"")?;
                if *request_only {
                    write!(f, " (request)")?;
                }
                Ok(())
            }
            Event::RecoverSent {
                pid,
                owner,
                src,
                dst,
                replace,
                is_migrate,
                epoch,
                ..
            } => write!(
                f,
                "[RECOVER]: pid: {pid} owner: {owner} dst_chunk: {dst} replace_chunk: {replace} src_chunk: {src} is_migrate: {is_migrate} epoch: {epoch}"
            ),
            Event::ReplaceReplica {
                session,
                pid,
                src,
                dst,
                epoch,
                location,
                status,
                ..
            } => {
                write!(f, "[REPLACE REPLICA]: ")?;
                if let Some(s) = session {
                    write!(f, "session: {s} ")?;
                }
                write!(
                    f,
                    "pid: {pid} src_chunk: {src} dst_chunk: {dst} epoch: {epoch} -> {status}"
                )?;
                if let Some(l) = location {
                    write!(f, " location: {l:?}")?;
                }
                Ok(())
            }
            Event::OwnerReleased { pid, session } => {
                write!(f, "Release owner : pid: {pid} session: {session}")
            }
            Event::RecoverNotified { pid } => write!(f, "Get recover notification: pid: {pid}"),
            Event::RecoverEnded {
                pid,
                src,
                dst,
                replace,
                epoch,
            } => write!(
                f,
                "[NORMAL RECOVER END] pid: {pid} src_cid: {src} dst_cid: {dst} replace_cid: {replace} epoch: {epoch}"
            ),
            Event::Other { text, .. } => write!(f, "{text}"),
        }
    }
}

/// Where a line came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// Index into the list of input files.
    pub file: usize,
    /// 1-based line in that file.
    pub physical: usize,
    /// The log's own line number: a `grep -n` prefix (`22060:`), counted on from the last
    /// prefix for lines without one, else the physical line.
    pub line: usize,
}

/// One event read from a log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogEvent {
    pub origin: Origin,
    /// Microseconds since the start of the year (`MMDD HH:MM:SS.micro`, months of 31 days),
    /// or none (the model's trace text).
    pub time: Option<u64>,
    /// The glog thread id, if the line had a header.
    pub thread: Option<u64>,
    /// Who logged it: `meta`, `chunk-5`, `operator`, `client` (model trace text), or the glog
    /// source file (`recover_manager.cc:414`).
    pub source: String,
    pub event: Event,
    /// The line as read (without its `grep -n` prefix), for reports.
    pub text: String,
}
