//! One counterexample with everything a renderer needs: the model it came from (file, text,
//! variant), the property, the engine trace and its described steps.

use super::{StateSummary, Step, ZbsAction, describe, initial_summary};
use crate::actors::model::{ZbsModel, ZbsState};
use crate::domain::variant::Variant;
use crate::engine::Trace;
use crate::properties::{PROPERTIES, PropertyDef};
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
    /// A Mermaid sequence diagram (meta, chunk sessions, operator, client): the raw source
    /// Mermaid's CLI and editor take (`.mmd`).
    Mermaid,
    /// A Markdown page with the Mermaid diagram in a fenced block, for GitHub and Markdown
    /// viewers (`.md`).
    Markdown,
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
        } else if name.ends_with(".mmd") || name.ends_with(".mermaid") {
            TraceFormat::Mermaid
        } else if name.ends_with(".md") || name.ends_with(".markdown") {
            TraceFormat::Markdown
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

/// A trace of one property, ready to render.
pub struct Counterexample<'a> {
    pub model: &'a ZbsModel,
    pub source: ModelSource,
    pub variant: Variant,
    pub property: &'static PropertyDef,
    pub trace: Trace<ZbsState, ZbsAction>,
    pub initial: StateSummary,
    pub steps: Vec<Step>,
}

impl<'a> Counterexample<'a> {
    pub fn new(
        model: &'a ZbsModel,
        source: ModelSource,
        variant: Variant,
        property: &'static PropertyDef,
        trace: Trace<ZbsState, ZbsAction>,
    ) -> Counterexample<'a> {
        let steps = describe(model, &trace);
        let initial = initial_summary(model, &trace);
        Counterexample {
            model,
            source,
            variant,
            property,
            trace,
            initial,
            steps,
        }
    }

    /// `violated` for an invariant's counterexample, `reached` for a `sometimes` example.
    pub fn verdict_word(&self) -> &'static str {
        match self.property.expectation {
            Expectation::Sometimes => "reached",
            _ => "violated",
        }
    }

    /// Renders the trace in `format`.
    pub fn render(&self, format: TraceFormat) -> String {
        match format {
            TraceFormat::Text => super::text::render_counterexample(self),
            TraceFormat::Json => super::json::render(self),
            TraceFormat::Itf => super::itf::render(self),
            TraceFormat::Mermaid => super::mermaid::render(self),
            TraceFormat::Markdown => super::mermaid::render_markdown(self),
            TraceFormat::Dot => super::dot::render(self, super::dot::DEFAULT_MAX_NODES),
            TraceFormat::TestPlan => super::test_plan::render(self),
        }
    }
}

/// A property by name.
pub fn property_named(name: &str) -> Option<&'static PropertyDef> {
    PROPERTIES.iter().find(|p| p.name == name)
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
        assert_eq!(f("b.md"), Some(TraceFormat::Markdown));
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
