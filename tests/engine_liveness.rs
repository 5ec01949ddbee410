//! Liveness under weak fairness: cycles, fairness, leads-to, symmetry, lassos.

use stateright::{Checker as _, Model, Property};
use std::hash::Hash;
use zbs_mc::engine::{
    Checker, FairClass, FairModel, Lasso, Liveness, Options, Progress, SymmetricModel, Verdict,
};

fn quiet() -> Options {
    Options {
        threads: 1,
        progress: Progress::Quiet,
        ..Options::default()
    }
}

/// Checks that `lasso` is a real behaviour of `model`: the prefix starts in an initial state,
/// every step is a transition, and the cycle returns to where it starts.
fn assert_real_lasso<M>(model: &M, lasso: &Lasso<M::State, M::Action>)
where
    M: Model,
    M::State: Clone + PartialEq + std::fmt::Debug,
    M::Action: Clone + PartialEq + std::fmt::Debug,
{
    assert!(
        lasso.prefix.is_valid_for(model),
        "prefix is not a path: {lasso:?}"
    );
    let mut cur = lasso.prefix.last().clone();
    for (a, s) in &lasso.cycle {
        let mut acts = Vec::new();
        model.actions(&cur, &mut acts);
        assert!(
            acts.contains(a),
            "cycle action {a:?} not enabled in {cur:?}"
        );
        assert_eq!(model.next_state(&cur, a.clone()).as_ref(), Some(s));
        cur = s.clone();
    }
    assert_eq!(&cur, lasso.prefix.last(), "cycle does not close");
}

/// Checks weak fairness along the cycle: every class enabled in all cycle states is taken.
fn assert_fair_cycle<M: FairModel>(model: &M, lasso: &Lasso<M::State, M::Action>)
where
    M::State: Clone,
    M::Action: Clone,
{
    let states: Vec<M::State> = lasso.cycle.iter().map(|(_, s)| s.clone()).collect();
    let enabled = |s: &M::State| {
        let mut acts = Vec::new();
        model.actions(s, &mut acts);
        acts.iter()
            .filter(|a| model.next_state(s, (*a).clone()).is_some())
            .filter_map(|a| model.fairness(a))
            .fold(0u64, |m, FairClass(c)| m | 1 << c)
    };
    let always = states.iter().fold(u64::MAX, |m, s| m & enabled(s));
    let taken = lasso
        .cycle
        .iter()
        .filter_map(|(a, _)| model.fairness(a))
        .fold(0u64, |m, FairClass(c)| m | 1 << c);
    assert_eq!(
        always & !taken,
        0,
        "a continuously enabled fair class is never taken"
    );
}

/// 0 → 1 ⇄ 2 → 3. Stateright's BFS never sees a terminal state without `x == 3` (3 is
/// terminal and satisfies it), so it misses the behaviour that loops 1 ⇄ 2 forever.
struct Loop;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum LoopAction {
    Step,
    Back,
    Finish,
}

impl Model for Loop {
    type State = u8;
    type Action = LoopAction;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, out: &mut Vec<LoopAction>) {
        match s {
            0 | 1 => out.push(LoopAction::Step),
            2 => out.extend([LoopAction::Back, LoopAction::Finish]),
            _ => {}
        }
    }
    fn next_state(&self, s: &u8, a: LoopAction) -> Option<u8> {
        Some(match a {
            LoopAction::Step => s + 1,
            LoopAction::Back => 1,
            LoopAction::Finish => 3,
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("Done", |_, s| *s == 3)]
    }
}

impl FairModel for Loop {
    fn fairness(&self, a: &LoopAction) -> Option<FairClass> {
        (*a == LoopAction::Finish).then_some(FairClass(0))
    }
}

#[test]
fn finds_violation_inside_a_cycle_that_stateright_misses() {
    let sr = Loop.checker().spawn_bfs().join();
    assert!(sr.discovery("Done").is_none(), "stateright now detects it");

    let props = [Liveness::eventually("Done", |_: &Loop, s: &u8| *s == 3)];
    let out = Checker::new(&Loop)
        .options(quiet())
        .liveness_unfair(&props)
        .check()
        .liveness;
    assert!(out.complete);
    let r = &out.results[0];
    assert_eq!(r.verdict, Verdict::Violated);
    let lasso = r.lasso.as_ref().unwrap();
    assert_real_lasso(&Loop, lasso);
    assert!(!lasso.is_deadlock());
    let cycle: Vec<u8> = lasso.cycle.iter().map(|(_, s)| *s).collect();
    assert!(
        cycle.contains(&1) && cycle.contains(&2) && !cycle.contains(&3),
        "{cycle:?}"
    );
    assert!(lasso.prefix.steps.iter().all(|(_, s)| **s != 3));

    // Weak fairness on Finish does not help: it is disabled at 1, infinitely often.
    let fair = Checker::new(&Loop)
        .options(quiet())
        .liveness(&props)
        .check()
        .liveness;
    assert_eq!(fair.results[0].verdict, Verdict::Violated);
    assert_fair_cycle(&Loop, fair.results[0].lasso.as_ref().unwrap());
}

/// A worker that may finish (`Finish`) while a clock ticks forever (`Tick`).
#[derive(Clone, Copy)]
struct Clock {
    fair: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ClockAction {
    Tick,
    Finish,
}

impl Model for Clock {
    type State = (bool, u8); // (done, clock)
    type Action = ClockAction;
    fn init_states(&self) -> Vec<(bool, u8)> {
        vec![(false, 0)]
    }
    fn actions(&self, s: &(bool, u8), out: &mut Vec<ClockAction>) {
        out.push(ClockAction::Tick);
        if !s.0 {
            out.push(ClockAction::Finish);
        }
    }
    fn next_state(&self, s: &(bool, u8), a: ClockAction) -> Option<(bool, u8)> {
        Some(match a {
            ClockAction::Tick => (s.0, (s.1 + 1) % 3),
            ClockAction::Finish => (true, s.1),
        })
    }
}

impl FairModel for Clock {
    fn fairness(&self, a: &ClockAction) -> Option<FairClass> {
        (self.fair && *a == ClockAction::Finish).then_some(FairClass(3))
    }
}

#[test]
fn weak_fairness_removes_a_spurious_violation() {
    let props = [Liveness::eventually("Done", |_: &Clock, s: &(bool, u8)| {
        s.0
    })];
    let unfair = Checker::new(&Clock { fair: false })
        .options(quiet())
        .liveness(&props)
        .check()
        .liveness;
    let r = &unfair.results[0];
    assert_eq!(r.verdict, Verdict::Violated);
    let lasso = r.lasso.as_ref().unwrap();
    assert_real_lasso(&Clock { fair: false }, lasso);
    assert_eq!(lasso.cycle.len(), 3, "Tick ×3 returns the clock");
    assert!(lasso.cycle.iter().all(|(a, _)| *a == ClockAction::Tick));

    let fair = Checker::new(&Clock { fair: true })
        .options(quiet())
        .liveness(&props)
        .check()
        .liveness;
    assert!(fair.complete);
    assert_eq!(fair.results[0].verdict, Verdict::Holds);
    assert!(fair.results[0].lasso.is_none());
    assert_eq!(fair.unique_states, 6);
}

/// Deadlock: the behaviour stops in a state without `q`.
struct Stuck;

impl Model for Stuck {
    type State = u8;
    type Action = ();
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, out: &mut Vec<()>) {
        if *s < 2 {
            out.push(());
        }
    }
    fn next_state(&self, s: &u8, _: ()) -> Option<u8> {
        Some(s + 1)
    }
}

#[test]
fn deadlock_without_q_is_a_violation() {
    let props = [
        Liveness::eventually("ReachesThree", |_: &Stuck, s: &u8| *s == 3),
        Liveness::eventually("ReachesTwo", |_: &Stuck, s: &u8| *s == 2),
    ];
    let out = Checker::new(&Stuck)
        .options(quiet())
        .liveness_unfair(&props)
        .check()
        .liveness;
    let l = out.results[0].lasso.as_ref().unwrap();
    assert!(l.is_deadlock());
    assert_eq!(*l.prefix.last(), 2);
    assert_eq!(out.results[1].verdict, Verdict::Holds);
}

/// `P` symmetric processes: Idle → Trying → Done → Idle, plus an unfair global `Tick`.
#[derive(Clone, Copy)]
struct Procs {
    n: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ProcAction {
    Try(usize),
    Finish(usize),
    Reset(usize),
    Tick,
}

type ProcState = (Vec<u8>, bool);

impl Model for Procs {
    type State = ProcState;
    type Action = ProcAction;
    fn init_states(&self) -> Vec<ProcState> {
        vec![(vec![0; self.n], false)]
    }
    fn actions(&self, s: &ProcState, out: &mut Vec<ProcAction>) {
        for (i, &p) in s.0.iter().enumerate() {
            out.push(match p {
                0 => ProcAction::Try(i),
                1 => ProcAction::Finish(i),
                _ => ProcAction::Reset(i),
            });
        }
        out.push(ProcAction::Tick);
    }
    fn next_state(&self, s: &ProcState, a: ProcAction) -> Option<ProcState> {
        let mut t = s.clone();
        match a {
            ProcAction::Try(i) => t.0[i] = 1,
            ProcAction::Finish(i) => t.0[i] = 2,
            ProcAction::Reset(i) => t.0[i] = 0,
            ProcAction::Tick => t.1 = !t.1,
        }
        Some(t)
    }
}

impl FairModel for Procs {
    /// One class for every `Finish(i)`: invariant under process permutations.
    fn fairness(&self, a: &ProcAction) -> Option<FairClass> {
        matches!(a, ProcAction::Finish(_)).then_some(FairClass(0))
    }
}

impl SymmetricModel for Procs {
    fn canonical(&self, s: &ProcState) -> ProcState {
        let mut v = s.0.clone();
        v.sort_unstable();
        (v, s.1)
    }
}

fn some_trying(_: &Procs, s: &ProcState) -> bool {
    s.0.contains(&1)
}
fn some_done(_: &Procs, s: &ProcState) -> bool {
    s.0.contains(&2)
}
fn all_done(_: &Procs, s: &ProcState) -> bool {
    s.0.iter().all(|&p| p == 2)
}

#[test]
fn leads_to_with_fairness_and_symmetry() {
    let m = Procs { n: 4 };
    let props = [
        Liveness::leads_to("TryingLeadsToDone", some_trying, some_done),
        Liveness::eventually("AllDone", all_done),
    ];
    for sym in [false, true] {
        let o = Options {
            symmetry: sym,
            ..quiet()
        };
        let out = Checker::symmetric(&m)
            .options(o.clone())
            .liveness(&props)
            .check()
            .liveness;
        assert!(out.complete);
        let states = if sym { 2 * 15 } else { 2 * 81 }; // multisets of size 4 over 3 values
        assert_eq!(out.unique_states, states);
        assert_eq!(out.results[0].verdict, Verdict::Holds, "symmetry={sym}");
        let r = &out.results[1];
        assert_eq!(r.verdict, Verdict::Violated);
        let lasso = r.lasso.as_ref().unwrap();
        assert_real_lasso(&m, lasso);
        assert_fair_cycle(&m, lasso);
        let on_cycle = lasso.cycle.iter().map(|(_, s)| s);
        assert!(on_cycle.clone().all(|s| !all_done(&m, s)));
        assert!(!lasso.cycle.is_empty());
    }
    // Without fairness, Tick forever while someone is trying refutes leads-to.
    let unfair = Checker::new(&m)
        .options(quiet())
        .liveness_unfair(&props[..1])
        .check()
        .liveness;
    let r = &unfair.results[0];
    assert_eq!(r.verdict, Verdict::Violated);
    let lasso = r.lasso.as_ref().unwrap();
    assert_real_lasso(&m, lasso);
    assert!(
        some_trying(&m, lasso.prefix.last())
            || lasso.prefix.steps.iter().any(|(_, s)| some_trying(&m, s))
    );
    assert!(lasso.cycle.iter().all(|(_, s)| !some_done(&m, s)));
}

#[test]
fn symmetric_lasso_closes_on_real_states() {
    // Under symmetry the quotient cycle "someone tries, finishes, resets" may map process i
    // to process j; the real lasso must still close.
    let m = Procs { n: 3 };
    let props = [Liveness::eventually("Never", |_: &Procs, _: &ProcState| {
        false
    })];
    let out = Checker::symmetric(&m)
        .options(Options {
            symmetry: true,
            ..quiet()
        })
        .liveness(&props)
        .check()
        .liveness;
    let lasso = out.results[0].lasso.as_ref().unwrap();
    assert_real_lasso(&m, lasso);
    assert_fair_cycle(&m, lasso);
}

#[test]
fn liveness_limits_give_unknown() {
    let m = Procs { n: 4 };
    let props = [Liveness::eventually("AllDone", all_done)];
    let out = Checker::new(&m)
        .options(Options {
            max_states: Some(10),
            ..quiet()
        })
        .liveness(&props)
        .check()
        .liveness;
    assert!(!out.complete);
    assert!(out.unique_states < 162);
    assert_eq!(out.results[0].verdict, Verdict::Unknown);
    let out = Checker::new(&m)
        .options(Options {
            max_depth: Some(2),
            ..quiet()
        })
        .liveness(&props)
        .check()
        .liveness;
    assert!(!out.complete);
    assert_eq!(out.results[0].verdict, Verdict::Unknown);
    assert!(out.results[0].lasso.is_none());
}
