//! The printers of a [`CheckReport`]: `check`'s text and `--format json` output (the HTML
//! report is `crate::report`). They only format the typed result; nothing here decides a
//! verdict.

use super::{CheckReport, Kind, Status};
use crate::engine::StopReason;
use std::fmt::Write;

/// `check --format json`: the report, serialised (schema `zbs-mc/check/1`).
pub fn json(report: &CheckReport) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("JSON of plain values");
    s.push('\n');
    s
}

/// `check`'s text output: header, one line per property, warnings, counterexamples.
pub fn text(report: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "model:    {} ({})", report.model, report.file);
    let mut variant = crate::domain::variant::Variant::default();
    for (name, option) in &report.variant {
        // The report was made from a valid variant: every switch is known.
        let _ = variant.set(name, option);
    }
    let _ = writeln!(out, "variant:  {variant}");
    let _ = writeln!(
        out,
        "explored: {} states, depth {}, {:.2} s{}{}",
        report.states,
        report.max_depth,
        report.seconds,
        report
            .liveness_seconds
            .map_or(String::new(), |s| format!(" + {s:.2} s liveness")),
        match report.stopped_by {
            None => " (complete)".to_string(),
            Some(StopReason::Decided) =>
                " (stopped early: every property decided; not every state was explored)".to_string(),
            Some(s) => format!(" (stopped: {s:?} limit; not every state was explored)"),
        }
    );
    if let Some(sym) = &report.symmetry {
        let _ = writeln!(out, "symmetry: {}", sym.describe());
    }
    let _ = writeln!(out);
    for p in &report.properties {
        let kind = if p.kind == Kind::Liveness {
            " (liveness)"
        } else {
            ""
        };
        let note = match (&p.skipped_because, p.as_expected, p.expected) {
            (Some(why), _, _) => format!(" ({why})"),
            (None, Some(false), Some(e)) => {
                format!(
                    "   ≠ model file expects {}",
                    format!("{e:?}").to_lowercase()
                )
            }
            _ => String::new(),
        };
        let _ = writeln!(out, "  {:<32} {}{kind}{note}", p.name, p.verdict.text());
    }
    for p in report
        .properties
        .iter()
        .filter(|p| p.verdict == Status::NotReached)
    {
        let guards = p.companion_of.as_deref().unwrap_or("its invariant");
        let _ = writeln!(
            out,
            "  warning: {} was never reached, so {guards} may hold vacuously in this model",
            p.name
        );
    }
    for p in &report.properties {
        let (Some(steps), Some(initial)) = (&p.trace, &p.initial) else {
            continue;
        };
        let n = steps.len();
        let what = match p.loop_start {
            None => "shortest",
            Some(_) => "prefix then a fair cycle, or a dead end",
        };
        let _ = write!(
            out,
            "\ncounterexample for {} ({n} steps, {what}):\n{}",
            p.name,
            crate::trace::text::render(initial, steps)
        );
        match p.loop_start {
            None => {
                let _ = writeln!(out, "    ✗ {} is violated here", p.name);
            }
            Some(start) if start == n => {
                let _ = writeln!(
                    out,
                    "    ✗ nothing more can happen here, and {} never came true",
                    p.name
                );
            }
            Some(start) => {
                let _ = writeln!(
                    out,
                    "    ✗ steps {}–{} repeat forever (fairly), and {} never comes true",
                    start + 1,
                    n,
                    p.name
                );
            }
        }
    }
    out
}
