//! `--trace-format dot`: the explored state graph as Graphviz DOT, built with `petgraph`.
//! States that violate an invariant are filled red, the counterexample's path is drawn bold
//! blue. When the model has more than `max_nodes` states, only the trace's neighbourhood is
//! drawn: its states and every direct successor of them.

use super::{Counterexample, ZbsAction, msg_text, timer_text};
use crate::actors::model::{SystemView, ZbsModel, ZbsState};
use crate::properties::PROPERTIES;
use petgraph::dot::{Config, Dot};
use petgraph::graph::{DiGraph, NodeIndex};
use stateright::actor::ActorModelAction;
use stateright::{Expectation, Model};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::BuildHasher;

/// The default node limit above which only the trace's neighbourhood is drawn.
pub const DEFAULT_MAX_NODES: usize = 2000;

/// One state in the drawing.
#[derive(Clone, Debug)]
pub struct Node {
    pub label: String,
    /// Invariants this state violates.
    pub violates: Vec<&'static str>,
    pub on_trace: bool,
    pub initial: bool,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// One action between two states.
#[derive(Clone, Debug)]
pub struct Edge {
    pub label: String,
    pub on_trace: bool,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// An action, short.
pub fn action_label(model: &ZbsModel, a: &ZbsAction) -> String {
    let cfg = &model.cfg;
    match a {
        ActorModelAction::Timeout(id, t) => format!("{}: {}", cfg.actor_name(*id), timer_text(t)),
        ActorModelAction::Deliver { src, dst, msg } => format!(
            "{} → {}: {}",
            cfg.actor_name(*src),
            cfg.actor_name(*dst),
            msg_text(msg)
        ),
        other => format!("{other:?}"),
    }
}

/// A state's fingerprint (stable across runs: `DefaultHasher` with fixed keys).
pub fn fp(s: &ZbsState) -> u64 {
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(s)
}

fn node_of(model: &ZbsModel, s: &ZbsState, n: usize) -> Node {
    let v = SystemView::of(&model.cfg, s);
    let meta = &v.meta.meta;
    let owners: Vec<String> = meta
        .access
        .owners
        .iter()
        .map(|(p, c)| format!("{p}:{c}"))
        .collect();
    let queued: usize = meta
        .access
        .waiting_recover_cmds
        .values()
        .map(|q| q.len())
        .sum();
    let violates = PROPERTIES
        .iter()
        .filter(|p| p.expectation == Expectation::Always && !(p.check)(model, s))
        .map(|p| p.name)
        .collect();
    Node {
        label: format!(
            "s{n}\nowners {{{}}}\npid_cmds_ {} queued {} in flight {}",
            owners.join(", "),
            meta.recover.pid_cmds.len(),
            queued,
            v.in_flight().count()
        ),
        violates,
        on_trace: false,
        initial: false,
    }
}

/// A graph under construction, with its states' fingerprints.
struct Builder<'m> {
    model: &'m ZbsModel,
    g: DiGraph<Node, Edge>,
    ix: HashMap<u64, NodeIndex>,
    edges: HashSet<(NodeIndex, NodeIndex)>,
}

impl Builder<'_> {
    fn add(&mut self, s: &ZbsState) -> (NodeIndex, bool) {
        let f = fp(s);
        if let Some(&i) = self.ix.get(&f) {
            return (i, false);
        }
        let i = self.g.add_node(node_of(self.model, s, self.g.node_count()));
        self.ix.insert(f, i);
        (i, true)
    }

    fn edge(&mut self, i: NodeIndex, j: NodeIndex, a: &ZbsAction) {
        if self.edges.insert((i, j)) {
            self.g.add_edge(
                i,
                j,
                Edge {
                    label: action_label(self.model, a),
                    on_trace: false,
                },
            );
        }
    }
}

/// The graph: every reachable state if there are at most `max_nodes`, else the trace's
/// neighbourhood. Returns the graph and whether it is the whole state space.
pub fn graph(
    model: &ZbsModel,
    trace: &crate::engine::Trace<ZbsState, ZbsAction>,
    max_nodes: usize,
) -> (DiGraph<Node, Edge>, bool) {
    let fresh = || Builder {
        model,
        g: DiGraph::new(),
        ix: HashMap::new(),
        edges: HashSet::new(),
    };
    // Whole state space, breadth first, if it is small enough.
    let mut b = fresh();
    let mut complete = true;
    let mut queue = VecDeque::new();
    for s in model.init_states() {
        let (i, _) = b.add(&s);
        b.g[i].initial = true;
        queue.push_back((s, i));
    }
    'explore: while let Some((s, i)) = queue.pop_front() {
        for (a, next) in model.next_steps(&s) {
            if b.g.node_count() >= max_nodes && !b.ix.contains_key(&fp(&next)) {
                complete = false;
                break 'explore;
            }
            let (j, new) = b.add(&next);
            b.edge(i, j, &a);
            if new {
                queue.push_back((next, j));
            }
        }
    }
    let mut states = vec![trace.init.clone()];
    states.extend(trace.steps.iter().map(|(_, s)| s.clone()));
    if !complete {
        // Too big: the trace's states and their direct successors only.
        b = fresh();
        for (k, s) in states.iter().enumerate() {
            let (i, _) = b.add(s);
            b.g[i].initial |= k == 0;
            for (a, next) in model.next_steps(s) {
                let (j, _) = b.add(&next);
                b.edge(i, j, &a);
            }
        }
    }
    let mut prev: Option<NodeIndex> = None;
    for s in &states {
        let (i, _) = b.add(s);
        b.g[i].on_trace = true;
        if let Some(p) = prev
            && let Some(e) = b.g.find_edge(p, i)
        {
            b.g[e].on_trace = true;
        }
        prev = Some(i);
    }
    (b.g, complete)
}

fn quote(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

/// DOT text of `g`.
pub fn to_dot(g: &DiGraph<Node, Edge>, title: &str) -> String {
    let edge_attr = |_, e: petgraph::graph::EdgeReference<Edge>| {
        let w = e.weight();
        if w.on_trace {
            format!(
                "label = {} color = \"#1f4fd1\" penwidth = 2.5 fontcolor = \"#1f4fd1\"",
                quote(&w.label)
            )
        } else {
            format!(
                "label = {} color = \"#999999\" fontsize = 9",
                quote(&w.label)
            )
        }
    };
    let node_attr = |_, n: (NodeIndex, &Node)| {
        let node = n.1;
        let mut label = node.label.clone();
        if !node.violates.is_empty() {
            label.push_str(&format!("\nVIOLATES {}", node.violates.join(", ")));
        }
        let mut a = format!("label = {} shape = box fontsize = 10", quote(&label));
        if !node.violates.is_empty() {
            a.push_str(" style = filled fillcolor = \"#f4a6a6\" color = \"#b3141b\"");
        }
        if node.on_trace {
            a.push_str(" penwidth = 2.5");
        }
        if node.initial {
            a.push_str(" peripheries = 2");
        }
        a
    };
    let dot = Dot::with_attr_getters(
        g,
        &[Config::EdgeNoLabel, Config::NodeNoLabel],
        &edge_attr,
        &node_attr,
    );
    let body = format!("{dot}");
    // Name the graph (petgraph writes an anonymous `digraph {`).
    body.replacen(
        "digraph {",
        &format!(
            "digraph {} {{\n    labelloc = t\n    label = {}",
            quote("zbs-mc"),
            quote(title)
        ),
        1,
    )
}

/// `--trace-format dot`.
pub fn render(cx: &Counterexample, max_nodes: usize) -> String {
    let (g, complete) = graph(cx.model, &cx.trace, max_nodes);
    let title = format!(
        "{} — {} {} ({}; {} states{})",
        cx.source.name,
        cx.property.name,
        cx.verdict_word(),
        cx.variant,
        g.node_count(),
        if complete {
            ", whole state space"
        } else {
            ", neighbourhood of the trace"
        }
    );
    to_dot(&g, &title)
}
