//! Resource limits: state count, depth, wall clock, resident memory.

use super::{Options, StopReason};
use std::time::{Duration, Instant};

fn status_field_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Current resident set size (VmRSS) in bytes; `None` where /proc is unavailable.
pub fn current_rss_bytes() -> Option<u64> {
    status_field_kb("VmRSS:").map(|kb| kb * 1024)
}

/// Peak resident set size of this process (VmHWM) in bytes; 0 where unavailable.
pub fn peak_rss_bytes() -> u64 {
    status_field_kb("VmHWM:").map(|kb| kb * 1024).unwrap_or(0)
}

/// Checks the limits of [`Options`] between batches. Reading /proc costs ~10 µs, so memory is
/// sampled at most every 50 ms.
pub(crate) struct Limits {
    start: Instant,
    max_states: Option<u64>,
    timeout: Option<Duration>,
    max_memory: Option<u64>,
    last_mem_check: Instant,
}

impl Limits {
    pub(crate) fn new(opts: &Options) -> Self {
        let now = Instant::now();
        Limits {
            start: now,
            max_states: opts.max_states,
            timeout: opts.timeout,
            max_memory: opts.max_memory_bytes,
            last_mem_check: now - Duration::from_secs(1),
        }
    }

    pub(crate) fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The first limit exceeded, if any.
    pub(crate) fn check(&mut self, states: u64) -> Option<StopReason> {
        if self.max_states.is_some_and(|m| states >= m) {
            return Some(StopReason::MaxStates);
        }
        if self.timeout.is_some_and(|t| self.start.elapsed() >= t) {
            return Some(StopReason::Timeout);
        }
        if let Some(max) = self.max_memory
            && self.last_mem_check.elapsed() >= Duration::from_millis(50)
        {
            self.last_mem_check = Instant::now();
            if current_rss_bytes().is_some_and(|rss| rss > max) {
                return Some(StopReason::MaxMemory);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_proc() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(super::current_rss_bytes().unwrap() > 0);
            assert!(super::peak_rss_bytes() >= super::current_rss_bytes().unwrap() / 2);
        }
    }
}
