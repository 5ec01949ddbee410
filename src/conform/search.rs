//! Is a log a behaviour of the model? Trace validation in the manner of TLA+ (Cirstea, Kuppe,
//! Loillier, Merz 2024): each logged event must be what some transition of the model logs,
//! and where the log is silent (heartbeats, scans that find nothing to log, chunk-side steps
//! of a meta-only log) the search tries bounded sequences of transitions that log nothing.
//!
//! Nothing here knows ZBS rules: a transition's events are read from the very log lines the
//! model's handlers return (`MetaEvent`s, and the chunk and operator lines read back through
//! the same parser as a real log). The search keeps *every* state the log so far can lead to
//! (deduplicated), not only the first found, because a log may be explained by several
//! behaviours that part later.

use super::event::{ALL_KINDS, Event, Kind, LogEvent, Session};
use super::parse::parse_message;
use crate::actors::model::{SystemView, ZbsModel, ZbsState};
use crate::actors::{LogLine, ZbsActor};
use crate::properties::PROPERTIES;
use crate::trace::{ZbsAction, msg_text, timer_text};
use stateright::actor::{ActorModelAction, Out};
use stateright::{Expectation, Model};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Bounds of the search.
#[derive(Clone, Debug)]
pub struct Options {
    /// Unlogged transitions tried before each logged one.
    pub max_silent: usize,
    /// States kept per log position (beyond it the rest are dropped, and the verdict says
    /// the search was cut).
    pub max_candidates: usize,
    /// Meta kinds the log leaves out (a log filtered by `grep`): their model lines count as
    /// unlogged.
    pub unlogged: BTreeSet<Kind>,
    /// Try unlogged steps of the next event's pid (and steps of no pid: scans, heartbeats,
    /// topology) first, stopping at the fewest that explain it; only where that explains
    /// nothing, every unlogged step. Off: every unlogged step, every depth, everywhere.
    pub focused: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_silent: 6,
            max_candidates: 4096,
            unlogged: BTreeSet::new(),
            focused: true,
        }
    }
}

/// One transition the search took: the unlogged ones before it, then the logged one.
#[derive(Debug)]
pub struct Hist {
    pub prev: Option<Arc<Hist>>,
    /// The log events it explains: `first..end` (indices into the checked events).
    pub first: usize,
    pub end: usize,
    /// Unlogged transitions before it, with their model lines.
    pub silent: Vec<(String, Vec<LogLine>)>,
    pub action: String,
    pub lines: Vec<LogLine>,
    /// Invariants (indices into [`PROPERTIES`]) false in the state after it.
    pub violated: Vec<usize>,
}

impl Hist {
    /// The chain from the first transition to this one.
    pub fn chain(self: &Arc<Hist>) -> Vec<Arc<Hist>> {
        let mut v = Vec::new();
        let mut h = Some(self.clone());
        while let Some(n) = h {
            h = n.prev.clone();
            v.push(n);
        }
        v.reverse();
        v
    }
}

/// A transition enabled at the point where the log could not be followed, and what it
/// would have logged.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Considered {
    pub action: String,
    /// Unlogged transitions before it (from a state the log led to).
    pub after_silent: usize,
    pub would_log: Vec<String>,
    /// For each of them: does the log's event at that place say it?
    pub log_agrees: Vec<bool>,
}

/// The search's answer.
pub enum Outcome {
    /// Every event explained: the states the whole log can lead to, with how.
    Conforms {
        finals: Vec<(ZbsState, Option<Arc<Hist>>)>,
    },
    /// Event `at` (index into the checked events) is what no behaviour explains.
    Unexplained {
        at: usize,
        /// The states the log up to `at` leads to (one shown), how many there were.
        state: Box<ZbsState>,
        hist: Option<Arc<Hist>>,
        states: usize,
        considered: Vec<Considered>,
    },
}

/// The result of a search with its bookkeeping.
pub struct Search {
    pub outcome: Outcome,
    /// Kinds the log shows: the model's lines of other kinds count as unlogged.
    pub vocabulary: BTreeSet<Kind>,
    /// States expanded in all.
    pub expanded: usize,
    /// A position's candidate states were cut to `max_candidates`.
    pub truncated: bool,
    /// Positions where the focused search explained nothing and every unlogged step was
    /// tried.
    pub full_searches: usize,
}

/// What a model transition logs, as conform events: each of its log lines as the model
/// prints it ([`model_texts`]), read back by the log parser exactly as a real log line is
/// read, so nothing here restates the model. A `REPLACE REPLICA` or `Release owner` names
/// the session that sent it (the delivering chunk).
pub fn model_events(model: &ZbsModel, action: &ZbsAction, lines: &[LogLine]) -> Vec<Event> {
    let sender = match action {
        ActorModelAction::Deliver { src, .. } => model.cfg.cid_of(*src),
        _ => None,
    };
    let mut out = Vec::new();
    for line in lines {
        for (text, operator) in model_texts(line) {
            let Ok(Some(mut ev)) = parse_message(message_of(&text)) else {
                continue;
            };
            if !ev.kind().modelled() {
                continue;
            }
            match &mut ev {
                Event::TopoUpdated { request_only, .. } if operator => *request_only = true,
                Event::ReplaceReplica { session, .. } => {
                    if let Some(c) = sender {
                        *session = Some(Session::Cid(c));
                    }
                }
                Event::OwnerReleased { session, .. } => {
                    if let Some(c) = sender {
                        *session = Session::Cid(c);
                    }
                }
                _ => {}
            }
            out.push(ev);
        }
    }
    out
}

/// The text of one of the model's log lines: the real ZBS lines it prints (glog lines
/// verbatim, chunk lines), without the model's remarks (`# model: …`). The `bool` marks an
/// operator's request line (none today: the operator's actions are remarks).
pub fn model_texts(line: &LogLine) -> Vec<(String, bool)> {
    line.lines(0, 0)
        .into_iter()
        .filter(|l| !l.starts_with(crate::domain::events::REMARK))
        .map(|l| (l, false))
        .collect()
}

/// The message of a line: after its glog header or its `file.cc:NNN] ` prefix, if any.
fn message_of(text: &str) -> &str {
    let t = text.trim_start();
    match t.find("] ") {
        Some(i) if t[..i].contains(".cc") => &t[i + 2..],
        _ => t,
    }
}

/// The log lines `action` produces in `state` (the handler re-run on a copy, as trace
/// rendering does).
pub fn lines_of(model: &ZbsModel, state: &ZbsState, action: &ZbsAction) -> Vec<LogLine> {
    let mut out = Out::<ZbsActor>::new();
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            let ix = usize::from(*dst);
            let mut s = Cow::Borrowed(&*state.actor_states[ix]);
            model.actors[ix].handle_msg(&mut s, *src, msg, &mut out)
        }
        ActorModelAction::Timeout(id, timer) => {
            let ix = usize::from(*id);
            let mut s = Cow::Borrowed(&*state.actor_states[ix]);
            model.actors[ix].handle_timeout(&mut s, timer, &mut out)
        }
        ActorModelAction::Drop(_)
        | ActorModelAction::Crash(_)
        | ActorModelAction::Recover(_)
        | ActorModelAction::SelectRandom { .. } => Vec::new(),
    }
}

/// An action as traces name it: `[meta] timer: DoScan`.
pub fn describe(model: &ZbsModel, action: &ZbsAction) -> String {
    let cfg = &model.cfg;
    match action {
        ActorModelAction::Deliver { src, dst, msg } => format!(
            "[{}] receives {} from {}",
            cfg.actor_name(*dst),
            msg_text(msg),
            cfg.actor_name(*src)
        ),
        ActorModelAction::Timeout(id, timer) => {
            format!("[{}] timer: {}", cfg.actor_name(*id), timer_text(timer))
        }
        other => format!("{other:?}"),
    }
}

/// Invariants false in `state`.
pub fn violated(model: &ZbsModel, state: &ZbsState) -> Vec<usize> {
    PROPERTIES
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.expectation, Expectation::Always))
        .filter(|(_, p)| !(p.check)(model, state))
        .map(|(i, _)| i)
        .collect()
}

/// A fixed hasher: the same log gives the same report (which state is shown, which behaviour
/// is told) on every run.
type Fixed = std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>;
type Frontier = HashMap<ZbsState, Option<Arc<Hist>>, Fixed>;

/// One state of the unlogged closure: where it came from.
struct Node {
    state: ZbsState,
    hist: Option<Arc<Hist>>,
    silent: Vec<(ZbsAction, Vec<LogLine>)>,
}

/// Follows `log` (the events to check, in order) through `model`.
pub fn search(model: &ZbsModel, log: &[LogEvent], opts: &Options) -> Search {
    let vocabulary: BTreeSet<Kind> = log
        .iter()
        .map(|e| e.event.kind())
        .chain(ALL_KINDS.iter().copied().filter(|k| k.always_logged()))
        .filter(|k| k.modelled() && !opts.unlogged.contains(k))
        .collect();
    let mut expanded = 0;
    let mut truncated = false;
    let mut full_searches = 0;
    let mut positions: BTreeMap<usize, Frontier> = BTreeMap::new();
    for s in model.init_states() {
        positions.entry(0).or_default().insert(s, None);
    }
    let mut furthest: Option<(usize, Frontier)> = None;
    let mut finals = Vec::new();
    while let Some((at, frontier)) = positions.pop_first() {
        if at == log.len() {
            finals.extend(frontier);
            continue;
        }
        let focus = opts.focused.then(|| log[at].event.pid());
        let mut found = expand(
            model,
            log,
            &vocabulary,
            at,
            &frontier,
            opts.max_silent,
            focus,
            &mut expanded,
            None,
        );
        if found.is_empty() && focus.is_some() {
            full_searches += 1;
            found = expand(
                model,
                log,
                &vocabulary,
                at,
                &frontier,
                opts.max_silent,
                None,
                &mut expanded,
                None,
            );
        }
        for (end, state, hist) in found {
            let f = positions.entry(end).or_default();
            if f.len() >= opts.max_candidates && !f.contains_key(&state) {
                truncated = true;
                continue;
            }
            f.entry(state).or_insert(Some(hist));
        }
        if furthest.as_ref().is_none_or(|(p, _)| at >= *p) {
            furthest = Some((at, frontier));
        }
    }
    let outcome = if !finals.is_empty() {
        Outcome::Conforms { finals }
    } else {
        let (at, frontier) = furthest.expect("position 0 is always expanded");
        let mut considered = Vec::new();
        let mut n = 0;
        expand(
            model,
            log,
            &vocabulary,
            at,
            &frontier,
            opts.max_silent,
            None,
            &mut n,
            Some(&mut considered),
        );
        let states = frontier.len();
        let (state, hist) = frontier
            .into_iter()
            .next()
            .expect("a frontier is never empty");
        Outcome::Unexplained {
            at,
            state: Box::new(state),
            hist,
            states,
            considered,
        }
    };
    Search {
        outcome,
        vocabulary,
        expanded,
        truncated,
        full_searches,
    }
}

/// The transitions from `frontier` (after at most `max_silent` unlogged ones) that log
/// exactly the events at `at..`: `(end, state after, history)` for each. With `diagnose`, it
/// also lists every logged transition it met, matching or not.
#[allow(clippy::too_many_arguments)]
fn expand(
    model: &ZbsModel,
    log: &[LogEvent],
    vocabulary: &BTreeSet<Kind>,
    at: usize,
    frontier: &Frontier,
    max_silent: usize,
    focus: Option<Option<crate::domain::Pid>>,
    expanded: &mut usize,
    mut diagnose: Option<&mut Vec<Considered>>,
) -> Vec<(usize, ZbsState, Arc<Hist>)> {
    let mut found = Vec::new();
    let mut seen: HashSet<ZbsState, Fixed> = frontier.keys().cloned().collect();
    let mut level: Vec<Node> = frontier
        .iter()
        .map(|(s, h)| Node {
            state: s.clone(),
            hist: h.clone(),
            silent: Vec::new(),
        })
        .collect();
    let mut actions = Vec::new();
    for depth in 0..=max_silent {
        let mut next_level = Vec::new();
        for node in &level {
            *expanded += 1;
            actions.clear();
            model.actions(&node.state, &mut actions);
            for action in &actions {
                // Focused: an action about other pids logs nothing about this event's pid.
                if let (Some(focus), Some(pids)) = (focus, action_pids(action))
                    && !focus.is_some_and(|p| pids.contains(&p))
                {
                    continue;
                }
                let lines = lines_of(model, &node.state, action);
                let events: Vec<Event> = model_events(model, action, &lines)
                    .into_iter()
                    .filter(|e| vocabulary.contains(&e.kind()))
                    .collect();
                if events.is_empty() {
                    if depth < max_silent
                        && let Some(next) = model.next_state(&node.state, action.clone())
                        && seen.insert(next.clone())
                    {
                        let mut silent = node.silent.clone();
                        silent.push((action.clone(), lines));
                        next_level.push(Node {
                            state: next,
                            hist: node.hist.clone(),
                            silent,
                        });
                    }
                    continue;
                }
                let end = at + events.len();
                let matched = end <= log.len()
                    && events
                        .iter()
                        .zip(&log[at..end])
                        .all(|(m, l)| l.event.matches(m));
                if let Some(d) = diagnose.as_deref_mut()
                    && d.len() < 64
                {
                    let c = Considered {
                        action: describe(model, action),
                        after_silent: depth,
                        would_log: events.iter().map(ToString::to_string).collect(),
                        log_agrees: events
                            .iter()
                            .enumerate()
                            .map(|(j, m)| log.get(at + j).is_some_and(|l| l.event.matches(m)))
                            .collect(),
                    };
                    if !d
                        .iter()
                        .any(|x| x.action == c.action && x.would_log == c.would_log)
                    {
                        d.push(c);
                    }
                }
                if !matched {
                    continue;
                }
                let Some(next) = model.next_state(&node.state, action.clone()) else {
                    continue;
                };
                let violated = violated(model, &next);
                let hist = Arc::new(Hist {
                    prev: node.hist.clone(),
                    first: at,
                    end,
                    silent: node
                        .silent
                        .iter()
                        .map(|(a, l)| (describe(model, a), l.clone()))
                        .collect(),
                    action: describe(model, action),
                    lines,
                    violated,
                });
                found.push((end, next, hist));
            }
        }
        if next_level.is_empty() || (focus.is_some() && !found.is_empty()) {
            break;
        }
        level = next_level;
    }
    found
}

/// The pids an action is about (`None`: about no pid in particular — scans, heartbeats,
/// topology, chunk losses), for the focused search.
fn action_pids(action: &ZbsAction) -> Option<Vec<crate::domain::Pid>> {
    use crate::actors::{Msg, Timer};
    match action {
        ActorModelAction::Deliver { msg, .. } => match msg {
            Msg::HeartbeatReply(cmds, _) => Some(cmds.iter().map(|c| c.pid).collect()),
            Msg::ReplaceReplica(c) | Msg::RecoverTimedOut(c) => Some(vec![c.pid]),
            Msg::ReleaseOwner(p, _) | Msg::AppIo(p) | Msg::GrantLease(p, _) => Some(vec![*p]),
            Msg::MigrateCreate { req, .. } => Some(vec![req.pid]),
            Msg::UpdateTopo { .. }
            | Msg::ChunkLost(_)
            | Msg::Disconnect
            | Msg::MigrateDone { .. }
            | Msg::SessionTimeout(_)
            | Msg::CreateSession(_)
            | Msg::SessionCreated(_) => None,
            Msg::Snapshot(crate::domain::snapshot::SnapshotMsg::RevokeLease { pids }) => {
                Some(pids.clone())
            }
            Msg::Snapshot(crate::domain::snapshot::SnapshotMsg::RecoverFailed { cmd }) => {
                Some(vec![cmd.pid])
            }
        },
        ActorModelAction::Timeout(_, timer) => match timer {
            Timer::Execute(p)
            | Timer::IdleRelease(p)
            | Timer::AppIo(p)
            | Timer::RecoverTick(p)
            | Timer::ExtentGc(p) => Some(vec![*p]),
            Timer::Scan
            | Timer::MigrateScan
            | Timer::SwapMigrate
            | Timer::Heartbeat(_)
            | Timer::TopoUpdate(_)
            | Timer::ChunkFailure(_)
            | Timer::ManualMigrate(_)
            | Timer::AddMigrateStep(_)
            | Timer::MissHeartbeat
            | Timer::RenewSession
            | Timer::CreateSession
            | Timer::Snapshot(_) => None,
        },
        ActorModelAction::Drop(_)
        | ActorModelAction::Crash(_)
        | ActorModelAction::Recover(_)
        | ActorModelAction::SelectRandom { .. } => None,
    }
}

/// The view of one state, for reports.
pub fn view<'a>(model: &'a ZbsModel, state: &'a ZbsState) -> SystemView<'a> {
    SystemView::of(&model.cfg, state)
}
