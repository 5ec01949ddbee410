//! The text rendering: a numbered step list, each step with its log lines — real ZBS log
//! lines verbatim (glog header included, so `grep` and a log parser read them as they read the
//! meta log), the model's remarks on lines of their own behind `# model: ` — followed by the
//! parts of the state that the step changed (`⇒`).

use super::{StateSummary, Step};
use std::fmt::Write;

/// `name: value` lines for every field of `after` that differs from `before`.
pub fn changed(before: &StateSummary, after: &StateSummary) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, b: String, a: String| {
        if a != b {
            out.push(format!("{name}: {a}"));
        }
    };
    field(
        "owners",
        format!("{:?}", before.owners),
        format!("{:?}", after.owners),
    );
    field(
        "locations",
        format!("{:?}", before.locations),
        format!("{:?}", after.locations),
    );
    field(
        "passive_waiting_migrate_",
        format!("{:?}", before.passive_waiting_migrate),
        format!("{:?}", after.passive_waiting_migrate),
    );
    field(
        "active_waiting_migrate_",
        format!("{:?}", before.active_waiting_migrate),
        format!("{:?}", after.active_waiting_migrate),
    );
    field(
        "active_waiting_recover_",
        format!("{:?}", before.active_waiting_recover),
        format!("{:?}", after.active_waiting_recover),
    );
    field(
        "passive_waiting_recover_",
        format!("{:?}", before.passive_waiting_recover),
        format!("{:?}", after.passive_waiting_recover),
    );
    field(
        "pid_cmds_",
        format!("{:?}", before.pid_cmds),
        format!("{:?}", after.pid_cmds),
    );
    field(
        "waiting_recover_cmds",
        format!("{:?}", before.waiting_recover_cmds),
        format!("{:?}", after.waiting_recover_cmds),
    );
    field(
        "lease caches",
        format!("{:?}", before.lease_caches),
        format!("{:?}", after.lease_caches),
    );
    field(
        "running",
        format!("{:?}", before.running),
        format!("{:?}", after.running),
    );
    field(
        "topology",
        format!("{:?}", before.topology),
        format!("{:?}", after.topology),
    );
    field(
        "in flight",
        format!("{:?}", before.in_flight),
        format!("{:?}", after.in_flight),
    );
    out
}

/// Renders steps after an initial-state summary.
pub fn render(initial: &StateSummary, steps: &[Step]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    initial: owners {:?}; locations {:?}; lease caches {:?}",
        initial.owners, initial.locations, initial.lease_caches
    );
    let mut before = initial;
    for step in steps {
        let _ = writeln!(s, "  {:>2}. [{}] {}", step.index, step.actor, step.action);
        for line in &step.log {
            let _ = writeln!(s, "        {line}");
        }
        for c in changed(before, &step.state) {
            let _ = writeln!(s, "        ⇒ {c}");
        }
        before = &step.state;
    }
    s
}

/// The whole text rendering of one counterexample, as `--trace-format text` writes it.
pub fn render_counterexample(cx: &super::Counterexample) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "model:    {} ({})\nvariant:  {}\n\n{} for {} ({} steps):",
        cx.source.name,
        cx.source.file,
        cx.variant,
        cx.title(),
        cx.property.name,
        cx.steps.len()
    );
    s.push_str(&render(&cx.initial, &cx.steps));
    let _ = writeln!(s, "    {}", cx.end_line());
    s
}
