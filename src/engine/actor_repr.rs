//! The engine's representation of stateright `ActorModel` states.
//!
//! An `ActorModelState` is mostly shared with its parent: a step runs one actor's handler,
//! changes the network and maybe a timer, and stateright keeps each actor state behind its own
//! `Arc`, so the actors that did not change are the very same allocations as in the parent.
//! Three things follow, and they are what this module does:
//!
//! * **Fingerprints by parts.** A state's fingerprint folds one hash per actor state, one for
//!   the network, one for the timers and one for the rest (crashes, history, storage). The
//!   network and the timers are unordered, so their hashes are sums of their elements' hashes
//!   (multiset hashes), which a step updates by an addition or a subtraction. Equal states
//!   get equal fingerprints whatever their history, since every part is hashed by value.
//! * **Successors fingerprinted unbuilt.** For a delivery or a timeout, the successor's
//!   fingerprint follows from the parent's part hashes and what the handler did (its new
//!   state's hash, the messages it sent, its timer commands), so a successor already visited
//!   — most of them — is never built. Handler results are cached per thread: a handler is a
//!   function of its actor's state and input, and one actor's states recur across many global
//!   states. New successors are built by stateright's own `next_state`.
//! * **Packed, interned frontier states.** A frontier state keeps the actor `Arc`s and `Arc`s
//!   to its network (a sorted slice), its timers (a sorted slice) and the rest; networks, timer
//!   sets and changed actor states are interned per thread, so a level of tens of thousands of
//!   states holds a few hundred distinct networks. Those parts carry their hashes for the
//!   memo of the states that share them, and the tables let go of parts no frontier state
//!   holds between levels. The `ActorModelState` is rebuilt when the state is expanded.
//!
//! Which actions exist and what they do stays stateright's: the engine calls
//! `ActorModel::actions` and `next_state` on unpacked states, and the arithmetic above is
//! tested against them (`tests` below, `tests/engine_actor.rs`).

use super::fingerprint::{Fingerprint, FoldHasher, fingerprint};
use super::parts::{PartPool, SharedParts};
use super::repr::{Repr, Unbuilt};
use super::symmetry::Canon;
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Command, Envelope, Id, Network, Out,
    RandomChoices, Timers, is_no_op, is_no_op_with_timer,
};
use std::borrow::Cow;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// `ActorModel` states, canonicalised by `C`, fingerprinted incrementally and packed.
pub(crate) struct Actors<C>(pub C);

/// What of an `ActorModelState` a delivery or a timeout leaves alone: random choices, crashes, history,
/// storage, and the length of `timers_set`. Shared between a packed state and its parent
/// while unchanged.
pub(crate) struct Misc<A: Actor, H> {
    random_choices: Vec<RandomChoices<A::Random>>,
    crashed: Vec<bool>,
    history: H,
    actor_storages: Vec<Option<A::Storage>>,
    timers_len: usize,
    /// [`misc_hash`] of these.
    hash: u64,
}

/// The network of a packed state.
#[derive(PartialEq)]
pub(crate) enum PackedNetwork<Msg: Eq + Hash> {
    /// An unordered, non-duplicating network: each envelope with its multiplicity, in order.
    Multiset(Box<[(Envelope<Msg>, u32)]>),
    /// Any other kind of network, kept as it is.
    Other(Box<Network<Msg>>),
}

/// A packed network with its hash ([`network_hash`]), which the memo of every state sharing
/// it then reads instead of hashing each message again.
#[derive(PartialEq)]
pub(crate) struct NetworkPart<Msg: Eq + Hash> {
    hash: u64,
    packed: PackedNetwork<Msg>,
}

impl<Msg: Clone + Ord + Hash> NetworkPart<Msg> {
    fn new(hash: u64, network: Network<Msg>) -> Arc<Self> {
        Arc::new(NetworkPart {
            hash,
            packed: pack_network(network),
        })
    }
}

/// A packed timer set — every timer set, as `(actor index, timer)` in order — with its hash
/// ([`timers_hash`]) and each timer's hash, sorted: the memo of every state sharing it reads
/// them instead of hashing each timer again.
#[derive(PartialEq)]
pub(crate) struct TimersPart<T> {
    hash: u64,
    hashes: Arc<[u64]>,
    timers: Box<[(u32, T)]>,
}

/// A frontier state. The network and the timers are interned (see [`StepCache`]): a level
/// holds tens of thousands of states but only a few hundred distinct networks and timer sets.
pub(crate) struct PackedActors<A: Actor, H> {
    /// Each actor's state with its hash (`fingerprint` of the state): the memo of a parent
    /// hashes no actor, whichever thread packed it (8 bytes an actor, in the same
    /// allocation).
    actors: Box<[(Arc<A::State>, u64)]>,
    network: Arc<NetworkPart<A::Msg>>,
    timers: Arc<TimersPart<A::Timer>>,
    misc: Arc<Misc<A, H>>,
}

/// A parent's part hashes, reused for the parts its successors share with it.
#[derive(Debug, PartialEq)]
pub(crate) struct ActorMemo {
    actors: Vec<u64>,
    /// The hash of every timer set, sorted (to look one up).
    timer_hashes: Arc<[u64]>,
    network: u64,
    timers: u64,
    misc: u64,
}

/// One message in flight. A network's hash is the sum over its messages (a multiset hash:
/// order-independent, and updated by one addition per message sent or delivered).
fn envelope_hash<Msg: Hash>(src: Id, dst: Id, msg: &Msg) -> u64 {
    fingerprint(&(src, dst, msg))
}

fn network_hash<Msg: Eq + Hash>(network: &Network<Msg>) -> u64 {
    match network {
        Network::UnorderedNonDuplicating(multiset) => multiset.iter().fold(0u64, |acc, (e, &n)| {
            acc.wrapping_add(envelope_hash(e.src, e.dst, &e.msg).wrapping_mul(n as u64))
        }),
        other => fingerprint(other),
    }
}

/// One timer set on actor `index`; a state's timers hash as the sum over them.
/// Its lowest bit is always clear: a cached timer command keeps set-or-cancel there
/// ([`TIMER_SET`]).
fn timer_hash<T: Hash>(index: usize, timer: &T) -> u64 {
    fingerprint(&(index, timer)) & !TIMER_SET
}

/// In a cached timer command (a [`timer_hash`]), the bit that says "set" (else "cancel").
const TIMER_SET: u64 = 1;

fn timers_hash<T: Hash + Eq>(timers_set: &[Timers<T>]) -> u64 {
    let mut sum = 0u64;
    for (i, timers) in timers_set.iter().enumerate() {
        for t in timers.iter() {
            sum = sum.wrapping_add(timer_hash(i, t));
        }
    }
    sum
}

/// Random choices, crashes, history and storage: what a delivery or a timeout leaves alone.
fn misc_hash<A: Actor, H: Hash>(s: &ActorModelState<A, H>) -> u64 {
    fingerprint(&(
        &s.random_choices,
        &s.crashed,
        &s.history,
        &s.actor_storages,
        s.timers_set.len(),
    ))
}

fn misc_eq<A: Actor, H: PartialEq>(a: &ActorModelState<A, H>, b: &ActorModelState<A, H>) -> bool {
    a.crashed == b.crashed
        && a.timers_set.len() == b.timers_set.len()
        && a.history == b.history
        && a.random_choices == b.random_choices
        && a.actor_storages == b.actor_storages
}

/// The state's fingerprint from its part hashes.
fn combine(actors: impl Iterator<Item = u64>, network: u64, timers: u64, misc: u64) -> Fingerprint {
    let mut h = FoldHasher::default();
    for a in actors {
        h.write_u64(a);
    }
    h.write_u64(network);
    h.write_u64(timers);
    h.write_u64(misc);
    match h.finish() {
        0 => 1,
        f => f,
    }
}

/// Most timers one step may touch before the arithmetic gives up (and the successor is built).
const TOUCHED_MAX: usize = 16;

/// The timers a step touched, by hash: each with whether the parent had it set and whether
/// the successor has. `parent` is the parent's timer hashes, sorted (in its memo).
struct TouchedTimers<'p> {
    parent: &'p [u64],
    touched: [(u64, bool, bool); TOUCHED_MAX],
    len: usize,
}

impl<'p> TouchedTimers<'p> {
    fn new(parent: &'p [u64]) -> Self {
        TouchedTimers {
            parent,
            touched: [(0, false, false); TOUCHED_MAX],
            len: 0,
        }
    }

    /// Sets (`on`) or cancels the timer hashing to `hash`; `None` past [`TOUCHED_MAX`].
    fn set(&mut self, hash: u64, on: bool) -> Option<()> {
        match self.touched[..self.len]
            .iter_mut()
            .find(|(h, _, _)| *h == hash)
        {
            Some((_, _, now)) => *now = on,
            None => {
                let was = self.parent.binary_search(&hash).is_ok();
                *self.touched.get_mut(self.len)? = (hash, was, on);
                self.len += 1;
            }
        }
        Some(())
    }

    /// The parent's timers hash moved to the successor's.
    fn apply(&self, mut sum: u64) -> u64 {
        for (h, was, now) in &self.touched[..self.len] {
            match (was, now) {
                (false, true) => sum = sum.wrapping_add(*h),
                (true, false) => sum = sum.wrapping_sub(*h),
                _ => {}
            }
        }
        sum
    }
}

/// What an actor's handler did with one input, as far as fingerprints care: the hash of the
/// actor's new state (`None`: unchanged), the messages it sent (their hashes' sum) and its
/// timer commands. A handler is a function of the actor's state and the input alone
/// (stateright's `Actor` contract), so the result of one `(actor state, input)` pair serves
/// every global state in which that actor is in that state — a coordinator's step on the
/// same tables, say, whatever the other actors are doing.
///
/// 24 bytes: a cache entry is this and its 8-byte key.
#[derive(Clone, Copy)]
pub(crate) struct HandlerStep {
    /// The hash of the actor's new state, if [`CHANGED`].
    actor: u64,
    /// The sum of the hashes of the envelopes sent.
    sent: u64,
    /// Its timer commands, in the order issued: `timers_len` entries of the cache's
    /// `timer_commands` from `timers_at`.
    timers_at: u32,
    timers_len: u8,
    flags: u8,
}

/// The handler changed its actor's state.
const CHANGED: u8 = 1;
/// The step is no step (stateright's `is_no_op`).
const NO_OP: u8 = 2;
/// It chose randoms or saved storage (or issued over 255 timer commands), which the
/// fingerprint arithmetic does not follow.
const UNFOLLOWED: u8 = 4;

/// An input to an actor: a message from `src`, or a timer.
enum Input<'a, A: Actor> {
    Msg(Id, &'a A::Msg),
    Timer(&'a A::Timer),
}

/// The hasher of the engine's small tables (the fingerprint's: keys are hashes already, or
/// small).
type FastBuild = std::hash::BuildHasherDefault<FoldHasher>;

/// Each exploring thread's cache of handler results, keyed by one 64-bit hash of the actor,
/// the hash of its state and the hash of the input. Neither the actor state nor the input is
/// kept to compare in full, so a false hit needs a 64-bit collision, no likelier than one of
/// the engine's state fingerprints, which the visited set trusts already (specs/engine.md,
/// "What is and is not guaranteed"). Keeping the input (a cloned message) made each entry
/// three times larger. Emptied when it reaches [`STEP_CACHE_CAP`] entries.
pub(crate) struct StepCache<A: Actor> {
    map: std::collections::HashMap<u64, HandlerStep, FastBuild>,
    /// Every cached step's timer commands: the timer's hash (`timer_hash`), with
    /// [`TIMER_SET`] if it is set (else cancelled). Emptied with `map`.
    timer_commands: Vec<u64>,
    /// Parts of recently packed states, by hash (actor states: [`actor_key`]): a packed
    /// successor whose part equals one of these shares its allocation instead of keeping its
    /// own. The same actor state, network or timer set is reached along many interleavings.
    actors: Interned<u64, A::State>,
    networks: Interned<u64, NetworkPart<A::Msg>>,
    timers: Interned<u64, TimersPart<A::Timer>>,
    /// The copy-on-write parts ([`SharedParts`]) of the actor states in `actors`: a new
    /// distinct actor state shares each part equal to one of these (see `parts.rs`).
    parts: PartPool,
}

/// What `successor_fingerprint` computed of one successor that packing it reuses (the
/// [`Repr::Token`] of [`Actors`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PackToken {
    /// The actor the step changed and the hash of its new state: packing interns the actor
    /// under this hash instead of hashing it again (a large actor state is the costliest
    /// part to hash).
    changed: Option<(usize, u64)>,
    /// The hashes of the successor's network and timers: packing looks them up in the intern
    /// tables by these and compares them in place, so a network or timer set met before is
    /// neither copied, sorted nor hashed again.
    parts: Option<(u64, u64)>,
}

type Interned<K, T> = std::collections::HashMap<K, Arc<T>, FastBuild>;

impl<A: Actor> Default for StepCache<A> {
    fn default() -> Self {
        StepCache {
            map: Default::default(),
            timer_commands: Vec::new(),
            actors: Default::default(),
            networks: Default::default(),
            timers: Default::default(),
            parts: Default::default(),
        }
    }
}

/// `part`, or an equal one already in `table` under `key` (a part whose key another value
/// holds stays its own). The table is emptied when it reaches [`CACHE_CAP`] entries
/// (sharing is an optimisation: forgetting loses none).
fn intern<K: Hash + Eq, T: PartialEq + ?Sized>(
    table: &mut Interned<K, T>,
    key: K,
    part: &mut Arc<T>,
) {
    intern_new(table, key, part, |_| {})
}

/// The intern key of actor `index`'s state hashing to `hash`: one word (a collision only
/// costs a missed share, since interning compares states in full).
fn actor_key(index: usize, hash: u64) -> u64 {
    hash ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// [`intern`], calling `prepare` on a part before the table keeps it as a new one.
fn intern_new<K: Hash + Eq, T: PartialEq + ?Sized>(
    table: &mut Interned<K, T>,
    key: K,
    part: &mut Arc<T>,
    prepare: impl FnOnce(&mut Arc<T>),
) {
    match table.get(&key) {
        Some(same) if **same == **part => *part = same.clone(),
        Some(_) => {}
        None => {
            if table.len() >= CACHE_CAP {
                table.clear();
            }
            prepare(part);
            table.insert(key, part.clone());
        }
    }
}

/// Entries per thread's intern table (of actor states, networks, timer sets).
const CACHE_CAP: usize = 1 << 11;

/// Entries per thread's handler cache. An entry is 32 bytes (and its timer commands), so a
/// full cache is about 3 MiB a thread. `bench/five-chunks-large` meets about 34,000
/// distinct (actor, state, input) triples among 3.9 M handler calls: at 2,048 entries the
/// cache was emptied again and again and missed 376,000 times (the handlers' work was a
/// fifth of a one-thread check), at 65,536 it misses only those first meetings.
const STEP_CACHE_CAP: usize = 1 << 16;

impl<A: Actor> StepCache<A> {
    /// The handler's result for `input` on actor `index`, whose state hashes to `state_hash`:
    /// from the cache, or computed by `run` (which appends its timer commands to the vector
    /// it is given) and remembered.
    fn get(
        &mut self,
        index: usize,
        state_hash: u64,
        input: Input<'_, A>,
        run: impl FnOnce(&Input<'_, A>, &mut Vec<u64>) -> HandlerStep,
    ) -> HandlerStep {
        let input_hash = match &input {
            Input::Msg(src, msg) => fingerprint(&(src, msg)),
            Input::Timer(t) => fingerprint(t),
        };
        let key = fingerprint(&(index, state_hash, input_hash));
        if let Some(step) = self.map.get(&key) {
            return *step;
        }
        if self.map.len() >= STEP_CACHE_CAP {
            self.map.clear();
            self.timer_commands.clear();
        }
        let step = run(&input, &mut self.timer_commands);
        self.map.insert(key, step);
        step
    }

    /// A cached step's timer commands.
    fn timers_of(&self, step: &HandlerStep) -> &[u64] {
        let at = step.timers_at as usize;
        &self.timer_commands[at..at + step.timers_len as usize]
    }
}

/// The fingerprint of the state a `Deliver` or `Timeout` leads to, computed from the parent's
/// memo and the actor's handler output alone, without building the state: what
/// `ActorModel::next_state` would do, step by step, applied to part hashes instead of parts.
/// `None` when the step does something this does not follow (random choices, storage), or
/// when the model records a history (its `record_msg_in`/`out` could change it): the caller
/// then builds the state. A history of zero size (`()`, the default) cannot change.
fn step_fingerprint<A, Cfg, H>(
    model: &ActorModel<A, Cfg, H>,
    memo: &ActorMemo,
    cache: &mut StepCache<A>,
    parent: &ActorModelState<A, H>,
    action: &ActorModelAction<A::Msg, A::Timer, A::Random>,
) -> Unbuilt<PackToken>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    if std::mem::size_of::<H>() != 0 {
        return Unbuilt::Unknown;
    }
    let (id, input) = match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            let index = usize::from(*dst);
            if index >= parent.actor_states.len() || parent.crashed[index] {
                return Unbuilt::Disabled;
            }
            (*dst, Input::Msg(*src, msg))
        }
        ActorModelAction::Timeout(id, timer) => (*id, Input::Timer(timer)),
        _ => return Unbuilt::Unknown,
    };
    let index = usize::from(id);
    let actor = &model.actors[index];
    let last = &*parent.actor_states[index];
    let step = cache.get(index, memo.actors[index], input, |input, timers| {
        let mut state = Cow::Borrowed(last);
        let mut out = Out::new();
        let no_op = match input {
            Input::Msg(src, msg) => {
                actor.on_msg(id, &mut state, *src, (*msg).clone(), &mut out);
                is_no_op(&state, &out)
            }
            Input::Timer(t) => {
                actor.on_timeout(id, &mut state, t, &mut out);
                is_no_op_with_timer(&state, &out, t)
            }
        };
        let mut sent = 0u64;
        let at = timers.len();
        let mut flags = if no_op { NO_OP } else { 0 };
        for c in out.iter() {
            match c {
                Command::Send(dst, msg) => {
                    sent = sent.wrapping_add(envelope_hash(id, *dst, msg));
                }
                Command::SetTimer(t, _) => timers.push(timer_hash(index, t) | TIMER_SET),
                Command::CancelTimer(t) => timers.push(timer_hash(index, t)),
                Command::ChooseRandom(..) | Command::Save(_) => flags |= UNFOLLOWED,
            }
        }
        let timers_len = u8::try_from(timers.len() - at).unwrap_or_else(|_| {
            flags |= UNFOLLOWED;
            0
        });
        timers.truncate(at + timers_len as usize);
        let actor = match &state {
            Cow::Owned(s) => {
                flags |= CHANGED;
                fingerprint(s)
            }
            Cow::Borrowed(_) => 0,
        };
        HandlerStep {
            actor,
            sent,
            timers_at: u32::try_from(at).expect("at most 65,536 steps of 255 timer commands"),
            timers_len,
            flags,
        }
    });
    if step.flags & NO_OP != 0 {
        return Unbuilt::Disabled;
    }
    if step.flags & UNFOLLOWED != 0 {
        return Unbuilt::Unknown;
    }
    if index >= parent.timers_set.len() {
        // A first timer for this actor would lengthen `timers_set`: not followed.
        return Unbuilt::Unknown;
    }
    let mut timers = TouchedTimers::new(&memo.timer_hashes);
    let mut network = memo.network.wrapping_add(step.sent);
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            network = network.wrapping_sub(envelope_hash(*src, *dst, msg));
        }
        ActorModelAction::Timeout(_, timer) => {
            if timers.set(timer_hash(index, timer), false).is_none() {
                return Unbuilt::Unknown;
            }
        }
        _ => unreachable!("only deliveries and timeouts get here"),
    }
    for &command in cache.timers_of(&step) {
        if timers
            .set(command & !TIMER_SET, command & TIMER_SET != 0)
            .is_none()
        {
            return Unbuilt::Unknown;
        }
    }
    let changed = (step.flags & CHANGED != 0).then_some((index, step.actor));
    let actor_hash = changed.map_or(memo.actors[index], |(_, h)| h);
    let timers = timers.apply(memo.timers);
    let misc = memo.misc;
    let actors = memo
        .actors
        .iter()
        .enumerate()
        .map(|(i, &h)| if i == index { actor_hash } else { h });
    let token = PackToken {
        changed,
        parts: Some((network, timers)),
    };
    Unbuilt::Known(combine(actors, network, timers, misc), token)
}

impl<A, Cfg, H, C> Repr<ActorModel<A, Cfg, H>> for Actors<C>
where
    A: Actor + Sync + Send,
    A::Msg: Ord + Send + Sync,
    A::Timer: Ord + Send + Sync,
    A::State: Send + Sync + SharedParts,
    A::Random: Send + Sync,
    A::Storage: Send + Sync,
    H: Clone + Debug + Hash + PartialEq + Send + Sync,
    C: Canon<ActorModel<A, Cfg, H>>,
{
    type Packed = PackedActors<A, H>;
    type Memo = ActorMemo;
    type Scratch = StepCache<A>;
    type Token = PackToken;

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
            timers_hash(&s.timers_set),
            misc_hash(s),
        )
    }

    fn memo(&self, s: &ActorModelState<A, H>) -> ActorMemo {
        memo_with(s, None)
    }

    fn memo_packed(&self, packed: &PackedActors<A, H>, s: &ActorModelState<A, H>) -> ActorMemo {
        memo_with(s, Some(packed))
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
        let misc = if misc_eq(child, parent) {
            memo.misc
        } else {
            misc_hash(child)
        };
        combine(
            actors,
            network_hash(&child.network),
            timers_hash(&child.timers_set),
            misc,
        )
    }

    fn successor_fingerprint(
        &self,
        model: &ActorModel<A, Cfg, H>,
        memo: &ActorMemo,
        cache: &mut StepCache<A>,
        parent: &ActorModelState<A, H>,
        action: &ActorModelAction<A::Msg, A::Timer, A::Random>,
    ) -> Unbuilt<PackToken> {
        // Only without symmetry (a canonical successor is another state) and on the network
        // whose hash is a plain multiset.
        if !C::IDENTITY || !matches!(parent.network, Network::UnorderedNonDuplicating(_)) {
            return Unbuilt::Unknown;
        }
        step_fingerprint(model, memo, cache, parent, action)
    }

    fn pack(
        &self,
        s: ActorModelState<A, H>,
        parent: Option<(&ActorModelState<A, H>, &PackedActors<A, H>)>,
    ) -> PackedActors<A, H> {
        pack_state(s, parent, None, PackToken::default())
    }

    fn pack_sharing(
        &self,
        scratch: &mut StepCache<A>,
        s: ActorModelState<A, H>,
        parent: (&ActorModelState<A, H>, &PackedActors<A, H>),
        token: PackToken,
    ) -> PackedActors<A, H> {
        pack_state(s, Some(parent), Some(scratch), token)
    }

    fn trim_parts(&self, scratch: &mut StepCache<A>) {
        // A part only the table holds belongs to no frontier state, only to expanded levels:
        // kept, it would hold every actor state of the search until the table fills.
        scratch.actors.retain(|_, part| Arc::strong_count(part) > 1);
        scratch
            .networks
            .retain(|_, part| Arc::strong_count(part) > 1);
        scratch.timers.retain(|_, part| Arc::strong_count(part) > 1);
        scratch.parts.trim();
    }

    fn unpack<'a>(&self, p: &'a PackedActors<A, H>) -> Cow<'a, ActorModelState<A, H>> {
        let network = match &p.network.packed {
            PackedNetwork::Multiset(envelopes) => Network::new_unordered_nonduplicating(
                envelopes
                    .iter()
                    .flat_map(|(e, n)| std::iter::repeat_n(e, *n as usize).cloned()),
            ),
            PackedNetwork::Other(n) => Network::clone(n),
        };
        let misc = &*p.misc;
        // Cloned, not `Timers::new()` each: a new set draws its hasher's seed from a counter
        // every thread shares (ahash), which two exploring threads then fight over.
        let mut timers_set: Vec<Timers<A::Timer>> = vec![Timers::new(); misc.timers_len];
        for (i, t) in p.timers.timers.iter() {
            timers_set[*i as usize].set(t.clone());
        }
        Cow::Owned(ActorModelState {
            actor_states: p.actors.iter().map(|(a, _)| a.clone()).collect(),
            network,
            timers_set,
            random_choices: misc.random_choices.clone(),
            crashed: misc.crashed.clone(),
            history: misc.history.clone(),
            actor_storages: misc.actor_storages.clone(),
        })
    }
}

/// A parent state, unpacked and packed.
type Parent<'a, A, H> = (&'a ActorModelState<A, H>, &'a PackedActors<A, H>);

/// A parent's memo: the part hashes `packed` (`s` packed) carries, or without it every part
/// hashed.
fn memo_with<A: Actor, H: Hash>(
    s: &ActorModelState<A, H>,
    packed: Option<&PackedActors<A, H>>,
) -> ActorMemo {
    let (timers, timer_hashes) = match packed {
        Some(p) => (p.timers.hash, p.timers.hashes.clone()),
        None => {
            let hashes = timer_hashes(&s.timers_set);
            // `timers_hash`, from the hashes at hand.
            (hashes.iter().fold(0u64, |a, &h| a.wrapping_add(h)), hashes)
        }
    };
    ActorMemo {
        actors: match packed {
            Some(p) => p.actors.iter().map(|&(_, h)| h).collect(),
            None => s.actor_states.iter().map(|a| fingerprint(&**a)).collect(),
        },
        network: packed.map_or_else(|| network_hash(&s.network), |p| p.network.hash),
        timers,
        timer_hashes,
        misc: packed.map_or_else(|| misc_hash(s), |p| p.misc.hash),
    }
}

/// Every timer's hash ([`timer_hash`]), sorted.
fn timer_hashes<T: Hash + Eq>(timers_set: &[Timers<T>]) -> Arc<[u64]> {
    let mut hashes: Vec<u64> = timers_set
        .iter()
        .enumerate()
        .flat_map(|(i, ts)| ts.iter().map(move |t| timer_hash(i, t)))
        .collect();
    hashes.sort_unstable();
    hashes.into()
}

/// `s` packed. What did not change since `parent` is the parent's own allocation; what did is
/// interned in `scratch` when one is given (only the changed parts are hashed for that, and
/// not even those whose hashes `token` brings from the step that made `s`).
fn pack_state<A: Actor, H: PartialEq + Hash>(
    s: ActorModelState<A, H>,
    parent: Option<Parent<'_, A, H>>,
    mut scratch: Option<&mut StepCache<A>>,
    token: PackToken,
) -> PackedActors<A, H>
where
    A::Msg: Ord,
    A::Timer: Ord,
    A::State: SharedParts,
{
    let misc = match parent {
        Some((p, packed)) if misc_eq(&s, p) => packed.misc.clone(),
        _ => Arc::new(Misc {
            hash: misc_hash(&s),
            random_choices: s.random_choices,
            crashed: s.crashed,
            history: s.history,
            actor_storages: s.actor_storages,
            timers_len: s.timers_set.len(),
        }),
    };
    // The hashes `successor_fingerprint` computed for this successor, if it did.
    let known = token.parts;
    let timers = match parent {
        // A known hash that differs from the parent's settles it without comparing.
        Some((p, packed))
            if known.is_none_or(|(_, t)| t == packed.timers.hash)
                && s.timers_set == p.timers_set =>
        {
            packed.timers.clone()
        }
        _ => shared_part(
            scratch.as_deref_mut().map(|c| &mut c.timers),
            known.map_or_else(|| timers_hash(&s.timers_set), |(_, t)| t),
            &s.timers_set[..],
            |held, timers_set| same_timers(&held.timers, timers_set),
            |_, timers_set| pack_timers(timers_set),
        ),
    };
    let network = match parent {
        // A known hash that differs from the parent's settles it without comparing.
        Some((p, packed))
            if known.is_none_or(|(n, _)| n == packed.network.hash) && s.network == p.network =>
        {
            packed.network.clone()
        }
        _ => shared_part(
            scratch.as_deref_mut().map(|c| &mut c.networks),
            known.map_or_else(|| network_hash(&s.network), |(n, _)| n),
            s.network,
            |held, network| same_network(&held.packed, network),
            NetworkPart::new,
        ),
    };
    let actors = s
        .actor_states
        .into_iter()
        .enumerate()
        .map(|(i, mut a)| {
            // The parent's allocation: the parent's value, so the parent's hash.
            let unchanged = parent.and_then(|(p, packed)| {
                p.actor_states
                    .get(i)
                    .filter(|pa| Arc::ptr_eq(pa, &a))
                    .map(|_| packed.actors[i].1)
            });
            if let Some(hash) = unchanged {
                return (a, hash);
            }
            let hash = match token.changed {
                Some((j, h)) if j == i => h,
                _ => fingerprint(&*a),
            };
            if let Some(scratch) = scratch.as_deref_mut() {
                // A new distinct state: its changed tables may equal other states' tables.
                let pool = &mut scratch.parts;
                let prepare = |a: &mut Arc<A::State>| {
                    if let Some(state) = Arc::get_mut(a) {
                        state.share_parts(pool);
                    }
                };
                intern_new(&mut scratch.actors, actor_key(i, hash), &mut a, prepare);
            }
            (a, hash)
        })
        .collect();
    PackedActors {
        actors,
        network,
        timers,
        misc,
    }
}

/// The part `table` holds for `value` (hashing to `hash`, compared by `same`), or a new one
/// `build` makes of it (and the table keeps). Without a table the part is built unshared.
fn shared_part<T: PartialEq, V>(
    table: Option<&mut Interned<u64, T>>,
    hash: u64,
    value: V,
    same: impl Fn(&T, &V) -> bool,
    build: impl FnOnce(u64, V) -> Arc<T>,
) -> Arc<T> {
    let Some(table) = table else {
        return build(hash, value);
    };
    if let Some(held) = table.get(&hash)
        && same(held, &value)
    {
        return held.clone();
    }
    let mut part = build(hash, value);
    intern(table, hash, &mut part);
    part
}

/// Whether `packed` is `timers_set` packed, compared in place (both are sets).
fn same_timers<T: Hash + Eq>(packed: &[(u32, T)], timers_set: &[Timers<T>]) -> bool {
    packed.len() == timers_set.iter().map(|ts| ts.iter().count()).sum::<usize>()
        && packed.iter().all(|(i, t)| {
            timers_set
                .get(*i as usize)
                .is_some_and(|ts| ts.iter().any(|x| x == t))
        })
}

/// Whether `packed` is `network` packed, compared in place.
fn same_network<Msg: Eq + Hash>(packed: &PackedNetwork<Msg>, network: &Network<Msg>) -> bool {
    match (packed, network) {
        (PackedNetwork::Multiset(envelopes), Network::UnorderedNonDuplicating(multiset)) => {
            envelopes.len() == multiset.len()
                && envelopes
                    .iter()
                    .all(|(e, n)| multiset.get(e) == Some(&(*n as usize)))
        }
        (PackedNetwork::Other(n), other) => **n == *other,
        _ => false,
    }
}

fn pack_timers<T: Clone + Ord + Hash + Eq>(timers_set: &[Timers<T>]) -> Arc<TimersPart<T>> {
    let mut all: Vec<(u32, T)> = timers_set
        .iter()
        .enumerate()
        .flat_map(|(i, ts)| ts.iter().map(move |t| (i as u32, t.clone())))
        .collect();
    all.sort();
    let hashes = timer_hashes(timers_set);
    Arc::new(TimersPart {
        hash: hashes.iter().fold(0u64, |a, &h| a.wrapping_add(h)),
        hashes,
        timers: all.into(),
    })
}

fn pack_network<Msg: Clone + Ord + Hash>(network: Network<Msg>) -> PackedNetwork<Msg> {
    match network {
        Network::UnorderedNonDuplicating(multiset) => {
            let mut envelopes: Vec<_> = multiset
                .iter()
                .map(|(e, &n)| (e.clone(), u32::try_from(n).expect("< 2^32 copies")))
                .collect();
            // In order, so that equal networks pack equal (and intern to one).
            envelopes.sort();
            PackedNetwork::Multiset(envelopes.into())
        }
        other => PackedNetwork::Other(Box::new(other)),
    }
}

/// Checks the representation's contract on `model`, breadth-first from its initial states
/// until `max_states` are seen, on every successor of every expanded state: a fingerprint is
/// a function of the value (a successor rebuilt in allocations of its own hashes the same),
/// the incremental and the unbuilt fingerprint (computed, then from the handler cache) are
/// the built successor's, and packing loses nothing and carries its parts' own hashes.
/// Panics at the first broken rule; returns how many successors were checked and how many of
/// them the unbuilt shortcut fingerprinted. For a model's tests (`engine::check_actor_repr`).
pub(crate) fn check_contract<A, Cfg, H>(
    model: &ActorModel<A, Cfg, H>,
    max_states: usize,
) -> (usize, usize)
where
    A: super::PackableActor,
    H: super::PackableHistory,
    Cfg: Sync,
{
    use super::symmetry::Identity;
    use stateright::Model;
    type R = Actors<Identity>;
    let repr = Actors(Identity);
    let fp = |s: &ActorModelState<A, H>| <R as Repr<ActorModel<A, Cfg, H>>>::fingerprint(&repr, s);
    let memo = |s: &ActorModelState<A, H>| <R as Repr<ActorModel<A, Cfg, H>>>::memo(&repr, s);
    let memo_packed = |p: &PackedActors<A, H>, s: &ActorModelState<A, H>| {
        <R as Repr<ActorModel<A, Cfg, H>>>::memo_packed(&repr, p, s)
    };
    type Parent<'a, A, H> = Option<(&'a ActorModelState<A, H>, &'a PackedActors<A, H>)>;
    let pack = |s: ActorModelState<A, H>, parent: Parent<'_, A, H>| {
        <R as Repr<ActorModel<A, Cfg, H>>>::pack(&repr, s, parent)
    };
    let unpack =
        |p: &PackedActors<A, H>| <R as Repr<ActorModel<A, Cfg, H>>>::unpack(&repr, p).into_owned();
    let mut frontier = std::collections::VecDeque::from(model.init_states());
    let mut seen: std::collections::HashMap<Fingerprint, ActorModelState<A, H>> =
        Default::default();
    let (mut checked, mut fast) = (0, 0);
    let mut cache = StepCache::default();
    while let Some(s) = frontier.pop_front() {
        // A state reached twice (a fresh allocation each time) gets the same fingerprint,
        // and distinct states differ.
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
            // The successor's fingerprint from the parent's memo and the handler's output
            // alone (twice: computed, then from the handler cache) is the built one's.
            let unbuilt = step_fingerprint(model, &m, &mut cache, &s, &a);
            let again = step_fingerprint(model, &m, &mut cache, &s, &a);
            assert_eq!(unbuilt, again);
            let Some(next) = model.next_state(&s, a) else {
                assert_eq!(unbuilt.fingerprint(), None, "no successor");
                continue;
            };
            match unbuilt {
                Unbuilt::Known(f, _) => {
                    assert_eq!(f, fp(&next));
                    fast += 1;
                }
                Unbuilt::Disabled => panic!("a successor told missing"),
                Unbuilt::Unknown => {}
            }
            // The same value in allocations of its own: nothing shared with the parent.
            let fresh = ActorModelState {
                actor_states: next
                    .actor_states
                    .iter()
                    .map(|a| Arc::new(A::State::clone(a)))
                    .collect(),
                ..next.clone()
            };
            let incremental =
                <R as Repr<ActorModel<A, Cfg, H>>>::child_fingerprint(&repr, &m, &s, &next);
            assert_eq!(incremental, fp(&next));
            assert_eq!(incremental, fp(&fresh));
            let child = pack(next.clone(), Some((&s, &packed)));
            assert_eq!(unpack(&child), next);
            // The hashes a packed state carries are its parts' own, also when packing took
            // them from `step_fingerprint` and shared parts with earlier states.
            assert_eq!(memo_packed(&child, &next), memo(&next));
            let shared = <R as Repr<ActorModel<A, Cfg, H>>>::pack_sharing(
                &repr,
                &mut cache,
                next.clone(),
                (&s, &packed),
                unbuilt.token(),
            );
            assert_eq!(unpack(&shared), next);
            assert_eq!(memo_packed(&shared, &next), memo(&next));
            checked += 1;
            if seen.len() + frontier.len() < max_states {
                frontier.push_back(next);
            }
        }
    }
    (checked, fast)
}

#[cfg(test)]
mod tests {
    //! The representation's contract on the engine's own actor model.
    use super::*;
    use crate::engine::symmetry::Identity;
    use crate::engine::toy_actors::{Hub, HubState, State, hub};
    use stateright::Model;

    type R = Actors<Identity>;
    type P = PackedActors<crate::engine::toy_actors::Node, ()>;

    fn pack(s: HubState, parent: Option<(&HubState, &P)>) -> P {
        <R as Repr<Hub>>::pack(&Actors(Identity), s, parent)
    }

    #[test]
    fn incremental_fingerprints_and_packing_agree_with_whole_states() {
        let (checked, fast) = check_contract(&hub(3, 2), 3000);
        assert!(checked > 3000, "{checked} successors checked");
        assert_eq!(fast, checked, "every step is a delivery or a timeout");
    }

    #[test]
    fn trimming_keeps_the_parts_of_live_states_only() {
        let model = hub(3, 2);
        let repr = Actors(Identity);
        let trim = |s: &mut StepCache<_>| <R as Repr<Hub>>::trim_parts(&repr, s);
        let mut scratch = StepCache::default();
        // A state with a report in flight, so that its successors differ in network and
        // actor states.
        let init = model.init_states().remove(0);
        let mut actions = Vec::new();
        model.actions(&init, &mut actions);
        let ticked = model.next_state(&init, actions.remove(0)).unwrap();
        let root = pack(ticked.clone(), None);
        model.actions(&ticked, &mut actions);
        let children: Vec<P> = actions
            .drain(..)
            .filter_map(|a| model.next_state(&ticked, a))
            .map(|c| {
                <R as Repr<Hub>>::pack_sharing(
                    &repr,
                    &mut scratch,
                    c,
                    (&ticked, &root),
                    PackToken::default(),
                )
            })
            .collect();
        assert!(children.len() > 1);
        let tables = |s: &StepCache<_>| (s.actors.len(), s.networks.len(), s.timers.len());
        let before = tables(&scratch);
        assert!(before.0 > 0 && before.1 > 0, "{before:?}");
        // While the children live, nothing they hold is let go.
        trim(&mut scratch);
        assert_eq!(tables(&scratch), before);
        // One child kept: exactly the parts it holds stay, with their hashes.
        let mut children = children;
        let kept = children.swap_remove(0);
        drop(children);
        trim(&mut scratch);
        for part in scratch.actors.values() {
            assert!(kept.actors.iter().any(|(a, _)| Arc::ptr_eq(a, part)));
        }
        for part in scratch.networks.values() {
            assert!(Arc::ptr_eq(part, &kept.network));
        }
        for (a, hash) in kept.actors.iter() {
            assert_eq!(*hash, fingerprint(&**a));
        }
        drop(kept);
        trim(&mut scratch);
        assert_eq!(tables(&scratch), (0, 0, 0));
    }

    #[test]
    fn a_new_actor_state_shares_parts_equal_to_held_ones() {
        let model = hub(2, 2);
        let repr = Actors(Identity);
        let mut scratch = StepCache::default();
        let init = model.init_states().remove(0);
        let root = pack(init.clone(), None);
        // Two hub states that differ but hold equal tables, each in an allocation of its
        // own.
        let variant = |reordered: bool| {
            let mut s = init.clone();
            s.actor_states[0] = Arc::new(State::Hub {
                table: Arc::new([(1, 1)].into()),
                reordered,
            });
            s
        };
        let pack_hub = |scratch: &mut StepCache<_>, s: HubState| {
            let p = <R as Repr<Hub>>::pack_sharing(
                &repr,
                scratch,
                s,
                (&init, &root),
                PackToken::default(),
            );
            let State::Hub { table, .. } = &*p.actors[0].0 else {
                panic!("actor 0 is the hub");
            };
            table.clone()
        };
        let a = pack_hub(&mut scratch, variant(false));
        let b = pack_hub(&mut scratch, variant(true));
        assert!(Arc::ptr_eq(&a, &b), "the second's table is the first's");
    }
}
