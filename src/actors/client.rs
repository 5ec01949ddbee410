//! The client: app IO on pids, which needs each pid's lease owner.

use super::meta::secs;
use super::model::ModelCfg;
use super::{LogLine, Msg, Timer, ZbsActor};
use stateright::actor::Out;

/// How much app IO the client may still issue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ClientState {
    pub io_left: u8,
}

pub(super) fn on_start(cfg: &ModelCfg, o: &mut Out<ZbsActor>) -> ClientState {
    if cfg.budgets.app_io > 0 {
        for &pid in &cfg.io_pids {
            o.set_timer(Timer::AppIo(pid), secs(10));
        }
    }
    ClientState {
        io_left: cfg.budgets.app_io,
    }
}

pub(super) fn on_timeout(
    cfg: &ModelCfg,
    state: &mut ClientState,
    timer: &Timer,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    let Timer::AppIo(pid) = timer else {
        unreachable!("not a client timer: {timer:?}")
    };
    state.io_left -= 1;
    o.send(cfg.meta_id(), Msg::AppIo(*pid));
    for &p in &cfg.io_pids {
        if state.io_left == 0 {
            o.cancel_timer(Timer::AppIo(p));
        } else {
            o.set_timer(Timer::AppIo(p), secs(10));
        }
    }
    vec![LogLine::Remark(format!("client: app IO on pid: {pid}"))]
}
