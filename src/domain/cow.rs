//! `[COW PEXTENT]` — copy-on-write of a snapshotted pextent (`MetaRpcServer` /
//! `PExtentAllocator`, notes:112–122, notes:180, notes:488–489, notes:501–503).
//!
//! A write to a vExtent the last snapshot marked COW (`GetVExtentLease`, notes:174) makes a new
//! pid whose parent is the old one (`origin_pid`) and "Location 需要和 1 完全一致" (whose location
//! must be exactly the parent's, notes:180): the LSM of each replica builds the 2 → 1 link
//! locally. A chunk of that location without space for the new extent is left out — "There is
//! no enough space on chunk 3 to cow pextent" then `[COW PEXTENT]: pid: 363401 new pid: 363459
//! loc: [1 ]` (notes:488–489): the new pid expects 2 replicas and has one (notes:501 "期望副本在
//! [3, 1]，由于 chunk 3 空间不足，只分配到 [1]"). The volume's vtable names the new pid from now
//! on; the old one belongs to the snapshot.

use super::events::MetaEvent;
use super::meta::Meta;
use super::pextent::PExtent;
use super::snapshot::SnapshotEvent;
use super::{Cid, Pid};

impl Meta {
    /// A write would copy: some vExtent of the vtable is COW-marked and the model has a pid
    /// left to allocate.
    pub fn volume_write_pending(&self) -> bool {
        let vol = &self.recover.volume;
        !vol.cow_pids.is_empty() && vol.vtable.iter().any(|p| vol.cow_marked.contains(p))
    }

    /// `[COW PEXTENT]` for the first COW-marked vExtent of the vtable: the next pid of
    /// [`super::snapshot::Volume::cow_pids`], origin = the marked pid, same expected replica
    /// count, prefer local, provisioning and size, on the chunks of the origin's location that
    /// have space for it (`PExtentAllocator`: meta's free space, `ChunkEntry::free_space`, in
    /// the order of the origin's location, notes:488; specs A73). Each chunk it lands on
    /// allocates the extent (`used`) and takes the VM's writes into it, which meta's allocated
    /// figure does not count (`Volume::cow_exclusive`, specs A72). No chunk with space: the COW
    /// fails and the vExtent stays marked.
    pub fn cow_pextent(&mut self) -> Vec<MetaEvent> {
        let vol = &self.recover.volume;
        let Some(origin) = vol
            .vtable
            .iter()
            .copied()
            .find(|p| vol.cow_marked.contains(p))
        else {
            return Vec::new();
        };
        let Some(&next) = vol.cow_pids.first() else {
            return Vec::new();
        };
        let parent = self.pextents[&origin].clone();
        let mut events = Vec::new();
        let (location, short): (Vec<Cid>, Vec<Cid>) =
            parent.location.iter().copied().partition(|&c| {
                self.chunks
                    .get(c)
                    .is_some_and(|e| e.is_usable() && e.free_space() >= parent.size)
            });
        events.extend(
            short
                .iter()
                .map(|&cid| MetaEvent::Snapshot(SnapshotEvent::CowNoSpace { cid })),
        );
        if location.is_empty() {
            events.push(MetaEvent::Snapshot(SnapshotEvent::CowFailed { origin }));
            return events;
        }
        let new = PExtent {
            pid: next.pid,
            alive_location: location.clone(),
            location,
            expected_replica_num: parent.expected_replica_num,
            epoch: next.epoch,
            preferred_cid: parent.preferred_cid,
            thin_provision: parent.thin_provision,
            size: parent.size,
            origin_pid: Some(origin),
            temporary_replica: false,
        };
        // Thin extents take the writes as they come; a thick one was allocated whole, so its
        // writes land in space meta already counts (thin vs thick, notes:653; specs A72).
        let exclusive = if new.thin_provision {
            self.recover.volume.cow_exclusive
        } else {
            0
        };
        for &c in &new.location {
            let e = self.chunks.chunks.get_mut(&c).expect("a usable chunk");
            e.used += new.size;
            let unreported = self.recover.volume.thin_unreported.entry(c).or_default();
            // The writes fill what is physically free, no more.
            let room = e.capacity.saturating_sub(e.used + *unreported);
            *unreported += exclusive.min(room);
        }
        let vol = &mut self.recover.volume;
        vol.thin_unreported.retain(|_, u| *u > 0);
        vol.cow_pids.remove(0);
        vol.cow_marked.remove(&origin);
        for p in vol.vtable.iter_mut().filter(|p| **p == origin) {
            *p = new.pid;
        }
        self.pextents.insert(new.pid, new.clone());
        events.push(MetaEvent::Snapshot(SnapshotEvent::CowPextent {
            origin,
            new,
        }));
        events
    }

    /// Space on `cid` that is physically free: its capacity less meta's allocated figure
    /// (`used`) and what thin extents use there unaccounted (specs A72). Reservations are
    /// promises, not data, and are not subtracted.
    pub fn physically_free(&self, cid: Cid) -> u32 {
        self.chunks.get(cid).map_or(0, |e| {
            let unreported = self
                .recover
                .volume
                .thin_unreported
                .get(&cid)
                .copied()
                .unwrap_or(0);
            e.capacity.saturating_sub(e.used + unreported)
        })
    }

    /// The pids whose origin is `pid` (its COW children).
    pub fn cow_children(&self, pid: Pid) -> impl Iterator<Item = Pid> + '_ {
        self.pextents
            .values()
            .filter(move |p| p.origin_pid == Some(pid))
            .map(|p| p.pid)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::events::MetaEvent;
    use crate::domain::snapshot::SnapshotEvent;
    use crate::domain::snapshot::tests::incident_c_meta;
    use proptest::prelude::*;

    /// notes:488–489, notes:501: chunk 3 is full, so the COW of 363401 lands on [1] only.
    #[test]
    fn the_cow_of_363401_lands_on_chunk_1_only_as_logged() {
        let mut m = incident_c_meta();
        assert!(!m.volume_write_pending(), "no snapshot yet");
        m.create_snapshot();
        assert!(m.volume_write_pending());
        let events = m.cow_pextent();
        let lines: Vec<String> = events.iter().flat_map(|e| e.lines(2, 0)).collect();
        assert_eq!(
            lines[0],
            "E0101 00:00:02.000000  9843 pextent_allocator.cc:49] There is no enough space on \
             chunk 3 to cow pextent."
        );
        assert!(
            lines[1].starts_with(
                "I0101 00:00:02.000000  9843 meta_rpc_server.cc:989] [COW PEXTENT]: pid: 363401 \
                 new pid: 363459 loc: [1 ] volume: name: "
            ),
            "{lines:?}"
        );
        assert!(lines[1].ends_with(
            "replica_num: 2 thin_provision: true iops_burst: 0 bps_burst: 0 throttling { } \
             stripe_num: 4 stripe_size: 262144 access_points { cid: 3 }"
        ));
        let new = &m.pextents[&363459];
        assert_eq!(new.location, vec![1]);
        assert_eq!(new.origin_pid, Some(363401));
        assert_eq!((new.expected_replica_num, new.epoch), (2, 409375));
        assert_eq!(m.recover.volume.vtable, vec![363459]);
        assert!(
            !m.volume_write_pending(),
            "copied; the next needs a snapshot"
        );
        // Chunk 1 allocated the extent (96 → 97) and took the writes (3 units unreported).
        assert_eq!(m.chunks.get(1).unwrap().used, 97);
        assert_eq!(m.physically_free(1), 0);
        assert_eq!(m.cow_children(363401).collect::<Vec<_>>(), vec![363459]);
        // The next snapshot and write: 363459 -> 363568, again on [1] (notes:513).
        m.create_snapshot();
        let events = m.cow_pextent();
        assert!(matches!(
            events.last(),
            Some(MetaEvent::Snapshot(SnapshotEvent::CowPextent { origin: 363459, new }))
                if new.pid == 363568 && new.location == vec![1]
        ));
        assert!(!m.volume_write_pending(), "no pid left to allocate");
    }

    #[test]
    fn a_cow_without_any_chunk_with_space_fails_and_stays_marked() {
        let mut m = incident_c_meta();
        m.chunks.chunks.get_mut(&1).unwrap().used = 100;
        m.create_snapshot();
        let events = m.cow_pextent();
        assert!(matches!(
            events.last(),
            Some(MetaEvent::Snapshot(SnapshotEvent::CowFailed {
                origin: 363401
            }))
        ));
        assert!(m.volume_write_pending());
        assert_eq!(m.pextents.len(), 1);
    }

    /// A thick extent's COW allocates its whole size, which meta counts: no thin space.
    #[test]
    fn a_thick_cow_takes_no_unaccounted_space() {
        let mut m = incident_c_meta();
        m.pextents.get_mut(&363401).unwrap().thin_provision = false;
        m.create_snapshot();
        m.cow_pextent();
        assert!(!m.pextents[&363459].thin_provision);
        assert!(m.recover.volume.thin_unreported.is_empty());
        assert_eq!(m.physically_free(1), 3);
    }

    proptest! {
        /// Whatever the chunks' space, a COW keeps the parent's replica order, lands only on
        /// chunks that had space, never exceeds physical capacity, and keeps the parent.
        #[test]
        fn a_cow_lands_on_the_parents_chunks_with_space(
            used in proptest::collection::vec(90u32..=100, 4),
            exclusive in 0u32..5,
        ) {
            let mut m = incident_c_meta();
            m.recover.volume.cow_exclusive = exclusive;
            for (c, u) in (1..=4u8).zip(&used) {
                let e = m.chunks.chunks.get_mut(&c).unwrap();
                e.capacity = 100;
                e.used = *u;
            }
            let before = m.chunks.clone();
            m.create_snapshot();
            m.cow_pextent();
            prop_assert!(m.pextents.contains_key(&363401));
            if let Some(new) = m.pextents.get(&363459) {
                let parent = &m.pextents[&363401];
                prop_assert!(new.location.iter().all(|c| parent.holds(*c)));
                prop_assert!(new.location.iter().all(|&c| before.get(c).unwrap().free_space() >= 1));
                let order: Vec<_> = parent.location.iter().filter(|c| new.holds(**c)).collect();
                prop_assert_eq!(order, new.location.iter().collect::<Vec<_>>());
            } else {
                prop_assert!(m.volume_write_pending());
            }
            for c in 1..=4u8 {
                let e = m.chunks.get(c).unwrap();
                prop_assert!(e.used <= e.capacity);
                prop_assert!(m.physically_free(c) <= e.capacity - e.used);
            }
        }
    }
}
