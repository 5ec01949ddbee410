//! 64-bit state fingerprints.
//!
//! The visited set stores only fingerprints, so the hash must be (a) stable across runs and
//! threads (results are deterministic), (b) well mixed in every bit (the high bits pick the
//! shard, the low bits the slot) and (c) cheap. A folded 64×64→128 multiply per word (the
//! construction used by ahash's fallback and wyhash) gives all three without a new crate.

use std::hash::{Hash, Hasher};

/// A state's fingerprint. Never zero: zero marks an empty slot / "no parent".
pub type Fingerprint = u64;

const SEED: u64 = 0x243F_6A88_85A3_08D3;
const MUL: u64 = 0x9E37_79B9_7F4A_7C15;
const FIN: u64 = 0x1319_8A2E_0370_7344;

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Stable, fast hasher for fingerprints (not DoS resistant; it does not need to be).
#[derive(Clone, Copy)]
pub struct FoldHasher {
    h: u64,
}

impl Default for FoldHasher {
    fn default() -> Self {
        FoldHasher { h: SEED }
    }
}

impl Hasher for FoldHasher {
    #[inline(always)]
    fn write_u64(&mut self, w: u64) {
        self.h = fold_mul(self.h ^ w, MUL);
    }
    #[inline(always)]
    fn write_u8(&mut self, w: u8) {
        self.write_u64(w as u64)
    }
    #[inline(always)]
    fn write_u16(&mut self, w: u16) {
        self.write_u64(w as u64)
    }
    #[inline(always)]
    fn write_u32(&mut self, w: u32) {
        self.write_u64(w as u64)
    }
    #[inline(always)]
    fn write_usize(&mut self, w: usize) {
        self.write_u64(w as u64)
    }
    #[inline(always)]
    fn write_u128(&mut self, w: u128) {
        self.write_u64(w as u64);
        self.write_u64((w >> 64) as u64);
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            // Tag the tail with its length so "ab" and "ab\0" differ.
            self.write_u64(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline(always)]
    fn finish(&self) -> u64 {
        let x = fold_mul(self.h ^ FIN, MUL);
        x ^ (x >> 29)
    }
}

/// Fingerprint of a value (never 0).
#[inline]
pub fn fingerprint<T: Hash + ?Sized>(value: &T) -> Fingerprint {
    let mut h = FoldHasher::default();
    value.hash(&mut h);
    match h.finish() {
        0 => 1,
        f => f,
    }
}

/// `BuildHasher` for maps keyed by values that are already fingerprints.
#[derive(Clone, Copy, Default)]
pub struct IdentityBuild;

/// Pass-through hasher for `u64` keys that are already well mixed.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("IdentityHasher only hashes u64 fingerprints")
    }
    #[inline(always)]
    fn write_u64(&mut self, w: u64) {
        self.0 = w;
    }
    #[inline(always)]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for IdentityBuild {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher::default()
    }
}

/// `BuildHasher` for maps keyed by the fingerprints one worker of a distributed search owns
/// (`fp mod W` fixed): their lowest bits are alike, and a table indexed by them would crowd
/// into a fraction of its buckets, so the halves are swapped.
#[derive(Clone, Copy, Default)]
pub struct OwnedBuild;

/// Pass-through hasher with the halves of the `u64` swapped.
#[derive(Default)]
pub struct OwnedHasher(u64);

impl Hasher for OwnedHasher {
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("OwnedHasher only hashes u64 fingerprints")
    }
    #[inline(always)]
    fn write_u64(&mut self, w: u64) {
        self.0 = w.rotate_right(32);
    }
    #[inline(always)]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for OwnedBuild {
    type Hasher = OwnedHasher;
    fn build_hasher(&self) -> OwnedHasher {
        OwnedHasher::default()
    }
}

/// Hints the CPU to fetch `slots[i]` (a hash table's home slot: lookups there are random
/// memory accesses, and a few issued ahead overlap their latencies). Out of bounds, nothing.
#[inline(always)]
pub(crate) fn prefetch_slot<T>(slots: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if i < slots.len() {
        // SAFETY: prefetch is only a hint, and the pointer is in bounds of `slots`.
        unsafe {
            std::arch::x86_64::_mm_prefetch(
                slots.as_ptr().add(i).cast::<i8>(),
                std::arch::x86_64::_MM_HINT_T0,
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slots, i);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn stable_and_distinct() {
        assert_eq!(fingerprint(&(1u64, 2u64)), fingerprint(&(1u64, 2u64)));
        assert_ne!(fingerprint(&(1u64, 2u64)), fingerprint(&(2u64, 1u64)));
        assert_ne!(fingerprint("ab"), fingerprint("ab\0"));
        // No collisions on a dense structured set (small packed integers, like model states).
        let mut seen = HashSet::new();
        for a in 0u64..1000 {
            for b in 0u64..1000 {
                assert!(seen.insert(fingerprint(&(a, b))));
            }
        }
    }

    #[test]
    fn high_bits_are_mixed() {
        // Shards are chosen by the top 6 bits: consecutive inputs must spread over all of them.
        let mut shards = HashSet::new();
        for a in 0u64..4096 {
            shards.insert(fingerprint(&a) >> 58);
        }
        assert_eq!(shards.len(), 64);
    }

    #[test]
    fn one_owners_fingerprints_spread_over_the_low_bits() {
        use std::hash::BuildHasher;
        // Worker 0 of 2 owns the even fingerprints: identity hashing would leave the odd
        // buckets of its tables empty.
        let mut low = HashSet::new();
        for a in 0u64..4096 {
            let fp = fingerprint(&a);
            if fp % 2 == 0 {
                low.insert(OwnedBuild.hash_one(fp) & 63);
            }
        }
        assert_eq!(low.len(), 64);
    }
}
