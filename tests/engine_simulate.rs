//! Seeded random simulation: finds bugs, reproducible by seed.

use zbs_mc::bench::toy::Toy;
use zbs_mc::engine::{Verdict, replay_run, run_seed, simulate};

#[test]
fn finds_the_toy_bug_and_replays_it_by_seed() {
    let toy = Toy::new(3, 4, 8, 2, false).unwrap();
    let a = simulate(&toy, 200, 42, 30);
    let r = &a.properties[0];
    assert_eq!(r.verdict, Verdict::Violated);
    let seed = r.seed.unwrap();
    let trace = r.trace.as_ref().unwrap();
    assert!(trace.is_valid_for(&toy));
    assert!(!toy.no_leaked_owner(trace.last()));
    // The reported seed replays the same walk; the counterexample is its prefix.
    let replayed = replay_run(&toy, seed, 30).unwrap();
    assert_eq!(replayed.init, trace.init);
    assert_eq!(&replayed.steps[..trace.len()], &trace.steps[..]);
    // Same master seed, same outcome.
    let b = simulate(&toy, 200, 42, 30);
    assert_eq!(b.properties[0].seed, Some(seed));
    assert_eq!(b.properties[0].trace.as_ref(), Some(trace));
}

#[test]
fn seeds_differ_per_run_and_simulation_never_proves() {
    assert_ne!(run_seed(1, 0), run_seed(1, 1));
    assert_ne!(run_seed(1, 0), run_seed(2, 0));
    let toy = Toy::new(3, 3, 2, 2, true).unwrap();
    let out = simulate(&toy, 50, 7, 40);
    assert_eq!(out.properties[0].verdict, Verdict::Unknown);
    assert!(out.total_steps > 0);
    // Different runs take different walks.
    let w0 = replay_run(&toy, run_seed(7, 0), 40).unwrap();
    let w1 = replay_run(&toy, run_seed(7, 1), 40).unwrap();
    assert_ne!(w0, w1);
}
