//! The typed result of `zbs-mc conform` (serde: the JSON rendering, schema
//! `zbs-mc/conform/1`, specs/conform.md) and its text rendering.

use super::event::{Kind, LogEvent};
use super::parse::{self, ParseError, UuidMaps};
use super::pending::{self, Broken, LineRef, PendingOwner};
use super::search::{self, Considered, Options, Outcome};
use super::{Skipped, scope};
use crate::actors::model::{SystemView, ZbsModel};
use crate::trace::StateSummary;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Instant;

/// The JSON schema's name and version.
pub const SCHEMA: &str = "zbs-mc/conform/1";

/// The verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The log is a behaviour of the model; no invariant broken, nothing leaked.
    Conforms,
    /// The log is a behaviour of the model, and in it an invariant breaks or an owner is left
    /// leaked at the end.
    PropertyBroken,
    /// Some event is what no behaviour of the model explains.
    NotABehaviour,
}

impl Verdict {
    /// The exit code (0 / 1 / 4; 2, bad input, never gets this far).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Conforms => 0,
            Verdict::PropertyBroken => 1,
            Verdict::NotABehaviour => 4,
        }
    }
}

/// One input file.
#[derive(Clone, Debug, Serialize)]
pub struct FileSummary {
    pub file: String,
    pub lines: usize,
    pub events: usize,
    pub unknown: usize,
    pub refused_topo_updates: usize,
    /// `counterexample for …` sections of a model trace text (only the first is read).
    pub sections: Vec<String>,
}

/// The event no behaviour explains.
#[derive(Clone, Debug, Serialize)]
pub struct Unexplained {
    pub at: LineRef,
    pub event: String,
    /// States the log before it leads to.
    pub states: usize,
    /// One of them, as the meta tables.
    pub state: StateSummary,
    /// Lines explained before it (the last one, if any).
    pub after: Option<LineRef>,
    /// The logged transitions the model had there (after up to `max_silent` unlogged ones).
    pub considered: Vec<Considered>,
}

/// Everything `conform` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub model: String,
    pub model_file: String,
    pub variant: String,
    pub verdict: Verdict,
    pub files: Vec<FileSummary>,
    /// Events checked against the model.
    pub checked_events: usize,
    /// Event kinds the log shows (the model's lines of other kinds are taken as unlogged).
    pub vocabulary: Vec<Kind>,
    /// Events of kinds the model does not log, by kind.
    pub unmodelled: BTreeMap<String, usize>,
    /// Events about pids or chunks outside the model (first 20 listed).
    pub out_of_scope_count: usize,
    pub out_of_scope: Vec<Skipped>,
    pub uuids: UuidMaps,
    pub max_silent: usize,
    /// Behaviours (distinct end states) that explain the whole log.
    pub behaviours: usize,
    pub states_expanded: usize,
    /// Candidate states were cut to `--max-candidates` somewhere.
    pub truncated: bool,
    /// The focused search was used (`--full-search` off).
    pub focused: bool,
    /// Events where the focused search explained nothing and every unlogged step was tried.
    pub full_searches: usize,
    pub seconds: f64,
    pub unexplained: Option<Unexplained>,
    pub broken: Vec<Broken>,
    /// Owners meta holds at the log's end (in the first behaviour), leaked ones first.
    pub pending: Vec<PendingOwner>,
}

/// Reads `files` (name, text), checks them against `model`, and reports. Parse errors (a
/// malformed known line) come back as `Err`, every one naming its file and line.
pub fn conform(
    model: &ZbsModel,
    model_name: &str,
    model_file: &str,
    variant: &str,
    files: &[(String, String)],
    opts: &Options,
) -> Result<Report, Vec<ParseError>> {
    let started = Instant::now();
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let parsed: Vec<parse::ParsedFile> = files
        .iter()
        .enumerate()
        .map(|(i, (name, text))| parse::parse_file(i, name, text))
        .collect();
    let errors: Vec<ParseError> = parsed.iter().flat_map(|p| p.errors.clone()).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let summaries = parsed
        .iter()
        .zip(&names)
        .map(|(p, name)| FileSummary {
            file: name.clone(),
            lines: p.lines,
            events: p.events.len(),
            unknown: p.unknown,
            refused_topo_updates: p.refused_topo,
            sections: p.sections.clone(),
        })
        .collect();
    let mut events = parse::merge(parsed);
    let uuids = parse::resolve(&mut events);
    let scoped = scope(model, events, &names);
    let log: Vec<LogEvent> = scoped.checked;
    let found = search::search(model, &log, opts);
    let mut report = Report {
        schema: SCHEMA,
        model: model_name.to_string(),
        model_file: model_file.to_string(),
        variant: variant.to_string(),
        verdict: Verdict::Conforms,
        files: summaries,
        checked_events: log.len(),
        vocabulary: found.vocabulary.iter().copied().collect(),
        unmodelled: scoped
            .unmodelled
            .iter()
            .map(|(k, n)| (format!("{k:?}"), *n))
            .collect(),
        out_of_scope_count: scoped.out_of_scope.len(),
        out_of_scope: scoped.out_of_scope.into_iter().take(20).collect(),
        uuids,
        max_silent: opts.max_silent,
        behaviours: 0,
        states_expanded: found.expanded,
        truncated: found.truncated,
        focused: opts.focused,
        full_searches: found.full_searches,
        seconds: 0.0,
        unexplained: None,
        broken: Vec::new(),
        pending: Vec::new(),
    };
    let line = |ix: usize| {
        log.get(ix).map(|e| LineRef {
            file: names.get(e.origin.file).cloned().unwrap_or_default(),
            line: e.origin.line,
            text: e.text.clone(),
        })
    };
    match found.outcome {
        Outcome::Conforms { finals } => {
            report.behaviours = finals.len();
            let hists: Vec<_> = finals.iter().map(|(_, h)| h.clone()).collect();
            report.broken = pending::broken(&hists, &log, &names);
            let (state, hist) = &finals[0];
            let mut owners = pending::pending_owners(model, state, hist.as_ref(), &log, &names);
            for o in &mut owners {
                o.in_every_behaviour = finals.iter().all(|(s, _)| {
                    let v = SystemView::of(&model.cfg, s);
                    let leaked: Vec<_> = crate::properties::leaked_owners(&v).collect();
                    leaked.contains(&(o.pid, o.owner)) == o.leaked
                        && v.meta.meta.access.owners.get(&o.pid) == Some(&o.owner)
                });
            }
            report.pending = owners;
            let broken = report.broken.iter().any(|b| b.in_every_behaviour)
                || report
                    .pending
                    .iter()
                    .any(|p| p.leaked && p.in_every_behaviour);
            report.verdict = if broken {
                Verdict::PropertyBroken
            } else {
                Verdict::Conforms
            };
        }
        Outcome::Unexplained {
            at,
            state,
            hist,
            states,
            considered,
        } => {
            report.verdict = Verdict::NotABehaviour;
            report.broken = pending::broken(std::slice::from_ref(&hist), &log, &names);
            report.unexplained = Some(Unexplained {
                at: line(at).expect("the unexplained event is in the log"),
                event: log[at].event.to_string(),
                states,
                state: StateSummary::of(&SystemView::of(&model.cfg, &state)),
                after: at.checked_sub(1).and_then(line),
                considered,
            });
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn at_line(r: &LineRef) -> String {
    format!("{}:{}", r.file, r.line)
}

/// The text rendering.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "model:    {} ({})", r.model, r.model_file);
    let _ = writeln!(s, "variant:  {}", r.variant);
    for f in &r.files {
        let _ = writeln!(
            s,
            "log:      {} ({} lines: {} events, {} unknown lines skipped{})",
            f.file,
            f.lines,
            f.events,
            f.unknown,
            if f.sections.len() > 1 {
                format!(
                    "; {} counterexamples, the first ({}) read",
                    f.sections.len(),
                    f.sections[0]
                )
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        s,
        "checked:  {} events of kinds {:?}; {} about pids or chunks outside the model; {}",
        r.checked_events,
        r.vocabulary,
        r.out_of_scope_count,
        if r.unmodelled.is_empty() {
            "no lines of kinds the model does not log".to_string()
        } else {
            format!("not modelled: {:?}", r.unmodelled)
        }
    );
    if !r.uuids.sessions.is_empty() || !r.uuids.unmapped_sessions.is_empty() {
        let _ = writeln!(
            s,
            "sessions: {}{}",
            r.uuids
                .sessions
                .iter()
                .map(|(u, c)| format!("{u} → chunk-{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            if r.uuids.unmapped_sessions.is_empty() {
                String::new()
            } else {
                format!(
                    "; no cid for {:?} (their lines match any session)",
                    r.uuids.unmapped_sessions
                )
            }
        );
    }
    let _ = writeln!(
        s,
        "search:   {} states expanded, up to {} unlogged steps before each logged one{}, {:.2} s{}",
        r.states_expanded,
        r.max_silent,
        if r.focused {
            format!(
                " (focused on the event's pid first; every unlogged step at {} events)",
                r.full_searches
            )
        } else {
            " (every unlogged step, every depth)".to_string()
        },
        r.seconds,
        if r.truncated {
            " (candidate states were cut to --max-candidates: a NOT A BEHAVIOUR verdict may be the cut's)"
        } else {
            ""
        }
    );
    let _ = writeln!(s);
    match r.verdict {
        Verdict::NotABehaviour => {
            let u = r.unexplained.as_ref().expect("an unexplained event");
            let _ = writeln!(
                s,
                "NOT A BEHAVIOUR OF THE MODEL: line {} is what no behaviour explains",
                at_line(&u.at)
            );
            let _ = writeln!(s, "  {}", u.at.text);
            match &u.after {
                Some(a) => {
                    let _ = writeln!(
                        s,
                        "  the log up to line {} leads to {} state(s); from there, after at most {} unlogged steps, the model's logged steps are (✓ the log says the same at that place, ✗ it does not):",
                        at_line(a),
                        u.states,
                        r.max_silent
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "  from the initial state, after at most {} unlogged steps, the model's logged steps are (✓ the log says the same at that place, ✗ it does not):",
                        r.max_silent
                    );
                }
            }
            if u.considered.is_empty() {
                let _ = writeln!(s, "    (none: the model logs nothing more)");
            }
            for c in &u.considered {
                let _ = writeln!(
                    s,
                    "    {} (after {} unlogged) would log:",
                    c.action, c.after_silent
                );
                for (l, ok) in c.would_log.iter().zip(&c.log_agrees) {
                    let _ = writeln!(s, "      {} {l}", if *ok { "✓" } else { "✗" });
                }
            }
            let _ = writeln!(s, "  the state there (one of {}):", u.states);
            let st = &u.state;
            let _ = writeln!(s, "    owners: {:?}", st.owners);
            let _ = writeln!(s, "    locations: {:?}", st.locations);
            let _ = writeln!(s, "    pid_cmds_: {:?}", st.pid_cmds);
            let _ = writeln!(s, "    waiting_recover_cmds: {:?}", st.waiting_recover_cmds);
            let _ = writeln!(
                s,
                "    passive/active_waiting_migrate_: {:?} / {:?}",
                st.passive_waiting_migrate, st.active_waiting_migrate
            );
            let _ = writeln!(s, "    lease caches: {:?}", st.lease_caches);
            let _ = writeln!(s, "    running: {:?}", st.running);
            let _ = writeln!(s, "    topology: {:?}", st.topology);
            let _ = writeln!(s, "    in flight: {:?}", st.in_flight);
        }
        Verdict::Conforms | Verdict::PropertyBroken => {
            let _ = writeln!(
                s,
                "{}: every checked event is a step of the model ({} behaviour(s) explain the log)",
                if r.verdict == Verdict::Conforms {
                    "CONFORMS"
                } else {
                    "CONFORMS, BUT A PROPERTY BREAKS"
                },
                r.behaviours
            );
        }
    }
    if !r.broken.is_empty() {
        let _ = writeln!(s, "\ninvariants broken on the log:");
        for b in &r.broken {
            let _ = writeln!(
                s,
                "  {:<32} VIOLATED{} from line {}",
                b.property,
                if b.in_every_behaviour || r.verdict == Verdict::NotABehaviour {
                    ""
                } else {
                    " (in some behaviours)"
                },
                b.at.as_ref().map_or("?".to_string(), at_line)
            );
        }
    } else if r.verdict != Verdict::NotABehaviour {
        let _ = writeln!(s, "\nevery invariant holds in the states the log leads to");
    }
    if r.verdict != Verdict::NotABehaviour {
        let leaked: Vec<_> = r.pending.iter().filter(|p| p.leaked).collect();
        let other: Vec<_> = r.pending.iter().filter(|p| !p.leaked).collect();
        if leaked.is_empty() {
            let _ = writeln!(s, "\nno leaked lease owner at the log's end");
        } else {
            let _ = writeln!(s, "\npending at the log's end:");
            for p in &leaked {
                let _ = writeln!(
                    s,
                    "  LEAKED {}{}",
                    p.message,
                    if p.in_every_behaviour {
                        ""
                    } else {
                        " (in some behaviours)"
                    }
                );
                for l in &p.lines {
                    let _ = writeln!(s, "      {}: {}", l.line, l.text);
                }
            }
        }
        if !other.is_empty() {
            let _ = writeln!(s, "\nother owners at the log's end (not leaked):");
            for p in other {
                let _ = writeln!(s, "  {}", p.message);
            }
        }
    }
    s
}
