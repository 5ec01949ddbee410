//! `zbs-mc explore`: a small web explorer with domain rendering. Each state is shown as the
//! meta tables (pextent table, lease owners, RecoverManager's containers, `pid_cmds_`,
//! session queues and lease caches, chunk table, topology tree), its successors are listed
//! with the meta-log lines their step produces, and the path so far is drawn as a sequence
//! diagram. Started from a saved trace (`--from`), it opens at the trace's last state, and
//! any earlier state on the path can be re-entered to branch off.
//!
//! The server is plain `std::net` (one thread per connection, `Connection: close`), serves
//! one page and one JSON endpoint (`/api/state?path=<fp>,<fp>,…`: a path of state
//! fingerprints from the initial state), and binds wherever the caller's listener does —
//! loopback unless told otherwise.

use crate::actors::model::{ZbsModel, ZbsState};
use crate::domain::variant::Variant;
use crate::engine::Trace;
use crate::properties::PROPERTIES;
use crate::trace::counterexample::ModelSource;
use crate::trace::dot::{action_label, fp};
use crate::trace::html::{CSS, state_tables};
use crate::trace::svg::{self, esc};
use crate::trace::{ZbsAction, describe, sequence, step_log};
use serde_json::json;
use stateright::{Expectation, Model};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// What the explorer serves.
pub struct Explorer {
    pub model: ZbsModel,
    pub source: ModelSource,
    pub variant: Variant,
    /// The path the page opens at (fingerprints after the initial state).
    pub start: Vec<u64>,
}

fn violated(model: &ZbsModel, s: &ZbsState) -> Vec<&'static str> {
    PROPERTIES
        .iter()
        .filter(|p| p.expectation == Expectation::Always && !(p.check)(model, s))
        .map(|p| p.name)
        .collect()
}

impl Explorer {
    /// Follows `path` from the initial state; `Err` names the first fingerprint not found.
    pub fn walk(&self, path: &[u64]) -> Result<Trace<ZbsState, ZbsAction>, String> {
        let init = self
            .model
            .init_states()
            .into_iter()
            .next()
            .expect("one initial state");
        let mut trace = Trace::new(init.clone());
        let mut current = init;
        for (k, want) in path.iter().enumerate() {
            let (a, s) = self
                .model
                .next_steps(&current)
                .into_iter()
                .find(|(_, s)| fp(s) == *want)
                .ok_or_else(|| format!("step {} ({want:016x}) is not a successor", k + 1))?;
            trace.push(a, s.clone());
            current = s;
        }
        Ok(trace)
    }

    /// The JSON for one state on a path.
    pub fn state_json(&self, path: &[u64]) -> Result<serde_json::Value, String> {
        let trace = self.walk(path)?;
        let steps = describe(&self.model, &trace);
        let last = trace.steps.last().map_or(&trace.init, |(_, s)| s);
        let bad = violated(&self.model, last);
        let note = (!bad.is_empty()).then(|| format!("✗ {} violated here", bad.join(", ")));
        let diagram = sequence::diagram(&self.model, &trace, &steps, note.as_deref());
        let successors: Vec<_> = self
            .model
            .next_steps(last)
            .into_iter()
            .map(|(a, s)| {
                let (actor, what, log) = step_log(&self.model, last, &a);
                json!({
                    "fp": format!("{:016x}", fp(&s)),
                    "actor": actor,
                    "action": what,
                    "label": action_label(&self.model, &a),
                    "log": log,
                    "violates": violated(&self.model, &s),
                })
            })
            .collect();
        Ok(json!({
            "depth": path.len(),
            "path": steps.iter().zip(path).map(|(st, f)| json!({
                "index": st.index, "actor": st.actor, "action": st.action,
                "fp": format!("{f:016x}"),
            })).collect::<Vec<_>>(),
            "tables": state_tables(&self.model, last),
            "violated": bad,
            "successors": successors,
            "svg": svg::render(&diagram),
        }))
    }

    /// The page.
    pub fn page(&self) -> String {
        let start: Vec<String> = self.start.iter().map(|f| format!("{f:016x}")).collect();
        let title = format!("zbs-mc explorer — {} ({})", self.source.name, self.variant);
        PAGE.replace("{{TITLE}}", &esc(&title))
            .replace("{{CSS}}", CSS)
            .replace(
                "{{START}}",
                &serde_json::to_string(&start).expect("strings"),
            )
    }

    fn respond(&self, target: &str) -> (u16, &'static str, String) {
        let (route, query) = target.split_once('?').unwrap_or((target, ""));
        match route {
            "/" | "/index.html" => (200, "text/html; charset=utf-8", self.page()),
            "/api/state" => {
                let raw = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("path="))
                    .unwrap_or("");
                let path: Result<Vec<u64>, _> = raw
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| u64::from_str_radix(s, 16))
                    .collect();
                match path
                    .map_err(|e| e.to_string())
                    .and_then(|p| self.state_json(&p))
                {
                    Ok(v) => (200, "application/json", v.to_string()),
                    Err(e) => (404, "application/json", json!({ "error": e }).to_string()),
                }
            }
            _ => (404, "text/plain", "not found".into()),
        }
    }

    fn handle(&self, stream: TcpStream) {
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let mut reader = BufReader::new(&stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        // Drain the headers.
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let (code, ctype, body) = if method == "GET" {
            self.respond(target)
        } else {
            (405, "text/plain", "only GET".into())
        };
        let reason = match code {
            200 => "OK",
            404 => "Not Found",
            _ => "Method Not Allowed",
        };
        let mut w = &stream;
        let _ = write!(
            w,
            "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = w.write_all(body.as_bytes());
        let _ = w.flush();
    }
}

/// Serves `explorer` on `listener` until the process ends.
pub fn serve(explorer: Arc<Explorer>, listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        let e = explorer.clone();
        std::thread::spawn(move || e.handle(stream));
    }
}

const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{TITLE}}</title>
<style>{{CSS}}
#path button.crumb.current{background:#1f4fd1;color:#fff}
#successors li{margin:.25em 0;list-style:none}
button.succ{ text-align:left }
button.succ .log{display:block;font-family:monospace;font-size:11.5px;color:#555}
button.succ.bad{border-color:#b3141b}
.banner{padding:.3em .6em;margin:.4em 0}
.banner.bad{background:#ffe1e1;color:#b3141b;font-weight:bold}
.banner.ok{background:#e3f5e8}
.cols{display:flex;gap:1.5em;align-items:flex-start}
.cols>section{min-width:0}
</style></head><body>
<h1>{{TITLE}}</h1>
<p>Path from the initial state (click a step to go back there and branch off), depth <span id="depth">…</span>:</p>
<div id="path"></div>
<div id="banner" class="banner"></div>
<div class="cols">
<section style="flex:3"><h2>state</h2><div id="tables">loading…</div></section>
<section style="flex:2"><h2>next steps</h2><ul id="successors"></ul></section>
</div>
<h2>sequence diagram of the path</h2><div id="seq" class="seqbox"></div>
<script>
var START = {{START}};
var path = [];
function setPath(p) { path = p; location.hash = p.join(','); load(); }
function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function load() {
  fetch('/api/state?path=' + path.join(',')).then(function (r) { return r.json(); }).then(function (d) {
    if (d.error) { document.getElementById('banner').textContent = d.error; return; }
    var p = document.getElementById('path'); p.innerHTML = '';
    var b0 = el('button', 'crumb' + (path.length === 0 ? ' current' : ''), 'initial');
    b0.dataset.depth = 0; b0.onclick = function () { setPath([]); }; p.appendChild(b0);
    d.path.forEach(function (s, i) {
      var b = el('button', 'crumb' + (i + 1 === path.length ? ' current' : ''), s.index + '. [' + s.actor + '] ' + s.action);
      b.dataset.depth = i + 1; b.onclick = function () { setPath(path.slice(0, i + 1)); }; p.appendChild(b);
    });
    var ban = document.getElementById('banner');
    ban.className = 'banner ' + (d.violated.length ? 'bad' : 'ok');
    ban.textContent = d.violated.length ? '✗ violated here: ' + d.violated.join(', ') : 'every invariant holds here';
    document.getElementById('tables').innerHTML = d.tables;
    document.getElementById('seq').innerHTML = d.svg;
    var ul = document.getElementById('successors'); ul.innerHTML = '';
    if (!d.successors.length) ul.appendChild(el('li', 'muted', 'no successor: a final state'));
    d.successors.forEach(function (s) {
      var li = el('li'); var b = el('button', 'succ' + (s.violates.length ? ' bad' : ''));
      b.dataset.fp = s.fp;
      b.appendChild(el('span', '', '[' + s.actor + '] ' + s.action + (s.violates.length ? '  ✗ ' + s.violates.join(', ') : '')));
      s.log.forEach(function (l) { b.appendChild(el('span', 'log', l)); });
      b.onclick = function () { setPath(path.concat([s.fp])); };
      li.appendChild(b); ul.appendChild(li);
    });
    document.getElementById('depth').textContent = String(d.depth);
  });
}
var fromHash = location.hash.replace(/^#/, '');
setPath(fromHash ? fromHash.split(',') : START);
</script></body></html>
"##;
