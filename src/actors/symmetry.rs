//! Symmetry of the ZBS model: pids with identical configuration are interchangeable.
//!
//! Two pids are in one class when everything the model file says about them is equal but
//! their ids — location, alive location, expected replicas, epoch, prefer local, size,
//! provisioning, owner and whether it is cached, app IO on them. Every rule and property treats
//! pids uniformly, so renaming pids within classes maps behaviours to behaviours and keeps
//! every verdict. (Chunks are not permuted: they are actors, and incident models give each a
//! distinct place in the topology.)
//!
//! The representative of a state is the renaming, among all permutations within classes, whose
//! result hashes lowest: all states of one orbit produce the same set of renamings, so they get
//! the same representative. Classes are small (a handful of pids), so trying all permutations
//! is cheap; models without a class of two or more pids pay nothing.

use super::model::{ModelCfg, ZbsModel, ZbsState};
use super::{ActorState, Msg, Timer};
use crate::domain::Pid;
use crate::domain::meta::Meta;
use crate::domain::recover_cmd::RecoverCmd;
use crate::domain::session::ChunkSession;
use crate::engine::SymmetricModel;
use stateright::actor::{Envelope, Network, Timers};
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// The classes of interchangeable pids (only those with two or more members).
pub fn pid_classes(cfg: &ModelCfg) -> Vec<Vec<Pid>> {
    let mut by_key: BTreeMap<String, Vec<Pid>> = BTreeMap::new();
    for (&pid, p) in &cfg.initial_meta.pextents {
        let owner = cfg.initial_meta.owner_of(pid);
        let cached = owner.is_some_and(|o| {
            cfg.initial_cache
                .get(&o)
                .is_some_and(|pids| pids.contains(&pid))
        });
        let key = format!(
            "{:?}|{:?}|{}|{}|{:?}|{}|{}|{:?}|{}|{}|{}",
            p.location,
            p.alive_location,
            p.expected_replica_num,
            p.epoch,
            p.preferred_cid,
            p.thin_provision,
            p.size,
            p.origin_pid,
            p.temporary_replica,
            owner.map_or(0, u32::from) * 2 + u32::from(cached),
            cfg.io_pids.contains(&pid),
        );
        by_key.entry(key).or_default().push(pid);
    }
    by_key.into_values().filter(|c| c.len() > 1).collect()
}

/// Every renaming: one permutation per class, combined.
fn renamings(classes: &[Vec<Pid>]) -> Vec<BTreeMap<Pid, Pid>> {
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

fn permutations(items: &[Pid]) -> Vec<Vec<Pid>> {
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

/// Pid renaming applied to every part of a state.
struct Rename<'a>(&'a BTreeMap<Pid, Pid>);

impl Rename<'_> {
    fn pid(&self, p: Pid) -> Pid {
        self.0.get(&p).copied().unwrap_or(p)
    }

    fn cmd(&self, c: &RecoverCmd) -> RecoverCmd {
        RecoverCmd {
            pid: self.pid(c.pid),
            ..*c
        }
    }

    fn meta(&self, m: &Meta) -> Meta {
        let mut out = m.clone();
        out.pextents = m
            .pextents
            .values()
            .map(|p| {
                let mut p = p.clone();
                p.pid = self.pid(p.pid);
                (p.pid, p)
            })
            .collect();
        out.access.owners = m
            .access
            .owners
            .iter()
            .map(|(&p, &o)| (self.pid(p), o))
            .collect();
        out.access.waiting_recover_cmds = m
            .access
            .waiting_recover_cmds
            .iter()
            .map(|(&c, q)| (c, q.iter().map(|x| self.cmd(x)).collect::<Vec<_>>()))
            .collect();
        let rm = &mut out.recover;
        let cand = |c: &crate::domain::recover_cmd::MigrateCandidate| {
            crate::domain::recover_cmd::MigrateCandidate {
                pid: self.pid(c.pid),
                ..*c
            }
        };
        rm.passive_waiting_migrate = m.recover.passive_waiting_migrate.iter().map(cand).collect();
        rm.active_waiting_migrate = m.recover.active_waiting_migrate.iter().map(cand).collect();
        rm.active_waiting_recover = m
            .recover
            .active_waiting_recover
            .iter()
            .map(|&p| self.pid(p))
            .collect();
        rm.passive_waiting_recover = m
            .recover
            .passive_waiting_recover
            .iter()
            .map(|&p| self.pid(p))
            .collect();
        rm.pid_cmds = m
            .recover
            .pid_cmds
            .values()
            .map(|c| (self.pid(c.pid), self.cmd(c)))
            .collect();
        rm.safety_lowering_migrate = m.recover.safety_lowering_migrate.as_ref().map(cand);
        for (cid, e) in &m.chunks.chunks {
            let e2 = out.chunks.chunks.get_mut(cid).expect("same chunks");
            e2.rx_pids = e.rx_pids.iter().map(|&p| self.pid(p)).collect();
            e2.tx_pids = e.tx_pids.iter().map(|&p| self.pid(p)).collect();
            e2.recover_src_pids = e.recover_src_pids.iter().map(|&p| self.pid(p)).collect();
        }
        out
    }

    fn session(&self, s: &ChunkSession) -> ChunkSession {
        ChunkSession {
            lease_cache: s.lease_cache.iter().map(|&p| self.pid(p)).collect(),
            running: s
                .running
                .values()
                .map(|c| (self.pid(c.pid), self.cmd(c)))
                .collect(),
            ..s.clone()
        }
    }

    fn msg(&self, m: &Msg) -> Msg {
        match m {
            Msg::HeartbeatReply(cmds) => {
                Msg::HeartbeatReply(cmds.iter().map(|c| self.cmd(c)).collect())
            }
            Msg::ReplaceReplica(c) => Msg::ReplaceReplica(self.cmd(c)),
            Msg::ReleaseOwner(p) => Msg::ReleaseOwner(self.pid(*p)),
            Msg::AppIo(p) => Msg::AppIo(self.pid(*p)),
            Msg::GrantLease(p) => Msg::GrantLease(self.pid(*p)),
            Msg::UpdateTopo { .. } | Msg::ChunkLost(_) | Msg::Disconnect => m.clone(),
        }
    }

    fn timer(&self, t: &Timer) -> Timer {
        match t {
            Timer::Execute(p) => Timer::Execute(self.pid(*p)),
            Timer::IdleRelease(p) => Timer::IdleRelease(self.pid(*p)),
            Timer::AppIo(p) => Timer::AppIo(self.pid(*p)),
            Timer::Scan
            | Timer::MigrateScan
            | Timer::SwapMigrate
            | Timer::Heartbeat(_)
            | Timer::TopoUpdate(_)
            | Timer::ChunkFailure(_) => t.clone(),
        }
    }

    fn state(&self, s: &ZbsState) -> ZbsState {
        let mut out = s.clone();
        out.actor_states = s
            .actor_states
            .iter()
            .map(|a| {
                Arc::new(match &**a {
                    ActorState::Meta(m) => ActorState::Meta(super::meta::MetaNode {
                        meta: self.meta(&m.meta),
                        ..m.clone()
                    }),
                    ActorState::Chunk(c) => ActorState::Chunk(self.session(c)),
                    other => other.clone(),
                })
            })
            .collect();
        out.network =
            Network::new_unordered_nonduplicating(s.network.iter_all().map(|e| Envelope {
                src: e.src,
                dst: e.dst,
                msg: self.msg(e.msg),
            }));
        out.timers_set = s
            .timers_set
            .iter()
            .map(|ts| {
                let mut t2 = Timers::new();
                for t in ts.iter() {
                    t2.set(self.timer(t));
                }
                t2
            })
            .collect();
        out
    }
}

fn hash_of(s: &ZbsState) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl SymmetricModel for ZbsModel {
    fn canonical(&self, s: &ZbsState) -> ZbsState {
        let classes = &self.cfg.pid_classes;
        if classes.is_empty() {
            return s.clone();
        }
        renamings(classes)
            .iter()
            .map(|m| Rename(m).state(s))
            .min_by_key(hash_of)
            .expect("at least the identity renaming")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
