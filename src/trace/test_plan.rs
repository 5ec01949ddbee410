//! `--trace-format test-plan`: a counterexample as the ordered list of meta calls and
//! conditions a C++ functional test must arrange to force the same interleaving — what to
//! set up, which call to make at each step, what to expect after it, and which pending
//! event (a heartbeat, a command completion, an idle release, a message) must be held back
//! and for how long.

use super::json::{ActionRecord, MsgRecord, TimerRecord};
use super::text::changed;
use super::{Counterexample, Shown, ZbsAction, msg_text};
use crate::actors::model::{ModelCfg, SystemView, ZbsModel, ZbsState};
use crate::domain::pextent::pack_location;
use stateright::Model;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the test must do to take `r` (the step's own call).
fn call(cfg: &ModelCfg, r: &ActionRecord, actor: &str) -> String {
    match r {
        ActionRecord::Timer { timer, .. } => match timer {
            TimerRecord::Scan => {
                "call RecoverManager::DoScan() (the 60-s scan; e.g. set scan_recover_immediate)"
                    .into()
            }
            TimerRecord::MigrateScan => {
                "call RecoverManager::ReGenerateWaitingMigrateList() (the migrate scan)".into()
            }
            TimerRecord::SwapMigrate => {
                "let the 60-s swap of passive_waiting_migrate_ / active_waiting_migrate_ happen"
                    .into()
            }
            TimerRecord::Heartbeat { cid } => format!(
                "let session chunk-{cid} heartbeat: meta's reply carries its waiting_recover_cmds"
            ),
            TimerRecord::Execute { pid } => format!(
                "let the copy of pid {pid} finish on {actor}: it sends REPLACE REPLICA to meta"
            ),
            TimerRecord::IdleRelease { pid } => {
                format!("let {actor}'s libmeta release the idle lease of pid {pid} (unused ~1 h)")
            }
            TimerRecord::TopoUpdate { index } => {
                let (cid, parent) = cfg.topo_updates[usize::from(*index)];
                format!(
                    "send [UPDATE TOPO OBJ]: move chunk-{cid} to new_parent_id \"{}\"",
                    cfg.initial_meta.topology.tree.node(parent).name
                )
            }
            TimerRecord::AppIo { pid } => format!("issue app IO on pid {pid}"),
            TimerRecord::ChunkFailure { index } => format!(
                "take chunk-{} down (kill the chunk process / node)",
                cfg.chunk_failures[usize::from(*index)]
            ),
            TimerRecord::ManualMigrate { index } => {
                let r = cfg.manual_migrates[usize::from(*index)];
                format!(
                    "run zbs-meta migrate create pid {} src_chunk {} dst_chunk {} \
                     replaced_chunk {} (in its own thread)",
                    r.pid, r.src, r.dst, r.replace
                )
            }
            TimerRecord::AddMigrateStep { slot } => format!(
                "let the RPC thread #{slot} run the next step of RecoverManager::AddMigrateCmd() \
                 (e.g. release a sync point placed after it)"
            ),
            TimerRecord::MissHeartbeat => format!(
                "hold back the heartbeat reply of {actor}'s session past its due time (e.g. \
                 drop its heartbeats for one keepalive interval)"
            ),
            TimerRecord::RenewSession => {
                format!("let {actor}'s overdue heartbeat reply through: its session is renewed")
            }
            TimerRecord::CreateSession => {
                format!("let {actor}'s Access create a new session with meta (CreateSession)")
            }
            TimerRecord::RecoverTick { pid } => format!(
                "let one tick of pid {pid}'s copy pass on {actor} (keep its recover concurrency \
                 and cache as the step says)"
            ),
            TimerRecord::ExtentGc { pid } => format!(
                "let meta send EXTENT GC for the temporary pextent of pid {pid}'s timed-out \
                 recover"
            ),
            TimerRecord::Snapshot {
                timer: crate::domain::snapshot::SnapshotTimer::Create,
            } => "take a snapshot of the volume: REVOKE LEASE of its vtable, CREATE SNAPSHOT"
                .to_string(),
            TimerRecord::Snapshot {
                timer: crate::domain::snapshot::SnapshotTimer::Write,
            } => "write to the volume: GetVExtentLease on a COW-marked vExtent → COW PEXTENT"
                .to_string(),
        },
        ActionRecord::Deliver { src, dst, msg } => match msg {
            MsgRecord::UpdateTopo { cid, .. } => format!(
                "meta handles the request: ChunkManager::UpdateTopoObj() → \
                 RecoverManager::RevokeRecoverCmds({cid})"
            ),
            MsgRecord::ReplaceReplica { cmd } => format!(
                "meta handles REPLACE REPLICA pid {} src_chunk {} dst_chunk {} epoch {} from {src}",
                cmd.pid,
                if cmd.replace == 0 { 0 } else { cmd.replace },
                cmd.dst,
                cmd.epoch
            ),
            MsgRecord::ReleaseOwner { pid, .. } => {
                format!("meta handles `Release owner` of pid {pid} from {src} (AccessManager)")
            }
            MsgRecord::AppIo { pid } => {
                format!("meta serves the lease for IO on pid {pid} (AccessManager)")
            }
            MsgRecord::ChunkLost { cid } => format!(
                "meta's session timeout for chunk-{cid} fires: the session expires, \
                 RevokeRecoverCmds({cid}), DoRemoveReplica()"
            ),
            MsgRecord::HeartbeatReply { cmds, .. } => format!(
                "{dst} receives the heartbeat reply with {} command(s) (Get recover notification)",
                cmds.len()
            ),
            MsgRecord::GrantLease { pid, .. } => format!("{dst} receives the lease of pid {pid}"),
            MsgRecord::Disconnect => format!("{dst} goes down"),
            MsgRecord::MigrateCreate { req, .. } => format!(
                "meta's RPC server calls RecoverManager::AddMigrateCmd(pid {}, src {}, dst {}, \
                 replace {})",
                req.pid, req.src, req.dst, req.replace
            ),
            MsgRecord::MigrateDone { index } => {
                format!("the RPC of manual migrate #{index} returns to {dst}")
            }
            MsgRecord::SessionTimeout { session } => format!(
                "meta's session master times out session {session} of {src}: its leases and \
                 recover cmd queue die with it"
            ),
            MsgRecord::CreateSession { session } => {
                format!("meta registers session {session} of {src} (CreateSession)")
            }
            MsgRecord::SessionCreated { session } => {
                format!("{dst} learns its session {session} is registered (KeepAlive)")
            }
            MsgRecord::RecoverTimedOut { cmd } => format!(
                "meta's recover_timeout_ms for pid {} (cmd from {src}) fires: it ends the command",
                cmd.pid
            ),
            MsgRecord::Snapshot {
                msg: crate::domain::snapshot::SnapshotMsg::RevokeLease { pids },
            } => format!(
                "{dst} receives REVOKE LEASE of vtable pids {pids:?} with its heartbeat \
                 (libmeta Meta::ClearCachedLease)"
            ),
            MsgRecord::Snapshot {
                msg: crate::domain::snapshot::SnapshotMsg::RecoverFailed { cmd },
            } => format!(
                "meta learns from {src} that the recover of pid {} failed with ELeaseExpired",
                cmd.pid
            ),
        },
        ActionRecord::Other { debug } => debug.clone(),
    }
}

/// Pending events a test can (and must) hold back: everything except the triggers the test
/// itself drives (scans, topology updates, app IO, chunk failures).
fn holdable(r: &ActionRecord) -> bool {
    match r {
        ActionRecord::Timer { timer, .. } => matches!(
            timer,
            TimerRecord::SwapMigrate
                | TimerRecord::Heartbeat { .. }
                | TimerRecord::Execute { .. }
                | TimerRecord::IdleRelease { .. }
                | TimerRecord::RenewSession
                | TimerRecord::CreateSession
                | TimerRecord::RecoverTick { .. }
                | TimerRecord::ExtentGc { .. }
        ),
        ActionRecord::Deliver { msg, .. } => !matches!(msg, MsgRecord::AppIo { .. }),
        ActionRecord::Other { .. } => false,
    }
}

/// What a held-back event is, with what it would carry in `state`.
fn pending(model: &ZbsModel, state: &ZbsState, a: &ZbsAction) -> String {
    let cfg = &model.cfg;
    let v = SystemView::of(cfg, state);
    match ActionRecord::of(cfg, a) {
        ActionRecord::Timer {
            timer: TimerRecord::Heartbeat { cid },
            ..
        } => {
            let queued: Vec<String> = v
                .meta
                .meta
                .access
                .waiting_recover_cmds
                .get(&cid)
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "pid {} src {} dst {} replace {}",
                        c.pid, c.src, c.dst, c.replace
                    )
                })
                .collect();
            format!(
                "the heartbeat of session chunk-{cid} (its reply would hand over: {})",
                queued.join("; ")
            )
        }
        ActionRecord::Timer {
            timer: TimerRecord::Execute { pid },
            actor,
        } => format!("the end of pid {pid}'s copy on {actor} (its REPLACE REPLICA)"),
        ActionRecord::Timer {
            timer: TimerRecord::IdleRelease { pid },
            actor,
        } => format!("{actor}'s idle release of pid {pid}'s lease"),
        ActionRecord::Timer {
            timer: TimerRecord::SwapMigrate,
            ..
        } => "the 60-s swap of the migrate lists".into(),
        _ => match a {
            stateright::actor::ActorModelAction::Deliver { src, dst, msg } => format!(
                "the delivery of {} from {} to {}",
                msg_text(msg),
                cfg.actor_name(*src),
                cfg.actor_name(*dst)
            ),
            other => format!("{other:?}"),
        },
    }
}

/// `--trace-format test-plan`.
pub fn render(cx: &Counterexample) -> String {
    let model = cx.model;
    let cfg = &model.cfg;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "C++ functional-test plan: force `{}` to be {}\n  model {} ({}), variant {}\n",
        cx.property.name,
        goal(cx),
        cx.source.name,
        cx.source.file,
        cx.variant
    );

    // Arrange.
    let init = SystemView::of(cfg, &cx.trace.init);
    let meta = &init.meta.meta;
    let _ = writeln!(s, "ARRANGE (initial state)");
    let _ = writeln!(
        s,
        "  - switch off every background timer (60-s DoScan, migrate scan, list swap, libmeta idle release); \
         the steps below trigger each one explicitly"
    );
    for (cid, parent) in &meta.topology.chunk_parent {
        let _ = writeln!(
            s,
            "  - chunk-{cid} below topo object \"{}\"",
            meta.topology.tree.node(*parent).name
        );
    }
    for (pid, e) in &meta.pextents {
        let owner = match meta.owner_of(*pid) {
            Some(o) => format!("owner {o}"),
            None => "no lease owner".into(),
        };
        let _ = writeln!(
            s,
            "  - pid {pid}: location {} {:?}, expected_replica_num {}, epoch {}, prefer local {}, {owner}",
            pack_location(&e.location),
            e.location,
            e.expected_replica_num,
            e.epoch,
            e.preferred_cid.map_or("none".into(), |c| c.to_string()),
        );
    }
    for sess in init.sessions() {
        if !sess.lease_cache.is_empty() {
            let _ = writeln!(
                s,
                "  - chunk-{}'s libmeta caches the leases of pids {:?}",
                sess.cid,
                sess.lease_cache.iter().collect::<Vec<_>>()
            );
        }
    }

    // Hold-backs: per step, the enabled holdable events not taken.
    let mut states = vec![&cx.trace.init];
    states.extend(cx.trace.steps.iter().map(|(_, st)| st));
    let n = cx.trace.steps.len();
    // record → (first step it is held at, description)
    let mut open: BTreeMap<String, (usize, String, ActionRecord)> = BTreeMap::new();
    let mut starts: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut ends: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for k in 1..=n + 1 {
        let before = states[k - 1];
        let taken = cx
            .trace
            .steps
            .get(k - 1)
            .map(|(a, _)| ActionRecord::of(cfg, a));
        let enabled: Vec<(ActionRecord, ZbsAction)> = model
            .next_steps(before)
            .into_iter()
            .map(|(a, _)| (ActionRecord::of(cfg, &a), a))
            .filter(|(r, _)| holdable(r))
            .collect();
        let key = |r: &ActionRecord| serde_json::to_string(r).expect("plain values");
        // Close holds that are taken now or no longer pending.
        let closing: Vec<String> = open
            .iter()
            .filter(|(_, (_, _, r))| {
                Some(r) == taken.as_ref() || !enabled.iter().any(|(e, _)| e == r)
            })
            .map(|(k2, _)| k2.clone())
            .collect();
        for k2 in closing {
            let (from, what, r) = open.remove(&k2).expect("listed");
            let how = if Some(&r) == taken.as_ref() {
                format!("release it now: {what} (held since step {from})")
            } else {
                format!("no longer pending: {what} (held since step {from})")
            };
            ends.entry(k).or_default().push(how);
        }
        if k > n {
            break;
        }
        for (r, a) in &enabled {
            if Some(r) != taken.as_ref() && !open.contains_key(&key(r)) {
                let what = pending(model, before, a);
                starts.entry(k).or_default().push(what.clone());
                open.insert(key(r), (k, what, r.clone()));
            }
        }
    }

    let _ = writeln!(s, "\nSTEPS (exactly in this order)");
    let mut before = &cx.initial;
    for (step, (action, _)) in cx.steps.iter().zip(&cx.trace.steps) {
        let r = ActionRecord::of(cfg, action);
        for h in starts.get(&step.index).into_iter().flatten() {
            let _ = writeln!(s, "  HOLD BACK from here: {h}");
        }
        for e in ends.get(&step.index).into_iter().flatten() {
            let _ = writeln!(s, "  {e}");
        }
        let _ = writeln!(
            s,
            "  {:>2}. [{}] {}",
            step.index,
            step.actor,
            call(cfg, &r, &step.actor)
        );
        for line in &step.log {
            let _ = writeln!(s, "        expect log: {line}");
        }
        for c in changed(before, &step.state) {
            let _ = writeln!(s, "        expect {c}");
        }
        before = &step.state;
    }
    for e in ends.get(&(n + 1)).into_iter().flatten() {
        let _ = writeln!(s, "  {e}");
    }
    let still: Vec<&String> = open.values().map(|(_, w, _)| w).collect();
    if !still.is_empty() {
        let _ = writeln!(s, "  KEEP HELD until the assertion:");
        for w in still {
            let _ = writeln!(s, "    - {w}");
        }
    }

    if let Some(l) = cx.loop_start {
        if l < n {
            let _ = writeln!(
                s,
                "\nLOOP: after step {n} the state is again the state after step {l}: steps {}–{n} \
                 repeat forever, every fair event getting its turn (a test runs the loop a few \
                 times and checks that nothing changes)",
                l + 1
            );
        } else {
            let _ = writeln!(
                s,
                "\nDEAD END: after step {n} nothing more can happen (no timer, no message)"
            );
        }
    }
    let last = cx.steps.last().map_or(&cx.initial, |st| &st.state);
    let _ = writeln!(
        s,
        "\nASSERT `{}` is {}: {}\n  {}\n  owners {:?}\n  lease caches {:?}\n  waiting_recover_cmds {:?}\n  pid_cmds_ {:?}\n  in flight {:?}",
        cx.property.name,
        goal(cx),
        cx.property.doc,
        cx.end_line(),
        last.owners,
        last.lease_caches,
        last.waiting_recover_cmds,
        last.pid_cmds,
        last.in_flight
    );
    s
}

/// What the plan forces, as the trace shows it (computed).
fn goal(cx: &Counterexample) -> &'static str {
    match cx.shown {
        Shown::Violated { .. } | Shown::Lasso { .. } => "violated",
        Shown::Reached { .. } => "reached",
        Shown::HoldsThroughout => "held (this trace shows no violation)",
        Shown::NotReached => "not reached (this trace does not reach it)",
        Shown::NotShown { .. } => "violated, which this trace does not show",
    }
}
