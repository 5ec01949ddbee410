//! Copy-on-write parts inside actor states, shared between equal copies.
//!
//! Interning whole actor states (see `actor_repr`) shares an actor state between the global
//! states that hold it, but two *different* states of one actor still keep their own copies of
//! every table they changed, even when those tables are equal: two steps that make the same
//! change to a table by different routes build equal tables in separate allocations, and a
//! level may hold many distinct states of an actor but few distinct tables. An actor
//! state that implements [`SharedParts`] lets the engine hash-cons those parts when it keeps a
//! new state: each part equal to one already held is replaced by it.

use super::fingerprint::{FoldHasher, fingerprint};
use std::any::{Any, TypeId};
use std::hash::Hash;
use std::sync::Arc;

/// An actor state whose copy-on-write parts the engine may share with equal parts of other
/// states. Sharing changes no value: only which allocation holds it.
pub trait SharedParts {
    /// Offers each part to `pool` ([`PartPool::share`]).
    fn share_parts(&mut self, pool: &mut PartPool);
}

/// Each exploring thread's parts, by type and hash.
#[derive(Default)]
pub struct PartPool {
    parts: std::collections::HashMap<
        (TypeId, u64),
        Arc<dyn Any + Send + Sync>,
        std::hash::BuildHasherDefault<FoldHasher>,
    >,
}

/// Parts a pool keeps at most; it is emptied when full (sharing is an optimisation).
const POOL_CAP: usize = 1 << 11;

impl PartPool {
    /// Replaces `part` by an equal part the pool holds, or adds it. A part some other value
    /// holds already (e.g. a table the step did not change, shared with the parent) is left
    /// as it is: it costs nothing extra, and hashing it would.
    pub fn share<T: Hash + Eq + Send + Sync + 'static>(&mut self, part: &mut Arc<T>) {
        if Arc::strong_count(part) > 1 {
            return;
        }
        let key = (TypeId::of::<T>(), fingerprint(&**part));
        match self.parts.get(&key) {
            Some(held) => {
                if held.downcast_ref::<T>().is_some_and(|same| *same == **part) {
                    *part = held.clone().downcast::<T>().expect("checked just above");
                }
            }
            None => {
                if self.parts.len() >= POOL_CAP {
                    self.parts.clear();
                }
                self.parts.insert(key, part.clone());
            }
        }
    }

    /// Lets go of the parts no state holds any more.
    pub fn trim(&mut self) {
        self.parts.retain(|_, part| Arc::strong_count(part) > 1);
    }

    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_parts_end_up_in_one_allocation() {
        let mut pool = PartPool::default();
        let mut a = Arc::new(vec![1, 2, 3]);
        let mut b = Arc::new(vec![1, 2, 3]);
        let mut c = Arc::new(vec![4]);
        pool.share(&mut a);
        pool.share(&mut b);
        pool.share(&mut c);
        assert!(
            Arc::ptr_eq(&a, &b),
            "an equal part is replaced by the held one"
        );
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(*c, vec![4]);
        // Same hash input, another type: never confused.
        let mut d: Arc<Vec<u64>> = Arc::new(vec![1, 2, 3]);
        pool.share(&mut d);
        assert_eq!(pool.len(), 3);
        // A part held elsewhere is left alone (not even added).
        let mut e = Arc::new(vec![9]);
        let _other = e.clone();
        pool.share(&mut e);
        assert_eq!(pool.len(), 3);
        // Trimming lets go of what only the pool holds.
        drop((a, b, d));
        pool.trim();
        assert_eq!(pool.len(), 1);
        drop(c);
        pool.trim();
        assert!(pool.is_empty());
    }
}
