//! The named properties: safety invariants the ZBS engineers care about (domain brief §6) and
//! the `sometimes` companions that prove each invariant is not vacuously true.
//!
//! Each is a plain function over a [`SystemView`], so it can be unit-tested on hand-built
//! states; [`PROPERTIES`] registers them with the actor model.

use crate::actors::Msg;
use crate::actors::model::{SystemView, ZbsModel, ZbsState};
use crate::domain::placement;
use crate::domain::recover_cmd::RecoverCmd;
use crate::domain::{Cid, Pid};
use stateright::Expectation;
use std::collections::{BTreeMap, BTreeSet};

/// One named property.
pub struct PropertyDef {
    pub name: &'static str,
    pub expectation: Expectation,
    /// For a `sometimes` companion: the invariant whose escape clause it exercises.
    pub companion_of: Option<&'static str>,
    pub doc: &'static str,
    /// Only meaningful in a model that snapshots a `[volume]` (incident C): skipped elsewhere.
    pub needs_volume: bool,
    pub check: fn(&ZbsModel, &ZbsState) -> bool,
}

impl PropertyDef {
    /// Why this property is not checked on a model with these budgets, if it is not.
    pub fn skip_reason(&self, budgets: &crate::actors::model::Budgets) -> Option<&'static str> {
        (self.needs_volume && budgets.snapshots == Some(0))
            .then_some("needs a [volume] and budgets.snapshots > 0")
    }
}

macro_rules! property {
    ($name:ident, $expectation:ident, $companion:expr, $doc:expr) => {
        property!($name, $expectation, $companion, false, $doc)
    };
    ($name:ident, $expectation:ident, $companion:expr, $volume:expr, $doc:expr) => {
        PropertyDef {
            name: stringify!($name),
            expectation: Expectation::$expectation,
            companion_of: $companion,
            doc: $doc,
            needs_volume: $volume,
            check: |model, state| $name(&SystemView::of(&model.cfg, state)),
        }
    };
}

/// Every property, invariants first.
pub const PROPERTIES: &[PropertyDef] = &[
    property!(
        no_leaked_owner,
        Always,
        None,
        "every lease owner on meta is cached by its session, or a queued / in-flight command or \
         lease grant will hand it over, or the session's release of it is on its way to meta"
    ),
    property!(
        one_cmd_per_pid,
        Always,
        None,
        "at most one issued command per pid across pid_cmds_, every session's \
         waiting_recover_cmds, heartbeat replies in flight and the commands chunks are executing"
    ),
    property!(
        well_formed_cmd,
        Always,
        None,
        "every command in pid_cmds_ has src (and replace) holding the pid, dst not holding it, \
         and an owner whose chunk is usable"
    ),
    property!(
        reservations_balance,
        Always,
        None,
        "each chunk's rx_pids / tx_pids / recover_src_pids and reserved space are exactly those \
         of the commands in pid_cmds_"
    ),
    property!(
        slots_never_exceeded,
        Always,
        None,
        "no chunk takes part in more than max_recover_cmds_per_chunk commands, counting every \
         command that exists: tracked in pid_cmds_, queued, in a heartbeat reply or running"
    ),
    property!(
        space_never_overcommitted,
        Always,
        None,
        "on every chunk used + reserved space stays within its capacity"
    ),
    property!(
        safe_final_location,
        Always,
        None,
        "in every quiescent state (no topology update or chunk loss can come, no command queued \
         or running, no migrate waiting, a scan would generate nothing) every pid has \
         expected_replica_num replicas on a topology-safe location, localized at low load"
    ),
    property!(
        migrate_never_lowers_safety,
        Always,
        None,
        "no migrate AddRecoverCmdUnlock() accepts makes its pid's location less topology-safe in \
         the topology of that moment, except the brief's low-load localization step and moves \
         off a removing chunk"
    ),
    property!(
        owner_awaits_delivery,
        Sometimes,
        Some("no_leaked_owner"),
        "an owner exists that its session does not cache yet, justified only by a queued command"
    ),
    property!(
        revoke_reached,
        Sometimes,
        Some("no_leaked_owner"),
        "RevokeRecoverCmds() (or a session's loss) took back a command"
    ),
    property!(
        cmd_in_progress,
        Sometimes,
        Some("one_cmd_per_pid"),
        "some command is in pid_cmds_ (commands, slots and reservations are exercised)"
    ),
    property!(
        cmd_running_on_chunk,
        Sometimes,
        Some("well_formed_cmd"),
        "a chunk is executing a command meta still tracks"
    ),
    property!(
        replica_replaced,
        Sometimes,
        Some("space_never_overcommitted"),
        "a REPLACE REPLICA landed: some pextent's location changed"
    ),
    property!(
        quiescent_reached,
        Sometimes,
        Some("safe_final_location"),
        "a quiescent state is reached (so safe_final_location is checked somewhere)"
    ),
    property!(
        migrate_queued,
        Sometimes,
        Some("migrate_never_lowers_safety"),
        "MakeMigrateCmd() queued a migrate"
    ),
    property!(
        delivered_then_revoked,
        Sometimes,
        Some("no_leaked_owner"),
        "a chunk executes a command meta revoked after delivery"
    ),
    property!(
        leak_beside_completed_migrate,
        Sometimes,
        None,
        "incident A as logged: a pid's owner is stranded by a revoke, while another pid whose \
         command was issued after that revoke (never revoked itself) has landed its migrate off \
         the stranded owner's chunk"
    ),
    // ---- incident C (only in models with a [volume]) ----
    property!(
        cmd_dst_has_space,
        Always,
        None,
        true,
        "no command RecoverManager::AddRecoverCmdUnlock() accepts targets a chunk without space \
         for it: counting the space thin extents really use there (thin_used_data_space), dst \
         has room for what is reserved on it when the command is issued"
    ),
    property!(
        recovered_after_lease_expired,
        Sometimes,
        None,
        true,
        "incident C as logged: a pid made by COW PEXTENT whose recover a snapshot's REVOKE LEASE \
         killed (ELeaseExpired) has its expected replicas again, has been copied on by a later \
         snapshot, and its owner was released"
    ),
];

/// One named liveness property, checked under the model's weak fairness
/// (`FairModel for ZbsModel`): `p ⤳ q`, or `◇q` from the initial states when `p` is `None`.
pub struct LivenessDef {
    pub name: &'static str,
    pub doc: &'static str,
    /// Only meaningful when scans never run out: with a scan budget, running out of scans
    /// would itself "violate" it. Such a property is skipped for bounded models.
    pub needs_unbounded_scans: bool,
    /// Only meaningful in a model whose operator runs manual migrates (`[[manual_migrates]]`).
    pub needs_manual_migrates: bool,
    /// Only meaningful in a model whose recovers copy in ticks (`[recover_pace]`, incident B).
    pub needs_recover_pace: bool,
    /// Only meaningful in a model that snapshots a `[volume]` (incident C).
    pub needs_volume: bool,
    pub property: fn() -> crate::engine::Liveness<ZbsModel>,
}

impl LivenessDef {
    /// Why this property is not checked on the model `cfg`, if it is not.
    pub fn skip_reason(&self, cfg: &crate::actors::model::ModelCfg) -> Option<&'static str> {
        let budgets = &cfg.budgets;
        if self.needs_recover_pace && cfg.recover_pace.is_none() {
            return Some("needs [recover_pace]");
        }
        let bounded = budgets.scans.is_some() || budgets.migrate_scans.is_some();
        if self.needs_manual_migrates && budgets.manual_migrates == Some(0) {
            return Some("needs [[manual_migrates]] and budgets.manual_migrates > 0");
        }
        if self.needs_volume && budgets.snapshots == Some(0) {
            return Some("needs a [volume] and budgets.snapshots > 0");
        }
        (self.needs_unbounded_scans && bounded)
            .then_some("needs budgets.scans and budgets.migrate_scans = \"unbounded\"")
    }
}

macro_rules! leads_to {
    ($name:ident, $p:ident, $q:ident, $unbounded:expr, $doc:expr) => {
        leads_to!($name, $p, $q, $unbounded, false, false, false, $doc)
    };
    ($name:ident, $p:ident, $q:ident, $unbounded:expr, $manual:expr, $doc:expr) => {
        leads_to!($name, $p, $q, $unbounded, $manual, false, false, $doc)
    };
    ($name:ident, $p:ident, $q:ident, $unbounded:expr, $manual:expr, $paced:expr, $volume:expr, $doc:expr) => {
        LivenessDef {
            name: stringify!($name),
            doc: $doc,
            needs_unbounded_scans: $unbounded,
            needs_manual_migrates: $manual,
            needs_recover_pace: $paced,
            needs_volume: $volume,
            property: || {
                crate::engine::Liveness::leads_to(
                    stringify!($name),
                    |model, state| $p(&SystemView::of(&model.cfg, state)),
                    |model, state| $q(&SystemView::of(&model.cfg, state)),
                )
            },
        }
    };
}

/// Every liveness property.
pub const LIVENESS: &[LivenessDef] = &[
    leads_to!(
        owner_eventually_released,
        some_owner,
        no_owner,
        false,
        "once IO stops (its budget is finite), every lease owner on meta is eventually released: \
         whenever some pid has an owner, a state with no owner at all follows"
    ),
    leads_to!(
        recover_completes_or_reissued,
        recover_pending,
        no_recover_pending,
        true,
        "a pid below its expected replica count that could be recovered is eventually whole \
         again: its recover completes, or is revoked and reissued until one does (checked \
         only with unbounded scans)"
    ),
    leads_to!(
        converges_to_safe_location,
        topology_final,
        all_safe_and_idle,
        true,
        "once topology stops changing (the operator is done) every pid eventually sits on its \
         safe final location with nothing in progress — no migrate ping-pong (checked only with \
         unbounded scans)"
    ),
    leads_to!(
        manual_migrate_sticks,
        manual_migrate_landed,
        manual_migrates_settled,
        false,
        true,
        "no ping-pong between manual and scan migrates: once a manual migrate \
         (RecoverManager::AddMigrateCmd()) has landed, its pid eventually rests where the last \
         one put it, with no command, no waiting migrate and no migrate scan that would move it \
         back (checked only in models with manual migrates)"
    ),
    leads_to!(
        recover_eventually_finishes,
        recover_copy_running,
        no_recover_pending,
        true,
        false,
        true,
        false,
        "incident B (notes:293-311): a recover that can finish eventually finishes — once a \
         recover's copy runs on a chunk (Get recover notification), its pid is eventually \
         whole; no endless issue -> recover_timeout_ms -> EXTENT GC -> reissue loop (checked \
         only in models with [recover_pace] and unbounded scans)"
    ),
    leads_to!(
        replicas_eventually_expected,
        short_pid_with_space,
        no_short_pid_with_space,
        true,
        false,
        false,
        true,
        "a pid below expected_replica_num while some healthy chunk without a replica of it has \
         physical room for one eventually has its replicas (GenerateRecoverCmds(), \
         GetDstCandidates(); incident C, notes:501-504) — under a snapshot every minute too \
         (checked only with unbounded scans, in models with a [volume])"
    ),
];

/// Names of every property, safety and liveness, as model files and `--format json` use them.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    PROPERTIES
        .iter()
        .map(|p| p.name)
        .chain(LIVENESS.iter().map(|l| l.name))
}

pub fn find(name: &str) -> Option<&'static PropertyDef> {
    PROPERTIES.iter().find(|p| p.name == name)
}

/// Is there, for `pid`, a command with owner `owner` still on its way to that session?
fn cmd_on_its_way(v: &SystemView, pid: Pid, owner: Cid) -> bool {
    let queued = v
        .meta
        .meta
        .access
        .waiting_recover_cmds
        .get(&owner)
        .is_some_and(|q| q.iter().any(|c| c.pid == pid && c.owner == owner));
    queued
        || v.meta.meta.recover.manual.will_queue(pid, owner)
        || v.to_chunk(owner).any(|m| match m {
            Msg::HeartbeatReply(cmds, _) => cmds.iter().any(|c| c.pid == pid),
            Msg::GrantLease(p, _) => *p == pid,
            _ => false,
        })
}

/// The owner's session reported releasing the lease, or its loss or the timeout of its
/// session is on the way to meta (whose session expiry then clears the owner); meta has not
/// processed it yet.
fn release_on_its_way(v: &SystemView, pid: Pid, owner: Cid) -> bool {
    let live = v.meta.meta.live_session(owner);
    v.from_chunk(owner).any(|m| match m {
        Msg::ReleaseOwner(p, g) => *p == pid && live == Some(*g),
        Msg::SessionTimeout(g) => live == Some(*g),
        _ => false,
    }) || v
        .to_meta()
        .any(|m| matches!(m, Msg::ChunkLost(c) if *c == owner))
}

/// *No leaked owner after revoke*.
pub fn no_leaked_owner(v: &SystemView) -> bool {
    leaked_owners(v).next().is_none()
}

/// The `(pid, owner)` pairs [`no_leaked_owner`] finds leaked (`zbs-mc conform` names them).
pub fn leaked_owners<'a>(v: &'a SystemView) -> impl Iterator<Item = (Pid, Cid)> + 'a {
    v.meta
        .meta
        .access
        .owners
        .iter()
        .map(|(&pid, &owner)| (pid, owner))
        .filter(move |&(pid, owner)| {
            !(v.session(owner)
                .is_some_and(|s| s.lease_cache.contains(&pid))
                || cmd_on_its_way(v, pid, owner)
                || release_on_its_way(v, pid, owner))
        })
}

/// *One command per pid*: at most one issued command per pid — in `pid_cmds_`, a session's
/// `waiting_recover_cmds`, a heartbeat reply in flight or a chunk's running commands.
///
/// A waiting migrate beside an issued command is allowed: `AddRecoverCmdUnlock()` check 1
/// exists to refuse it when it is generated. A `REPLACE REPLICA` in flight is an RPC, no longer
/// a running command: a stale one is what the epoch check refuses (specs/assumptions.md).
pub fn one_cmd_per_pid(v: &SystemView) -> bool {
    let mut issued: BTreeMap<Pid, BTreeSet<u32>> = BTreeMap::new();
    for_each_cmd(v, |c| {
        issued.entry(c.pid).or_default().insert(c.id);
    });
    issued.values().all(|ids| ids.len() <= 1)
}

/// Every command that exists: tracked in `pid_cmds_`, queued on a session, in a heartbeat
/// reply that will be delivered, or running on a chunk (a command can be in several).
fn for_each_cmd(v: &SystemView, mut f: impl FnMut(&RecoverCmd)) {
    v.meta.meta.recover.pid_cmds.values().for_each(&mut f);
    v.meta
        .meta
        .access
        .waiting_recover_cmds
        .values()
        .flatten()
        .for_each(&mut f);
    v.sessions()
        .flat_map(|s| s.running.values())
        .for_each(&mut f);
    for m in v.live_in_flight() {
        if let Msg::HeartbeatReply(cmds, _) = m.msg {
            cmds.iter().for_each(&mut f);
        }
    }
}

/// *Commands are well formed*.
pub fn well_formed_cmd(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    meta.recover.pid_cmds.values().all(|c| {
        meta.pextents.get(&c.pid).is_some_and(|p| {
            p.holds(c.src) && (!c.is_migrate() || p.holds(c.replace)) && !p.holds(c.dst)
        }) && meta.chunks.get(c.owner).is_some_and(|e| e.is_usable())
    })
}

/// *Slot and space accounting*, meta's side: the reservations balance the commands meta
/// tracks (see [`crate::domain::meta::Meta::reservations_balance`]).
pub fn reservations_balance(v: &SystemView) -> bool {
    v.meta.meta.reservations_balance(usize::MAX)
}

/// *A chunk never exceeds its command slots*, counted over every command that exists, not
/// over meta's counters (which a revoke releases while a delivered command still runs;
/// specs A28). Mirrors `FLAGS_max_recover_cmds_per_chunk` as `AddRecoverCmdUnlock()` step 4
/// and the draft `AddMigrateCmd()` (notes:406–418) enforce it.
pub fn slots_never_exceeded(v: &SystemView) -> bool {
    let mut per_chunk: BTreeMap<Cid, BTreeSet<(Pid, u32)>> = BTreeMap::new();
    for_each_cmd(v, |c| {
        for cid in [c.src, c.dst, c.replace] {
            if cid != 0 {
                per_chunk.entry(cid).or_default().insert((c.pid, c.id));
            }
        }
    });
    let max = v.cfg.meta.max_recover_cmds_per_chunk;
    per_chunk.values().all(|cmds| cmds.len() <= max)
}

/// *Space never overcommitted* (brief §6): used + reserved ≤ capacity on every chunk — what
/// `AddRecoverCmdUnlock()` step 4's space check (notes:653) is for; a revoked command landing
/// without a reservation breaks it (specs A7).
pub fn space_never_overcommitted(v: &SystemView) -> bool {
    v.meta
        .meta
        .chunks
        .chunks
        .values()
        .all(|e| e.used + e.reserved <= e.capacity)
}

/// Companion of [`no_leaked_owner`]: its "queued command" clause is what holds an owner.
pub fn owner_awaits_delivery(v: &SystemView) -> bool {
    v.meta.meta.access.owners.iter().any(|(&pid, &owner)| {
        !v.session(owner)
            .is_some_and(|s| s.lease_cache.contains(&pid))
            && cmd_on_its_way(v, pid, owner)
    })
}

/// Companion of [`one_cmd_per_pid`] and the accounting invariant.
pub fn cmd_in_progress(v: &SystemView) -> bool {
    !v.meta.meta.recover.pid_cmds.is_empty()
}

/// Companion of [`well_formed_cmd`].
pub fn cmd_running_on_chunk(v: &SystemView) -> bool {
    let tracked = &v.meta.meta.recover.pid_cmds;
    v.sessions()
        .flat_map(|s| s.running.values())
        .any(|c| tracked.get(&c.pid) == Some(c))
}

/// Companion of [`space_never_overcommitted`]: a replace landed (a location gained a chunk
/// it did not have at the start).
pub fn replica_replaced(v: &SystemView) -> bool {
    let initial = &v.cfg.initial_meta.pextents;
    v.meta.meta.pextents.iter().any(|(pid, p)| {
        initial
            .get(pid)
            .is_some_and(|i| p.location.iter().any(|c| !i.holds(*c)))
    })
}

/// Companion of [`no_leaked_owner`]: a revoke happened, so its escape clauses are exercised
/// where they matter.
pub fn revoke_reached(v: &SystemView) -> bool {
    !v.meta.meta.recover.ghost.revoked_pids.is_empty()
}

/// An owner nothing will ever hand over or release: the leak [`no_leaked_owner`] forbids.
fn stranded(v: &SystemView, pid: Pid, owner: Cid) -> bool {
    !v.session(owner)
        .is_some_and(|s| s.lease_cache.contains(&pid))
        && !cmd_on_its_way(v, pid, owner)
        && !release_on_its_way(v, pid, owner)
}

/// Incident A as the log shows it (log-samples.md): pid 3133's owner 5, created by a command
/// `RevokeRecoverCmds(5)` took back, is stranded; pid 3134's command, issued after that revoke
/// and never revoked, has landed `REPLACE REPLICA` off chunk 5 (`[4,2,5]` → `[4,2,1]`).
/// Stated for any pids: `p` revoked and stranded on `o`, `q` issued after a revoke, never
/// revoked, and its location no longer holds `o` although it did at the start.
pub fn leak_beside_completed_migrate(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    let ghost = &meta.recover.ghost;
    let initial = &v.cfg.initial_meta.pextents;
    meta.access.owners.iter().any(|(&p, &o)| {
        ghost.revoked_pids.contains(&p)
            && stranded(v, p, o)
            && ghost.issued_after_revoke.iter().any(|&q| {
                q != p
                    && !ghost.revoked_pids.contains(&q)
                    && initial.get(&q).is_some_and(|i| i.holds(o))
                    && meta.pextents.get(&q).is_some_and(|now| !now.holds(o))
            })
    })
}

/// A chunk runs a command that is no longer in `pid_cmds_`: it was revoked after delivery.
pub fn delivered_then_revoked(v: &SystemView) -> bool {
    let tracked = &v.meta.meta.recover.pid_cmds;
    v.sessions()
        .flat_map(|s| s.running.values())
        .any(|c| tracked.get(&c.pid) != Some(c))
}

/// Nothing can change the placement any more and nothing is in progress: topology and load
/// are final (the operator is done), no app IO can come, no command is queued, handed over or
/// running, no migrate waits, nothing but lease releases is in flight, and a scan would
/// generate nothing — even once every cached lease has gone idle and been released (only a
/// stranded owner, cached by nobody, stays and keeps constraining the scan).
pub fn is_quiescent(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    let rm = &meta.recover;
    if !v.operator.is_done(v.cfg)
        || (v.client.io_left > 0 && !v.cfg.io_pids.is_empty())
        || !rm.pid_cmds.is_empty()
        || !rm.passive_waiting_migrate.is_empty()
        || !rm.active_waiting_migrate.is_empty()
        || meta
            .access
            .waiting_recover_cmds
            .values()
            .any(|q| !q.is_empty())
        || v.sessions().any(|s| !s.running.is_empty())
        || v.live_in_flight()
            .any(|f| !matches!(f.msg, Msg::ReleaseOwner(..)))
    {
        return false;
    }
    let view = meta.cluster_view(v.cfg.meta.max_recover_cmds_per_chunk);
    let lasting_owner = |pid: Pid| {
        meta.owner_of(pid).filter(|&o| {
            !v.session(o).is_some_and(|s| s.lease_cache.contains(&pid))
                && !release_on_its_way(v, pid, o)
        })
    };
    meta.pextents.values().all(|p| {
        let input = view.for_pid(p, lasting_owner(p.pid));
        placement::propose_migrate(&input).is_none()
            && (!input.needs_recover()
                || placement::recover_src_dst(p, &meta.topology, &meta.chunks).is_none())
    })
}

/// *Safe final location* (brief §6), checked in quiescent states.
pub fn safe_final_location(v: &SystemView) -> bool {
    if !is_quiescent(v) {
        return true;
    }
    let view = v
        .meta
        .meta
        .cluster_view(v.cfg.meta.max_recover_cmds_per_chunk);
    placement::is_quiescent_safe(&view)
}

/// Companion of [`safe_final_location`].
pub fn quiescent_reached(v: &SystemView) -> bool {
    is_quiescent(v)
}

/// *Migrate never lowers topology safety*: read from the ghost observation
/// `Ghost::safety_lowering_migrate`, set when `AddRecoverCmdUnlock()` accepted such a migrate —
/// a candidate queued by an earlier scan is issued without placement being asked again, so a
/// topology change in between can make it lower safety.
pub fn migrate_never_lowers_safety(v: &SystemView) -> bool {
    v.meta.meta.recover.ghost.safety_lowering_migrate.is_none()
}

/// Companion of [`migrate_never_lowers_safety`].
pub fn migrate_queued(v: &SystemView) -> bool {
    let rm = &v.meta.meta.recover;
    !rm.passive_waiting_migrate.is_empty() || !rm.active_waiting_migrate.is_empty()
}

/// Some manual migrate's `REPLACE REPLICA` has landed.
fn manual_migrate_landed(v: &SystemView) -> bool {
    !v.meta.meta.recover.manual.landed.is_empty()
}

/// See [`crate::domain::meta::Meta::manual_migrates_settled`].
fn manual_migrates_settled(v: &SystemView) -> bool {
    v.meta.meta.manual_migrates_settled(&v.cfg.meta)
}

fn some_owner(v: &SystemView) -> bool {
    !v.meta.meta.access.owners.is_empty()
}

fn no_owner(v: &SystemView) -> bool {
    v.meta.meta.access.owners.is_empty()
}

/// Some pid is below its expected replica count and could be recovered (the recover policy
/// finds a src and a dst for it): "when it could finish" (brief §6). Whether it has a command
/// does not matter: a command that never lands does not make it whole.
fn recover_pending(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    meta.pextents.values().any(|p| {
        p.location.len() < usize::from(p.expected_replica_num)
            && placement::recover_src_dst(p, &meta.topology, &meta.chunks).is_some()
    })
}

/// Incident B's trigger: the copy of a recover command (`replace: 0`) runs on a chunk for a pid
/// that could be recovered (`recover_handler.cc` after `Get recover notification`).
fn recover_copy_running(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    v.sessions().flat_map(|s| s.running.values()).any(|c| {
        !c.is_migrate()
            && meta.pextents.get(&c.pid).is_some_and(|p| {
                p.location.len() < usize::from(p.expected_replica_num)
                    && placement::recover_src_dst(p, &meta.topology, &meta.chunks).is_some()
            })
    })
}

fn no_recover_pending(v: &SystemView) -> bool {
    !recover_pending(v)
}

fn topology_final(v: &SystemView) -> bool {
    v.operator.is_done(v.cfg)
}

/// Every pid on its safe final location and nothing in progress that could move it.
fn all_safe_and_idle(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    let rm = &meta.recover;
    rm.pid_cmds.is_empty()
        && rm.passive_waiting_migrate.is_empty()
        && rm.active_waiting_migrate.is_empty()
        && v.sessions().all(|s| s.running.is_empty())
        && placement::is_quiescent_safe(&meta.cluster_view(v.cfg.meta.max_recover_cmds_per_chunk))
}

// ---- incident C: snapshots, copy-on-write and space (`domain/snapshot.rs`, `cow.rs`,
// `dst_candidates.rs`) ----

/// *No command targets a chunk without space* (incident C; notes:477 suspects the recover's
/// dst picks the full chunks 1 and 3): read from the ghost `VolumeGhost::cmd_without_space`,
/// which a scan sets when `RecoverManager::AddRecoverCmdUnlock()` accepted a command whose dst,
/// counting the space thin extents use there unaccounted (`thin_used_data_space`, notes:190;
/// specs A72), has no room for what is reserved on it. Meta's own check (step 4, notes:653)
/// reads its allocated figure only, which lags behind consecutive snapshots (notes:188).
pub fn cmd_dst_has_space(v: &SystemView) -> bool {
    v.meta.meta.recover.volume.ghost.cmd_without_space.is_none()
}

/// Incident C's pid 363459 as logged (notes:501–506, 512–516): made by `[COW PEXTENT]`, its
/// recover killed by the next snapshot's `REVOKE LEASE` (`ELeaseExpired`), copied on by that
/// snapshot (`[COW PEXTENT]` 363459 → 363568), recovered again (`[REPLACE REPLICA]` … `[1, 2]`)
/// and its owner released (`Release owner`). Stated for any pid.
pub fn recovered_after_lease_expired(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    let vol = &meta.recover.volume;
    vol.ghost.lease_expired.iter().any(|&pid| {
        meta.pextents.get(&pid).is_some_and(|p| {
            p.origin_pid.is_some()
                && p.location.len() >= usize::from(p.expected_replica_num)
                && meta.cow_children(pid).next().is_some()
                && meta.owner_of(pid).is_none()
                && vol.ghost.released.contains(&pid)
                && !meta.recover.pid_cmds.contains_key(&pid)
        }) && v.sessions().all(|s| !s.lease_cache.contains(&pid))
    })
}

/// Some pid is below `expected_replica_num` while a healthy chunk without a replica of it has
/// physical room for one (`Meta::physically_free`: capacity less allocated and unaccounted
/// thin space): "when space exists somewhere".
fn short_pid_with_space(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    meta.pextents.values().any(|p| {
        p.location.len() < usize::from(p.expected_replica_num)
            && meta.chunks.chunks.iter().any(|(&c, e)| {
                e.status == crate::domain::chunk_table::ChunkStatus::Healthy
                    && !p.holds(c)
                    && meta.physically_free(c) >= p.size
            })
    })
}

fn no_short_pid_with_space(v: &SystemView) -> bool {
    !short_pid_with_space(v)
}
