//! The compact visited set: fingerprint → parent fingerprint, sharded.
//!
//! Each slot is 16 bytes (`[fingerprint, parent]`), open addressing with linear probing, load
//! factor ≤ 3/4. Full states are never stored here (only in the BFS frontier), so memory per
//! explored state is 16 bytes / load ≈ 21–43 bytes. The table is split into [`SHARDS`] shards
//! chosen by the fingerprint's top bits so that (a) parallel workers own disjoint shards and
//! never contend, and (b) a resize only ever doubles one shard, so the transient peak of a
//! resize is 1/64th of the table instead of the whole table.

use super::fingerprint::Fingerprint;
use std::sync::RwLock;

/// log2 of the number of shards.
pub const SHARD_BITS: u32 = 6;
/// Number of shards (fixed, independent of the thread count, so results are too).
pub const SHARDS: usize = 1 << SHARD_BITS;

/// Parent value recorded for initial states.
pub const ROOT: Fingerprint = 0;

/// Which shard owns `fp`.
#[inline(always)]
pub fn shard_of(fp: Fingerprint) -> usize {
    (fp >> (64 - SHARD_BITS)) as usize
}

/// Tables of at least this many bytes are 2 MiB-aligned and advised to use transparent huge
/// pages: every insert is a random access, and with 4 KiB pages nearly every one also misses
/// the TLB (doubly expensive under virtualisation, where page walks are two-dimensional).
const HUGE: usize = 2 << 20;

/// A zero-initialised slot array (a `Vec` cannot choose its alignment).
struct Slots {
    ptr: std::ptr::NonNull<[u64; 2]>,
    len: usize,
    layout: std::alloc::Layout,
}

// SAFETY: `Slots` owns its allocation exclusively, like a `Vec<[u64; 2]>`.
unsafe impl Send for Slots {}
// SAFETY: shared access is read-only.
unsafe impl Sync for Slots {}

impl Slots {
    fn zeroed(len: usize) -> Self {
        let bytes = len * 16;
        let align = if bytes >= HUGE { HUGE } else { 16 };
        let layout = std::alloc::Layout::from_size_align(bytes, align).expect("table too large");
        // SAFETY: `layout` has a non-zero size (len ≥ 8).
        let raw = unsafe {
            if bytes >= HUGE {
                let p = std::alloc::alloc(layout);
                if !p.is_null() {
                    advise_huge_pages(p, bytes);
                    std::ptr::write_bytes(p, 0, bytes);
                }
                p
            } else {
                std::alloc::alloc_zeroed(layout)
            }
        };
        let ptr = std::ptr::NonNull::new(raw.cast::<[u64; 2]>())
            .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Slots { ptr, len, layout }
    }
}

impl std::ops::Deref for Slots {
    type Target = [[u64; 2]];
    fn deref(&self) -> &[[u64; 2]] {
        // SAFETY: `ptr` points to `len` initialised (zeroed) slots owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [[u64; 2]] {
        // SAFETY: as above, and `&mut self` guarantees exclusivity.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast(), self.layout) }
    }
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(p: *mut u8, len: usize) {
    unsafe extern "C" {
        fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
    }
    const MADV_HUGEPAGE: i32 = 14;
    // SAFETY: `p..p+len` is a live allocation; madvise only changes paging policy, and a
    // failure (e.g. THP disabled) is harmless.
    unsafe {
        madvise(p.cast(), len, MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_p: *mut u8, _len: usize) {}

/// One shard: an open-addressing table of `[fp, parent]` slots (`fp == 0` = empty).
pub struct Shard {
    slots: Slots,
    len: usize,
}

impl Shard {
    fn new(capacity: usize) -> Self {
        Shard {
            slots: Slots::zeroed(capacity.next_power_of_two().max(8)),
            len: 0,
        }
    }

    /// Number of fingerprints stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the shard is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Inserts `fp` with `parent`; returns `true` if it was not present (the first parent wins).
    #[inline]
    pub fn insert(&mut self, fp: Fingerprint, parent: Fingerprint) -> bool {
        self.insert_with(fp, || parent)
    }

    /// Like [`Shard::insert`], computing the parent only when `fp` is new.
    #[inline]
    pub fn insert_with(&mut self, fp: Fingerprint, parent: impl FnOnce() -> Fingerprint) -> bool {
        debug_assert!(fp != 0);
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.mask();
        let mut i = fp as usize & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot[0] == fp {
                return false;
            }
            if slot[0] == 0 {
                *slot = [fp, parent()];
                self.len += 1;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Hints the CPU to fetch `fp`'s home slot: inserts are random DRAM accesses, and
    /// prefetching a few items ahead overlaps their latencies.
    #[inline(always)]
    pub fn prefetch(&self, fp: Fingerprint) {
        #[cfg(target_arch = "x86_64")]
        {
            let i = fp as usize & self.mask();
            // SAFETY: prefetch is only a hint; the pointer is in bounds of `slots`.
            unsafe {
                std::arch::x86_64::_mm_prefetch(
                    self.slots.as_ptr().add(i) as *const i8,
                    std::arch::x86_64::_MM_HINT_T0,
                );
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = fp;
    }

    /// The parent recorded for `fp`, if `fp` is present.
    #[inline]
    pub fn parent(&self, fp: Fingerprint) -> Option<Fingerprint> {
        let mask = self.mask();
        let mut i = fp as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot[0] == fp {
                return Some(slot[1]);
            }
            if slot[0] == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let doubled = Slots::zeroed(self.slots.len() * 2);
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.mask();
        for &slot in old.iter().filter(|s| s[0] != 0) {
            let mut i = slot[0] as usize & mask;
            while self.slots[i][0] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }

    fn bytes(&self) -> usize {
        self.slots.len() * 16
    }
}

/// The sharded visited set. Shards are behind read-write locks: during a BFS batch's insert
/// phase every shard is written by exactly one worker; during the expand phase all workers
/// only read (to drop successors seen in earlier batches before buffering them).
pub struct Visited {
    shards: Vec<RwLock<Shard>>,
}

impl Default for Visited {
    fn default() -> Self {
        Self::new()
    }
}

impl Visited {
    /// An empty set.
    pub fn new() -> Self {
        Visited {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::new(8))).collect(),
        }
    }

    /// Locks shard `i` for writing.
    pub fn shard(&self, i: usize) -> std::sync::RwLockWriteGuard<'_, Shard> {
        self.shards[i].write().unwrap()
    }

    /// Read access to every shard at once (the expand phase: nobody writes meanwhile).
    pub fn read_all(&self) -> Vec<std::sync::RwLockReadGuard<'_, Shard>> {
        self.shards.iter().map(|s| s.read().unwrap()).collect()
    }

    /// Inserts (single-threaded convenience); `true` if new.
    pub fn insert(&self, fp: Fingerprint, parent: Fingerprint) -> bool {
        self.shard(shard_of(fp)).insert(fp, parent)
    }

    /// Whether `fp` is present.
    pub fn contains(&self, fp: Fingerprint) -> bool {
        self.shard(shard_of(fp)).parent(fp).is_some()
    }

    /// Parent of `fp` (`Some(ROOT)` for initial states).
    pub fn parent(&self, fp: Fingerprint) -> Option<Fingerprint> {
        self.shard(shard_of(fp)).parent(fp)
    }

    /// Fingerprints from an initial state to `fp`, inclusive.
    pub fn chain_to(&self, fp: Fingerprint) -> Vec<Fingerprint> {
        let mut chain = vec![fp];
        let mut cur = fp;
        loop {
            let p = self.parent(cur).expect("fingerprint not in visited set");
            if p == ROOT {
                break;
            }
            chain.push(p);
            cur = p;
        }
        chain.reverse();
        chain
    }

    /// Total number of stored fingerprints.
    pub fn len(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.read().unwrap().len() as u64)
            .sum()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated for slots.
    pub fn bytes(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.read().unwrap().bytes() as u64)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fingerprint::fingerprint;

    #[test]
    fn insert_lookup_grow() {
        let v = Visited::new();
        let fps: Vec<u64> = (0u64..200_000).map(|i| fingerprint(&i)).collect();
        for (i, &fp) in fps.iter().enumerate() {
            let parent = if i == 0 { ROOT } else { fps[i - 1] };
            assert!(v.insert(fp, parent));
        }
        for (i, &fp) in fps.iter().enumerate() {
            assert!(!v.insert(fp, 12345), "duplicate reported new");
            let want = if i == 0 { ROOT } else { fps[i - 1] };
            assert_eq!(v.parent(fp), Some(want), "first parent must be kept");
        }
        assert_eq!(v.len(), 200_000);
        assert!(!v.contains(fingerprint(&999_999_999u64)));
        assert_eq!(v.chain_to(fps[10]), fps[..=10].to_vec());
    }
}
