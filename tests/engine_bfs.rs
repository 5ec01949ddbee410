//! BFS engine: shortest counterexamples, first discovery kept, verdicts, limits.

use stateright::{Checker, Expectation, Model, Property};
use std::time::Duration;
use zbs_mc::bench::toy::Toy;
use zbs_mc::engine::{Options, Progress, StopReason, Verdict};

fn quiet(threads: usize) -> Options {
    Options {
        threads,
        progress: Progress::Quiet,
        ..Options::default()
    }
}

/// A counter 0..=limit with `+1` and `+3` steps. Every state ≥ 1 violates `Small`.
struct Counter {
    limit: u32,
}

impl Model for Counter {
    type State = u32;
    type Action = u32;
    fn init_states(&self) -> Vec<u32> {
        vec![0]
    }
    fn actions(&self, s: &u32, out: &mut Vec<u32>) {
        for d in [1, 3] {
            if s + d <= self.limit {
                out.push(d);
            }
        }
    }
    fn next_state(&self, s: &u32, d: u32) -> Option<u32> {
        Some(s + d)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("Small", |_, s| *s < 1),
            Property::sometimes("ReachesSeven", |_, s| *s == 7),
            Property::sometimes("ReachesLimitPlusOne", |m: &Counter, s| *s == m.limit + 1),
        ]
    }
}

#[test]
fn counterexamples_are_shortest_where_stateright_overwrites() {
    // stateright keeps checking `Always` properties after a discovery and overwrites it with
    // every later violation in the same block, so it reports a long path.
    let sr = Counter { limit: 60 }.checker().spawn_bfs().join();
    let sr_len = sr.discovery("Small").unwrap().into_actions().len();
    assert!(
        sr_len > 1,
        "stateright found the shortest path after all ({sr_len})"
    );

    for threads in [1, 2] {
        let out = zbs_mc::engine::Checker::new(&Counter { limit: 60 })
            .options(quiet(threads))
            .check()
            .safety;
        let small = out.property("Small").unwrap();
        assert_eq!(small.verdict, Verdict::Violated);
        assert_eq!(small.trace.as_ref().unwrap().len(), 1);
        let seven = out.property("ReachesSeven").unwrap();
        assert_eq!(seven.verdict, Verdict::Holds);
        let t = seven.trace.as_ref().unwrap();
        assert_eq!(*t.last(), 7);
        assert_eq!(t.len(), 3, "7 = 3 + 3 + 1 is the shortest");
        assert!(t.is_valid_for(&Counter { limit: 60 }));
        // Exhaustively impossible example.
        let never = out.property("ReachesLimitPlusOne").unwrap();
        assert_eq!(never.verdict, Verdict::Violated);
        assert!(out.complete);
        assert_eq!(out.unique_states, 61);
        assert_eq!(out.max_depth, 21, "59 = 19·3 + 1 + 1");
    }
}

#[test]
fn first_discovery_is_kept_and_decided_run_stops_early() {
    let toy = Toy::new(3, 4, 8, 2, false).unwrap();
    let out = zbs_mc::engine::Checker::new(&toy)
        .options(quiet(2))
        .check()
        .safety;
    assert_eq!(out.stopped_by, Some(StopReason::Decided));
    assert!(!out.complete);
    assert!(out.unique_states < 10_000, "{}", out.unique_states);
    assert_eq!(out.properties[0].trace.as_ref().unwrap().len(), 2);

    let all = zbs_mc::engine::Checker::new(&Toy::new(2, 2, 1, 1, false).unwrap())
        .options(Options {
            stop_when_decided: false,
            ..quiet(2)
        })
        .check()
        .safety;
    assert!(all.complete);
    assert_eq!(all.properties[0].trace.as_ref().unwrap().len(), 2);
}

#[test]
fn max_states_stops_cleanly() {
    let toy = Toy::new(3, 4, 1, 2, true).unwrap();
    let out = zbs_mc::engine::Checker::new(&toy)
        .options(Options {
            max_states: Some(50_000),
            ..quiet(2)
        })
        .check()
        .safety;
    assert!(!out.complete);
    assert_eq!(out.stopped_by, Some(StopReason::MaxStates));
    assert!(out.unique_states >= 50_000 && out.unique_states < 4_626_882);
    assert_eq!(out.properties[0].verdict, Verdict::Unknown);
}

#[test]
fn max_depth_is_exact() {
    let counter = Counter { limit: 60 };
    let out = zbs_mc::engine::Checker::new(&counter)
        .options(Options {
            max_depth: Some(2),
            ..quiet(1)
        })
        .check()
        .safety;
    // Depth ≤ 2 from 0 with steps 1 and 3: {0, 1, 3, 2, 4, 6}.
    assert_eq!(out.unique_states, 6);
    assert_eq!(out.max_depth, 2);
    assert_eq!(out.stopped_by, Some(StopReason::MaxDepth));
    assert!(!out.complete);
    // Decided properties stay decided; undecided ones are unknown.
    assert_eq!(out.property("Small").unwrap().verdict, Verdict::Violated);
    assert_eq!(
        out.property("ReachesSeven").unwrap().verdict,
        Verdict::Unknown
    );
    assert_eq!(
        out.property("ReachesLimitPlusOne").unwrap().verdict,
        Verdict::Unknown
    );

    // A bound at or beyond the diameter cuts nothing.
    let out = zbs_mc::engine::Checker::new(&counter)
        .options(Options {
            max_depth: Some(21),
            ..quiet(1)
        })
        .check()
        .safety;
    assert!(out.complete);
    assert_eq!(
        out.property("ReachesLimitPlusOne").unwrap().verdict,
        Verdict::Violated
    );
}

#[test]
fn timeout_stops_cleanly() {
    let toy = Toy::new(3, 4, 10, 2, true).unwrap();
    let out = zbs_mc::engine::Checker::new(&toy)
        .options(Options {
            timeout: Some(Duration::from_millis(100)),
            ..quiet(1)
        })
        .check()
        .safety;
    // Stopped by the clock, well before the 25 M states (no wall-clock assertion: a loaded
    // CI machine may be slow, and the state count already says it stopped early).
    assert_eq!(out.stopped_by, Some(StopReason::Timeout));
    assert!(!out.complete);
    assert!(out.unique_states > 0 && out.unique_states < 25_447_851);
    assert_eq!(out.properties[0].verdict, Verdict::Unknown);
}

#[test]
fn memory_limit_stops_cleanly() {
    let toy = Toy::new(3, 4, 10, 2, true).unwrap();
    let out = zbs_mc::engine::Checker::new(&toy)
        .options(Options {
            max_memory_bytes: Some(1 << 20), // any real process is above 1 MiB
            ..quiet(2)
        })
        .check()
        .safety;
    assert_eq!(out.stopped_by, Some(StopReason::MaxMemory));
    assert!(!out.complete);
    assert_eq!(out.properties[0].verdict, Verdict::Unknown);
    assert!(out.peak_rss_bytes > 1 << 20);
}

/// Two states bouncing forever; `Eventually(x == 2)` can never hold.
struct Bounce;

impl Model for Bounce {
    type State = u8;
    type Action = u8;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, _: &u8, out: &mut Vec<u8>) {
        out.push(1);
    }
    fn next_state(&self, s: &u8, _: u8) -> Option<u8> {
        Some(1 - s)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("ReachesTwo", |_, s| *s == 2)]
    }
}

#[test]
fn stateright_eventually_properties_are_checked_on_cycles() {
    let sr = Bounce.checker().spawn_bfs().join();
    assert!(
        sr.discovery("ReachesTwo").is_none(),
        "stateright now handles cycles"
    );
    let out = zbs_mc::engine::Checker::new(&Bounce)
        .options(quiet(1))
        .check()
        .safety;
    let p = &out.properties[0];
    assert_eq!(p.expectation, Expectation::Eventually);
    assert_eq!(p.verdict, Verdict::Violated);
    let lasso = p.lasso.as_ref().unwrap();
    assert!(lasso.prefix.is_empty());
    assert_eq!(
        lasso.cycle.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        vec![1, 0]
    );
}
