//! `zbs-mc conform`: is a real ZBS meta log a behaviour of the model, and what does the model
//! say about it?
//!
//! - [`parse`]: log lines → typed [`event::LogEvent`]s (pure; glog headers, `grep -n`
//!   prefixes, packed locations, session and chunk uuids, rotated files merged by time, the
//!   model's own trace text).
//! - [`search`]: the logged events matched against what the model's transitions log, with a
//!   bounded search of unlogged transitions between them, keeping every state that explains
//!   the log so far.
//! - [`pending`]: the model's invariants on the reconstructed states, and what is still
//!   pending at the log's end (a leaked lease owner, with the log lines involved).
//! - [`report`]: the typed result and its text and JSON renderings.
//!
//! See specs/conform.md.

pub mod event;
pub mod infer;
pub mod parse;
pub mod pending;
pub mod report;
pub mod search;

use crate::actors::model::ZbsModel;
use event::{Event, LogEvent};
use std::collections::BTreeSet;

/// Why a logged event is not checked against the model.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Skipped {
    pub line: usize,
    pub file: String,
    pub text: String,
    pub why: String,
}

/// The events of a log the model can be asked about, and those it cannot.
pub struct Scoped {
    pub checked: Vec<LogEvent>,
    pub out_of_scope: Vec<Skipped>,
    /// Events of kinds the model does not log (COW, GC, …), by kind.
    pub unmodelled: std::collections::BTreeMap<event::Kind, usize>,
}

/// Splits `events` into those the model speaks about (its pids and chunks, kinds it logs)
/// and the rest. A model is a scenario of a few pids; a real log names thousands.
pub fn scope(model: &ZbsModel, events: Vec<LogEvent>, files: &[String]) -> Scoped {
    let cfg = &model.cfg;
    let pids: BTreeSet<_> = cfg.initial_meta.pextents.keys().copied().collect();
    let chunks: BTreeSet<_> = cfg.chunk_cids.iter().copied().collect();
    let mut s = Scoped {
        checked: Vec::new(),
        out_of_scope: Vec::new(),
        unmodelled: Default::default(),
    };
    for e in events {
        let kind = e.event.kind();
        if !kind.modelled() {
            *s.unmodelled.entry(kind).or_default() += 1;
            continue;
        }
        let why = match &e.event {
            Event::TopoUpdated { cid: None, .. } => {
                Some("not a chunk (rack, brick or zone)".into())
            }
            Event::TopoUpdated { cid: Some(c), .. } if !chunks.contains(c) => {
                Some(format!("chunk {c} is not in the model"))
            }
            ev => ev
                .pid()
                .filter(|p| !pids.contains(p))
                .map(|p| format!("pid {p} is not in the model")),
        };
        match why {
            Some(why) => s.out_of_scope.push(Skipped {
                line: e.origin.line,
                file: files.get(e.origin.file).cloned().unwrap_or_default(),
                text: e.text.clone(),
                why,
            }),
            None => s.checked.push(e),
        }
    }
    s
}
