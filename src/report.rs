//! `check --report FILE.html`: one self-contained HTML file (no script or style from the
//! network): the verdict table, each counterexample as a sequence diagram (inline SVG) and a
//! step table with the state changes, a step-through view of the meta tables after every
//! step, the exploration statistics, the variant and the model file.

use crate::actors::model::ZbsModel;
use crate::domain::variant::{SWITCHES, Variant};
use crate::engine::{Outcome, Verdict};
use crate::scenario::ExpectedVerdict;
use crate::trace::counterexample::{Counterexample, ModelSource, property_named};
use crate::trace::html::{CSS, state_tables};
use crate::trace::svg::{self, esc};
use crate::trace::{sequence, text};
use stateright::Expectation;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Switches between the step panels of one counterexample.
const SCRIPT: &str = r#"
function showStep(trace, k) {
  document.querySelectorAll('.state[data-trace="' + trace + '"]').forEach(function (p) {
    p.classList.toggle('shown', p.dataset.step === String(k));
  });
  document.querySelectorAll('button.step[data-trace="' + trace + '"]').forEach(function (b) {
    b.classList.toggle('current', b.dataset.step === String(k));
  });
  document.querySelectorAll('tr.steprow[data-trace="' + trace + '"]').forEach(function (r) {
    r.classList.toggle('current', r.dataset.step === String(k));
  });
}
document.addEventListener('click', function (e) {
  var t = e.target.closest('[data-step]');
  if (t && (t.matches('button.step') || t.matches('tr.steprow'))) {
    showStep(t.dataset.trace, t.dataset.step);
  }
});
"#;

const REPORT_CSS: &str = r#"
.state{display:none;border:1px solid #ccd;padding:.3em .8em;margin:.5em 0}
.state.shown{display:block}
button.step.current{background:#1f4fd1;color:#fff}
tr.steprow{cursor:pointer} tr.steprow.current td{background:#e8eefc}
tr.bad td{background:#ffe1e1}
pre.model{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}
"#;

fn verdict_cell(v: Verdict, e: &Expectation) -> (&'static str, &'static str) {
    match (v, e) {
        (Verdict::Holds, Expectation::Sometimes) => ("holds (reached)", "ok"),
        (Verdict::Violated, Expectation::Sometimes) => ("VIOLATED (never reached)", "bad"),
        (Verdict::Holds, _) => ("holds", "ok"),
        (Verdict::Violated, _) => ("VIOLATED", "bad"),
        (Verdict::Unknown, _) => ("unknown", "muted"),
    }
}

/// One counterexample's section.
fn trace_section(out: &mut String, cx: &Counterexample, t: usize) {
    let _ = write!(
        out,
        "<h2 id=\"trace-{t}\">Counterexample: {} ({} steps, shortest)</h2>",
        esc(cx.property.name),
        cx.steps.len()
    );
    let _ = write!(
        out,
        "<p>{}</p><h3>sequence diagram</h3><div class=\"seqbox\">{}</div>",
        esc(cx.property.doc),
        svg::render(&sequence::of_counterexample(cx))
    );
    // Step table.
    let _ = write!(
        out,
        "<h3>steps</h3><table class=\"steps\"><tr><th>#</th><th>actor</th><th>action</th><th>log</th><th>state changes</th></tr>"
    );
    let mut before = &cx.initial;
    let last = cx.steps.len();
    for step in &cx.steps {
        let changes = text::changed(before, &step.state);
        let _ = write!(
            out,
            "<tr class=\"steprow{}\" data-trace=\"{t}\" data-step=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            if step.index == last { " bad" } else { "" },
            step.index,
            step.index,
            esc(&step.actor),
            esc(&step.action),
            step.log
                .iter()
                .map(|l| esc(l))
                .collect::<Vec<_>>()
                .join("<br>"),
            changes
                .iter()
                .map(|c| esc(c))
                .collect::<Vec<_>>()
                .join("<br>")
        );
        before = &step.state;
    }
    out.push_str("</table>");
    // Step-through view.
    let _ = write!(
        out,
        "<h3>state after each step</h3><p>Click a step (here or in the table above) to see the meta tables after it.</p><div class=\"stepbar\"><button class=\"step\" data-trace=\"{t}\" data-step=\"0\">initial</button>"
    );
    for step in &cx.steps {
        let _ = write!(
            out,
            "<button class=\"step{}\" data-trace=\"{t}\" data-step=\"{}\">step {}</button>",
            if step.index == last { " current" } else { "" },
            step.index,
            step.index
        );
    }
    out.push_str("</div>");
    let mut states = vec![&cx.trace.init];
    states.extend(cx.trace.steps.iter().map(|(_, s)| s));
    for (k, s) in states.iter().enumerate() {
        let title = match k {
            0 => "initial state".to_string(),
            k => format!(
                "after step {k}: [{}] {}",
                cx.steps[k - 1].actor,
                cx.steps[k - 1].action
            ),
        };
        let _ = write!(
            out,
            "<div class=\"state{}\" data-trace=\"{t}\" data-step=\"{k}\"><h3>{}</h3>{}</div>",
            if k == last { " shown" } else { "" },
            esc(&title),
            state_tables(cx.model, s)
        );
    }
}

/// The whole report.
pub fn render(
    model: &ZbsModel,
    source: &ModelSource,
    variant: &Variant,
    outcome: &Outcome<ZbsModel>,
    liveness: &[&crate::verdicts::Finding],
    expected: Option<&BTreeMap<String, ExpectedVerdict>>,
) -> String {
    let mut out = String::new();
    let title = format!("zbs-mc report — {} ({})", source.name, variant);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}{REPORT_CSS}</style></head><body><h1>{}</h1>",
        esc(&title),
        esc(&title)
    );
    let _ = write!(
        out,
        "<p>model file <code>{}</code> · variant <b>{}</b></p>",
        esc(&source.file),
        esc(&variant.to_string())
    );
    // Verdicts.
    out.push_str("<h2>Verdicts</h2><table class=\"verdicts\"><tr><th>property</th><th>kind</th><th>verdict</th><th>model file expects</th></tr>");
    for p in &outcome.properties {
        let (word, class) = verdict_cell(p.verdict, &p.expectation);
        let exp = expected
            .and_then(|e| e.get(p.name))
            .map_or("—".to_string(), |e| format!("{e:?}").to_lowercase());
        let link = if p.verdict == Verdict::Violated && p.trace.is_some() {
            format!("<a href=\"#{}\">{}</a>", p.name, esc(p.name))
        } else {
            esc(p.name)
        };
        let _ = write!(
            out,
            "<tr><td>{link}</td><td>{}</td><td class=\"{class}\">{word}</td><td>{exp}</td></tr>",
            format!("{:?}", p.expectation).to_lowercase()
        );
    }
    // Liveness, under weak fairness (its lasso is printed by `zbs-mc check`).
    for f in liveness {
        let (word, class) = match (f.skipped, f.verdict) {
            (Some(why), _) => (format!("skipped: {why}"), "muted"),
            (None, Verdict::Holds) => ("holds".to_string(), "holds"),
            (None, Verdict::Violated) => ("VIOLATED".to_string(), "violated"),
            (None, Verdict::Unknown) => ("unknown".to_string(), "muted"),
        };
        let exp = expected
            .and_then(|e| e.get(f.name))
            .map_or("—".to_string(), |e| format!("{e:?}").to_lowercase());
        let _ = write!(
            out,
            "<tr><td>{}</td><td>liveness</td><td class=\"{class}\">{}</td><td>{exp}</td></tr>",
            esc(f.name),
            esc(&word)
        );
    }
    out.push_str("</table>");
    // Statistics.
    let _ = write!(
        out,
        "<h2>Statistics</h2><table class=\"stats\"><tr><td>distinct states</td><td>{}</td></tr><tr><td>max depth</td><td>{}</td></tr><tr><td>seconds</td><td>{:.3}</td></tr><tr><td>complete</td><td>{}</td></tr></table>",
        outcome.unique_states,
        outcome.max_depth,
        outcome.seconds,
        match outcome.stopped_by {
            None => "yes: every reachable state was explored".to_string(),
            Some(r) => format!("no: stopped by the {r:?} limit"),
        }
    );
    // Counterexamples.
    let mut t = 0;
    for p in &outcome.properties {
        let (Verdict::Violated, Some(trace)) = (p.verdict, &p.trace) else {
            continue;
        };
        let Some(def) = property_named(p.name) else {
            continue;
        };
        let cx = Counterexample::new(model, source.clone(), variant.clone(), def, trace.clone());
        let _ = write!(out, "<a id=\"{}\"></a>", p.name);
        trace_section(&mut out, &cx, t);
        t += 1;
    }
    if t == 0 {
        out.push_str("<h2>Counterexamples</h2><p class=\"ok\">None: no invariant is violated.</p>");
    }
    // Variant and model file.
    out.push_str("<h2>Variant</h2><table class=\"variant\"><tr><th>switch</th><th>value</th><th>kind</th><th>what it changes</th></tr>");
    for s in SWITCHES {
        let option = s.option_in(variant);
        let _ = write!(
            out,
            "<tr><td>{}</td><td{}>{}</td><td>{}</td><td>{}: {}</td></tr>",
            s.name,
            if option != s.default_option() {
                " class=\"bad\""
            } else {
                ""
            },
            option,
            s.kind.label(),
            esc(s.zbs_function),
            esc(s.doc)
        );
    }
    out.push_str("</table>");
    let _ = write!(
        out,
        "<h2>Model file</h2><p><code>{}</code></p><pre class=\"model\">{}</pre>",
        esc(&source.file),
        esc(&source.text)
    );
    let _ = writeln!(
        out,
        "<p class=\"muted\">Generated by zbs-mc {}.</p><script>{SCRIPT}</script></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}
