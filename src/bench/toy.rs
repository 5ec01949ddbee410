//! The lease-owner toy of `lease-toy.md`: exact semantics, bit-packed state, symmetric.
//!
//! State layout (pids and chunks are 1-based in the spec and in actions; 0 = none):
//! * `pids`: 16 bits per pid `p` at bit `16·(p−1)`: `owner` 3 bits, `cst` 2, `csrc` 3,
//!   `cdst` 3, `gens` 5;
//! * `aux`: low 32 bits `cached`, 8 bits per pid at bit `8·(p−1)`, bit `c−1` = chunk `c`
//!   caches `p`'s lease; high 32 bits `topo`. (Two whole words: 32-bit halves written
//!   separately and read back as one word would defeat store-to-load forwarding.)
//!
//! Keeping each pid's fields, including its column of `cached`, together makes a pid
//! permutation a permutation of self-contained records, so the canonical form under
//! pid × chunk permutations is: for each chunk permutation, relabel the records and sort them;
//! take the smallest result. That costs N!·P record relabelings instead of N!·P! full
//! permutations.

use crate::engine::SymmetricModel;
use stateright::{Model, Property};
use std::hash::{Hash, Hasher};

/// Largest supported `P` (16-bit records in a `u64`).
pub const MAX_PIDS: u32 = 4;
/// Largest supported `N` (3-bit chunk fields, 8-bit cached columns).
pub const MAX_CHUNKS: u32 = 7;
/// Largest supported `M` (5-bit counter).
pub const MAX_GENS: u32 = 31;

const OWNER: u32 = 0;
const CST: u32 = 3;
const CSRC: u32 = 5;
const CDST: u32 = 8;
const GENS: u32 = 11;

/// A toy state (16 bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ToyState {
    pub pids: u64,
    pub aux: u64,
}

impl Hash for ToyState {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.pids);
        h.write_u64(self.aux);
    }
}

impl ToyState {
    #[inline(always)]
    fn rec(&self, p: u32) -> u32 {
        (self.pids >> (16 * p)) as u32 & 0xFFFF
    }
    #[inline(always)]
    fn set_rec(&mut self, p: u32, r: u32) {
        self.pids = (self.pids & !(0xFFFFu64 << (16 * p))) | ((r as u64) << (16 * p));
    }
    /// `owner[p]` (p 1-based).
    pub fn owner(&self, p: u32) -> u32 {
        self.rec(p - 1) >> OWNER & 7
    }
    /// `cst[p]`.
    pub fn cst(&self, p: u32) -> u32 {
        self.rec(p - 1) >> CST & 3
    }
    /// `csrc[p]`.
    pub fn csrc(&self, p: u32) -> u32 {
        self.rec(p - 1) >> CSRC & 7
    }
    /// `cdst[p]`.
    pub fn cdst(&self, p: u32) -> u32 {
        self.rec(p - 1) >> CDST & 7
    }
    /// `gens[p]`.
    pub fn gens(&self, p: u32) -> u32 {
        self.rec(p - 1) >> GENS & 31
    }
    /// `topo`.
    pub fn topo(&self) -> u32 {
        (self.aux >> 32) as u32
    }
    /// `cached[c][p]`.
    pub fn cached(&self, c: u32, p: u32) -> bool {
        self.aux >> (8 * (p - 1) + c - 1) & 1 == 1
    }
}

impl std::fmt::Debug for ToyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "topo={}", self.topo())?;
        for p in 1..=MAX_PIDS {
            if self.rec(p - 1) == 0 && self.aux >> (8 * (p - 1)) & 0xFF == 0 {
                continue;
            }
            write!(
                f,
                " | p{p}: owner={} cst={} csrc={} cdst={} gens={} cached={:#b}",
                self.owner(p),
                self.cst(p),
                self.csrc(p),
                self.cdst(p),
                self.gens(p),
                self.aux >> (8 * (p - 1)) & 0xFF
            )?;
        }
        Ok(())
    }
}

/// Toy actions (pids and chunks 1-based, as in the spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ToyAction {
    Gen { p: u8, s: u8, d: u8 },
    Deliver { p: u8 },
    Complete { p: u8 },
    Topo { c: u8 },
    Release { c: u8, p: u8 },
}

/// One chunk permutation, precompiled.
#[derive(Clone, Debug)]
struct ChunkPerm {
    /// Relabels the low 11 bits of a record (owner, cst, csrc, cdst).
    rec: Vec<u16>,
    /// Relabels a cached column.
    mask: Vec<u8>,
}

/// The toy model with parameters `N P K M FIXED`.
#[derive(Clone, Debug)]
pub struct Toy {
    pub n: u32,
    pub p: u32,
    pub k: u32,
    pub m: u32,
    pub fixed: bool,
    perms: Vec<ChunkPerm>,
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for i in 0..=rest.len() {
            let mut v = rest.clone();
            v.insert(i, n - 1);
            out.push(v);
        }
    }
    out
}

impl Toy {
    /// Checks the parameters against the packing limits.
    pub fn new(n: u32, p: u32, k: u32, m: u32, fixed: bool) -> Result<Toy, String> {
        if !(1..=MAX_CHUNKS).contains(&n) || !(1..=MAX_PIDS).contains(&p) || m > MAX_GENS {
            return Err(format!(
                "toy supports 1 ≤ N ≤ {MAX_CHUNKS}, 1 ≤ P ≤ {MAX_PIDS}, M ≤ {MAX_GENS}; got N={n} P={p} M={m}"
            ));
        }
        let perms = permutations(n as usize)
            .into_iter()
            .map(|sigma| {
                // Values outside 1..=N never occur in reachable states; keep them fixed.
                let map = |c: u32| match c {
                    1..=7 if c <= n => sigma[c as usize - 1] as u32 + 1,
                    _ => c,
                };
                let rec = (0..2048u32)
                    .map(|r| {
                        let o = map(r >> OWNER & 7);
                        let s = map(r >> CSRC & 7);
                        let d = map(r >> CDST & 7);
                        (o << OWNER | (r & (3 << CST)) | s << CSRC | d << CDST) as u16
                    })
                    .collect();
                let mask = (0..(1u32 << n))
                    .map(|m| {
                        (0..n)
                            .filter(|c| m >> c & 1 == 1)
                            .fold(0u32, |a, c| a | 1 << sigma[c as usize])
                            as u8
                    })
                    .collect();
                ChunkPerm { rec, mask }
            })
            .collect();
        Ok(Toy {
            n,
            p,
            k,
            m,
            fixed,
            perms,
        })
    }

    /// The closed-form reachable state count of the fixed variant: `(K+1)·L^P`,
    /// `L = (M+1) + N·(M + (N−1)·(3M−1))`.
    pub fn reference_count(n: u64, p: u32, k: u64, m: u64) -> u64 {
        let l = (m + 1) + n * (m + (n - 1) * (3 * m).saturating_sub(1));
        (k + 1) * l.pow(p)
    }

    /// `NoLeakedOwner`: for all p, c: `owner[p]=c ⇒ cached[c][p] ∨ (cst[p]=1 ∧ csrc[p]=c)`.
    #[inline]
    pub fn no_leaked_owner(&self, s: &ToyState) -> bool {
        (0..self.p).all(|i| {
            let r = s.rec(i);
            let o = r >> OWNER & 7;
            o == 0 || s.aux >> (8 * i + o - 1) & 1 == 1 || (r >> CST & 3 == 1 && r >> CSRC & 7 == o)
        })
    }
}

impl Model for Toy {
    type State = ToyState;
    type Action = ToyAction;

    fn init_states(&self) -> Vec<ToyState> {
        vec![ToyState::default()]
    }

    #[inline]
    fn actions(&self, s: &ToyState, out: &mut Vec<ToyAction>) {
        for i in 0..self.p {
            let r = s.rec(i);
            let (owner, cst, gens) = (r >> OWNER & 7, r >> CST & 3, r >> GENS & 31);
            let p = i as u8 + 1;
            match cst {
                0 if gens < self.m => {
                    for src in 1..=self.n {
                        if owner != 0 && owner != src {
                            continue;
                        }
                        for dst in (1..=self.n).filter(|&d| d != src) {
                            out.push(ToyAction::Gen {
                                p,
                                s: src as u8,
                                d: dst as u8,
                            });
                        }
                    }
                }
                1 => out.push(ToyAction::Deliver { p }),
                2 => out.push(ToyAction::Complete { p }),
                _ => {}
            }
        }
        if s.topo() < self.k {
            for c in 1..=self.n {
                out.push(ToyAction::Topo { c: c as u8 });
            }
        }
        for c in 1..=self.n {
            for i in 0..self.p {
                if s.aux >> (8 * i + c - 1) & 1 == 1 && s.rec(i) >> CST & 3 == 0 {
                    out.push(ToyAction::Release {
                        c: c as u8,
                        p: i as u8 + 1,
                    });
                }
            }
        }
    }

    #[inline]
    fn next_state(&self, s: &ToyState, a: ToyAction) -> Option<ToyState> {
        let mut t = *s;
        match a {
            ToyAction::Gen { p, s: src, d } => {
                let i = p as u32 - 1;
                let gens = t.rec(i) >> GENS & 31;
                t.set_rec(
                    i,
                    (src as u32) << OWNER
                        | 1 << CST
                        | (src as u32) << CSRC
                        | (d as u32) << CDST
                        | (gens + 1) << GENS,
                );
            }
            ToyAction::Deliver { p } => {
                let i = p as u32 - 1;
                let r = t.rec(i);
                t.set_rec(i, (r & !(3 << CST)) | 2 << CST);
                t.aux |= 1 << (8 * i + (r >> CSRC & 7) - 1);
            }
            ToyAction::Complete { p } => {
                let i = p as u32 - 1;
                let r = t.rec(i);
                t.set_rec(i, r & !(0xFF << CST)); // cst, csrc, cdst := 0
            }
            ToyAction::Topo { c } => {
                let c = c as u32;
                t.aux += 1 << 32;
                for i in 0..self.p {
                    let r = t.rec(i);
                    let (src, dst) = (r >> CSRC & 7, r >> CDST & 7);
                    if r >> CST & 3 == 1 && (src == c || dst == c) {
                        let mut r2 = r & !(0xFF << CST);
                        if self.fixed && t.aux >> (8 * i + src - 1) & 1 == 0 {
                            r2 &= !(7 << OWNER);
                        }
                        t.set_rec(i, r2);
                    }
                }
            }
            ToyAction::Release { c, p } => {
                let (c, i) = (c as u32, p as u32 - 1);
                t.aux &= !(1 << (8 * i + c - 1));
                let r = t.rec(i);
                if r >> OWNER & 7 == c {
                    t.set_rec(i, r & !(7 << OWNER));
                }
            }
        }
        Some(t)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always(
            "NoLeakedOwner",
            |m: &Toy, s: &ToyState| m.no_leaked_owner(s),
        )]
    }
}

impl SymmetricModel for Toy {
    #[inline]
    fn canonical(&self, s: &ToyState) -> ToyState {
        let np = self.p as usize;
        let mut best = [u32::MAX; MAX_PIDS as usize];
        for perm in &self.perms {
            let mut keys = [0u32; MAX_PIDS as usize];
            for (i, key) in keys.iter_mut().enumerate().take(np) {
                let r = s.rec(i as u32);
                let relabeled = perm.rec[(r & 0x7FF) as usize] as u32 | (r & 0xF800);
                let mask = perm.mask[(s.aux >> (8 * i) & 0xFF) as usize] as u32;
                *key = relabeled << 8 | mask;
            }
            keys[..np].sort_unstable();
            if keys < best {
                best = keys;
            }
        }
        let mut t = ToyState {
            pids: 0,
            aux: s.aux & !0xFFFF_FFFF,
        };
        for (i, key) in best.iter().enumerate().take(np) {
            t.pids |= ((key >> 8) as u64) << (16 * i);
            t.aux |= ((key & 0xFF) as u64) << (8 * i);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_matches_table() {
        assert_eq!(Toy::reference_count(4, 4, 1, 1), 1_620_000);
        assert_eq!(Toy::reference_count(3, 4, 1, 2), 4_626_882);
        assert_eq!(Toy::reference_count(3, 4, 8, 2), 20_820_969);
        assert_eq!(Toy::reference_count(3, 4, 10, 2), 25_447_851);
    }

    #[test]
    fn buggy_counterexample_steps() {
        let t = Toy::new(3, 2, 1, 1, false).unwrap();
        let s0 = ToyState::default();
        let s1 = t
            .next_state(&s0, ToyAction::Gen { p: 1, s: 1, d: 2 })
            .unwrap();
        assert!(t.no_leaked_owner(&s1));
        let s2 = t.next_state(&s1, ToyAction::Topo { c: 1 }).unwrap();
        assert!(!t.no_leaked_owner(&s2));
        let fixed = Toy { fixed: true, ..t };
        let s2f = fixed.next_state(&s1, ToyAction::Topo { c: 2 }).unwrap();
        assert!(fixed.no_leaked_owner(&s2f));
        assert_eq!(s2f.owner(1), 0);
    }
}
