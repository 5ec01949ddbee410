//! The engine's representation of stateright `ActorModel` states.
//!
//! An `ActorModelState` is mostly shared with its parent: a step changes one actor's state,
//! the network, maybe a timer, and stateright keeps each actor state behind its own `Arc`, so
//! the actors that did not change are the very same allocations as in the parent. Two things
//! follow, and they are what this module does:
//!
//! * **Incremental fingerprints.** A state's fingerprint folds one hash per actor state,
//!   one for the network and one for the rest (timers, crashes, history, storage). A
//!   successor re-hashes only the actors whose `Arc` differs from the parent's and reuses the
//!   parent's hash for the others: the meta's chunk table and topology, by far the largest
//!   part of a ZBS state, are hashed once per state that changes them instead of once per
//!   successor. Equal states get equal fingerprints whatever their history, since each part
//!   is hashed by value; the network and timer sets, being unordered, are hashed as the sum
//!   of their elements' hashes (a multiset hash), not by sorting.
//! * **Packed frontier states.** A frontier state keeps the actor `Arc`s, its messages as a
//!   plain slice, and the rest behind an `Arc` shared with its parent whenever the step left
//!   it unchanged — instead of an `ActorModelState` with a hash map for the network, a hash
//!   set per actor for its timers, and a map per actor for random choices. The full state is
//!   rebuilt when the state is expanded.
//!
//! Everything else — which actions exist, what they do — stays stateright's: the engine
//! still calls `ActorModel::actions` and `next_state` on unpacked states.

use super::fingerprint::{Fingerprint, FoldHasher, fingerprint};
use super::repr::Repr;
use super::symmetry::Canon;
use stateright::actor::{
    Actor, ActorModel, ActorModelState, Envelope, Network, RandomChoices, Timers,
};
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// `ActorModel` states, canonicalised by `C`, fingerprinted incrementally and packed.
pub(crate) struct Actors<C>(pub C);

/// What of an `ActorModelState` is neither an actor state nor the network: rarely changed
/// by a step, so shared between a packed state and its parent.
pub(crate) struct Rest<A: Actor, H> {
    timers_set: Vec<Timers<A::Timer>>,
    random_choices: Vec<RandomChoices<A::Random>>,
    crashed: Vec<bool>,
    history: H,
    actor_storages: Vec<Option<A::Storage>>,
}

/// The network of a packed state.
pub(crate) enum PackedNetwork<Msg: Eq + Hash> {
    /// An unordered, non-duplicating network: each envelope with its multiplicity.
    Multiset(Box<[(Envelope<Msg>, u32)]>),
    /// Any other kind of network, kept as it is.
    Other(Box<Network<Msg>>),
}

/// A frontier state.
pub(crate) struct PackedActors<A: Actor, H> {
    actors: Box<[Arc<A::State>]>,
    network: PackedNetwork<A::Msg>,
    rest: Arc<Rest<A, H>>,
}

/// A parent's part hashes, reused for the parts its successors share with it.
pub(crate) struct ActorMemo {
    actors: Vec<u64>,
}

/// A multiset of hashes, order-independent: the sum of well-mixed element hashes.
fn multiset_hash<T: Hash>(items: impl Iterator<Item = T>) -> u64 {
    items.fold(0u64, |acc, x| acc.wrapping_add(fingerprint(&x)))
}

fn network_hash<Msg: Eq + Hash>(network: &Network<Msg>) -> u64 {
    match network {
        Network::UnorderedNonDuplicating(multiset) => multiset_hash(multiset.iter()),
        other => fingerprint(other),
    }
}

fn rest_hash<A: Actor, H: Hash>(s: &ActorModelState<A, H>) -> u64 {
    let mut h = FoldHasher::default();
    for timers in &s.timers_set {
        h.write_u64(multiset_hash(timers.iter()));
    }
    h.write_u64(fingerprint(&s.random_choices));
    h.write_u64(fingerprint(&s.crashed));
    h.write_u64(fingerprint(&s.history));
    h.write_u64(fingerprint(&s.actor_storages));
    h.finish()
}

fn rest_eq<A: Actor, H: PartialEq>(a: &ActorModelState<A, H>, b: &ActorModelState<A, H>) -> bool {
    a.crashed == b.crashed
        && a.timers_set == b.timers_set
        && a.history == b.history
        && a.random_choices == b.random_choices
        && a.actor_storages == b.actor_storages
}

/// The state's fingerprint from its part hashes.
fn combine(actors: impl Iterator<Item = u64>, network: u64, rest: u64) -> Fingerprint {
    let mut h = FoldHasher::default();
    for a in actors {
        h.write_u64(a);
    }
    h.write_u64(network);
    h.write_u64(rest);
    match h.finish() {
        0 => 1,
        f => f,
    }
}

impl<A, Cfg, H, C> Repr<ActorModel<A, Cfg, H>> for Actors<C>
where
    A: Actor + Sync + Send,
    A::Msg: Ord + Send + Sync,
    A::Timer: Ord + Send + Sync,
    A::State: Send + Sync,
    A::Random: Send + Sync,
    A::Storage: Send + Sync,
    H: Clone + Debug + Hash + PartialEq + Send + Sync,
    C: Canon<ActorModel<A, Cfg, H>>,
{
    type Packed = PackedActors<A, H>;
    type Memo = ActorMemo;
    const LOSSY: bool = true;

    #[inline(always)]
    fn canon(
        &self,
        model: &ActorModel<A, Cfg, H>,
        s: ActorModelState<A, H>,
    ) -> ActorModelState<A, H> {
        self.0.canon(model, s)
    }

    fn fingerprint(&self, s: &ActorModelState<A, H>) -> Fingerprint {
        combine(
            s.actor_states.iter().map(|a| fingerprint(&**a)),
            network_hash(&s.network),
            rest_hash(s),
        )
    }

    fn memo(&self, s: &ActorModelState<A, H>) -> ActorMemo {
        ActorMemo {
            actors: s.actor_states.iter().map(|a| fingerprint(&**a)).collect(),
        }
    }

    fn child_fingerprint(
        &self,
        memo: &ActorMemo,
        parent: &ActorModelState<A, H>,
        child: &ActorModelState<A, H>,
    ) -> Fingerprint {
        let actors = child.actor_states.iter().enumerate().map(|(i, a)| {
            match parent.actor_states.get(i) {
                // The same allocation: the same value, so the parent's hash.
                Some(p) if Arc::ptr_eq(p, a) => memo.actors[i],
                _ => fingerprint(&**a),
            }
        });
        combine(actors, network_hash(&child.network), rest_hash(child))
    }

    fn pack(
        &self,
        s: ActorModelState<A, H>,
        parent: Option<(&ActorModelState<A, H>, &PackedActors<A, H>)>,
    ) -> PackedActors<A, H> {
        let rest = match parent {
            Some((p, packed)) if rest_eq(&s, p) => packed.rest.clone(),
            _ => Arc::new(Rest {
                timers_set: s.timers_set,
                random_choices: s.random_choices,
                crashed: s.crashed,
                history: s.history,
                actor_storages: s.actor_storages,
            }),
        };
        let network = match s.network {
            Network::UnorderedNonDuplicating(multiset) => PackedNetwork::Multiset(
                multiset
                    .iter()
                    .map(|(e, &n)| (e.clone(), u32::try_from(n).expect("< 2^32 copies")))
                    .collect(),
            ),
            other => PackedNetwork::Other(Box::new(other)),
        };
        PackedActors {
            actors: s.actor_states.into_boxed_slice(),
            network,
            rest,
        }
    }

    fn unpack<'a>(&self, p: &'a PackedActors<A, H>) -> Cow<'a, ActorModelState<A, H>> {
        let network = match &p.network {
            PackedNetwork::Multiset(envelopes) => Network::new_unordered_nonduplicating(
                envelopes
                    .iter()
                    .flat_map(|(e, n)| std::iter::repeat_n(e, *n as usize).cloned()),
            ),
            PackedNetwork::Other(n) => Network::clone(n),
        };
        let rest = &*p.rest;
        Cow::Owned(ActorModelState {
            actor_states: p.actors.to_vec(),
            network,
            timers_set: rest.timers_set.clone(),
            random_choices: rest.random_choices.clone(),
            crashed: rest.crashed.clone(),
            history: rest.history.clone(),
            actor_storages: rest.actor_storages.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    //! The representation's contract on the ZBS model: fingerprints are values, successors'
    //! incremental fingerprints equal full ones, packing loses nothing.
    use super::*;
    use crate::actors::model::{ZbsModel, ZbsState};
    use crate::engine::symmetry::Identity;
    use stateright::Model;

    type R = Actors<Identity>;
    type P = PackedActors<crate::actors::ZbsActor, ()>;

    fn fp(s: &ZbsState) -> Fingerprint {
        <R as Repr<ZbsModel>>::fingerprint(&Actors(Identity), s)
    }
    fn child_fp(memo: &ActorMemo, parent: &ZbsState, child: &ZbsState) -> Fingerprint {
        <R as Repr<ZbsModel>>::child_fingerprint(&Actors(Identity), memo, parent, child)
    }
    fn memo(s: &ZbsState) -> ActorMemo {
        <R as Repr<ZbsModel>>::memo(&Actors(Identity), s)
    }
    fn pack(s: ZbsState, parent: Option<(&ZbsState, &P)>) -> P {
        <R as Repr<ZbsModel>>::pack(&Actors(Identity), s, parent)
    }
    fn unpack(p: &P) -> ZbsState {
        <R as Repr<ZbsModel>>::unpack(&Actors(Identity), p).into_owned()
    }

    fn zbs() -> ZbsModel {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/recover-and-migrate.toml"
        );
        let scenario = crate::scenario::Scenario::load(std::path::Path::new(path)).unwrap();
        crate::actors::model::build(scenario.model_cfg(&scenario.variant))
    }

    #[test]
    fn incremental_fingerprints_and_packing_agree_with_whole_states() {
        let model = zbs();
        let mut frontier = model.init_states();
        let mut seen: std::collections::HashMap<Fingerprint, ZbsState> = Default::default();
        let mut checked = 0;
        while let Some(s) = frontier.pop() {
            // A fingerprint is a function of the value: a state reached twice (a fresh
            // allocation each time) gets the same one, and distinct states differ.
            if let Some(prev) = seen.insert(fp(&s), s.clone()) {
                assert_eq!(prev, s, "fingerprint collision");
                continue;
            }
            let m = memo(&s);
            let packed = pack(s.clone(), None);
            assert_eq!(unpack(&packed), s);
            let mut actions = Vec::new();
            model.actions(&s, &mut actions);
            for a in actions {
                let Some(next) = model.next_state(&s, a) else {
                    continue;
                };
                // The same value in allocations of its own: nothing shared with the parent.
                let fresh = ActorModelState {
                    actor_states: next
                        .actor_states
                        .iter()
                        .map(|a| Arc::new(crate::actors::ActorState::clone(a)))
                        .collect(),
                    ..next.clone()
                };
                let incremental = child_fp(&m, &s, &next);
                assert_eq!(incremental, fp(&next));
                assert_eq!(incremental, fp(&fresh));
                let child = pack(next.clone(), Some((&s, &packed)));
                assert_eq!(unpack(&child), next);
                checked += 1;
                if seen.len() < 3000 {
                    frontier.push(next);
                }
            }
        }
        assert!(checked > 3000, "{checked} successors checked");
    }
}
