//! The engine's own small actor model, for its unit tests: a hub and a few workers.
//!
//! Each worker counts up on a timer and reports every count to the hub; the hub keeps the
//! highest count per worker in a copy-on-write table (a part the engine may share, like a
//! real model's tables) and acknowledges it. Levels grow from one state to thousands, every
//! step is a delivery or a timeout, and one property fails several steps deep.

use super::liveness::{FairClass, FairModel};
use super::parts::{PartPool, SharedParts};
use super::symmetry::SymmetricModel;
use stateright::actor::{Actor, ActorModel, ActorModelAction, Id, Network, Out};
use stateright::{Expectation, Model};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Msg {
    /// A worker's count, for the hub.
    Report(u8),
    /// The hub has recorded this count.
    Ack(u8),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Timer {
    Tick,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum State {
    /// The highest count heard from each worker (by actor index), and whether a report
    /// arrived out of order (a lower count after a higher one).
    Hub {
        table: Arc<BTreeMap<usize, u8>>,
        reordered: bool,
    },
    Worker {
        count: u8,
        acked: u8,
    },
}

impl SharedParts for State {
    fn share_parts(&mut self, pool: &mut PartPool) {
        match self {
            State::Hub { table, .. } => pool.share(table),
            State::Worker { .. } => {}
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Hub,
    /// Counts up to this.
    Worker(u8),
}

impl Actor for Node {
    type Msg = Msg;
    type Timer = Timer;
    type State = State;
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> State {
        match self {
            Node::Hub => State::Hub {
                table: Arc::default(),
                reordered: false,
            },
            Node::Worker(_) => {
                o.set_timer(
                    Timer::Tick,
                    std::time::Duration::ZERO..std::time::Duration::ZERO,
                );
                State::Worker { count: 0, acked: 0 }
            }
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<State>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match (msg, self) {
            (Msg::Report(n), Node::Hub) => {
                if let State::Hub { table, reordered } = state.to_mut() {
                    let entry = Arc::make_mut(table).entry(usize::from(src)).or_default();
                    *reordered |= n < *entry;
                    *entry = (*entry).max(n);
                }
                o.send(src, Msg::Ack(n));
            }
            (Msg::Ack(n), Node::Worker(_)) => {
                if let State::Worker { acked, .. } = state.to_mut() {
                    *acked = (*acked).max(n);
                }
            }
            (Msg::Report(_), Node::Worker(_)) | (Msg::Ack(_), Node::Hub) => {}
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<State>, timer: &Timer, o: &mut Out<Self>) {
        match (timer, self) {
            (Timer::Tick, Node::Worker(limit)) => {
                if let State::Worker { count, .. } = state.to_mut()
                    && *count < *limit
                {
                    *count += 1;
                    o.send(Id::from(0), Msg::Report(*count));
                    o.set_timer(
                        Timer::Tick,
                        std::time::Duration::ZERO..std::time::Duration::ZERO,
                    );
                }
            }
            (Timer::Tick, Node::Hub) => {}
        }
    }
}

pub(crate) type Hub = ActorModel<Node, (), ()>;
pub(crate) type HubState = <Hub as Model>::State;

/// A hub and `workers` workers counting to `limit`.
pub(crate) fn hub(workers: usize, limit: u8) -> Hub {
    let mut m = ActorModel::new((), ()).actor(Node::Hub);
    for _ in 0..workers {
        m = m.actor(Node::Worker(limit));
    }
    m.init_network(Network::new_unordered_nonduplicating([]))
        .property(Expectation::Always, "hub never ahead of a worker", |_, s| {
            let State::Hub { table, .. } = &*s.actor_states[0] else {
                return false;
            };
            table.iter().all(
                |(&w, &n)| matches!(&*s.actor_states[w], State::Worker { count, .. } if n <= *count),
            )
        })
        .property(
            Expectation::Always,
            "no worker acknowledged twice before another reports",
            |_, s| {
                let acked = |a: &State| matches!(a, State::Worker { acked, .. } if *acked >= 2);
                let silent = |a: &State| matches!(a, State::Worker { count: 0, .. });
                !(s.actor_states.iter().any(|a| acked(a)) && s.actor_states.iter().any(|a| silent(a)))
            },
        )
        .property(Expectation::Sometimes, "every count recorded", |m, s| {
            let State::Hub { table, .. } = &*s.actor_states[0] else {
                return false;
            };
            table.len() + 1 == m.actors.len()
                && table
                    .values()
                    .all(|&n| matches!(m.actors[1], Node::Worker(limit) if n == limit))
        })
}

/// No reduction.
impl SymmetricModel for Hub {
    fn canonical(&self, s: &HubState) -> HubState {
        s.clone()
    }
}

/// Every worker's tick and every delivery is fair (one class each).
impl FairModel for Hub {
    fn fairness(&self, a: &<Hub as Model>::Action) -> Option<FairClass> {
        match a {
            ActorModelAction::Deliver { .. } => Some(FairClass(0)),
            ActorModelAction::Timeout(..) => Some(FairClass(1)),
            ActorModelAction::Drop(_)
            | ActorModelAction::Crash(_)
            | ActorModelAction::Recover(_)
            | ActorModelAction::SelectRandom { .. } => None,
        }
    }
}
