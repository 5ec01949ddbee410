//! Incident A's counterexample in every trace format, the JSON round trip, the ITF output
//! read back by a published ITF reader (the `itf` crate), and replay under the bug and the
//! fix.

mod common;

use common::{check, load, variant};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use zbs_mc::actors::model::ZbsModel;
use zbs_mc::scenario::Scenario;
use zbs_mc::trace::counterexample::{ModelSource, property_named};
use zbs_mc::trace::json::{ActionRecord, SavedTrace, TimerRecord};
use zbs_mc::trace::replay::{ReplayEnd, model_for, replay};
use zbs_mc::trace::{Counterexample, TraceFormat};

const MODEL: &str = "incident-a-lease-leak.toml";

fn source(s: &Scenario) -> ModelSource {
    ModelSource {
        name: s.name.clone(),
        file: "models/incident-a-lease-leak.toml".into(),
        text: s.source.clone(),
    }
}

/// Incident A's model (default variant) and its no_leaked_owner counterexample.
fn incident_a(overrides: &[&str]) -> (Scenario, ZbsModel, zbs_mc::domain::variant::Variant) {
    let s = load(MODEL);
    let v = variant(&s, overrides);
    let (model, _) = check(&s, &v);
    (s, model, v)
}

fn with_cx<R>(f: impl FnOnce(&Counterexample) -> R) -> R {
    let (s, model, v) = incident_a(&[]);
    let outcome = zbs_mc::engine::Checker::actors(&model)
        .options(Default::default())
        .check()
        .safety;
    let p = outcome
        .properties
        .iter()
        .find(|p| p.name == "no_leaked_owner")
        .unwrap();
    let cx = Counterexample::new(
        &model,
        source(&s),
        v,
        property_named("no_leaked_owner").unwrap(),
        p.trace.clone().unwrap(),
    );
    f(&cx)
}

#[test]
fn text_lists_the_steps_in_log_order_and_ends_at_the_violation() {
    let text = with_cx(|cx| cx.render(TraceFormat::Text));
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing in\n{text}"))
    };
    assert!(
        at("recover_manager.cc:414] add recover cmd for pid: 3133")
            < at("chunk_manager.cc:992] [UPDATE TOPO OBJ]: [REQUEST]: id: ")
    );
    assert!(at("# model: RevokeRecoverCmds(5)") < at("owner 5 kept"));
    assert!(at("owner 5 kept") < at("✗ no_leaked_owner is violated here"));
    assert!(text.contains("counterexample for no_leaked_owner (5 steps)"));
    assert!(text.contains("⇒ owners: {3133: 5}"), "{text}");
}

/// Issue 11, item 7: every log line of a step is a real ZBS log line — a glog line
/// (`I0101 00:00:05.000000 58510 recover_manager.cc:414] …`), or a chunk line the samples show
/// without a header — or a remark of the model on a line of its own behind `# model: `.
#[test]
fn log_lines_are_glog_lines_or_marked_remarks() {
    let s = load(MODEL);
    let (model, outcome) = check(&s, &variant(&s, &[]));
    let mut seen_glog = 0;
    for p in outcome.properties.iter().filter(|p| p.trace.is_some()) {
        for step in zbs_mc::trace::describe(&model, p.trace.as_ref().unwrap()) {
            for line in &step.log {
                if line.starts_with(zbs_mc::domain::events::REMARK) {
                    continue;
                }
                if line.starts_with("Get recover notification: pid: ") {
                    continue;
                }
                let (header, message) = line.split_once("] ").expect("a glog line");
                let fields: Vec<&str> = header.split_whitespace().collect();
                assert_eq!(fields.len(), 4, "{line}");
                assert!(fields[0].starts_with("I0101"), "{line}");
                assert_eq!(fields[1].len(), "00:00:05.000000".len(), "{line}");
                assert_eq!(
                    step.index,
                    fields[1][6..8].parse::<usize>().unwrap(),
                    "step n at second n"
                );
                assert!(fields[2].parse::<u32>().is_ok(), "thread id: {line}");
                let (file, no) = fields[3].split_once(':').expect("file:line");
                assert!(file.ends_with(".cc") && no.parse::<u32>().is_ok(), "{line}");
                assert!(
                    !message.contains("# model"),
                    "remarks stay off real lines: {line}"
                );
                seen_glog += 1;
            }
        }
    }
    assert!(seen_glog >= 10, "{seen_glog}");
}

/// Issue 11, item 8: what a chunk does with a second command for a pid it already runs is
/// the switch `second_cmd_for_running_pid`, and the delivering step says which happened.
#[test]
fn a_second_command_for_a_running_pid_is_printed_as_the_switch_says() {
    use stateright::{Expectation, Model};
    use zbs_mc::actors::Msg;
    use zbs_mc::actors::model::{SystemView, build};
    // A heartbeat reply on its way to a chunk that runs another command of the same pid.
    fn second_on_its_way(m: &ZbsModel, st: &zbs_mc::actors::model::ZbsState) -> bool {
        let v = SystemView::of(&m.cfg, st);
        v.sessions().any(|s| {
            v.to_chunk(s.cid).any(|msg| match msg {
                Msg::HeartbeatReply(cmds, _) => cmds
                    .iter()
                    .any(|c| s.running_for(c.pid).is_some_and(|r| r.id != c.id)),
                _ => false,
            })
        })
    }
    let s = load("spare-chunks-failure.toml");
    for (option, words) in [
        ("first_replaced", "the first vanishes, replaced by cmd #"),
        ("both_run", "both run; it starts cmd #"),
        ("second_refused", "it refuses cmd #"),
    ] {
        let v = variant(&s, &[&format!("second_cmd_for_running_pid={option}")]);
        let m = build(s.model_cfg(&v)).property(
            Expectation::Sometimes,
            "second_on_its_way",
            second_on_its_way,
        );
        let outcome = zbs_mc::engine::Checker::actors(&m)
            .options(common::exhaustive())
            .check()
            .safety;
        let found = outcome
            .properties
            .iter()
            .find(|p| p.name == "second_on_its_way")
            .unwrap();
        let trace = found.trace.as_ref().expect("reached");
        let last = trace.steps.last().map_or(&trace.init, |(_, st)| st);
        // Deliver that reply: the step's lines say what the chunk did.
        let deliver = m
            .next_steps(last)
            .into_iter()
            .map(|(a, _)| a)
            .find(|a| {
                matches!(
                    a,
                    stateright::actor::ActorModelAction::Deliver {
                        msg: Msg::HeartbeatReply(..),
                        ..
                    }
                )
            })
            .unwrap();
        let (actor, _, log) = zbs_mc::trace::step_log(&m, last, &deliver);
        assert!(actor.starts_with("chunk-"), "{actor}");
        assert!(
            log.iter().any(|l| l.starts_with("# model: ")
                && l.contains(words)
                && l.contains("second_cmd_for_running_pid")),
            "{option}: {log:#?}"
        );
    }
}

#[test]
fn json_round_trips_and_records_every_step_replayably() {
    let (json, saved) = with_cx(|cx| (cx.render(TraceFormat::Json), SavedTrace::of(cx)));
    let parsed = SavedTrace::parse(&json).unwrap();
    assert_eq!(parsed, saved, "JSON → SavedTrace → equal");
    assert_eq!(
        serde_json::to_string_pretty(&parsed).unwrap() + "\n",
        json,
        "SavedTrace → JSON is byte-identical"
    );
    assert_eq!(parsed.schema, "zbs-mc/trace/v1");
    assert_eq!(parsed.property, "no_leaked_owner");
    assert_eq!(parsed.variant["revoke_releases_owner"], "off");
    assert_eq!(parsed.steps.len(), 5);
    assert_eq!(
        parsed.steps[2].event,
        ActionRecord::Timer {
            actor: "meta".into(),
            timer: TimerRecord::Scan
        }
    );
    assert_eq!(parsed.steps[4].state.owners.get(&3133), Some(&5));
    assert!(
        parsed
            .model_source
            .contains("name = \"incident-a-lease-leak\"")
    );
    // A document of another schema is refused with a reason.
    let other = json.replace("zbs-mc/trace/v1", "zbs-mc/trace/v0");
    assert!(SavedTrace::parse(&other).unwrap_err().contains("v0"));
    assert!(SavedTrace::parse("{}").is_err());
}

/// The ITF state, as a consumer would type it.
#[derive(Deserialize, Debug)]
struct ItfCmd {
    pid: u32,
    src: u8,
    dst: u8,
    replace: u8,
    owner: u8,
    #[allow(dead_code)]
    epoch: u64,
}

#[derive(Deserialize, Debug)]
struct ItfState {
    owners: BTreeMap<u32, u8>,
    locations: BTreeMap<u32, Vec<u8>>,
    active_waiting_recover: BTreeSet<u32>,
    pid_cmds: BTreeMap<u32, ItfCmd>,
    waiting_recover_cmds: BTreeMap<u8, Vec<ItfCmd>>,
    lease_caches: BTreeMap<u8, BTreeSet<u32>>,
    topology: BTreeMap<u8, String>,
    in_flight: Vec<(String, String, String)>,
    #[serde(rename = "mbt::actionTaken")]
    action_taken: String,
}

#[test]
fn itf_output_parses_with_the_itf_crate() {
    let text = with_cx(|cx| cx.render(TraceFormat::Itf));
    let trace: itf::Trace<ItfState> = itf::trace_from_str(&text).expect("valid ITF");
    assert_eq!(trace.meta.format.as_deref(), Some("ITF"));
    assert_eq!(trace.states.len(), 6, "initial state + 5 steps");
    assert!(trace.vars.contains(&"mbt::actionTaken".to_string()));
    for (i, s) in trace.states.iter().enumerate() {
        assert_eq!(s.meta.index, Some(i as u64));
    }
    let init = &trace.states[0].value;
    assert_eq!(init.action_taken, "init");
    assert!(init.owners.is_empty());
    assert_eq!(init.locations[&3133], vec![4, 2, 5]);
    assert!(init.active_waiting_recover.is_empty());
    let after_scan = &trace.states[3].value;
    assert_eq!(after_scan.action_taken, "meta: timer: DoScan");
    let cmd = &after_scan.pid_cmds[&3133];
    assert_eq!(
        (cmd.pid, cmd.src, cmd.dst, cmd.replace, cmd.owner),
        (3133, 5, 1, 5, 5)
    );
    assert_eq!(
        after_scan.waiting_recover_cmds[&5].len(),
        1,
        "one pid per scan (A20)"
    );
    assert_eq!(
        trace.states[4].value.in_flight,
        vec![(
            "operator".to_string(),
            "meta".to_string(),
            "UpdateTopo(chunk-5)".to_string()
        )]
    );
    let last = &trace.states[5].value;
    assert_eq!(last.owners, BTreeMap::from([(3133, 5)]));
    assert!(last.lease_caches.values().all(|c| c.is_empty()));
    assert!(last.pid_cmds.is_empty() && last.waiting_recover_cmds[&5].is_empty());
    assert_eq!(last.topology[&5], "topo");
    // Integers are ADR-015 big integers, never bare JSON numbers, outside `#meta`.
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["states"][5]["owners"]["#map"][0][1]["#bigint"], "5");
}

#[test]
fn mermaid_is_a_fenced_sequence_diagram_with_escaped_text() {
    // `.mmd` is the raw diagram (what Mermaid's CLI takes), `.md` the page that fences it.
    let raw = with_cx(|cx| cx.render(TraceFormat::Mermaid));
    assert!(raw.starts_with("sequenceDiagram\n"), "{raw}");
    assert!(!raw.contains("```") && !raw.contains("\n# "), "{raw}");
    let md = with_cx(|cx| cx.render(TraceFormat::Markdown));
    assert!(md.starts_with("# no_leaked_owner violated"), "{md}");
    assert!(md.contains(&format!("```mermaid\n{raw}```\n")), "{md}");
    let body = md
        .split("```mermaid\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a fenced mermaid block");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "sequenceDiagram");
    let participants: Vec<&str> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("participant "))
        .copied()
        .collect();
    assert_eq!(
        participants.len(),
        7,
        "meta, chunks 1 2 4 5, operator, client"
    );
    assert!(participants.contains(&"    participant c5 as chunk-5"));
    let arrows: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("->>"))
        .copied()
        .collect();
    assert_eq!(arrows.len(), 5, "{arrows:#?}");
    assert_eq!(arrows[4], "    operator->>meta: 5. UpdateTopo(chunk-5)");
    assert!(body.contains("rect rgb(255, 225, 225)") && body.trim_end().ends_with("end"));
    // Mermaid syntax characters never appear raw in text: only inside `#<code>;` entities.
    for l in lines.iter().filter(|l| l.contains(": ")) {
        let text = strip_entities(l.split_once(": ").unwrap().1);
        assert!(
            !text.contains([';', '#', '{', '}', '"']),
            "raw syntax character in {l}"
        );
    }
    assert!(body.contains("new_parent_id: #34;topo#34;"));
}

/// Removes `#<digits>;` entities.
fn strip_entities(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('#') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(';') {
            rest = &after[digits + 1..];
        } else {
            out.push('#');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn dot_draws_the_state_graph_with_the_trace_and_violations() {
    let (full, small) = with_cx(|cx| {
        (
            cx.render(TraceFormat::Dot),
            zbs_mc::trace::dot::render(cx, 50),
        )
    });
    assert!(full.starts_with("digraph \"zbs-mc\" {"));
    assert!(
        full.contains("1229 states, whole state space"),
        "{}",
        &full[..300]
    );
    let nodes = full.lines().filter(|l| l.contains("shape = box")).count();
    assert_eq!(nodes, 1229);
    let on_trace_edges = full
        .lines()
        .filter(|l| l.contains("->") && l.contains("penwidth"))
        .count();
    assert_eq!(on_trace_edges, 5);
    assert!(full.contains("VIOLATES no_leaked_owner") && full.contains("fillcolor = \"#f4a6a6\""));
    // Above the limit: only the trace's states and their successors.
    assert!(small.contains("neighbourhood of the trace"));
    let small_nodes = small.lines().filter(|l| l.contains("shape = box")).count();
    assert!(small_nodes > 6 && small_nodes < 1229, "{small_nodes}");
    assert_eq!(
        small
            .lines()
            .filter(|l| l.contains("->") && l.contains("penwidth"))
            .count(),
        5
    );
}

#[test]
fn test_plan_says_which_heartbeat_to_hold_back_and_when() {
    let plan = with_cx(|cx| cx.render(TraceFormat::TestPlan));
    let at = |needle: &str| {
        plan.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing in\n{plan}"))
    };
    let hold = at("HOLD BACK from here: the heartbeat of session chunk-5");
    assert!(at("3. [meta] call RecoverManager::DoScan()") < hold);
    assert!(
        hold < at("4. [operator] send [UPDATE TOPO OBJ]: move chunk-5 to new_parent_id \"topo\"")
    );
    // The revoke empties session 5's queue: the held heartbeat has nothing left to deliver.
    assert!(
        at("RecoverManager::RevokeRecoverCmds(5)")
            < at("no longer pending: the heartbeat of session chunk-5")
    );
    assert!(plan.contains("pid 3133: location 328196 [4, 2, 5]"));
    assert!(plan.contains("ASSERT `no_leaked_owner` is violated"));
    assert!(plan.contains("owners {3133: 5}"));
}

#[test]
fn replay_reproduces_under_the_bug_and_not_under_the_fix() {
    let saved = with_cx(SavedTrace::of);
    let prop = property_named("no_leaked_owner").unwrap();

    let (model, _, _) = model_for(&saved, None, &[]).unwrap();
    let r = replay(&model, &saved, prop);
    assert_eq!(r.end, ReplayEnd::Reproduced { at: 5 });
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    assert_eq!(r.trace.steps.len(), 5);

    let fix = vec!["revoke_releases_owner=on".to_string()];
    let (model, _, v) = model_for(&saved, None, &fix).unwrap();
    assert!(v.revoke_releases_owner);
    let r = replay(&model, &saved, prop);
    assert_eq!(r.end, ReplayEnd::Holds);
    assert_eq!(r.differences.len(), 1, "{:?}", r.differences);
    assert_eq!(r.differences[0].0, 5);
    assert_eq!(r.differences[0].1, vec!["owners: {}".to_string()]);

    // A model without the topology update cannot take step 4.
    let mut no_topo = saved.clone();
    no_topo.model_source = saved
        .model_source
        .replace("topo_updates = 1", "topo_updates = 0");
    assert_ne!(no_topo.model_source, saved.model_source);
    let (model, _, _) = model_for(&no_topo, None, &[]).unwrap();
    match replay(&model, &no_topo, prop).end {
        ReplayEnd::Blocked {
            step,
            wanted,
            enabled,
        } => {
            assert_eq!(step, 4);
            assert_eq!(wanted, "[operator] timer: topology update #0");
            assert!(
                enabled
                    .iter()
                    .any(|e| e.contains("heartbeat of session chunk-5"))
            );
        }
        other => panic!("{other:?}"),
    }
    // An unknown switch in the trace is bad input, not a silent default.
    let mut bad = saved.clone();
    bad.variant.insert("no_such_switch".into(), "on".into());
    assert!(model_for(&bad, None, &[]).is_err());
}

#[test]
fn the_explorer_api_walks_fingerprint_paths_from_a_saved_trace() {
    use zbs_mc::cli::explore::{ExploreArgs, build};
    let dir = std::env::temp_dir().join(format!("zbs-mc-explorer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.json");
    std::fs::write(&path, with_cx(|cx| cx.render(TraceFormat::Json))).unwrap();
    let args = ExploreArgs {
        model: None,
        from: Some(path),
        port: 0,
        bind: std::net::Ipv4Addr::LOCALHOST.into(),
        variants: Vec::new(),
    };
    let e = build(&args).unwrap();
    assert_eq!(e.start.len(), 5, "opens at the trace's last state");
    let last = e.state_json(&e.start).unwrap();
    assert_eq!(last["depth"], 5);
    // The owner is stranded; a migrate scan is still to come (one pid per scan), so the state
    // is not quiescent and safe_final_location is not judged here yet.
    assert_eq!(last["violated"], serde_json::json!(["no_leaked_owner"]));
    assert!(
        last["tables"]
            .as_str()
            .unwrap()
            .contains("<td>owner 5</td>")
    );
    let init = e.state_json(&[]).unwrap();
    assert_eq!(init["violated"], serde_json::json!([]));
    let names: Vec<&str> = init["successors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"timer: ReGenerateWaitingMigrateList"),
        "{names:?}"
    );
    // A fingerprint that is not a successor is an error, not a guess.
    assert!(e.state_json(&[e.start[1]]).is_err());
    assert!(e.page().contains(&format!("{:016x}", e.start[4])));
}
