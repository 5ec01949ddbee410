//! Counterexamples as a ZBS engineer reads them: each step names the actor and what it did,
//! the meta-log lines it produced, and the relevant state after it.
//!
//! [`describe`] turns an engine trace into [`Step`]s by re-running each step's handler on the
//! previous state (the same code the checker ran), so the log lines cannot drift from the
//! model. Renderers (`text`, JSON via serde) only format steps.

pub mod counterexample;
pub mod dot;
pub mod html;
pub mod itf;
pub mod json;
pub mod mermaid;
pub mod replay;
pub mod sequence;
pub mod svg;
pub mod test_plan;
pub mod text;
pub mod verify;

pub use counterexample::{Counterexample, Property, Shown, TraceFormat};

use crate::actors::model::{SystemView, ZbsModel, ZbsState};
use crate::actors::{Msg, Timer, ZbsActor};
use crate::domain::recover_cmd::{MigrateCandidate, RecoverCmd};
use crate::domain::{Cid, Pid};
use crate::engine::Trace;
use serde::{Deserialize, Serialize};
use stateright::actor::{ActorModelAction, Out};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub type ZbsAction = ActorModelAction<Msg, Timer, ()>;

/// One step of a counterexample.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Step {
    /// 1-based position in the trace.
    pub index: usize,
    /// Who acted: `meta`, `chunk-5`, `operator`, `client`.
    pub actor: String,
    /// What happened, in a few words (`timer DoScan`, `receives HeartbeatReply from meta`).
    pub action: String,
    /// The log lines the step produced, one per entry: a real ZBS log line verbatim (glog
    /// header `I0101 00:00:05.000000 58510 recover_manager.cc:414] …`, or a chunk line the
    /// samples show without one), or a remark of the model, which starts with
    /// `domain::events::REMARK` (`# model: `).
    pub log: Vec<String>,
    /// The relevant state after the step.
    pub state: StateSummary,
}

/// The parts of a state a meta engineer looks at.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct StateSummary {
    /// pid → lease owner on meta.
    pub owners: BTreeMap<Pid, Cid>,
    /// pid → location.
    pub locations: BTreeMap<Pid, Vec<Cid>>,
    pub passive_waiting_migrate: Vec<String>,
    pub active_waiting_migrate: Vec<String>,
    pub active_waiting_recover: Vec<Pid>,
    pub passive_waiting_recover: Vec<Pid>,
    pub pid_cmds: Vec<String>,
    /// session (cid) → `waiting_recover_cmds`, non-empty ones only.
    pub waiting_recover_cmds: BTreeMap<Cid, Vec<String>>,
    /// chunk → leases its libmeta caches, non-empty ones only.
    pub lease_caches: BTreeMap<Cid, Vec<Pid>>,
    /// chunk → commands it is executing, non-empty ones only.
    pub running: BTreeMap<Cid, Vec<String>>,
    /// chunk → its topology parent.
    pub topology: BTreeMap<Cid, String>,
    /// Messages in flight.
    pub in_flight: Vec<String>,
}

fn cmd_text(c: &RecoverCmd) -> String {
    format!(
        "pid {} src {} dst {} replace {} owner {}",
        c.pid, c.src, c.dst, c.replace, c.owner
    )
}

fn cand_text(c: &MigrateCandidate) -> String {
    format!(
        "pid {} src {} dst {} replace {}",
        c.pid, c.src, c.dst, c.replace
    )
}

/// A message, as traces show it.
pub fn msg_text(m: &Msg) -> String {
    match m {
        Msg::HeartbeatReply(cmds, session) => format!(
            "HeartbeatReply[{}]{}",
            cmds.iter().map(cmd_text).collect::<Vec<_>>().join("; "),
            session_text(*session)
        ),
        Msg::ReplaceReplica(c) => format!("ReplaceReplica({})", cmd_text(c)),
        Msg::ReleaseOwner(p, session) => format!("ReleaseOwner(pid {p}){}", session_text(*session)),
        Msg::UpdateTopo { cid, .. } => format!("UpdateTopo(chunk-{cid})"),
        Msg::AppIo(p) => format!("AppIo(pid {p})"),
        Msg::GrantLease(p, session) => format!("GrantLease(pid {p}){}", session_text(*session)),
        Msg::ChunkLost(c) => format!("ChunkLost(chunk-{c})"),
        Msg::Disconnect => "Disconnect".into(),
        Msg::MigrateCreate { req, .. } => format!(
            "MigrateCreate(pid {} src {} dst {} replace {})",
            req.pid, req.src, req.dst, req.replace
        ),
        Msg::MigrateDone { index } => format!("MigrateDone(#{index})"),
        Msg::Snapshot(crate::domain::snapshot::SnapshotMsg::RevokeLease { pids }) => {
            format!("RevokeLease(vtable pids {pids:?})")
        }
        Msg::Snapshot(crate::domain::snapshot::SnapshotMsg::RecoverFailed { cmd }) => {
            format!("RecoverFailed({}: ELeaseExpired)", cmd_text(cmd))
        }
        Msg::RecoverTimedOut(c) => format!("RecoverTimedOut({})", cmd_text(c)),
        Msg::SessionTimeout(g) => format!("SessionTimeout(session {g})"),
        Msg::CreateSession(g) => format!("CreateSession(session {g})"),
        Msg::SessionCreated(g) => format!("SessionCreated(session {g})"),
    }
}

/// A message's session, named only when it is not the first (session 0).
fn session_text(g: crate::domain::access_session::SessionGen) -> String {
    if g == 0 {
        String::new()
    } else {
        format!(" to session {g}")
    }
}

/// A timer, named after the ZBS function it drives.
pub fn timer_text(t: &Timer) -> String {
    match t {
        Timer::Scan => "DoScan".into(),
        Timer::MigrateScan => "ReGenerateWaitingMigrateList".into(),
        Timer::SwapMigrate => "swap waiting migrate lists".into(),
        Timer::Heartbeat(c) => format!("heartbeat of session chunk-{c}"),
        Timer::Execute(p) => format!("recover of pid {p} finishes"),
        Timer::IdleRelease(p) => format!("idle lease release of pid {p}"),
        Timer::TopoUpdate(i) => format!("topology update #{i}"),
        Timer::AppIo(p) => format!("app IO on pid {p}"),
        Timer::ChunkFailure(i) => format!("chunk failure #{i}"),
        Timer::ManualMigrate(i) => format!("manual migrate #{i}"),
        Timer::AddMigrateStep(s) => format!("AddMigrateCmd step (RPC thread #{s})"),
        Timer::MissHeartbeat => "heartbeat reply missed".into(),
        Timer::RenewSession => "overdue heartbeat reply arrives".into(),
        Timer::CreateSession => "CreateSession".into(),
        Timer::RecoverTick(p) => format!("recover of pid {p}: one tick of its copy"),
        Timer::ExtentGc(p) => format!("EXTENT GC of pid {p}'s temporary pextent"),
        Timer::Snapshot(crate::domain::snapshot::SnapshotTimer::Create) => {
            "snapshot plan: REVOKE LEASE, CREATE SNAPSHOT".into()
        }
        Timer::Snapshot(crate::domain::snapshot::SnapshotTimer::Write) => {
            "VM write to a COW-marked vExtent (GetVExtentLease)".into()
        }
    }
}

impl StateSummary {
    pub fn of(v: &SystemView) -> StateSummary {
        let meta = &v.meta.meta;
        let rm = &meta.recover;
        StateSummary {
            owners: meta.access.owners.iter().map(|(&p, &c)| (p, c)).collect(),
            locations: meta
                .pextents
                .iter()
                .map(|(&p, e)| (p, e.location.clone()))
                .collect(),
            passive_waiting_migrate: rm.passive_waiting_migrate.iter().map(cand_text).collect(),
            active_waiting_migrate: rm.active_waiting_migrate.iter().map(cand_text).collect(),
            active_waiting_recover: rm.active_waiting_recover.iter().copied().collect(),
            passive_waiting_recover: rm.passive_waiting_recover.iter().copied().collect(),
            pid_cmds: rm.pid_cmds.values().map(cmd_text).collect(),
            waiting_recover_cmds: meta
                .access
                .waiting_recover_cmds
                .iter()
                .filter(|(_, q)| !q.is_empty())
                .map(|(&c, q)| (c, q.iter().map(cmd_text).collect()))
                .collect(),
            lease_caches: v
                .sessions()
                .filter(|s| !s.lease_cache.is_empty())
                .map(|s| (s.cid, s.lease_cache.iter().copied().collect()))
                .collect(),
            running: v
                .sessions()
                .filter(|s| !s.running.is_empty())
                .map(|s| (s.cid, s.running.values().map(cmd_text).collect()))
                .collect(),
            topology: meta
                .topology
                .chunk_parent
                .iter()
                .map(|(&c, &p)| (c, meta.topology.tree.node(p).name.clone()))
                .collect(),
            in_flight: {
                let mut msgs: Vec<String> = v
                    .in_flight()
                    .map(|f| {
                        format!(
                            "{} → {}: {}",
                            v.cfg.actor_name(f.src),
                            v.cfg.actor_name(f.dst),
                            msg_text(f.msg)
                        )
                    })
                    .collect();
                msgs.sort();
                msgs
            },
        }
    }
}

/// Re-runs one step's handler on a copy of the acting actor's state to get its log lines
/// (logged at synthetic time 0; [`describe`] gives each step its own second).
pub fn step_log(
    model: &ZbsModel,
    before: &ZbsState,
    action: &ZbsAction,
) -> (String, String, Vec<String>) {
    step_log_at(model, before, action, 0)
}

/// [`step_log`] for the `step`-th step of a trace: its glog lines carry that step's synthetic
/// time (`domain::events::glog_header`); remarks are lines of their own, behind
/// `domain::events::REMARK`.
pub fn step_log_at(
    model: &ZbsModel,
    before: &ZbsState,
    action: &ZbsAction,
    step: usize,
) -> (String, String, Vec<String>) {
    let cfg = &model.cfg;
    let mut out = Out::<ZbsActor>::new();
    let (id, what, lines) = match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            let ix = usize::from(*dst);
            let mut state = Cow::Borrowed(&*before.actor_states[ix]);
            let lines = model.actors[ix].handle_msg(&mut state, *src, msg, &mut out);
            (
                *dst,
                format!("receives {} from {}", msg_text(msg), cfg.actor_name(*src)),
                lines,
            )
        }
        ActorModelAction::Timeout(id, timer) => {
            let ix = usize::from(*id);
            let mut state = Cow::Borrowed(&*before.actor_states[ix]);
            let lines = model.actors[ix].handle_timeout(&mut state, timer, &mut out);
            (*id, format!("timer: {}", timer_text(timer)), lines)
        }
        other => (0.into(), format!("{other:?}"), Vec::new()),
    };
    (
        cfg.actor_name(id),
        what,
        lines
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.lines(step, i))
            .collect(),
    )
}

/// Turns an engine trace into readable steps.
pub fn describe(model: &ZbsModel, trace: &Trace<ZbsState, ZbsAction>) -> Vec<Step> {
    let mut before = &trace.init;
    trace
        .steps
        .iter()
        .enumerate()
        .map(|(i, (action, after))| {
            let (actor, action, log) = step_log_at(model, before, action, i + 1);
            before = after;
            Step {
                index: i + 1,
                actor,
                action,
                log,
                state: StateSummary::of(&SystemView::of(&model.cfg, after)),
            }
        })
        .collect()
}

/// The summary of a trace's initial state.
pub fn initial_summary(model: &ZbsModel, trace: &Trace<ZbsState, ZbsAction>) -> StateSummary {
    StateSummary::of(&SystemView::of(&model.cfg, &trace.init))
}

/// A trace as the text renderer prints it (initial state, then each step): its number of
/// steps and the text.
pub fn render_text(model: &ZbsModel, trace: &Trace<ZbsState, ZbsAction>) -> (usize, String) {
    let steps = describe(model, trace);
    (
        steps.len(),
        text::render(&initial_summary(model, trace), &steps),
    )
}
