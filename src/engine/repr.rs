//! How the engine keeps and identifies states: canonicalisation, fingerprints, and the form
//! a state takes while it waits in the BFS frontier.
//!
//! [`Plain`] works for every model: a state is stored as it is and fingerprinted through its
//! `Hash`. Models whose states are large and mostly shared between a state and its
//! successors get a representation of their own: [`super::actor_repr::Actors`] for
//! stateright's `ActorModel`, which fingerprints a successor by re-hashing only the actors
//! that changed and keeps frontier states packed (see that module).

use super::fingerprint::{Fingerprint, fingerprint};
use super::symmetry::Canon;
use stateright::Model;
use std::borrow::Cow;
use std::hash::Hash;

/// What [`Repr::successor_fingerprint`] tells of the successor an action leads to, without
/// building it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unbuilt<T> {
    /// The representation cannot tell: build the successor (`Model::next_state`).
    Unknown,
    /// The action has no successor.
    Disabled,
    /// The successor's fingerprint, with what packing that very successor can reuse: the
    /// caller hands the token to [`Repr::pack_sharing`] with the built successor (or drops
    /// it), so no scratch state has to stay paired with the call that made it.
    Known(Fingerprint, T),
}

impl<T: Copy + Default> Unbuilt<T> {
    /// The fingerprint, if known.
    pub(crate) fn fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Unbuilt::Known(fp, _) => Some(*fp),
            Unbuilt::Unknown | Unbuilt::Disabled => None,
        }
    }
    /// The token for [`Repr::pack_sharing`]: the default one (nothing known) unless the
    /// fingerprint is known.
    pub(crate) fn token(&self) -> T {
        match self {
            Unbuilt::Known(_, t) => *t,
            Unbuilt::Unknown | Unbuilt::Disabled => T::default(),
        }
    }
}

/// A state representation for the engine.
///
/// Contract: `fingerprint` depends on the state's value only (equal states, equal
/// fingerprints, whatever their history); `child_fingerprint(memo(p), p, c) ==
/// fingerprint(c)`; `unpack(pack(s, _)) == s`.
pub(crate) trait Repr<M: Model>: Sync
where
    M::State: Clone,
{
    /// A frontier state.
    type Packed: Send + Sync;
    /// What a parent's fingerprinting leaves behind to make its successors' cheaper.
    type Memo;
    /// Each exploring thread's own working memory (e.g. a cache), for
    /// `successor_fingerprint`.
    type Scratch: Default + Send;
    /// What fingerprinting a successor unbuilt learnt that packing it can reuse
    /// ([`Unbuilt::Known`]); the default token knows nothing.
    type Token: Copy + Default;

    /// The state stored for `s` (its orbit representative under symmetry).
    fn canon(&self, model: &M, s: M::State) -> M::State;
    /// The fingerprint of a (canonical) state.
    fn fingerprint(&self, s: &M::State) -> Fingerprint;
    /// What fingerprinting `s`'s successors can reuse of `s`.
    fn memo(&self, s: &M::State) -> Self::Memo;
    /// [`Repr::memo`] of `s`, the unpacked `packed`, whose packed parts may carry their hashes.
    fn memo_packed(&self, _packed: &Self::Packed, s: &M::State) -> Self::Memo {
        self.memo(s)
    }
    /// The fingerprint of `child`, a successor of `parent` (whose memo is given).
    fn child_fingerprint(
        &self,
        memo: &Self::Memo,
        parent: &M::State,
        child: &M::State,
    ) -> Fingerprint;
    /// The fingerprint of the successor `action` leads to from `parent`, computed without
    /// building it (see [`Unbuilt`]). Lets the engine drop a duplicate successor for the
    /// price of a hash; equal to `child_fingerprint` of the built successor.
    fn successor_fingerprint(
        &self,
        _model: &M,
        _memo: &Self::Memo,
        _scratch: &mut Self::Scratch,
        _parent: &M::State,
        _action: &M::Action,
    ) -> Unbuilt<Self::Token> {
        Unbuilt::Unknown
    }
    /// `s` packed for the frontier; `parent` (its parent, unpacked and packed) lets a
    /// representation share what did not change.
    fn pack(&self, s: M::State, parent: Option<(&M::State, &Self::Packed)>) -> Self::Packed;
    /// [`Repr::pack`] of a successor, with this thread's scratch to share parts with other
    /// recently packed states; `token`: what fingerprinting this successor unbuilt gave
    /// ([`Unbuilt::token`]).
    fn pack_sharing(
        &self,
        _scratch: &mut Self::Scratch,
        s: M::State,
        parent: (&M::State, &Self::Packed),
        _token: Self::Token,
    ) -> Self::Packed {
        self.pack(s, Some(parent))
    }
    /// The state back from its packed form.
    fn unpack<'a>(&self, p: &'a Self::Packed) -> Cow<'a, M::State>;
    /// Lets go of the parts `scratch` keeps for sharing that no packed state holds any more
    /// (called between levels, once the expanded level is gone).
    fn trim_parts(&self, _scratch: &mut Self::Scratch) {}
}

/// States kept as they are, fingerprinted whole; `C` canonicalises them.
pub(crate) struct Plain<C>(pub C);

impl<M, C> Repr<M> for Plain<C>
where
    M: Model,
    C: Canon<M>,
    M::State: Clone + Hash + Send + Sync,
{
    type Packed = M::State;
    type Memo = ();
    type Scratch = ();
    type Token = ();

    #[inline(always)]
    fn canon(&self, model: &M, s: M::State) -> M::State {
        self.0.canon(model, s)
    }
    #[inline(always)]
    fn fingerprint(&self, s: &M::State) -> Fingerprint {
        fingerprint(s)
    }
    #[inline(always)]
    fn memo(&self, _: &M::State) {}
    #[inline(always)]
    fn child_fingerprint(&self, _: &(), _: &M::State, child: &M::State) -> Fingerprint {
        fingerprint(child)
    }
    #[inline(always)]
    fn pack(&self, s: M::State, _: Option<(&M::State, &M::State)>) -> M::State {
        s
    }
    #[inline(always)]
    fn unpack<'a>(&self, p: &'a M::State) -> Cow<'a, M::State> {
        Cow::Borrowed(p)
    }
}
