//! `zbs-mc explore`: a small web explorer with domain rendering. Each state is shown as the
//! meta tables (pextent table, lease owners, RecoverManager's containers, `pid_cmds_`,
//! session queues and lease caches, chunk table, topology tree), its successors are listed
//! with the meta-log lines their step produces, and the path so far is drawn as a sequence
//! diagram. Started from a saved trace (`--from`), it opens at the trace's last state, and
//! any earlier state on the path can be re-entered to branch off.
//!
//! The server is plain `std::net` (`Connection: close`), serves one page and one JSON
//! endpoint (`/api/state?path=<fp>,<fp>,…`: a path of state fingerprints from the initial
//! state), and binds wherever the caller's listener does — loopback unless told otherwise.
//! It stays up under abuse ([`ServeLimits`]): a fixed pool of worker threads takes
//! connections from a bounded queue (when both are busy, a connection is answered `503` at
//! once), a request's line and headers are read up to a size (`431` beyond) and within a
//! time (`408` after), and an accept error — file descriptors run out — backs off instead of
//! spinning.

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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How much one client may take of the explorer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// Worker threads answering requests.
    pub workers: usize,
    /// Connections accepted and waiting for a worker; beyond, `503 Service Unavailable`.
    pub queue: usize,
    /// Bytes of request line and headers; beyond, `431 Request Header Fields Too Large`.
    pub header_bytes: usize,
    /// Time to receive the request line and headers; after, `408 Request Timeout`.
    pub request_time: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            workers: 16,
            queue: 256,
            header_bytes: 16 * 1024,
            request_time: Duration::from_secs(10),
        }
    }
}

/// Why a request could not be read.
enum BadRequest {
    /// Closed, reset or unreadable: nobody to answer.
    Gone,
    TooLarge,
    TooSlow,
}

/// Reads the request line and the headers within `limits`; returns the request line.
fn read_head(stream: &TcpStream, limits: &ServeLimits) -> Result<String, BadRequest> {
    let deadline = Instant::now() + limits.request_time;
    let mut reader = BufReader::new(stream.take(limits.header_bytes as u64));
    let mut request_line = None;
    let mut line = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(BadRequest::TooSlow);
        }
        // Each read waits at most until the request's deadline.
        let _ = stream.set_read_timeout(Some(left));
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) if reader.get_ref().limit() == 0 => return Err(BadRequest::TooLarge),
            Ok(0) => return Err(BadRequest::Gone),
            Ok(_) if !line.ends_with(b"\n") => {
                return Err(if reader.get_ref().limit() == 0 {
                    BadRequest::TooLarge
                } else {
                    BadRequest::Gone
                });
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(BadRequest::TooSlow);
            }
            Err(_) => return Err(BadRequest::Gone),
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        match &request_line {
            None => request_line = Some(text),
            // The blank line that ends the headers.
            Some(_) if text == "\r\n" || text == "\n" => break,
            Some(_) => {}
        }
    }
    Ok(request_line.unwrap_or_default())
}

/// Writes one whole response and closes the connection.
fn respond(stream: &TcpStream, code: u16, ctype: &str, body: &str) {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let mut w = stream;
    let retry = if code == 503 {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    let _ = write!(
        w,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{retry}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = w.write_all(body.as_bytes());
    let _ = w.flush();
}

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

    fn handle(&self, stream: TcpStream, limits: &ServeLimits) {
        let request_line = match read_head(&stream, limits) {
            Ok(l) => l,
            Err(BadRequest::Gone) => return,
            Err(BadRequest::TooLarge) => {
                respond(&stream, 431, "text/plain", "request headers too large");
                // Closing with unread input would reset the connection before the client
                // reads the answer: stop writing, then discard a bounded amount.
                let _ = stream.shutdown(std::net::Shutdown::Write);
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = std::io::copy(&mut (&stream).take(4 << 20), &mut std::io::sink());
                return;
            }
            Err(BadRequest::TooSlow) => {
                return respond(&stream, 408, "text/plain", "request not received in time");
            }
        };
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let (code, ctype, body) = if method == "GET" {
            self.respond(target)
        } else {
            (405, "text/plain", "only GET".into())
        };
        respond(&stream, code, ctype, &body);
    }
}

/// Serves `explorer` on `listener` until the process ends, within [`ServeLimits::default`].
pub fn serve(explorer: Arc<Explorer>, listener: TcpListener) {
    serve_within(explorer, listener, ServeLimits::default())
}

/// [`serve`] within `limits`.
pub fn serve_within(explorer: Arc<Explorer>, listener: TcpListener, limits: ServeLimits) {
    let (queue, waiting) = mpsc::sync_channel::<TcpStream>(limits.queue);
    let waiting = Arc::new(Mutex::new(waiting));
    let mut workers = 0;
    for k in 0..limits.workers.max(1) {
        let (e, waiting) = (explorer.clone(), waiting.clone());
        let worker = std::thread::Builder::new()
            .name(format!("explorer-{k}"))
            .spawn(move || {
                loop {
                    // The lock is held only to take one connection.
                    let next = waiting.lock().map(|w| w.recv());
                    match next {
                        Ok(Ok(stream)) => e.handle(stream, &limits),
                        _ => return,
                    }
                }
            });
        if worker.is_ok() {
            workers += 1;
        }
    }
    let mut backoff = Duration::ZERO;
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => {
                backoff = Duration::ZERO;
                stream
            }
            Err(e) => {
                // Out of file descriptors (or another transient error): waiting frees some;
                // retrying at once would spin.
                let longest = Duration::from_secs(1);
                if backoff < longest && backoff * 2 >= longest {
                    eprintln!("explorer: accept keeps failing ({e}); retrying every second");
                }
                backoff = (backoff * 2).clamp(Duration::from_millis(10), longest);
                std::thread::sleep(backoff);
                continue;
            }
        };
        if workers == 0 {
            // No worker thread could be started: answer on this one.
            explorer.handle(stream, &limits);
            continue;
        }
        if let Err(mpsc::TrySendError::Full(stream) | mpsc::TrySendError::Disconnected(stream)) =
            queue.try_send(stream)
        {
            respond(&stream, 503, "text/plain", "the explorer is busy; retry");
        }
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
