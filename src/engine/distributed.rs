//! Breadth-first safety search on timely dataflow: the workers of one process, or of several
//! processes on several machines (timely's host file), share one exploration.
//!
//! Each worker owns the fingerprints `fp % workers == index`: it keeps their parents (the
//! visited set, partitioned) and expands the states it owns. The search goes level by level,
//! one timely epoch per level: a worker sends every successor of its level-`d` states,
//! encoded by the model's [`Codec`], to the successor's owner; once the epoch is complete the
//! owner keeps the successors it had not seen (each with the smallest parent fingerprint that
//! sent it) as its part of level `d + 1`, checks the safety properties on them, and tells
//! every worker, in the next epoch, how many it kept and which discoveries it made. Every
//! worker so learns the same totals at the same epoch and takes the same decision (go on,
//! stop for a limit, stop when every property is decided), which keeps them in step without a
//! coordinator. A discovery's trace is a fingerprint chain walked back one epoch per step
//! (each owner answers for its fingerprints), then replayed into real states as the
//! one-process search replays its chains (`trace::replay`).
//!
//! Same states and verdicts as the one-process search (`safety.rs`), and counterexamples of
//! the same (shortest) length: the property's discovery is the smallest fingerprint among the
//! discoveries of the first level that has one, whatever the number of workers. The path to
//! it may differ from the one-process search's (a state's parent is the first of its parents
//! the owner hears from, not the first in the one-process generation order). `max_states` and
//! `stop_when_decided` stop this search at the end of a level, the one-process search after
//! the parent at which the limit is reached: such a stopped run counts at least as many
//! states here. Liveness needs the whole state
//! graph in one place and is not checked here (`specs/engine.md`, "Beyond one machine").

use super::fingerprint::{Fingerprint, OwnedBuild};
use super::limits::{Limits, peak_rss_bytes};
use super::progress::Reporter;
use super::repr::{Repr, Unbuilt};
use super::trace::{Replayed, Trace, replay};
use super::visited::ROOT;
use super::{
    Options, Outcome, PropertyResult, StopReason, Verdict, discovers, safety_decided,
    safety_verdict,
};
use stateright::{Expectation, Model};
use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::{InputHandleVec, ProbeHandle};

/// How a model's states travel between workers: `decode(encode(s)) == s`, and equal states
/// may encode differently (a hash map's order) as long as they decode equal.
pub trait Codec<S>: Send + Sync {
    /// Each worker's own memory of what it encoded and decoded lately (parts of states are
    /// shared by many states, and need not be encoded or decoded each time).
    type Cache: Default;
    /// Appends the encoding of `state` to `out`.
    fn encode(&self, cache: &mut Self::Cache, state: &S, out: &mut Vec<u8>);
    /// The state `bytes` encode (bytes `encode` wrote, on any worker: anything else is a
    /// bug).
    fn decode(&self, cache: &mut Self::Cache, bytes: &[u8]) -> S;
}

/// Where the workers run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workers {
    /// `n` workers, all in this process.
    Threads(usize),
    /// This process is number `process` of the processes whose addresses (`host:port`, in
    /// process order) `hosts` lists, each running `threads` workers. The search gives up if
    /// the processes are not all connected within `connect_within`.
    Cluster {
        hosts: Vec<String>,
        process: usize,
        threads: usize,
        connect_within: Duration,
    },
}

/// How long the processes of a cluster may take to connect by default: room to start them
/// one after the other by hand.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(60);

impl Workers {
    /// This process as number `process` of the cluster a timely host file lists: one
    /// `host:port` per line, in process order (timely's `-h` convention; blank lines and
    /// lines starting with `#` are skipped).
    pub fn from_host_file(path: &Path, process: usize, threads: usize) -> Result<Workers, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read host file {}: {e}", path.display()))?;
        let hosts: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        if hosts.is_empty() {
            return Err(format!(
                "host file {} lists no process (one host:port per line)",
                path.display()
            ));
        }
        if let Some(bad) = hosts.iter().find(|h| !h.contains(':')) {
            return Err(format!(
                "host file {}: {bad:?} is not host:port",
                path.display()
            ));
        }
        if process >= hosts.len() {
            return Err(format!(
                "--process {process}: host file {} lists {} processes (numbered from 0)",
                path.display(),
                hosts.len()
            ));
        }
        Ok(Workers::Cluster {
            hosts,
            process,
            threads,
            connect_within: CONNECT_WITHIN,
        })
    }

    /// The same workers, giving a cluster `limit` to connect.
    pub fn connect_within(self, limit: Duration) -> Workers {
        match self {
            Workers::Cluster {
                hosts,
                process,
                threads,
                ..
            } => Workers::Cluster {
                hosts,
                process,
                threads,
                connect_within: limit,
            },
            w @ Workers::Threads(_) => w,
        }
    }

    /// Workers in all processes together.
    pub fn total(&self) -> usize {
        match self {
            Workers::Threads(n) => *n,
            Workers::Cluster { hosts, threads, .. } => hosts.len() * threads,
        }
    }

    fn config(&self) -> timely::Config {
        let communication = match self {
            Workers::Threads(1) => timely::CommunicationConfig::Thread,
            Workers::Threads(n) => timely::CommunicationConfig::Process(*n),
            Workers::Cluster {
                hosts,
                process,
                threads,
                ..
            } => timely::CommunicationConfig::Cluster {
                threads: *threads,
                process: *process,
                addresses: hosts.clone(),
                report: false,
                zerocopy: false,
            },
        };
        timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// What one worker tells every worker about a level it stored part of.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct LevelReport {
    /// States it kept (new to the search).
    kept: u64,
    /// Per property: the smallest fingerprint among its kept states that discover it.
    found: Vec<Option<Fingerprint>>,
    /// A limit this worker's process hit (time, memory), or the states limit.
    stop: Option<StopReason>,
}

/// What workers send one another.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Wire {
    /// A successor of `parent`, for its owner.
    State {
        fp: Fingerprint,
        parent: Fingerprint,
        /// As a byte string (one copy), not a sequence of `u8`s.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Worker `from`'s report on the level before this epoch's, for worker `to`.
    Report {
        to: u64,
        from: u64,
        report: LevelReport,
    },
    /// The parent of `fp` (`ROOT` for an initial state), for worker `to`.
    Parent {
        to: u64,
        fp: Fingerprint,
        parent: Fingerprint,
    },
}

impl Wire {
    /// The worker (modulo the number of workers, as timely's exchange routes) it is for.
    fn route(&self) -> u64 {
        match self {
            Wire::State { fp, .. } => *fp,
            Wire::Report { to, .. } | Wire::Parent { to, .. } => *to,
        }
    }
}

/// What a worker's dataflow hands its search loop after an epoch.
#[derive(Default)]
struct Mail {
    /// Successors it owns, each with its smallest parent so far.
    states: HashMap<Fingerprint, (Fingerprint, Vec<u8>), OwnedBuild>,
    reports: Vec<(u64, LevelReport)>,
    parents: HashMap<Fingerprint, Fingerprint, OwnedBuild>,
}

impl Mail {
    fn take(&mut self, wire: Wire) {
        match wire {
            Wire::State { fp, parent, bytes } => match self.states.entry(fp) {
                Entry::Vacant(v) => {
                    v.insert((parent, bytes));
                }
                Entry::Occupied(mut o) => {
                    if parent < o.get().0 {
                        o.insert((parent, bytes));
                    }
                }
            },
            Wire::Report { from, report, .. } => self.reports.push((from, report)),
            Wire::Parent { fp, parent, .. } => {
                self.parents.insert(fp, parent);
            }
        }
    }
}

/// What every worker ends with (the same on all of them).
struct Ending {
    unique: u64,
    depth: u32,
    stopped: Option<StopReason>,
    chains: Vec<Option<Vec<Fingerprint>>>,
}

/// Explores `model` with `workers` (see the module doc) and checks its `always` and
/// `sometimes` properties; `eventually` ones come out `Unknown`. `opts.threads` is ignored
/// (`workers` says how many), and so is `opts.symmetry` (`repr` canonicalises or not). In a
/// cluster every process gets the same outcome; an error is timely's (e.g. a process could
/// not connect).
pub(crate) fn run<M, R, C>(
    model: Arc<M>,
    repr: Arc<R>,
    codec: Arc<C>,
    workers: &Workers,
    opts: &Options,
) -> Result<Outcome<M>, String>
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Hash + Send + Sync,
    M::Action: Clone,
    R: Repr<M> + Send + 'static,
    C: Codec<M::State> + 'static,
{
    let limits = Limits::new(opts);
    let worker_opts = opts.clone();
    let (m, r) = (Arc::clone(&model), Arc::clone(&repr));
    let config = workers.config();
    // Workers start once every process is connected; timely itself would wait for a missing
    // process for ever, and a process that goes away panics timely's threads here.
    let (started, connected) = std::sync::mpsc::channel();
    let execution = std::thread::Builder::new()
        .name("timely".into())
        .spawn(move || {
            let guards = timely::execute(config, move |worker| {
                let _ = started.send(());
                search(worker, &*m, &*r, &*codec, &worker_opts)
            })?;
            Ok::<_, String>(guards.join())
        })
        .map_err(|e| format!("cannot start the timely workers: {e}"))?;
    if let Workers::Cluster {
        hosts,
        process,
        connect_within,
        ..
    } = workers
        && let Err(RecvTimeoutError::Timeout) = connected.recv_timeout(*connect_within)
    {
        // The connecting thread is left behind: timely offers no way to stop it.
        return Err(format!(
            "process {process}: not every process of the {} listed connected within {} s; \
             start each with the same host file and its own --process (a port in use or a \
             firewall also stops them)",
            hosts.len(),
            connect_within.as_secs()
        ));
    }
    let lost = |what: &str| match workers {
        Workers::Cluster { .. } => format!(
            "the search stopped: {what} (a process of the cluster ended or lost its connection)"
        ),
        Workers::Threads(_) => format!("the search stopped: a worker failed: {what}"),
    };
    let results = execution
        .join()
        .map_err(|panic| lost(&panic_message(&panic)))??;
    let mut endings = results.into_iter();
    let ending = endings
        .next()
        .ok_or("timely started no worker in this process")?
        .map_err(|e| lost(&e))?;
    for other in endings {
        other.map_err(|e| lost(&e))?;
    }
    let mut scratch = R::Scratch::default();
    let mut done = Replayed::default();
    let props = model.properties();
    let complete = ending.stopped.is_none();
    let properties = props
        .iter()
        .zip(&ending.chains)
        .map(|(p, chain)| {
            let trace: Option<Trace<M::State, M::Action>> = chain
                .as_ref()
                .map(|c| replay(&*model, &*repr, &mut scratch, c, &mut done));
            let verdict = match p.expectation {
                Expectation::Eventually => Verdict::Unknown,
                _ => safety_verdict(&p.expectation, trace.is_some(), complete),
            };
            PropertyResult {
                name: p.name,
                expectation: p.expectation.clone(),
                verdict,
                trace,
                lasso: None,
            }
        })
        .collect();
    Ok(Outcome {
        unique_states: ending.unique,
        max_depth: ending.depth,
        seconds: limits.elapsed(),
        peak_rss_bytes: peak_rss_bytes(),
        complete,
        stopped_by: ending.stopped,
        properties,
    })
}

/// What a panic said, if it said it in words.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a timely thread panicked".to_string()
    }
}

/// One worker's part of the search (see the module doc).
fn search<M, R, C>(
    worker: &mut timely::worker::Worker,
    model: &M,
    repr: &R,
    codec: &C,
    opts: &Options,
) -> Ending
where
    M: Model,
    M::State: Clone + Hash,
    R: Repr<M>,
    C: Codec<M::State>,
{
    let me = worker.index() as u64;
    let peers = worker.peers() as u64;
    // By epoch: a worker may already send in the next epoch while this one finishes here.
    let mailbox: Rc<RefCell<HashMap<u32, Mail>>> = Rc::default();
    let mut input: InputHandleVec<u32, Wire> = InputHandleVec::new();
    let probe = ProbeHandle::new();
    {
        let mailbox = Rc::clone(&mailbox);
        worker.dataflow::<u32, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                    Exchange::new(|w: &Wire| w.route()),
                    "Receive",
                    move |_, _| {
                        move |input, _output| {
                            input.for_each(|cap, data| {
                                let mut mailbox = mailbox.borrow_mut();
                                let epoch = *cap.least().expect("a message has a time");
                                let mail = mailbox.entry(epoch).or_default();
                                for wire in data.drain(..) {
                                    mail.take(wire);
                                }
                            })
                        }
                    },
                )
                .probe_with(&probe);
        });
    }
    // Runs the current epoch to completion and returns what was sent to this worker in it.
    let finish_epoch = |input: &mut InputHandleVec<u32, Wire>,
                        worker: &mut timely::worker::Worker| {
        let epoch = *input.time();
        input.advance_to(epoch + 1);
        while probe.less_than(input.time()) {
            worker.step();
        }
        mailbox.borrow_mut().remove(&epoch).unwrap_or_default()
    };

    let props = model.properties();
    // Owned fingerprints and their parents.
    let mut visited: HashMap<Fingerprint, Fingerprint, OwnedBuild> = HashMap::default();
    // Fingerprints this worker has sent: each successor goes to its owner once.
    let mut sent: HashSet<Fingerprint, OwnedBuild> = HashSet::default();
    let mut scratch = R::Scratch::default();
    // This process's own limits (time, memory); the states limit is checked on the totals.
    let mut limits = Limits::new(&Options {
        max_states: None,
        ..opts.clone()
    });
    let mut reporter = Reporter::new(if me == 0 {
        opts.progress
    } else {
        super::Progress::Quiet
    });
    // Each encoding is sent as it is; the next starts with the last one's size reserved.
    let mut last_len = 0;
    let mut encoded = C::Cache::default();
    let mut decoded = C::Cache::default();
    let mut send_state = |input: &mut InputHandleVec<u32, Wire>,
                          sent: &mut HashSet<Fingerprint, OwnedBuild>,
                          fp: Fingerprint,
                          parent: Fingerprint,
                          state: &M::State| {
        if sent.insert(fp) {
            let mut bytes = Vec::with_capacity(last_len);
            codec.encode(&mut encoded, state, &mut bytes);
            last_len = bytes.len();
            input.send(Wire::State { fp, parent, bytes });
        }
    };
    if me == 0 {
        for s in model.init_states() {
            if model.within_boundary(&s) {
                let c = repr.canon(model, s);
                let fp = repr.fingerprint(&c);
                send_state(&mut input, &mut sent, fp, ROOT, &c);
            }
        }
    }

    // Per property: the discovery (fingerprint) once some level had one.
    let mut found: Vec<Option<Fingerprint>> = vec![None; props.len()];
    let mut unique = 0u64;
    let mut depth = 0u32;
    let mut stopped = None;
    let mut actions = Vec::new();
    // `level`: the depth of the states this epoch delivers.
    for level in 0u32.. {
        let Mail {
            states: arrived,
            mut reports,
            ..
        } = finish_epoch(&mut input, worker);
        if level > 0 {
            // Every worker's report on level `level - 1`, in worker order.
            reports.sort_by_key(|(from, _)| *from);
            debug_assert_eq!(reports.len() as u64, peers);
            let kept: u64 = reports.iter().map(|(_, r)| r.kept).sum();
            if opts.max_depth.is_some_and(|m| level - 1 > m) {
                // Level `max_depth + 1` was stored only to tell whether the bound cut anything.
                stopped = (kept > 0).then_some(StopReason::MaxDepth);
                break;
            }
            if kept == 0 {
                break;
            }
            unique += kept;
            for (i, f) in found.iter_mut().enumerate() {
                if f.is_none() {
                    *f = reports.iter().filter_map(|(_, r)| r.found[i]).min();
                }
            }
            reporter.tick("explore", unique, level - 1, 0);
            // As the one-process search: a limit first, then whether all is decided.
            if opts.max_states.is_some_and(|m| unique >= m) {
                stopped = Some(StopReason::MaxStates);
                break;
            }
            if let Some(r) = reports.iter().find_map(|(_, r)| r.stop) {
                stopped = Some(r);
                break;
            }
            // (A limit leaves `depth` at the last level expanded, as the one-process search.)
            depth = level - 1;
            if opts.stop_when_decided && safety_decided(&props, found.iter().map(Option::is_some)) {
                stopped = Some(StopReason::Decided);
                break;
            }
        }
        // This worker's part of level `level`: the successors new to the search, in
        // fingerprint order.
        let mut new: Vec<(Fingerprint, (Fingerprint, Vec<u8>))> = arrived
            .into_iter()
            .filter(|(fp, _)| !visited.contains_key(fp))
            .collect();
        new.sort_unstable_by_key(|(fp, _)| *fp);
        let mut report = LevelReport {
            kept: new.len() as u64,
            found: vec![None; props.len()],
            stop: None,
        };
        let mut frontier = Vec::with_capacity(new.len());
        for (fp, (parent, bytes)) in new {
            visited.insert(fp, parent);
            let state = codec.decode(&mut decoded, &bytes);
            debug_assert_eq!(repr.fingerprint(&state), fp, "a state decodes to another");
            for (i, p) in props.iter().enumerate() {
                if found[i].is_none() && report.found[i].is_none() && discovers(model, p, &state) {
                    report.found[i] = Some(fp);
                }
            }
            frontier.push((state, fp));
        }
        report.stop = limits.check(0);
        for to in 0..peers {
            input.send(Wire::Report {
                to,
                from: me,
                report: report.clone(),
            });
        }
        if opts.max_depth.is_some_and(|m| level > m) {
            continue;
        }
        for (state, fp) in frontier {
            let memo = repr.memo(&state);
            model.actions(&state, &mut actions);
            for action in actions.drain(..) {
                // A successor told unbuilt that this worker has sent already, or none at all,
                // is not built.
                match repr.successor_fingerprint(model, &memo, &mut scratch, &state, &action) {
                    Unbuilt::Known(next, _) if sent.contains(&next) => continue,
                    Unbuilt::Disabled => continue,
                    Unbuilt::Known(..) | Unbuilt::Unknown => {}
                }
                let Some(next) = model.next_state(&state, action) else {
                    continue;
                };
                if !model.within_boundary(&next) {
                    continue;
                }
                let next = repr.canon(model, next);
                let next_fp = repr.child_fingerprint(&memo, &state, &next);
                send_state(&mut input, &mut sent, next_fp, fp, &next);
            }
        }
        repr.trim_parts(&mut scratch);
    }
    drop(sent);

    // The discoveries' fingerprint chains, walked back one step per epoch: each owner
    // tells every worker the parent of the chain heads it owns.
    let mut chains: Vec<Option<Vec<Fingerprint>>> =
        found.iter().map(|f| f.map(|fp| vec![fp])).collect();
    loop {
        let heads: HashSet<Fingerprint> = chains
            .iter()
            .flatten()
            .filter_map(|c| c.last().copied())
            .filter(|&fp| fp != ROOT)
            .collect();
        if heads.is_empty() {
            break;
        }
        for fp in heads.into_iter().filter(|fp| fp % peers == me) {
            let parent = visited[&fp];
            for to in 0..peers {
                input.send(Wire::Parent { to, fp, parent });
            }
        }
        let parents = finish_epoch(&mut input, worker).parents;
        for chain in chains.iter_mut().flatten() {
            let head = *chain.last().expect("a chain is never empty");
            if head != ROOT {
                chain.push(parents[&head]);
            }
        }
    }
    for chain in chains.iter_mut().flatten() {
        chain.pop();
        chain.reverse();
    }
    Ending {
        unique,
        depth,
        stopped,
        chains,
    }
}

#[cfg(test)]
mod tests {
    //! The timely search against the one-process search, on a model of the engine's own.
    use super::*;
    use crate::engine::repr::Plain;
    use crate::engine::symmetry::Identity;
    use stateright::Property;

    /// Two counters that go up by one or two, up to `max`; `always` they are not both
    /// `bad`, `sometimes` they are equal and above 0.
    #[derive(Clone)]
    struct Counters {
        max: u8,
        bad: u8,
    }

    impl Model for Counters {
        type State = (u8, u8);
        type Action = (usize, u8);
        fn init_states(&self) -> Vec<(u8, u8)> {
            vec![(0, 0), (1, 0)]
        }
        fn actions(&self, s: &(u8, u8), out: &mut Vec<(usize, u8)>) {
            for i in 0..2 {
                for by in 1..=2 {
                    let v = if i == 0 { s.0 } else { s.1 };
                    if v + by <= self.max {
                        out.push((i, by));
                    }
                }
            }
        }
        fn next_state(&self, s: &(u8, u8), (i, by): (usize, u8)) -> Option<(u8, u8)> {
            Some(if i == 0 {
                (s.0 + by, s.1)
            } else {
                (s.0, s.1 + by)
            })
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![
                Property::always("not both bad", |m: &Counters, s: &(u8, u8)| {
                    *s != (m.bad, m.bad)
                }),
                Property::sometimes("equal", |_, s: &(u8, u8)| s.0 == s.1 && s.0 > 0),
            ]
        }
    }

    struct Bytes;
    impl Codec<(u8, u8)> for Bytes {
        type Cache = ();
        fn encode(&self, _: &mut (), s: &(u8, u8), out: &mut Vec<u8>) {
            out.extend([s.0, s.1]);
        }
        fn decode(&self, _: &mut (), b: &[u8]) -> (u8, u8) {
            (b[0], b[1])
        }
    }

    fn both(
        model: &Counters,
        workers: usize,
        opts: &Options,
    ) -> (Outcome<Counters>, Outcome<Counters>) {
        let one = super::super::Checker::new(model)
            .options(Options {
                threads: 1,
                ..opts.clone()
            })
            .check()
            .safety;
        let timely = run(
            Arc::new(model.clone()),
            Arc::new(Plain(Identity)),
            Arc::new(Bytes),
            &Workers::Threads(workers),
            opts,
        )
        .expect("timely runs");
        (one, timely)
    }

    /// States, depth, stop reason, and per property its verdict and trace length.
    type Summary = (u64, u32, Option<StopReason>, Vec<(Verdict, Option<usize>)>);

    fn summary(o: &Outcome<Counters>) -> Summary {
        let props = o
            .properties
            .iter()
            .map(|p| (p.verdict, p.trace.as_ref().map(|t| t.len())))
            .collect();
        (o.unique_states, o.max_depth, o.stopped_by, props)
    }

    #[test]
    fn same_states_verdicts_and_trace_lengths_for_any_number_of_workers() {
        let model = Counters { max: 9, bad: 7 };
        let everything = Options {
            stop_when_decided: false,
            progress: super::super::Progress::Quiet,
            ..Options::default()
        };
        for opts in [
            everything.clone(),
            Options {
                stop_when_decided: true,
                ..everything.clone()
            },
            Options {
                max_depth: Some(5),
                ..everything.clone()
            },
            Options {
                max_states: Some(30),
                ..everything.clone()
            },
        ] {
            let mut counts = Vec::new();
            for workers in 1..=3 {
                let (one, timely) = both(&model, workers, &opts);
                let (t, o) = (summary(&timely), summary(&one));
                if matches!(o.2, Some(StopReason::Decided | StopReason::MaxStates)) {
                    // Stopped at the end of a level, not after a parent: as many states or more.
                    assert_eq!((&t.2, &t.3), (&o.2, &o.3), "{workers} workers, {opts:?}");
                    assert!(t.0 >= o.0, "{workers} workers, {opts:?}: {t:?} {o:?}");
                } else {
                    assert_eq!(t, o, "{workers} workers, {opts:?}");
                }
                counts.push((t.0, t.1));
                for p in &timely.properties {
                    if let Some(t) = &p.trace {
                        assert!(t.is_valid_for(&model), "{}: not a path", p.name);
                    }
                }
            }
            assert!(
                counts.windows(2).all(|w| w[0] == w[1]),
                "{opts:?}: {counts:?}"
            );
        }
        // The full space: 10 × 10 values, of which (7, 7) violates and (1, 1) is first equal.
        let (_, timely) = both(&model, 2, &everything);
        assert_eq!(timely.unique_states, 100);
        assert_eq!(timely.properties[0].trace.as_ref().unwrap().last(), &(7, 7));
    }

    #[test]
    fn a_property_that_holds_is_proved_with_every_state_seen() {
        let model = Counters { max: 4, bad: 9 };
        let (one, timely) = both(
            &model,
            2,
            &Options {
                progress: super::super::Progress::Quiet,
                ..Options::default()
            },
        );
        assert_eq!(summary(&timely), summary(&one));
        assert_eq!(timely.properties[0].verdict, Verdict::Holds);
        assert!(timely.complete);
    }

    #[test]
    fn a_host_file_names_the_processes() {
        let dir = std::env::temp_dir().join(format!("zbs-mc-hosts-{}", std::process::id()));
        std::fs::write(&dir, "# two processes\n127.0.0.1:4100\n\n127.0.0.1:4101\n").unwrap();
        let w = Workers::from_host_file(&dir, 1, 1).unwrap();
        assert_eq!(w.total(), 2);
        assert!(
            Workers::from_host_file(&dir, 2, 1)
                .unwrap_err()
                .contains("lists 2 processes")
        );
        std::fs::write(&dir, "localhost\n").unwrap();
        assert!(
            Workers::from_host_file(&dir, 0, 1)
                .unwrap_err()
                .contains("not host:port")
        );
        std::fs::remove_file(&dir).unwrap();
    }
}
