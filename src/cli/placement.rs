//! `zbs-mc placement MODEL`: what the placement policy wants for every pid, with the
//! topology of the model file and again after each of its topology updates — the answer to
//! "why did meta want this migrate?", from the same code the checker runs.

use super::{Format, exit};
use crate::domain::Pid;
use crate::domain::meta::Meta;
use crate::domain::placement::{self, ClusterView};
use crate::scenario::Scenario;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct PlacementArgs {
    /// The model file (TOML).
    pub model: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// One pid as the policy sees it.
fn pid_report(view: &ClusterView, meta: &Meta, pid: Pid) -> serde_json::Value {
    let pext = &meta.pextents[&pid];
    let input = view.for_pid(pext, meta.owner_of(pid));
    let proposal = placement::propose_migrate_why(&input).map(|(c, why)| {
        json!({
            "src": c.src, "dst": c.dst, "replace": c.replace,
            "reason": format!("{why:?}"), "zbs_function": why.zbs_function(),
        })
    });
    json!({
        "pid": pid,
        "location": pext.location,
        "preferred_cid": pext.preferred_cid,
        "owner": meta.owner_of(pid),
        "topology_safe": placement::is_topology_safe(&input),
        "localized": placement::is_localized(&input),
        "safe_final_location": placement::safe_final_location(&input),
        "safety_rank": format!("{:?}", placement::safety_rank(&input, &pext.location)),
        "best_rank": placement::best_rank(&input).map(|r| format!("{r:?}")),
        "best_location": placement::best_location(&input),
        "proposed_migrate": proposal,
    })
}

/// The policy's view of every pid under the current topology of `meta`.
fn stage(title: String, meta: &Meta, slots: usize) -> serde_json::Value {
    let view = meta.cluster_view(slots);
    json!({
        "stage": title,
        "load": format!("{:?}", view.load),
        "stretched": view.stretched,
        "topology": meta.topology.chunk_parent.iter()
            .map(|(c, p)| (c.to_string(), meta.topology.tree.node(*p).name.clone()))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "pids": meta.pextents.keys().map(|&p| pid_report(&view, meta, p)).collect::<Vec<_>>(),
    })
}

pub fn run(args: &PlacementArgs) -> i32 {
    let scenario = match Scenario::load(&args.model) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let cfg = scenario.model_cfg(&scenario.variant);
    let slots = cfg.meta.max_recover_cmds_per_chunk;
    let mut meta = cfg.initial_meta.clone();
    let mut stages = vec![stage("as in the model file".to_string(), &meta, slots)];
    for &(cid, parent) in &cfg.topo_updates {
        meta.topology
            .move_chunk(cid, parent)
            .expect("validated by the scenario");
        let name = &meta.topology.tree.node(parent).name;
        stages.push(stage(
            format!("after [UPDATE TOPO OBJ] chunk-{cid} new_parent_id: \"{name}\""),
            &meta,
            slots,
        ));
    }
    let text = match args.format {
        Format::Json => format!("{:#}\n", serde_json::Value::Array(stages)),
        Format::Text => render_text(&scenario.name, &stages),
    };
    super::emit(&text);
    exit::HOLDS
}

fn render_text(name: &str, stages: &[serde_json::Value]) -> String {
    use std::fmt::Write;
    let mut s = format!("model: {name}\n");
    for st in stages {
        let _ = writeln!(
            s,
            "\n{}: load {}, {}",
            st["stage"].as_str().unwrap_or_default(),
            st["load"].as_str().unwrap_or_default(),
            if st["stretched"] == true {
                "stretched"
            } else {
                "not stretched"
            }
        );
        let _ = writeln!(s, "  topology: {}", st["topology"]);
        for p in st["pids"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "  pid {}: location {} prefer local {} owner {} — topology-safe {}, localized {}, safe final {}",
                p["pid"],
                p["location"],
                p["preferred_cid"],
                p["owner"],
                p["topology_safe"],
                p["localized"],
                p["safe_final_location"]
            );
            let _ = writeln!(
                s,
                "      a best location: {} (the first in cid order)",
                p["best_location"]
            );
            match p["proposed_migrate"].as_object() {
                Some(m) => {
                    let _ = writeln!(
                        s,
                        "      scan proposes: src {} dst {} replace {} ({} → {})",
                        m["src"],
                        m["dst"],
                        m["replace"],
                        m["zbs_function"].as_str().unwrap_or_default(),
                        m["reason"].as_str().unwrap_or_default()
                    );
                }
                None => {
                    let _ = writeln!(s, "      scan proposes: nothing");
                }
            }
        }
    }
    s
}
