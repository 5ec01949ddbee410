//! [`Shared`]: a table shared between copies of a state until one of them changes it.
//!
//! The checker keeps hundreds of thousands of meta states, each a copy of its predecessor with
//! one step applied, and a step touches one or two of meta's tables. Wrapping each table in a
//! `Shared` makes a copy of the meta cost a few reference-count increments, a change copy just
//! the table it changes (copy-on-write), and two copies that share a table compare equal on it
//! without looking inside. Reading and writing go through `Deref`/`DerefMut`, so the ZBS code
//! reads exactly as if the table were held by value.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A copy-on-write table: `Deref` reads it, `DerefMut` copies it first if another state
/// shares it.
#[derive(Clone, Default)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }
}

impl<T> Shared<T> {
    /// The allocation itself, for a caller that may swap it for an equal one (the checker
    /// sharing equal tables between states).
    pub fn allocation_mut(&mut self) -> &mut Arc<T> {
        &mut self.0
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<'a, T> IntoIterator for &'a Shared<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        (&*self.0).into_iter()
    }
}

impl<T: FromIterator<A>, A> FromIterator<A> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = A>>(iter: I) -> Self {
        Shared::new(iter.into_iter().collect())
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        // One allocation: one value, without comparing it.
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl<T: Eq> Eq for Shared<T> {}

/// Serialised as the table it holds (states travel between the processes of
/// `zbs-mc check --hosts`); a deserialised table is shared with nobody yet.
impl<T: serde::Serialize> serde::Serialize for Shared<T> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(ser)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Shared<T> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        T::deserialize(de).map(Shared::new)
    }
}

impl<T: Hash> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<T: PartialOrd> PartialOrd for Shared<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.0.partial_cmp(&other.0)
    }
}

impl<T: Ord> Ord for Shared<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_copies_only_a_shared_table() {
        let a = Shared::new(vec![1, 2, 3]);
        let mut b = a.clone();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, b);
        b.push(4);
        assert_eq!(*a, vec![1, 2, 3], "the original is untouched");
        assert_eq!(*b, vec![1, 2, 3, 4]);
        assert_ne!(a, b);
        // Equal values in distinct allocations are equal, and hash alike.
        let c = Shared::new(vec![1, 2, 3, 4]);
        assert_eq!(b, c);
        let h = |x: &Shared<Vec<i32>>| crate::engine::fingerprint::fingerprint(x);
        assert_eq!(h(&b), h(&c));
    }
}
