//! The meta leader's tables, together: topology, pextent table, chunk table, RecoverManager
//! and AccessManager. Their operations live in the file of the component that owns them
//! (`recover_manager.rs`, `access_manager.rs`) as `impl Meta` blocks, because — as in the C++ —
//! RecoverManager's functions reach into AccessManager and the tables.

use super::access_manager::AccessManager;
use super::chunk_table::ChunkTable;
use super::events::MetaEvent;
use super::pextent::PExtent;
use super::recover_cmd::RecoverCmd;
use super::recover_manager::RecoverManager;
use super::shared::Shared;
use super::topology::{NodeIx, Topology};
use super::variant::Variant;
use super::{Cid, Pid};
use std::collections::BTreeMap;

/// What the meta leader knows: the whole meta-side state of one model state.
///
/// Each table is [`Shared`] (copy-on-write): a step copies only the tables it changes, so the
/// checker's many meta states share the rest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub topology: Shared<Topology>,
    pub pextents: Shared<BTreeMap<Pid, PExtent>>,
    pub chunks: Shared<ChunkTable>,
    pub recover: Shared<RecoverManager>,
    pub access: Shared<AccessManager>,
}

/// Static settings every meta operation may consult (never part of a state).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MetaConfig {
    pub variant: Variant,
    /// `max_recover_cmds_per_chunk`: command slots per chunk (ZBS default 128).
    pub max_recover_cmds_per_chunk: usize,
    /// `scan_extents_num`: how many pids one migrate scan walks from its cursor (notes:73;
    /// specs A20). `None`: every pid, each run.
    pub scan_extents_num: Option<usize>,
}

impl Meta {
    /// `[UPDATE TOPO OBJ]` (`ChunkManager::UpdateTopoObj()`): move chunk `cid` below
    /// `new_parent`, then `RevokeRecoverCmds(cid)`.
    pub fn update_topo_obj(
        &mut self,
        cfg: &MetaConfig,
        cid: Cid,
        new_parent: NodeIx,
    ) -> Vec<MetaEvent> {
        let mut events = Vec::new();
        if self.topology.move_chunk(cid, new_parent).is_ok() {
            events.push(MetaEvent::TopoUpdated {
                cid,
                new_parent: self.topology.tree.node(new_parent).name.clone(),
            });
            events.extend(self.revoke_recover_cmds(cfg, cid));
        }
        events
    }

    /// Chunk `cid` stopped heartbeating and its session expired (`ChunkManager` marks it
    /// disconnected): `RevokeRecoverCmds(cid)`, the session's leases die, commands queued for
    /// it are dropped, and `DoRemoveReplica()` takes its replicas out of every location.
    pub fn chunk_lost(&mut self, cfg: &MetaConfig, cid: Cid) -> Vec<MetaEvent> {
        if let Some(entry) = self.chunks.chunks.get_mut(&cid) {
            entry.status = super::chunk_table::ChunkStatus::Disconnected;
        }
        let mut events = self.revoke_recover_cmds(cfg, cid);
        // Commands owned by `cid` whose src and dst are elsewhere die with its session too,
        // queued or already handed over (under `session_expiry_cmds=revoked`, today's reading).
        let queued = self.access.take_waiting_recover_cmds(cid);
        events.extend(self.drop_session_cmds(cfg, cid, &queued, true));
        self.access.sessions.remove(&cid);
        let owners_cleared = self.access.expire_session(cid);
        events.push(MetaEvent::SessionExpired {
            cid,
            owners_cleared,
        });
        events.extend(self.do_remove_replicas(cfg, cid));
        events
    }

    /// `Meta::ReplaceReplica()`, called by the command's owner when its copy is done.
    ///
    /// Modelling choice (specs/assumptions.md A7): meta checks the epoch (and that dst does
    /// not hold the pid yet), so a command revoked after delivery still lands if its epoch is
    /// current; `pid_cmds_` and the reservations are released only for the command meta still
    /// tracks. The response keeps the request's epoch (notes:19, notes:515) unless the open
    /// question [`super::pextent::EpochRule`] says every location change advances it.
    pub fn replace_replica(&mut self, cfg: &MetaConfig, cmd: &RecoverCmd) -> Vec<MetaEvent> {
        let tracked = self.recover.pid_cmds.get(&cmd.pid) == Some(cmd);
        let Some(pext) = self.pextents.get_mut(&cmd.pid) else {
            return Vec::new();
        };
        let size = pext.size;
        let result = if cfg.variant.replace_requires_tracked_cmd && !tracked {
            Err(super::pextent::ReplaceRefusal::UnknownCmd)
        } else {
            pext.replace_replica(cmd.replace, cmd.dst, cmd.epoch)
        };
        if result.is_ok() {
            if cfg.variant.epoch_rule == super::pextent::EpochRule::EveryLocationChange {
                pext.epoch += 1;
            }
            // The replica's space moves from the replaced chunk to dst.
            if let Some(dst) = self.chunks.chunks.get_mut(&cmd.dst) {
                dst.used += size;
            }
            if let Some(replaced) = self.chunks.chunks.get_mut(&cmd.replace) {
                replaced.used = replaced.used.saturating_sub(size);
            }
        }
        let events = vec![MetaEvent::ReplaceReplica {
            cmd: *cmd,
            tracked,
            result: result.map(|()| pext.clone()),
        }];
        if tracked {
            if matches!(events[0], MetaEvent::ReplaceReplica { result: Ok(_), .. }) {
                self.manual_migrate_landed(cmd);
            }
            self.finish_cmd(cfg, cmd);
        }
        events
    }

    /// A command left `pid_cmds_`: release everything step 4 reserved for it.
    pub fn finish_cmd(&mut self, cfg: &MetaConfig, cmd: &RecoverCmd) {
        self.recover.pid_cmds.remove(&cmd.pid);
        let src = if cfg.variant.release_uses_rewritten_src {
            cmd.src
        } else {
            cmd.reserved_src
        };
        self.chunks.release(cmd, src);
    }

    /// The accounting invariant: each chunk's `rx_pids` / `tx_pids` / `recover_src_pids` and
    /// reserved space are exactly those of the commands in `pid_cmds_`, and no chunk uses more
    /// than `max_slots` command slots.
    pub fn reservations_balance(&self, max_slots: usize) -> bool {
        // A manual migrate RPC between its reservation and its pid_cmds_ insert holds its
        // command's reservations (specs A80).
        let cmds: Vec<&RecoverCmd> = self
            .recover
            .pid_cmds
            .values()
            .chain(self.recover.manual.reserving())
            .collect();
        let pids = |f: &dyn Fn(&RecoverCmd) -> bool| -> Vec<Pid> {
            cmds.iter().filter(|c| f(c)).map(|c| c.pid).collect()
        };
        self.chunks.chunks.iter().all(|(&cid, e)| {
            let reserved: u32 = cmds
                .iter()
                .filter(|c| c.dst == cid)
                .map(|c| c.reserved_space)
                .sum();
            e.rx_pids.iter().copied().eq(pids(&|c| c.dst == cid))
                && e.tx_pids.iter().copied().eq(pids(&|c| c.replace == cid))
                && e.recover_src_pids
                    .iter()
                    .copied()
                    .eq(pids(&|c| c.reserved_src == cid))
                && e.reserved == reserved
                && e.cmd_count() <= max_slots
        })
    }

    /// What the placement policy sees of this meta: topology, chunk table, pextent table, the
    /// derived load level, and the command slots per chunk.
    pub fn cluster_view(
        &self,
        max_recover_cmds_per_chunk: usize,
    ) -> super::placement::ClusterView<'_> {
        super::placement::ClusterView {
            max_recover_cmds_per_chunk,
            ..super::placement::ClusterView::derive(&self.topology, &self.chunks, &self.pextents)
        }
    }

    pub fn owner_of(&self, pid: Pid) -> Option<Cid> {
        self.access.owners.get(&pid).copied()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::events::MetaEvent;
    use crate::domain::pextent::ReplaceRefusal;
    use crate::domain::recover_cmd::MigrateCandidate;
    use crate::domain::recover_manager::tests::{cfg, incident_a_meta};
    use crate::domain::variant::Variant;

    fn migrate_3134(m: &mut super::Meta) -> crate::domain::recover_cmd::RecoverCmd {
        let c = cfg(Variant::default());
        let cand = MigrateCandidate {
            pid: 3134,
            src: 5,
            dst: 1,
            replace: 5,
        };
        match &m.add_recover_cmd_unlock(&c, cand)[..] {
            [MetaEvent::CmdAdded(cmd)] => *cmd,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn replace_replica_lands_the_command_and_releases_its_reservations() {
        // REPLACE REPLICA pid 3134 src_chunk 5 dst_chunk 1 epoch 4354 → [4, 2, 1].
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        let clean = m.chunks.clone();
        let cmd = migrate_3134(&mut m);
        let events = m.replace_replica(&c, &cmd);
        assert!(
            matches!(&events[0], MetaEvent::ReplaceReplica { result: Ok(p), .. } if p.location == vec![4, 2, 1] && p.epoch == 4354)
        );
        assert!(m.recover.pid_cmds.is_empty());
        for (cid, e) in &m.chunks.chunks {
            let before = &clean.chunks[cid];
            assert_eq!((e.reserved, e.rx_pids.len(), e.tx_pids.len()), (0, 0, 0));
            let moved = match cid {
                1 => 1,
                5 => -1,
                _ => 0,
            };
            assert_eq!(
                i64::from(e.used),
                i64::from(before.used) + moved,
                "chunk {cid}"
            );
        }
        assert!(m.reservations_balance(128));
        // The same REPLACE REPLICA again: dst holds the pid already.
        let again = m.replace_replica(&c, &cmd);
        assert!(matches!(
            &again[0],
            MetaEvent::ReplaceReplica {
                result: Err(ReplaceRefusal::DstAlreadyInLocation),
                ..
            }
        ));
    }

    /// specs A21: what advances the epoch is an open question; a stale REPLACE REPLICA is
    /// refused only when something did.
    #[test]
    fn the_epoch_rule_decides_whether_a_replace_after_a_replica_removal_is_stale() {
        use crate::domain::pextent::EpochRule;
        for (rule, refused) in [
            (EpochRule::RemoveReplica, true),
            (EpochRule::Never, false),
            (EpochRule::EveryLocationChange, true),
        ] {
            let c = cfg(Variant {
                epoch_rule: rule,
                ..Variant::default()
            });
            let mut m = incident_a_meta();
            let cmd = migrate_3134(&mut m);
            // Chunk 2 is lost: its replica leaves 3134's location.
            m.chunk_lost(&c, 2);
            let events = m.replace_replica(&c, &cmd);
            let stale = matches!(
                &events[0],
                MetaEvent::ReplaceReplica {
                    result: Err(ReplaceRefusal::StaleEpoch { .. }),
                    ..
                }
            );
            assert_eq!(stale, refused, "{rule:?}: {events:?}");
        }
        // Every location change: a landed replace advances it too.
        let c = cfg(Variant {
            epoch_rule: EpochRule::EveryLocationChange,
            ..Variant::default()
        });
        let mut m = incident_a_meta();
        let cmd = migrate_3134(&mut m);
        m.replace_replica(&c, &cmd);
        assert_eq!(m.pextents[&3134].epoch, 4355);
    }

    #[test]
    fn losing_a_chunk_revokes_its_commands_expires_its_leases_and_removes_its_replicas() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        let cmd = migrate_3134(&mut m);
        assert_eq!(m.owner_of(3134), Some(5));
        let events = m.chunk_lost(&c, 5);
        assert!(events.contains(&MetaEvent::SessionExpired {
            cid: 5,
            owners_cleared: vec![3134]
        }));
        assert!(m.recover.pid_cmds.is_empty(), "{cmd:?} revoked");
        assert_eq!(m.owner_of(3134), None, "the lease died with the session");
        assert_eq!(m.pextents[&3133].location, vec![4, 2]);
        assert!(m.recover.active_waiting_recover.contains(&3133));
        assert!(m.reservations_balance(128));
    }

    #[test]
    fn the_last_replica_is_kept() {
        let mut m = incident_a_meta();
        m.pextents.get_mut(&3133).unwrap().location = vec![5];
        m.chunk_lost(&cfg(Variant::default()), 5);
        assert_eq!(m.pextents[&3133].location, vec![5]);
    }
}
