//! How a ZBS model state travels between the workers of `zbs-mc check --timely` and the
//! processes of `zbs-mc check --hosts` (the engine's `distributed::Codec`): the actor
//! states, the messages in flight and the timers set, in bincode. The topology tree is
//! static (the model file's), so a state carries only its digest and gets the model's tree
//! back when it is decoded.

use super::model::{ModelCfg, ZbsState};
use super::{ActorState, Msg, Timer};
use crate::domain::topology::TopologyTree;
use crate::engine::distributed::Codec;
use crate::engine::fingerprint::fingerprint;
use stateright::actor::{ActorModelState, Envelope, Id, Network, RandomChoices, Timers};
use std::collections::HashMap;
use std::sync::Arc;

/// A [`ZbsState`] as it is sent.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireState<'a> {
    /// Per actor: its state's fingerprint and its state, bincode-encoded (a byte string, one
    /// copy, not a sequence of `u8`s).
    #[serde(borrow)]
    actors: Vec<(u64, &'a serde_bytes::Bytes)>,
    /// `(src, dst, msg)`, once per copy in flight.
    envelopes: Vec<(usize, usize, Msg)>,
    timers: Vec<Vec<Timer>>,
    crashed: Vec<bool>,
}

/// The codec of one model's states.
pub struct StateCodec {
    tree: Arc<TopologyTree>,
}

impl StateCodec {
    pub fn new(cfg: &ModelCfg) -> Self {
        StateCodec {
            tree: Arc::clone(&cfg.initial_meta.topology.tree),
        }
    }
}

/// Entries a worker's [`ActorCache`] keeps before it starts afresh.
const CACHE_CAP: usize = 1 << 16;

/// A worker's actor states encoded or decoded lately. A successor shares every actor state
/// but the one its step changed with its parent (the same `Arc`), and one meta state is
/// reached along many interleavings, so most actor states need not be encoded or decoded
/// again: encoding looks them up by address (the cache holds the `Arc`, so the address is
/// not reused meanwhile), decoding by fingerprint (a 64-bit collision is as likely as one
/// of the engine's state fingerprints, which its visited set trusts already).
#[derive(Default)]
pub struct ActorCache {
    encoded: HashMap<usize, (Arc<ActorState>, u64, Vec<u8>)>,
    decoded: HashMap<u64, Arc<ActorState>>,
}

impl Codec<ZbsState> for StateCodec {
    type Cache = ActorCache;

    fn encode(&self, cache: &mut ActorCache, s: &ZbsState, out: &mut Vec<u8>) {
        // ZBS actors make no random choices and keep no storage (`Random`, `Storage`: `()`).
        debug_assert!(s.random_choices.iter().all(|r| r.map.is_empty()));
        debug_assert!(s.actor_storages.iter().all(Option::is_none));
        if cache.encoded.len() >= CACHE_CAP {
            cache.encoded.clear();
        }
        for a in &s.actor_states {
            cache
                .encoded
                .entry(Arc::as_ptr(a) as usize)
                .or_insert_with(|| {
                    let bytes = bincode::serialize(&**a).expect("an actor state serialises");
                    (Arc::clone(a), fingerprint(&**a), bytes)
                });
        }
        let actors = s
            .actor_states
            .iter()
            .map(|a| {
                let (_, fp, bytes) = &cache.encoded[&(Arc::as_ptr(a) as usize)];
                (*fp, serde_bytes::Bytes::new(bytes))
            })
            .collect();
        let wire = WireState {
            actors,
            envelopes: super::model::envelopes(&s.network)
                .map(|e| (usize::from(e.src), usize::from(e.dst), e.msg.clone()))
                .collect(),
            timers: s
                .timers_set
                .iter()
                .map(|t| t.iter().cloned().collect())
                .collect(),
            crashed: s.crashed.clone(),
        };
        bincode::serialize_into(out, &wire).expect("a model state serialises");
    }

    fn decode(&self, cache: &mut ActorCache, bytes: &[u8]) -> ZbsState {
        let wire: WireState<'_> = bincode::deserialize(bytes).expect("bytes the codec encoded");
        let n = wire.actors.len();
        if cache.decoded.len() >= CACHE_CAP {
            cache.decoded.clear();
        }
        let actor_states = wire
            .actors
            .into_iter()
            .map(|(fp, bytes)| {
                let actor = cache.decoded.entry(fp).or_insert_with(|| {
                    let mut a: ActorState =
                        bincode::deserialize(bytes).expect("bytes the codec encoded");
                    if let ActorState::Meta(m) = &mut a {
                        m.meta.topology.rebind_tree(&self.tree);
                    }
                    Arc::new(a)
                });
                Arc::clone(actor)
            })
            .collect();
        let empty_timers = Timers::new();
        ActorModelState {
            actor_states,
            network: Network::new_unordered_nonduplicating(wire.envelopes.into_iter().map(
                |(src, dst, msg)| Envelope {
                    src: Id::from(src),
                    dst: Id::from(dst),
                    msg,
                },
            )),
            timers_set: wire
                .timers
                .into_iter()
                .map(|ts| {
                    // A clone, not `Timers::new()` each (ahash's shared seed counter).
                    let mut timers = empty_timers.clone();
                    for t in ts {
                        timers.set(t);
                    }
                    timers
                })
                .collect(),
            random_choices: vec![RandomChoices::default(); n],
            crashed: wire.crashed,
            history: (),
            actor_storages: vec![None; n],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::model::build;
    use crate::engine::{Options, Progress};
    use crate::scenario::Scenario;

    /// Every state of every shipped model (the first 20 000 of the larger ones), encoded
    /// and decoded, comes back equal, with the same fingerprint.
    #[test]
    fn every_state_decodes_to_itself() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .chain(std::fs::read_dir(format!("{dir}/bench")).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        assert!(files.len() > 10);
        for path in files {
            let scenario = Scenario::load(&path).unwrap();
            let cfg = scenario.model_cfg(&scenario.variant);
            let codec = StateCodec::new(&cfg);
            let model = build(cfg);
            let mut bytes = Vec::new();
            let (mut encoded, mut decoded) = (ActorCache::default(), ActorCache::default());
            let opts = Options {
                threads: 1,
                max_states: Some(20_000),
                progress: Progress::Quiet,
                ..Options::default()
            };
            let mut round_trip = |s: &ZbsState| {
                bytes.clear();
                codec.encode(&mut encoded, s, &mut bytes);
                let back = codec.decode(&mut decoded, &bytes);
                for (a, b) in s.actor_states.iter().zip(&back.actor_states) {
                    assert_eq!(
                        a,
                        b,
                        "{}: an actor state decodes to another",
                        path.display()
                    );
                }
                assert_eq!(&back, s, "{}", path.display());
                assert_eq!(
                    crate::engine::fingerprint::fingerprint(&back),
                    crate::engine::fingerprint::fingerprint(s),
                    "{}",
                    path.display()
                );
            };
            crate::engine::Checker::actors(&model)
                .options(opts)
                .observe(&mut round_trip)
                .check();
        }
    }
}
