//! The actor layer: stateright actors that wire the domain core to messages and timers.
//!
//! | actor | id | wraps |
//! |---|---|---|
//! | meta leader | 0 | [`crate::domain::meta::Meta`] plus scan budgets |
//! | chunk *c* (its session) | 1..=N, in cid order | [`crate::domain::session::ChunkSession`] |
//! | operator | N+1 | `[UPDATE TOPO OBJ]` requests from the model file |
//! | client | N+2 | app IO on pids |
//!
//! Everything that happens "every 60 s" or "after an hour" is a timer, which stateright fires
//! nondeterministically; every source of new work has a budget from the model file, so the
//! state space is finite. Handlers return the log lines they produce ([`LogLine`]) so that
//! trace rendering re-runs the very same code instead of re-describing it.

pub mod chunk;
pub mod client;
pub mod codec;
pub mod meta;
pub mod model;
pub mod operator;
pub mod symmetry;

use crate::domain::access_session::SessionGen;
use crate::domain::events::{ChunkLine, MetaEvent};
use crate::domain::recover_cmd::RecoverCmd;
use crate::domain::session::ChunkSession;
use crate::domain::topology::NodeIx;
use crate::domain::{Cid, Pid};
use model::ModelCfg;
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;
use std::sync::Arc;

/// Every message that crosses the network.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Msg {
    /// meta → chunk: the heartbeat reply carrying the session's `waiting_recover_cmds`, for
    /// that session (its id: a reply meant for an earlier session is dropped).
    HeartbeatReply(Vec<RecoverCmd>, SessionGen),
    /// chunk (owner) → meta: `REPLACE REPLICA` at the end of a command.
    ReplaceReplica(RecoverCmd),
    /// chunk → meta: libmeta released an idle lease (`Release owner : pid: … session: …`).
    ReleaseOwner(Pid, SessionGen),
    /// operator → meta: `[UPDATE TOPO OBJ]` move chunk `cid` below `new_parent`.
    UpdateTopo { cid: Cid, new_parent: NodeIx },
    /// client → meta: app IO on `pid` needs its lease.
    AppIo(Pid),
    /// meta → chunk: the lease for IO, granted to that session; the chunk caches it.
    GrantLease(Pid, SessionGen),
    /// chunk → meta: meta's session timeout noticed the chunk is gone; its session expires.
    ChunkLost(Cid),
    /// operator → chunk: the chunk goes down (process or node lost).
    Disconnect,
    /// operator → meta: `zbs-meta migrate create …` (ZBS-20993), the model file's manual
    /// migrate `index`.
    MigrateCreate {
        index: u8,
        req: crate::domain::manual_migrate::MigrateRequest,
    },
    /// meta → operator: the RPC of manual migrate `index` returned.
    MigrateDone { index: u8 },
    /// chunk → meta: meta's session master times this session out (no heartbeat in time);
    /// sent when the chunk's own session lease runs out, as `ChunkLost` after a death.
    SessionTimeout(SessionGen),
    /// chunk → meta: the chunk's Access asks for a new session (`CreateSession`).
    CreateSession(SessionGen),
    /// meta → chunk: the new session is registered.
    SessionCreated(SessionGen),
    /// chunk (owner) → meta: the recover's copy passed `recover_timeout_ms` unfinished; its
    /// delivery is meta's timeout ending the command (incident B, specs A63).
    RecoverTimedOut(RecoverCmd),
    /// The snapshot road (incident C): meta's `REVOKE LEASE` to a chunk, a chunk's
    /// `ELeaseExpired` recover back to meta.
    Snapshot(crate::domain::snapshot::SnapshotMsg),
}

/// Every timer. stateright fires any set timer at any moment.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Timer {
    /// meta: `RecoverManager::DoScan()` (every 60 s).
    Scan,
    /// meta: `ReGenerateWaitingMigrateList()` (about hourly).
    MigrateScan,
    /// meta: the 60-s swap of the passive and active migrate lists.
    SwapMigrate,
    /// meta: session `cid`'s next heartbeat arrives while commands wait for it.
    Heartbeat(Cid),
    /// chunk: a running command finishes its copy.
    Execute(Pid),
    /// chunk: libmeta's ~1 h idle-lease release.
    IdleRelease(Pid),
    /// operator: the `i`-th topology update of the model file.
    TopoUpdate(u8),
    /// client: app IO on a pid.
    AppIo(Pid),
    /// operator: the `i`-th chunk failure of the model file.
    ChunkFailure(u8),
    /// operator: runs the `i`-th manual migrate of the model file (`zbs-meta migrate create`).
    ManualMigrate(u8),
    /// meta: the RPC handler thread in slot `s` runs the next step of `AddMigrateCmd()`.
    AddMigrateStep(u8),
    /// chunk: a heartbeat round of its session gets no reply in time (one tick of
    /// `budgets.missed_heartbeats`).
    MissHeartbeat,
    /// chunk: the overdue heartbeat reply arrives after all: the session lease is renewed.
    RenewSession,
    /// chunk: the Access of an expired session asks meta for a new one.
    CreateSession,
    /// chunk: one tick of the running copy of `pid` (models with `[recover_pace]`, instead
    /// of `Execute`).
    RecoverTick(Pid),
    /// meta: `EXTENT GC` of the temporary pextent of `pid`'s timed-out recover.
    ExtentGc(Pid),
    /// meta: the snapshot plan fires, or the VM writes to a COW-marked vExtent (incident C).
    Snapshot(crate::domain::snapshot::SnapshotTimer),
}

/// A log line a step produced: a meta event, a chunk's own log line, or a remark of the model
/// (the operator's and the client's actions, and chunk-side happenings ZBS logs no known line
/// for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogLine {
    Meta(MetaEvent),
    Chunk(ChunkLine),
    Remark(String),
}

impl LogLine {
    /// The trace lines of this log line in step `step`, the `line`-th of the step: real
    /// glog lines verbatim, remarks behind [`crate::domain::events::REMARK`].
    pub fn lines(&self, step: usize, line: usize) -> Vec<String> {
        match self {
            LogLine::Meta(e) => e.lines(step, line),
            LogLine::Chunk(c) => c.lines(step, line),
            LogLine::Remark(r) => vec![format!("{}{r}", crate::domain::events::REMARK)],
        }
    }
}

/// The four kinds of actor. Each holds the shared, immutable model configuration.
#[derive(Clone)]
pub enum ZbsActor {
    Meta(Arc<ModelCfg>),
    Chunk(Arc<ModelCfg>, Cid),
    Operator(Arc<ModelCfg>),
    Client(Arc<ModelCfg>),
}

/// The state of one actor.
// stateright keeps each actor state behind its own `Arc`, so the size gap between variants
// costs nothing per state; boxing `Meta` would add an allocation to every meta step.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ActorState {
    Meta(meta::MetaNode),
    Chunk(ChunkSession),
    Operator(operator::OperatorState),
    Client(client::ClientState),
}

/// Runs `f` on a copy of the state (of the expected kind: a mismatch is a wiring bug) and
/// keeps the copy only if it differs, so that stateright sees an unchanged state as
/// `Cow::Borrowed` and treats a step that changes nothing and sends nothing as no step at all
/// (its timer then stays set, as a real timer would just fire again later).
fn with<S, R>(
    state: &mut Cow<ActorState>,
    pick: fn(&mut ActorState) -> Option<&mut S>,
    f: impl FnOnce(&mut S) -> R,
) -> R {
    let mut next = ActorState::clone(state);
    let result = f(pick(&mut next).expect("actor state matches its actor kind"));
    if next != **state {
        *state = Cow::Owned(next);
    }
    result
}

impl ZbsActor {
    /// Delivers `msg`, returning the log lines (used by trace rendering).
    pub fn handle_msg(
        &self,
        state: &mut Cow<ActorState>,
        src: Id,
        msg: &Msg,
        o: &mut Out<ZbsActor>,
    ) -> Vec<LogLine> {
        match self {
            ZbsActor::Meta(cfg) => with(state, ActorState::as_meta, |s| {
                meta::on_msg(cfg, s, src, msg, o)
            }),
            ZbsActor::Chunk(cfg, cid) => with(state, ActorState::as_chunk, |s| {
                chunk::on_msg(cfg, *cid, s, msg, o)
            }),
            ZbsActor::Operator(cfg) => with(state, ActorState::as_operator, |s| {
                operator::on_msg(cfg, s, msg, o)
            }),
            // The client receives nothing.
            ZbsActor::Client(_) => Vec::new(),
        }
    }

    /// Fires `timer`, returning the log lines (used by trace rendering).
    pub fn handle_timeout(
        &self,
        state: &mut Cow<ActorState>,
        timer: &Timer,
        o: &mut Out<ZbsActor>,
    ) -> Vec<LogLine> {
        match self {
            ZbsActor::Meta(cfg) => with(state, ActorState::as_meta, |s| {
                meta::on_timeout(cfg, s, timer, o)
            }),
            ZbsActor::Chunk(cfg, cid) => with(state, ActorState::as_chunk, |s| {
                chunk::on_timeout(cfg, *cid, s, timer, o)
            }),
            ZbsActor::Operator(cfg) => with(state, ActorState::as_operator, |s| {
                operator::on_timeout(cfg, s, timer, o)
            }),
            ZbsActor::Client(cfg) => with(state, ActorState::as_client, |s| {
                client::on_timeout(cfg, s, timer, o)
            }),
        }
    }
}

/// Only the meta's state has parts worth sharing: its tables (a chunk, the operator and a
/// client are a few words each).
impl crate::engine::parts::SharedParts for ActorState {
    fn share_parts(&mut self, pool: &mut crate::engine::parts::PartPool) {
        match self {
            ActorState::Meta(node) => node.share_tables(pool),
            ActorState::Chunk(_) | ActorState::Operator(_) | ActorState::Client(_) => {}
        }
    }
}

impl ActorState {
    pub fn as_meta(&mut self) -> Option<&mut meta::MetaNode> {
        match self {
            ActorState::Meta(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_chunk(&mut self) -> Option<&mut ChunkSession> {
        match self {
            ActorState::Chunk(s) => Some(s),
            _ => None,
        }
    }
    fn as_operator(&mut self) -> Option<&mut operator::OperatorState> {
        match self {
            ActorState::Operator(s) => Some(s),
            _ => None,
        }
    }
    fn as_client(&mut self) -> Option<&mut client::ClientState> {
        match self {
            ActorState::Client(s) => Some(s),
            _ => None,
        }
    }
}

impl Actor for ZbsActor {
    type Msg = Msg;
    type Timer = Timer;
    type State = ActorState;
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> ActorState {
        match self {
            ZbsActor::Meta(cfg) => ActorState::Meta(meta::on_start(cfg, o)),
            ZbsActor::Chunk(cfg, cid) => ActorState::Chunk(chunk::on_start(cfg, *cid, o)),
            ZbsActor::Operator(cfg) => ActorState::Operator(operator::on_start(cfg, o)),
            ZbsActor::Client(cfg) => ActorState::Client(client::on_start(cfg, o)),
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<ActorState>, src: Id, msg: Msg, o: &mut Out<Self>) {
        self.handle_msg(state, src, &msg, o);
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<ActorState>, timer: &Timer, o: &mut Out<Self>) {
        self.handle_timeout(state, timer, o);
    }
}
