//! `conform --infer`: a model file from what a log reveals, for a log that comes without one.
//!
//! A meta log names the chunks, the pids and (in `[RECOVER]` leases and `[REPLACE REPLICA]`
//! responses) the pids' locations, epochs, `expected_replica_num` and `preferred_cid`; it does
//! not name the topology, the chunks' space or how many scans ran. What the log leaves out is
//! chosen by the rules below (specs/conform.md, "--infer"), each written into the inferred
//! file as a comment so that the user can correct it and rerun with `--model`:
//!
//! - **Location** of a pid before the log: the lease's `location` on its first `[RECOVER]`;
//!   else its first `[REPLACE REPLICA]` response with `dst_chunk` put back to `src_chunk`;
//!   else the location of a pid that got the same command (`src`, `dst`, `replace`) and whose
//!   location the log shows (one scan placed both alike, as pids 3133 and 3134 of incident A);
//!   else `src` and `replace` alone.
//! - **Topology**: one zone and one rack, each chunk on a brick of its own, except that the
//!   `src` of a migrate (`src == replace`) shares a brick with another replica of its pid's
//!   location (its first one that is neither `src` nor the preferred cid) — the simplest
//!   topology under which the topology-safety scan proposes that migrate. A topology update's
//!   new parent that is not the root is a brick of its own.
//! - **Space**: capacity 100, 20 used on every chunk (low load); **slots**: 128.
//! - **Budgets**: one scan and one migrate scan per logged `add recover cmd`, plus one each;
//!   each scan walks one pid (`scan_extents_num = 1`); one topology update per logged
//!   `[UPDATE TOPO OBJ]` of a chunk; no app IO, no chunk failure.
//! - A recover (`src != replace`) marks `replace` dead in the pid's alive location.

use super::event::{Event, LogEvent};
use crate::domain::topology::ROOT;
use crate::domain::{Cid, Pid};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// What the log says about one pid, before the rules fill the gaps.
#[derive(Clone, Debug, Default)]
struct Seen {
    location: Option<(Vec<Cid>, String)>,
    epoch: Option<u64>,
    expected: Option<u8>,
    preferred: Option<Cid>,
    /// Its first command: `(src, dst, replace)`.
    first_cmd: Option<(Cid, Cid, Cid)>,
    /// Chunks a recover replaced (dead replicas).
    dead: BTreeSet<Cid>,
}

/// The inferred model file (TOML, with comments saying where each value comes from), or why
/// the log reveals too little for one.
pub fn infer(name: &str, events: &[LogEvent]) -> Result<String, String> {
    let mut pids: BTreeMap<Pid, Seen> = BTreeMap::new();
    let mut chunks: BTreeSet<Cid> = BTreeSet::new();
    let mut updates: Vec<(Cid, String, usize)> = Vec::new();
    let mut cmds = 0usize;
    let mut note = |cs: &[Cid]| chunks.extend(cs.iter().copied().filter(|&c| c != 0));
    for e in events {
        let line = e.origin.line;
        match &e.event {
            Event::CmdAdded {
                pid,
                src,
                dst,
                replace,
                owner,
                by_rpc: _,
            } => {
                cmds += 1;
                note(&[*src, *dst, *replace]);
                note(&owner.iter().copied().collect::<Vec<_>>());
                let s = pids.entry(*pid).or_default();
                s.first_cmd.get_or_insert((*src, *dst, *replace));
                if src != replace && *replace != 0 {
                    s.dead.insert(*replace);
                }
            }
            Event::TopoUpdated {
                cid: Some(c),
                new_parent,
                request_only: false,
                ..
            } => {
                note(&[*c]);
                updates.push((*c, new_parent.clone(), line));
            }
            Event::TopoUpdated { .. } => {}
            Event::RecoverSent {
                pid,
                owner,
                src,
                dst,
                replace,
                epoch,
                location,
                ..
            } => {
                note(&[*owner, *src, *dst, *replace]);
                let s = pids.entry(*pid).or_default();
                s.first_cmd.get_or_insert((*src, *dst, *replace));
                s.epoch.get_or_insert(*epoch);
                if let Some(l) = location {
                    note(l);
                    s.location
                        .get_or_insert_with(|| (l.clone(), format!("[RECOVER] at line {line}")));
                }
            }
            Event::ReplaceReplica {
                pid,
                src,
                dst,
                epoch,
                ok,
                location,
                expected_replicas,
                preferred_cid,
                ..
            } => {
                note(&[*src, *dst]);
                let s = pids.entry(*pid).or_default();
                s.epoch.get_or_insert(*epoch);
                if let Some(n) = expected_replicas {
                    s.expected.get_or_insert(*n);
                }
                if let Some(c) = preferred_cid {
                    note(&[*c]);
                    s.preferred.get_or_insert(*c);
                }
                if let (true, Some(after)) = (ok, location) {
                    note(after);
                    let before: Vec<Cid> = after
                        .iter()
                        .filter_map(|&c| match (c == *dst, *src) {
                            (false, _) => Some(c),
                            (true, 0) => None,
                            (true, s) => Some(s),
                        })
                        .collect();
                    s.location.get_or_insert_with(|| {
                        (
                            before,
                            format!("[REPLACE REPLICA] at line {line}, dst put back to src"),
                        )
                    });
                }
            }
            Event::OwnerReleased { pid, .. }
            | Event::RecoverNotified { pid }
            | Event::RecoverEnded { pid, .. } => {
                pids.entry(*pid).or_default();
            }
            Event::Other { .. } => {}
        }
    }
    if pids.is_empty() {
        return Err(
            "the log names no pid in a line the model reads (add recover cmd, \
             [RECOVER], [REPLACE REPLICA], Release owner): nothing to infer a model from"
                .into(),
        );
    }
    // Borrowed locations: a pid the log shows no location of, from a pid with the same command.
    let known: Vec<(Pid, Seen)> = pids
        .iter()
        .filter(|(_, s)| s.first_cmd.is_some() && s.location.is_some())
        .map(|(p, s)| (*p, s.clone()))
        .collect();
    // Pids the log names only in lines that show neither a command nor a location (a
    // `Release owner` of some other pid): left out, their lines then out of the model's scope.
    let mut left_out: Vec<Pid> = Vec::new();
    for (pid, s) in pids.iter_mut() {
        if s.location.is_some() {
            continue;
        }
        let same = s
            .first_cmd
            .and_then(|c| known.iter().find(|(_, k)| k.first_cmd == Some(c)));
        match (same, s.first_cmd) {
            (Some((other, k)), _) => {
                let loc = k.location.clone().expect("known pids have a location").0;
                s.location = Some((
                    loc,
                    format!("not in the log; pid {other}'s, which got the same command"),
                ));
                s.epoch = s.epoch.or(k.epoch);
                s.expected = s.expected.or(k.expected);
                s.preferred = s.preferred.or(k.preferred);
            }
            (None, Some((src, _, replace))) => {
                let loc: Vec<Cid> = [src, replace]
                    .into_iter()
                    .filter(|&c| c != 0)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                s.location = Some((loc, "not in the log: its command's src and replace".into()));
            }
            (None, None) => left_out.push(*pid),
        }
    }
    for pid in &left_out {
        pids.remove(pid);
    }
    if pids.is_empty() {
        return Err(format!(
            "the log shows no command and no location for any pid it names ({} of them): \
             give a model file (--model)",
            left_out.len()
        ));
    }
    if chunks.is_empty() {
        return Err("the log names no chunk: nothing to infer a model from".into());
    }
    // Bricks: each chunk on its own, a migrate's src beside another replica.
    let mut brick: BTreeMap<Cid, Cid> = chunks.iter().map(|&c| (c, c)).collect();
    let mut shared = Vec::new();
    for (pid, s) in &pids {
        let (Some((src, _, replace)), Some((loc, _))) = (s.first_cmd, &s.location) else {
            continue;
        };
        if src != replace || brick[&src] != src {
            continue;
        }
        if let Some(&beside) = loc
            .iter()
            .find(|&&c| c != src && Some(c) != s.preferred && brick[&c] == c)
        {
            brick.insert(src, beside);
            shared.push(format!(
                "chunk {src} shares brick-{beside} with chunk {beside}: pid {pid}'s migrate off {src}"
            ));
        }
    }
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "# Inferred by `zbs-mc conform --infer` from the log: what the log does not show is\n\
         # chosen by the rules of specs/conform.md (\"--infer\"), noted beside each value.\n\
         # Correct what you know better and rerun with --model this-file.toml."
    );
    if !left_out.is_empty() {
        let shown: Vec<String> = left_out.iter().take(20).map(|p| p.to_string()).collect();
        let _ = writeln!(
            w,
            "# Left out: {} pid(s) the log names with no command and no location ({}{}); \
             their lines are out of this model's scope.",
            left_out.len(),
            shown.join(", "),
            if left_out.len() > 20 { ", …" } else { "" }
        );
    }
    let _ = writeln!(w, "name = {}", toml_str(name));
    let _ = writeln!(
        w,
        "description = \"Inferred from a meta log: {} chunks, {} pids.\"\n",
        chunks.len(),
        pids.len()
    );
    let _ = writeln!(w, "[cluster]\nmax_recover_cmds_per_chunk = 128");
    let _ = writeln!(w, "scan_extents_num = 1  # each migrate scan walks one pid");
    for line in &shared {
        let _ = writeln!(w, "# {line}");
    }
    let _ = writeln!(
        w,
        "topology = [\n  {{ name = \"zone-default\", level = \"zone\", parent = \"topo\" }},\n  \
         {{ name = \"rack-1\", level = \"rack\", parent = \"zone-default\" }},"
    );
    let bricks: BTreeSet<Cid> = brick.values().copied().collect();
    for b in &bricks {
        let _ = writeln!(
            w,
            "  {{ name = \"brick-{b}\", level = \"brick\", parent = \"rack-1\" }},"
        );
    }
    let parents: BTreeSet<&str> = updates
        .iter()
        .map(|(_, p, _)| p.as_str())
        .filter(|p| *p != ROOT && !is_brick_name(p, &bricks))
        .collect();
    for p in &parents {
        let _ = writeln!(
            w,
            "  {{ name = {}, level = \"brick\", parent = \"rack-1\" }},  # a topology update's new parent",
            toml_str(p)
        );
    }
    let _ = writeln!(
        w,
        "]\nchunks = [  # capacity and use not in the log: low load"
    );
    for c in &chunks {
        let _ = writeln!(
            w,
            "  {{ cid = {c}, parent = \"brick-{}\", capacity = 100, used = 20 }},",
            brick[c]
        );
    }
    let _ = writeln!(w, "]");
    for (pid, s) in &pids {
        let (loc, whence) = s.location.clone().expect("every pid has a location by now");
        let _ = writeln!(w, "\n[[pids]]\npid = {pid}");
        let _ = writeln!(w, "location = {loc:?}  # {whence}");
        let alive: Vec<Cid> = loc
            .iter()
            .copied()
            .filter(|c| !s.dead.contains(c))
            .collect();
        if alive.len() != loc.len() {
            let _ = writeln!(
                w,
                "alive_location = {alive:?}  # a recover replaced {:?}",
                s.dead
            );
        }
        match s.expected {
            Some(n) => {
                let _ = writeln!(w, "expected_replicas = {n}");
            }
            None => {
                let _ = writeln!(
                    w,
                    "expected_replicas = {}  # not in the log: the location's size",
                    loc.len().max(1)
                );
            }
        }
        if let Some(c) = s.preferred {
            let _ = writeln!(w, "preferred_cid = {c}");
        }
        match s.epoch {
            Some(e) => {
                let _ = writeln!(w, "epoch = {e}");
            }
            None => {
                let _ = writeln!(w, "epoch = 1  # not in the log");
            }
        }
    }
    let _ = writeln!(
        w,
        "\n[budgets]\nscans = {n}          # {cmds} logged command(s), plus one\n\
         migrate_scans = {n}\ntopo_updates = {}\napp_io = 0",
        updates.len(),
        n = (cmds + 1).min(255),
    );
    for (c, p, line) in &updates {
        let _ = writeln!(
            w,
            "\n[[topology_updates]]  # line {line}\nchunk = {c}\nnew_parent = {}",
            toml_str(p)
        );
    }
    Ok(out)
}

fn is_brick_name(p: &str, bricks: &BTreeSet<Cid>) -> bool {
    p.strip_prefix("brick-")
        .and_then(|n| n.parse::<Cid>().ok())
        .is_some_and(|n| bricks.contains(&n))
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Why no model could be inferred.
#[derive(Debug)]
pub enum InferError {
    /// Malformed lines (named by file and line), as `conform` reports them.
    Parse(Vec<super::parse::ParseError>),
    /// The log reveals too little.
    Reveals(String),
}

/// [`infer`] on log files `(name, text)`, read and merged as `conform` reads them.
pub fn infer_files(name: &str, files: &[(String, String)]) -> Result<String, InferError> {
    let parsed: Vec<super::parse::ParsedFile> = files
        .iter()
        .enumerate()
        .map(|(i, (n, text))| super::parse::parse_file(i, n, text))
        .collect();
    let errors: Vec<_> = parsed.iter().flat_map(|p| p.errors.clone()).collect();
    if !errors.is_empty() {
        return Err(InferError::Parse(errors));
    }
    let mut events = super::parse::merge(parsed);
    super::parse::resolve(&mut events);
    infer(name, &events).map_err(InferError::Reveals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::parse::{merge, parse_file, resolve};

    fn inferred(log: &str) -> String {
        let mut events = merge(vec![parse_file(0, "t.log", log)]);
        resolve(&mut events);
        infer("t", &events).unwrap()
    }

    #[test]
    fn a_replace_replica_gives_the_location_before_it() {
        let t = inferred(
            "I0802 23:16:43.267257  9843 meta_rpc_server.cc:1987] [REPLACE REPLICA]: [REQUEST]: \
             session: \"s\" pid: 7 src_chunk: 5 dst_chunk: 1 epoch: 9 reset_location_to_dst: false, \
             [RESPONSE]: ST:OK, pid: 7 location: 66052 expected_replica_num: 3 preferred_cid: 4\n",
        );
        assert!(
            t.contains("location = [4, 2, 5]  # [REPLACE REPLICA] at line 1"),
            "{t}"
        );
        assert!(
            t.contains("expected_replicas = 3\npreferred_cid = 4\nepoch = 9"),
            "{t}"
        );
        // src_chunk 0: a recover filled an empty place, which was not there before.
        let t = inferred(
            "I0703 21:01:19.121897 12378 meta_rpc_server.cc:1989] [REPLACE REPLICA]: [REQUEST]: \
             session: \"s\" pid: 363459 src_chunk: 0 dst_chunk: 2 epoch: 409375, [RESPONSE]: \
             ST:OK, pid: 363459 location: 513 expected_replica_num: 2\n",
        );
        assert!(t.contains("location = [1]"), "{t}");
        assert!(t.contains("expected_replicas = 2"), "{t}");
    }

    #[test]
    fn a_recover_marks_the_replaced_chunk_dead_and_a_migrate_shares_a_brick() {
        let t = inferred(
            "I0802 23:16:11.647876 58510 recover_manager.cc:414] add recover cmd for pid: 8 src: 2 dst: 3 replace: 1 owner: 2\n",
        );
        assert!(t.contains("location = [1, 2]  # not in the log"), "{t}");
        assert!(t.contains("alive_location = [2]"), "{t}");
        assert!(
            !t.contains("shares brick"),
            "a recover is not a migrate: {t}"
        );
        let t = inferred(
            "I0802 23:16:11.647876 58510 recover_manager.cc:414] add recover cmd for pid: 8 src: 5 dst: 1 replace: 5 owner: 5\n",
        );
        // A migrate whose location the log never shows: only its src is known, no brick to
        // share (the incident-A test of tests/conform.rs shows the shared brick).
        assert!(
            t.contains("location = [5]") && !t.contains("shares brick"),
            "{t}"
        );
    }

    #[test]
    fn a_pid_with_no_command_and_no_location_is_left_out() {
        let t = inferred(
            "I0802 23:16:11.647876 58510 recover_manager.cc:414] add recover cmd for pid: 8 src: 5 dst: 1 replace: 5 owner: 5\n\
             I0803 00:17:02.000100 12378 access_manager.cc:1905] Release owner : pid: 9 session: s\n",
        );
        assert!(
            t.contains("# Left out: 1 pid(s) the log names with no command and no location (9)"),
            "{t}"
        );
        assert!(t.contains("pid = 8") && !t.contains("pid = 9"), "{t}");
        let mut events = merge(vec![parse_file(
            0,
            "t.log",
            "I0803 00:17:02.000100 12378 access_manager.cc:1905] Release owner : pid: 9 session: s\n",
        )]);
        resolve(&mut events);
        assert!(
            infer("t", &events)
                .unwrap_err()
                .contains("no command and no location for any pid")
        );
    }

    #[test]
    fn a_log_without_pids_is_refused() {
        let mut events = merge(vec![parse_file(0, "t.log", "noise\n")]);
        resolve(&mut events);
        assert!(infer("t", &events).unwrap_err().contains("names no pid"));
    }
}
