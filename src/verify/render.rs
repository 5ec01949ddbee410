//! Renderings of a [`Matrix`] and of a [`Changed`]: the text table a terminal shows, the
//! Markdown of `reports/verify.md`, JSON for tools, JUnit XML for CI systems (one test case
//! per cell; the counterexample in the failure body).

use super::coverage::Action;
use super::{
    Cell, Change, Changed, Matrix, ModelResult, RunResult, Status, expected_word, trace_path,
};
use serde_json::{Value, json};
use std::fmt::Write;
use std::path::Path;

/// A cell as the matrix shows it: `holds`, `violated (5 steps)`, `unknown (timeout)`.
pub fn cell_text(run: &RunResult, c: &Cell) -> String {
    match (c.word(), c.steps) {
        ("violated", Some(n)) => format!("violated ({n} steps)"),
        ("violated", None) if c.kind == "sometimes" => "violated (never reached)".to_string(),
        ("unknown", _) => format!("unknown ({})", run.limit()),
        ("skipped", _) => "skipped".to_string(),
        (w, _) => w.to_string(),
    }
}

/// The mark before a cell: `✗` a mismatch, `·` no expected verdict, `?` undecided.
fn mark(c: &Cell) -> &'static str {
    match c.status() {
        Status::AsExpected => " ",
        Status::Mismatch => "✗",
        Status::Unstated => "·",
        Status::Undecided => "?",
    }
}

/// The properties of a model's rows, in the order the runs report them.
fn properties(m: &ModelResult) -> Vec<(&'static str, &'static str)> {
    let mut props: Vec<(&'static str, &'static str)> = Vec::new();
    for r in &m.runs {
        for c in &r.cells {
            if !props.iter().any(|(p, _)| *p == c.property) {
                props.push((c.property, c.kind));
            }
        }
    }
    props
}

/// What went wrong with a cell, in one line (empty when nothing did).
pub fn problem(run: &RunResult, c: &Cell) -> Option<String> {
    let found = cell_text(run, c);
    match c.status() {
        Status::Mismatch => Some(match (c.skipped, c.expected) {
            (Some(why), Some(e)) => format!(
                "expected {} but it is not checked on this model ({why})",
                expected_word(e)
            ),
            (_, Some(e)) => format!("expected {}, found {found}", expected_word(e)),
            (_, None) => format!("found {found}"),
        }),
        Status::Undecided => Some(format!(
            "undecided: the {} limit stopped exploration after {} states",
            run.limit(),
            run.states
        )),
        Status::AsExpected | Status::Unstated => None,
    }
}

fn summary_line(m: &Matrix) -> String {
    let cells = m.cells().count();
    format!(
        "{} models, {} runs, {cells} cells: {} as expected, {} without an expected verdict, {} mismatched, {} undecided",
        m.models.len(),
        m.runs().count(),
        m.count(Status::AsExpected),
        m.count(Status::Unstated),
        m.count(Status::Mismatch),
        m.count(Status::Undecided),
    )
}

fn never_fired_line(m: &Matrix) -> String {
    let dead = m.never_fired();
    if dead.is_empty() {
        format!("every one of the {} actions fired", Action::ALL.len())
    } else {
        format!(
            "{} of {} actions never fired in any model (a dead rule, or a scenario missing): {}",
            dead.len(),
            Action::ALL.len(),
            dead.iter().map(|a| a.name()).collect::<Vec<_>>().join("; ")
        )
    }
}

/// The terminal rendering.
pub fn text(m: &Matrix) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "zbs-mc verify: {} models, {} runs on {} threads, {:.2} s",
        m.models.len(),
        m.runs().count(),
        m.parallel,
        m.seconds
    );
    let _ = writeln!(
        s,
        "cells: verdict as expected; ✗ not the expected verdict; · no expected verdict in the model file; ? undecided"
    );
    for model in &m.models {
        let _ = writeln!(s, "\n{}  ({})", model.name, model.file);
        let lw = model
            .runs
            .iter()
            .map(|r| r.label.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let _ = writeln!(
            s,
            "  {:>3}  {:<lw$}  {:>9}  {:>8}",
            "#", "variant", "states", "seconds"
        );
        for (i, r) in model.runs.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {:>3}  {:<lw$}  {:>9}  {:>8.2}{}",
                i + 1,
                r.label,
                r.states,
                r.seconds,
                if r.complete {
                    ""
                } else {
                    "  (stopped by a limit)"
                }
            );
        }
        let props = properties(model);
        let pw = props.iter().map(|(p, _)| p.len()).max().unwrap_or(8).max(8) + 11;
        let widths: Vec<usize> = model
            .runs
            .iter()
            .map(|r| {
                r.cells
                    .iter()
                    .map(|c| cell_text(r, c).chars().count() + 2)
                    .max()
                    .unwrap_or(0)
                    .max(4)
            })
            .collect();
        let _ = write!(s, "\n  {:<pw$}", "property");
        for (i, w) in widths.iter().enumerate() {
            let _ = write!(s, "  {:<w$}", i + 1);
        }
        let _ = writeln!(s);
        for (p, kind) in &props {
            let name = if *kind == "always" {
                p.to_string()
            } else {
                format!("{p} ({kind})")
            };
            let _ = write!(s, "  {name:<pw$}");
            for (r, w) in model.runs.iter().zip(&widths) {
                let text = match r.cell(p) {
                    Some(c) => format!("{} {}", mark(c), cell_text(r, c)),
                    None => "  -".to_string(),
                };
                let _ = write!(s, "  {text:<w$}");
            }
            let _ = writeln!(s);
        }
        for (i, r) in model.runs.iter().enumerate() {
            for c in &r.cells {
                if let Some(why) = problem(r, c) {
                    let _ = writeln!(
                        s,
                        "  {} {} [{}] {}: {why}",
                        mark(c),
                        i + 1,
                        r.label,
                        c.property
                    );
                }
            }
        }
    }
    let _ = writeln!(s, "\nresult: {}", summary_line(m));
    let _ = writeln!(s, "coverage: {}", never_fired_line(m));
    s
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The Markdown rendering (`verify.md`, `reports/verify.md`).
pub fn markdown(m: &Matrix) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# zbs-mc verify: the fix matrix\n");
    let _ = writeln!(
        s,
        "Generated by `zbs-mc verify`: every model file × every variant combination its \
         `[expected.*]` tables name × every property it checks, each combination explored once \
         (safety and liveness together). {} models, {} runs on {} threads, {:.2} s.\n",
        m.models.len(),
        m.runs().count(),
        m.parallel,
        m.seconds
    );
    let _ = writeln!(s, "**{}.**\n", summary_line(m));
    let _ = writeln!(
        s,
        "A cell is the verdict exploration found; `✗` marks one that is not the verdict the \
         model file expects, `·` one the file states no verdict for (shown, not compared), `?` \
         one a limit left undecided. `violated (n steps)` is the length of the shortest \
         counterexample (for liveness: prefix and cycle); a `sometimes` companion is `holds` \
         when reached.\n"
    );
    for model in &m.models {
        let _ = writeln!(s, "## {}\n", model.name);
        let _ = write!(s, "`{}`", model.file);
        if let Some(list) = &model.properties {
            let _ = write!(s, " — checks only: {}", list.join(", "));
        }
        let _ = writeln!(s, "\n");
        let _ = writeln!(s, "| variant | states | seconds |");
        let _ = writeln!(s, "|---|---:|---:|");
        for r in &model.runs {
            let _ = writeln!(
                s,
                "| `{}` | {} | {:.2} |",
                md_escape(&r.label),
                r.states,
                r.seconds
            );
        }
        let _ = writeln!(s);
        let _ = write!(s, "| property |");
        for r in &model.runs {
            let _ = write!(s, " `{}` |", md_escape(&r.label));
        }
        let _ = write!(s, "\n|---|");
        for _ in &model.runs {
            let _ = write!(s, "---|");
        }
        let _ = writeln!(s);
        for (p, kind) in properties(model) {
            let _ = write!(
                s,
                "| `{p}`{} |",
                if kind == "always" {
                    String::new()
                } else {
                    format!(" ({kind})")
                }
            );
            for r in &model.runs {
                match r.cell(p) {
                    Some(c) => {
                        let m = mark(c).trim();
                        let _ = write!(
                            s,
                            " {}{} |",
                            if m.is_empty() {
                                String::new()
                            } else {
                                format!("{m} ")
                            },
                            cell_text(r, c)
                        );
                    }
                    None => {
                        let _ = write!(s, " – |");
                    }
                }
            }
            let _ = writeln!(s);
        }
        let problems: Vec<String> = model
            .runs
            .iter()
            .flat_map(|r| {
                r.cells.iter().filter_map(move |c| {
                    problem(r, c)
                        .map(|why| format!("- {} `{}` `{}`: {why}", mark(c), r.label, c.property))
                })
            })
            .collect();
        if !problems.is_empty() {
            let _ = writeln!(s, "\n{}", problems.join("\n"));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Action coverage\n");
    let _ = writeln!(
        s,
        "How many explored transitions fired each action, added over the runs of each model \
         (an action counts once per transition it fires in). {}.\n",
        never_fired_line(m)
    );
    let _ = write!(s, "| action |");
    for model in &m.models {
        let _ = write!(s, " {} |", model.name);
    }
    let _ = write!(s, "\n|---|");
    for _ in &m.models {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s);
    for a in Action::ALL {
        let _ = write!(s, "| `{}` |", a.name());
        for model in &m.models {
            let n: u64 = model.runs.iter().map(|r| r.coverage.count(*a)).sum();
            let _ = write!(
                s,
                " {} |",
                if n == 0 {
                    "–".to_string()
                } else {
                    n.to_string()
                }
            );
        }
        let _ = writeln!(s);
    }
    s
}

fn run_json(r: &RunResult, out: Option<(&Path, &str)>) -> Value {
    let cells: Vec<Value> = r
        .cells
        .iter()
        .map(|c| {
            let trace_file = out
                .filter(|_| c.trace_text.is_some())
                .map(|(dir, model)| trace_path(dir, model, &r.label, c).display().to_string());
            json!({
                "property": c.property,
                "kind": c.kind,
                "verdict": c.word(),
                "steps": c.steps,
                "expected": c.expected.map(expected_word),
                "status": c.status(),
                "skipped_because": c.skipped,
                "trace_file": trace_file,
            })
        })
        .collect();
    let coverage: serde_json::Map<String, Value> = r
        .coverage
        .rows()
        .map(|(a, n)| (a.name().to_string(), json!(n)))
        .collect();
    json!({
        "label": r.label,
        "variant": r.variant.to_map(),
        "states": r.states,
        "seconds": r.seconds,
        "complete": r.complete,
        "stopped_by": r.stopped_by.map(|s| format!("{s:?}")),
        "cells": cells,
        "coverage": coverage,
        "transitions": r.coverage.transitions,
    })
}

/// The JSON rendering; with `out`, cells name the trace files `--out` writes.
pub fn json(m: &Matrix, out: Option<&Path>) -> String {
    let models: Vec<Value> = m
        .models
        .iter()
        .map(|model| {
            json!({
                "name": model.name,
                "file": model.file,
                "properties": model.properties,
                "runs": model.runs.iter().map(|r| run_json(r, out.map(|d| (d, model.name.as_str())))).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "tool": "zbs-mc verify",
        "models": models,
        "parallel": m.parallel,
        "seconds": m.seconds,
        "summary": {
            "runs": m.runs().count(),
            "cells": m.cells().count(),
            "as_expected": m.count(Status::AsExpected),
            "unstated": m.count(Status::Unstated),
            "mismatched": m.count(Status::Mismatch),
            "undecided": m.count(Status::Undecided),
        },
        "never_fired": m.never_fired().iter().map(|a| a.name()).collect::<Vec<_>>(),
        "exit_code": m.exit_code(),
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("plain values");
    s.push('\n');
    s
}

/// Text as XML character data or an attribute value: the five special characters escaped,
/// characters XML 1.0 does not allow dropped.
pub fn xml_escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            '\t' | '\n' | '\r' => s.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => s.push(c),
        }
    }
    s
}

/// One JUnit test case.
struct Case {
    name: String,
    classname: String,
    seconds: f64,
    /// `(type, message, body)` of a failure or an error.
    failure: Option<(&'static str, String, String)>,
    error: Option<(&'static str, String, String)>,
    system_out: Option<String>,
}

fn suites_xml(name: &str, suites: &[(String, String, Vec<Case>)], seconds: f64) -> String {
    let tests: usize = suites.iter().map(|(_, _, c)| c.len()).sum();
    let count = |f: fn(&Case) -> bool| -> usize {
        suites
            .iter()
            .flat_map(|(_, _, c)| c)
            .filter(|c| f(c))
            .count()
    };
    let failures = count(|c| c.failure.is_some());
    let errors = count(|c| c.error.is_some());
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">",
        xml_escape(name)
    );
    for (suite, file, cases) in suites {
        let f = cases.iter().filter(|c| c.failure.is_some()).count();
        let e = cases.iter().filter(|c| c.error.is_some()).count();
        let t: f64 = cases.iter().map(|c| c.seconds).sum();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"{e}\" skipped=\"0\" time=\"{t:.3}\">",
            xml_escape(suite),
            cases.len()
        );
        let _ = writeln!(
            s,
            "    <properties>\n      <property name=\"file\" value=\"{}\"/>\n    </properties>",
            xml_escape(file)
        );
        for c in cases {
            let _ = write!(
                s,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                xml_escape(&c.name),
                xml_escape(&c.classname),
                c.seconds
            );
            if c.failure.is_none() && c.error.is_none() && c.system_out.is_none() {
                let _ = writeln!(s, "/>");
                continue;
            }
            let _ = writeln!(s, ">");
            for (tag, item) in [("failure", &c.failure), ("error", &c.error)] {
                if let Some((ty, msg, body)) = item {
                    let _ = writeln!(
                        s,
                        "      <{tag} type=\"{ty}\" message=\"{}\">{}</{tag}>",
                        xml_escape(msg),
                        xml_escape(body)
                    );
                }
            }
            if let Some(out) = &c.system_out {
                let _ = writeln!(s, "      <system-out>{}</system-out>", xml_escape(out));
            }
            let _ = writeln!(s, "    </testcase>");
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    let _ = writeln!(s, "</testsuites>");
    s
}

/// The JUnit XML rendering: a test suite per model, a test case per cell (`[variant]
/// property`); a mismatch is a failure whose body is the counterexample (or why there is
/// none), an undecided cell an error. The `time` of a case is its run's time divided among
/// the run's cells.
pub fn junit(m: &Matrix, out: Option<&Path>) -> String {
    let suites: Vec<(String, String, Vec<Case>)> = m
        .models
        .iter()
        .map(|model| {
            let cases = model
                .runs
                .iter()
                .flat_map(|r| {
                    r.cells.iter().map(move |c| {
                        let name = format!("[{}] {}", r.label, c.property);
                        let why = problem(r, c).unwrap_or_default();
                        let trace_file = out
                            .filter(|_| c.trace_text.is_some())
                            .map(|d| trace_path(d, &model.name, &r.label, c));
                        let body = match &c.trace_text {
                            Some(t) => format!(
                                "{why}\n\n{} under {}: counterexample ({} steps{}):\n{t}",
                                c.property,
                                r.label,
                                c.steps.unwrap_or(0),
                                trace_file
                                    .as_ref()
                                    .map_or(String::new(), |p| format!(", saved as {}", p.display()))
                            ),
                            None => format!(
                                "{why}\n\n{} under {}: no counterexample — no reachable state of the {} \
                                 explored violates it",
                                c.property, r.label, r.states
                            ),
                        };
                        let (failure, error) = match c.status() {
                            Status::Mismatch => (Some(("mismatch", why, body)), None),
                            Status::Undecided => (None, Some(("undecided", why.clone(), why))),
                            Status::AsExpected | Status::Unstated => (None, None),
                        };
                        let system_out = match c.status() {
                            Status::Unstated => Some(format!(
                                "{} (the model file states no expected verdict)",
                                cell_text(r, c)
                            )),
                            _ => trace_file
                                .filter(|_| failure.is_none())
                                .map(|p| format!("{}; trace: {}", cell_text(r, c), p.display())),
                        };
                        Case {
                            name,
                            classname: format!("zbs-mc.verify.{}", model.name),
                            // The run's time shared out among its cells, so that a suite
                            // adds up to the time of its runs.
                            seconds: r.seconds / r.cells.len().max(1) as f64,
                            failure,
                            error,
                            system_out,
                        }
                    })
                })
                .collect();
            (model.name.clone(), model.file.clone(), cases)
        })
        .collect();
    suites_xml("zbs-mc verify", &suites, m.seconds)
}

fn change_word(c: Change) -> &'static str {
    match c {
        Change::Fixed => "fixed",
        Change::Regressed => "regressed",
        Change::UnchangedViolated => "unchanged-violated",
        Change::Undecided => "undecided",
    }
}

fn changed_line(base: &RunResult, after: &RunResult, c: &super::ChangedCell) -> String {
    format!(
        "{:<19} {}{}: {} → {}",
        change_word(c.change),
        c.property,
        if c.kind == "always" {
            String::new()
        } else {
            format!(" ({})", c.kind)
        },
        cell_text(base, &c.before),
        cell_text(after, &c.after)
    )
}

/// `--changed` as text: per model, only what changed (and what stayed violated).
pub fn changed_text(ch: &Changed) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "zbs-mc verify --changed {}: {} models, {} runs on {} threads, {:.2} s",
        ch.assignment,
        ch.models.len(),
        ch.models
            .iter()
            .map(|m| 1 + usize::from(m.after.is_some()))
            .sum::<usize>(),
        ch.parallel,
        ch.seconds
    );
    for m in &ch.models {
        let _ = writeln!(s, "\n{}  ({})", m.name, m.file);
        let Some(after) = &m.after else {
            let _ = writeln!(
                s,
                "  its variant ({}) already has {}: nothing to compare",
                m.base.label, ch.assignment
            );
            continue;
        };
        let _ = writeln!(
            s,
            "  {} ({} states) → {} ({} states)",
            m.base.label, m.base.states, after.label, after.states
        );
        if m.cells.is_empty() {
            let _ = writeln!(s, "  no verdict changed, nothing violated");
        }
        for c in &m.cells {
            let _ = writeln!(s, "  {}", changed_line(&m.base, after, c));
        }
    }
    let _ = writeln!(
        s,
        "\nresult: {} fixed, {} regressed, {} unchanged-violated, {} undecided",
        ch.count(Change::Fixed),
        ch.count(Change::Regressed),
        ch.count(Change::UnchangedViolated),
        ch.count(Change::Undecided)
    );
    s
}

/// `--changed` as Markdown.
pub fn changed_markdown(ch: &Changed) -> String {
    let mut s = format!("# zbs-mc verify --changed `{}`\n\n", ch.assignment);
    let _ = writeln!(s, "| model | property | change | before | after |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for m in &ch.models {
        let Some(after) = &m.after else { continue };
        for c in &m.cells {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} (`{}`) | {} (`{}`) |",
                m.name,
                c.property,
                change_word(c.change),
                cell_text(&m.base, &c.before),
                md_escape(&m.base.label),
                cell_text(after, &c.after),
                md_escape(&after.label)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{} fixed, {} regressed, {} unchanged-violated, {} undecided.",
        ch.count(Change::Fixed),
        ch.count(Change::Regressed),
        ch.count(Change::UnchangedViolated),
        ch.count(Change::Undecided)
    );
    s
}

/// `--changed` as JSON.
pub fn changed_json(ch: &Changed) -> String {
    let models: Vec<Value> = ch
        .models
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "file": m.file,
                "before": m.base.label,
                "after": m.after.as_ref().map(|a| a.label.clone()),
                "states_before": m.base.states,
                "states_after": m.after.as_ref().map(|a| a.states),
                "changes": m.cells.iter().map(|c| json!({
                    "property": c.property,
                    "kind": c.kind,
                    "change": c.change,
                    "before": c.before.word(),
                    "after": c.after.word(),
                    "steps_before": c.before.steps,
                    "steps_after": c.after.steps,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "tool": "zbs-mc verify --changed",
        "changed": ch.assignment,
        "models": models,
        "parallel": ch.parallel,
        "seconds": ch.seconds,
        "summary": {
            "fixed": ch.count(Change::Fixed),
            "regressed": ch.count(Change::Regressed),
            "unchanged_violated": ch.count(Change::UnchangedViolated),
            "undecided": ch.count(Change::Undecided),
        },
        "exit_code": ch.exit_code(),
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("plain values");
    s.push('\n');
    s
}

/// `--changed` as JUnit XML: a case per reported property; a regression is a failure (its
/// counterexample in the body), an undecided one an error.
pub fn changed_junit(ch: &Changed) -> String {
    let suites: Vec<(String, String, Vec<Case>)> = ch
        .models
        .iter()
        .filter_map(|m| {
            let after = m.after.as_ref()?;
            let cases = m
                .cells
                .iter()
                .map(|c| {
                    let line = changed_line(&m.base, after, c);
                    let body = format!("{line}\n\n{}", c.after.trace_text.as_deref().unwrap_or(""));
                    Case {
                        name: format!("[{}] {}", after.label, c.property),
                        classname: format!("zbs-mc.verify.changed.{}", m.name),
                        seconds: (m.base.seconds + after.seconds) / m.cells.len().max(1) as f64,
                        failure: (c.change == Change::Regressed)
                            .then(|| ("regressed", line.clone(), body)),
                        error: (c.change == Change::Undecided)
                            .then(|| ("undecided", line.clone(), line.clone())),
                        system_out: matches!(c.change, Change::Fixed | Change::UnchangedViolated)
                            .then(|| line.clone()),
                    }
                })
                .collect();
            Some((m.name.clone(), m.file.clone(), cases))
        })
        .collect();
    suites_xml(
        &format!("zbs-mc verify --changed {}", ch.assignment),
        &suites,
        ch.seconds,
    )
}
