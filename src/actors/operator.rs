//! The operator: `[UPDATE TOPO OBJ]` requests and chunk failures from the model file, each at
//! most once, within the model's budgets.

use super::meta::secs;
use super::model::ModelCfg;
use super::{LogLine, Msg, Timer, ZbsActor};
use stateright::actor::Out;

/// Which of the model file's topology updates and chunk failures happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OperatorState {
    pub topo_sent: Vec<bool>,
    pub failures_sent: Vec<bool>,
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

pub(super) fn on_start(cfg: &ModelCfg, o: &mut Out<ZbsActor>) -> OperatorState {
    let state = OperatorState {
        topo_sent: vec![false; cfg.topo_updates.len()],
        failures_sent: vec![false; cfg.chunk_failures.len()],
    };
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
        _ => unreachable!("not an operator timer: {timer:?}"),
    }
}
