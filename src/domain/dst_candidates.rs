//! `RecoverManager::GetDstCandidates()` for a recover: which chunks may receive the missing
//! replica, by which space figure (incident C; notes:339 asks how it uses
//! `allocated_data_space`, `valid_data_space` and `provisioned_data_space`; notes:477 suspects
//! that "recover 的 dst 也会选 1 和 3，还是由于空间不足 recover 失败" — the recover's dst also picks
//! the full chunks 1 and 3, and fails for lack of space).
//!
//! The model's chunk figures (specs A72): `capacity` is the chunk's `valid_data_space`; `used`
//! is meta's `allocated_data_space` (what meta allocated to extents there, the figure every
//! rule of the model reads); a thin extent made by COW also takes the VM's writes, which
//! meta's figure does not count ("连续快照的 allocated_data_space 不对劲", with consecutive
//! snapshots allocated_data_space is off, notes:188) and which the chunk reports as
//! `thin_used_data_space` (notes:190; `Volume::thin_unreported`). Which figure the recover's
//! dst choice reads is the switch [`RecoverDstSpace`].

use super::Cid;
use super::chunk_table::ChunkTable;
use super::events::MetaEvent;
use super::meta::{Meta, MetaConfig};
use super::pextent::PExtent;
use super::placement::{self, CHUNK_NEARLY_FULL_PERCENT, CLUSTER_VERY_HIGH_PERCENT};

crate::switch_options! {
    /// The space figure `GetDstCandidates()` reads for a recover's dst (switch
    /// `recover_dst_space`, specs A75).
    pub enum RecoverDstSpace {
        /// Meta's allocated figure (`used` + reservations), as every model rule reads space
        /// (today: `recover_src_dst`, specs A55).
        Allocated = "allocated",
        /// Also the chunk's reported `thin_used_data_space` (notes:190): space thin extents
        /// use there that meta did not allocate.
        ThinUsed = "thin_used",
        /// Meta's allocated figure, and the 95 % / 90 % guard of migrates (notes:335) for
        /// recovers too: no dst over 95 % used while the cluster provisions under 90 %.
        Guarded = "guarded",
    }
}

/// The chunk table as `GetDstCandidates()` sees it under `rule`: unchanged, with the thin
/// space added to `used`, or with the chunks the guard bans given no free space.
fn dst_view(meta: &Meta, rule: RecoverDstSpace) -> ChunkTable {
    let mut view = (*meta.chunks).clone();
    match rule {
        RecoverDstSpace::Allocated => {}
        RecoverDstSpace::ThinUsed => {
            for (c, u) in &meta.recover.volume.thin_unreported {
                if let Some(e) = view.chunks.get_mut(c) {
                    e.used = (e.used + u).min(e.capacity);
                }
            }
        }
        RecoverDstSpace::Guarded => {
            let provisioned = placement::cluster_provisioned_percent(&meta.chunks, &meta.pextents);
            for e in view.chunks.values_mut() {
                let nearly_full =
                    u64::from(e.used) * 100 > CHUNK_NEARLY_FULL_PERCENT * u64::from(e.capacity);
                if provisioned < CLUSTER_VERY_HIGH_PERCENT && nearly_full {
                    e.reserved = e.capacity;
                }
            }
        }
    }
    view
}

impl Meta {
    /// `GenerateRecoverCmds()`' choice of src and dst for a pid below its expected replica
    /// count (`GetDstCandidates()`): the rule of [`placement::recover_src_dst`] (specs A55) on
    /// the space figure [`RecoverDstSpace`] says. Under the default it is that function,
    /// unchanged.
    pub fn get_dst_candidates(&self, cfg: &MetaConfig, pext: &PExtent) -> Option<(Cid, Cid)> {
        match cfg.variant.recover_dst_space {
            RecoverDstSpace::Allocated => {
                placement::recover_src_dst(pext, &self.topology, &self.chunks)
            }
            rule => placement::recover_src_dst(pext, &self.topology, &dst_view(self, rule)),
        }
    }

    /// Has `cid` room for what is reserved there, once the space thin extents really use is
    /// counted (meta's own check, `AddRecoverCmdUnlock()` step 4, counts only its figure)?
    pub fn dst_has_room(&self, cid: Cid) -> bool {
        self.chunks
            .get(cid)
            .is_none_or(|e| self.physically_free(cid) >= e.reserved)
    }

    /// After a scan: the first accepted command whose dst has no room for it, counting the
    /// space thin extents use there (`VolumeGhost::cmd_without_space`, read only by the
    /// property `cmd_dst_has_space`).
    pub fn note_cmds_without_space(&mut self, events: &[MetaEvent]) {
        if !self.recover.volume.exists() || self.recover.volume.ghost.cmd_without_space.is_some() {
            return;
        }
        let first = events.iter().find_map(|e| match e {
            MetaEvent::CmdAdded(cmd) if !self.dst_has_room(cmd.dst) => Some(*cmd),
            _ => None,
        });
        if let Some(cmd) = first {
            self.recover.volume.ghost.cmd_without_space = Some(cmd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recover_manager::tests::cfg;
    use crate::domain::snapshot::tests::incident_c_meta;
    use crate::domain::variant::Variant;
    use proptest::prelude::*;

    /// pid 363490 (notes:479: 2 replicas of 3 expected, on [4, 2]): only chunks 1 and 3 lack it.
    fn with_363490(m: &mut Meta) {
        let p = PExtent {
            pid: 363490,
            location: vec![4, 2],
            alive_location: vec![4, 2],
            expected_replica_num: 3,
            preferred_cid: None,
            origin_pid: None,
            ..m.pextents[&363401].clone()
        };
        m.pextents.insert(363490, p);
    }

    fn choice(m: &Meta, rule: RecoverDstSpace) -> Option<(Cid, Cid)> {
        let c = cfg(Variant {
            recover_dst_space: rule,
            ..Variant::default()
        });
        m.get_dst_candidates(&c, &m.pextents[&363490])
    }

    /// Before any COW, chunk 1 (96 of 100) has room: every rule but the guard picks it.
    #[test]
    fn before_the_snapshots_chunk_1_has_room_and_only_the_guard_refuses_it() {
        let mut m = incident_c_meta();
        with_363490(&mut m);
        assert_eq!(choice(&m, RecoverDstSpace::Allocated), Some((4, 1)));
        assert_eq!(choice(&m, RecoverDstSpace::ThinUsed), Some((4, 1)));
        assert_eq!(choice(&m, RecoverDstSpace::Guarded), None);
    }

    /// After the COW the VM's writes fill chunk 1; meta's allocated figure still shows room.
    #[test]
    fn after_a_cow_only_the_allocated_figure_still_sees_room_on_chunk_1() {
        let mut m = incident_c_meta();
        with_363490(&mut m);
        m.create_snapshot();
        m.cow_pextent();
        assert_eq!(choice(&m, RecoverDstSpace::Allocated), Some((4, 1)));
        assert_eq!(choice(&m, RecoverDstSpace::ThinUsed), None);
        assert_eq!(choice(&m, RecoverDstSpace::Guarded), None);
        let c = cfg(Variant::default());
        let cand = crate::domain::recover_cmd::MigrateCandidate {
            pid: 363490,
            src: 4,
            dst: 1,
            replace: 0,
        };
        let events = m.add_recover_cmd_unlock(&c, cand);
        assert!(
            matches!(events[..], [MetaEvent::CmdAdded(_)]),
            "step 4 agrees"
        );
        assert!(!m.dst_has_room(1));
        m.note_cmds_without_space(&events);
        assert!(m.recover.volume.ghost.cmd_without_space.is_some());
    }

    /// A COW'd pid at [1] recovers onto the emptier of 2 and 4 under every rule.
    #[test]
    fn the_new_pid_recovers_onto_the_empty_chunks_under_every_rule() {
        let mut m = incident_c_meta();
        m.create_snapshot();
        m.cow_pextent();
        let c = |rule| {
            cfg(Variant {
                recover_dst_space: rule,
                ..Variant::default()
            })
        };
        for rule in [
            RecoverDstSpace::Allocated,
            RecoverDstSpace::ThinUsed,
            RecoverDstSpace::Guarded,
        ] {
            assert_eq!(
                m.get_dst_candidates(&c(rule), &m.pextents[&363459]),
                Some((1, 4)),
                "notes:512: add recover cmd for pid: 363459 src: 1 dst: 4 ({rule:?})"
            );
        }
    }

    proptest! {
        /// Under `thin_used` a recover's dst always physically has room for the replica; under
        /// `guarded` it is never over 95 % used while the cluster provisions under 90 %.
        #[test]
        fn the_fixed_rules_pick_only_chunks_with_room(
            used in proptest::collection::vec(80u32..=100, 4),
            unreported in proptest::collection::vec(0u32..=10, 4),
        ) {
            let mut m = incident_c_meta();
            with_363490(&mut m);
            for ((c, u), x) in (1..=4u8).zip(&used).zip(&unreported) {
                let e = m.chunks.chunks.get_mut(&c).unwrap();
                e.capacity = 100;
                e.used = *u;
                m.recover.volume.thin_unreported.insert(c, (*x).min(100 - *u));
            }
            let p = m.pextents[&363490].clone();
            if let Some((_, dst)) = choice(&m, RecoverDstSpace::ThinUsed) {
                prop_assert!(m.physically_free(dst) >= p.size);
            }
            if let Some((_, dst)) = choice(&m, RecoverDstSpace::Guarded) {
                prop_assert!(m.chunks.get(dst).unwrap().used <= 95);
            }
            if let Some((_, dst)) = choice(&m, RecoverDstSpace::Allocated) {
                prop_assert!(m.chunks.get(dst).unwrap().free_space() >= p.size);
            }
        }
    }
}
