//! The chunk's recover handler (`recover_handler.cc`) in abstract time: how fast a running
//! recover copies its extent, at the chunk's recover concurrency and in the state of its cache,
//! and when it gives up — incident B, the recover timeout loop (notes:273–311).
//!
//! Time is counted in *ticks* of one running copy (the model file's `[recover_pace]` says how
//! many minutes a tick is), the extent in *units* of blocks. Per tick a running recover copies
//! [`RecoverPace::units_per_tick`] units: the chunk's recover throughput shared among its
//! concurrent recovers (`大量的恢复任务争抢 IO`, many recovers compete for IO, notes:291),
//! lower once too many of them thrash the cache (`缓存击穿`, notes:291; specs A61). When the
//! copy has not finished after `recover_timeout_ticks` (`recover_timeout_ms` = 18 min,
//! notes:275) the chunk gives up (`17 分钟后 … 报错超时`, notes:297) and meta ends the command
//! (`recover_timeout.rs`).
//!
//! The candidate fixes are the options of one switch, [`RecoverTimeoutFix`]; today's behaviour
//! (fixed concurrency 32, fixed timeout) is its default.

use super::Pid;
use std::collections::{BTreeMap, BTreeSet};

crate::switch_options! {
    /// How the recover timeout loop of incident B is (or is not) broken (switch
    /// `recover_timeout_fix`, specs A65–A67).
    #[derive(Default)]
    pub enum RecoverTimeoutFix {
        /// Today: the recover concurrency is fixed (default 32 per chunk, `副本恢复的并发度默认是
        /// 固定值 32`, notes:291) and `recover_timeout_ms` is fixed.
        #[default]
        None = "none",
        /// ZBS-24563 / ZBS-13041 auto mode (notes:216, 230–234): the chunk lowers its recover
        /// concurrency on a timed-out recover (halves it, never below `min_concurrency`, "最小
        /// 应该是 2 4，而不是 1", notes:232) and raises it again on a finished one (doubles it,
        /// at most the default): "根据 recover extent 完成情况向上向下调节", notes:230.
        AdaptiveConcurrency = "adaptive_concurrency",
        /// The timeout is extended while the copy progresses: at the deadline, a copy that
        /// advanced since the last deadline gets another `recover_timeout_ticks` (specs A66).
        ExtendTimeout = "extend_timeout",
        /// ZBS-13041 static mode (notes:244–248): the operator sets the recover concurrency
        /// (`static_concurrency`); it reaches the chunk with a heartbeat reply ("跟随心跳下发，
        /// 所以不保证立即生效", notes:248).
        StaticConcurrency = "static_concurrency",
    }
}

/// The figures of a paced model (`[recover_pace]`), scaled to ticks and units: static,
/// never part of a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RecoverPace {
    /// Wall-clock minutes one tick stands for (remarks only; 0: unstated).
    pub minutes_per_tick: u16,
    /// `recover_timeout_ms` in ticks (18 min, notes:275).
    pub recover_timeout_ticks: u8,
    /// An extent in units (256 MB, notes:200; 1024 blocks, `[NORMAL RECOVER END] … cur_block:
    /// 1024`).
    pub extent_units: u8,
    /// The recover concurrency a chunk starts with (default 32, notes:230, 291).
    pub default_concurrency: u8,
    /// Adaptive mode never goes below this (2, notes:232).
    pub min_concurrency: u8,
    /// The most concurrent recovers the chunk's cache serves without thrashing (specs A61;
    /// the notes give no figure).
    pub cache_sustains: u8,
    /// The chunk's recover throughput, units per tick, while its cache serves (specs A61).
    pub warm_units_per_tick: u16,
    /// The chunk's recover throughput, units per tick, once the cache thrashes (`实际恢复速率
    /// 不足 10MB/s`, under 10 MB/s, notes:291).
    pub thrashed_units_per_tick: u16,
    /// The operator's value in ZBS-13041 static mode (notes:244).
    pub static_concurrency: u8,
}

/// The chunk's cache as the recover IO finds it (notes:269: the clean + free ratio of the LSM
/// cache; specs A61).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CacheState {
    /// At most `cache_sustains` concurrent recovers: the cache serves them.
    Warm,
    /// More: each recover evicts the others' blocks (`缓存击穿`, notes:291).
    Thrashed,
}

impl RecoverPace {
    /// The blocks of one unit, for `cur_block` in remarks (1024 blocks per extent).
    pub fn blocks_per_unit(&self) -> u32 {
        1024 / u32::from(self.extent_units.max(1))
    }

    pub fn cache(&self, concurrency: u8) -> CacheState {
        if concurrency > self.cache_sustains {
            CacheState::Thrashed
        } else {
            CacheState::Warm
        }
    }

    /// Units one running recover copies per tick at `concurrency`: the chunk's throughput in
    /// that cache state shared among its `concurrency` recovers (the chunk always has that many
    /// to run: specs A62), at most the whole extent.
    pub fn units_per_tick(&self, concurrency: u8) -> u8 {
        let total = match self.cache(concurrency) {
            CacheState::Warm => self.warm_units_per_tick,
            CacheState::Thrashed => self.thrashed_units_per_tick,
        };
        let share = total / u16::from(concurrency.max(1));
        u8::try_from(share.min(u16::from(self.extent_units))).expect("at most extent_units")
    }

    /// Adaptive mode after a timed-out recover: half, never below `min_concurrency`.
    pub fn lowered(&self, concurrency: u8) -> u8 {
        (concurrency / 2).max(self.min_concurrency)
    }

    /// Adaptive mode after a finished recover: double, at most the default.
    pub fn raised(&self, concurrency: u8) -> u8 {
        concurrency
            .saturating_mul(2)
            .min(self.default_concurrency)
            .max(concurrency)
    }
}

/// One running copy: units copied, ticks since it started (or since its deadline was last
/// extended), and the units copied at that moment.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct RecoverRun {
    pub progress: u8,
    pub elapsed: u8,
    pub progress_at_deadline: u8,
}

/// What one tick did to a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tick {
    /// It copied `rate` units and goes on.
    Copied {
        run: RecoverRun,
        rate: u8,
        cache: CacheState,
    },
    /// The extent is copied: the run ended (`[NORMAL RECOVER END]`); `concurrency` is the
    /// chunk's concurrency before → after (changed only in adaptive mode).
    Done {
        run: RecoverRun,
        rate: u8,
        concurrency: (u8, u8),
    },
    /// The deadline passed with the copy advanced since the last one: extended
    /// ([`RecoverTimeoutFix::ExtendTimeout`]).
    Extended { run: RecoverRun, rate: u8 },
    /// The deadline passed: the chunk gave up, the run ended; `concurrency` before → after.
    TimedOut {
        run: RecoverRun,
        rate: u8,
        concurrency: (u8, u8),
    },
}

/// The chunk's recover handler in a paced model: its recover concurrency and its running
/// copies, by pid and command number. In a model without `[recover_pace]` it stays empty, at
/// concurrency 0, so it adds nothing to any state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct RecoverHandler {
    pub concurrency: u8,
    pub runs: BTreeMap<(Pid, u32), RecoverRun>,
    /// Pids whose last copy timed out and whose reissue has not started yet: their lease
    /// stays in use (the loop reuses it within minutes, far from libmeta's ~1 h; specs A64).
    pub awaiting_reissue: BTreeSet<Pid>,
}

impl RecoverHandler {
    /// A paced chunk's handler at the start: the default concurrency, nothing running.
    pub fn paced(pace: &RecoverPace) -> RecoverHandler {
        RecoverHandler {
            concurrency: pace.default_concurrency,
            runs: BTreeMap::new(),
            awaiting_reissue: BTreeSet::new(),
        }
    }

    /// Whether the lease of `pid` is still in use although nothing runs for it: its copy
    /// timed out and the identical reissue is minutes away (specs A64).
    pub fn keeps_lease(&self, pid: Pid) -> bool {
        self.awaiting_reissue.contains(&pid)
    }

    /// The chunk is lost: nothing runs and nothing is awaited any more.
    pub fn clear(&mut self) {
        self.runs.clear();
        self.awaiting_reissue.clear();
    }

    /// A command starts its copy (`Get recover notification`; it first creates the
    /// temporary pextent on dst, notes:296).
    pub fn start(&mut self, key: (Pid, u32)) {
        self.runs.insert(key, RecoverRun::default());
        self.awaiting_reissue.remove(&key.0);
    }

    /// A run ends without a tick (its command replaced, the chunk lost).
    pub fn stop(&mut self, key: (Pid, u32)) {
        self.runs.remove(&key);
    }

    /// A heartbeat reply arrived: in static mode it carries the operator's concurrency
    /// (notes:248). Returns before → after when that changed it.
    pub fn on_heartbeat_reply(
        &mut self,
        pace: &RecoverPace,
        fix: RecoverTimeoutFix,
    ) -> Option<(u8, u8)> {
        let before = self.concurrency;
        if fix == RecoverTimeoutFix::StaticConcurrency && before != pace.static_concurrency {
            self.concurrency = pace.static_concurrency;
            return Some((before, self.concurrency));
        }
        None
    }

    /// One tick of run `key`; `None` if it does not run.
    pub fn tick(
        &mut self,
        pace: &RecoverPace,
        fix: RecoverTimeoutFix,
        key: (Pid, u32),
    ) -> Option<Tick> {
        let mut run = *self.runs.get(&key)?;
        let rate = pace.units_per_tick(self.concurrency);
        let cache = pace.cache(self.concurrency);
        run.progress = run.progress.saturating_add(rate).min(pace.extent_units);
        run.elapsed += 1;
        let adaptive = fix == RecoverTimeoutFix::AdaptiveConcurrency;
        let before = self.concurrency;
        let outcome = if run.progress >= pace.extent_units {
            self.runs.remove(&key);
            if adaptive {
                self.concurrency = pace.raised(before);
            }
            Tick::Done {
                run,
                rate,
                concurrency: (before, self.concurrency),
            }
        } else if run.elapsed >= pace.recover_timeout_ticks {
            if fix == RecoverTimeoutFix::ExtendTimeout && run.progress > run.progress_at_deadline {
                run.elapsed = 0;
                run.progress_at_deadline = run.progress;
                self.runs.insert(key, run);
                Tick::Extended { run, rate }
            } else {
                self.runs.remove(&key);
                self.awaiting_reissue.insert(key.0);
                if adaptive {
                    self.concurrency = pace.lowered(before);
                }
                Tick::TimedOut {
                    run,
                    rate,
                    concurrency: (before, self.concurrency),
                }
            }
        } else {
            self.runs.insert(key, run);
            Tick::Copied { run, rate, cache }
        };
        debug_assert!(
            self.runs
                .values()
                .all(|r| r.progress < pace.extent_units
                    && r.elapsed < pace.recover_timeout_ticks.max(1)),
            "a run that is still listed has neither finished nor passed its deadline"
        );
        debug_assert!(
            self.concurrency >= pace.min_concurrency.min(pace.default_concurrency),
            "never below the minimum"
        );
        Some(outcome)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The figures of `models/incident-b-recover-timeout.toml`: a tick is 3 min, a unit
    /// 32 MB (128 blocks).
    pub(crate) fn incident_b_pace() -> RecoverPace {
        RecoverPace {
            minutes_per_tick: 3,
            recover_timeout_ticks: 6,
            extent_units: 8,
            default_concurrency: 32,
            min_concurrency: 2,
            cache_sustains: 8,
            warm_units_per_tick: 256,
            thrashed_units_per_tick: 32,
            static_concurrency: 4,
        }
    }

    /// Ticks until the copy of one extent ends, and how.
    fn run_to_end(h: &mut RecoverHandler, fix: RecoverTimeoutFix) -> (u8, Tick) {
        let pace = incident_b_pace();
        h.start((3133, 1));
        let mut ticks = 0;
        loop {
            ticks += 1;
            match h.tick(&pace, fix, (3133, 1)).expect("running") {
                Tick::Copied { .. } | Tick::Extended { .. } => {}
                end => return (ticks, end),
            }
        }
    }

    #[test]
    fn at_32_the_cache_thrashes_and_an_extent_takes_longer_than_the_timeout() {
        let pace = incident_b_pace();
        // 32 units per 3-min tick over 32 recovers: about 5.7 MB/s, under notes:291's 10 MB/s.
        assert_eq!(pace.cache(32), CacheState::Thrashed);
        assert_eq!(pace.units_per_tick(32), 1);
        assert_eq!(pace.units_per_tick(16), 2);
        assert_eq!(pace.cache(8), CacheState::Warm);
        assert_eq!(pace.units_per_tick(8), 8, "at most the whole extent");
        let mut h = RecoverHandler::paced(&pace);
        let (ticks, end) = run_to_end(&mut h, RecoverTimeoutFix::None);
        assert_eq!(ticks, 6, "18 min");
        assert!(
            matches!(end, Tick::TimedOut { run, concurrency: (32, 32), .. } if run.progress == 6),
            "{end:?}"
        );
        assert!(h.runs.is_empty());
        assert!(h.keeps_lease(3133), "the reissue reuses the lease");
        h.start((3133, 1));
        assert!(!h.keeps_lease(3133));
    }

    #[test]
    fn adaptive_mode_halves_on_a_timeout_never_below_two_and_doubles_on_a_finish() {
        let pace = incident_b_pace();
        let mut h = RecoverHandler::paced(&pace);
        let fix = RecoverTimeoutFix::AdaptiveConcurrency;
        assert!(matches!(
            run_to_end(&mut h, fix),
            (
                6,
                Tick::TimedOut {
                    concurrency: (32, 16),
                    ..
                }
            )
        ));
        // At 16 the cache still thrashes, but each recover gets twice the share: 4 ticks.
        assert!(matches!(
            run_to_end(&mut h, fix),
            (
                4,
                Tick::Done {
                    concurrency: (16, 32),
                    ..
                }
            )
        ));
        for (from, to) in [(32, 16), (8, 4), (4, 2), (3, 2), (2, 2)] {
            assert_eq!(pace.lowered(from), to);
        }
        assert_eq!(pace.raised(2), 4);
        assert_eq!(pace.raised(32), 32);
    }

    #[test]
    fn extending_the_timeout_lets_the_thrashed_copy_finish() {
        let mut h = RecoverHandler::paced(&incident_b_pace());
        let (ticks, end) = run_to_end(&mut h, RecoverTimeoutFix::ExtendTimeout);
        assert_eq!(ticks, 8, "24 min at 1 unit per tick, one extension");
        assert!(matches!(end, Tick::Done { .. }));
    }

    #[test]
    fn an_extension_needs_progress_since_the_last_deadline() {
        let pace = RecoverPace {
            thrashed_units_per_tick: 0,
            ..incident_b_pace()
        };
        let mut h = RecoverHandler::paced(&pace);
        h.start((1, 1));
        let ends: Vec<Tick> = (0..6)
            .filter_map(|_| h.tick(&pace, RecoverTimeoutFix::ExtendTimeout, (1, 1)))
            .collect();
        assert!(
            matches!(ends.last(), Some(Tick::TimedOut { .. })),
            "{ends:?}"
        );
    }

    #[test]
    fn static_mode_takes_the_operators_value_with_a_heartbeat() {
        let pace = incident_b_pace();
        let mut h = RecoverHandler::paced(&pace);
        assert_eq!(
            h.on_heartbeat_reply(&pace, RecoverTimeoutFix::None),
            None,
            "no static value today"
        );
        let fix = RecoverTimeoutFix::StaticConcurrency;
        assert_eq!(h.on_heartbeat_reply(&pace, fix), Some((32, 4)));
        assert_eq!(h.on_heartbeat_reply(&pace, fix), None, "already set");
        assert!(matches!(run_to_end(&mut h, fix), (1, Tick::Done { .. })));
    }

    proptest! {
        /// Whatever the figures and the fix, every run ends within a bounded number of ticks
        /// (so a paced model stays finite), progress never exceeds the extent, adaptive mode
        /// stays within [min, default], and a run ends `Done` exactly when its extent is copied.
        #[test]
        fn runs_end_within_bounds(
            timeout in 1u8..8,
            extent in 1u8..10,
            sustains in 1u8..40,
            warm in 0u16..300,
            thrashed in 0u16..60,
            fix_ix in 0usize..4,
            runs in 1usize..5,
        ) {
            let pace = RecoverPace {
                minutes_per_tick: 3,
                recover_timeout_ticks: timeout,
                extent_units: extent,
                default_concurrency: 32,
                min_concurrency: 2,
                cache_sustains: sustains,
                warm_units_per_tick: warm,
                thrashed_units_per_tick: thrashed,
                static_concurrency: 4,
            };
            let fix = <RecoverTimeoutFix as crate::domain::variant::SwitchValue>::OPTIONS[fix_ix].1;
            let mut h = RecoverHandler::paced(&pace);
            h.on_heartbeat_reply(&pace, fix);
            for id in 0..runs as u32 {
                h.start((7, id));
                let bound = u32::from(timeout) * (u32::from(extent) + 1);
                let mut ticks = 0;
                let end = loop {
                    ticks += 1;
                    prop_assert!(ticks <= bound, "run {id} still going after {ticks} ticks");
                    match h.tick(&pace, fix, (7, id)).unwrap() {
                        Tick::Copied { run, .. } | Tick::Extended { run, .. } => {
                            prop_assert!(run.progress < extent);
                        }
                        end => break end,
                    }
                };
                match end {
                    Tick::Done { run, .. } => prop_assert_eq!(run.progress, extent),
                    Tick::TimedOut { run, .. } => prop_assert!(run.progress < extent),
                    other => prop_assert!(false, "{other:?}"),
                }
                prop_assert!(h.runs.is_empty());
                prop_assert!((2..=32).contains(&h.concurrency), "{}", h.concurrency);
            }
        }
    }
}
