//! The Access session of a chunk and what its lifecycle does to leases and commands.
//!
//! Chunk side: the Session Follower (the heartbeat loop) and the Session Handler (state
//! changes), notes:775 — "Access 中 Session 状态维护机制包括 2 个部分：维持生命周期心跳循环的
//! Session Follower 与响应状态变化事件的 Session Handler。… 每次 Access 收到 Meta 的心跳回复都会
//! 延续自身的 Lease 。如果长时间没有收到正常的心跳回复就会触发状态变化。状态有 Init、KeepAlive、
//! Jeopardy、Expired。" ([`AccessSession`]). libmeta's cache clearing, `Meta::ClearCachedLease`
//! by session, vtable or pid (notes:178), is [`ChunkSession::clear_cached_lease`].
//!
//! Meta side: a session's leases live and die with it (notes:769) and never carry into the
//! chunk's next session (notes:771); the recover command queue is per session, found by the
//! owner's uuid (notes:657). [`Meta::expire_session`], [`Meta::create_session`].
//!
//! Time is abstract: a missed heartbeat is a tick, bounded by the model's
//! `budgets.missed_heartbeats` (specs A85).

use super::Cid;
use super::Pid;
use super::events::MetaEvent;
use super::meta::{Meta, MetaConfig};
use super::recover_cmd::RecoverCmd;
use super::session::ChunkSession;

/// Which session of a chunk: 0 is the session the model starts with, each new session of the
/// same chunk the next number. Stands for the session uuid (`session: "afe6d52a-…"` in
/// `[REPLACE REPLICA]`, notes:19), which changes with every new session (specs A86).
pub type SessionGen = u8;

/// The Access session's states (notes:775).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum SessionState {
    /// A new session was requested from meta and is not confirmed yet.
    Init,
    /// Heartbeat replies arrive; the session lease is renewed by each.
    KeepAlive,
    /// A heartbeat reply is overdue; the lease still holds, the next reply renews it.
    Jeopardy,
    /// The session lease ran out: Access serves no IO (notes:759), its leases are gone.
    Expired,
}

impl SessionState {
    pub fn name(self) -> &'static str {
        match self {
            SessionState::Init => "Init",
            SessionState::KeepAlive => "KeepAlive",
            SessionState::Jeopardy => "Jeopardy",
            SessionState::Expired => "Expired",
        }
    }
}

/// The Session Follower / Handler of one chunk's Access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AccessSession {
    pub state: SessionState,
    pub generation: SessionGen,
    /// Missed heartbeats this chunk may still suffer (the budget; A85).
    pub misses_left: u8,
}

/// What a missed heartbeat did to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    /// KeepAlive → Jeopardy.
    Jeopardy,
    /// Jeopardy → Expired: the session lease ran out.
    Expired,
}

impl AccessSession {
    /// A session that meta confirmed before the model starts (generation 0, KeepAlive).
    pub fn established(misses: u8) -> AccessSession {
        AccessSession {
            state: SessionState::KeepAlive,
            generation: 0,
            misses_left: misses,
        }
    }

    /// Does session `generation` of this chunk still take what meta sends it? Only the current
    /// session, and only while its lease holds (KeepAlive or Jeopardy): a reply or lease meant
    /// for an earlier session is dropped (notes:771).
    pub fn serves(&self, generation: SessionGen) -> bool {
        self.generation == generation
            && matches!(self.state, SessionState::KeepAlive | SessionState::Jeopardy)
    }

    /// Is session `generation` over for good on this chunk (a later session exists, or it
    /// expired)? What meta sent it can never be taken any more.
    pub fn is_past(&self, generation: SessionGen) -> bool {
        generation < self.generation
            || (generation == self.generation && self.state == SessionState::Expired)
    }

    /// A heartbeat reply of session `generation` arrived: if it is for this session, the
    /// session lease is renewed (Jeopardy → KeepAlive, notes:775). Whether it was taken.
    pub fn on_heartbeat_reply(&mut self, generation: SessionGen) -> bool {
        let taken = self.serves(generation);
        if taken {
            self.state = SessionState::KeepAlive;
        }
        taken
    }

    /// Whether a heartbeat can be missed now (budget left, a live session).
    pub fn can_miss(&self) -> bool {
        self.misses_left > 0
            && matches!(self.state, SessionState::KeepAlive | SessionState::Jeopardy)
    }

    /// One heartbeat round without a reply in time: KeepAlive → Jeopardy → Expired ("如果长时间
    /// 没有收到正常的心跳回复就会触发状态变化", notes:775). `None` when no heartbeat can be missed.
    pub fn miss_heartbeat(&mut self) -> Option<Missed> {
        if !self.can_miss() {
            return None;
        }
        self.misses_left -= 1;
        match self.state {
            SessionState::KeepAlive => {
                self.state = SessionState::Jeopardy;
                Some(Missed::Jeopardy)
            }
            SessionState::Jeopardy => {
                self.state = SessionState::Expired;
                Some(Missed::Expired)
            }
            SessionState::Init | SessionState::Expired => {
                unreachable!("can_miss holds only for a live session")
            }
        }
    }

    /// The Access asks meta for a new session (`CreateSession`): Expired → Init, with a new
    /// session id. `None` unless the session is expired.
    pub fn create_session(&mut self) -> Option<SessionGen> {
        if self.state != SessionState::Expired {
            return None;
        }
        self.generation = self
            .generation
            .checked_add(1)
            .expect("missed heartbeats are bounded: fewer than 255 sessions");
        self.state = SessionState::Init;
        Some(self.generation)
    }

    /// Meta confirmed session `generation`: Init → KeepAlive. Whether it was this session's.
    pub fn on_session_created(&mut self, generation: SessionGen) -> bool {
        let confirmed = self.state == SessionState::Init && self.generation == generation;
        if confirmed {
            self.state = SessionState::KeepAlive;
        }
        confirmed
    }
}

/// How `Meta::ClearCachedLease` picks the cached leases to clear (notes:178: "清理 cache lease
/// 的方式有 3 种，一个是通过 session id，一个是通过 vtable id，一个是 pid" — three ways to clear
/// cached leases: by session id, by vtable id, by pid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClearBy<'a> {
    /// Every lease of the session: it expired, and its leases die with it (notes:769).
    Session(SessionGen),
    /// Every lease of the pids of one vtable: a snapshot's `REVOKE LEASE`, which meta sends to
    /// every chunk with the heartbeat naming the vtable id (notes:126, notes:176). The model has
    /// no vtables of its own: the caller resolves the vtable id to its pids.
    Vtable(&'a [Pid]),
    /// The lease of one pid.
    Pid(Pid),
}

/// What a `ClearCachedLease` took away.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Pids whose cached lease was cleared.
    pub pids: Vec<Pid>,
    /// Running commands that used a cleared lease: they fail (`ELeaseExpired`, as the running
    /// recover of notes:543 did after a `REVOKE LEASE`; specs A88), with no `REPLACE REPLICA`.
    pub failed: Vec<RecoverCmd>,
}

impl ChunkSession {
    /// libmeta's `Meta::ClearCachedLease` (notes:178): clears the cached leases `by` selects;
    /// a running command whose lease is cleared fails (A88). A lease holder re-checks its
    /// lease after every yield because it may have been cleared meanwhile (notes:767).
    ///
    /// `by: Session(g)` clears everything only if `g` is this chunk's session (the cache holds
    /// leases of the current session only); `Vtable(pids)` and `Pid(pid)` clear those pids.
    pub fn clear_cached_lease(&mut self, by: ClearBy) -> Cleared {
        let hit = |pid: Pid| match by {
            ClearBy::Session(g) => g == self.access.generation,
            ClearBy::Vtable(pids) => pids.contains(&pid),
            ClearBy::Pid(p) => p == pid,
        };
        let pids: Vec<Pid> = self
            .lease_cache
            .iter()
            .copied()
            .filter(|&p| hit(p))
            .collect();
        let running: Vec<(Pid, u32)> = self
            .running
            .keys()
            .copied()
            .filter(|&(p, _)| hit(p))
            .collect();
        for p in &pids {
            self.lease_cache.remove(p);
        }
        let failed = running
            .iter()
            .filter_map(|k| self.running.remove(k))
            .collect();
        Cleared { pids, failed }
    }

    /// A heartbeat round without a reply in time (one tick of the budget). On expiry libmeta
    /// clears every lease of the session (`ClearCachedLease` by session) and its running
    /// commands fail.
    pub fn miss_heartbeat(&mut self) -> Option<(Missed, Cleared)> {
        let generation = self.access.generation;
        let missed = self.access.miss_heartbeat()?;
        let cleared = match missed {
            Missed::Jeopardy => Cleared::default(),
            Missed::Expired => self.clear_cached_lease(ClearBy::Session(generation)),
        };
        Some((missed, cleared))
    }
}

crate::switch_options! {
    /// What meta does with the commands of a session that expires: the notes say the
    /// session's leases die with it (notes:769, notes:771) and its command queue is the
    /// session's (notes:657), but not what happens to the command's entry in `pid_cmds_` and
    /// the reservations step 4 made. An open question (switch `session_expiry_cmds`, A89).
    pub enum SessionExpiryCmds {
        /// The commands the session owns leave `pid_cmds_` with it, their reservations given
        /// back, as the model's chunk loss has always done (`chunk_lost`); a later scan may
        /// reissue them.
        Revoked = "revoked",
        /// Only the session's queue dies with it: the commands stay in `pid_cmds_` with their
        /// reservations (nothing in the notes but `RevokeRecoverCmds()` and `REPLACE REPLICA`
        /// takes a command out of `pid_cmds_`).
        Kept = "kept",
    }
}

impl Meta {
    /// The live session of chunk `cid` on meta, if any.
    pub fn live_session(&self, cid: Cid) -> Option<SessionGen> {
        self.access.sessions.get(&cid).copied()
    }

    /// Meta's session master times session `generation` of chunk `cid` out (it got no
    /// heartbeat in time). A stale timeout (that session is not the live one) does nothing.
    /// The session's owners are dropped — its leases die with it and never carry into the next
    /// session (notes:769, notes:771) — and its queue with it (queues are per session,
    /// notes:657); its commands follow `session_expiry_cmds` (A89). The chunk itself stays in
    /// service: no `RevokeRecoverCmds(cid)`, no `DoRemoveReplica()` (A87).
    pub fn expire_session(
        &mut self,
        cfg: &MetaConfig,
        cid: Cid,
        generation: SessionGen,
    ) -> Vec<MetaEvent> {
        if self.live_session(cid) != Some(generation) {
            return Vec::new();
        }
        self.access.sessions.remove(&cid);
        let queued = self.access.take_waiting_recover_cmds(cid);
        let mut events = self.drop_session_cmds(cfg, cid, &queued, false);
        let owners_cleared = self.access.expire_session(cid);
        events.push(MetaEvent::SessionExpired {
            cid,
            owners_cleared,
        });
        events
    }

    /// The commands owned by the expiring session of `cid` (`queued`: those its queue still
    /// held): under `session_expiry_cmds=revoked` each leaves `pid_cmds_` and gives its
    /// reservations back; under `kept` they stay, and the event says so. `chunk_lost`: the
    /// session died with its chunk (`Meta::chunk_lost`, which logs the drops as revokes).
    pub(crate) fn drop_session_cmds(
        &mut self,
        cfg: &MetaConfig,
        cid: Cid,
        queued: &[RecoverCmd],
        chunk_lost: bool,
    ) -> Vec<MetaEvent> {
        let owned: Vec<RecoverCmd> = self
            .recover
            .pid_cmds
            .values()
            .filter(|c| c.owner == cid)
            .copied()
            .collect();
        let mut events = Vec::new();
        match cfg.variant.session_expiry_cmds {
            SessionExpiryCmds::Revoked => {
                for cmd in owned {
                    self.finish_cmd(cfg, &cmd);
                    let rm = &mut *self.recover;
                    let erased = rm.active_waiting_recover.remove(&cmd.pid);
                    rm.ghost.revoked_pids.insert(cmd.pid);
                    let was_queued = queued.contains(&cmd);
                    events.push(if chunk_lost {
                        MetaEvent::CmdRevoked {
                            cid,
                            cmd,
                            was_queued,
                            owner_kept: false,
                            erased_waiting_recover: erased,
                        }
                    } else {
                        MetaEvent::SessionCmdDropped {
                            cid,
                            cmd,
                            was_queued,
                        }
                    });
                }
            }
            SessionExpiryCmds::Kept => {
                // The queue still died: its commands were taken from their way to the chunk
                // (the ghost `revoked_pids`, specs A27).
                for cmd in queued {
                    self.recover.ghost.revoked_pids.insert(cmd.pid);
                }
                if !owned.is_empty() {
                    events.push(MetaEvent::SessionCmdsKept { cid, cmds: owned });
                }
            }
        }
        events
    }

    /// The Access of chunk `cid` asks for a new session `generation` (`CreateSession`). A
    /// session of the chunk meta still holds is expired first: a chunk has one session at a
    /// time (A86). The new session starts with no lease and an empty queue.
    pub fn create_session(
        &mut self,
        cfg: &MetaConfig,
        cid: Cid,
        generation: SessionGen,
    ) -> Vec<MetaEvent> {
        let mut events = Vec::new();
        if let Some(old) = self.live_session(cid) {
            debug_assert!(old < generation, "a new session has a new id");
            events.extend(self.expire_session(cfg, cid, old));
        }
        debug_assert!(
            self.access
                .waiting_recover_cmds
                .get(&cid)
                .is_none_or(Vec::is_empty),
            "an old session's queue never reaches the new one"
        );
        debug_assert!(
            self.access.owners.values().all(|&o| o != cid),
            "an old session's leases never carry into the new one (notes:771)"
        );
        self.access.sessions.insert(cid, generation);
        events.push(MetaEvent::SessionCreated { cid, generation });
        events
    }

    /// `AccessManager` `Release owner : pid: … session: …`, from session `generation` of
    /// `cid`: a release from a session that is no longer live is ignored (its leases died with
    /// it; the pid may have a new owner since).
    pub fn release_owner_of_session(
        &mut self,
        pid: Pid,
        cid: Cid,
        generation: SessionGen,
    ) -> MetaEvent {
        if self.live_session(cid) == Some(generation) {
            self.access.release_owner(pid, cid)
        } else {
            MetaEvent::ReleaseIgnored { pid, session: cid }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recover_cmd::MigrateCandidate;
    use crate::domain::recover_cmd::tests::incident_a_cmd as cmd;
    use crate::domain::recover_manager::tests::{cfg, incident_a_meta};
    use crate::domain::variant::Variant;

    #[test]
    fn missed_heartbeats_lead_to_jeopardy_then_expiry_and_a_reply_renews() {
        let mut s = AccessSession::established(3);
        assert_eq!(s.miss_heartbeat(), Some(Missed::Jeopardy));
        assert!(s.on_heartbeat_reply(0), "a reply renews the session lease");
        assert_eq!(s.state, SessionState::KeepAlive);
        assert_eq!(s.miss_heartbeat(), Some(Missed::Jeopardy));
        assert_eq!(s.miss_heartbeat(), Some(Missed::Expired));
        assert!(
            !s.on_heartbeat_reply(0),
            "an expired session takes no reply"
        );
        assert_eq!(s.miss_heartbeat(), None);
        assert_eq!(s.create_session(), Some(1));
        assert_eq!(s.state, SessionState::Init);
        assert!(!s.serves(1), "not before meta confirms it");
        assert!(!s.on_session_created(0));
        assert!(s.on_session_created(1));
        assert!(
            s.serves(1) && !s.serves(0),
            "the old session's replies are dropped"
        );
        assert_eq!(s.miss_heartbeat(), None, "budget spent");
    }

    #[test]
    fn a_zero_budget_never_leaves_keepalive() {
        let mut s = AccessSession::established(0);
        assert_eq!(s.miss_heartbeat(), None);
        assert_eq!(s.create_session(), None);
        assert_eq!(s, AccessSession::established(0));
    }

    #[test]
    fn clear_cached_lease_by_session_vtable_and_pid() {
        let c = |pid| RecoverCmd {
            owner: 4,
            ..cmd(pid)
        };
        let session = || {
            let mut s = ChunkSession::new(4);
            for p in [1, 2, 3] {
                s.cache_lease(p);
            }
            s.on_heartbeat_reply(&[c(2)], crate::domain::session::SecondCmd::FirstReplaced);
            s
        };
        let mut s = session();
        assert_eq!(s.clear_cached_lease(ClearBy::Pid(1)).pids, vec![1]);
        assert_eq!(
            s.lease_cache.iter().copied().collect::<Vec<_>>(),
            vec![2, 3]
        );

        let mut s = session();
        let got = s.clear_cached_lease(ClearBy::Vtable(&[2, 3, 9]));
        assert_eq!(got.pids, vec![2, 3]);
        assert_eq!(
            got.failed,
            vec![c(2)],
            "the running recover loses its lease"
        );
        assert!(s.running.is_empty());

        let mut s = session();
        assert_eq!(
            s.clear_cached_lease(ClearBy::Session(1)),
            Cleared::default()
        );
        let got = s.clear_cached_lease(ClearBy::Session(0));
        assert_eq!((got.pids, got.failed), (vec![1, 2, 3], vec![c(2)]));
        assert!(s.lease_cache.is_empty());
    }

    fn queued_3133(m: &mut Meta, c: &MetaConfig) -> RecoverCmd {
        let cand = MigrateCandidate {
            pid: 3133,
            src: 5,
            dst: 1,
            replace: 5,
        };
        match &m.add_recover_cmd_unlock(c, cand)[..] {
            [MetaEvent::CmdAdded(cmd)] => *cmd,
            other => panic!("{other:?}"),
        }
    }

    /// The second road of incident A: the owner's session expires between
    /// `EnqueueRecoverCmd` and its next heartbeat.
    #[test]
    fn an_expired_session_takes_its_owners_and_queue_and_its_commands_follow_the_switch() {
        for (option, revoked) in [
            (SessionExpiryCmds::Revoked, true),
            (SessionExpiryCmds::Kept, false),
        ] {
            let c = cfg(Variant {
                session_expiry_cmds: option,
                ..Variant::default()
            });
            let mut m = incident_a_meta();
            let clean = m.chunks.clone();
            let cmd = queued_3133(&mut m, &c);
            assert_eq!((m.owner_of(3133), cmd.owner), (Some(5), 5));
            assert!(m.expire_session(&c, 5, 1).is_empty(), "stale timeout");
            let events = m.expire_session(&c, 5, 0);
            assert!(events.contains(&MetaEvent::SessionExpired {
                cid: 5,
                owners_cleared: vec![3133]
            }));
            assert_eq!(m.owner_of(3133), None, "the lease died with the session");
            assert!(m.access.waiting_recover_cmds[&5].is_empty());
            assert_eq!(m.live_session(5), None);
            assert_eq!(m.recover.pid_cmds.is_empty(), revoked, "{option:?}");
            assert_eq!(m.chunks == clean, revoked, "reservations given back");
            assert!(m.reservations_balance(128));
            // The next session of chunk 5 starts empty; the old command is never its.
            let created = m.create_session(&c, 5, 1);
            assert_eq!(
                created,
                vec![MetaEvent::SessionCreated {
                    cid: 5,
                    generation: 1
                }]
            );
            assert_eq!(m.live_session(5), Some(1));
            assert!(m.access.waiting_recover_cmds[&5].is_empty());
        }
    }

    #[test]
    fn a_new_session_expires_the_old_one_and_stale_releases_are_ignored() {
        let c = cfg(Variant::default());
        let mut m = incident_a_meta();
        queued_3133(&mut m, &c);
        let events = m.create_session(&c, 5, 1);
        assert!(matches!(
            events.last(),
            Some(MetaEvent::SessionCreated {
                cid: 5,
                generation: 1
            })
        ));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, MetaEvent::SessionExpired { cid: 5, .. }))
        );
        assert_eq!(m.owner_of(3133), None);
        m.access.owners.insert(3133, 5);
        assert_eq!(
            m.release_owner_of_session(3133, 5, 0),
            MetaEvent::ReleaseIgnored {
                pid: 3133,
                session: 5
            }
        );
        assert_eq!(m.owner_of(3133), Some(5), "the new session's lease is kept");
        m.release_owner_of_session(3133, 5, 1);
        assert_eq!(m.owner_of(3133), None);
    }

    #[test]
    fn no_owner_is_allocated_on_a_chunk_without_a_live_session() {
        let mut m = incident_a_meta();
        m.expire_session(&cfg(Variant::default()), 5, 0);
        // src 5 has no session: dst 1 becomes the owner.
        assert_eq!(m.alloc_owner_for_recover(3133, 5, 1), Some((1, true)));
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        #[derive(Clone, Copy, Debug)]
        enum Op {
            Miss,
            Reply(SessionGen),
            Create,
            Created(SessionGen),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                Just(Op::Miss),
                (0u8..4).prop_map(Op::Reply),
                Just(Op::Create),
                (0u8..4).prop_map(Op::Created),
            ]
        }

        proptest! {
            /// Whatever order heartbeats are missed, replies come, and sessions are created:
            /// the state moves only along Init → KeepAlive ⇄ Jeopardy → Expired → Init, the
            /// session id only grows (by one per new session), the budget only shrinks, a
            /// reply renews only the live session it is for, and only the current session is
            /// ever served.
            #[test]
            fn the_session_state_machine_moves_only_along_its_edges(
                budget in 0u8..6,
                ops in proptest::collection::vec(op(), 0..40),
            ) {
                use SessionState::*;
                let mut s = AccessSession::established(budget);
                for op in ops {
                    let before = s;
                    let changed = match op {
                        Op::Miss => s.miss_heartbeat().is_some(),
                        Op::Reply(g) => s.on_heartbeat_reply(g),
                        Op::Create => s.create_session().is_some(),
                        Op::Created(g) => s.on_session_created(g),
                    };
                    let edge = (before.state, s.state);
                    prop_assert!(
                        matches!(
                            edge,
                            (Init, KeepAlive)
                                | (KeepAlive, Jeopardy)
                                | (Jeopardy, KeepAlive)
                                | (Jeopardy, Expired)
                                | (Expired, Init)
                        ) || (edge.0 == edge.1),
                        "{before:?} --{op:?}--> {s:?}"
                    );
                    prop_assert!(s.misses_left <= before.misses_left);
                    let new_session = edge == (Expired, Init);
                    prop_assert_eq!(s.generation, before.generation + u8::from(new_session));
                    if let Op::Reply(g) = op {
                        prop_assert_eq!(changed, before.serves(g));
                    }
                    for g in 0..6 {
                        prop_assert!(!s.serves(g) || g == s.generation);
                        prop_assert!(!s.serves(g) || !s.is_past(g));
                    }
                    if matches!(op, Op::Miss) {
                        prop_assert_eq!(changed, before.can_miss());
                        prop_assert_eq!(s.misses_left + u8::from(changed), before.misses_left);
                    }
                }
            }
        }
    }
}
