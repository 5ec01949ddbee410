//! Fuzzing the log parser with proptest (issue 16, item 14): random lines and lines mutated
//! from real and model-written ones (the fixtures, `log-samples.md`'s kinds, the shipped
//! trace text). The parser never panics, every error names its file and line, and only a
//! line of a known kind can be an error. `conform` itself is run on mutated logs too.
//!
//! The case count is proptest's default (256 per property); `PROPTEST_CASES=100000 cargo test
//! --release --test conform_parse` runs a longer campaign.

use proptest::prelude::*;
use std::path::Path;
use zbs_mc::conform::parse::{parse_file, parse_message};
use zbs_mc::conform::report::conform;
use zbs_mc::conform::search::Options;

/// The seed corpus: every line of the conform fixtures and of the shipped text report.
fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines = Vec::new();
    let dir = root.join("tests/fixtures/conform");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log" || e == "1"))
        .collect();
    files.push(root.join("reports/incident-a-default.txt"));
    files.sort();
    for f in files {
        lines.extend(
            std::fs::read_to_string(&f)
                .unwrap()
                .lines()
                .map(str::to_string),
        );
    }
    // Kinds the fixtures do not hold, as log-samples.md and the notes show them.
    lines.extend(
        [
            "I0703 21:00:04.847577 12635 recover_manager.cc:419] add recover cmd for pid: 363459 src: 1 dst: 4 replace: 0",
            "I0703 21:00:04.847577 12635 recover_manager.cc:450] add recover cmd by rpc for pid: 8 src: 4 dst: 5 replace: 1 owner: 4",
            "E0703 20:59:24.579273 12378 pextent_allocator.cc:49] There is no enough space on chunk 3 to cow pextent.",
            "I0703 20:59:24.595217 12378 meta_rpc_server.cc:2079] [SET PEXTENT EXISTENCE]: [REQUEST]: pid: 363459 origin_pid: 0 epoch: 409375 origin_epoch: 0 generation: 1, [RESPONSE]: ST:OK, , [TIME]: 1359 us.",
            "I0703 22:02:15.651685 12378 access_manager.cc:1905] Release owner : pid: 363459 session: 0cdce1ad-b4c3-4412-af9f-90383dd901bc",
            "Get recover notification: pid: 8",
            "[RECOVER] Setup for pid: 8",
            "SYNC GENERATION START",
            "FAIL TO SYNC GENERATION FROM cid: 1 pid: 8 st: EShutDown",
            "I0703 18:58:33.277525  5052 recover_handler.cc:1024] [NORMAL RECOVER END] pid: 347167 state: END cur_block: 1024 src_cid: 2 dst_cid: 1 is_migrate: true silence_ms: 0 replace_cid: 3 epoch: 393035 gen: 7",
            "Enqueue recover cmd for session : 0cdce1ad-b4c3-4412-af9f-90383dd901bc",
            "EXTENT GC CMD for pid: 9",
        ]
        .map(str::to_string),
    );
    lines
}

/// The markers of the known kinds: only a line holding one may be an error.
const MARKERS: &[&str] = &[
    "add recover cmd",
    "[UPDATE TOPO OBJ]",
    "[RECOVER]",
    "[REPLACE REPLICA]",
    "Release owner",
    "Get recover notification",
    "[NORMAL RECOVER END]",
    "Migrate for ",
    "Enqueue recover cmd",
    "[COW PEXTENT]",
    "[SET PEXTENT EXISTENCE]",
    "There is no enough space",
    "SYNC GENERATION",
    "EXTENT GC",
];

#[derive(Clone, Debug)]
enum Mutation {
    /// Delete the chars `at..at+len`.
    Delete(usize, usize),
    /// Insert a string at `at`.
    Insert(usize, String),
    /// Replace the `n`-th number by this text.
    Number(usize, String),
    /// Cut the line at `at`.
    Truncate(usize),
    /// Glue the start of another corpus line before it.
    Splice(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (any::<usize>(), "\\PC{0,12}").prop_map(|(a, s)| Mutation::Insert(a, s)),
        (
            0usize..30,
            prop_oneof![
                Just("".to_string()),
                Just("-1".to_string()),
                Just("256".to_string()),
                Just("99999999999999999999999".to_string()),
                Just("18446744073709551616".to_string()),
                Just("0".to_string()),
                Just("x".to_string()),
                "[0-9]{1,25}",
            ]
        )
            .prop_map(|(n, s)| Mutation::Number(n, s)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(o, a)| Mutation::Splice(o, a)),
    ]
}

fn char_at(s: &str, i: usize) -> usize {
    let n = s.chars().count();
    if n == 0 {
        return 0;
    }
    s.char_indices()
        .nth(i % (n + 1))
        .map_or(s.len(), |(b, _)| b)
}

fn apply(line: &str, m: &Mutation, corpus: &[String]) -> String {
    let mut s = line.to_string();
    match m {
        Mutation::Delete(a, l) => {
            let from = char_at(&s, *a);
            let to = s[from..]
                .char_indices()
                .nth(*l)
                .map_or(s.len(), |(b, _)| from + b);
            s.replace_range(from..to, "");
        }
        Mutation::Insert(a, t) => {
            let at = char_at(&s, *a);
            s.insert_str(at, t);
        }
        Mutation::Number(n, t) => {
            let spans: Vec<(usize, usize)> = regex_lite_numbers(&s);
            if !spans.is_empty() {
                let (a, b) = spans[n % spans.len()];
                s.replace_range(a..b, t);
            }
        }
        Mutation::Truncate(a) => {
            let at = char_at(&s, *a);
            s.truncate(at);
        }
        Mutation::Splice(o, a) => {
            let other = &corpus[o % corpus.len()];
            let at = char_at(other, *a);
            s = format!("{}{s}", &other[..at]);
        }
    }
    s
}

/// Byte spans of the runs of ASCII digits.
fn regex_lite_numbers(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(a)) => {
                out.push((a, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(a) = start {
        out.push((a, s.len()));
    }
    out
}

/// Parses `lines` and checks what every error says about where it is.
fn check_errors(lines: &[String]) -> Result<(), TestCaseError> {
    let text = lines.join("\n");
    let parsed = parse_file(0, "fuzz.log", &text);
    let n = text.lines().count();
    prop_assert_eq!(parsed.lines, n);
    for e in &parsed.errors {
        prop_assert!(e.physical >= 1 && e.physical <= n, "{e}");
        let shown = e.to_string();
        let prefix = format!("fuzz.log:{}: ", e.physical);
        prop_assert!(shown.starts_with(&prefix), "{shown}");
        let line = text.lines().nth(e.physical - 1).unwrap();
        prop_assert!(
            MARKERS.iter().any(|m| line.contains(m)),
            "an error on a line of no known kind: {line:?} → {shown}"
        );
    }
    for ev in &parsed.events {
        prop_assert!(ev.origin.physical >= 1 && ev.origin.physical <= n);
    }
    Ok(())
}

proptest! {
    #[test]
    fn random_lines_never_panic_and_errors_name_their_line(
        lines in proptest::collection::vec("\\PC{0,120}", 0..20)
    ) {
        check_errors(&lines)?;
        for l in &lines {
            let _ = parse_message(l);
        }
    }

    #[test]
    fn random_lines_behind_known_markers_never_panic(
        parts in proptest::collection::vec((0usize..MARKERS.len(), "[ -~]{0,80}", any::<bool>()), 1..12)
    ) {
        let lines: Vec<String> = parts
            .iter()
            .map(|(m, tail, header)| {
                format!(
                    "{}{}{tail}",
                    if *header { "I0802 23:16:11.647876 58510 x.cc:1] " } else { "" },
                    MARKERS[*m]
                )
            })
            .collect();
        check_errors(&lines)?;
    }

    #[test]
    fn mutated_lines_never_panic_and_errors_name_their_line(
        picks in proptest::collection::vec((any::<usize>(), proptest::collection::vec(mutation(), 0..4)), 1..16)
    ) {
        let corpus = corpus();
        let lines: Vec<String> = picks
            .iter()
            .map(|(i, ms)| {
                let mut l = corpus[i % corpus.len()].clone();
                for m in ms {
                    l = apply(&l, m, &corpus);
                }
                l
            })
            .collect();
        check_errors(&lines)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The whole of `conform` on a mutated fixture log: a report or parse errors naming their
    /// lines, never a panic (events with cid 0, unknown pids, huge epochs reach the search).
    #[test]
    fn conform_on_mutated_logs_never_panics(
        file in 0usize..6,
        mutations in proptest::collection::vec((any::<usize>(), mutation()), 0..6)
    ) {
        let names = [
            "delivered-and-released.log",
            "revoked-before-delivery.log",
            "out-of-order.log",
            "recover-after-revoke.log",
            "stale-epoch-replace.log",
            "incident-a.log",
        ];
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("tests/fixtures/conform").join(names[file])).unwrap();
        let corpus = corpus();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (i, m) in &mutations {
            let ix = i % lines.len();
            lines[ix] = apply(&lines[ix], m, &corpus);
        }
        let s = zbs_mc::scenario::Scenario::load(&root.join("tests/fixtures/conform/one-pid.toml")).unwrap();
        let model = zbs_mc::actors::model::build(s.model_cfg(&s.variant));
        let files = [("m.log".to_string(), lines.join("\n"))];
        match conform(&model, "m", "m", "default", &files, &Options::default()) {
            Ok(r) => {
                if let Some(u) = &r.unexplained {
                    prop_assert!(u.at.line >= 1);
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    let prefix = format!("m.log:{}: ", e.physical);
                    prop_assert!(e.to_string().starts_with(&prefix), "{}", e);
                }
            }
        }
    }
}
