//! The replayable JSON trace (`--trace-format json`; schema in `specs/traces.md`).
//!
//! Besides what an engineer reads (actor, action, log lines, state after each step), every
//! step stores its action in a serialisable form ([`ActionRecord`]: who acted, and the timer
//! or the message) so that `zbs-mc replay` can find the same action again among the enabled
//! ones; the document also stores the model file (path, text, hash) and the variant.

use super::counterexample::content_hash;
use super::{Counterexample, StateSummary, ZbsAction};
use crate::actors::model::ModelCfg;
use crate::actors::{Msg, Timer};
use crate::domain::recover_cmd::RecoverCmd;
use crate::domain::{Cid, Pid};
use serde::{Deserialize, Serialize};
use stateright::actor::ActorModelAction;
use std::collections::BTreeMap;

/// The schema identifier every saved trace carries.
pub const SCHEMA: &str = "zbs-mc/trace/v1";

/// A saved trace: the whole JSON document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedTrace {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The model's `name`.
    pub model: String,
    /// The model file's path as given to `check`.
    pub model_file: String,
    /// `fnv1a64:…` of the model file's text.
    pub model_hash: String,
    /// The model file's text, so a replay needs nothing else.
    pub model_source: String,
    /// Every variant switch → `on` / `off`.
    pub variant: BTreeMap<String, String>,
    /// The property this trace violates (or, for a `sometimes` property, reaches).
    pub property: String,
    /// What the trace shows, computed on its states when it was written: `violated` (an
    /// invariant, or a liveness property's lasso), `reached` (a `sometimes` property), or —
    /// for a trace re-rendered under another property or variant — `holds`, `not_reached`,
    /// `not_shown`.
    pub verdict: String,
    /// For a liveness counterexample (a lasso): the state the last step returns to (0 the
    /// initial state, k the state after step k; the number of steps for a dead end).
    #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
    pub loop_start: Option<usize>,
    /// The summary of the initial state.
    pub initial: StateSummary,
    pub steps: Vec<SavedStep>,
}

/// One step of a saved trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedStep {
    /// 1-based.
    pub index: usize,
    /// Who acted: `meta`, `chunk-5`, `operator`, `client`.
    pub actor: String,
    /// The action in words, as the text trace shows it.
    pub action: String,
    /// The action, precisely enough to find it again.
    pub event: ActionRecord,
    /// The log lines the step produced.
    pub log: Vec<String>,
    /// The summary of the state after the step.
    pub state: StateSummary,
}

/// A model action in serialisable form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionRecord {
    /// `actor`'s timer fired.
    Timer { actor: String, timer: TimerRecord },
    /// A message from `src` was delivered to `dst`.
    Deliver {
        src: String,
        dst: String,
        msg: MsgRecord,
    },
    /// Any other stateright action (not produced by this model), by its `Debug` text.
    Other { debug: String },
}

/// [`Timer`], serialisable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum TimerRecord {
    Scan,
    MigrateScan,
    SwapMigrate,
    Heartbeat {
        cid: Cid,
    },
    Execute {
        pid: Pid,
    },
    IdleRelease {
        pid: Pid,
    },
    TopoUpdate {
        index: u8,
    },
    AppIo {
        pid: Pid,
    },
    ChunkFailure {
        index: u8,
    },
    ManualMigrate {
        index: u8,
    },
    AddMigrateStep {
        slot: u8,
    },
    RecoverTick {
        pid: Pid,
    },
    ExtentGc {
        pid: Pid,
    },
    MissHeartbeat,
    RenewSession,
    CreateSession,
    Snapshot {
        timer: crate::domain::snapshot::SnapshotTimer,
    },
}

/// Session ids are written only when not 0 (the session every model starts with), so traces
/// of models without session expiry read as before.
fn is_first_session(g: &crate::domain::access_session::SessionGen) -> bool {
    *g == 0
}

/// [`crate::domain::snapshot::SnapshotMsg`] as a trace writes it: tagged by `what`.
#[derive(Serialize, Deserialize)]
#[serde(
    remote = "crate::domain::snapshot::SnapshotMsg",
    tag = "what",
    rename_all = "snake_case"
)]
enum SnapshotMsgJson {
    RevokeLease { pids: Vec<Pid> },
    RecoverFailed { cmd: RecoverCmd },
}

/// [`Msg`], serialisable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum MsgRecord {
    HeartbeatReply {
        cmds: Vec<RecoverCmd>,
        #[serde(default, skip_serializing_if = "is_first_session")]
        session: crate::domain::access_session::SessionGen,
    },
    ReplaceReplica {
        cmd: RecoverCmd,
    },
    ReleaseOwner {
        pid: Pid,
        #[serde(default, skip_serializing_if = "is_first_session")]
        session: crate::domain::access_session::SessionGen,
    },
    UpdateTopo {
        cid: Cid,
        new_parent: String,
    },
    AppIo {
        pid: Pid,
    },
    GrantLease {
        pid: Pid,
        #[serde(default, skip_serializing_if = "is_first_session")]
        session: crate::domain::access_session::SessionGen,
    },
    ChunkLost {
        cid: Cid,
    },
    Disconnect,
    MigrateCreate {
        index: u8,
        req: crate::domain::manual_migrate::MigrateRequest,
    },
    MigrateDone {
        index: u8,
    },
    Snapshot {
        #[serde(with = "SnapshotMsgJson")]
        msg: crate::domain::snapshot::SnapshotMsg,
    },
    RecoverTimedOut {
        cmd: RecoverCmd,
    },
    SessionTimeout {
        session: crate::domain::access_session::SessionGen,
    },
    CreateSession {
        session: crate::domain::access_session::SessionGen,
    },
    SessionCreated {
        session: crate::domain::access_session::SessionGen,
    },
}

impl From<&Timer> for TimerRecord {
    fn from(t: &Timer) -> TimerRecord {
        match *t {
            Timer::Scan => TimerRecord::Scan,
            Timer::MigrateScan => TimerRecord::MigrateScan,
            Timer::SwapMigrate => TimerRecord::SwapMigrate,
            Timer::Heartbeat(cid) => TimerRecord::Heartbeat { cid },
            Timer::Execute(pid) => TimerRecord::Execute { pid },
            Timer::IdleRelease(pid) => TimerRecord::IdleRelease { pid },
            Timer::TopoUpdate(index) => TimerRecord::TopoUpdate { index },
            Timer::AppIo(pid) => TimerRecord::AppIo { pid },
            Timer::ChunkFailure(index) => TimerRecord::ChunkFailure { index },
            Timer::ManualMigrate(index) => TimerRecord::ManualMigrate { index },
            Timer::AddMigrateStep(slot) => TimerRecord::AddMigrateStep { slot },
            Timer::MissHeartbeat => TimerRecord::MissHeartbeat,
            Timer::RenewSession => TimerRecord::RenewSession,
            Timer::CreateSession => TimerRecord::CreateSession,
            Timer::RecoverTick(pid) => TimerRecord::RecoverTick { pid },
            Timer::ExtentGc(pid) => TimerRecord::ExtentGc { pid },
            Timer::Snapshot(timer) => TimerRecord::Snapshot { timer },
        }
    }
}

impl MsgRecord {
    pub fn of(cfg: &ModelCfg, m: &Msg) -> MsgRecord {
        match m {
            Msg::HeartbeatReply(cmds, session) => MsgRecord::HeartbeatReply {
                cmds: cmds.clone(),
                session: *session,
            },
            Msg::ReplaceReplica(c) => MsgRecord::ReplaceReplica { cmd: *c },
            Msg::ReleaseOwner(pid, session) => MsgRecord::ReleaseOwner {
                pid: *pid,
                session: *session,
            },
            Msg::UpdateTopo { cid, new_parent } => MsgRecord::UpdateTopo {
                cid: *cid,
                new_parent: cfg
                    .initial_meta
                    .topology
                    .tree
                    .node(*new_parent)
                    .name
                    .clone(),
            },
            Msg::AppIo(pid) => MsgRecord::AppIo { pid: *pid },
            Msg::GrantLease(pid, session) => MsgRecord::GrantLease {
                pid: *pid,
                session: *session,
            },
            Msg::ChunkLost(cid) => MsgRecord::ChunkLost { cid: *cid },
            Msg::Disconnect => MsgRecord::Disconnect,
            Msg::MigrateCreate { index, req } => MsgRecord::MigrateCreate {
                index: *index,
                req: *req,
            },
            Msg::MigrateDone { index } => MsgRecord::MigrateDone { index: *index },
            Msg::SessionTimeout(session) => MsgRecord::SessionTimeout { session: *session },
            Msg::CreateSession(session) => MsgRecord::CreateSession { session: *session },
            Msg::SessionCreated(session) => MsgRecord::SessionCreated { session: *session },
            Msg::RecoverTimedOut(c) => MsgRecord::RecoverTimedOut { cmd: *c },
            Msg::Snapshot(msg) => MsgRecord::Snapshot { msg: msg.clone() },
        }
    }
}

impl ActionRecord {
    pub fn of(cfg: &ModelCfg, a: &ZbsAction) -> ActionRecord {
        match a {
            ActorModelAction::Timeout(id, timer) => ActionRecord::Timer {
                actor: cfg.actor_name(*id),
                timer: timer.into(),
            },
            ActorModelAction::Deliver { src, dst, msg } => ActionRecord::Deliver {
                src: cfg.actor_name(*src),
                dst: cfg.actor_name(*dst),
                msg: MsgRecord::of(cfg, msg),
            },
            other => ActionRecord::Other {
                debug: format!("{other:?}"),
            },
        }
    }
}

impl SavedTrace {
    /// The document for one counterexample.
    pub fn of(cx: &Counterexample) -> SavedTrace {
        let cfg = &cx.model.cfg;
        SavedTrace {
            schema: SCHEMA.to_string(),
            model: cx.source.name.clone(),
            model_file: cx.source.file.clone(),
            model_hash: content_hash(&cx.source.text),
            model_source: cx.source.text.clone(),
            variant: cx
                .variant
                .to_map()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            property: cx.property.name.to_string(),
            verdict: cx.verdict_word().to_string(),
            loop_start: cx.loop_start,
            initial: cx.initial.clone(),
            steps: cx
                .steps
                .iter()
                .zip(&cx.trace.steps)
                .map(|(step, (action, _))| SavedStep {
                    index: step.index,
                    actor: step.actor.clone(),
                    action: step.action.clone(),
                    event: ActionRecord::of(cfg, action),
                    log: step.log.clone(),
                    state: step.state.clone(),
                })
                .collect(),
        }
    }

    /// Parses a saved trace, checking its schema and every field ([`super::verify`]).
    pub fn parse(text: &str) -> Result<SavedTrace, String> {
        let doc: SavedTrace =
            serde_json::from_str(text).map_err(|e| format!("not a zbs-mc JSON trace: {e}"))?;
        if doc.schema != SCHEMA {
            return Err(format!(
                "trace schema {:?} is not {SCHEMA:?} (written by another zbs-mc version?)",
                doc.schema
            ));
        }
        if let Some(l) = doc.loop_start.filter(|&l| l > doc.steps.len()) {
            return Err(format!(
                "the trace's loop starts at state {l}, after its last state {}",
                doc.steps.len()
            ));
        }
        super::verify::verify(&doc)?;
        Ok(doc)
    }
}

/// `--trace-format json`.
pub fn render(cx: &Counterexample) -> String {
    let mut s = serde_json::to_string_pretty(&SavedTrace::of(cx)).expect("plain values");
    s.push('\n');
    s
}
