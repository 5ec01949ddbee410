//! Symmetry reduction hooks.
//!
//! The engine is generic over a [`Canon`] so that the non-symmetric path compiles to the
//! identity with no cost, and the symmetric path calls [`SymmetricModel::canonical`].

use stateright::Model;

/// A model whose state space is invariant under a group of permutations (e.g. of process ids).
///
/// Contract (what makes the reduction sound): for every state `s` and group element `π`,
/// `canonical(π·s) == canonical(s)`, `canonical(s)` is in the orbit of `s`, and the transition
/// relation commutes with `π` (`π·s → π·t` whenever `s → t`). Checked properties must be
/// invariant too (`P(π·s) == P(s)`).
pub trait SymmetricModel: Model {
    /// The orbit representative of `s`.
    fn canonical(&self, s: &Self::State) -> Self::State;
}

/// How states are mapped before they are fingerprinted and stored.
pub(crate) trait Canon<M: Model>: Sync {
    /// Whether `canon` returns its argument unchanged (no reduction).
    const IDENTITY: bool;
    fn canon(&self, model: &M, s: M::State) -> M::State;
}

/// No reduction.
pub(crate) struct Identity;

impl<M: Model> Canon<M> for Identity {
    const IDENTITY: bool = true;
    #[inline(always)]
    fn canon(&self, _model: &M, s: M::State) -> M::State {
        s
    }
}

/// Reduction by [`SymmetricModel::canonical`].
pub(crate) struct Canonical;

impl<M: SymmetricModel> Canon<M> for Canonical {
    const IDENTITY: bool = false;
    #[inline(always)]
    fn canon(&self, model: &M, s: M::State) -> M::State {
        model.canonical(&s)
    }
}
