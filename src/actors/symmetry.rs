//! Symmetry of the ZBS model: pids with identical configuration are interchangeable, and so
//! are chunks that sit in identical topology positions with identical data.
//!
//! The group is computed from the model file, not assumed: a *renaming* permutes pids within
//! loose classes (same replica count, epoch, size, provisioning, origin, temporary flag) and
//! chunks within loose classes (same parent in the topology, same chunk-table entry), and it is
//! kept only if it maps the whole initial configuration onto itself — the initial meta
//! (pextents with their locations, prefer local, owners, chunk table, topology), the cached
//! leases, the topology updates and chunk failures the operator will inject, and the pids the
//! client does IO on. So chunks 4 and 5 are swapped together with the pids whose locations
//! name them, or not at all. Renaming a chunk also renames its actor: its session, the
//! messages to and from it, and its timers move to the other chunk's actor slot.
//!
//! The representative of a state is the renaming, among the whole group, whose result hashes
//! lowest: all states of one orbit produce the same set of renamings, so they get the same
//! representative. Groups are small (a handful of pids and chunks), so trying every element is
//! cheap; models whose configuration has no symmetry pay nothing.
//!
//! The rules break some ties by id (scans walk pids in order, placement prefers the lowest
//! cid among equals), so symmetry of the configuration does not by itself prove symmetry of
//! the behaviour: `engine::symmetry::audit` checks the contract state by state, and the tests
//! run it on every shipped model that has a non-trivial group.

use super::model::{ModelCfg, ZbsModel, ZbsState};
use super::{ActorState, Msg, Timer};
use crate::domain::access_manager::AccessManager;
use crate::domain::chunk_table::{ChunkEntry, ChunkTable};
use crate::domain::meta::Meta;
use crate::domain::pextent::PExtent;
use crate::domain::recover_cmd::{MigrateCandidate, RecoverCmd};
use crate::domain::recover_manager::{Ghost, RecoverManager};
use crate::domain::session::ChunkSession;
use crate::domain::topology::Topology;
use crate::domain::{Cid, Pid};
use crate::engine::SymmetricModel;
use crate::engine::symmetry::SymmetryGroup;
use stateright::actor::{Envelope, Id, Network, Timers};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// One element of the symmetry group: a permutation of pids and one of chunks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Renaming {
    /// Pids that move (absent: fixed).
    pub pids: BTreeMap<Pid, Pid>,
    /// Chunks that move (absent: fixed).
    pub cids: BTreeMap<Cid, Cid>,
}

/// The symmetry group of one model configuration.
#[derive(Clone, Debug, Default)]
pub struct Symmetry {
    /// Every element but the identity.
    pub renamings: Vec<Renaming>,
    /// Each renaming's actor slot permutation, computed once (`images` runs per state).
    slots: Vec<Vec<usize>>,
    /// Orbits of the group on pids (those with two or more members), for reports.
    pub pid_classes: Vec<Vec<Pid>>,
    /// Orbits of the group on chunks (those with two or more members), for reports.
    pub chunk_classes: Vec<Vec<Cid>>,
    /// Why the group was not computed: too many candidate renamings to try (the model is then
    /// treated as asymmetric).
    pub too_large: Option<String>,
}

/// More candidate renamings than this and the configuration is treated as asymmetric (the
/// shipped models have at most a few dozen; trying each costs a state clone per state).
const MAX_CANDIDATES: usize = 5_040;

impl Symmetry {
    /// The renamings that map `cfg` onto itself.
    pub fn of(cfg: &ModelCfg) -> Symmetry {
        if !cfg.manual_migrates.is_empty()
            || cfg.recover_pace.is_some()
            || cfg.initial_meta.recover.volume.exists()
        {
            // A manual migrate names its pid and chunks, and its calls carry commands; a paced
            // chunk's recover handler keys its runs by pid; a volume names its pids: such
            // models are explored without reduction.
            return Symmetry::default();
        }
        let meta = &cfg.initial_meta;
        let pid_key = |pid: &Pid| {
            let p = &meta.pextents[pid];
            let key = (
                p.expected_replica_num,
                p.epoch,
                p.thin_provision,
                p.size,
                p.origin_pid,
                p.temporary_replica,
            );
            (key, p.location.len(), p.alive_location.len())
        };
        let chunk_key = |cid: &Cid| {
            let e = meta
                .chunks
                .get(*cid)
                .map(|e| (e.status, e.capacity, e.used, e.reserved));
            (meta.topology.parent_of(*cid), e)
        };
        let pid_loose = loose_classes(meta.pextents.keys().copied(), pid_key);
        let cid_loose = loose_classes(cfg.chunk_cids.iter().copied(), chunk_key);
        let sizes: Vec<usize> = pid_loose
            .iter()
            .map(Vec::len)
            .chain(cid_loose.iter().map(Vec::len))
            .collect();
        if candidates(&sizes).is_none_or(|n| n > MAX_CANDIDATES) {
            let product: Vec<String> = sizes.iter().map(|n| format!("{n}!")).collect();
            return Symmetry {
                too_large: Some(format!(
                    "{} candidate renamings, more than {MAX_CANDIDATES}",
                    product.join(" × ")
                )),
                ..Symmetry::default()
            };
        }
        let renamings: Vec<Renaming> = renamings(&pid_loose)
            .into_iter()
            .flat_map(|pids| {
                renamings(&cid_loose).into_iter().map(move |cids| Renaming {
                    pids: pids.clone(),
                    cids,
                })
            })
            .map(|mut r| {
                r.pids.retain(|a, b| a != b);
                r.cids.retain(|a, b| a != b);
                r
            })
            .filter(|r| {
                let actors = slot_permutation(cfg, r);
                *r != Renaming::default() && Rename { r, actors: &actors }.fixes(cfg)
            })
            .collect();
        let slots = renamings.iter().map(|r| slot_permutation(cfg, r)).collect();
        let pid_classes = orbits(meta.pextents.keys().copied(), &renamings, Renaming::pid);
        let chunk_classes = orbits(cfg.chunk_cids.iter().copied(), &renamings, Renaming::cid);
        Symmetry {
            renamings,
            slots,
            pid_classes,
            chunk_classes,
            too_large: None,
        }
    }
}

/// The number of renamings of classes of these sizes, `∏ size!`; `None` when it does not fit
/// in a `usize` (66! is a multiple of 2^64: an unchecked product wraps to 0).
fn candidates(sizes: &[usize]) -> Option<usize> {
    sizes
        .iter()
        .flat_map(|&n| 1..=n)
        .try_fold(1usize, |a, b| a.checked_mul(b))
}

/// Groups `items` by `key`, keeping groups of two or more.
fn loose_classes<T: Copy + Ord, K: Ord>(
    items: impl Iterator<Item = T>,
    key: impl Fn(&T) -> K,
) -> Vec<Vec<T>> {
    let mut by_key: BTreeMap<K, Vec<T>> = BTreeMap::new();
    for t in items {
        by_key.entry(key(&t)).or_default().push(t);
    }
    by_key.into_values().filter(|c| c.len() > 1).collect()
}

/// The orbits of the group on `items` with two or more members. The renamings form a group
/// (with the identity left out), so an item's orbit is the item and its images.
fn orbits<T: Copy + Ord>(
    items: impl Iterator<Item = T>,
    group: &[Renaming],
    image: fn(&Renaming, T) -> T,
) -> Vec<Vec<T>> {
    let orbits: BTreeSet<Vec<T>> = items
        .map(|x| {
            let orbit: BTreeSet<T> = group.iter().map(|r| image(r, x)).chain([x]).collect();
            orbit.into_iter().collect()
        })
        .filter(|o: &Vec<T>| o.len() > 1)
        .collect();
    orbits.into_iter().collect()
}

/// Every renaming: one permutation per class, combined.
fn renamings<T: Copy + Ord>(classes: &[Vec<T>]) -> Vec<BTreeMap<T, T>> {
    let mut all = vec![BTreeMap::new()];
    for class in classes {
        let mut next = Vec::new();
        for perm in permutations(class) {
            for base in &all {
                let mut m = base.clone();
                m.extend(class.iter().copied().zip(perm.iter().copied()));
                next.push(m);
            }
        }
        all = next;
    }
    all
}

fn permutations<T: Copy>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            out.push(tail);
        }
    }
    out
}

/// Actor slot permutation of `r`: the state at slot `i` moves to slot `[i]` (a chunk's actor
/// moves with its cid).
fn slot_permutation(cfg: &ModelCfg, r: &Renaming) -> Vec<usize> {
    let n = cfg.chunk_cids.len() + 3;
    (0..n)
        .map(|i| match cfg.cid_of(Id::from(i)) {
            Some(c) => usize::from(cfg.chunk_id(r.cid(c))),
            None => i,
        })
        .collect()
}

/// A [`Renaming`] applied to every part of a state (and of a configuration).
struct Rename<'a> {
    r: &'a Renaming,
    /// [`slot_permutation`] of `r`.
    actors: &'a [usize],
}

impl Rename<'_> {
    fn pid(&self, p: Pid) -> Pid {
        self.r.pid(p)
    }

    fn cid(&self, c: Cid) -> Cid {
        self.r.cid(c)
    }

    fn id(&self, id: Id) -> Id {
        Id::from(self.actors[usize::from(id)])
    }

    /// Moves each actor's entry to its renamed slot.
    fn slots<T: Clone>(&self, v: &[T], f: impl Fn(&T) -> T) -> Vec<T> {
        let mut out = v.to_vec();
        for (i, x) in v.iter().enumerate() {
            out[self.actors[i]] = f(x);
        }
        out
    }

    // Every struct below is taken apart field by field, with no `..rest`: a field added to a
    // domain type is a compile error here until it is renamed (or said to need none), instead
    // of a silently unrenamed id that only the audit would notice.

    fn cmd(&self, c: &RecoverCmd) -> RecoverCmd {
        let &RecoverCmd {
            id,
            pid,
            src,
            dst,
            replace,
            owner,
            epoch,
            owner_allocated,
            reserved_src,
            reserved_space,
        } = c;
        RecoverCmd {
            id,
            pid: self.pid(pid),
            src: self.cid(src),
            dst: self.cid(dst),
            replace: self.cid(replace),
            owner: self.cid(owner),
            epoch,
            owner_allocated,
            reserved_src: self.cid(reserved_src),
            reserved_space,
        }
    }

    fn candidate(&self, c: &MigrateCandidate) -> MigrateCandidate {
        let &MigrateCandidate {
            pid,
            src,
            dst,
            replace,
        } = c;
        MigrateCandidate {
            pid: self.pid(pid),
            src: self.cid(src),
            dst: self.cid(dst),
            replace: self.cid(replace),
        }
    }

    fn cids(&self, v: &[Cid]) -> Vec<Cid> {
        v.iter().map(|&c| self.cid(c)).collect()
    }

    fn pid_set(&self, s: &BTreeSet<Pid>) -> BTreeSet<Pid> {
        s.iter().map(|&p| self.pid(p)).collect()
    }

    /// A map keyed by pid, values renamed by `f`.
    fn by_pid<V, W>(&self, m: &BTreeMap<Pid, V>, f: impl Fn(&V) -> W) -> BTreeMap<Pid, W> {
        m.iter().map(|(&p, v)| (self.pid(p), f(v))).collect()
    }

    /// A map keyed by cid, values renamed by `f`.
    fn by_cid<V, W>(&self, m: &BTreeMap<Cid, V>, f: impl Fn(&V) -> W) -> BTreeMap<Cid, W> {
        m.iter().map(|(&c, v)| (self.cid(c), f(v))).collect()
    }

    fn pextent(&self, p: &PExtent) -> PExtent {
        let PExtent {
            pid,
            location,
            alive_location,
            expected_replica_num,
            epoch,
            preferred_cid,
            thin_provision,
            size,
            origin_pid,
            temporary_replica,
        } = p;
        PExtent {
            pid: self.pid(*pid),
            location: self.cids(location),
            alive_location: self.cids(alive_location),
            expected_replica_num: *expected_replica_num,
            epoch: *epoch,
            preferred_cid: preferred_cid.map(|c| self.cid(c)),
            thin_provision: *thin_provision,
            size: *size,
            origin_pid: origin_pid.map(|o| self.pid(o)),
            temporary_replica: *temporary_replica,
        }
    }

    fn chunk_entry(&self, e: &ChunkEntry) -> ChunkEntry {
        let ChunkEntry {
            status,
            capacity,
            used,
            reserved,
            rx_pids,
            tx_pids,
            recover_src_pids,
        } = e;
        ChunkEntry {
            status: *status,
            capacity: *capacity,
            used: *used,
            reserved: *reserved,
            rx_pids: self.pid_set(rx_pids),
            tx_pids: self.pid_set(tx_pids),
            recover_src_pids: self.pid_set(recover_src_pids),
        }
    }

    fn recover_manager(&self, rm: &RecoverManager) -> RecoverManager {
        let RecoverManager {
            passive_waiting_migrate,
            active_waiting_migrate,
            active_waiting_recover,
            passive_waiting_recover,
            pid_cmds,
            cmds_issued,
            next_repair_scan_pid,
            ghost,
            manual,
            timeouts,
            volume,
        } = rm;
        let Ghost {
            revoked_pids,
            issued_after_revoke,
            safety_lowering_migrate,
        } = ghost;
        let cands = |v: &[MigrateCandidate]| v.iter().map(|c| self.candidate(c)).collect();
        RecoverManager {
            passive_waiting_migrate: cands(passive_waiting_migrate),
            active_waiting_migrate: cands(active_waiting_migrate),
            active_waiting_recover: self.pid_set(active_waiting_recover),
            passive_waiting_recover: self.pid_set(passive_waiting_recover),
            pid_cmds: self.by_pid(pid_cmds, |c| self.cmd(c)),
            cmds_issued: self.by_pid(cmds_issued, |&n| n),
            // The cursor is a pid (0: none); the walk's pid order is what the audit checks.
            next_repair_scan_pid: match *next_repair_scan_pid {
                0 => 0,
                p => self.pid(p),
            },
            // Models with manual migrates have no symmetry (`Symmetry::of`): nothing to rename.
            manual: manual.clone(),
            // Paced models (incident B) have no symmetry either.
            timeouts: timeouts.clone(),
            // Models with a volume have no symmetry either.
            volume: volume.clone(),
            ghost: Ghost {
                revoked_pids: self.pid_set(revoked_pids),
                issued_after_revoke: self.pid_set(issued_after_revoke),
                safety_lowering_migrate: safety_lowering_migrate
                    .as_ref()
                    .map(|c| self.candidate(c)),
            },
        }
    }

    fn access_manager(&self, a: &AccessManager) -> AccessManager {
        let AccessManager {
            owners,
            waiting_recover_cmds,
            sessions,
        } = a;
        AccessManager {
            owners: self.by_pid(owners, |&o| self.cid(o)),
            waiting_recover_cmds: self.by_cid(waiting_recover_cmds, |q| {
                q.iter().map(|c| self.cmd(c)).collect()
            }),
            sessions: self.by_cid(sessions, |&g| g),
        }
    }

    fn meta(&self, m: &Meta) -> Meta {
        let Meta {
            topology,
            pextents,
            chunks,
            recover,
            access,
        } = m;
        let Topology { tree, chunk_parent } = &**topology;
        let ChunkTable { chunks } = &**chunks;
        Meta {
            topology: Topology {
                tree: tree.clone(),
                chunk_parent: self.by_cid(chunk_parent, |&n| n),
            }
            .into(),
            pextents: self.by_pid(pextents, |p| self.pextent(p)).into(),
            chunks: ChunkTable {
                chunks: self.by_cid(chunks, |e| self.chunk_entry(e)),
            }
            .into(),
            recover: self.recover_manager(recover).into(),
            access: self.access_manager(access).into(),
        }
    }

    fn session(&self, s: &ChunkSession) -> ChunkSession {
        let ChunkSession {
            cid,
            lease_cache,
            running,
            down,
            access,
            handler,
        } = s;
        ChunkSession {
            cid: self.cid(*cid),
            lease_cache: self.pid_set(lease_cache),
            running: running
                .values()
                .map(|c| {
                    let c = self.cmd(c);
                    ((c.pid, c.id), c)
                })
                .collect(),
            down: *down,
            access: *access,
            // Paced models (incident B) have no symmetry (`Symmetry::of`).
            handler: handler.clone(),
        }
    }

    fn msg(&self, m: &Msg) -> Msg {
        match m {
            Msg::HeartbeatReply(cmds, g) => {
                Msg::HeartbeatReply(cmds.iter().map(|c| self.cmd(c)).collect(), *g)
            }
            Msg::ReplaceReplica(c) => Msg::ReplaceReplica(self.cmd(c)),
            Msg::ReleaseOwner(p, g) => Msg::ReleaseOwner(self.pid(*p), *g),
            Msg::AppIo(p) => Msg::AppIo(self.pid(*p)),
            Msg::GrantLease(p, g) => Msg::GrantLease(self.pid(*p), *g),
            Msg::SessionTimeout(_) | Msg::CreateSession(_) | Msg::SessionCreated(_) => m.clone(),
            Msg::UpdateTopo { cid, new_parent } => Msg::UpdateTopo {
                cid: self.cid(*cid),
                new_parent: *new_parent,
            },
            Msg::ChunkLost(c) => Msg::ChunkLost(self.cid(*c)),
            Msg::Disconnect => Msg::Disconnect,
            // Only in models with manual migrates, which have no symmetry.
            Msg::MigrateCreate { .. } | Msg::MigrateDone { .. } => m.clone(),
            Msg::RecoverTimedOut(c) => Msg::RecoverTimedOut(self.cmd(c)),
            // Only in models with a volume, which have no symmetry.
            Msg::Snapshot(_) => m.clone(),
        }
    }

    /// Topology updates and chunk failures are named by their index in the model file, which
    /// the group fixes (see [`Rename::fixes`]), so they stay as they are.
    fn timer(&self, t: &Timer) -> Timer {
        match t {
            Timer::Execute(p) => Timer::Execute(self.pid(*p)),
            Timer::IdleRelease(p) => Timer::IdleRelease(self.pid(*p)),
            Timer::AppIo(p) => Timer::AppIo(self.pid(*p)),
            Timer::Heartbeat(c) => Timer::Heartbeat(self.cid(*c)),
            Timer::RecoverTick(p) => Timer::RecoverTick(self.pid(*p)),
            Timer::ExtentGc(p) => Timer::ExtentGc(self.pid(*p)),
            Timer::Scan
            | Timer::MigrateScan
            | Timer::SwapMigrate
            | Timer::TopoUpdate(_)
            | Timer::ChunkFailure(_)
            | Timer::ManualMigrate(_)
            | Timer::AddMigrateStep(_)
            | Timer::MissHeartbeat
            | Timer::RenewSession
            | Timer::CreateSession
            | Timer::Snapshot(_) => t.clone(),
        }
    }

    fn state(&self, s: &ZbsState) -> ZbsState {
        let empty_timers = Timers::new();
        ZbsState {
            actor_states: self.slots(&s.actor_states, |a| {
                Arc::new(match &**a {
                    ActorState::Meta(super::meta::MetaNode {
                        meta,
                        scans_left,
                        migrate_scans_left,
                    }) => ActorState::Meta(super::meta::MetaNode {
                        meta: self.meta(meta),
                        scans_left: *scans_left,
                        migrate_scans_left: *migrate_scans_left,
                    }),
                    ActorState::Chunk(c) => ActorState::Chunk(self.session(c)),
                    // Indexed by the model file's lists, which the group fixes; no ids.
                    ActorState::Operator(_) | ActorState::Client(_) => ActorState::clone(a),
                })
            }),
            network: Network::new_unordered_nonduplicating(
                super::model::envelopes(&s.network).map(|e| Envelope {
                    src: self.id(e.src),
                    dst: self.id(e.dst),
                    msg: self.msg(e.msg),
                }),
            ),
            timers_set: self.slots(&s.timers_set, |ts| {
                // A clone: `Timers::new()` draws its hasher's seed from a counter that ahash
                // shares between threads (specs/engine.md, "No shared counters").
                let mut t2 = empty_timers.clone();
                for t in ts.iter() {
                    t2.set(self.timer(t));
                }
                t2
            }),
            random_choices: self.slots(&s.random_choices, Clone::clone),
            crashed: self.slots(&s.crashed, Clone::clone),
            history: s.history,
            actor_storages: self.slots(&s.actor_storages, Clone::clone),
        }
    }

    /// Does this renaming map the model file's configuration onto itself?
    fn fixes(&self, cfg: &ModelCfg) -> bool {
        let cache = |c: &BTreeMap<Cid, Vec<Pid>>, f: &dyn Fn(Cid, Pid) -> (Cid, Pid)| {
            c.iter()
                .flat_map(|(&cid, pids)| pids.iter().map(move |&p| f(cid, p)))
                .collect::<BTreeSet<_>>()
        };
        let io =
            |f: &dyn Fn(Pid) -> Pid| cfg.io_pids.iter().map(|&p| f(p)).collect::<BTreeSet<_>>();
        self.meta(&cfg.initial_meta) == cfg.initial_meta
            && cache(&cfg.initial_cache, &|c, p| (self.cid(c), self.pid(p)))
                == cache(&cfg.initial_cache, &|c, p| (c, p))
            && cfg.topo_updates.iter().all(|&(c, _)| self.cid(c) == c)
            && cfg.chunk_failures.iter().all(|&c| self.cid(c) == c)
            && cfg.heartbeat_losses.iter().all(|&c| self.cid(c) == c)
            && io(&|p| self.pid(p)) == io(&|p| p)
    }
}

impl Renaming {
    pub fn pid(&self, p: Pid) -> Pid {
        self.pids.get(&p).copied().unwrap_or(p)
    }

    pub fn cid(&self, c: Cid) -> Cid {
        self.cids.get(&c).copied().unwrap_or(c)
    }
}

fn hash_of(s: &ZbsState) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl SymmetricModel for ZbsModel {
    /// The image with the lowest hash (`s` itself when the group is trivial).
    fn canonical(&self, s: &ZbsState) -> ZbsState {
        self.images(s)
            .into_iter()
            .fold((hash_of(s), None), |best, t| {
                let h = hash_of(&t);
                if h < best.0 { (h, Some(t)) } else { best }
            })
            .1
            .unwrap_or_else(|| s.clone())
    }
}

impl SymmetryGroup for ZbsModel {
    fn images(&self, s: &ZbsState) -> Vec<ZbsState> {
        let cfg = &self.cfg;
        let sym = &cfg.symmetry;
        sym.renamings
            .iter()
            .zip(&sym.slots)
            .map(|(r, actors)| Rename { r, actors }.state(s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_counts_do_not_wrap() {
        assert_eq!(candidates(&[3, 2]), Some(12));
        assert_eq!(candidates(&[7]), Some(5_040));
        assert_eq!(candidates(&[]), Some(1));
        // 66! is a multiple of 2^64: a wrapping product is 0 and passes any size guard.
        assert_eq!(candidates(&[66]), None);
        assert_eq!(candidates(&[20, 20]), None);
    }

    #[test]
    fn permutations_of_three_are_six_and_distinct() {
        let mut p = permutations(&[1, 2, 3]);
        assert_eq!(p.len(), 6);
        p.sort();
        p.dedup();
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn renamings_combine_classes() {
        let r = renamings(&[vec![1, 2], vec![7, 8, 9]]);
        assert_eq!(r.len(), 2 * 6);
        assert!(r.iter().all(|m| m.len() == 5));
    }

    #[test]
    fn orbits_are_the_items_moved_together() {
        let swap = Renaming {
            pids: [(1, 2), (2, 1)].into(),
            cids: [(6, 7), (7, 6)].into(),
        };
        let group = [swap];
        assert_eq!(
            orbits([1, 2, 3].into_iter(), &group, Renaming::pid),
            vec![vec![1, 2]]
        );
        assert_eq!(
            orbits([5, 6, 7].into_iter(), &group, Renaming::cid),
            vec![vec![6, 7]]
        );
        assert!(orbits([1, 2].into_iter(), &[], Renaming::pid).is_empty());
    }
}
