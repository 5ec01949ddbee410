//! The operator: `[UPDATE TOPO OBJ]` requests, each at most once, within the model's budget.

use super::meta::secs;
use super::model::ModelCfg;
use super::{LogLine, Msg, Timer, ZbsActor};
use stateright::actor::Out;

/// Which of the model file's topology updates were sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OperatorState {
    pub sent: Vec<bool>,
}

impl OperatorState {
    fn used(&self) -> usize {
        self.sent.iter().filter(|&&s| s).count()
    }
}

pub(super) fn on_start(cfg: &ModelCfg, o: &mut Out<ZbsActor>) -> OperatorState {
    if cfg.budgets.topo_updates > 0 {
        for i in 0..cfg.topo_updates.len() {
            o.set_timer(Timer::TopoUpdate(i as u8), secs(1));
        }
    }
    OperatorState {
        sent: vec![false; cfg.topo_updates.len()],
    }
}

pub(super) fn on_timeout(
    cfg: &ModelCfg,
    state: &mut OperatorState,
    timer: &Timer,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    let Timer::TopoUpdate(i) = timer else {
        unreachable!("not an operator timer: {timer:?}")
    };
    let i = usize::from(*i);
    let (cid, new_parent) = cfg.topo_updates[i];
    state.sent[i] = true;
    o.send(cfg.meta_id(), Msg::UpdateTopo { cid, new_parent });
    if state.used() >= usize::from(cfg.budgets.topo_updates) {
        for j in (0..state.sent.len()).filter(|&j| !state.sent[j]) {
            o.cancel_timer(Timer::TopoUpdate(j as u8));
        }
    }
    let parent = &cfg.initial_meta.topology.tree.node(new_parent).name;
    vec![LogLine::Operator(format!(
        "[UPDATE TOPO OBJ]: [REQUEST]: chunk-{cid} new_parent_id: \"{parent}\""
    ))]
}
