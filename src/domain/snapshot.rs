//! Snapshots of a volume (incident C, notes:466–545): `REVOKE LEASE` by vtable, then `CREATE
//! SNAPSHOT` (notes:107–110, notes:124–127), and what a revoked lease does to a recover that is
//! running for one of the volume's pextents (`Failed to recover epextent … ELeaseExpired`,
//! notes:543).
//!
//! The volume's vtable maps each vExtent to a pid (notes:170). Taking a snapshot first revokes
//! the leases of every pid of the vtable — "meta 通过心跳主动下发给所有 chunk，会指明 vtable id，
//! 各个 chunk 上的 libmeta 据此清理 cache lease" (meta sends it with the heartbeats to every
//! chunk, naming the vtable id; each chunk's libmeta clears its cached leases accordingly,
//! notes:126) — so that the snapshot is not writable ("COW 是先 revoke，然后打快照", COW first
//! revokes, then snapshots, notes:176); then it marks the vExtents copy-on-write (notes:180).
//! The next write to such a vExtent makes a new pid (`[COW PEXTENT]`, `cow.rs`).
//!
//! libmeta's `Meta::ClearCachedLease` clears by session, by vtable or by pid (notes:178). Only
//! the vtable road is here ([`ChunkSession::clear_cached_lease_by_vtable`]); it is kept small so
//! that a fuller `ClearCachedLease` can fold it in.

use super::meta::{Meta, MetaConfig};
use super::pextent::PExtent;
use super::recover_cmd::RecoverCmd;
use super::session::ChunkSession;
use super::{Cid, Pid};
use std::collections::{BTreeMap, BTreeSet};

/// A pid the next `[COW PEXTENT]` allocates, with the epoch meta gives it (the model file's
/// `[volume] cow_pids`, in order: 363459, 363568, …).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct CowPid {
    pub pid: Pid,
    pub epoch: u64,
}

/// The snapshotted volume beside RecoverManager (as `manual` is): its vtable, the COW marks the
/// last snapshot left, the pids copy-on-write will allocate, and the space the snapshots'
/// exclusive data takes on chunks without meta's allocated figure showing it. Empty (no
/// `[volume]` in the model file): nothing here ever happens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Volume {
    /// The live volume's vtable: the pid of each vExtent (notes:170), in vExtent order.
    pub vtable: Vec<Pid>,
    /// vExtents the last `CREATE SNAPSHOT` marked COW (`pid = 1+`, notes:180) and no write
    /// has copied yet.
    pub cow_marked: BTreeSet<Pid>,
    /// The pids the next COWs allocate, in order (what the model has left of them).
    pub cow_pids: Vec<CowPid>,
    /// Space units each COW's new extent takes on each of its chunks through the VM's writes
    /// before meta's allocated figure counts them (a snapshot a minute has ~20 GB of exclusive
    /// data, notes:475; "连续快照的 allocated_data_space 不对劲", notes:188; specs A72).
    pub cow_exclusive: u32,
    /// Snapshots left (`None`: one a minute, for ever, as the tower schedule of notes:519).
    pub snapshots_left: Option<u8>,
    /// Per chunk: space thin extents use there that meta's allocated figure does not count
    /// (the chunk's `thin_used_data_space`, notes:190; specs A72).
    pub thin_unreported: BTreeMap<Cid, u32>,
    /// Model-only observations (never read by a rule).
    pub ghost: VolumeGhost,
}

/// What properties need of the past (specs A27's rule: no rule reads it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct VolumeGhost {
    /// Pids one of whose recovers a revoked lease killed (`ELeaseExpired`).
    pub lease_expired: BTreeSet<Pid>,
    /// Pids whose owner a session's `Release owner` cleared (notes:516).
    pub released: BTreeSet<Pid>,
    /// The first command `AddRecoverCmdUnlock()` accepted whose dst had no room for it once the
    /// space thin extents really use there is counted (`dst_candidates.rs`).
    pub cmd_without_space: Option<RecoverCmd>,
}

impl Volume {
    /// A model with a volume to snapshot.
    pub fn exists(&self) -> bool {
        !self.vtable.is_empty()
    }

    /// Another snapshot may be taken.
    pub fn snapshot_due(&self) -> bool {
        self.exists() && self.snapshots_left.is_none_or(|n| n > 0)
    }
}

/// A message of the snapshot road.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
// Trace JSON tags it by `what` (`trace::json::SnapshotMsgJson`); the checker's own
// (binary) form of a state stays untagged.
pub enum SnapshotMsg {
    /// meta → chunk, with its heartbeat: `REVOKE LEASE` of the vtable's pids (notes:126).
    RevokeLease { pids: Vec<Pid> },
    /// chunk (owner) → meta: the recover `cmd` ended with `ELeaseExpired` (notes:543).
    RecoverFailed { cmd: RecoverCmd },
}

/// A timer of the snapshot road (both on meta, neither fair: tower's schedule and the VM's
/// writes may stop at any time).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotTimer {
    /// The snapshot plan fires (tower: one a minute, notes:519): `REVOKE LEASE`, `CREATE SNAPSHOT`.
    Create,
    /// The VM writes to a COW-marked vExtent: `GetVExtentLease` → `[COW PEXTENT]` (notes:174).
    Write,
}

/// What the snapshot road logs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SnapshotEvent {
    /// `REVOKE LEASE` by vtable: meta's owners of `owners_cleared` are gone, and `sessions`
    /// get the revoke with their heartbeat.
    RevokeLease {
        pids: Vec<Pid>,
        owners_cleared: Vec<Pid>,
        sessions: Vec<Cid>,
    },
    /// `CREATE SNAPSHOT`: the vExtents of `pids` are marked COW.
    Created { pids: Vec<Pid> },
    /// `pextent_allocator.cc:49] There is no enough space on chunk N to cow pextent.` (notes:488).
    CowNoSpace { cid: Cid },
    /// `[COW PEXTENT]: pid: … new pid: … loc: [1 ] …` (notes:489).
    CowPextent { origin: Pid, new: PExtent },
    /// No chunk of the origin's location had space: the COW fails (`FAIL TO COW PEXTENT`,
    /// notes:483) and the vExtent stays marked.
    CowFailed { origin: Pid },
    /// The owner reported the recover failed with `ELeaseExpired`; `tracked`: it was still in
    /// `pid_cmds_`, which it leaves (its reservations are released).
    RecoverFailed { cmd: RecoverCmd, tracked: bool },
}

/// The volume placeholders of the `[COW PEXTENT]` line (the model does not know the volume's
/// name, ids or size; specs A22, A73).
const VOLUME_UUID: &str = "00000000-0000-0000-0000-0000000000a1";
const PARENT_UUID: &str = "00000000-0000-0000-0000-0000000000a0";
const ORIGIN_UUID: &str = "00000000-0000-0000-0000-0000000000a2";

impl SnapshotEvent {
    /// The glog line ZBS logs for this event, if the notes show one: severity, file:line and
    /// message.
    pub fn glog(&self) -> Option<(char, &'static str, String)> {
        match self {
            SnapshotEvent::CowNoSpace { cid } => Some((
                'E',
                "pextent_allocator.cc:49",
                format!("There is no enough space on chunk {cid} to cow pextent."),
            )),
            SnapshotEvent::CowPextent { origin, new } => {
                let loc: String = new.location.iter().map(|c| format!("{c} ")).collect();
                let access = new
                    .preferred_cid
                    .map_or(String::new(), |c| format!(" access_points {{ cid: {c} }}"));
                Some((
                    'I',
                    "meta_rpc_server.cc:989",
                    format!(
                        "[COW PEXTENT]: pid: {origin} new pid: {} loc: [{loc}] volume: name: \
                         \"{VOLUME_UUID}\" size: 0 created_time {{ seconds: 0 nseconds: 0 }} id: \
                         \"{VOLUME_UUID}\" parent_id: \"{PARENT_UUID}\" origin_id: \
                         \"{ORIGIN_UUID}\" replica_num: {} thin_provision: {} iops_burst: 0 \
                         bps_burst: 0 throttling {{ }} stripe_num: 4 stripe_size: 262144{access}",
                        new.pid, new.expected_replica_num, new.thin_provision
                    ),
                ))
            }
            SnapshotEvent::RevokeLease { .. }
            | SnapshotEvent::Created { .. }
            | SnapshotEvent::CowFailed { .. }
            | SnapshotEvent::RecoverFailed { .. } => None,
        }
    }

    /// The model's remarks (without the remark marker).
    pub fn remarks(&self) -> Vec<String> {
        match self {
            SnapshotEvent::RevokeLease {
                pids,
                owners_cleared,
                sessions,
            } => vec![format!(
                "REVOKE LEASE of the volume's vtable (pids {pids:?}): owners of {owners_cleared:?} \
                 cleared on meta; sent with the heartbeats of sessions {sessions:?} \
                 (Meta::ClearCachedLease by vtable)"
            )],
            SnapshotEvent::Created { pids } => vec![format!(
                "CREATE SNAPSHOT: the vExtents of pids {pids:?} are marked COW"
            )],
            SnapshotEvent::CowNoSpace { .. } => Vec::new(),
            SnapshotEvent::CowPextent { new, .. } => vec![format!(
                "new pid {} at {:?} (origin_pid {}, expected_replica_num {}, epoch {}); the \
                 vtable now names it",
                new.pid,
                new.location,
                new.origin_pid.unwrap_or(0),
                new.expected_replica_num,
                new.epoch
            )],
            SnapshotEvent::CowFailed { origin } => vec![format!(
                "FAIL TO COW PEXTENT pid: {origin}: no chunk of its location has space"
            )],
            SnapshotEvent::RecoverFailed { cmd, tracked } => vec![format!(
                "recover of pid {} src {} dst {} ended with ELeaseExpired on chunk-{}{}",
                cmd.pid,
                cmd.src,
                cmd.dst,
                cmd.owner,
                if *tracked {
                    ": it leaves pid_cmds_, reservations released"
                } else {
                    " (no longer tracked)"
                }
            )],
        }
    }
}

impl Meta {
    /// The snapshot plan fires: `REVOKE LEASE` of every pid of the volume's vtable, then
    /// `CREATE SNAPSHOT` marks them COW (notes:107–110). Meta forgets the pids' owners (their
    /// leases are revoked; specs A71) and returns the sessions that held them, to which the
    /// revoke goes with their heartbeats (notes:126).
    pub fn create_snapshot(&mut self) -> (Vec<super::events::MetaEvent>, Vec<Cid>) {
        use super::events::MetaEvent;
        let vol = &mut self.recover.volume;
        if let Some(n) = &mut vol.snapshots_left {
            *n = n.saturating_sub(1);
        }
        let pids = vol.vtable.clone();
        let mut owners_cleared = Vec::new();
        let mut sessions = BTreeSet::new();
        for pid in &pids {
            if let Some(owner) = self.access.owners.get(pid).copied() {
                self.access.owners.remove(pid);
                owners_cleared.push(*pid);
                sessions.insert(owner);
            }
        }
        let vol = &mut self.recover.volume;
        vol.cow_marked.extend(pids.iter().copied());
        let sessions: Vec<Cid> = sessions.into_iter().collect();
        (
            vec![
                MetaEvent::Snapshot(SnapshotEvent::RevokeLease {
                    pids: pids.clone(),
                    owners_cleared,
                    sessions: sessions.clone(),
                }),
                MetaEvent::Snapshot(SnapshotEvent::Created { pids }),
            ],
            sessions,
        )
    }

    /// The owner reported that a recover ended with `ELeaseExpired` (its lease was revoked
    /// while it ran, notes:543): meta drops it from `pid_cmds_` and releases its reservations,
    /// so the next scan's `ReGenerateWaitingRecoverList()` finds the pid again (the log's new
    /// `add recover cmd` 8 s after the second COW, notes:504, notes:514; specs A70).
    pub fn recover_failed(
        &mut self,
        cfg: &MetaConfig,
        cmd: &RecoverCmd,
    ) -> Vec<super::events::MetaEvent> {
        let tracked = self.recover.pid_cmds.get(&cmd.pid) == Some(cmd);
        if tracked {
            self.finish_cmd(cfg, cmd);
            // The failed command exists nowhere any more (it ran, so it was handed over; it
            // was tracked, so no later one was issued): its number is free again (specs A70).
            // Without this, each kill-and-reissue would be a new state for ever.
            if self.recover.cmds_issued.get(&cmd.pid) == Some(&cmd.id) {
                match cmd.id - 1 {
                    0 => self.recover.cmds_issued.remove(&cmd.pid),
                    n => self.recover.cmds_issued.insert(cmd.pid, n),
                };
            }
        }
        self.recover.volume.ghost.lease_expired.insert(cmd.pid);
        vec![super::events::MetaEvent::Snapshot(
            SnapshotEvent::RecoverFailed { cmd: *cmd, tracked },
        )]
    }
}

impl Meta {
    /// Remembers a `Release owner` (for the witness `recovered_after_lease_expired`; only in
    /// models with a volume, so that no other model's states split).
    pub fn note_owner_released(&mut self, event: &super::events::MetaEvent) {
        if let super::events::MetaEvent::OwnerReleased { pid, .. } = event
            && self.recover.volume.exists()
        {
            self.recover.volume.ghost.released.insert(*pid);
        }
    }
}

impl ChunkSession {
    /// libmeta's `Meta::ClearCachedLease` by vtable (notes:178): the revoke of a snapshot
    /// (notes:126) drops the cached leases of `pids`. A recover this chunk runs for one of
    /// them loses its lease and fails with `ELeaseExpired` (notes:543): it is returned, for the
    /// owner to report. Under the fix `snapshot_revoke_spares_recover` a running recover keeps
    /// its lease and runs on (specs A74).
    pub fn clear_cached_lease_by_vtable(
        &mut self,
        pids: &[Pid],
        spare_running: bool,
    ) -> Vec<RecoverCmd> {
        let cleared: Vec<Pid> = pids
            .iter()
            .copied()
            .filter(|&p| !(spare_running && self.running_for(p).is_some()))
            .collect();
        self.clear_cached_lease(super::access_session::ClearBy::Vtable(&cleared))
            .failed
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::access_manager::AccessManager;
    use crate::domain::chunk_table::{ChunkEntry, ChunkTable};
    use crate::domain::events::MetaEvent;
    use crate::domain::recover_manager::RecoverManager;
    use crate::domain::recover_manager::tests::cfg;
    use crate::domain::session::SecondCmd;
    use crate::domain::topology::{Level, Topology, TopologyTree};
    use crate::domain::variant::Variant;
    use std::sync::Arc;

    /// The incident-C cluster (notes:532 "chunk 1 3 满，2 4 特别空": chunks 1 and 3 full, 2 and 4
    /// nearly empty), one brick each; pid 363401 at `[3, 1]`, prefer local 3, 2 replicas, thin;
    /// the volume's vtable names it and COW will allocate 363459 then 363568.
    pub(crate) fn incident_c_meta() -> Meta {
        let objects: Vec<(String, Level, String)> = [
            ("zone-default", Level::Zone, "topo"),
            ("rack-1", Level::Rack, "zone-default"),
        ]
        .into_iter()
        .map(|(n, l, p)| (n.to_string(), l, p.to_string()))
        .chain((1..=4).map(|b| (format!("brick-{b}"), Level::Brick, "rack-1".to_string())))
        .collect();
        let tree = TopologyTree::new(&objects).unwrap();
        let chunk_parent = (1..=4u8)
            .map(|c| (c, tree.find(&format!("brick-{c}")).unwrap()))
            .collect();
        let topology = Topology {
            tree: Arc::new(tree),
            chunk_parent,
        };
        let chunks = ChunkTable {
            chunks: [(1, 100, 96), (2, 300, 3), (3, 100, 100), (4, 300, 2)]
                .into_iter()
                .map(|(c, cap, used)| (c, ChunkEntry::new(cap, used)))
                .collect(),
        };
        let pext = PExtent {
            pid: 363401,
            location: vec![3, 1],
            alive_location: vec![3, 1],
            expected_replica_num: 2,
            epoch: 409317,
            preferred_cid: Some(3),
            thin_provision: true,
            size: 1,
            origin_pid: None,
            temporary_replica: false,
        };
        let recover = RecoverManager {
            volume: Volume {
                vtable: vec![363401],
                cow_pids: vec![
                    CowPid {
                        pid: 363459,
                        epoch: 409375,
                    },
                    CowPid {
                        pid: 363568,
                        epoch: 409376,
                    },
                ],
                cow_exclusive: 3,
                snapshots_left: None,
                ..Volume::default()
            },
            ..RecoverManager::default()
        };
        Meta {
            topology: topology.into(),
            pextents: [(363401, pext)].into_iter().collect(),
            chunks: chunks.into(),
            recover: recover.into(),
            access: AccessManager::new([1, 2, 3, 4]).into(),
        }
    }

    #[test]
    fn a_snapshot_revokes_the_vtables_leases_and_marks_its_vextents_cow() {
        let mut m = incident_c_meta();
        m.access.owners.insert(363401, 1);
        let (events, sessions) = m.create_snapshot();
        assert_eq!(sessions, vec![1], "the owner's session gets the revoke");
        assert!(m.access.owners.is_empty(), "meta forgets the revoked owner");
        assert!(m.recover.volume.cow_marked.contains(&363401));
        assert!(matches!(
            &events[..],
            [
                MetaEvent::Snapshot(SnapshotEvent::RevokeLease { .. }),
                MetaEvent::Snapshot(SnapshotEvent::Created { .. })
            ]
        ));
        assert!(events[0].lines(1, 0)[0].starts_with("# model: REVOKE LEASE"));
    }

    /// notes:543: the running recover of a revoked pid fails with ELeaseExpired; under the fix
    /// it runs on. Leases of pids outside the vtable stay either way.
    #[test]
    fn a_revoked_lease_kills_the_running_recover_unless_the_fix_spares_it() {
        let cmd = RecoverCmd {
            id: 1,
            pid: 363459,
            src: 1,
            dst: 4,
            replace: 0,
            owner: 1,
            epoch: 409375,
            owner_allocated: true,
            reserved_src: 1,
            reserved_space: 1,
        };
        for (spare, killed) in [(false, vec![cmd]), (true, vec![])] {
            let mut s = ChunkSession::new(1);
            s.on_heartbeat_reply(&[cmd], SecondCmd::FirstReplaced);
            s.cache_lease(999);
            assert_eq!(s.clear_cached_lease_by_vtable(&[363459], spare), killed);
            assert_eq!(s.running.is_empty(), !spare);
            assert_eq!(s.lease_cache.contains(&363459), spare);
            assert!(s.lease_cache.contains(&999));
        }
    }

    #[test]
    fn a_failed_recover_leaves_pid_cmds_and_gives_its_reservations_back() {
        let c = cfg(Variant::default());
        let mut m = incident_c_meta();
        let new = PExtent {
            pid: 363459,
            location: vec![1],
            alive_location: vec![1],
            origin_pid: Some(363401),
            ..m.pextents[&363401].clone()
        };
        m.pextents.insert(363459, new);
        let clean = m.chunks.clone();
        let cand = crate::domain::recover_cmd::MigrateCandidate {
            pid: 363459,
            src: 1,
            dst: 4,
            replace: 0,
        };
        let [MetaEvent::CmdAdded(cmd)] = m.add_recover_cmd_unlock(&c, cand)[..] else {
            panic!()
        };
        let events = m.recover_failed(&c, &cmd);
        assert!(m.recover.pid_cmds.is_empty());
        assert_eq!(m.chunks, clean);
        assert!(m.recover.volume.ghost.lease_expired.contains(&363459));
        assert!(events[0].lines(3, 0)[0].contains("ELeaseExpired"));
        // A second report of the same command changes nothing more.
        let again = m.recover_failed(&c, &cmd);
        assert!(matches!(
            again[0],
            MetaEvent::Snapshot(SnapshotEvent::RecoverFailed { tracked: false, .. })
        ));
    }
}
