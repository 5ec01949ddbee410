//! A chunk server's side of its session: it receives commands and leases, runs commands,
//! and releases idle leases.

use super::meta::secs;
use super::model::ModelCfg;
use super::{LogLine, Msg, Timer, ZbsActor};
use crate::domain::Cid;
use crate::domain::access_session::{AccessSession, Missed, SessionState};
use crate::domain::events::ChunkLine;
use crate::domain::recover_cmd::RecoverCmd;
use crate::domain::session::{ChunkSession, Received};
use stateright::actor::Out;

pub(super) fn on_start(cfg: &ModelCfg, cid: Cid, o: &mut Out<ZbsActor>) -> ChunkSession {
    let mut session = ChunkSession::new(cid);
    for &pid in cfg.initial_cache.get(&cid).into_iter().flatten() {
        session.cache_lease(pid);
        o.set_timer(Timer::IdleRelease(pid), secs(3600));
    }
    if cfg.heartbeat_losses.contains(&cid) {
        session.access = AccessSession::established(cfg.budgets.missed_heartbeats);
    }
    arm_session(&session, o);
    session
}

/// The session timers: a heartbeat can be missed while the budget lasts and the session is
/// live; an overdue reply can still come in Jeopardy; an expired session asks for a new one.
fn arm_session(session: &ChunkSession, o: &mut Out<ZbsActor>) {
    let a = &session.access;
    let arm = |o: &mut Out<ZbsActor>, on: bool, t: Timer| {
        if on {
            o.set_timer(t, secs(5));
        } else {
            o.cancel_timer(t);
        }
    };
    if session.down {
        return;
    }
    if a.can_miss() {
        o.set_timer(Timer::MissHeartbeat, secs(5));
    } else if a.misses_left > 0 || a.state != SessionState::KeepAlive {
        o.cancel_timer(Timer::MissHeartbeat);
    }
    if a.misses_left > 0 || a.state != SessionState::KeepAlive {
        arm(o, a.state == SessionState::Jeopardy, Timer::RenewSession);
        arm(o, a.state == SessionState::Expired, Timer::CreateSession);
    }
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
        Msg::HeartbeatReply(cmds, generation) => {
            // A reply for an earlier session is never taken (notes:771): the delivery is no
            // step, and `SystemView` counts the message as dead (`AccessSession::is_past`).
            if !session.access.on_heartbeat_reply(*generation) {
                return Vec::new();
            }
            arm_session(session, o);
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
        Msg::GrantLease(pid, generation) => {
            if !session.access.serves(*generation) {
                return Vec::new();
            }
            session.cache_lease(*pid);
            o.set_timer(Timer::IdleRelease(*pid), secs(3600));
            vec![LogLine::Remark(format!(
                "chunk-{cid}: libmeta caches the lease of pid: {pid}"
            ))]
        }
        Msg::SessionCreated(generation) => {
            if !session.access.on_session_created(*generation) {
                return Vec::new();
            }
            arm_session(session, o);
            vec![LogLine::Remark(format!(
                "chunk-{cid}: session {generation} created: Init -> KeepAlive"
            ))]
        }
        Msg::ReplaceReplica(_)
        | Msg::ReleaseOwner(..)
        | Msg::UpdateTopo { .. }
        | Msg::AppIo(_)
        | Msg::ChunkLost(_)
        | Msg::MigrateCreate { .. }
        | Msg::MigrateDone { .. }
        | Msg::SessionTimeout(_)
        | Msg::CreateSession(_) => unreachable!("a chunk does not receive {msg:?}"),
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
                o.send(
                    cfg.meta_id(),
                    Msg::ReleaseOwner(*pid, session.access.generation),
                );
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
        Timer::MissHeartbeat => {
            let Some((missed, cleared)) = session.miss_heartbeat() else {
                return Vec::new();
            };
            let generation = session.access.generation;
            let mut log = vec![LogLine::Remark(format!(
                "chunk-{cid}: no heartbeat reply in time: session {generation} is {}",
                session.access.state.name()
            ))];
            if missed == Missed::Expired {
                for &pid in &cleared.pids {
                    o.cancel_timer(Timer::IdleRelease(pid));
                }
                for c in &cleared.failed {
                    o.cancel_timer(Timer::Execute(c.pid));
                }
                let failed: Vec<_> = cleared.failed.iter().map(|c| c.pid).collect();
                log.push(LogLine::Remark(format!(
                    "chunk-{cid}: Meta::ClearCachedLease by session {generation}: {}{}; meta's \
                     session master times the session out",
                    if cleared.pids.is_empty() {
                        "no lease cached".to_string()
                    } else {
                        format!("leases of pids {:?} cleared", cleared.pids)
                    },
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", running recover of pids {failed:?} fail (ELeaseExpired, specs A88)"
                        )
                    }
                )));
                o.send(cfg.meta_id(), Msg::SessionTimeout(generation));
            }
            arm_session(session, o);
            log
        }
        Timer::RenewSession => {
            if session.access.state != SessionState::Jeopardy {
                return Vec::new();
            }
            session.access.on_heartbeat_reply(session.access.generation);
            arm_session(session, o);
            vec![LogLine::Remark(format!(
                "chunk-{cid}: heartbeat reply arrives: session {} renewed (KeepAlive)",
                session.access.generation
            ))]
        }
        Timer::CreateSession => {
            let Some(generation) = session.access.create_session() else {
                return Vec::new();
            };
            o.send(cfg.meta_id(), Msg::CreateSession(generation));
            arm_session(session, o);
            vec![LogLine::Remark(format!(
                "chunk-{cid}: Access asks meta for a new session {generation} (Init)"
            ))]
        }
        Timer::Scan
        | Timer::MigrateScan
        | Timer::SwapMigrate
        | Timer::Heartbeat(_)
        | Timer::TopoUpdate(_)
        | Timer::AppIo(_)
        | Timer::ChunkFailure(_)
        | Timer::ManualMigrate(_)
        | Timer::AddMigrateStep(_) => unreachable!("not a chunk timer: {timer:?}"),
    }
}
