//! Peak heap of one exploration, counted by the binary's global allocator.
//!
//! Peak resident memory cannot tell two engines apart on a small model: both sit at the
//! process floor (the binary, libc, the loaded model: about 6 MiB), and what a few-millisecond
//! run adds is mostly page faults of code and the second thread's malloc arena. The bytes
//! the exploration holds at its peak can: [`Counting`] wraps the system allocator and, while
//! [`peak_during`] runs, keeps the live total and its maximum. Counting is off otherwise (one
//! relaxed load per allocation), so timed runs are not slowed by it; the benchmark measures
//! heap in a run of its own.
//!
//! The `zbs-mc` binary installs it:
//! ```ignore
//! #[global_allocator]
//! static ALLOC: zbs_mc::bench::heap::Counting = zbs_mc::bench::heap::Counting;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

/// The system allocator, counting live bytes while [`peak_during`] runs.
pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
/// Whether this allocator is the global one (it saw an allocation).
static INSTALLED: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: isize) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.load(Relaxed) {
            grew(layout.size() as isize);
        } else if !INSTALLED.load(Relaxed) {
            INSTALLED.store(true, Relaxed);
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ON.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ON.load(Relaxed) {
            grew(new_size as isize - layout.size() as isize);
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the most heap bytes live at once during it, above
/// what was live when it started; `None` if [`Counting`] is not the global allocator. Memory
/// allocated before and freed during `f` counts negatively, so the figure is a lower bound
/// of what `f` itself needed — exact when `f` frees only what it allocated, as an
/// exploration does.
pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, Option<u64>) {
    if !INSTALLED.load(Relaxed) {
        return (f(), None);
    }
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    ON.store(true, Relaxed);
    let out = f();
    ON.store(false, Relaxed);
    let peak = PEAK.load(Relaxed).max(0) as u64;
    (out, Some(peak))
}
