//! The model's invariants on the states a log leads to, and what is still pending at its end.
//!
//! A leaked owner is the invariant `no_leaked_owner`'s own finding
//! ([`crate::properties::leaked_owners`]) in the state the log ends in; this module only
//! tells its story from the transitions that explain the log: the line whose command
//! allocated the owner, the line whose transition revoked the command, whether a `[RECOVER]`
//! delivered it first.

use super::event::{Event, LogEvent};
use super::search::Hist;
use crate::actors::LogLine;
use crate::actors::model::{SystemView, ZbsModel, ZbsState};
use crate::domain::events::MetaEvent;
use crate::domain::{Cid, Pid};
use crate::properties::{self, PROPERTIES};
use serde::Serialize;
use std::sync::Arc;

/// A log line a report points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineRef {
    pub file: String,
    pub line: usize,
    pub text: String,
}

fn line_ref(log: &[LogEvent], files: &[String], ix: usize) -> Option<LineRef> {
    log.get(ix).map(|e| LineRef {
        file: files.get(e.origin.file).cloned().unwrap_or_default(),
        line: e.origin.line,
        text: e.text.clone(),
    })
}

/// An invariant broken on the log: the first transition after which it is false.
#[derive(Clone, Debug, Serialize)]
pub struct Broken {
    pub property: String,
    /// In every behaviour that explains the log (else only in some).
    pub in_every_behaviour: bool,
    /// The logged line of that transition (the first behaviour's).
    pub at: Option<LineRef>,
}

/// The first transition in `chain` after which property `p` is false.
fn first_violation(chain: &[Arc<Hist>], p: usize) -> Option<&Arc<Hist>> {
    chain.iter().find(|h| h.violated.contains(&p))
}

/// Invariants broken in the behaviours `finals` (histories of the states the log leads to).
pub fn broken(finals: &[Option<Arc<Hist>>], log: &[LogEvent], files: &[String]) -> Vec<Broken> {
    let chains: Vec<Vec<Arc<Hist>>> = finals
        .iter()
        .map(|h| h.as_ref().map(Hist::chain).unwrap_or_default())
        .collect();
    let mut out = Vec::new();
    for (i, p) in PROPERTIES.iter().enumerate() {
        let hits: Vec<Option<&Arc<Hist>>> = chains.iter().map(|c| first_violation(c, i)).collect();
        let Some(first) = hits.iter().flatten().next() else {
            continue;
        };
        out.push(Broken {
            property: p.name.to_string(),
            in_every_behaviour: hits.iter().all(Option::is_some),
            at: line_ref(log, files, first.first),
        });
    }
    out
}

/// An owner meta still has at the log's end.
#[derive(Clone, Debug, Serialize)]
pub struct PendingOwner {
    pub pid: Pid,
    pub owner: Cid,
    /// `no_leaked_owner` finds it leaked: no cache, no command or grant on its way, no
    /// release on its way.
    pub leaked: bool,
    /// In every behaviour that explains the log (else only in some).
    pub in_every_behaviour: bool,
    pub message: String,
    pub lines: Vec<LineRef>,
}

/// Where in a behaviour something happened: a logged transition's first line, or an
/// unlogged step before one.
enum At<'a> {
    Logged(&'a Hist),
    Unlogged(&'a Hist, &'a str),
}

fn find<'a>(chain: &'a [Arc<Hist>], mut pred: impl FnMut(&MetaEvent) -> bool) -> Option<At<'a>> {
    let meta = |l: &LogLine| match l {
        LogLine::Meta(e) => Some(e.clone()),
        _ => None,
    };
    let mut last = None;
    for h in chain {
        for (what, lines) in &h.silent {
            if lines.iter().filter_map(meta).any(|e| pred(&e)) {
                last = Some(At::Unlogged(h, what.as_str()));
            }
        }
        if h.lines.iter().filter_map(meta).any(|e| pred(&e)) {
            last = Some(At::Logged(h));
        }
    }
    last
}

/// The owners pending at the end of one behaviour, leaked ones first.
pub fn pending_owners(
    model: &ZbsModel,
    state: &ZbsState,
    hist: Option<&Arc<Hist>>,
    log: &[LogEvent],
    files: &[String],
) -> Vec<PendingOwner> {
    let v = SystemView::of(&model.cfg, state);
    let leaked: Vec<(Pid, Cid)> = properties::leaked_owners(&v).collect();
    let chain = hist.map(Hist::chain).unwrap_or_default();
    let mut out = Vec::new();
    for (&pid, &owner) in v.meta.meta.access.owners.iter() {
        let is_leaked = leaked.contains(&(pid, owner));
        let mut lines = Vec::new();
        let mut say = |at: &At, what: &str| -> String {
            match at {
                At::Logged(h) => {
                    let r = line_ref(log, files, h.first);
                    let s = match &r {
                        Some(r) => format!("{what} at line {} ({})", r.line, short(log, h.first)),
                        None => format!("{what} by {}", h.action),
                    };
                    lines.extend(r);
                    s
                }
                At::Unlogged(h, step) => match line_ref(log, files, h.first) {
                    Some(r) => {
                        format!("{what} by an unlogged step ({step}) before line {}", r.line)
                    }
                    None => format!("{what} by an unlogged step ({step})"),
                },
            }
        };
        let alloc = find(&chain, |e| match e {
            MetaEvent::CmdAdded(c) => c.pid == pid && c.owner == owner && c.owner_allocated,
            MetaEvent::LeaseGranted {
                pid: p,
                owner: o,
                created,
            } => *p == pid && *o == owner && *created,
            _ => false,
        });
        let mut message = format!("pid {pid}: owner {owner}");
        match &alloc {
            Some(a) => {
                let s = say(a, "allocated");
                message.push_str(&format!(" {s}"));
            }
            None => message.push_str(" held since the log's start"),
        }
        let revoked = find(
            &chain,
            |e| matches!(e, MetaEvent::CmdRevoked { cmd, owner_kept: true, .. } if cmd.pid == pid && cmd.owner == owner),
        );
        let delivered = chain.iter().any(|h| {
            (h.first..h.end).any(|i| {
                matches!(log.get(i).map(|e| &e.event), Some(Event::RecoverSent { pid: p, .. }) if *p == pid)
            })
        });
        if let Some(r) = &revoked {
            let s = say(r, "by a command revoked");
            message.push_str(&format!(" {s}"));
            if !delivered {
                message.push_str(" before any [RECOVER]");
            }
        }
        let s = v.session(owner);
        if is_leaked {
            message.push_str("; never released up to the log's end");
        } else if s.is_some_and(|s| s.lease_cache.contains(&pid)) {
            message.push_str(&format!(
                "; cached by chunk {owner}'s libmeta (its idle release is still to come)"
            ));
        } else {
            message.push_str("; a command or release for it is on its way");
        }
        out.push(PendingOwner {
            pid,
            owner,
            leaked: is_leaked,
            in_every_behaviour: true,
            message,
            lines,
        });
    }
    out.sort_by_key(|p| (!p.leaked, p.pid));
    out
}

/// A logged line named in a sentence: `[UPDATE TOPO OBJ] chunk-5`.
fn short(log: &[LogEvent], ix: usize) -> String {
    log.get(ix).map(|e| e.event.label()).unwrap_or_default()
}
