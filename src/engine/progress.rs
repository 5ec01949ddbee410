//! Progress lines on stderr (about once a second), only when wanted and useful.

use super::Progress;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub(crate) struct Reporter {
    enabled: bool,
    start: Instant,
    last: Instant,
    last_states: u64,
}

impl Reporter {
    pub(crate) fn new(mode: Progress) -> Self {
        let enabled = match mode {
            Progress::Quiet => false,
            Progress::Always => true,
            Progress::Auto => std::io::stderr().is_terminal(),
        };
        let now = Instant::now();
        Reporter {
            enabled,
            start: now,
            last: now,
            last_states: 0,
        }
    }

    /// Prints a line if a second has passed since the previous one. Cheap when disabled.
    #[inline]
    pub(crate) fn tick(&mut self, what: &str, states: u64, depth: u32, queue: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_secs(1) {
            return;
        }
        let now = Instant::now();
        let rate = (states - self.last_states) as f64 / (now - self.last).as_secs_f64();
        let mem = super::limits::current_rss_bytes().unwrap_or(0) as f64 / (1u64 << 20) as f64;
        let _ = writeln!(
            std::io::stderr(),
            "[{:>7.1}s] {what}: {states} states ({rate:.0}/s), depth {depth}, queue {queue}, rss {mem:.0} MiB",
            self.start.elapsed().as_secs_f64(),
        );
        self.last = now;
        self.last_states = states;
    }
}
