//! Level-synchronous, deterministic, parallel breadth-first search.
//!
//! Each BFS level is processed in batches of up to `SUB * SUBS` parent states, in two phases:
//!
//! * **expand** (parallel over fixed-size sub-chunks of the batch): generate successors,
//!   canonicalise, fingerprint, and route each into bucket `[sub-chunk][shard of fingerprint]`;
//! * **insert** (parallel over the [`SHARDS`] visited-set shards): the owner of shard `s` drains
//!   buckets `[0][s], [1][s], …` in order, inserts into its shard, checks properties on new
//!   states and appends them to the shard's part of the next level.
//!
//! Every shard therefore sees successors in exactly the order a sequential BFS would generate
//! them, whatever the thread count: the first parent of a state (and so every trace), the
//! order of the next level, the states counted and the first violation found are all identical
//! for 1 and N threads, and no lock is ever contended. Because properties are checked when a
//! state is first inserted, and all states of depth ≤ d are inserted before any of depth d+1,
//! the recorded parent chain of a violating state is a shortest path. The next level is
//! merged back from the shards into sequential generation order, so ties between equally
//! short paths resolve exactly as in a one-thread BFS.
//!
//! Models whose states own heap data (wider than `HEAVY_STATE_BYTES` inline — an
//! `ActorModel`) get smaller batches (`HEAVY_SUB * HEAVY_SUBS` parents), successors already
//! visited or generated twice in one sub-chunk dropped before buffering, and bucket memory
//! returned after each batch: for them the buffered successors, not the visited set, decide
//! the peak memory.

use super::fingerprint::{Fingerprint, IdentityBuild};
use super::limits::{Limits, peak_rss_bytes};
use super::liveness;
use super::progress::Reporter;
use super::repr::{Repr, Unbuilt};
use super::trace::{Replayed, Trace, replay};
use super::visited::{ROOT, SHARDS, Visited, shard_of};
use super::{Options, Outcome, PropertyResult, StopReason, Verdict, safety_verdict};
use stateright::{Expectation, Model, Property};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Parents per sub-chunk (the unit of work of the expand phase).
const SUB: usize = 1024;
/// Sub-chunks per batch.
const SUBS: usize = 32;
/// Sub-chunks per batch for heavy states (see `HEAVY_STATE_BYTES`).
const HEAVY_SUBS: usize = 4;
/// Parents per sub-chunk for heavy states.
const HEAVY_SUB: usize = 512;
/// Frontier states are kept in blocks of this many: growing a level never copies it (no
/// doubling slack, no transient 2× peak), and processed blocks are freed at once.
const BLOCK: usize = 4096;
/// The capacity of a shard's `n`-th block of the next level: small at first, doubling up to
/// [`BLOCK`], so that 64 shards' first blocks cost little on a small model (64 full blocks
/// of ActorModel states were 14 MiB, more than a whole small exploration).
fn block_capacity(n: usize) -> usize {
    (8usize << n.min(9)).min(BLOCK)
}

/// States larger than this inline are taken to own heap data (see the expand phase).
const HEAVY_STATE_BYTES: usize = 64;
/// Batches with fewer buffered successors than this are inserted by one thread.
const SMALL_BATCH: usize = 4096;
/// How many inserts ahead to prefetch visited-set slots.
const PREFETCH: usize = 16;

/// A generated successor waiting to be inserted.
struct Succ<S> {
    state: S,
    fp: Fingerprint,
    /// Position in sequential generation order within the batch: parent index (high 32
    /// bits), then action ordinal. Keeps the first discovery deterministic and locates the
    /// parent's fingerprint.
    order: u64,
}

/// One BFS level: blocks of `(state, fingerprint)` in a deterministic order.
struct Level<S> {
    blocks: Vec<Vec<(S, Fingerprint)>>,
    /// Global index of each block's first item.
    starts: Vec<usize>,
    len: usize,
}

impl<S> Level<S> {
    fn new(blocks: Vec<Vec<(S, Fingerprint)>>) -> Self {
        let mut starts = Vec::with_capacity(blocks.len());
        let mut len = 0;
        for b in &blocks {
            starts.push(len);
            len += b.len();
        }
        Level {
            blocks,
            starts,
            len,
        }
    }

    /// Calls `f(global index, item)` for items `lo..hi`.
    fn for_each_in(&self, lo: usize, hi: usize, mut f: impl FnMut(usize, &(S, Fingerprint))) {
        let mut b = self.starts.partition_point(|&s| s <= lo) - 1;
        let mut i = lo;
        while i < hi {
            let block = &self.blocks[b];
            let off = i - self.starts[b];
            let take = (block.len() - off).min(hi - i);
            for (k, item) in block[off..off + take].iter().enumerate() {
                f(i + k, item);
            }
            i += take;
            b += 1;
        }
    }

    /// Frees every block that ends at or before `idx`.
    fn release_before(&mut self, idx: usize) {
        for (b, block) in self.blocks.iter_mut().enumerate() {
            if self.starts[b] + block.len() <= idx {
                *block = Vec::new();
            } else if self.starts[b] >= idx {
                break;
            }
        }
    }
}

/// A successor's position in sequential generation order over the whole level: the global
/// index of its parent (batch start + the parent's index in the batch), then its action
/// ordinal (clamped to 8 bits; past 255 actions ties fall back to shard order, still
/// deterministic).
fn generation_key(batch_start: usize, order: u64) -> u64 {
    let parent = batch_start as u64 + (order >> 32);
    (parent << 8) | (order & 0xffff_ffff).min(0xff)
}

/// Blocks of frontier states with their fingerprints.
type Blocks<S> = Vec<Vec<(S, Fingerprint)>>;

/// K-way merge of the shards' parts (each already sorted by key) into blocks in key order.
fn merge_by_key<S>(parts: Vec<(Blocks<S>, Vec<u64>)>) -> Blocks<S> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut remaining: usize = parts.iter().map(|(_, keys)| keys.len()).sum();
    let mut iters: Vec<_> = parts
        .into_iter()
        .map(|(blocks, keys)| blocks.into_iter().flatten().zip(keys))
        .collect();
    let mut heap = BinaryHeap::with_capacity(iters.len());
    let mut heads = Vec::with_capacity(iters.len());
    for (s, it) in iters.iter_mut().enumerate() {
        let head = it.next();
        if let Some((_, key)) = &head {
            heap.push(Reverse((*key, s)));
        }
        heads.push(head);
    }
    let mut blocks: Blocks<S> = Vec::new();
    while let Some(Reverse((_, s))) = heap.pop() {
        let (item, _) = heads[s].take().expect("a queued shard has a head");
        if blocks.last().is_none_or(|b| b.len() == BLOCK) {
            blocks.push(Vec::with_capacity(BLOCK.min(remaining)));
        }
        remaining -= 1;
        blocks.last_mut().expect("just pushed").push(item);
        heads[s] = iters[s].next();
        if let Some((_, key)) = &heads[s] {
            heap.push(Reverse((*key, s)));
        }
    }
    blocks
}

/// Runs `f` on `threads` threads (the caller's included) and waits for all of them.
pub(crate) fn par<F: Fn() + Sync>(threads: usize, f: F) {
    if threads <= 1 {
        f();
        return;
    }
    std::thread::scope(|sc| {
        for _ in 1..threads {
            sc.spawn(&f);
        }
        f();
    });
}

/// First discovery per property: `(order, fingerprint)`.
type Found = Vec<Option<(u64, Fingerprint)>>;

/// Keeps, per property, the earlier of two discoveries.
fn merge_found(into: &Mutex<Found>, local: Found) {
    let mut all = into.lock().unwrap();
    for (b, l) in all.iter_mut().zip(local) {
        if let Some((o, fp)) = l
            && b.is_none_or(|(bo, _)| o < bo)
        {
            *b = Some((o, fp));
        }
    }
}

fn check_props<M: Model>(
    model: &M,
    props: &[Property<M>],
    decided: &[bool],
    state: &M::State,
    order: u64,
    fp: Fingerprint,
    found: &mut Found,
) {
    for (i, p) in props.iter().enumerate() {
        // Decided in an earlier batch, or already found here at an earlier position (this
        // state cannot win): skip the (possibly costly) condition.
        if decided[i] || found[i].is_some_and(|(o, _)| o < order) {
            continue;
        }
        if super::discovers(model, p, state) && found[i].is_none_or(|(o, _)| order < o) {
            found[i] = Some((order, fp));
        }
    }
}

pub(crate) fn run<M, R>(model: &M, repr: &R, opts: &Options) -> Outcome<M>
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    run_with(model, repr, opts, None)
}

/// [`run`], with levels of at most `alone_max` states (default: one sub-chunk) expanded by
/// [`expand_level_alone`] and larger ones in batches. Tests set it to compare the two ways.
fn run_with<M, R>(model: &M, repr: &R, opts: &Options, alone_max: Option<usize>) -> Outcome<M>
where
    M: Model + Sync,
    R: Repr<M>,
    M::State: Clone + Debug + Hash + Eq + Send + Sync,
    M::Action: Clone + Debug + Send + Sync,
{
    let threads = opts.threads.max(1);
    let props = model.properties();
    let heavy = std::mem::size_of::<M::State>() > HEAVY_STATE_BYTES;
    // A lossy representation keeps no state to check once a successor is packed: its
    // properties are checked in the expand phase, on every successor not already known to
    // be a duplicate (a state generated twice in one batch is checked twice; the first
    // discovery still wins, since discoveries are ranked by generation order).
    let check_on_expand = R::LOSSY;
    let mut limits = Limits::new(opts);
    let mut reporter = Reporter::new(opts.progress);
    let visited = Visited::new();

    // `decided[i]`: a discovery for property i is final (found in an earlier batch).
    let mut decided = vec![false; props.len()];
    let mut found: Found = vec![None; props.len()];
    let all_decided = |decided: &[bool]| super::safety_decided(&props, decided.iter().copied());

    let mut init_level = Vec::new();
    for (i, s) in model.init_states().into_iter().enumerate() {
        if !model.within_boundary(&s) {
            continue;
        }
        let c = repr.canon(model, s);
        let fp = repr.fingerprint(&c);
        if visited.insert(fp, ROOT) {
            check_props(model, &props, &decided, &c, i as u64, fp, &mut found);
            init_level.push((repr.pack(c, None), fp));
        }
    }
    for (d, f) in decided.iter_mut().zip(&found) {
        *d = f.is_some();
    }
    let mut frontier = Level::new(vec![init_level]);
    let mut unique = frontier.len as u64;
    let mut depth = 0u32;
    let mut stopped: Option<StopReason> = None;

    // Grown to the largest batch seen (a small model never needs all `SUBS * SHARDS`).
    let mut buckets: Vec<Mutex<Vec<Succ<R::Packed>>>> = Vec::new();
    // Each shard's part of the next level, made on the first batched level (a small model's
    // levels all go the sequential way).
    #[allow(clippy::type_complexity)]
    let mut next_parts: Vec<Mutex<Vec<Vec<(R::Packed, Fingerprint)>>>> = Vec::new();
    // Beside each shard's part, the sequential generation key of every state in it
    // (global parent index, then action ordinal): merging the parts by key gives the next
    // level in exactly the order a one-thread BFS would build it.
    let mut next_keys: Vec<Mutex<Vec<u64>>> = Vec::new();

    let scratch_pool: Mutex<Vec<R::Scratch>> = Mutex::new(Vec::new());

    'levels: while frontier.len > 0 {
        if opts.stop_when_decided && all_decided(&decided) {
            stopped = Some(StopReason::Decided);
            break;
        }
        if opts.max_depth.is_some_and(|m| depth >= m) {
            if has_unseen_successor(model, repr, &visited, &frontier) {
                stopped = Some(StopReason::MaxDepth);
            }
            break;
        }
        // A level that fits in one sub-chunk is expanded by one thread anyway: it goes the
        // sequential way, with no buffering between the phases (see `expand_level_alone`).
        let one_sub = if heavy { HEAVY_SUB } else { SUB };
        if frontier.len <= alone_max.unwrap_or(one_sub) {
            let mut scratch = scratch_pool.lock().unwrap().pop().unwrap_or_default();
            let level = expand_level_alone(
                model,
                repr,
                &props,
                &decided,
                &visited,
                &mut scratch,
                &frontier,
                &mut found,
            );
            scratch_pool.lock().unwrap().push(scratch);
            for (d, f) in decided.iter_mut().zip(&found) {
                *d = f.is_some();
            }
            unique += level.len as u64;
            frontier = level;
            trim_parts(repr, &scratch_pool);
            reporter.tick("explore", unique, depth + 1, 0);
            if let Some(r) = limits.check(unique) {
                stopped = Some(r);
                break 'levels;
            }
            if frontier.len > 0 {
                depth += 1;
            }
            continue 'levels;
        }
        if next_parts.is_empty() {
            next_parts = (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect();
            next_keys = (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect();
        }
        let mut start = 0;
        while start < frontier.len {
            // Heavy states: smaller batches, so that the successors buffered between the two
            // phases stay a small fraction of the frontier.
            let (sub, subs) = if heavy {
                (HEAVY_SUB, HEAVY_SUBS)
            } else {
                (SUB, SUBS)
            };
            let end = (start + sub * subs).min(frontier.len);
            let n_subs = (end - start).div_ceil(sub);
            // Sized to the batch: a small model's levels are far below a full batch.
            let batch_parents: Vec<AtomicU64> =
                (0..end - start).map(|_| AtomicU64::new(0)).collect();
            if buckets.len() < n_subs * SHARDS {
                buckets.resize_with(n_subs * SHARDS, Default::default);
            }
            let buckets = &buckets;
            let level = &frontier;

            // Phase 1: expand.
            let next_sub = AtomicUsize::new(0);
            let batch_found: Mutex<Found> = Mutex::new(vec![None; props.len()]);
            let buffered = AtomicUsize::new(0);
            // No more threads than sub-chunks: a small level (a small model) is not worth a
            // thread start.
            par(threads.min(n_subs), || {
                let mut actions = Vec::new();
                let mut local_found: Found = vec![None; props.len()];
                // Each thread's scratch (its handler cache) lives across batches and levels.
                let mut scratch = scratch_pool.lock().unwrap().pop().unwrap_or_default();
                loop {
                    let j = next_sub.fetch_add(1, Ordering::Relaxed);
                    if j >= n_subs {
                        break;
                    }
                    let mut out: Vec<_> = (0..SHARDS)
                        .map(|s| buckets[j * SHARDS + s].lock().unwrap())
                        .collect();
                    let mut pushed = 0;
                    // Heavy states (owning heap data: an ActorModel's vectors, maps, persistent
                    // collections) are deduplicated before buffering — against earlier batches
                    // and within this sub-chunk — since a batch's buffered duplicates would
                    // otherwise dominate memory. Compact states (the toy: an integer) skip
                    // both checks, which would cost more than the buffering they save.
                    let seen = heavy.then(|| visited.read_all());
                    // Fingerprints are hashes already: stored as they are.
                    let mut local: std::collections::HashSet<Fingerprint, IdentityBuild> =
                        Default::default();
                    let lo = start + j * sub;
                    let hi = (lo + sub).min(end);
                    level.for_each_in(lo, hi, |g, (packed, parent_fp)| {
                        let k = g - start;
                        batch_parents[k].store(*parent_fp, Ordering::Relaxed);
                        let base = (k as u64) << 32;
                        let state = repr.unpack(packed);
                        let state = &*state;
                        let memo = repr.memo_packed(packed, state);
                        model.actions(state, &mut actions);
                        for (a, action) in actions.drain(..).enumerate() {
                            // A successor the representation can fingerprint unbuilt, and
                            // that fingerprint shows already seen, is never built.
                            let fast = repr.successor_fingerprint(
                                model,
                                &memo,
                                &mut scratch,
                                state,
                                &action,
                            );
                            match fast {
                                Unbuilt::Disabled => continue,
                                Unbuilt::Known(fp, _) => {
                                    if let Some(seen) = &seen
                                        && (seen[shard_of(fp)].contains(fp) || local.contains(&fp))
                                    {
                                        continue;
                                    }
                                }
                                Unbuilt::Unknown => {}
                            }
                            let Some((c, fp)) = build_successor(
                                model,
                                repr,
                                &memo,
                                state,
                                action,
                                fast.fingerprint(),
                            ) else {
                                continue;
                            };
                            // Seen in an earlier batch or level: never buffer it (for models
                            // with heavy states, buffering every duplicate dominated memory).
                            if let Some(seen) = &seen
                                && (seen[shard_of(fp)].contains(fp) || !local.insert(fp))
                            {
                                continue;
                            }
                            let order = base | (a as u64).min(u32::MAX as u64);
                            if check_on_expand {
                                check_props(
                                    model,
                                    &props,
                                    &decided,
                                    &c,
                                    order,
                                    fp,
                                    &mut local_found,
                                );
                            }
                            out[shard_of(fp)].push(Succ {
                                state: repr.pack_sharing(
                                    &mut scratch,
                                    c,
                                    (state, packed),
                                    fast.token(),
                                ),
                                fp,
                                order,
                            });
                            pushed += 1;
                        }
                    });
                    buffered.fetch_add(pushed, Ordering::Relaxed);
                }
                merge_found(&batch_found, local_found);
                scratch_pool.lock().unwrap().push(scratch);
            });

            // Phase 2: insert, shard by shard.
            let next_shard = AtomicUsize::new(0);
            let added = AtomicU64::new(0);
            let insert_threads = if buffered.into_inner() < SMALL_BATCH {
                1
            } else {
                threads
            };
            par(insert_threads, || {
                let mut local: Found = vec![None; props.len()];
                let mut count = 0u64;
                loop {
                    let s = next_shard.fetch_add(1, Ordering::Relaxed);
                    if s >= SHARDS {
                        break;
                    }
                    let mut shard = visited.shard(s);
                    let mut next = next_parts[s].lock().unwrap();
                    let mut keys = next_keys[s].lock().unwrap();
                    for j in 0..n_subs {
                        let mut bucket = buckets[j * SHARDS + s].lock().unwrap();
                        // Successors are moved, not cloned, into the next level (a clone of
                        // a heavy state allocates); their fingerprints drive the prefetch.
                        let fps: Vec<Fingerprint> = bucket.iter().map(|b| b.fp).collect();
                        for &fp in fps.iter().take(PREFETCH) {
                            shard.prefetch(fp);
                        }
                        for (k, succ) in bucket.drain(..).enumerate() {
                            if let Some(&ahead) = fps.get(k + PREFETCH) {
                                shard.prefetch(ahead);
                            }
                            let parent = || {
                                batch_parents[(succ.order >> 32) as usize].load(Ordering::Relaxed)
                            };
                            if shard.insert_with(succ.fp, parent) {
                                count += 1;
                                if !check_on_expand {
                                    check_props(
                                        model,
                                        &props,
                                        &decided,
                                        &repr.unpack(&succ.state),
                                        succ.order,
                                        succ.fp,
                                        &mut local,
                                    );
                                }
                                if next.last().is_none_or(|b| b.len() == BLOCK) {
                                    let cap = block_capacity(next.len());
                                    next.push(Vec::with_capacity(cap));
                                }
                                keys.push(generation_key(start, succ.order));
                                next.last_mut().unwrap().push((succ.state, succ.fp));
                            }
                        }
                        if heavy {
                            // 2,048 buckets keeping room for hundreds of large states each
                            // would hold more memory than the frontier itself.
                            bucket.shrink_to_fit();
                        }
                    }
                }
                added.fetch_add(count, Ordering::Relaxed);
                merge_found(&batch_found, local);
            });
            for (i, f) in batch_found.into_inner().unwrap().into_iter().enumerate() {
                if !decided[i] && f.is_some() {
                    found[i] = f;
                    decided[i] = true;
                }
            }
            unique += added.into_inner();
            frontier.release_before(end);
            start = end;

            let queued = (frontier.len - start) as u64;
            reporter.tick("explore", unique, depth + 1, queued);
            if let Some(r) = limits.check(unique) {
                stopped = Some(r);
                break 'levels;
            }
            if opts.stop_when_decided && all_decided(&decided) {
                stopped = Some(StopReason::Decided);
                break 'levels;
            }
        }

        // Next level: the shards' parts merged back into sequential generation order, so that
        // among equally short paths the one a sequential BFS finds first is the one kept
        // (for an actor model: lowest actor id and message first).
        let parts: Vec<_> = next_parts
            .iter()
            .zip(&next_keys)
            .map(|(p, k)| {
                (
                    std::mem::take(&mut *p.lock().unwrap()),
                    std::mem::take(&mut *k.lock().unwrap()),
                )
            })
            .collect();
        frontier = Level::new(merge_by_key(parts));
        trim_parts(repr, &scratch_pool);
        if frontier.len > 0 {
            depth += 1;
        }
    }
    drop(frontier);
    drop(buckets);
    drop(next_parts);
    drop(next_keys);
    // The visited set goes before the traces are built (at the end of a small run they are
    // the peak): only the discoveries' fingerprint chains are needed of it.
    let chains = chains_to(&visited, &found);
    drop(visited);
    // Traces are replayed with one thread's handler results (their first steps are the
    // search's first steps); the rest of the scratch holds states no frontier needs.
    let mut scratch = scratch_pool.into_inner().unwrap().pop().unwrap_or_default();
    repr.release_parts(&mut scratch);
    let traces = replay_found(model, repr, &mut scratch, chains);
    drop(scratch);

    let complete = stopped.is_none();
    let live_ok = matches!(stopped, None | Some(StopReason::Decided));
    let mut results = Vec::with_capacity(props.len());
    let eventually: Vec<usize> = (0..props.len())
        .filter(|&i| props[i].expectation == Expectation::Eventually)
        .collect();
    let mut live = if live_ok && !eventually.is_empty() {
        let lprops: Vec<_> = eventually
            .iter()
            .map(|&i| liveness::Liveness::eventually(props[i].name, props[i].condition))
            .collect();
        let out = liveness::check_with(model, repr, &|_| None, &lprops, opts);
        out.results.into_iter().map(Some).collect()
    } else {
        (0..eventually.len()).map(|_| None).collect::<Vec<_>>()
    }
    .into_iter();

    for (p, trace) in props.iter().zip(traces) {
        let (verdict, trace, lasso) = match p.expectation {
            Expectation::Always | Expectation::Sometimes => {
                let verdict = safety_verdict(&p.expectation, trace.is_some(), complete);
                (verdict, trace, None)
            }
            Expectation::Eventually => match live.next().flatten() {
                Some(r) => {
                    let trace = r.lasso.as_ref().map(|l| l.unrolled());
                    (r.verdict, trace, r.lasso)
                }
                None => (Verdict::Unknown, None, None),
            },
        };
        results.push(PropertyResult {
            name: p.name,
            expectation: p.expectation.clone(),
            verdict,
            trace,
            lasso,
        });
    }

    Outcome {
        unique_states: unique,
        max_depth: depth,
        seconds: limits.elapsed(),
        peak_rss_bytes: peak_rss_bytes(),
        complete,
        stopped_by: stopped,
        properties: results,
    }
}

/// Lets every thread's scratch go of the shared parts only expanded levels held.
fn trim_parts<M, R>(repr: &R, pool: &Mutex<Vec<R::Scratch>>)
where
    M: Model,
    M::State: Clone,
    R: Repr<M>,
{
    for scratch in pool.lock().unwrap().iter_mut() {
        repr.trim_parts(scratch);
    }
}

/// The successor `action` leads to from `state`, canonical, with its fingerprint (`known`:
/// the one `successor_fingerprint` gave, if any); `None` if there is none or it lies outside
/// the model's boundary.
fn build_successor<M, R>(
    model: &M,
    repr: &R,
    memo: &R::Memo,
    state: &M::State,
    action: M::Action,
    known: Option<Fingerprint>,
) -> Option<(M::State, Fingerprint)>
where
    M: Model,
    M::State: Clone,
    R: Repr<M>,
{
    let next = model.next_state(state, action)?;
    if !model.within_boundary(&next) {
        return None;
    }
    let c = repr.canon(model, next);
    let fp = match known {
        Some(fp) => {
            debug_assert_eq!(
                fp,
                repr.child_fingerprint(memo, state, &c),
                "successor_fingerprint disagrees with the built successor"
            );
            fp
        }
        None => repr.child_fingerprint(memo, state, &c),
    };
    Some((c, fp))
}

/// Expands a whole level on the calling thread: each successor is looked up and inserted as
/// it is generated, in sequential generation order (parent, then action), which is the order
/// the batched phases reproduce, so a level goes either way with the same result. Used for
/// levels of one sub-chunk, which the batched path would expand on one thread as well, but
/// after buffering every successor, locking 64 buckets and merging 64 shard parts: on a small
/// model (a few dozen states per level) that overhead is the bulk of the time.
#[allow(clippy::too_many_arguments)]
fn expand_level_alone<M, R>(
    model: &M,
    repr: &R,
    props: &[Property<M>],
    decided: &[bool],
    visited: &Visited,
    scratch: &mut R::Scratch,
    frontier: &Level<R::Packed>,
    found: &mut Found,
) -> Level<R::Packed>
where
    M: Model,
    M::State: Clone,
    R: Repr<M>,
{
    let mut blocks: Blocks<R::Packed> = Vec::new();
    let mut actions = Vec::new();
    frontier.for_each_in(0, frontier.len, |g, (packed, parent_fp)| {
        let state = repr.unpack(packed);
        let state = &*state;
        let memo = repr.memo_packed(packed, state);
        model.actions(state, &mut actions);
        for (a, action) in actions.drain(..).enumerate() {
            let fast = repr.successor_fingerprint(model, &memo, scratch, state, &action);
            match fast {
                Unbuilt::Disabled => continue,
                Unbuilt::Known(fp, _) if visited.contains(fp) => continue,
                Unbuilt::Known(..) | Unbuilt::Unknown => {}
            }
            let Some((c, fp)) =
                build_successor(model, repr, &memo, state, action, fast.fingerprint())
            else {
                continue;
            };
            if !visited.insert(fp, *parent_fp) {
                continue;
            }
            let order = ((g as u64) << 32) | (a as u64).min(u32::MAX as u64);
            check_props(model, props, decided, &c, order, fp, found);
            if blocks.last().is_none_or(|b| b.len() == BLOCK) {
                blocks.push(Vec::with_capacity(block_capacity(blocks.len())));
            }
            let packed = repr.pack_sharing(scratch, c, (state, packed), fast.token());
            blocks.last_mut().expect("just pushed").push((packed, fp));
        }
    });
    Level::new(blocks)
}

/// Each property's first discovery as the chain of fingerprints from an initial state.
fn chains_to(visited: &Visited, found: &Found) -> Vec<Option<Vec<Fingerprint>>> {
    found
        .iter()
        .map(|f| f.map(|(_, fp)| visited.chain_to(fp)))
        .collect()
}

/// The trace to each property's first discovery, replayed together: a state is replayed once
/// for all the traces through it (chains share prefixes, and properties discovered at the
/// same state share all of it).
fn replay_found<M, R>(
    model: &M,
    repr: &R,
    scratch: &mut R::Scratch,
    chains: Vec<Option<Vec<Fingerprint>>>,
) -> Vec<Option<Trace<M::State, M::Action>>>
where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
    R: Repr<M>,
{
    let mut done = Replayed::default();
    chains
        .iter()
        .map(|chain| {
            chain
                .as_ref()
                .map(|chain| replay(model, repr, scratch, chain, &mut done))
        })
        .collect()
}

/// Whether some state of `frontier` has a successor not in `visited` (used at the depth
/// bound: if not, the bound cut nothing and the exploration is still complete).
fn has_unseen_successor<M, R>(
    model: &M,
    repr: &R,
    visited: &Visited,
    frontier: &Level<R::Packed>,
) -> bool
where
    M: Model,
    M::State: Clone,
    R: Repr<M>,
{
    let mut actions = Vec::new();
    let mut unseen = false;
    frontier.for_each_in(0, frontier.len, |_, (packed, _)| {
        if unseen {
            return;
        }
        let state = repr.unpack(packed);
        let state = &*state;
        model.actions(state, &mut actions);
        for action in actions.drain(..) {
            if let Some(next) = model.next_state(state, action)
                && model.within_boundary(&next)
                && !visited.contains(repr.fingerprint(&repr.canon(model, next)))
            {
                unseen = true;
            }
        }
    });
    unseen
}

#[cfg(test)]
mod tests {
    //! The two ways of expanding a level give one result.
    use super::*;
    use crate::engine::actor_repr::Actors;
    use crate::engine::symmetry::Identity;
    use crate::engine::toy_actors::{Hub, HubState, hub};
    use stateright::Model;

    type Decided = (
        &'static str,
        Verdict,
        Option<Trace<HubState, <Hub as Model>::Action>>,
    );

    /// What a run decides: counts, depth, and each property's verdict and trace (compared
    /// as values: the `Debug` of equal networks may list messages in different orders).
    fn summary(out: &Outcome<Hub>) -> (u64, u32, Vec<Decided>) {
        let props = out
            .properties
            .iter()
            .map(|p| (p.name, p.verdict, p.trace.clone()))
            .collect();
        (out.unique_states, out.max_depth, props)
    }

    #[test]
    fn levels_expanded_alone_or_in_batches_agree() {
        // Three workers counting to two: levels from 1 to about a thousand states (more than
        // one sub-chunk), a violation four steps deep.
        let model = hub(3, 2);
        for threads in [1, 2] {
            let opts = Options {
                threads,
                stop_when_decided: false,
                ..Options::default()
            };
            let batched = run_with(&model, &Actors(Identity), &opts, Some(0));
            let alone = run_with(&model, &Actors(Identity), &opts, Some(usize::MAX));
            let mixed = run(&model, &Actors(Identity), &opts);
            assert_eq!(batched.unique_states, 18_552);
            let verdicts: Vec<_> = batched.properties.iter().map(|p| p.verdict).collect();
            assert_eq!(
                verdicts,
                [Verdict::Holds, Verdict::Violated, Verdict::Holds]
            );
            // Two ticks, the second report delivered, its acknowledgement delivered.
            let trace = batched.properties[1].trace.as_ref().unwrap();
            assert_eq!(trace.steps.len(), 4);
            assert_eq!(summary(&batched), summary(&alone), "{threads} threads");
            assert_eq!(summary(&batched), summary(&mixed), "{threads} threads");
        }
    }
}
