//! The meta leader actor: scans on timers, heartbeat replies, and the RPCs chunks, the
//! operator and clients send it.

use super::model::ModelCfg;
use super::{LogLine, Msg, Timer, ZbsActor};
use crate::domain::events::MetaEvent;
use crate::domain::meta::Meta;
use crate::domain::{Cid, Pid};
use stateright::actor::{Id, Out};
use std::ops::Range;
use std::time::Duration;

/// Timer durations are ignored by the checker (any set timer may fire next); they document
/// the real cadence for the explorer.
pub(super) fn secs(s: u64) -> Range<Duration> {
    Duration::from_secs(s)..Duration::from_secs(s + 1)
}

/// The meta leader's state: the domain tables plus what is left of its scan budgets
/// (`None`: unbounded).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MetaNode {
    pub meta: Meta,
    pub scans_left: Option<u8>,
    pub migrate_scans_left: Option<u8>,
}

impl MetaNode {
    /// Offers each table to the checker's `pool`, which swaps it for an equal table another
    /// meta state holds (the copy-on-write tables of `domain/shared.rs`; values unchanged).
    pub fn share_tables(&mut self, pool: &mut crate::engine::parts::PartPool) {
        // Destructured, so that a new table is not forgotten here.
        let Meta {
            topology,
            pextents,
            chunks,
            recover,
            access,
        } = &mut self.meta;
        pool.share(topology.allocation_mut());
        pool.share(pextents.allocation_mut());
        pool.share(chunks.allocation_mut());
        pool.share(recover.allocation_mut());
        pool.share(access.allocation_mut());
    }
}

/// Uses one run of a budget; whether another run may follow.
fn spend(left: &mut Option<u8>) -> bool {
    match left {
        None => true,
        Some(n) => {
            *n -= 1;
            *n > 0
        }
    }
}

fn has_runs(left: Option<u8>) -> bool {
    left.is_none_or(|n| n > 0)
}

pub(super) fn on_start(cfg: &ModelCfg, o: &mut Out<ZbsActor>) -> MetaNode {
    let node = MetaNode {
        meta: cfg.initial_meta.clone(),
        scans_left: cfg.budgets.scans,
        migrate_scans_left: cfg.budgets.migrate_scans,
    };
    if has_runs(node.scans_left) {
        o.set_timer(Timer::Scan, secs(60));
    }
    if has_runs(node.migrate_scans_left) {
        o.set_timer(Timer::MigrateScan, secs(3600));
    }
    arm_heartbeats(&node.meta, o);
    arm_snapshot(&node.meta, o);
    node
}

/// The snapshot plan's timer while snapshots are left, and the VM's write while a vExtent is
/// COW-marked (incident C; only in models with a `[volume]`).
fn arm_snapshot(meta: &Meta, o: &mut Out<ZbsActor>) {
    use crate::domain::snapshot::SnapshotTimer;
    let vol = &meta.recover.volume;
    if !vol.exists() {
        return;
    }
    for (timer, on) in [
        (SnapshotTimer::Create, vol.snapshot_due()),
        (SnapshotTimer::Write, meta.volume_write_pending()),
    ] {
        if on {
            o.set_timer(Timer::Snapshot(timer), secs(60));
        } else {
            o.cancel_timer(Timer::Snapshot(timer));
        }
    }
}

/// A session with queued commands will get them in its next heartbeat reply; one whose
/// queue was emptied (revoked) has nothing to wait for, so its timer is cancelled and the
/// timer is set exactly while the queue is non-empty.
fn arm_heartbeats(meta: &Meta, o: &mut Out<ZbsActor>) {
    for (&cid, queue) in &meta.access.waiting_recover_cmds {
        if queue.is_empty() {
            o.cancel_timer(Timer::Heartbeat(cid));
        } else {
            o.set_timer(Timer::Heartbeat(cid), secs(5));
        }
    }
}

/// Lines for a batch of meta events.
fn lines(events: Vec<crate::domain::events::MetaEvent>) -> Vec<LogLine> {
    events.into_iter().map(LogLine::Meta).collect()
}

pub(super) fn on_timeout(
    cfg: &ModelCfg,
    node: &mut MetaNode,
    timer: &Timer,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    let meta_cfg = &cfg.meta;
    let log = match timer {
        // RecoverManager::DoScan()
        Timer::Scan => {
            if spend(&mut node.scans_left) {
                o.set_timer(Timer::Scan, secs(60));
            }
            lines(node.meta.do_scan(meta_cfg))
        }
        // RecoverManager::ReGenerateWaitingMigrateList() → MakeMigrateCmd()
        Timer::MigrateScan => {
            if spend(&mut node.migrate_scans_left) {
                o.set_timer(Timer::MigrateScan, secs(3600));
            }
            let events = node.meta.regenerate_waiting_migrate_list(meta_cfg);
            let queued = events
                .iter()
                .any(|e| matches!(e, MetaEvent::MigrateQueued(_)));
            let banner = (queued && node.meta.migrate_for_localization(meta_cfg))
                .then_some(MetaEvent::MigrateForLocalization);
            lines(banner.into_iter().chain(events).collect())
        }
        Timer::SwapMigrate => vec![LogLine::Meta(node.meta.recover.swap_waiting_migrate())],
        // The session's heartbeat arrives: its reply carries the queued commands.
        Timer::Heartbeat(cid) => {
            let cmds = node.meta.access.take_waiting_recover_cmds(*cid);
            if cmds.is_empty() {
                // The queue was emptied (revoked) since the timer was armed: an empty reply
                // changes nothing on the chunk, so there is nothing to send.
                rearm(node, o);
                return Vec::new();
            }
            let log = cmds
                .iter()
                .map(|c| LogLine::Meta(recover_sent(&node.meta, c)))
                .collect();
            // Commands are queued only on a live session (every expiry empties the queue).
            let session = node
                .meta
                .live_session(*cid)
                .expect("a session with queued commands is live");
            o.send(
                cfg.chunk_id(*cid),
                Msg::HeartbeatReply(cmds.into_iter().collect(), session),
            );
            log
        }
        // An RPC handler thread runs the next step of AddMigrateCmd() (unlocked draft).
        Timer::AddMigrateStep(slot) => {
            let request = node.meta.recover.manual.calls.get(slot).map(|c| c.request);
            let events = node.meta.add_migrate_cmd_step(meta_cfg, *slot);
            if !node.meta.recover.manual.calls.contains_key(slot) {
                o.cancel_timer(Timer::AddMigrateStep(*slot));
                if let Some(index) = request {
                    o.send(cfg.operator_id(), Msg::MigrateDone { index });
                }
            } else {
                o.set_timer(Timer::AddMigrateStep(*slot), secs(0));
            }
            events
                .into_iter()
                .map(|e| LogLine::Meta(MetaEvent::AddMigrateCmd(e)))
                .collect()
        }
        // EXTENT GC of a timed-out recover's temporary pextent (notes:298).
        Timer::ExtentGc(pid) => lines(node.meta.extent_gc(*pid)),
        // The snapshot plan (REVOKE LEASE, CREATE SNAPSHOT) and the VM's copy-on-write write.
        Timer::Snapshot(crate::domain::snapshot::SnapshotTimer::Create) => {
            let (events, sessions) = node.meta.create_snapshot();
            let pids = node.meta.recover.volume.vtable.clone();
            for cid in sessions {
                o.send(
                    cfg.chunk_id(cid),
                    Msg::Snapshot(crate::domain::snapshot::SnapshotMsg::RevokeLease {
                        pids: pids.clone(),
                    }),
                );
            }
            lines(events)
        }
        Timer::Snapshot(crate::domain::snapshot::SnapshotTimer::Write) => {
            lines(node.meta.cow_pextent())
        }
        Timer::Execute(_)
        | Timer::RecoverTick(_)
        | Timer::IdleRelease(_)
        | Timer::MissHeartbeat
        | Timer::RenewSession
        | Timer::CreateSession
        | Timer::TopoUpdate(_)
        | Timer::AppIo(_)
        | Timer::ChunkFailure(_)
        | Timer::ManualMigrate(_) => {
            unreachable!("not a meta timer: {timer:?}")
        }
    };
    rearm(node, o);
    log
}

/// Timers whose enabling depends on the tables: the migrate-list swap (only while passive
/// holds something, specs A4) and the heartbeats of sessions with queued commands.
fn rearm(node: &MetaNode, o: &mut Out<ZbsActor>) {
    if !node.meta.recover.passive_waiting_migrate.is_empty() {
        o.set_timer(Timer::SwapMigrate, secs(60));
    }
    arm_heartbeats(&node.meta, o);
    arm_snapshot(&node.meta, o);
}

pub(super) fn on_msg(
    cfg: &ModelCfg,
    node: &mut MetaNode,
    src: Id,
    msg: &Msg,
    o: &mut Out<ZbsActor>,
) -> Vec<LogLine> {
    let meta_cfg = &cfg.meta;
    let log = match msg {
        Msg::ReplaceReplica(cmd) => lines(node.meta.replace_replica(meta_cfg, cmd)),
        Msg::ReleaseOwner(pid, generation) => {
            let session = cfg.cid_of(src).expect("only chunks release leases");
            let event = node
                .meta
                .release_owner_of_session(*pid, session, *generation);
            node.meta.note_owner_released(&event);
            vec![LogLine::Meta(event)]
        }
        // The session master times out session `generation` of the sending chunk.
        Msg::SessionTimeout(generation) => {
            let cid = cfg.cid_of(src).expect("only chunks have sessions");
            lines(node.meta.expire_session(meta_cfg, cid, *generation))
        }
        // CreateSession: register the new session and confirm it to the chunk.
        Msg::CreateSession(generation) => {
            let cid = cfg.cid_of(src).expect("only chunks have sessions");
            o.send(src, Msg::SessionCreated(*generation));
            lines(node.meta.create_session(meta_cfg, cid, *generation))
        }
        Msg::UpdateTopo { cid, new_parent } => {
            lines(node.meta.update_topo_obj(meta_cfg, *cid, *new_parent))
        }
        Msg::AppIo(pid) => app_io(cfg, node, *pid, o),
        Msg::ChunkLost(cid) => lines(node.meta.chunk_lost(meta_cfg, *cid)),
        // zbs-meta migrate create …: RecoverManager::AddMigrateCmd().
        Msg::MigrateCreate { index, req } => {
            let events = node.meta.add_migrate_cmd(meta_cfg, *index, *req);
            match events.first() {
                Some(crate::domain::manual_migrate::RpcEvent::Received { slot, .. })
                    if node.meta.recover.manual.calls.contains_key(slot) =>
                {
                    o.set_timer(Timer::AddMigrateStep(*slot), secs(0));
                }
                _ => o.send(src, Msg::MigrateDone { index: *index }),
            }
            events
                .into_iter()
                .map(|e| LogLine::Meta(MetaEvent::AddMigrateCmd(e)))
                .collect()
        }
        // recover_timeout_ms passed for a recover (notes:298): meta ends it; its EXTENT GC
        // follows as a step of its own.
        Msg::RecoverTimedOut(cmd) => {
            o.set_timer(Timer::ExtentGc(cmd.pid), secs(60));
            lines(node.meta.recover_timed_out(meta_cfg, cmd))
        }
        // A recover ended with ELeaseExpired (its lease was revoked by a snapshot).
        Msg::Snapshot(crate::domain::snapshot::SnapshotMsg::RecoverFailed { cmd }) => {
            lines(node.meta.recover_failed(meta_cfg, cmd))
        }
        Msg::HeartbeatReply(..)
        | Msg::GrantLease(..)
        | Msg::Disconnect
        | Msg::MigrateDone { .. }
        | Msg::SessionCreated(_)
        | Msg::Snapshot(crate::domain::snapshot::SnapshotMsg::RevokeLease { .. }) => {
            unreachable!("meta does not receive {msg:?}")
        }
    };
    rearm(node, o);
    log
}

/// The `[RECOVER]` line's data: the command, the pextent as meta has it, the zones.
fn recover_sent(meta: &Meta, cmd: &crate::domain::recover_cmd::RecoverCmd) -> MetaEvent {
    let pext = meta.pextents[&cmd.pid].clone();
    let zone = |c: Cid| {
        crate::domain::placement::zone_of(&meta.topology, c)
            .map(|z| meta.topology.tree.node(z).name.clone())
            .unwrap_or_else(|| "default".to_string())
    };
    MetaEvent::RecoverSent {
        cmd: *cmd,
        owner_zone: zone(cmd.owner),
        zones: pext.location.iter().map(|&c| zone(c)).collect(),
        pext,
    }
}

fn app_io(cfg: &ModelCfg, node: &mut MetaNode, pid: Pid, o: &mut Out<ZbsActor>) -> Vec<LogLine> {
    let (event, grant_to): (_, Option<Cid>) = node.meta.lease_for_io(&cfg.meta, pid);
    if let Some(owner) = grant_to {
        // To the owner's live session; a chunk without one (lost) gets session 0's lease,
        // which it never takes.
        let session = node.meta.live_session(owner).unwrap_or(0);
        o.send(cfg.chunk_id(owner), Msg::GrantLease(pid, session));
    }
    vec![LogLine::Meta(event)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::ActorState;
    use crate::domain::shared::Shared;
    use crate::engine::parts::{PartPool, SharedParts};
    use stateright::Model;

    /// Two different meta states whose tables are equal but in allocations of their own end
    /// up holding the same tables once the engine offers their parts to one pool.
    #[test]
    fn a_new_meta_state_shares_tables_equal_to_held_ones() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/recover-and-migrate.toml"
        );
        let scenario = crate::scenario::Scenario::load(std::path::Path::new(path)).unwrap();
        let model = crate::actors::model::build(scenario.model_cfg(&scenario.variant));
        let init = model.init_states().remove(0);
        let ActorState::Meta(node) = &*init.actor_states[0] else {
            panic!("actor 0 is the meta");
        };
        let fresh = |m: &Meta| Meta {
            topology: Shared::new((*m.topology).clone()),
            pextents: Shared::new((*m.pextents).clone()),
            chunks: Shared::new((*m.chunks).clone()),
            recover: Shared::new((*m.recover).clone()),
            access: Shared::new((*m.access).clone()),
        };
        // Distinct actor states (one scan fewer left), equal tables.
        let variant = |scans: Option<u8>| {
            let mut node = node.clone();
            node.meta = fresh(&node.meta);
            node.scans_left = scans;
            ActorState::Meta(node)
        };
        let mut pool = PartPool::default();
        let (mut a, mut b) = (variant(Some(7)), variant(Some(8)));
        a.share_parts(&mut pool);
        b.share_parts(&mut pool);
        let (ActorState::Meta(a), ActorState::Meta(b)) = (&a, &b) else {
            unreachable!()
        };
        let same = |x: &Meta, y: &Meta| {
            [
                std::ptr::eq(&*x.topology, &*y.topology),
                std::ptr::eq(&*x.pextents, &*y.pextents),
                std::ptr::eq(&*x.chunks, &*y.chunks),
                std::ptr::eq(&*x.recover, &*y.recover),
                std::ptr::eq(&*x.access, &*y.access),
            ]
        };
        assert_eq!(
            same(&a.meta, &b.meta),
            [true; 5],
            "every table of the second is the first's"
        );
        assert_eq!(same(&a.meta, &fresh(&a.meta)), [false; 5]);
    }
}
