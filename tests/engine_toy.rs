//! The lease-owner toy: reference counts, shortest counterexample, determinism, symmetry.

use std::collections::{HashSet, VecDeque};
use zbs_mc::bench::toy::{Toy, ToyAction, ToyState};
use zbs_mc::engine::{Checker, Options, Progress, SymmetricModel, Verdict};

fn opts(threads: usize) -> Options {
    Options {
        threads,
        progress: Progress::Quiet,
        ..Options::default()
    }
}

#[test]
fn fixed_toy_matches_closed_form() {
    for &(n, p, k, m) in &[
        (1, 1, 0, 0),
        (2, 1, 1, 1),
        (2, 2, 1, 1),
        (3, 2, 2, 2),
        (2, 3, 0, 3),
        (3, 3, 1, 1),
        (4, 2, 2, 1),
        (2, 4, 1, 2),
    ] {
        let toy = Toy::new(n, p, k, m, true).unwrap();
        let out = Checker::new(&toy).options(opts(2)).check().safety;
        assert!(out.complete, "{n} {p} {k} {m}");
        assert_eq!(out.stopped_by, None);
        assert_eq!(
            out.unique_states,
            Toy::reference_count(n as u64, p, k as u64, m as u64),
            "N={n} P={p} K={k} M={m}"
        );
        assert_eq!(out.properties[0].verdict, Verdict::Holds);
        assert!(out.properties[0].trace.is_none());
    }
}

#[test]
fn buggy_toy_shortest_counterexample_is_gen_topo() {
    let mut traces = Vec::new();
    for threads in [1, 2, 3] {
        let toy = Toy::new(3, 4, 2, 2, false).unwrap();
        let out = Checker::new(&toy).options(opts(threads)).check().safety;
        let p = &out.properties[0];
        assert_eq!(p.verdict, Verdict::Violated);
        let t = p.trace.clone().unwrap();
        assert!(t.is_valid_for(&toy));
        assert!(!toy.no_leaked_owner(t.last()));
        let acts: Vec<_> = t.actions().copied().collect();
        assert_eq!(acts.len(), 2, "{acts:?}");
        match (acts[0], acts[1]) {
            (ToyAction::Gen { s, d, .. }, ToyAction::Topo { c }) => assert!(c == s || c == d),
            other => panic!("unexpected counterexample {other:?}"),
        }
        traces.push((out.unique_states, t));
    }
    assert!(traces.windows(2).all(|w| w[0] == w[1]), "{traces:?}");
}

#[test]
fn thread_count_does_not_change_results() {
    for (toy, sym) in [
        (Toy::new(3, 3, 2, 2, true).unwrap(), false),
        (Toy::new(3, 3, 2, 2, true).unwrap(), true),
        (Toy::new(3, 3, 2, 2, false).unwrap(), true),
    ] {
        let run = |threads| {
            let o = Options {
                symmetry: sym,
                stop_when_decided: false,
                ..opts(threads)
            };
            let out = Checker::symmetric(&toy).options(o.clone()).check().safety;
            let p = &out.properties[0];
            (out.unique_states, out.max_depth, p.verdict, p.trace.clone())
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(4));
    }
}

/// A toy state with its fields unpacked, pid-major, used to apply permutations naively.
type Plain = (Vec<(u32, u32, u32, u32, u32, Vec<bool>)>, u32);

fn plain(t: &Toy, s: &ToyState) -> Plain {
    let pids = (1..=t.p)
        .map(|p| {
            (
                s.owner(p),
                s.cst(p),
                s.csrc(p),
                s.cdst(p),
                s.gens(p),
                (1..=t.n).map(|c| s.cached(c, p)).collect(),
            )
        })
        .collect();
    (pids, s.topo())
}

fn perms(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in perms(n - 1) {
        for i in 0..n {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

/// The image of `s` under pid permutation `pi` and chunk permutation `sigma` (0-based maps).
fn permute(s: &Plain, pi: &[usize], sigma: &[usize]) -> Plain {
    let ch = |c: u32| {
        if c == 0 {
            0
        } else {
            sigma[c as usize - 1] as u32 + 1
        }
    };
    let mut pids = s.0.clone();
    for (p, rec) in s.0.iter().enumerate() {
        let mut cached = vec![false; rec.5.len()];
        for (c, &b) in rec.5.iter().enumerate() {
            cached[sigma[c]] = b;
        }
        pids[pi[p]] = (ch(rec.0), rec.1, ch(rec.2), ch(rec.3), rec.4, cached);
    }
    (pids, s.1)
}

fn reachable(t: &Toy) -> Vec<ToyState> {
    use stateright::Model;
    let mut seen: HashSet<ToyState> = t.init_states().into_iter().collect();
    let mut queue: VecDeque<ToyState> = seen.iter().copied().collect();
    while let Some(s) = queue.pop_front() {
        for n in t.next_states(&s) {
            if seen.insert(n) {
                queue.push_back(n);
            }
        }
    }
    seen.into_iter().collect()
}

#[test]
fn symmetry_counts_orbits_exactly() {
    for (n, p, k, m, fixed) in [(3, 3, 1, 1, true), (3, 2, 2, 2, false), (2, 3, 1, 2, true)] {
        let t = Toy::new(n, p, k, m, fixed).unwrap();
        let states = reachable(&t);
        let (pis, sigmas) = (perms(p as usize), perms(n as usize));
        let mut orbits = HashSet::new();
        let mut canon_images = HashSet::new();
        for s in &states {
            let ps = plain(&t, s);
            let images: Vec<Plain> = pis
                .iter()
                .flat_map(|pi| sigmas.iter().map(move |sg| (pi, sg)))
                .map(|(pi, sg)| permute(&ps, pi, sg))
                .collect();
            orbits.insert(images.iter().min().unwrap().clone());
            // The canonical form is in the orbit, and equal for every member of the orbit
            // (members are identified through their plain form).
            let c = t.canonical(s);
            assert!(
                images.contains(&plain(&t, &c)),
                "canonical form outside the orbit"
            );
            canon_images.insert((images.iter().min().unwrap().clone(), c));
        }
        assert_eq!(
            canon_images.len(),
            orbits.len(),
            "two canonical forms for one orbit"
        );
        let out = Checker::symmetric(&t)
            .options(Options {
                symmetry: true,
                stop_when_decided: false,
                ..opts(2)
            })
            .check()
            .safety;
        assert!(out.complete);
        assert_eq!(
            out.unique_states,
            orbits.len() as u64,
            "N={n} P={p} K={k} M={m}"
        );
        assert!(out.unique_states < states.len() as u64);
        let want = if fixed {
            Verdict::Holds
        } else {
            Verdict::Violated
        };
        assert_eq!(out.properties[0].verdict, want);
    }
}

#[test]
fn symmetric_counterexample_is_a_real_shortest_path() {
    let t = Toy::new(3, 4, 3, 2, false).unwrap();
    let out = Checker::symmetric(&t)
        .options(Options {
            symmetry: true,
            ..opts(2)
        })
        .check()
        .safety;
    let tr = out.properties[0].trace.as_ref().unwrap();
    assert_eq!(tr.len(), 2);
    assert!(tr.is_valid_for(&t), "replayed trace must use real states");
    assert!(!t.no_leaked_owner(tr.last()));
}
