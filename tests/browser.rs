//! The explorer and the HTML report in headless Chromium, driven through chromedriver's
//! WebDriver HTTP API: the page loads, clicking steps into a successor, and after the bad
//! step the owner table shows `owner 5`; a screenshot of each page is saved under the
//! target directory (`browser-screenshots/`).
//!
//! Needs `chromium` and `chromedriver` (Debian: `chromium`, `chromium-driver`). Without them
//! the tests print why and pass, except under `CI=true`, where `.ci/run` installs them and
//! their absence is a failure.

mod common;

use common::model_path;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// The two tests take turns: two Chromiums at once on a 2-core CI machine only make each
/// slower, and one at a time keeps their ports and processes apart.
static BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn find_in_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// Chromium and chromedriver, or `None` (after saying why) when the test must be skipped.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = find_in_path(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find_in_path(&["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let why = format!(
                "headless-browser test skipped: {}{} not found in PATH (Debian: apt-get install chromium chromium-driver)",
                if c.is_none() { "chromium " } else { "" },
                if d.is_none() { "chromedriver" } else { "" },
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{why} — but CI=true, where .ci/run installs them"
            );
            eprintln!("{why}");
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a child process we started when the test ends, however it ends.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    try_http(port, method, path, body)
        .unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

/// [`http`] that reports a connection or read failure instead of panicking: the readiness
/// probe needs it, since a chromedriver that is still starting (or that lost its port to
/// another process) refuses connections.
fn try_http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(WAIT))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // chromedriver may keep the connection open: read the headers, then exactly the body.
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line)?;
        if n == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let lower = head.to_ascii_lowercase();
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let body = if let Some(n) = length {
        let mut buf = vec![0; n];
        r.read_exact(&mut buf)?;
        String::from_utf8_lossy(&buf).into_owned()
    } else if lower.contains("transfer-encoding: chunked") {
        read_chunked(&mut r)
    } else {
        let mut rest = String::new();
        r.read_to_string(&mut rest)?;
        rest
    };
    Ok((status, body))
}

fn read_chunked(r: &mut impl BufRead) -> String {
    let mut out = Vec::new();
    loop {
        let mut size = String::new();
        r.read_line(&mut size).expect("chunk size");
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        let mut buf = vec![0; n + 2];
        r.read_exact(&mut buf).expect("chunk");
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A WebDriver session on a chromedriver we started.
struct Driver {
    port: u16,
    session: String,
    _chromedriver: Reaper,
    _profile: PathBuf,
}

impl Driver {
    fn start(chromium: &Path, chromedriver: &Path, profile: PathBuf) -> Driver {
        let (port, reaper) = ready_chromedriver(chromedriver);
        std::fs::create_dir_all(&profile).unwrap();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1400,1100",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let (status, body) = http(port, "POST", "/session", Some(&caps));
        assert_eq!(status, 200, "new session: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let session = v["value"]["sessionId"].as_str().unwrap().to_string();
        Driver {
            port,
            session,
            _chromedriver: reaper,
            _profile: profile,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, text) = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{method} {path}: {text}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// The first element matching now, if any (the page may still be rendering).
    fn try_find(&self, using: &str, value: &str) -> Option<String> {
        let (status, text) = http(
            self.port,
            "POST",
            &format!("/session/{}/element", self.session),
            Some(&json!({ "using": using, "value": value })),
        );
        let v: Value = serde_json::from_str(&text).ok().filter(|_| status == 200)?;
        v["value"]["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .map(str::to_string)
    }

    /// The first element matching, waiting for it to appear.
    fn find(&self, using: &str, value: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(id) = self.try_find(using, value) {
                return id;
            }
            assert!(start.elapsed() < WAIT, "no element {using} {value:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn css(&self, selector: &str) -> String {
        self.find("css selector", selector)
    }

    /// Clicks the successor button whose label contains `label` and waits for the explorer
    /// to show depth `depth`.
    fn step_into(&self, label: &str, depth: &str) {
        self.click(&self.find(
            "xpath",
            &format!("//button[contains(@class,'succ')][contains(., '{label}')]"),
        ));
        self.wait_text("#depth", |t| t == depth);
    }

    fn click(&self, element: &str) {
        self.cmd(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    fn text(&self, element: &str) -> String {
        self.cmd("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Waits until the text of `selector` satisfies `ok`; returns it.
    fn wait_text(&self, selector: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            if let Some(id) = self.try_find("css selector", selector) {
                let (status, text) = http(
                    self.port,
                    "GET",
                    &format!("/session/{}/element/{id}/text", self.session),
                    None,
                );
                if status == 200 {
                    let t: Value = serde_json::from_str(&text).unwrap();
                    let t = t["value"].as_str().unwrap_or("").to_string();
                    if ok(&t) {
                        return t;
                    }
                    if start.elapsed() > WAIT {
                        panic!("{selector}: text never matched; last: {t}");
                    }
                }
            }
            assert!(start.elapsed() < WAIT, "{selector} never appeared");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().unwrap());
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, &png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }
}

/// A chromedriver answering `/status` with `ready: true`, on a port of its own. The port
/// comes from binding port 0 and closing it, so another process (the explorer the other
/// test starts, say) may take it first: then chromedriver exits, and we start it again on a
/// new port rather than fail.
fn ready_chromedriver(chromedriver: &Path) -> (u16, Reaper) {
    let start = Instant::now();
    'spawn: loop {
        let port = free_port();
        let mut reaper = Reaper(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        loop {
            assert!(start.elapsed() < WAIT, "chromedriver did not become ready");
            if let Ok((_, status)) = try_http(port, "GET", "/status", None)
                && status.contains("\"ready\":true")
            {
                return (port, reaper);
            }
            if reaper.0.try_wait().ok().flatten().is_some() {
                continue 'spawn;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// This test's turn with the browser ([`BROWSER`]), Chromium, chromedriver and a fresh working
/// directory; `None` when the test must be skipped ([`browser`]).
fn browser_turn(
    name: &str,
) -> Option<(
    std::sync::MutexGuard<'static, ()>,
    PathBuf,
    PathBuf,
    PathBuf,
)> {
    let turn = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (chromium, chromedriver) = browser()?;
    Some((turn, chromium, chromedriver, workdir(name)))
}

fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("browser-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn zbs_mc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(args)
        .output()
        .unwrap()
}

/// Checks incident A (exit 1: the leak) writing `flag dir/file`; returns that file's path.
fn check_incident_a(dir: &Path, flag: &str, file: &str) -> PathBuf {
    let path = dir.join(file);
    let model = model_path("incident-a-lease-leak.toml");
    let out = zbs_mc(&[
        "check",
        model.to_str().unwrap(),
        flag,
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    path
}

#[test]
fn explorer_steps_from_a_counterexample_into_the_leak() {
    let Some((_one_browser_at_a_time, chromium, chromedriver, dir)) = browser_turn("explorer")
    else {
        return;
    };
    let trace = check_incident_a(&dir, "--out", "a.json");

    // The explorer, on loopback, any free port; it prints its address.
    let mut child = Command::new(env!("CARGO_BIN_EXE_zbs-mc"))
        .args(["explore", "--from", trace.to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _explorer = Reaper(child);
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "loopback: {url}");

    let d = Driver::start(&chromium, &chromedriver, dir.join("profile"));
    d.goto(&url);
    // The page opens at the trace's last state: the leak.
    d.wait_text("#depth", |t| t == "5");
    let title = d.cmd("GET", "/title", None);
    assert!(title.as_str().unwrap().contains("zbs-mc explorer"));
    assert!(d.text(&d.css("#banner")).contains("no_leaked_owner"));

    // Back to the state after step 2 (before DoScan): pid 3133 has no owner.
    d.click(&d.css("button.crumb[data-depth=\"2\"]"));
    d.wait_text("#depth", |t| t == "2");
    let owners = d.wait_text("table.owners", |t| t.contains("3133"));
    assert!(owners.contains("3133 no owner"), "{owners}");

    // Click into successors: DoScan creates owner 5; the topology update revokes the command.
    d.step_into("timer: DoScan", "3");
    let owners = d.wait_text("table.owners", |t| t.contains("owner 5"));
    assert!(owners.contains("3133 owner 5"), "{owners}");
    d.step_into("topology update", "4");
    d.step_into("receives UpdateTopo(chunk-5)", "5");
    let owners = d.wait_text("table.owners", |t| t.contains("owner 5"));
    assert!(
        owners.contains("3133 owner 5 no"),
        "owner 5, not cached: {owners}"
    );
    assert!(
        d.text(&d.css("#banner"))
            .contains("violated here: no_leaked_owner")
    );
    assert!(
        d.text(&d.css("table.invariants"))
            .contains("no_leaked_owner VIOLATED")
    );
    assert!(d.text(&d.css("#seq")).contains("RevokeRecoverCmds(5)"));
    d.screenshot("explorer.png");
}

#[test]
fn report_steps_through_the_counterexample() {
    let Some((_one_browser_at_a_time, chromium, chromedriver, dir)) = browser_turn("report") else {
        return;
    };
    let html = check_incident_a(&dir, "--report", "a.html");

    let d = Driver::start(&chromium, &chromedriver, dir.join("profile"));
    d.goto(&format!("file://{}", html.display()));
    let title = d.cmd("GET", "/title", None);
    assert!(title.as_str().unwrap().contains("incident-a-lease-leak"));
    // Opens at the last step.
    let shown = d.wait_text(".state.shown h3", |t| !t.is_empty());
    assert!(shown.contains("after step 5"), "{shown}");

    d.click(&d.css("button.step[data-step=\"2\"]"));
    let owners = d.wait_text(".state.shown table.owners", |t| t.contains("3133"));
    assert!(owners.contains("3133 no owner"), "{owners}");

    // One click steps into the successor: DoScan made chunk 5 the owner.
    d.click(&d.css("button.step[data-step=\"3\"]"));
    let owners = d.wait_text(".state.shown table.owners", |t| t.contains("owner 5"));
    assert!(owners.contains("3133 owner 5"), "{owners}");

    // The bad step, from the step table: the owner stays, the invariant fails.
    d.click(&d.css("tr.steprow[data-step=\"5\"]"));
    let owners = d.wait_text(".state.shown table.owners", |t| t.contains("owner 5"));
    assert!(owners.contains("3133 owner 5 no"), "{owners}");
    assert!(
        d.text(&d.css(".state.shown table.invariants"))
            .contains("no_leaked_owner VIOLATED")
    );
    d.screenshot("report.png");
}
