//! The operator: `[UPDATE TOPO OBJ]` requests and chunk failures from the model file, each at
//! most once, within the model's budgets.

use super::meta::secs;
use super::model::ModelCfg;
use super::{LogLine, Msg, Timer, ZbsActor};
use stateright::actor::Out;

/// Which of the model file's topology updates and chunk failures happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OperatorState {
    pub topo_sent: Vec<bool>,
    pub failures_sent: Vec<bool>,
    /// Manual migrate runs left (`None`: unbounded).
    pub migrates_left: Option<u8>,
    /// Per manual migrate of the model file: its RPC is running (the operator waits for it to
    /// return before running it again).
    pub migrate_running: Vec<bool>,
}

fn used(sent: &[bool]) -> usize {
    sent.iter().filter(|&&s| s).count()
}

impl OperatorState {
    /// No topology update or chunk failure can happen any more: budgets spent or every
    /// listed event done.
    pub fn is_done(&self, cfg: &ModelCfg) -> bool {
        let spent = |sent: &[bool], budget: u8| {
            used(sent) >= usize::from(budget) || sent.iter().all(|&s| s)
        };
        spent(&self.topo_sent, cfg.budgets.topo_updates)
            && spent(&self.failures_sent, cfg.budgets.chunk_failures)
    }
}

/// Arms one timer per not-yet-used event while the budget lasts, cancels them after.
fn arm(sent: &[bool], budget: u8, timer: fn(u8) -> Timer, o: &mut Out<ZbsActor>) {
    let open = used(sent) < usize::from(budget);
    for (i, &done) in sent.iter().enumerate() {
        if done {
            continue;
        }
        if open {
            o.set_timer(timer(i as u8), secs(1));
        } else {
            o.cancel_timer(timer(i as u8));
        }
    }
}

/// Arms the timer of every manual migrate not running while runs are left; cancels the rest.
fn arm_migrates(state: &OperatorState, o: &mut Out<ZbsActor>) {
    let open = state.migrates_left.is_none_or(|n| n > 0);
    for (i, &running) in state.migrate_running.iter().enumerate() {
        if open && !running {
            o.set_timer(Timer::ManualMigrate(i as u8), secs(1));
        } else {
            o.cancel_timer(Timer::ManualMigrate(i as u8));
        }
    }
}

/// The RPC of a manual migrate returned (its status is in meta's step).
pub(super) fn on_msg(
    _cfg: &ModelCfg,
    state: &mut OperatorState,
    msg: &Msg,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    match msg {
        Msg::MigrateDone { index } => {
            state.migrate_running[usize::from(*index)] = false;
            arm_migrates(state, o);
            Vec::new()
        }
        Msg::HeartbeatReply(..)
        | Msg::ReplaceReplica(_)
        | Msg::ReleaseOwner(..)
        | Msg::UpdateTopo { .. }
        | Msg::AppIo(_)
        | Msg::GrantLease(..)
        | Msg::SessionTimeout(_)
        | Msg::CreateSession(_)
        | Msg::SessionCreated(_)
        | Msg::ChunkLost(_)
        | Msg::Disconnect
        | Msg::MigrateCreate { .. }
        | Msg::RecoverTimedOut(_)
        | Msg::Snapshot(_) => unreachable!("the operator does not receive {msg:?}"),
    }
}

pub(super) fn on_start(cfg: &ModelCfg, o: &mut Out<ZbsActor>) -> OperatorState {
    let state = OperatorState {
        topo_sent: vec![false; cfg.topo_updates.len()],
        failures_sent: vec![false; cfg.chunk_failures.len()],
        migrates_left: cfg.budgets.manual_migrates,
        migrate_running: vec![false; cfg.manual_migrates.len()],
    };
    arm_migrates(&state, o);
    arm(
        &state.topo_sent,
        cfg.budgets.topo_updates,
        Timer::TopoUpdate,
        o,
    );
    arm(
        &state.failures_sent,
        cfg.budgets.chunk_failures,
        Timer::ChunkFailure,
        o,
    );
    state
}

pub(super) fn on_timeout(
    cfg: &ModelCfg,
    state: &mut OperatorState,
    timer: &Timer,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    match *timer {
        Timer::TopoUpdate(i) => {
            let (cid, new_parent) = cfg.topo_updates[usize::from(i)];
            state.topo_sent[usize::from(i)] = true;
            o.send(cfg.meta_id(), Msg::UpdateTopo { cid, new_parent });
            arm(
                &state.topo_sent,
                cfg.budgets.topo_updates,
                Timer::TopoUpdate,
                o,
            );
            let parent = &cfg.initial_meta.topology.tree.node(new_parent).name;
            vec![LogLine::Remark(format!(
                "operator requests [UPDATE TOPO OBJ]: move chunk-{cid} to new_parent_id: \"{parent}\""
            ))]
        }
        Timer::ChunkFailure(i) => {
            let cid = cfg.chunk_failures[usize::from(i)];
            state.failures_sent[usize::from(i)] = true;
            o.send(cfg.chunk_id(cid), Msg::Disconnect);
            arm(
                &state.failures_sent,
                cfg.budgets.chunk_failures,
                Timer::ChunkFailure,
                o,
            );
            vec![LogLine::Remark(format!("chunk-{cid} is lost (node down)"))]
        }
        Timer::ManualMigrate(i) => {
            let req = cfg.manual_migrates[usize::from(i)];
            state.migrate_running[usize::from(i)] = true;
            if let Some(n) = &mut state.migrates_left {
                *n -= 1;
            }
            o.send(cfg.meta_id(), Msg::MigrateCreate { index: i, req });
            arm_migrates(state, o);
            vec![LogLine::Remark(format!(
                "operator runs: zbs-meta migrate create pid {} src_chunk {} dst_chunk {} \
                 replaced_chunk {}",
                req.pid, req.src, req.dst, req.replace
            ))]
        }
        _ => unreachable!("not an operator timer: {timer:?}"),
    }
}
