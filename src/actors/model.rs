//! Builds the stateright `ActorModel` from a scenario, and gives properties and renderers a
//! plain view ([`SystemView`]) of one model state.

use super::client::ClientState;
use super::meta::MetaNode;
use super::operator::OperatorState;
use super::{ActorState, Msg, ZbsActor};
use crate::domain::meta::{Meta, MetaConfig};
use crate::domain::session::ChunkSession;
use crate::domain::topology::NodeIx;
use crate::domain::{Cid, Pid};
use crate::properties;
use stateright::actor::{ActorModel, ActorModelState, Envelope, Id, Network};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How much nondeterministic work the model may do: what keeps exploration finite.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Budgets {
    /// `DoScan()` runs; `None`: unbounded (a scan that changes nothing is then no step at all,
    /// so exploration stays finite as long as the policy converges).
    pub scans: Option<u8>,
    /// `ReGenerateWaitingMigrateList()` runs; `None`: unbounded, as for `scans`.
    pub migrate_scans: Option<u8>,
    /// `[UPDATE TOPO OBJ]` requests, chosen among the model file's `topology_updates`.
    pub topo_updates: u8,
    /// App IO requests, on any of the IO pids.
    pub app_io: u8,
    /// Chunk losses, chosen among the model file's `chunk_failures`.
    pub chunk_failures: u8,
    /// Manual migrate RPCs (`zbs-meta migrate create`), among the model file's
    /// `manual_migrates`; `None`: unbounded (the operator re-runs a request once its last run
    /// returned).
    pub manual_migrates: Option<u8>,
    /// Missed heartbeats (abstract ticks) each chunk of `[[heartbeat_losses]]` may suffer;
    /// two in a row expire its session (KeepAlive → Jeopardy → Expired). Default 0.
    pub missed_heartbeats: u8,
    /// Snapshots of the model file's `[volume]` (`None`: unbounded, one a minute for ever);
    /// default 0.
    pub snapshots: Option<u8>,
}

/// Everything static about one model: shared by all actors, never part of a state.
#[derive(Debug)]
pub struct ModelCfg {
    pub name: String,
    pub meta: MetaConfig,
    pub initial_meta: Meta,
    /// Chunk cids in actor order: chunk `chunk_cids[i]` is actor `i + 1`.
    pub chunk_cids: Vec<Cid>,
    /// Leases each chunk's libmeta caches at the start.
    pub initial_cache: BTreeMap<Cid, Vec<Pid>>,
    pub budgets: Budgets,
    /// The topology updates the operator may send: move `cid` below `new_parent`.
    pub topo_updates: Vec<(Cid, NodeIx)>,
    /// Pids the client may issue app IO on.
    pub io_pids: Vec<Pid>,
    /// Chunks the operator may lose.
    pub chunk_failures: Vec<Cid>,
    /// Chunks whose sessions may miss heartbeats (`[[heartbeat_losses]]`), each up to
    /// `budgets.missed_heartbeats` times.
    pub heartbeat_losses: Vec<Cid>,
    /// The manual migrates the operator may run (`[[manual_migrates]]`).
    pub manual_migrates: Vec<crate::domain::manual_migrate::MigrateRequest>,
    /// Running recovers copy in ticks against `recover_timeout_ms` (`[recover_pace]`,
    /// incident B); `None`: a copy is one `Execute` step and never times out.
    pub recover_pace: Option<crate::domain::recover_handler::RecoverPace>,
    /// Classes of interchangeable pids (filled by [`build`]; see `symmetry.rs`).
    /// Computed by [`build`] from the rest of the configuration.
    pub symmetry: super::symmetry::Symmetry,
}

impl ModelCfg {
    pub fn meta_id(&self) -> Id {
        Id::from(0)
    }

    pub fn chunk_id(&self, cid: Cid) -> Id {
        let ix = self
            .chunk_cids
            .iter()
            .position(|&c| c == cid)
            .expect("every cid the meta names is a chunk actor");
        Id::from(ix + 1)
    }

    pub fn cid_of(&self, id: Id) -> Option<Cid> {
        usize::from(id)
            .checked_sub(1)
            .and_then(|ix| self.chunk_cids.get(ix).copied())
    }

    pub fn operator_id(&self) -> Id {
        Id::from(self.chunk_cids.len() + 1)
    }

    pub fn client_id(&self) -> Id {
        Id::from(self.chunk_cids.len() + 2)
    }

    /// Who an actor id is, as traces name it.
    pub fn actor_name(&self, id: Id) -> String {
        match usize::from(id) {
            0 => "meta".to_string(),
            _ if id == self.operator_id() => "operator".to_string(),
            _ if id == self.client_id() => "client".to_string(),
            _ => format!("chunk-{}", self.cid_of(id).unwrap_or(0)),
        }
    }
}

/// Every message in `network`, each copy once. (stateright 0.31's `Network::iter_all` yields
/// a message in flight `n > 1` times `n + 1` times.)
pub fn envelopes<Msg: Eq + std::hash::Hash>(
    network: &Network<Msg>,
) -> Box<dyn Iterator<Item = Envelope<&Msg>> + '_> {
    match network {
        Network::UnorderedNonDuplicating(multiset) => {
            Box::new(multiset.iter().flat_map(|(e, &n)| {
                std::iter::repeat_n(
                    Envelope {
                        src: e.src,
                        dst: e.dst,
                        msg: &e.msg,
                    },
                    n,
                )
            }))
        }
        other => Box::new(other.iter_all()),
    }
}

pub type ZbsModel = ActorModel<ZbsActor, Arc<ModelCfg>, ()>;
pub type ZbsState = ActorModelState<ZbsActor, ()>;

/// Builds the actor model: meta, one actor per chunk, the operator, the client, and every
/// property of [`properties::PROPERTIES`].
pub fn build(mut cfg: ModelCfg) -> ZbsModel {
    cfg.symmetry = super::symmetry::Symmetry::of(&cfg);
    let cfg = Arc::new(cfg);
    let mut model = ActorModel::new(cfg.clone(), ())
        .actor(ZbsActor::Meta(cfg.clone()))
        .actors(
            cfg.chunk_cids
                .iter()
                .map(|&c| ZbsActor::Chunk(cfg.clone(), c)),
        )
        .actor(ZbsActor::Operator(cfg.clone()))
        .actor(ZbsActor::Client(cfg.clone()))
        .init_network(Network::new_unordered_nonduplicating([]));
    for p in properties::PROPERTIES {
        model = model.property(p.expectation.clone(), p.name, p.check);
    }
    model
}

/// A message in flight.
#[derive(Clone, Copy, Debug)]
pub struct InFlight<'a> {
    pub src: Id,
    pub dst: Id,
    pub msg: &'a Msg,
}

/// One model state, seen the way properties and renderers want it.
pub struct SystemView<'a> {
    pub cfg: &'a ModelCfg,
    pub meta: &'a MetaNode,
    pub operator: &'a OperatorState,
    pub client: &'a ClientState,
    state: &'a ZbsState,
}

impl<'a> SystemView<'a> {
    pub fn of(cfg: &'a ModelCfg, state: &'a ZbsState) -> SystemView<'a> {
        let actor = |id: Id| &*state.actor_states[usize::from(id)];
        let (ActorState::Meta(meta), ActorState::Operator(operator), ActorState::Client(client)) = (
            actor(cfg.meta_id()),
            actor(cfg.operator_id()),
            actor(cfg.client_id()),
        ) else {
            panic!("actors in the order `build` adds them");
        };
        SystemView {
            cfg,
            meta,
            operator,
            client,
            state,
        }
    }

    /// Chunk sessions, in `cfg.chunk_cids` order (read from the state each time: properties
    /// run on every state, and a collected list would be an allocation per property).
    pub fn sessions(&self) -> impl Iterator<Item = &'a ChunkSession> + use<'a> {
        self.state.actor_states[1..=self.cfg.chunk_cids.len()]
            .iter()
            .map(|a| match &**a {
                ActorState::Chunk(s) => s,
                _ => panic!("actors 1..=N are chunk sessions"),
            })
    }

    /// Messages in flight, each copy once (read from the state each time: properties run
    /// on every state, and most never look at the network).
    pub fn in_flight(&self) -> impl Iterator<Item = InFlight<'a>> + use<'a> {
        envelopes(&self.state.network).map(|e| InFlight {
            src: e.src,
            dst: e.dst,
            msg: e.msg,
        })
    }

    pub fn session(&self, cid: Cid) -> Option<&'a ChunkSession> {
        self.sessions().find(|s| s.cid == cid)
    }

    /// Messages in flight to chunk `cid` that it will take: none if the chunk is down (they
    /// are lost), none meant for a session of it that is over (`AccessSession::is_past`).
    pub fn to_chunk(&self, cid: Cid) -> impl Iterator<Item = &'a Msg> + '_ {
        let id = self.cfg.chunk_id(cid);
        let session = self.session(cid);
        self.in_flight()
            .filter(move |f| f.dst == id && session.is_some_and(|s| takes(s, f.msg)))
            .map(|f| f.msg)
    }

    /// Messages in flight that will be delivered (those to a lost chunk never are, nor those
    /// meant for a session that is over).
    pub fn live_in_flight(&self) -> impl Iterator<Item = InFlight<'a>> + '_ {
        self.in_flight().filter(|f| {
            self.cfg
                .cid_of(f.dst)
                .and_then(|c| self.session(c))
                .is_none_or(|s| takes(s, f.msg))
        })
    }

    /// Messages in flight to meta.
    pub fn to_meta(&self) -> impl Iterator<Item = &'a Msg> + '_ {
        let id = self.cfg.meta_id();
        self.in_flight().filter(move |f| f.dst == id).map(|f| f.msg)
    }

    /// Messages in flight from chunk `cid` (to meta).
    pub fn from_chunk(&self, cid: Cid) -> impl Iterator<Item = &'a Msg> + '_ {
        let id = self.cfg.chunk_id(cid);
        self.in_flight().filter(move |f| f.src == id).map(|f| f.msg)
    }
}

/// Will chunk session `s` take `msg` (now or later)? Not when the chunk is down, nor when the
/// message is meant for a session of it that is over (notes:771).
fn takes(s: &ChunkSession, msg: &Msg) -> bool {
    let generation = match msg {
        Msg::HeartbeatReply(_, g) | Msg::GrantLease(_, g) | Msg::SessionCreated(g) => Some(*g),
        Msg::ReplaceReplica(_)
        | Msg::RecoverTimedOut(_)
        | Msg::ReleaseOwner(..)
        | Msg::UpdateTopo { .. }
        | Msg::AppIo(_)
        | Msg::ChunkLost(_)
        | Msg::Disconnect
        | Msg::MigrateCreate { .. }
        | Msg::MigrateDone { .. }
        | Msg::SessionTimeout(_)
        | Msg::CreateSession(_)
        | Msg::Snapshot(_) => None,
    };
    !s.down && generation.is_none_or(|g| !s.access.is_past(g))
}

/// Weak fairness of the ZBS model: what must eventually happen if it stays possible.
///
/// Periodic meta work (scans, the list swap, heartbeat replies), command execution on chunks,
/// idle lease release and message delivery are fair: real meta and chunks keep doing them.
/// Topology updates, chunk failures and app IO are not: they may never happen. Classes are
/// coarse (one per kind of step, not one per pid or chunk), which is what keeps them sound
/// under symmetry; see specs/engine.md.
impl crate::engine::FairModel for ZbsModel {
    fn fairness(&self, action: &Self::Action) -> Option<crate::engine::FairClass> {
        use super::Timer;
        use crate::engine::FairClass;
        use stateright::actor::ActorModelAction;
        // Paced models (incident B) have no symmetry reduction, so their per-command clocks
        // are fair per pid: no copy stands still, and no timeout stays unnoticed, while
        // another pid's does not (specs A68). Pids past the 11th share the last class. They
        // take classes 40–62, leaving 9–39 free for other kinds of step.
        let per_pid = |base: u8, pid: &crate::domain::Pid| {
            let ix = self.cfg.initial_meta.pextents.keys().position(|p| p == pid);
            base + ix.map_or(10, |i| i.min(10)) as u8
        };
        let class = match action {
            ActorModelAction::Deliver {
                msg: super::Msg::RecoverTimedOut(cmd),
                ..
            } => per_pid(52, &cmd.pid),
            ActorModelAction::Deliver { dst, .. } if *dst == self.cfg.meta_id() => 0,
            ActorModelAction::Deliver { .. } => 1,
            ActorModelAction::Timeout(_, timer) => match timer {
                Timer::Scan => 2,
                Timer::MigrateScan => 3,
                Timer::SwapMigrate => 4,
                Timer::Heartbeat(_) => 5,
                Timer::Execute(_) => 6,
                Timer::IdleRelease(_) => 7,
                // An RPC handler thread, once started, runs on.
                Timer::AddMigrateStep(_) => 8,
                // A pending EXTENT GC is sent; every running copy's time passes.
                Timer::ExtentGc(_) => 40,
                Timer::RecoverTick(pid) => per_pid(41, pid),
                // The overdue reply that comes after all, and the new session an expired one
                // asks for: real chunks keep heartbeating. A missed heartbeat is not fair.
                Timer::RenewSession => 9,
                Timer::CreateSession => 10,
                Timer::MissHeartbeat => return None,
                Timer::TopoUpdate(_)
                | Timer::ChunkFailure(_)
                | Timer::AppIo(_)
                | Timer::ManualMigrate(_)
                // Tower's snapshot plan and the VM's writes may stop at any time.
                | Timer::Snapshot(_) => return None,
            },
            ActorModelAction::Drop(_)
            | ActorModelAction::Crash(_)
            | ActorModelAction::Recover(_)
            | ActorModelAction::SelectRandom { .. } => return None,
        };
        Some(FairClass(class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_sent_twice_is_in_flight_twice() {
        let env = |msg| Envelope {
            src: Id::from(7),
            dst: Id::from(0),
            msg,
        };
        let network = Network::new_unordered_nonduplicating([
            env(Msg::AppIo(103)),
            env(Msg::AppIo(103)),
            env(Msg::AppIo(101)),
        ]);
        let mut seen: Vec<_> = envelopes(&network).map(|e| e.msg.clone()).collect();
        seen.sort();
        assert_eq!(seen, [Msg::AppIo(101), Msg::AppIo(103), Msg::AppIo(103)]);
    }
}
