//! The meta leader's tables, together: topology, pextent table, chunk table, RecoverManager
//! and AccessManager. Their operations live in the file of the component that owns them
//! (`recover_manager.rs`, `access_manager.rs`) as `impl Meta` blocks, because — as in the C++ —
//! RecoverManager's functions reach into AccessManager and the tables.

use super::access_manager::AccessManager;
use super::chunk_table::ChunkTable;
use super::events::MetaEvent;
use super::pextent::PExtent;
use super::recover_manager::RecoverManager;
use super::topology::{NodeIx, Topology};
use super::variant::Variant;
use super::{Cid, Pid};
use im::OrdMap;

/// What the meta leader knows: the whole meta-side state of one model state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Meta {
    pub topology: Topology,
    pub pextents: OrdMap<Pid, PExtent>,
    pub chunks: ChunkTable,
    pub recover: RecoverManager,
    pub access: AccessManager,
}

/// Static settings every meta operation may consult (never part of a state).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetaConfig {
    pub variant: Variant,
    /// `max_recover_cmds_per_chunk`: command slots per chunk (ZBS default 128).
    pub max_recover_cmds_per_chunk: usize,
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

    /// `Meta::ReplaceReplica()`, called by the command's owner when its copy is done.
    ///
    /// Modelling choice (specs/assumptions.md A7): meta checks only the epoch (the brief names
    /// no other check), so a command revoked after delivery still lands if its epoch is
    /// current; `pid_cmds_` and the reservations are released only for the command meta
    /// still tracks.
    pub fn replace_replica(
        &mut self,
        cfg: &MetaConfig,
        cmd: &super::recover_cmd::RecoverCmd,
    ) -> Vec<MetaEvent> {
        let Some(pext) = self.pextents.get_mut(&cmd.pid) else {
            return Vec::new();
        };
        let epoch = if cfg.variant.replace_checks_epoch {
            cmd.epoch
        } else {
            pext.epoch
        };
        let result = pext
            .replace_replica(cmd.replace, cmd.dst, epoch)
            .map(|()| pext.location.clone());
        let events = vec![MetaEvent::ReplaceReplica {
            pid: cmd.pid,
            src: if cmd.is_migrate() { cmd.replace } else { 0 },
            dst: cmd.dst,
            epoch: cmd.epoch,
            result,
        }];
        if self.recover.pid_cmds.get(&cmd.pid) == Some(cmd) {
            self.finish_cmd(cfg, cmd);
        }
        events
    }

    /// A command left `pid_cmds_`: release everything step 4 reserved for it.
    pub fn finish_cmd(&mut self, cfg: &MetaConfig, cmd: &super::recover_cmd::RecoverCmd) {
        self.recover.pid_cmds.remove(&cmd.pid);
        let src = if cfg.variant.release_uses_rewritten_src {
            cmd.src
        } else {
            cmd.reserved_src
        };
        self.chunks.release(cmd, src);
    }

    pub fn owner_of(&self, pid: Pid) -> Option<Cid> {
        self.access.owners.get(&pid).copied()
    }
}
