//! `--trace-format itf`: the Informal Trace Format (Apalache ADR-015), readable by ITF
//! viewers and model-based-testing tools (Quint's `mbt::actionTaken` convention names the
//! action that led to each state). Mapping in `specs/traces.md`.
//!
//! Encoding: every integer is `{"#bigint": "…"}`; maps are `{"#map": [[k, v], …]}`; sets
//! `{"#set": […]}`; messages in flight are `{"#tup": [src, dst, text]}`; commands are records.

use super::Counterexample;
use crate::actors::model::{SystemView, ZbsState};
use crate::domain::recover_cmd::{MigrateCandidate, RecoverCmd};
use serde_json::{Map, Value, json};

/// The state variables, in the order `vars` lists them.
pub const VARS: &[(&str, &str)] = &[
    ("owners", "Int -> Int"),
    ("locations", "Int -> Seq(Int)"),
    (
        "passive_waiting_migrate",
        "Seq({pid: Int, src: Int, dst: Int, replace: Int})",
    ),
    (
        "active_waiting_migrate",
        "Seq({pid: Int, src: Int, dst: Int, replace: Int})",
    ),
    ("active_waiting_recover", "Set(Int)"),
    ("passive_waiting_recover", "Set(Int)"),
    ("pid_cmds", "Int -> CMD"),
    ("waiting_recover_cmds", "Int -> Seq(CMD)"),
    ("lease_caches", "Int -> Set(Int)"),
    ("running", "Int -> Seq(CMD)"),
    ("topology", "Int -> Str"),
    ("chunks_down", "Set(Int)"),
    ("in_flight", "Seq(<<Str, Str, Str>>)"),
    ("mbt::actionTaken", "Str"),
];

fn int(n: impl Into<u64>) -> Value {
    json!({ "#bigint": n.into().to_string() })
}

fn map(pairs: impl IntoIterator<Item = (Value, Value)>) -> Value {
    json!({ "#map": pairs.into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>() })
}

fn set(items: impl IntoIterator<Item = Value>) -> Value {
    json!({ "#set": items.into_iter().collect::<Vec<_>>() })
}

fn cmd(c: &RecoverCmd) -> Value {
    json!({
        "pid": int(c.pid), "src": int(c.src), "dst": int(c.dst), "replace": int(c.replace),
        "owner": int(c.owner), "epoch": int(c.epoch),
    })
}

fn cand(c: &MigrateCandidate) -> Value {
    json!({ "pid": int(c.pid), "src": int(c.src), "dst": int(c.dst), "replace": int(c.replace) })
}

/// One ITF state.
fn state(cx: &Counterexample, index: usize, s: &ZbsState, action: &str) -> Value {
    let v = SystemView::of(&cx.model.cfg, s);
    let meta = &v.meta.meta;
    let rm = &meta.recover;
    let mut in_flight: Vec<(String, String, String)> = v
        .in_flight()
        .map(|f| {
            (
                cx.model.cfg.actor_name(f.src),
                cx.model.cfg.actor_name(f.dst),
                super::msg_text(f.msg),
            )
        })
        .collect();
    in_flight.sort();
    let mut o = Map::new();
    o.insert("#meta".into(), json!({ "index": index }));
    o.insert(
        "owners".into(),
        map(meta.access.owners.iter().map(|(&p, &c)| (int(p), int(c)))),
    );
    o.insert(
        "locations".into(),
        map(meta.pextents.iter().map(|(&p, e)| {
            (
                int(p),
                Value::Array(e.location.iter().map(|&c| int(c)).collect()),
            )
        })),
    );
    o.insert(
        "passive_waiting_migrate".into(),
        Value::Array(rm.passive_waiting_migrate.iter().map(cand).collect()),
    );
    o.insert(
        "active_waiting_migrate".into(),
        Value::Array(rm.active_waiting_migrate.iter().map(cand).collect()),
    );
    o.insert(
        "active_waiting_recover".into(),
        set(rm.active_waiting_recover.iter().map(|&p| int(p))),
    );
    o.insert(
        "passive_waiting_recover".into(),
        set(rm.passive_waiting_recover.iter().map(|&p| int(p))),
    );
    o.insert(
        "pid_cmds".into(),
        map(rm.pid_cmds.iter().map(|(&p, c)| (int(p), cmd(c)))),
    );
    o.insert(
        "waiting_recover_cmds".into(),
        map(meta
            .access
            .waiting_recover_cmds
            .iter()
            .map(|(&c, q)| (int(c), Value::Array(q.iter().map(cmd).collect())))),
    );
    o.insert(
        "lease_caches".into(),
        map(v
            .sessions()
            .map(|s| (int(s.cid), set(s.lease_cache.iter().map(|&p| int(p)))))),
    );
    o.insert(
        "running".into(),
        map(v.sessions().map(|s| {
            (
                int(s.cid),
                Value::Array(s.running.values().map(cmd).collect()),
            )
        })),
    );
    o.insert(
        "topology".into(),
        map(meta.topology.chunk_parent.iter().map(|(&c, &p)| {
            (
                int(c),
                Value::String(meta.topology.tree.node(p).name.clone()),
            )
        })),
    );
    o.insert(
        "chunks_down".into(),
        set(v.sessions().filter(|s| s.down).map(|s| int(s.cid))),
    );
    o.insert(
        "in_flight".into(),
        Value::Array(
            in_flight
                .into_iter()
                .map(|(a, b, m)| json!({ "#tup": [a, b, m] }))
                .collect(),
        ),
    );
    o.insert("mbt::actionTaken".into(), Value::String(action.to_string()));
    Value::Object(o)
}

/// The ITF document. A lasso (a liveness counterexample) carries ITF's `loop`: the index of
/// the state the last state is followed by. Our traces end with the step back into the loop,
/// whose target repeats the state at `loop`; ITF lists each state once, so that last state is
/// left out (a dead end keeps every state, `loop` being the last one: it stutters).
pub fn document(cx: &Counterexample) -> Value {
    let mut states = vec![state(cx, 0, &cx.trace.init, "init")];
    for (i, ((_, s), step)) in cx.trace.steps.iter().zip(&cx.steps).enumerate() {
        let action = format!("{}: {}", step.actor, step.action);
        states.push(state(cx, i + 1, s, &action));
    }
    let n = cx.steps.len();
    if cx.loop_start.is_some_and(|l| l < n) {
        states.pop();
    }
    let mut doc = json!({
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": cx.source.file,
            "description": format!(
                "zbs-mc {} trace of {} in model {} (variant: {})",
                cx.verdict_word(), cx.property.name, cx.source.name, cx.variant
            ),
            "status": cx.verdict_word(),
            "varTypes": VARS.iter().map(|(n, t)| (n.to_string(), Value::String(t.to_string()))).collect::<Map<_, _>>(),
        },
        "vars": VARS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "states": states,
    });
    if let Some(l) = cx.loop_start {
        doc["loop"] = json!(l);
    }
    doc
}

/// `--trace-format itf`.
pub fn render(cx: &Counterexample) -> String {
    let mut s = serde_json::to_string_pretty(&document(cx)).expect("plain values");
    s.push('\n');
    s
}
