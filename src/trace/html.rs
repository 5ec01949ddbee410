//! One model state as the tables a meta engineer knows, in HTML: the pextent table, the
//! lease owners, RecoverManager's four waiting containers and `pid_cmds_`, each session's
//! `waiting_recover_cmds` and lease cache, the chunk table, the topology tree, messages in
//! flight, and which invariants hold. Shared by the HTML report and the explorer.

use super::svg::esc;
use crate::actors::model::{SystemView, ZbsModel, ZbsState};
use crate::domain::pextent::pack_location;
use crate::domain::recover_cmd::{MigrateCandidate, RecoverCmd};
use crate::domain::topology::NodeIx;
use crate::properties::PROPERTIES;
use stateright::Expectation;
use std::fmt::Write;

/// Styles for the tables (inlined into every page that shows them).
pub const CSS: &str = r#"
body{font-family:system-ui,sans-serif;margin:1.2em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.4em} h3{font-size:1em;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.3em 0 .8em} td,th{border:1px solid #ccd;padding:2px 7px;font-size:13px;text-align:left;vertical-align:top}
th{background:#eef1f8} code,.mono{font-family:monospace;font-size:12.5px}
.ok{color:#17733a} .bad{color:#b3141b;font-weight:bold} .muted{color:#888}
.tables{display:flex;flex-wrap:wrap;gap:0 2em} .tables>div{min-width:18em}
.changed{background:#fff3b0}
ul.topo{margin:.2em 0;padding-left:1.2em;font-size:13px}
.seqbox{overflow-x:auto;border:1px solid #ddd;padding:4px;background:#fff}
button{font:inherit;font-size:13px;margin:1px;cursor:pointer}
"#;

fn cmd_cell(c: &RecoverCmd) -> String {
    format!(
        "pid {} src {} dst {} replace {} owner {} epoch {}",
        c.pid, c.src, c.dst, c.replace, c.owner, c.epoch
    )
}

fn cand_cell(c: &MigrateCandidate) -> String {
    format!(
        "pid {} src {} dst {} replace {}",
        c.pid, c.src, c.dst, c.replace
    )
}

fn list<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> String) -> String {
    let items: Vec<String> = items.into_iter().map(|i| esc(&f(i))).collect();
    if items.is_empty() {
        r#"<span class="muted">empty</span>"#.to_string()
    } else {
        items.join("<br>")
    }
}

/// The state's tables (a `<div class="tables">`).
pub fn state_tables(model: &ZbsModel, state: &ZbsState) -> String {
    let cfg = &model.cfg;
    let v = SystemView::of(cfg, state);
    let meta = &v.meta.meta;
    let rm = &meta.recover;
    let mut s = String::from(r#"<div class="tables">"#);

    // Pextent table.
    s.push_str(r#"<div><h3>pextent table</h3><table class="pextents"><tr><th>pid</th><th>location</th><th>alive_location</th><th>expected</th><th>epoch</th><th>prefer local</th></tr>"#);
    for (pid, e) in &meta.pextents {
        let _ = write!(
            s,
            "<tr><td>{pid}</td><td>{} <span class=\"muted\">{:?}</span></td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            pack_location(&e.location),
            e.location,
            e.alive_location,
            e.expected_replica_num,
            e.epoch,
            e.preferred_cid.map_or("—".to_string(), |c| c.to_string())
        );
    }
    s.push_str("</table>");

    // Owners.
    s.push_str(r#"<h3>lease owners (AccessManager)</h3><table class="owners"><tr><th>pid</th><th>owner</th><th>owner's libmeta caches it</th></tr>"#);
    for (pid, _) in &meta.pextents {
        match meta.owner_of(*pid) {
            Some(owner) => {
                let cached = v
                    .session(owner)
                    .is_some_and(|sess| sess.lease_cache.contains(pid));
                let _ = write!(
                    s,
                    "<tr><td>{pid}</td><td>owner {owner}</td><td class=\"{}\">{}</td></tr>",
                    if cached { "ok" } else { "bad" },
                    if cached { "yes" } else { "no" }
                );
            }
            None => {
                let _ = write!(
                    s,
                    "<tr><td>{pid}</td><td class=\"muted\">no owner</td><td></td></tr>"
                );
            }
        }
    }
    s.push_str("</table></div>");

    // RecoverManager.
    s.push_str(r#"<div><h3>RecoverManager</h3><table class="recover_manager"><tr><th>container</th><th>contents</th></tr>"#);
    let _ = write!(
        s,
        "<tr><td>passive_waiting_migrate_</td><td>{}</td></tr><tr><td>active_waiting_migrate_</td><td>{}</td></tr><tr><td>active_waiting_recover_</td><td>{}</td></tr><tr><td>passive_waiting_recover_</td><td>{}</td></tr></table>",
        list(&rm.passive_waiting_migrate, cand_cell),
        list(&rm.active_waiting_migrate, cand_cell),
        list(&rm.active_waiting_recover, |p| format!("pid {p}")),
        list(&rm.passive_waiting_recover, |p| format!("pid {p}")),
    );
    s.push_str(
        r#"<h3>pid_cmds_</h3><table class="pid_cmds"><tr><th>pid</th><th>command</th></tr>"#,
    );
    if rm.pid_cmds.is_empty() {
        s.push_str(r#"<tr><td colspan="2" class="muted">empty</td></tr>"#);
    }
    for (pid, c) in &rm.pid_cmds {
        let _ = write!(s, "<tr><td>{pid}</td><td>{}</td></tr>", esc(&cmd_cell(c)));
    }
    s.push_str("</table></div>");

    // Sessions and chunk table.
    s.push_str(r#"<div><h3>sessions and chunks</h3><table class="sessions"><tr><th>chunk</th><th>status</th><th>waiting_recover_cmds (meta)</th><th>lease cache (libmeta)</th><th>running</th><th>rx / tx / src pids</th></tr>"#);
    for sess in v.sessions() {
        let cid = sess.cid;
        let entry = meta.chunks.get(cid);
        let queue = meta.access.waiting_recover_cmds.get(&cid);
        let _ = write!(
            s,
            "<tr><td>chunk-{cid}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            entry.map_or("?".into(), |e| format!("{:?}", e.status)),
            if sess.down { " (down)" } else { "" },
            list(queue.into_iter().flatten(), cmd_cell),
            list(&sess.lease_cache, |p| format!("pid {p}")),
            list(sess.running.values(), cmd_cell),
            entry.map_or(String::new(), |e| format!(
                "{:?} / {:?} / {:?}",
                e.rx_pids.iter().collect::<Vec<_>>(),
                e.tx_pids.iter().collect::<Vec<_>>(),
                e.recover_src_pids.iter().collect::<Vec<_>>()
            )),
        );
    }
    s.push_str("</table>");

    // In flight.
    s.push_str(r#"<h3>messages in flight</h3><table class="in_flight"><tr><th>from</th><th>to</th><th>message</th></tr>"#);
    if v.in_flight().next().is_none() {
        s.push_str(r#"<tr><td colspan="3" class="muted">none</td></tr>"#);
    }
    for f in v.in_flight() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            cfg.actor_name(f.src),
            cfg.actor_name(f.dst),
            esc(&super::msg_text(f.msg))
        );
    }
    s.push_str("</table></div>");

    // Topology tree.
    s.push_str(r#"<div><h3>topology</h3><div class="topology">"#);
    s.push_str(&topology_tree(&v));
    s.push_str("</div>");

    // Properties in this state.
    s.push_str(r#"<h3>invariants here</h3><table class="invariants">"#);
    for p in PROPERTIES {
        if p.expectation != Expectation::Always {
            continue;
        }
        let holds = (p.check)(model, state);
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"{}\">{}</td></tr>",
            p.name,
            if holds { "ok" } else { "bad" },
            if holds { "holds" } else { "VIOLATED" }
        );
    }
    s.push_str("</table></div></div>");
    s
}

/// The topology tree as nested lists, chunks as leaves.
fn topology_tree(v: &SystemView) -> String {
    let topo = &v.meta.meta.topology;
    let tree = &topo.tree;
    let count = tree.graph().node_count();
    fn node(
        out: &mut String,
        ix: NodeIx,
        count: usize,
        tree: &crate::domain::topology::TopologyTree,
        chunks: &std::collections::BTreeMap<crate::domain::Cid, NodeIx>,
    ) {
        let n = tree.node(ix);
        let _ = write!(
            out,
            "<li>{} <span class=\"muted\">{:?}</span>",
            esc(&n.name),
            n.level
        );
        let children: Vec<NodeIx> = (0..count as NodeIx)
            .filter(|&c| tree.node(c).parent == Some(ix))
            .collect();
        let here: Vec<_> = chunks.iter().filter(|&(_, &p)| p == ix).collect();
        if !children.is_empty() || !here.is_empty() {
            out.push_str("<ul class=\"topo\">");
            for c in children {
                node(out, c, count, tree, chunks);
            }
            for (cid, _) in here {
                let _ = write!(out, "<li><b>chunk-{cid}</b></li>");
            }
            out.push_str("</ul>");
        }
        out.push_str("</li>");
    }
    let mut out = String::from("<ul class=\"topo\">");
    node(&mut out, 0, count, tree, &topo.chunk_parent);
    out.push_str("</ul>");
    out
}
