//! A chunk server's side of its session: it receives commands and leases, runs commands,
//! and releases idle leases.

use super::meta::secs;
use super::model::ModelCfg;
use super::{LogLine, Msg, Timer, ZbsActor};
use crate::domain::Cid;
use crate::domain::events::ChunkLine;
use crate::domain::recover_cmd::RecoverCmd;
use crate::domain::session::{ChunkSession, Received};
use crate::domain::snapshot::SnapshotMsg;
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
            vec![LogLine::Remark(format!(
                "chunk-{cid} lost: session, lease cache and running commands gone"
            ))]
        }
        Msg::HeartbeatReply(cmds) => {
            let mut log = Vec::new();
            for got in session.on_heartbeat_reply(cmds, cfg.meta.variant.second_cmd_for_running_pid)
            {
                let second = |what: &str, first: &RecoverCmd, second: &RecoverCmd| {
                    LogLine::Remark(format!(
                        "chunk-{cid} already runs cmd #{} for pid {}: {what} cmd #{} \
                         (second_cmd_for_running_pid, specs A25)",
                        first.id, first.pid, second.id
                    ))
                };
                match got {
                    Received::Started(c) => {
                        o.set_timer(Timer::Execute(c.pid), secs(30));
                        log.push(LogLine::Chunk(ChunkLine::Notification(c)));
                    }
                    Received::BothRun { first, second: s } => {
                        log.push(LogLine::Chunk(ChunkLine::Notification(s)));
                        log.push(second("both run; it starts", &first, &s));
                    }
                    Received::SecondRefused { first, second: s } => {
                        log.push(LogLine::Chunk(ChunkLine::Notification(s)));
                        log.push(second("it refuses", &first, &s));
                    }
                    Received::FirstReplaced { first, second: s } => {
                        o.set_timer(Timer::Execute(s.pid), secs(30));
                        log.push(LogLine::Chunk(ChunkLine::Notification(s)));
                        log.push(second("the first vanishes, replaced by", &first, &s));
                    }
                }
                o.set_timer(Timer::IdleRelease(got.pid()), secs(3600));
            }
            log
        }
        Msg::GrantLease(pid) => {
            session.cache_lease(*pid);
            o.set_timer(Timer::IdleRelease(*pid), secs(3600));
            vec![LogLine::Remark(format!(
                "chunk-{cid}: libmeta caches the lease of pid: {pid}"
            ))]
        }
        // REVOKE LEASE by vtable, with the heartbeat (notes:126): libmeta clears the cached
        // leases; a recover running for one of them fails with ELeaseExpired (notes:543).
        Msg::Snapshot(SnapshotMsg::RevokeLease { pids }) => {
            let spare = cfg.meta.variant.snapshot_revoke_spares_recover;
            let killed = session.clear_cached_lease_by_vtable(pids, spare);
            let mut log = vec![LogLine::Remark(format!(
                "chunk-{cid}: libmeta clears the cached leases of vtable pids {pids:?} \
                 (Meta::ClearCachedLease by vtable)"
            ))];
            for &pid in pids {
                if session.running_for(pid).is_none() {
                    o.cancel_timer(Timer::Execute(pid));
                }
                if !session.lease_cache.contains(&pid) {
                    o.cancel_timer(Timer::IdleRelease(pid));
                }
            }
            for cmd in killed {
                log.push(LogLine::Remark(format!(
                    "chunk-{cid}: Failed to recover epextent pid: {} src: {} dst: {}: \
                     ELeaseExpired",
                    cmd.pid, cmd.src, cmd.dst
                )));
                o.send(
                    cfg.meta_id(),
                    Msg::Snapshot(SnapshotMsg::RecoverFailed { cmd }),
                );
            }
            log
        }
        Msg::Snapshot(SnapshotMsg::RecoverFailed { .. })
        | Msg::ReplaceReplica(_)
        | Msg::ReleaseOwner(_)
        | Msg::UpdateTopo { .. }
        | Msg::AppIo(_)
        | Msg::ChunkLost(_)
        | Msg::MigrateCreate { .. }
        | Msg::MigrateDone { .. } => unreachable!("a chunk does not receive {msg:?}"),
    }
}

pub(super) fn on_timeout(
    cfg: &ModelCfg,
    cid: Cid,
    session: &mut ChunkSession,
    timer: &Timer,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    match timer {
        // The copy is done: the owner asks meta to REPLACE REPLICA. With two commands for the
        // pid running (SecondCmd::BothRun), the older finishes first and the timer is set
        // again for the other.
        Timer::Execute(pid) => match session.finish(*pid) {
            Some(cmd) => {
                o.send(cfg.meta_id(), Msg::ReplaceReplica(cmd));
                if session.running_for(*pid).is_some() {
                    o.set_timer(Timer::Execute(*pid), secs(30));
                }
                vec![LogLine::Chunk(ChunkLine::RecoverEnd(cmd))]
            }
            None => Vec::new(),
        },
        // libmeta releases a lease unused for ~1 h and reports it.
        Timer::IdleRelease(pid) => {
            if session.idle_release(*pid) {
                o.send(cfg.meta_id(), Msg::ReleaseOwner(*pid));
                vec![LogLine::Remark(format!(
                    "chunk-{cid}: libmeta releases idle lease of pid: {pid}"
                ))]
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
        | Timer::ChunkFailure(_)
        | Timer::ManualMigrate(_)
        | Timer::AddMigrateStep(_)
        | Timer::Snapshot(_) => unreachable!("not a chunk timer: {timer:?}"),
    }
}
