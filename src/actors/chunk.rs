//! A chunk server's side of its session: it receives commands and leases, runs commands,
//! and releases idle leases.

use super::meta::secs;
use super::model::ModelCfg;
use super::{LogLine, Msg, Timer, ZbsActor};
use crate::domain::Cid;
use crate::domain::session::ChunkSession;
use stateright::actor::Out;

pub(super) fn on_start(cfg: &ModelCfg, cid: Cid, o: &mut Out<ZbsActor>) -> ChunkSession {
    let mut session = ChunkSession::new(cid);
    for &pid in cfg.initial_cache.get(&cid).into_iter().flatten() {
        session.cache_lease(pid);
        o.set_timer(Timer::IdleRelease(pid), secs(3600));
    }
    session
}

pub(super) fn on_msg(
    cfg: &ModelCfg,
    cid: Cid,
    session: &mut ChunkSession,
    msg: &Msg,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    let line = |text: String| LogLine::Chunk { cid, text };
    if session.down {
        // A lost chunk receives nothing (SystemView treats such messages as lost too).
        return Vec::new();
    }
    match msg {
        // The node dies. Meta notices only later, when the session times out: that detection
        // is the `ChunkLost` message, which so can never overtake the death itself.
        Msg::Disconnect => {
            session.disconnect();
            o.send(cfg.meta_id(), Msg::ChunkLost(cid));
            vec![line(
                "chunk lost: session, lease cache and running commands gone".into(),
            )]
        }
        Msg::HeartbeatReply(cmds) => {
            session.on_heartbeat_reply(cmds);
            cmds.iter()
                .map(|c| {
                    o.set_timer(Timer::Execute(c.pid), secs(30));
                    o.set_timer(Timer::IdleRelease(c.pid), secs(3600));
                    line(format!(
                        "Get recover notification: pid: {} (lease cached; src {} dst {} replace {})",
                        c.pid, c.src, c.dst, c.replace
                    ))
                })
                .collect()
        }
        Msg::GrantLease(pid) => {
            session.cache_lease(*pid);
            o.set_timer(Timer::IdleRelease(*pid), secs(3600));
            vec![line(format!("libmeta caches the lease of pid: {pid}"))]
        }
        Msg::ReplaceReplica(_)
        | Msg::ReleaseOwner(_)
        | Msg::UpdateTopo { .. }
        | Msg::AppIo(_)
        | Msg::ChunkLost(_) => unreachable!("a chunk does not receive {msg:?}"),
    }
}

pub(super) fn on_timeout(
    cfg: &ModelCfg,
    cid: Cid,
    session: &mut ChunkSession,
    timer: &Timer,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    let line = |text: String| LogLine::Chunk { cid, text };
    match timer {
        // The copy is done: the owner asks meta to REPLACE REPLICA.
        Timer::Execute(pid) => match session.finish(*pid) {
            Some(cmd) => {
                o.send(cfg.meta_id(), Msg::ReplaceReplica(cmd));
                vec![line(format!(
                    "[NORMAL RECOVER END] pid: {pid} src_cid: {} dst_cid: {} replace_cid: {} epoch: {}",
                    cmd.src, cmd.dst, cmd.replace, cmd.epoch
                ))]
            }
            None => Vec::new(),
        },
        // libmeta releases a lease unused for ~1 h and reports it.
        Timer::IdleRelease(pid) => {
            if session.idle_release(*pid) {
                o.send(cfg.meta_id(), Msg::ReleaseOwner(*pid));
                vec![line(format!("libmeta releases idle lease of pid: {pid}"))]
            } else {
                // In use by a running command: not idle yet. Renewing the timer (and nothing
                // else) makes this no step at all, and keeps the release possible later.
                if session.lease_cache.contains(pid) {
                    o.set_timer(Timer::IdleRelease(*pid), secs(3600));
                }
                Vec::new()
            }
        }
        Timer::Scan
        | Timer::MigrateScan
        | Timer::SwapMigrate
        | Timer::Heartbeat(_)
        | Timer::TopoUpdate(_)
        | Timer::AppIo(_)
        | Timer::ChunkFailure(_) => unreachable!("not a chunk timer: {timer:?}"),
    }
}
