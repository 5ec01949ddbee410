//! The pextent table (`PExtentTableEntry`): where each physical extent's replicas are.

use super::{Cid, Pid};

/// One row of the pextent table.
///
/// The lease owner is not here: ZBS keeps it in AccessManager (see `access_manager.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PExtent {
    pub pid: Pid,
    /// Ordered replica holders, as in `location: 328196` = `[4, 2, 5]`.
    pub location: Vec<Cid>,
    /// Replicas reported alive by chunk heartbeats.
    pub alive_location: Vec<Cid>,
    pub expected_replica_num: u8,
    /// `REPLACE REPLICA` must quote the current one. What changes it is an open question
    /// ([`EpochRule`], specs A21): both logged responses keep the request's epoch.
    pub epoch: u64,
    /// "prefer local": the node whose VM uses the volume.
    pub preferred_cid: Option<Cid>,
    pub thin_provision: bool,
    /// Space one replica takes, in the model's space units (thick: the whole extent).
    pub size: u32,
    /// `origin_pid`: set for an extent made by copy-on-write of a snapshot (`COW PEXTENT`);
    /// `DoMove()` moves such thin extents last.
    pub origin_pid: Option<Pid>,
    /// The pid has a temporary replica (`IsTemporaryReplica()`): no migrate is made for it.
    pub temporary_replica: bool,
}

/// Why `REPLACE REPLICA` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ReplaceRefusal {
    StaleEpoch {
        current: u64,
    },
    /// The command is not (any more) in `pid_cmds_` (`replace_requires_tracked_cmd`).
    UnknownCmd,
    SrcNotInLocation,
    DstAlreadyInLocation,
}

impl PExtent {
    pub fn holds(&self, cid: Cid) -> bool {
        self.location.contains(&cid)
    }

    pub fn is_alive_on(&self, cid: Cid) -> bool {
        self.alive_location.contains(&cid)
    }

    /// `Meta::ReplaceReplica()`: for a migrate (`replace != 0`) the replaced replica is swapped
    /// for `dst` in place; for a recover (`replace == 0`) `dst` is appended. A stale epoch is
    /// refused. The epoch is kept: both `[REPLACE REPLICA]` responses in the log answer with
    /// the request's epoch (`epoch: 4354` → `epoch: 4354`, `409375` → `409375`; notes:19,
    /// notes:515). Whether anything else advances it is [`EpochRule`]'s open question.
    pub fn replace_replica(
        &mut self,
        replace: Cid,
        dst: Cid,
        epoch: u64,
    ) -> Result<(), ReplaceRefusal> {
        if epoch != self.epoch {
            return Err(ReplaceRefusal::StaleEpoch {
                current: self.epoch,
            });
        }
        if self.holds(dst) {
            return Err(ReplaceRefusal::DstAlreadyInLocation);
        }
        if replace == 0 {
            self.location.push(dst);
        } else {
            let slot = self
                .location
                .iter()
                .position(|&c| c == replace)
                .ok_or(ReplaceRefusal::SrcNotInLocation)?;
            self.location[slot] = dst;
        }
        self.alive_location = self.location.clone();
        debug_assert!(
            !self.location.is_empty(),
            "a replace never empties a location"
        );
        Ok(())
    }
}

crate::switch_options! {
    /// What advances a pextent's epoch — an open question (switch `epoch_rule`, specs A21): the
    /// notes never say, and both logged `REPLACE REPLICA` responses keep the request's epoch.
    /// Only an epoch change can make `Meta::ReplaceReplica()`'s epoch check refuse a stale
    /// replace.
    pub enum EpochRule {
        /// `DoRemoveReplica()` advances the epoch (a replica left the extent: a command made
        /// against the old replica set is stale); `REPLACE REPLICA` keeps it, as logged.
        RemoveReplica = "remove_replica",
        /// Nothing advances the epoch: the epoch check never refuses.
        Never = "never",
        /// Every location change advances it, `REPLACE REPLICA` included (contradicts the log).
        EveryLocationChange = "every_location_change",
    }
}

/// Packs a location the way meta logs it: one byte per cid, lowest byte first.
pub fn pack_location(location: &[Cid]) -> u64 {
    location
        .iter()
        .rev()
        .fold(0u64, |acc, &cid| (acc << 8) | u64::from(cid))
}

/// Inverse of [`pack_location`].
pub fn unpack_location(mut packed: u64) -> Vec<Cid> {
    let mut location = Vec::new();
    while packed != 0 {
        location.push((packed & 0xff) as Cid);
        packed >>= 8;
    }
    location
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn pid_3133() -> PExtent {
        PExtent {
            pid: 3133,
            location: vec![4, 2, 5],
            alive_location: vec![4, 2, 5],
            expected_replica_num: 3,
            epoch: 4354,
            preferred_cid: Some(4),
            thin_provision: true,
            size: 1,
            origin_pid: None,
            temporary_replica: false,
        }
    }

    #[test]
    fn packed_locations_match_the_log_samples() {
        assert_eq!(pack_location(&[4, 2, 5]), 328196);
        assert_eq!(pack_location(&[4, 2, 1]), 66052);
        assert_eq!(pack_location(&[1, 2]), 513);
        assert_eq!(unpack_location(328196), vec![4, 2, 5]);
    }

    #[test]
    fn replace_replica_swaps_in_place_and_refuses_a_stale_epoch() {
        // REPLACE REPLICA pid 3134 src_chunk 5 dst_chunk 1 epoch 4354 → location 66052.
        let mut p = pid_3133();
        assert_eq!(
            p.replace_replica(5, 1, 4353),
            Err(ReplaceRefusal::StaleEpoch { current: 4354 })
        );
        p.replace_replica(5, 1, 4354).unwrap();
        assert_eq!(pack_location(&p.location), 66052);
        assert_eq!(
            p.epoch, 4354,
            "the logged response keeps the request's epoch"
        );
        assert_eq!(
            p.replace_replica(2, 1, 4354),
            Err(ReplaceRefusal::DstAlreadyInLocation)
        );
    }

    #[test]
    fn a_recover_appends_its_dst() {
        // REPLACE REPLICA pid 363459 src_chunk 0 dst_chunk 2: [1] → [1, 2] = 513.
        let mut p = PExtent {
            location: vec![1],
            alive_location: vec![1],
            ..pid_3133()
        };
        p.replace_replica(0, 2, 4354).unwrap();
        assert_eq!(pack_location(&p.location), 513);
    }

    proptest! {
        #[test]
        fn packing_round_trips(loc in proptest::collection::vec(1u8..=255, 0..=7)) {
            prop_assert_eq!(unpack_location(pack_location(&loc)), loc);
        }
    }
}
