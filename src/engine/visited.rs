//! The compact visited set: a sharded set of fingerprints, with each state's parent
//! fingerprint kept in an append-only log beside it (on disk when it can be).
//!
//! Each shard is an open-addressing table of 8-byte fingerprints (`0` = empty), linear
//! probing, load factor ≤ 3/4, power-of-two capacity: 8 / load ≈ 11–21 bytes of memory per
//! explored state. Full states are never stored here (only in the BFS frontier). The table is
//! split into [`SHARDS`] shards chosen by the fingerprint's top bits so that (a) parallel
//! workers own disjoint shards and never contend, and (b) a resize only ever doubles one
//! shard, so the transient peak of a resize is 1/64th of the table instead of the whole table.
//!
//! Parents are only needed to rebuild counterexample traces, at the end of a run, for a handful
//! of states. So a shard does not keep them in its table: every new fingerprint is appended with
//! its parent, as a 16-byte record, to the shard's **parent log**, in insertion order (which is
//! deterministic: each shard sees its successors in sequential generation order). The log is
//! written in chunks of [`CHUNK_RECORDS`] records to an unlinked temporary file shared by all
//! shards; only each shard's last, unfilled chunk stays in memory. Looking a parent up scans the
//! shard's log (1/64th of all records) — milliseconds per trace step, paid only for the states of
//! a trace. A chunk that cannot be written (no writable temporary directory, disk full, not a
//! Unix system) stays in memory: the result is the same, only the memory saving is lost.

use super::fingerprint::{Fingerprint, prefetch_slot};
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

/// log2 of the number of shards.
pub const SHARD_BITS: u32 = 6;
/// Number of shards (fixed, independent of the thread count, so results are too).
pub const SHARDS: usize = 1 << SHARD_BITS;

/// Parent value recorded for initial states.
pub const ROOT: Fingerprint = 0;

/// Records per parent-log chunk (the unit written to and read from the log file).
pub const CHUNK_RECORDS: usize = 2048;
/// A record: the fingerprint, then its parent, little-endian.
const RECORD: usize = 16;
const CHUNK_BYTES: usize = CHUNK_RECORDS * RECORD;

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
    ptr: std::ptr::NonNull<u64>,
    len: usize,
    layout: std::alloc::Layout,
}

// SAFETY: `Slots` owns its allocation exclusively, like a `Vec<u64>`.
unsafe impl Send for Slots {}
// SAFETY: shared access is read-only.
unsafe impl Sync for Slots {}

impl Slots {
    fn zeroed(len: usize) -> Self {
        let bytes = len * 8;
        let align = if bytes >= HUGE { HUGE } else { 8 };
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
        let ptr = std::ptr::NonNull::new(raw.cast::<u64>())
            .unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Slots { ptr, len, layout }
    }
}

impl std::ops::Deref for Slots {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        // SAFETY: `ptr` points to `len` initialised (zeroed) slots owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [u64] {
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

/// The file the shards' full log chunks go to, opened when the first chunk fills (a small
/// exploration never touches the disk). `None` inside: no file could be made; chunks stay in
/// memory.
struct LogFile {
    file: OnceLock<Option<File>>,
    /// Offset of the next chunk to be written.
    end: AtomicU64,
}

impl LogFile {
    fn new(on_disk: bool) -> Self {
        let file = OnceLock::new();
        if !on_disk {
            let _ = file.set(None);
        }
        LogFile {
            file,
            end: AtomicU64::new(0),
        }
    }

    /// Writes one chunk; its offset, or `None` if it could not be written.
    fn write(&self, chunk: &[u8]) -> Option<u64> {
        let file = self.file.get_or_init(temp_file).as_ref()?;
        let at = self.end.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        write_at(file, chunk, at).ok()?;
        Some(at)
    }

    fn read(&self, at: u64, buf: &mut [u8]) {
        let file = self.file.get().and_then(Option::as_ref);
        let file = file.expect("a chunk on disk implies the log file");
        read_at(file, buf, at).expect("reading the parent log back");
    }
}

/// A new temporary file, already unlinked (it lives as long as it is open).
#[cfg(unix)]
fn temp_file() -> Option<File> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..8 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("zbs-mc-parents-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                // An unremovable file would outlive the run: keep the log in memory instead.
                return std::fs::remove_file(&path).ok().map(|()| file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => return None,
        }
    }
    None
}

#[cfg(not(unix))]
fn temp_file() -> Option<File> {
    None
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, at)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn write_at(_file: &File, _buf: &[u8], _at: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(not(unix))]
fn read_at(_file: &File, _buf: &mut [u8], _at: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// A full chunk of a shard's parent log.
enum Chunk {
    /// Written to the log file at this offset.
    Disk(u64),
    /// Kept in memory (the file could not be written).
    Memory(Box<[u8]>),
}

/// One shard's parent log: `(fingerprint, parent)` records in insertion order.
struct ParentLog {
    file: Arc<LogFile>,
    chunks: Vec<Chunk>,
    /// The unfilled last chunk.
    tail: Vec<u8>,
}

impl ParentLog {
    #[inline]
    fn push(&mut self, fp: Fingerprint, parent: Fingerprint) {
        self.tail.extend_from_slice(&fp.to_le_bytes());
        self.tail.extend_from_slice(&parent.to_le_bytes());
        if self.tail.len() == CHUNK_BYTES {
            self.flush();
        }
    }

    #[cold]
    fn flush(&mut self) {
        match self.file.write(&self.tail) {
            Some(at) => {
                self.chunks.push(Chunk::Disk(at));
                self.tail.clear();
            }
            None => {
                let full = std::mem::replace(&mut self.tail, Vec::with_capacity(CHUNK_BYTES));
                self.chunks.push(Chunk::Memory(full.into_boxed_slice()));
            }
        }
    }

    /// The parent recorded with `fp` (a scan of the whole log).
    fn find(&self, fp: Fingerprint) -> Option<Fingerprint> {
        let in_chunk = |bytes: &[u8]| {
            bytes.chunks_exact(RECORD).find_map(|r| {
                let (f, p) = r.split_at(8);
                (u64::from_le_bytes(f.try_into().unwrap()) == fp)
                    .then(|| u64::from_le_bytes(p.try_into().unwrap()))
            })
        };
        let mut buf = Vec::new();
        for chunk in &self.chunks {
            let found = match chunk {
                Chunk::Disk(at) => {
                    buf.resize(CHUNK_BYTES, 0);
                    self.file.read(*at, &mut buf);
                    in_chunk(&buf)
                }
                Chunk::Memory(bytes) => in_chunk(bytes),
            };
            if found.is_some() {
                return found;
            }
        }
        in_chunk(&self.tail)
    }

    /// Bytes of memory held (the tail and in-memory chunks).
    fn bytes(&self) -> usize {
        let kept: usize = self
            .chunks
            .iter()
            .map(|c| match c {
                Chunk::Disk(_) => 0,
                Chunk::Memory(b) => b.len(),
            })
            .sum();
        kept + self.tail.capacity() + self.chunks.capacity() * std::mem::size_of::<Chunk>()
    }

    /// Chunks written to the file.
    fn chunks_on_disk(&self) -> usize {
        self.chunks
            .iter()
            .filter(|c| matches!(c, Chunk::Disk(_)))
            .count()
    }
}

/// One shard: an open-addressing table of fingerprints (`0` = empty) and its parent log.
pub struct Shard {
    slots: Slots,
    len: usize,
    log: ParentLog,
}

impl Shard {
    fn new(capacity: usize, file: Arc<LogFile>) -> Self {
        Shard {
            slots: Slots::zeroed(capacity.next_power_of_two().max(8)),
            len: 0,
            log: ParentLog {
                file,
                chunks: Vec::new(),
                tail: Vec::new(),
            },
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
            if *slot == fp {
                return false;
            }
            if *slot == 0 {
                *slot = fp;
                self.len += 1;
                self.log.push(fp, parent());
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Hints the CPU to fetch `fp`'s home slot: inserts are random DRAM accesses, and
    /// prefetching a few items ahead overlaps their latencies.
    #[inline(always)]
    pub fn prefetch(&self, fp: Fingerprint) {
        prefetch_slot(&self.slots, fp as usize & self.mask());
    }

    /// Whether `fp` is present.
    #[inline]
    pub fn contains(&self, fp: Fingerprint) -> bool {
        let mask = self.mask();
        let mut i = fp as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot == fp {
                return true;
            }
            if slot == 0 {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    /// The parent recorded for `fp`, if `fp` is present (a scan of the shard's parent log: for
    /// rebuilding traces, not for the search).
    pub fn parent(&self, fp: Fingerprint) -> Option<Fingerprint> {
        if !self.contains(fp) {
            return None;
        }
        let parent = self.log.find(fp);
        debug_assert!(
            parent.is_some(),
            "{fp:#x} is in the table but not in its log"
        );
        parent
    }

    fn grow(&mut self) {
        let doubled = Slots::zeroed(self.slots.len() * 2);
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.mask();
        for &fp in old.iter().filter(|&&s| s != 0) {
            let mut i = fp as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = fp;
        }
    }

    fn bytes(&self) -> usize {
        self.slots.len() * 8 + self.log.bytes()
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
    /// An empty set whose parent log goes to a temporary file once it has full chunks.
    pub fn new() -> Self {
        Self::with_log(LogFile::new(true))
    }

    /// An empty set that keeps its whole parent log in memory.
    pub fn in_memory() -> Self {
        Self::with_log(LogFile::new(false))
    }

    fn with_log(file: LogFile) -> Self {
        let file = Arc::new(file);
        Visited {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(Shard::new(8, file.clone())))
                .collect(),
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
        self.shards[shard_of(fp)].read().unwrap().contains(fp)
    }

    /// Parent of `fp` (`Some(ROOT)` for initial states).
    pub fn parent(&self, fp: Fingerprint) -> Option<Fingerprint> {
        self.shards[shard_of(fp)].read().unwrap().parent(fp)
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

    /// Bytes of memory allocated for slots and the in-memory part of the parent logs.
    pub fn bytes(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.read().unwrap().bytes() as u64)
            .sum()
    }

    /// Parent-log chunks written to the log file.
    pub fn chunks_on_disk(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap().log.chunks_on_disk())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fingerprint::fingerprint;

    /// A fingerprint in shard `shard` whose low 20 bits (its home slot in every table of up to
    /// 2^20 slots) are `home`, distinct for distinct `i`.
    fn in_shard(shard: usize, i: u64, home: u64) -> Fingerprint {
        ((shard as u64) << (64 - SHARD_BITS)) | (i << 20) | home
    }

    #[test]
    fn insert_lookup_grow() {
        for v in [Visited::new(), Visited::in_memory()] {
            let fps: Vec<u64> = (0u64..200_000).map(|i| fingerprint(&i)).collect();
            for (i, &fp) in fps.iter().enumerate() {
                let parent = if i == 0 { ROOT } else { fps[i - 1] };
                assert!(v.insert(fp, parent));
            }
            for &fp in &fps {
                assert!(!v.insert(fp, 12345), "duplicate reported new");
            }
            for i in (0..fps.len()).step_by(997) {
                let want = if i == 0 { ROOT } else { fps[i - 1] };
                assert_eq!(v.parent(fps[i]), Some(want), "first parent must be kept");
            }
            assert_eq!(v.len(), 200_000);
            assert!(!v.contains(fingerprint(&999_999_999u64)));
            assert_eq!(v.parent(fingerprint(&999_999_999u64)), None);
            assert_eq!(v.chain_to(fps[10]), fps[..=10].to_vec());
        }
    }

    #[test]
    fn chains_across_growth_and_flushed_chunks() {
        // A random tree of 300,000 states (over 2 chunks per shard, tables doubled 12 times):
        // every chain must be the path to the root, through states of many shards.
        let n = 300_000usize;
        let fps: Vec<u64> = (0..n as u64).map(|i| fingerprint(&(i, 7u8))).collect();
        let parent_of = |i: usize| (i > 0).then(|| fingerprint(&(i as u64 * 31)) as usize % i);
        for v in [Visited::new(), Visited::in_memory()] {
            for i in 0..n {
                let p = parent_of(i).map_or(ROOT, |p| fps[p]);
                assert!(v.insert(fps[i], p));
            }
            assert_eq!(v.len(), n as u64);
            for &i in &[0, 1, 2, 4095, 150_001, n - 1] {
                let mut want = vec![fps[i]];
                let mut cur = i;
                while let Some(p) = parent_of(cur) {
                    want.push(fps[p]);
                    cur = p;
                }
                want.reverse();
                assert_eq!(v.chain_to(fps[i]), want, "chain to state {i}");
            }
        }
    }

    #[test]
    fn parent_log_goes_to_disk_and_reads_back_alike() {
        let disk = Visited::new();
        let memory = Visited::in_memory();
        let n = SHARDS * CHUNK_RECORDS * 7 / 2;
        let fps: Vec<u64> = (0u64..n as u64).map(|i| fingerprint(&(i, 3u8))).collect();
        for (i, &fp) in fps.iter().enumerate() {
            let parent = fps[(i * 7) % fps.len()];
            assert!(disk.insert(fp, parent));
            assert!(memory.insert(fp, parent));
        }
        assert_eq!(memory.chunks_on_disk(), 0);
        // With a writable temporary directory (as where the tests run) most chunks are on
        // disk (about 3 of every shard's 3.5 chunks' worth of records), and the in-memory set
        // holds the records of those chunks beyond the same tables.
        assert!(
            disk.chunks_on_disk() > 2 * SHARDS,
            "{}",
            disk.chunks_on_disk()
        );
        assert!(disk.bytes() + 8 * n as u64 <= memory.bytes());
        for i in (0..fps.len()).step_by(101) {
            let want = Some(fps[(i * 7) % fps.len()]);
            assert_eq!(disk.parent(fps[i]), want);
            assert_eq!(memory.parent(fps[i]), want);
        }
    }

    #[test]
    fn shards_written_by_parallel_workers_share_the_log_file() {
        // As in the BFS insert phase: 4 workers own disjoint shards and flush chunks to the one
        // file at the same time; every record must be read back from its own shard's chunks.
        let v = Visited::new();
        let per = 3 * CHUNK_RECORDS as u64 + 5;
        std::thread::scope(|sc| {
            for t in 0..4 {
                let v = &v;
                sc.spawn(move || {
                    for s in (t..SHARDS).step_by(4) {
                        let mut shard = v.shard(s);
                        for i in 1..=per {
                            assert!(shard.insert(in_shard(s, i, i % 977), in_shard(s, i, 1)));
                        }
                    }
                });
            }
        });
        assert_eq!(v.len(), SHARDS as u64 * per);
        assert!(v.chunks_on_disk() >= 3 * SHARDS, "{}", v.chunks_on_disk());
        for s in 0..SHARDS {
            for i in [1, CHUNK_RECORDS as u64, 2 * CHUNK_RECORDS as u64 + 1, per] {
                assert_eq!(v.parent(in_shard(s, i, i % 977)), Some(in_shard(s, i, 1)));
            }
        }
    }

    #[test]
    fn colliding_home_slots_in_every_shard() {
        // 3,000 fingerprints per shard sharing one home slot (one long probe run through the
        // table and its wrap-around), beside others homed just after it.
        let v = Visited::new();
        let per = 3_000u64;
        for s in 0..SHARDS {
            for i in 1..=per {
                let home = if i % 3 == 0 { 0xf_ffff } else { 0 };
                let fp = in_shard(s, i, home);
                assert!(v.insert(fp, in_shard(s, i - 1, 0)));
                assert!(!v.insert(fp, 1), "shard {s}: {i} reported new twice");
            }
        }
        assert_eq!(v.len(), SHARDS as u64 * per);
        for s in 0..SHARDS {
            let shard = v.shard(s);
            assert_eq!(shard.len(), per as usize);
            for i in [1, 2, 3, per / 2, per] {
                let home = if i % 3 == 0 { 0xf_ffff } else { 0 };
                assert!(shard.contains(in_shard(s, i, home)));
                assert_eq!(
                    shard.parent(in_shard(s, i, home)),
                    Some(in_shard(s, i - 1, 0))
                );
                // Same home, never inserted (or homed elsewhere).
                assert!(!shard.contains(in_shard(s, per + i, home)));
                assert!(!shard.contains(in_shard(s, i, 1)));
            }
            // A fingerprint of another shard is not found in this one.
            assert!(!shard.contains(in_shard((s + 1) % SHARDS, 1, 0)));
        }
    }

    #[test]
    fn first_parent_wins_and_roots_end_chains() {
        let v = Visited::new();
        let (a, b, c) = (fingerprint(&1u8), fingerprint(&2u8), fingerprint(&3u8));
        assert!(v.insert(a, ROOT));
        assert!(v.insert(b, a));
        assert!(!v.insert(b, c), "second discovery of b");
        assert!(v.insert(c, b));
        assert!(!v.insert(a, c), "an initial state found again keeps ROOT");
        assert_eq!(v.parent(a), Some(ROOT));
        assert_eq!(v.parent(b), Some(a));
        assert_eq!(v.chain_to(c), vec![a, b, c]);
        assert_eq!(v.len(), 3);
    }
}
