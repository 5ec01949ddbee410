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
use crate::domain::snapshot::SnapshotMsg;
use stateright::actor::Out;

pub(super) fn on_start(cfg: &ModelCfg, cid: Cid, o: &mut Out<ZbsActor>) -> ChunkSession {
    let mut session = ChunkSession::new(cid);
    if let Some(pace) = &cfg.recover_pace {
        session.handler = crate::domain::recover_handler::RecoverHandler::paced(pace);
    }
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
            if let Some(pace) = &cfg.recover_pace
                && let Some((from, to)) = session
                    .handler
                    .on_heartbeat_reply(pace, cfg.meta.variant.recover_timeout_fix)
            {
                log.push(LogLine::Remark(format!(
                    "chunk-{cid}: recover concurrency {from} -> {to}: the operator's static \
                     setting arrives with the heartbeat reply (ZBS-13041 static mode, notes:248)"
                )));
            }
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
                        start_copy(cfg, session, &c, o);
                        log.push(LogLine::Chunk(ChunkLine::Notification(c)));
                    }
                    Received::BothRun { first, second: s } => {
                        // The pid's timer runs already (for the older command).
                        if cfg.recover_pace.is_some() {
                            session.handler.start((s.pid, s.id));
                        }
                        log.push(LogLine::Chunk(ChunkLine::Notification(s)));
                        log.push(second("both run; it starts", &first, &s));
                    }
                    Received::SecondRefused { first, second: s } => {
                        log.push(LogLine::Chunk(ChunkLine::Notification(s)));
                        log.push(second("it refuses", &first, &s));
                    }
                    Received::FirstReplaced { first, second: s } => {
                        session.handler.stop((first.pid, first.id));
                        start_copy(cfg, session, &s, o);
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
        | Msg::ReleaseOwner(..)
        | Msg::UpdateTopo { .. }
        | Msg::AppIo(_)
        | Msg::ChunkLost(_)
        | Msg::MigrateCreate { .. }
        | Msg::MigrateDone { .. }
        | Msg::SessionTimeout(_)
        | Msg::CreateSession(_)
        | Msg::RecoverTimedOut(_) => unreachable!("a chunk does not receive {msg:?}"),
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
                    o.cancel_timer(Timer::RecoverTick(c.pid));
                }
                // A paced copy dies with its lease, as on a chunk loss (incident B's handler).
                session.handler.clear();
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
        Timer::RecoverTick(pid) => recover_tick(cfg, cid, session, *pid, o),
        Timer::Scan
        | Timer::MigrateScan
        | Timer::SwapMigrate
        | Timer::Heartbeat(_)
        | Timer::TopoUpdate(_)
        | Timer::AppIo(_)
        | Timer::ChunkFailure(_)
        | Timer::ManualMigrate(_)
        | Timer::AddMigrateStep(_)
        | Timer::ExtentGc(_)
        | Timer::Snapshot(_) => unreachable!("not a chunk timer: {timer:?}"),
    }
}

/// Command `c` starts its copy: one `Execute` step, or, in a paced model, ticks of its
/// recover handler run (incident B).
fn start_copy(cfg: &ModelCfg, session: &mut ChunkSession, c: &RecoverCmd, o: &mut Out<ZbsActor>) {
    match &cfg.recover_pace {
        Some(pace) => {
            session.handler.start((c.pid, c.id));
            o.set_timer(Timer::RecoverTick(c.pid), tick_length(pace));
        }
        None => o.set_timer(Timer::Execute(c.pid), secs(30)),
    }
}

/// A tick's wall-clock length (documentation only: the checker ignores durations).
fn tick_length(
    pace: &crate::domain::recover_handler::RecoverPace,
) -> std::ops::Range<std::time::Duration> {
    secs(60 * u64::from(pace.minutes_per_tick.max(1)))
}

/// One tick of the oldest running copy of `pid` (`recover_handler.cc`; specs A60–A63): it
/// copies, finishes (`[NORMAL RECOVER END]`, then `REPLACE REPLICA`), has its deadline
/// extended, or gives up at `recover_timeout_ms` and reports it to meta (notes:297).
fn recover_tick(
    cfg: &ModelCfg,
    cid: Cid,
    session: &mut ChunkSession,
    pid: crate::domain::Pid,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    use crate::domain::recover_handler::{CacheState, Tick};
    let pace = cfg
        .recover_pace
        .expect("RecoverTick is set only in paced models");
    let Some(cmd) = session.running_for(pid).copied() else {
        return Vec::new();
    };
    let fix = cfg.meta.variant.recover_timeout_fix;
    let Some(tick) = session.handler.tick(&pace, fix, (cmd.pid, cmd.id)) else {
        return Vec::new();
    };
    let minutes = |ticks: u8| u16::from(ticks) * pace.minutes_per_tick;
    let block = |units: u8| u32::from(units) * pace.blocks_per_unit();
    let rearm = |session: &ChunkSession, o: &mut Out<ZbsActor>| {
        if session.running_for(pid).is_some() {
            o.set_timer(Timer::RecoverTick(pid), tick_length(&pace));
        }
    };
    let concurrency_change = |(from, to): (u8, u8), why: &str| {
        (from != to).then(|| {
            LogLine::Remark(format!(
                "chunk-{cid}: recover concurrency {from} -> {to} (adaptive mode: {why})"
            ))
        })
    };
    let mut log = Vec::new();
    match tick {
        Tick::Copied { run, rate, cache } => {
            o.set_timer(Timer::RecoverTick(pid), tick_length(&pace));
            log.push(LogLine::Remark(format!(
                "chunk-{cid} copies pid {pid} (cmd #{}): cur_block {} of 1024 after {} tick(s) \
                 ({} min; recover_timeout_ms at {} ticks = {} min); {} block(s) per tick at \
                 recover concurrency {}, cache {}",
                cmd.id,
                block(run.progress),
                run.elapsed,
                minutes(run.elapsed),
                pace.recover_timeout_ticks,
                minutes(pace.recover_timeout_ticks),
                block(rate),
                session.handler.concurrency,
                match cache {
                    CacheState::Warm => "warm",
                    CacheState::Thrashed => "thrashed",
                }
            )));
        }
        Tick::Extended { run, rate } => {
            o.set_timer(Timer::RecoverTick(pid), tick_length(&pace));
            log.push(LogLine::Remark(format!(
                "chunk-{cid} copies pid {pid} (cmd #{}): cur_block {} of 1024 at the deadline, \
                 {} block(s) per tick: the copy progressed, recover_timeout_ms is extended by \
                 {} min (extend_timeout)",
                cmd.id,
                block(run.progress),
                block(rate),
                minutes(pace.recover_timeout_ticks)
            )));
        }
        Tick::Done { concurrency, .. } => {
            let done = session.finish(pid).expect("the run's command is running");
            debug_assert_eq!(done, cmd);
            o.send(cfg.meta_id(), Msg::ReplaceReplica(done));
            rearm(session, o);
            log.push(LogLine::Chunk(ChunkLine::RecoverEnd(done)));
            log.extend(concurrency_change(
                concurrency,
                "raised on a finished recover",
            ));
        }
        Tick::TimedOut {
            run, concurrency, ..
        } => {
            session.running.remove(&(cmd.pid, cmd.id));
            o.send(cfg.meta_id(), Msg::RecoverTimedOut(cmd));
            rearm(session, o);
            log.push(LogLine::Remark(format!(
                "chunk-{cid}: recover of pid {pid} (cmd #{}) not finished after {} ticks ({} \
                 min), cur_block {} of 1024: it times out and reports it (notes:297)",
                cmd.id,
                pace.recover_timeout_ticks,
                minutes(pace.recover_timeout_ticks),
                block(run.progress)
            )));
            log.extend(concurrency_change(concurrency, "lowered on a timeout"));
        }
    }
    log
}
