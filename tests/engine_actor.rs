//! stateright's `ActorModel` works with our engine, with the same state count as stateright.

use stateright::actor::{Actor, ActorModel, Id, Network, Out};
use stateright::{Checker as _, Expectation, Model};
use std::borrow::Cow;
use zbs_mc::engine::{Options, Progress, Verdict};

/// Two actors bounce a counter until it reaches `max`.
#[derive(Clone)]
struct Pinger {
    peer: Id,
    max: u8,
}

impl Actor for Pinger {
    type Msg = u8;
    type State = u8;
    type Timer = ();
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _: &Option<()>, o: &mut Out<Self>) -> u8 {
        if usize::from(id) == 0 {
            o.send(self.peer, 1);
        }
        0
    }

    fn on_msg(&self, _: Id, state: &mut Cow<u8>, src: Id, msg: u8, o: &mut Out<Self>) {
        *state.to_mut() = msg;
        if msg < self.max {
            o.send(src, msg + 1);
        }
    }
}

fn model(max: u8) -> ActorModel<Pinger, (), ()> {
    ActorModel::new((), ())
        .actor(Pinger {
            peer: Id::from(1),
            max,
        })
        .actor(Pinger {
            peer: Id::from(0),
            max,
        })
        .init_network(Network::new_unordered_nonduplicating([]))
        .property(Expectation::Always, "BelowMax", |m, s| {
            s.actor_states.iter().all(|a| **a < m.actors[0].max)
        })
        .property(Expectation::Sometimes, "ReachesThree", |_, s| {
            s.actor_states.iter().any(|a| **a == 3)
        })
}

#[test]
fn actor_model_counts_and_traces() {
    let out = zbs_mc::engine::Checker::new(&model(5))
        .options(Options {
            threads: 2,
            progress: Progress::Quiet,
            stop_when_decided: false,
            ..Options::default()
        })
        .check()
        .safety;
    let sr = model(5).checker().spawn_bfs().join();
    assert!(out.complete);
    assert_eq!(out.unique_states, sr.unique_state_count() as u64);
    let below = out.property("BelowMax").unwrap();
    assert_eq!(below.verdict, Verdict::Violated);
    let t = below.trace.as_ref().unwrap();
    assert_eq!(t.len(), 5, "five deliveries take the counter to 5");
    assert!(t.is_valid_for(&model(5)));
    let three = out.property("ReachesThree").unwrap();
    assert_eq!(three.verdict, Verdict::Holds);
    assert_eq!(three.trace.as_ref().unwrap().len(), 3);
}

/// The engine's actor representation (incremental fingerprints, packed frontier) explores the
/// ZBS models exactly as the plain one does: same states, depth, verdicts, and the very same
/// counterexamples, step by step — with one thread and with two.
#[test]
fn actor_representation_matches_the_plain_one_on_zbs_models() {
    use zbs_mc::actors::model::build;
    use zbs_mc::scenario::Scenario;
    for name in [
        "incident-a-lease-leak.toml",
        "incident-a-revoked-replace.toml",
        "recover-and-migrate.toml",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(name);
        let s = Scenario::load(&path).unwrap();
        let m = build(s.model_cfg(&s.variant));
        for threads in [1, 2] {
            let o = Options {
                threads,
                stop_when_decided: false,
                progress: Progress::Quiet,
                ..Options::default()
            };
            let plain = zbs_mc::engine::Checker::new(&m)
                .options(o.clone())
                .check()
                .safety;
            let packed = zbs_mc::engine::Checker::actors(&m)
                .options(o.clone())
                .check()
                .safety;
            assert_eq!(plain.unique_states, packed.unique_states, "{name}");
            assert_eq!(plain.max_depth, packed.max_depth, "{name}");
            for (a, b) in plain.properties.iter().zip(&packed.properties) {
                assert_eq!((a.name, a.verdict), (b.name, b.verdict), "{name}");
                let steps = |p: &zbs_mc::engine::PropertyResult<_>| {
                    p.trace.as_ref().map(|t| {
                        t.steps
                            .iter()
                            .map(|(a, _)| format!("{a:?}"))
                            .collect::<Vec<_>>()
                    })
                };
                assert_eq!(steps(a), steps(b), "{name}: {}", a.name);
            }
        }
    }
}

/// The actor representation's shortcuts are exact on the ZBS model: on every successor of
/// the first 3,000 states of recover-and-migrate, the unbuilt and the incremental
/// fingerprints are the built successor's (`engine::check_actor_repr` panics otherwise), and
/// every ZBS step is one the shortcut covers (a delivery or a timeout).
#[test]
fn the_actor_representation_is_exact_on_a_zbs_model() {
    use zbs_mc::actors::model::build;
    use zbs_mc::scenario::Scenario;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/recover-and-migrate.toml");
    let s = Scenario::load(&path).unwrap();
    let m = build(s.model_cfg(&s.variant));
    let (checked, fast) = zbs_mc::engine::check_actor_repr(&m, 3000);
    assert!(checked > 3000, "{checked} successors checked");
    assert_eq!(fast, checked, "every ZBS step is a delivery or a timeout");
}

/// Fingerprints never merge distinct ZBS states: the engine's count equals a breadth-first
/// search that tells states apart by `Eq` alone (a `HashSet` of whole states).
///
/// Regression: with `im` collections in the meta tables, whose `Hash` writes no length,
/// a migrate candidate moved from `passive_waiting_migrate_` to `active_waiting_migrate_`
/// hashed the same, and 8 of 1,228 states of incident-a-revoked-replace were silently
/// skipped (1,220 explored) — by our engine and by stateright's alike.
#[test]
fn fingerprints_do_not_merge_distinct_zbs_states() {
    use std::collections::{HashSet, VecDeque};
    use zbs_mc::actors::model::build;
    use zbs_mc::scenario::Scenario;
    for (name, states) in [
        ("incident-a-lease-leak.toml", 1229),
        ("incident-a-revoked-replace.toml", 1200),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(name);
        let s = Scenario::load(&path).unwrap();
        let m = build(s.model_cfg(&s.variant));
        let mut seen: HashSet<_> = m.init_states().into_iter().collect();
        let mut queue: VecDeque<_> = seen.iter().cloned().collect();
        let mut actions = Vec::new();
        while let Some(st) = queue.pop_front() {
            m.actions(&st, &mut actions);
            for a in actions.drain(..) {
                if let Some(next) = m.next_state(&st, a)
                    && seen.insert(next.clone())
                {
                    queue.push_back(next);
                }
            }
        }
        assert_eq!(seen.len(), states, "{name}: states told apart by Eq");
        let o = Options {
            stop_when_decided: false,
            progress: Progress::Quiet,
            ..Options::default()
        };
        assert_eq!(
            zbs_mc::engine::Checker::actors(&m)
                .options(o.clone())
                .check()
                .safety
                .unique_states,
            states as u64,
            "{name}: our engine"
        );
        assert_eq!(
            zbs_mc::engine::Checker::new(&m)
                .options(o.clone())
                .check()
                .safety
                .unique_states,
            states as u64,
            "{name}"
        );
    }
}
