//! Log lines → typed [`LogEvent`]s. Pure: text in, events (or errors naming their line) out.
//!
//! Reads three shapes of line:
//! - glog lines of a meta leader or a chunk (`I0802 23:16:11.647876 58510
//!   recover_manager.cc:414] add recover cmd …`), with or without a leading `grep -n` prefix
//!   (`22060:`);
//! - the model's own trace text (`check` / `trace` output: `        meta    recover_manager.cc]
//!   add recover cmd …`, `        chunk-5 [NORMAL RECOVER END] …`), whose lines carry no
//!   time, so their order is the file's;
//! - bare messages (`Get recover notification: pid: 8`), as the notes quote chunk logs.
//!
//! A line of a known kind that does not read as that kind is an error naming its file and
//! line; any other line is counted as unknown and skipped. Nothing here panics on any input
//! (`tests/conform_parse.rs` feeds it random and mutated lines).

use super::event::{Event, Kind, LogEvent, Origin, Session};
use crate::domain::pextent::unpack_location;
use crate::domain::{Cid, Pid};
use regex::Regex;
use std::fmt;
use std::sync::OnceLock;

/// A known line that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ParseError {
    /// The file's name as given.
    pub file: String,
    /// 1-based line in the file.
    pub physical: usize,
    /// The log's own line number (`grep -n` prefix), when it differs.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.physical)?;
        if self.line != self.physical {
            write!(f, "(log line {}) ", self.line)?;
        }
        write!(f, "{}", self.message)
    }
}

/// What one file held.
#[derive(Clone, Debug, Default)]
pub struct ParsedFile {
    pub events: Vec<LogEvent>,
    /// Lines read.
    pub lines: usize,
    /// Lines of no known kind (skipped).
    pub unknown: usize,
    /// The model's remarks (`# model: …` lines of its trace text), skipped.
    pub remarks: usize,
    /// `[UPDATE TOPO OBJ]` lines meta answered with an error: nothing moved.
    pub refused_topo: usize,
    /// `counterexample for <property>` headers of the model's trace text: the events of the
    /// first section only are kept (each section is a separate behaviour).
    pub sections: Vec<String>,
    pub errors: Vec<ParseError>,
}

struct Patterns {
    glog: Regex,
    glog_like: Regex,
    grep_n: Regex,
    trace: Regex,
    src_file: Regex,
    section: Regex,
    cmd_added: Regex,
    topo_parent: Regex,
    topo_name: Regex,
    topo_model_cid: Regex,
    topo_id: Regex,
    topo_status: Regex,
    recover_pid: Regex,
    recover_owner: Regex,
    owner_cid: Regex,
    uuid: Regex,
    recover_tail: Regex,
    location: Regex,
    replace_req: Regex,
    replace_resp: Regex,
    expected_num: Regex,
    preferred: Regex,
    release: Regex,
    pid: Regex,
    src_cid: Regex,
    dst_cid: Regex,
    replace_cid: Regex,
    epoch: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let r = |s: &str| Regex::new(s).expect("a valid pattern");
        Patterns {
            glog: r(
                r"^([IWEF])(\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6}) +(\d+) ([A-Za-z0-9_.+/-]+:\d+)\] ?(.*)$",
            ),
            glog_like: r(r"^[IWEF]\d{4} "),
            grep_n: r(r"^(\d+)[:-]([IWEF]\d{4} .*)$"),
            trace: r(r"^\s+(meta|chunk-\d+|operator|client)\s+(.*)$"),
            src_file: r(r"^([A-Za-z0-9_./-]+\.(?:cc|h|cpp)(?::\d+)?)\] ?(.*)$"),
            section: r(r"^(?:counterexample|example) for (\w+)"),
            cmd_added: r(
                r"add recover cmd (by rpc )?for pid: (\d+) src: (\d+) dst: (\d+) replace: (\d+)(?: owner: (\d+))?",
            ),
            topo_parent: r(r#"new_parent_id: "([^"]*)""#),
            topo_name: r(r#"name: "chunk-(\d+)-([^"]*)""#),
            topo_model_cid: r(r"\[UPDATE TOPO OBJ\](?:: \[REQUEST\]:)? chunk-(\d+)\b"),
            topo_id: r(r#"\[REQUEST\]: id: "([^"]*)""#),
            topo_status: r(r"\[RESPONSE\]: ST:(\w+)"),
            recover_pid: r(r"\[RECOVER\]: pid: (\d+)"),
            recover_owner: r(r"owner \{([^{}]*)\}"),
            owner_cid: r(r"\bcid: (\d+)"),
            uuid: r(r#"\buuid: "([^"]*)""#),
            recover_tail: r(
                r"dst_chunk: (\d+) replace_chunk: (\d+) src_chunk: (\d+) is_migrate: (true|false) epoch: (\d+)",
            ),
            location: r(r" location: (\d+)"),
            replace_req: r(
                r#"\[REQUEST\]: (?:session: "([^"]*)" )?pid: (\d+) src_chunk: (\d+) dst_chunk: (\d+) epoch: (\d+)"#,
            ),
            replace_resp: r(r"\[RESPONSE\]: (?:ST:(\w+)|refused: ?(.*))"),
            expected_num: r(r"\bexpected_replica_num: (\d+)"),
            preferred: r(r"\bpreferred_cid: (\d+)"),
            release: r(r"Release owner : pid: (\d+) session: (\S+)"),
            pid: r(r"\bpid: (\d+)"),
            src_cid: r(r"\bsrc_cid: (\d+)"),
            dst_cid: r(r"\bdst_cid: (\d+)"),
            replace_cid: r(r"\breplace_cid: (\d+)"),
            epoch: r(r"\bepoch: (\d+)"),
        }
    })
}

/// Reads a number a pattern captured; too large for its type is an error.
fn num<T: std::str::FromStr>(caps: &regex::Captures, i: usize, what: &str) -> Result<T, String> {
    let s = caps.get(i).map(|m| m.as_str()).unwrap_or("");
    s.parse()
        .map_err(|_| format!("{what} {s:?} is not a number in range"))
}

fn cid(caps: &regex::Captures, i: usize, what: &str) -> Result<Cid, String> {
    num::<Cid>(caps, i, what).map_err(|_| {
        format!(
            "{what} {:?} is not a chunk id (1..=255, 0 for none)",
            caps.get(i).map_or("", |m| m.as_str())
        )
    })
}

/// A packed location (`328196`) decoded (`[4, 2, 5]`).
fn location(caps: &regex::Captures, i: usize) -> Result<Vec<Cid>, String> {
    num::<u64>(caps, i, "location").map(unpack_location)
}

fn first<'t>(re: &Regex, msg: &'t str, what: &str) -> Result<regex::Captures<'t>, String> {
    re.captures(msg).ok_or_else(|| format!("no {what}"))
}

fn field<T: std::str::FromStr>(re: &Regex, msg: &str, what: &str) -> Result<T, String> {
    num(&first(re, msg, what)?, 1, what)
}

fn field_cid(re: &Regex, msg: &str, what: &str) -> Result<Cid, String> {
    cid(&first(re, msg, what)?, 1, what)
}

fn session(s: &str) -> Session {
    let s = s.trim_matches('"').trim_end_matches(',');
    match s.strip_prefix("chunk-").and_then(|c| c.parse().ok()) {
        Some(c) => Session::Cid(c),
        None => Session::Uuid(s.to_string()),
    }
}

/// What one message says: `Ok(None)` for a line of no known kind, `Err` for a known kind
/// that does not read (the message says what is missing). `operator` marks the model's
/// operator lines (a topology request, not meta's answer).
pub fn parse_message(msg: &str) -> Result<Option<Event>, String> {
    let p = patterns();
    let kind_err = |kind: &str, e: String| format!("malformed {kind} line: {e}");
    if msg.contains("add recover cmd") {
        let c = first(&p.cmd_added, msg, "`for pid: … src: … dst: … replace: …`")
            .map_err(|e| kind_err("`add recover cmd`", e))?;
        let ev = (|| {
            Ok::<_, String>(Event::CmdAdded {
                by_rpc: c.get(1).is_some(),
                pid: num(&c, 2, "pid")?,
                src: cid(&c, 3, "src")?,
                dst: cid(&c, 4, "dst")?,
                replace: cid(&c, 5, "replace")?,
                owner: match c.get(6) {
                    Some(_) => Some(cid(&c, 6, "owner")?),
                    None => None,
                },
            })
        })()
        .map_err(|e| kind_err("`add recover cmd`", e))?;
        return Ok(Some(ev));
    }
    if msg.contains("[UPDATE TOPO OBJ]") {
        let k = "[UPDATE TOPO OBJ]";
        let status = p.topo_status.captures(msg);
        let request_only = !msg.contains("[RESPONSE]");
        if let Some(s) = &status
            && &s[1] != "OK"
        {
            return Ok(Some(Event::Other {
                what: Kind::TopoUpdated,
                pid: None,
                text: format!("[UPDATE TOPO OBJ] refused: ST:{}", &s[1]),
            }));
        }
        if !request_only && status.is_none() && !msg.contains("[RESPONSE]: ST:") {
            return Err(kind_err(k, "a [RESPONSE] without ST:<status>".into()));
        }
        let new_parent = first(&p.topo_parent, msg, "new_parent_id: \"…\"")
            .map_err(|e| kind_err(k, e))?[1]
            .to_string();
        let object_id = p.topo_id.captures(msg).map(|c| c[1].to_string());
        let cid = match (p.topo_name.captures(msg), p.topo_model_cid.captures(msg)) {
            (Some(c), _) | (None, Some(c)) => {
                Some(cid(&c, 1, "chunk").map_err(|e| kind_err(k, e))?)
            }
            (None, None) => None,
        };
        if cid.is_none() && object_id.is_none() {
            return Err(kind_err(k, "neither an object id nor a chunk name".into()));
        }
        return Ok(Some(Event::TopoUpdated {
            cid,
            object_id,
            new_parent,
            request_only,
        }));
    }
    if msg.contains("[RECOVER]:") {
        let k = "[RECOVER]";
        let ev = (|| {
            let pid = field(&p.recover_pid, msg, "`[RECOVER]: pid: …`")?;
            let block = first(&p.recover_owner, msg, "`owner { … }`")?;
            let block = block.get(1).map_or("", |m| m.as_str());
            let owner = field_cid(&p.owner_cid, block, "owner cid")?;
            let owner_uuid = p.uuid.captures(block).map(|c| c[1].to_string());
            let t = first(
                &p.recover_tail,
                msg,
                "`dst_chunk … replace_chunk … src_chunk … is_migrate … epoch …`",
            )?;
            let location = match p.location.captures(msg) {
                Some(c) => Some(location(&c, 1)?),
                None => None,
            };
            Ok::<_, String>(Event::RecoverSent {
                pid,
                owner,
                owner_uuid,
                dst: cid(&t, 1, "dst_chunk")?,
                replace: cid(&t, 2, "replace_chunk")?,
                src: cid(&t, 3, "src_chunk")?,
                is_migrate: &t[4] == "true",
                epoch: num(&t, 5, "epoch")?,
                location,
            })
        })()
        .map_err(|e| kind_err(k, e))?;
        return Ok(Some(ev));
    }
    if msg.contains("[REPLACE REPLICA]") {
        let k = "[REPLACE REPLICA]";
        let ev = (|| {
            let q = first(
                &p.replace_req,
                msg,
                "`[REQUEST]: … pid … src_chunk … dst_chunk … epoch …`",
            )?;
            let r = first(&p.replace_resp, msg, "`[RESPONSE]: ST:…`")?;
            let (ok, status) = match (r.get(1), r.get(2)) {
                (Some(s), _) => (s.as_str() == "OK", format!("ST:{}", s.as_str())),
                (None, Some(why)) => (false, format!("refused: {}", why.as_str())),
                (None, None) => (false, "refused".to_string()),
            };
            let resp_at = r.get(0).map_or(0, |m| m.start());
            let location = match p.location.captures(&msg[resp_at..]) {
                Some(c) if ok => Some(location(&c, 1)?),
                _ => None,
            };
            let resp = &msg[resp_at..];
            let small = |re: &Regex| {
                re.captures(resp)
                    .and_then(|c| c[1].parse::<u64>().ok())
                    .filter(|n| *n <= u64::from(u8::MAX))
            };
            Ok::<_, String>(Event::ReplaceReplica {
                session: q.get(1).map(|s| session(s.as_str())),
                pid: num(&q, 2, "pid")?,
                src: cid(&q, 3, "src_chunk")?,
                dst: cid(&q, 4, "dst_chunk")?,
                epoch: num(&q, 5, "epoch")?,
                ok,
                location,
                status,
                expected_replicas: small(&p.expected_num).map(|n| n as u8),
                preferred_cid: small(&p.preferred).map(|n| n as Cid),
            })
        })()
        .map_err(|e| kind_err(k, e))?;
        return Ok(Some(ev));
    }
    if msg.contains("Release owner") {
        let c = first(&p.release, msg, "`Release owner : pid: … session: …`")
            .map_err(|e| kind_err("`Release owner`", e))?;
        return Ok(Some(Event::OwnerReleased {
            pid: num(&c, 1, "pid").map_err(|e| kind_err("`Release owner`", e))?,
            session: session(&c[2]),
        }));
    }
    if msg.contains("Get recover notification") {
        let pid =
            field(&p.pid, msg, "pid").map_err(|e| kind_err("`Get recover notification`", e))?;
        return Ok(Some(Event::RecoverNotified { pid }));
    }
    if msg.contains("[NORMAL RECOVER END]") {
        let k = "[NORMAL RECOVER END]";
        let ev = (|| {
            Ok::<_, String>(Event::RecoverEnded {
                pid: field(&p.pid, msg, "pid")?,
                src: field_cid(&p.src_cid, msg, "src_cid")?,
                dst: field_cid(&p.dst_cid, msg, "dst_cid")?,
                replace: field_cid(&p.replace_cid, msg, "replace_cid")?,
                epoch: field(&p.epoch, msg, "epoch")?,
            })
        })()
        .map_err(|e| kind_err(k, e))?;
        return Ok(Some(ev));
    }
    // Kinds the model does not log: read for the counts and the pid they name.
    let other = [
        ("Migrate for ", Kind::MigrateFor),
        ("Enqueue recover cmd for session", Kind::Enqueued),
        ("[COW PEXTENT]", Kind::CowPextent),
        ("[SET PEXTENT EXISTENCE]", Kind::SetExistence),
        ("There is no enough space on chunk", Kind::NoSpace),
        ("[RECOVER] Setup for pid", Kind::RecoverSetup),
        ("SYNC GENERATION START", Kind::SyncGenerationStart),
        ("FAIL TO SYNC GENERATION", Kind::SyncGenerationFailed),
        ("EXTENT GC", Kind::ExtentGc),
    ];
    for (marker, what) in other {
        if msg.contains(marker) {
            let pid = match p.pid.captures(msg) {
                Some(c) => Some(num::<Pid>(&c, 1, "pid").map_err(|e| kind_err(marker.trim(), e))?),
                None => None,
            };
            return Ok(Some(Event::Other {
                what,
                pid,
                text: msg.chars().take(200).collect(),
            }));
        }
    }
    Ok(None)
}

/// Microseconds since the start of the year of a glog time (months counted as 31 days: only
/// the order matters).
fn glog_time(c: &regex::Captures) -> Option<u64> {
    let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u64>().ok());
    let (mo, d, h, mi, s, us) = (n(2)?, n(3)?, n(4)?, n(5)?, n(6)?, n(7)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some((((((mo * 31 + d) * 24 + h) * 60 + mi) * 60 + s) * 1_000_000) + us)
}

/// Reads one file. `file` is its index among the inputs (kept in each event's origin),
/// `name` how errors name it.
pub fn parse_file(file: usize, name: &str, text: &str) -> ParsedFile {
    let p = patterns();
    let mut out = ParsedFile::default();
    // The log's own numbering: the last `grep -n` prefix seen and the physical line it was on.
    let mut numbering: Option<(usize, usize)> = None;
    let mut last_time: Option<u64> = None;
    for (ix, raw) in text.lines().enumerate() {
        let physical = ix + 1;
        out.lines += 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (line_no, body) = match p.grep_n.captures(raw) {
            Some(c) => match c[1].parse::<usize>() {
                Ok(n) => {
                    numbering = Some((n, physical));
                    (n, c.get(2).map_or("", |m| m.as_str()))
                }
                Err(_) => (physical, raw),
            },
            None => (
                numbering.map_or(physical, |(n, at)| n.saturating_add(physical - at)),
                raw,
            ),
        };
        let origin = Origin {
            file,
            physical,
            line: line_no,
        };
        let err = |message: String| ParseError {
            file: name.to_string(),
            physical,
            line: line_no,
            message,
        };
        if let Some(c) = p.section.captures(body.trim_start()) {
            out.sections.push(c[1].to_string());
            continue;
        }
        if out.sections.len() > 1 {
            // Only the first counterexample of a trace text is read.
            continue;
        }
        if body.trim_start().starts_with("# ") {
            // A remark of the model's trace text (`# model: …`), not a log line.
            out.remarks += 1;
            continue;
        }
        let (time, thread, source, msg) = if let Some(c) = p.glog.captures(body.trim_start()) {
            let time = glog_time(&c);
            if time.is_none() {
                let known = parse_message(c.get(10).map_or("", |m| m.as_str()));
                if matches!(known, Ok(Some(_)) | Err(_)) {
                    out.errors
                        .push(err("malformed glog header: bad date or time".to_string()));
                } else {
                    out.unknown += 1;
                }
                continue;
            }
            last_time = time;
            (
                time,
                c[8].parse::<u64>().ok(),
                c[9].to_string(),
                c.get(10).map_or("", |m| m.as_str()),
            )
        } else if let Some(c) = p.trace.captures(body) {
            let actor = c.get(1).map_or("", |m| m.as_str());
            let rest = c.get(2).map_or("", |m| m.as_str());
            let msg = if actor == "meta" {
                p.src_file
                    .captures(rest)
                    .and_then(|s| s.get(2))
                    .map_or(rest, |m| m.as_str())
            } else {
                rest
            };
            (last_time, None, actor.to_string(), msg)
        } else {
            if p.glog_like.is_match(body) && !matches!(parse_message(body), Ok(None)) {
                out.errors.push(err(
                    "malformed glog header (want `I0802 23:16:11.647876 58510 file.cc:414] …`)"
                        .to_string(),
                ));
                continue;
            }
            (last_time, None, String::new(), body)
        };
        match parse_message(msg) {
            Ok(Some(mut event)) => {
                // The model's operator asks; meta answers. Only meta's line is meta's event.
                if source == "operator"
                    && let Event::TopoUpdated { request_only, .. } = &mut event
                {
                    *request_only = true;
                }
                if let Event::Other {
                    what: Kind::TopoUpdated,
                    ..
                } = event
                {
                    out.refused_topo += 1;
                    continue;
                }
                out.events.push(LogEvent {
                    origin,
                    time,
                    thread,
                    source,
                    event,
                    text: body.chars().take(400).collect(),
                });
            }
            Ok(None) => out.unknown += 1,
            Err(e) => out.errors.push(err(e)),
        }
    }
    out
}

/// Merges the events of several files (rotated `zbs-metad.log.*`) by time; events of equal
/// time, and lines without a time, keep their file's order (files in the order given).
pub fn merge(files: Vec<ParsedFile>) -> Vec<LogEvent> {
    let mut all: Vec<(u64, usize, usize, LogEvent)> = Vec::new();
    for (f, parsed) in files.into_iter().enumerate() {
        let mut last = 0;
        for (i, e) in parsed.events.into_iter().enumerate() {
            let t = e.time.unwrap_or(last);
            last = t;
            all.push((t, f, i, e));
        }
    }
    all.sort_by_key(|(t, f, i, _)| (*t, *f, *i));
    all.into_iter().map(|(_, _, _, e)| e).collect()
}

/// Session uuid → cid, from `[RECOVER]` lines (`owner { uuid … cid … }`); chunk uuid → cid,
/// from `[UPDATE TOPO OBJ]` lines (`name: "chunk-<cid>-<uuid>"`, `id: "<uuid>"`). Lines
/// that name a session or chunk by uuid alone are then rewritten to cids.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct UuidMaps {
    pub sessions: std::collections::BTreeMap<String, Cid>,
    pub chunks: std::collections::BTreeMap<String, Cid>,
    /// Session uuids no line maps to a cid (their lines match any session).
    pub unmapped_sessions: std::collections::BTreeSet<String>,
}

/// Builds the uuid maps over all events and resolves what they name.
pub fn resolve(events: &mut [LogEvent]) -> UuidMaps {
    let mut maps = UuidMaps::default();
    for e in events.iter() {
        match &e.event {
            Event::RecoverSent {
                owner,
                owner_uuid: Some(u),
                ..
            } => {
                maps.sessions.insert(u.clone(), *owner);
            }
            Event::TopoUpdated {
                cid: Some(c),
                object_id: Some(id),
                ..
            } => {
                maps.chunks.insert(id.clone(), *c);
            }
            _ => {}
        }
    }
    let fix = |s: &mut Session, maps: &mut UuidMaps| {
        if let Session::Uuid(u) = s {
            match maps.sessions.get(u.as_str()) {
                Some(&c) => *s = Session::Cid(c),
                None => {
                    maps.unmapped_sessions.insert(u.clone());
                }
            }
        }
    };
    for e in events.iter_mut() {
        match &mut e.event {
            Event::ReplaceReplica {
                session: Some(s), ..
            } => fix(s, &mut maps),
            Event::OwnerReleased { session, .. } => fix(session, &mut maps),
            Event::TopoUpdated {
                cid: cid @ None,
                object_id: Some(id),
                ..
            } => {
                if let Some(&c) = maps.chunks.get(id.as_str()) {
                    *cid = Some(c);
                }
            }
            _ => {}
        }
    }
    maps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Event {
        let f = parse_file(0, "t.log", line);
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(f.events.len(), 1, "{line}");
        f.events[0].event.clone()
    }

    #[test]
    fn reads_the_incident_a_lines() {
        let e = one(
            "22060:I0802 23:16:11.647876 58510 recover_manager.cc:414] add recover cmd for pid: 3133 src: 5 dst: 1 replace: 5 owner: 5",
        );
        assert_eq!(
            e,
            Event::CmdAdded {
                pid: 3133,
                src: 5,
                dst: 1,
                replace: 5,
                owner: Some(5),
                by_rpc: false
            }
        );
        let f = parse_file(
            0,
            "t",
            "22060:I0802 23:16:11.647876 58510 recover_manager.cc:414] add recover cmd for pid: 3133 src: 5 dst: 1 replace: 5\nI0802 23:16:12.213858  9843 chunk_manager.cc:992] [UPDATE TOPO OBJ]: [REQUEST]: id: \"36e2\" new_parent_id: \"topo\", [RESPONSE]: ST:OK, type: NODE id: \"36e2\" parent_id: \"topo\" name: \"chunk-5-36e2\" create_time: 1",
        );
        assert_eq!(f.events[1].origin.line, 22061, "numbering continues");
        assert_eq!(f.events[1].origin.physical, 2);
        assert_eq!(f.events[0].source, "recover_manager.cc:414");
        assert!(f.events[0].time < f.events[1].time);
        assert_eq!(
            f.events[1].event,
            Event::TopoUpdated {
                cid: Some(5),
                object_id: Some("36e2".into()),
                new_parent: "topo".into(),
                request_only: false
            }
        );
    }

    #[test]
    fn decodes_packed_locations() {
        let e = one(
            r#"I0802 23:16:43.267257  9843 meta_rpc_server.cc:1987] [REPLACE REPLICA]: [REQUEST]: session: "afe6" pid: 3134 src_chunk: 5 dst_chunk: 1 epoch: 4354 reset_location_to_dst: false reset_generation: 18446744073709551615, [RESPONSE]: ST:OK, pid: 3134 location: 66052 expected_replica_num: 3"#,
        );
        let Event::ReplaceReplica {
            location,
            ok,
            session,
            ..
        } = e
        else {
            panic!()
        };
        assert!(ok);
        assert_eq!(location, Some(vec![4, 2, 1]));
        assert_eq!(session, Some(Session::Uuid("afe6".into())));
    }

    #[test]
    fn reads_the_models_trace_text() {
        let text = "   3. [meta] timer: DoScan\n        meta    recover_manager.cc] add recover cmd for pid: 3133 src: 5 dst: 1 replace: 5 owner: 5  (AllocOwnerForRecover created owner 5)\n        operator [UPDATE TOPO OBJ]: [REQUEST]: chunk-5 new_parent_id: \"topo\"\n        meta    chunk_manager.cc] [UPDATE TOPO OBJ] chunk-5 new_parent_id: \"topo\", [RESPONSE]: ST:OK\n        meta    access_manager.cc] [RECOVER]: pid: 3134 lease { owner { cid: 5 } } dst_chunk: 1 replace_chunk: 5 src_chunk: 5 is_migrate: true epoch: 4354\n        chunk-5 [NORMAL RECOVER END] pid: 3134 src_cid: 5 dst_cid: 1 replace_cid: 5 epoch: 4354\n        ⇒ owners: {3133: 5}";
        let f = parse_file(0, "t", text);
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        let kinds: Vec<Kind> = f.events.iter().map(|e| e.event.kind()).collect();
        assert_eq!(
            kinds,
            [
                Kind::CmdAdded,
                Kind::TopoRequested,
                Kind::TopoUpdated,
                Kind::RecoverSent,
                Kind::RecoverEnded
            ]
        );
        assert_eq!(f.unknown, 2);
    }

    #[test]
    fn a_malformed_known_line_names_its_line() {
        let f = parse_file(
            0,
            "x.log",
            "hello\n7:I0802 23:16:11.647876 58510 recover_manager.cc:414] add recover cmd for pid: 3133 src: 5 dst: 999 replace: 5",
        );
        assert_eq!(f.errors.len(), 1);
        assert_eq!(f.errors[0].to_string().split(' ').next(), Some("x.log:2:"));
        assert!(f.errors[0].to_string().contains("(log line 7)"));
        assert!(f.errors[0].message.contains("dst"), "{}", f.errors[0]);
        assert_eq!(f.unknown, 1);
    }

    #[test]
    fn sessions_map_to_cids() {
        let mut f = parse_file(
            0,
            "t",
            "[RECOVER]: pid: 1 lease { owner { uuid: \"u5\" cid: 5 } pid: 1 location: 328196 } dst_chunk: 1 replace_chunk: 5 src_chunk: 5 is_migrate: true epoch: 3\nRelease owner : pid: 1 session: u5\nRelease owner : pid: 1 session: u9",
        );
        let maps = resolve(&mut f.events);
        assert_eq!(
            f.events[1].event,
            Event::OwnerReleased {
                pid: 1,
                session: Session::Cid(5)
            }
        );
        assert!(maps.unmapped_sessions.contains("u9"));
        let Event::RecoverSent { location, .. } = &f.events[0].event else {
            panic!()
        };
        assert_eq!(location.as_deref(), Some(&[4, 2, 5][..]));
    }

    #[test]
    fn merges_rotated_files_by_time() {
        let a = parse_file(
            0,
            "a",
            "I0802 23:16:12.000000 1 f.cc:1] Release owner : pid: 2 session: chunk-1",
        );
        let b = parse_file(
            1,
            "b",
            "I0802 23:16:11.000000 1 f.cc:1] Release owner : pid: 1 session: chunk-1",
        );
        let m = merge(vec![a, b]);
        assert_eq!(m[0].event.pid(), Some(1));
        assert_eq!(m[1].origin.file, 0);
    }
}
