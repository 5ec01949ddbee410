//! The named properties: safety invariants the ZBS engineers care about (domain brief §6) and
//! the `sometimes` companions that prove each invariant is not vacuously true.
//!
//! Each is a plain function over a [`SystemView`], so it can be unit-tested on hand-built
//! states; [`PROPERTIES`] registers them with the actor model.

use crate::actors::Msg;
use crate::actors::model::{SystemView, ZbsModel, ZbsState};
use crate::domain::recover_cmd::{MigrateCandidate, RecoverCmd};
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
    pub check: fn(&ZbsModel, &ZbsState) -> bool,
}

macro_rules! property {
    ($name:ident, $expectation:ident, $companion:expr, $doc:expr) => {
        PropertyDef {
            name: stringify!($name),
            expectation: Expectation::$expectation,
            companion_of: $companion,
            doc: $doc,
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
        "at most one command (or waiting migrate) per pid across passive/active_waiting_migrate_, \
         pid_cmds_, every session's waiting_recover_cmds, heartbeat replies in flight and the \
         commands chunks are executing"
    ),
    property!(
        well_formed_cmd,
        Always,
        None,
        "every command in pid_cmds_ has src (and replace) holding the pid, dst not holding it, \
         and an owner whose chunk is usable"
    ),
    property!(
        location_never_empty,
        Always,
        None,
        "no pextent's replica set is ever empty"
    ),
    property!(
        slots_and_reservations_balance,
        Always,
        None,
        "each chunk's rx_pids / tx_pids / recover_src_pids and reserved space are exactly those \
         of the commands in pid_cmds_, and no chunk exceeds max_recover_cmds_per_chunk"
    ),
    property!(
        owner_awaits_delivery,
        Sometimes,
        Some("no_leaked_owner"),
        "an owner exists that its session does not cache yet, justified only by a queued command"
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
        Some("location_never_empty"),
        "a REPLACE REPLICA landed: some pextent's epoch advanced"
    ),
    property!(
        delivered_then_revoked,
        Sometimes,
        Some("no_leaked_owner"),
        "a chunk executes a command meta revoked after delivery (pid 3134's path)"
    ),
];

pub fn find(name: &str) -> Option<&'static PropertyDef> {
    PROPERTIES.iter().find(|p| p.name == name)
}

/// Is there, for `pid`, a command with owner `owner` still on its way to that session?
fn cmd_on_its_way(v: &SystemView, pid: Pid, owner: Cid) -> bool {
    let queued = v.meta.meta.access.waiting_recover_cmds.get(&owner).is_some_and(|q| {
        q.iter().any(|c| c.pid == pid && c.owner == owner)
    });
    queued
        || v.to_chunk(owner).any(|m| match m {
            Msg::HeartbeatReply(cmds) => cmds.iter().any(|c| c.pid == pid),
            Msg::GrantLease(p) => *p == pid,
            _ => false,
        })
}

/// The owner's session reported releasing the lease, and meta has not processed it yet.
fn release_on_its_way(v: &SystemView, pid: Pid, owner: Cid) -> bool {
    v.from_chunk(owner)
        .any(|m| matches!(m, Msg::ReleaseOwner(p) if *p == pid))
}

/// *No leaked owner after revoke*.
pub fn no_leaked_owner(v: &SystemView) -> bool {
    v.meta.meta.access.owners.iter().all(|(&pid, &owner)| {
        v.session(owner).is_some_and(|s| s.lease_cache.contains(&pid))
            || cmd_on_its_way(v, pid, owner)
            || release_on_its_way(v, pid, owner)
    })
}

/// Something that stands for a command of a pid.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum CmdToken {
    Waiting(MigrateCandidate),
    Cmd(u32),
}

/// *One command per pid*.
pub fn one_cmd_per_pid(v: &SystemView) -> bool {
    let rm = &v.meta.meta.recover;
    let mut tokens: BTreeMap<Pid, BTreeSet<CmdToken>> = BTreeMap::new();
    let mut add = |pid, t| {
        tokens.entry(pid).or_default().insert(t);
    };
    for c in rm.passive_waiting_migrate.iter().chain(rm.active_waiting_migrate.iter()) {
        add(c.pid, CmdToken::Waiting(*c));
    }
    let mut add_cmd = |c: &RecoverCmd| add(c.pid, CmdToken::Cmd(c.id));
    rm.pid_cmds.values().for_each(&mut add_cmd);
    v.meta.meta.access.waiting_recover_cmds.values().flatten().for_each(&mut add_cmd);
    v.sessions.iter().flat_map(|s| s.running.values()).for_each(&mut add_cmd);
    for f in &v.in_flight {
        match f.msg {
            Msg::HeartbeatReply(cmds) => cmds.iter().for_each(&mut add_cmd),
            Msg::ReplaceReplica(c) => add_cmd(c),
            _ => {}
        }
    }
    tokens.values().all(|t| t.len() <= 1)
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

/// *No replica set ever becomes empty*.
pub fn location_never_empty(v: &SystemView) -> bool {
    v.meta.meta.pextents.values().all(|p| !p.location.is_empty())
}

/// *Slot and space accounting*.
pub fn slots_and_reservations_balance(v: &SystemView) -> bool {
    let meta = &v.meta.meta;
    let cmds: Vec<&RecoverCmd> = meta.recover.pid_cmds.values().collect();
    let pids = |f: &dyn Fn(&RecoverCmd) -> bool| -> BTreeSet<Pid> {
        cmds.iter().filter(|c| f(c)).map(|c| c.pid).collect()
    };
    meta.chunks.chunks.iter().all(|(&cid, e)| {
        let rx = pids(&|c| c.dst == cid);
        let tx = pids(&|c| c.replace == cid);
        let src = pids(&|c| c.reserved_src == cid);
        let reserved: u32 = cmds
            .iter()
            .filter(|c| c.dst == cid)
            .map(|c| c.reserved_space)
            .sum();
        e.rx_pids.iter().copied().eq(rx)
            && e.tx_pids.iter().copied().eq(tx)
            && e.recover_src_pids.iter().copied().eq(src)
            && e.reserved == reserved
            && e.cmd_count() <= v.cfg.meta.max_recover_cmds_per_chunk
    })
}

/// Companion of [`no_leaked_owner`]: its "queued command" clause is what holds an owner.
pub fn owner_awaits_delivery(v: &SystemView) -> bool {
    v.meta.meta.access.owners.iter().any(|(&pid, &owner)| {
        !v.session(owner).is_some_and(|s| s.lease_cache.contains(&pid))
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
    v.sessions
        .iter()
        .flat_map(|s| s.running.values())
        .any(|c| tracked.get(&c.pid) == Some(c))
}

/// Companion of [`location_never_empty`]: a location actually changed.
pub fn replica_replaced(v: &SystemView) -> bool {
    let initial = &v.cfg.initial_meta.pextents;
    v.meta
        .meta
        .pextents
        .iter()
        .any(|(pid, p)| initial.get(pid).is_some_and(|i| i.epoch != p.epoch))
}

/// A chunk runs a command that is no longer in `pid_cmds_`: it was revoked after delivery.
pub fn delivered_then_revoked(v: &SystemView) -> bool {
    let tracked = &v.meta.meta.recover.pid_cmds;
    v.sessions
        .iter()
        .flat_map(|s| s.running.values())
        .any(|c| tracked.get(&c.pid) != Some(c))
}
