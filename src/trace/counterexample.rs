//! One counterexample with everything a renderer needs: the model it came from (file, text,
//! variant), the property, the engine trace and its described steps.

use super::{StateSummary, Step, ZbsAction, describe, initial_summary};
use crate::actors::model::{ZbsModel, ZbsState};
use crate::domain::variant::Variant;
use crate::engine::Trace;
use crate::properties::{LIVENESS, LivenessDef, PROPERTIES, PropertyDef};
use crate::verdicts::Kind;
use stateright::Expectation;

/// The trace renderings `check --trace-format`, `trace --format` and `--out` know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    /// The meta-log-like step list with the changed state after each step.
    Text,
    /// The replayable JSON document (specs/traces.md).
    Json,
    /// The Informal Trace Format (Apalache ADR-015), for ITF viewers and MBT tools.
    Itf,
    /// A Mermaid sequence diagram (meta, chunk sessions, operator, client).
    Mermaid,
    /// Graphviz DOT of the explored state graph (or the trace's neighbourhood).
    Dot,
    /// The ordered meta calls and conditions a C++ functional test must arrange.
    TestPlan,
}

impl TraceFormat {
    /// The format a file name suggests (`x.itf.json`, `x.json`, `x.mmd`, `x.dot`, …).
    pub fn from_path(path: &std::path::Path) -> Option<TraceFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        Some(if name.ends_with(".itf.json") {
            TraceFormat::Itf
        } else if name.ends_with(".json") {
            TraceFormat::Json
        } else if name.ends_with(".mmd") || name.ends_with(".md") {
            TraceFormat::Mermaid
        } else if name.ends_with(".dot") || name.ends_with(".gv") {
            TraceFormat::Dot
        } else if name.ends_with(".plan") || name.ends_with(".plan.txt") {
            TraceFormat::TestPlan
        } else if name.ends_with(".txt") || name.ends_with(".log") {
            TraceFormat::Text
        } else {
            return None;
        })
    }
}

/// Where a model came from, as saved traces and reports record it.
#[derive(Clone, Debug)]
pub struct ModelSource {
    /// The scenario's `name`.
    pub name: String,
    /// The model file's path as the user gave it.
    pub file: String,
    /// The model file's text.
    pub text: String,
}

/// What a trace is about: a safety property (an invariant or a `sometimes` condition) or a
/// liveness property (its trace is a lasso).
#[derive(Clone, Copy)]
pub enum Subject {
    Safety(&'static PropertyDef),
    Liveness(&'static LivenessDef),
}

/// The property a trace is about, with what every renderer prints of it.
#[derive(Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    pub doc: &'static str,
    pub kind: Kind,
    pub subject: Subject,
}

impl From<&'static PropertyDef> for Property {
    fn from(def: &'static PropertyDef) -> Property {
        Property {
            name: def.name,
            doc: def.doc,
            kind: Kind::of(&def.expectation),
            subject: Subject::Safety(def),
        }
    }
}

impl From<&'static LivenessDef> for Property {
    fn from(def: &'static LivenessDef) -> Property {
        Property {
            name: def.name,
            doc: def.doc,
            kind: Kind::Liveness,
            subject: Subject::Liveness(def),
        }
    }
}

/// What a trace shows about its property, computed from the trace's own states (never
/// assumed from how the trace was found): renderers print this, so a verdict printed is a
/// verdict computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// The invariant is false in the state after step `at` (0: the initial state), the
    /// first such state of the trace.
    Violated { at: usize },
    /// The `sometimes` condition is true after step `at`, the first such state.
    Reached { at: usize },
    /// The invariant holds in every state of the trace.
    HoldsThroughout,
    /// The `sometimes` condition is false in every state of the trace.
    NotReached,
    /// A checked liveness counterexample: `p` holds after step `trigger` and `q` is false from
    /// there on; the last step returns to the state after step `loop_start` and the cycle is
    /// weakly fair — or, when `loop_start` is the number of steps, the last state is a dead end.
    Lasso { trigger: usize, loop_start: usize },
    /// The trace does not show the liveness property violated, and why.
    NotShown { why: String },
}

/// A trace of one property, ready to render.
pub struct Counterexample<'a> {
    pub model: &'a ZbsModel,
    pub source: ModelSource,
    pub variant: Variant,
    pub property: Property,
    pub trace: Trace<ZbsState, ZbsAction>,
    pub initial: StateSummary,
    pub steps: Vec<Step>,
    /// For a lasso: the state (0 = initial, k = after step k) the last step returns to.
    pub loop_start: Option<usize>,
    /// What the trace shows, evaluated on its states.
    pub shown: Shown,
}

impl<'a> Counterexample<'a> {
    /// A finite trace of a safety property (or of a liveness property, which it then does not
    /// show violated: that needs [`Counterexample::lasso`]).
    pub fn new(
        model: &'a ZbsModel,
        source: ModelSource,
        variant: Variant,
        property: impl Into<Property>,
        trace: Trace<ZbsState, ZbsAction>,
    ) -> Counterexample<'a> {
        Counterexample::with_loop(model, source, variant, property.into(), trace, None)
    }

    /// A trace whose last step returns to the state after step `loop_start` (a lasso; a dead
    /// end when `loop_start` is the number of steps).
    pub fn with_loop(
        model: &'a ZbsModel,
        source: ModelSource,
        variant: Variant,
        property: Property,
        trace: Trace<ZbsState, ZbsAction>,
        loop_start: Option<usize>,
    ) -> Counterexample<'a> {
        let steps = describe(model, &trace);
        let initial = initial_summary(model, &trace);
        let shown = shown(model, &property, &trace, loop_start);
        Counterexample {
            model,
            source,
            variant,
            property,
            trace,
            initial,
            steps,
            loop_start,
            shown,
        }
    }

    /// The verdict the trace shows, as the JSON trace and ITF `status` write it: `violated`,
    /// `reached`, `holds`, `not_reached` or `not_shown`.
    pub fn verdict_word(&self) -> &'static str {
        match self.shown {
            Shown::Violated { .. } | Shown::Lasso { .. } => "violated",
            Shown::Reached { .. } => "reached",
            Shown::HoldsThroughout => "holds",
            Shown::NotReached => "not_reached",
            Shown::NotShown { .. } => "not_shown",
        }
    }

    /// Whether the trace shows what such a trace is for: a violation, or a `sometimes`
    /// condition reached.
    pub fn shows_something(&self) -> bool {
        matches!(
            self.shown,
            Shown::Violated { .. } | Shown::Lasso { .. } | Shown::Reached { .. }
        )
    }

    /// `counterexample`, `example` (a `sometimes` condition reached) or `trace`.
    pub fn title(&self) -> &'static str {
        match self.shown {
            Shown::Violated { .. } | Shown::Lasso { .. } => "counterexample",
            Shown::Reached { .. } => "example",
            _ => "trace",
        }
    }

    /// The closing line of the text trace and the diagram's last note: what the trace shows,
    /// as computed.
    pub fn end_line(&self) -> String {
        let n = self.steps.len();
        let name = self.property.name;
        match &self.shown {
            Shown::Violated { at } if *at == n => format!("✗ {name} is violated here"),
            Shown::Violated { at: 0 } => format!("✗ {name} is violated in the initial state"),
            Shown::Violated { at } => format!("✗ {name} is violated after step {at}"),
            Shown::Reached { at } if *at == n => format!("✓ {name} is reached here"),
            Shown::Reached { at } => format!("✓ {name} is reached after step {at}"),
            Shown::HoldsThroughout => {
                format!("✓ {name} holds in every state of this trace (it shows no violation)")
            }
            Shown::NotReached => format!("· {name} is not reached on this trace"),
            Shown::Lasso { loop_start, .. } if *loop_start == n => {
                format!("✗ nothing more can happen here, and {name} never came true")
            }
            Shown::Lasso { loop_start, .. } => format!(
                "✗ steps {}–{n} repeat forever (fairly), and {name} never comes true",
                loop_start + 1
            ),
            Shown::NotShown { why } => format!("? this trace does not show {name} violated: {why}"),
        }
    }

    /// Renders the trace in `format`.
    pub fn render(&self, format: TraceFormat) -> String {
        match format {
            TraceFormat::Text => super::text::render_counterexample(self),
            TraceFormat::Json => super::json::render(self),
            TraceFormat::Itf => super::itf::render(self),
            TraceFormat::Mermaid => super::mermaid::render(self),
            TraceFormat::Dot => super::dot::render(self, super::dot::DEFAULT_MAX_NODES),
            TraceFormat::TestPlan => super::test_plan::render(self),
        }
    }
}

/// A safety property by name.
pub fn property_named(name: &str) -> Option<&'static PropertyDef> {
    PROPERTIES.iter().find(|p| p.name == name)
}

/// A liveness property by name.
pub fn liveness_named(name: &str) -> Option<&'static LivenessDef> {
    LIVENESS.iter().find(|l| l.name == name)
}

/// Any property, safety or liveness, by name.
pub fn any_property_named(name: &str) -> Option<Property> {
    property_named(name)
        .map(Property::from)
        .or_else(|| liveness_named(name).map(Property::from))
}

/// Whether `state` is where `property`'s trace ends: an invariant is false, or a `sometimes`
/// condition is true.
pub fn hits(property: &PropertyDef, model: &ZbsModel, state: &ZbsState) -> bool {
    let holds = (property.check)(model, state);
    match property.expectation {
        Expectation::Sometimes => holds,
        _ => !holds,
    }
}

/// Evaluates `property` on the states of `trace`.
fn shown(
    model: &ZbsModel,
    property: &Property,
    trace: &Trace<ZbsState, ZbsAction>,
    loop_start: Option<usize>,
) -> Shown {
    let states: Vec<&ZbsState> = std::iter::once(&*trace.init)
        .chain(trace.steps.iter().map(|(_, s)| &**s))
        .collect();
    match property.subject {
        Subject::Safety(def) => {
            let first = states.iter().position(|s| hits(def, model, s));
            match (def.expectation == Expectation::Sometimes, first) {
                (true, Some(at)) => Shown::Reached { at },
                (true, None) => Shown::NotReached,
                (false, Some(at)) => Shown::Violated { at },
                (false, None) => Shown::HoldsThroughout,
            }
        }
        Subject::Liveness(def) => match check_lasso(model, def, &states, trace, loop_start) {
            Ok((trigger, loop_start)) => Shown::Lasso {
                trigger,
                loop_start,
            },
            Err(why) => Shown::NotShown { why },
        },
    }
}

/// Checks that `states` (with `loop_start`) is a fair lasso violating `def`: the loop closes
/// (or the last state has no successor at all), `q` is false from a `p` state on through the
/// loop, and every weak-fairness class enabled in every state of the cycle is taken in it.
/// Returns the `p` state and the loop start.
fn check_lasso(
    model: &ZbsModel,
    def: &LivenessDef,
    states: &[&ZbsState],
    trace: &Trace<ZbsState, ZbsAction>,
    loop_start: Option<usize>,
) -> Result<(usize, usize), String> {
    use crate::engine::{FairModel, LivenessKind};
    use stateright::Model;
    let n = states.len() - 1;
    let l = loop_start.ok_or("the trace has no loop (a liveness violation is a lasso)")?;
    if l > n {
        return Err(format!(
            "its loop starts at state {l}, after its last state {n}"
        ));
    }
    if l == n {
        if !model.next_steps(states[n]).is_empty() {
            return Err("its last state is not a dead end (something can still happen)".into());
        }
    } else if states[n] != states[l] {
        return Err(format!(
            "its last step does not return to the state after step {l}"
        ));
    }
    let live = (def.property)();
    let (p, q) = match live.kind {
        LivenessKind::Eventually { q } => (None, q),
        LivenessKind::LeadsTo { p, q } => (Some(p), q),
    };
    // The first state from which q stays false to the end (and so forever, round the loop).
    let mut from = n + 1;
    while from > 0 && !q(model, states[from - 1]) {
        from -= 1;
    }
    if from > l {
        return Err(format!("{} comes true inside the loop", def.name));
    }
    let trigger = match p {
        None if from == 0 => 0,
        None => return Err(format!("{} comes true (after step {})", def.name, from - 1)),
        Some(p) => (from..=n)
            .find(|&i| p(model, states[i]))
            .ok_or_else(|| format!("its trigger never holds while {} is false", def.name))?,
    };
    if l < n {
        let cycle_states = &states[l..n];
        let enabled = |s: &ZbsState| -> std::collections::BTreeSet<u8> {
            model
                .next_steps(s)
                .iter()
                .filter_map(|(a, _)| model.fairness(a).map(|c| c.0))
                .collect()
        };
        let mut always_enabled = enabled(cycle_states[0]);
        for s in &cycle_states[1..] {
            let e = enabled(s);
            always_enabled.retain(|c| e.contains(c));
        }
        let taken: std::collections::BTreeSet<u8> = trace.steps[l..n]
            .iter()
            .filter_map(|(a, _)| model.fairness(a).map(|c| c.0))
            .collect();
        if let Some(c) = always_enabled.iter().find(|c| !taken.contains(c)) {
            return Err(format!(
                "its cycle is not fair: fairness class {c} is enabled throughout and never taken"
            ));
        }
    }
    Ok((trigger, l))
}

/// FNV-1a (64 bit) of a model file's text, as `fnv1a64:<16 hex digits>`: enough to notice
/// that a replay runs against a different model file than the trace was made from.
pub fn content_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_file_names() {
        let f = |p: &str| TraceFormat::from_path(std::path::Path::new(p));
        assert_eq!(f("a/b.itf.json"), Some(TraceFormat::Itf));
        assert_eq!(f("b.json"), Some(TraceFormat::Json));
        assert_eq!(f("b.mmd"), Some(TraceFormat::Mermaid));
        assert_eq!(f("b.dot"), Some(TraceFormat::Dot));
        assert_eq!(f("b.txt"), Some(TraceFormat::Text));
        assert_eq!(f("b"), None);
    }

    #[test]
    fn content_hash_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(content_hash(""), "fnv1a64:cbf29ce484222325");
        assert_eq!(content_hash("a"), "fnv1a64:af63dc4c8601ec8c");
    }
}
