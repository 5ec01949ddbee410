//! The fuzz targets of `fuzz/` (cargo-fuzz, needs nightly features) as proptests that run in
//! the normal test suite: the model-file loader and the saved-trace reader, fed mutations of
//! their seed corpora (`fuzz/corpus/model_file/` = the shipped models, `fuzz/corpus/saved_trace/`
//! = the checked-in reports), must answer with a value or an error — never panic — and what
//! they accept must build, replay and render without a panic. See specs/testing.md.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use zbs_mc::actors::model;
use zbs_mc::scenario::Scenario;
use zbs_mc::trace::counterexample::property_named;
use zbs_mc::trace::json::SavedTrace;
use zbs_mc::trace::{Counterexample, TraceFormat, replay};

fn corpus(target: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// One edit of a text: the fuzzer's usual byte-level mutations, on characters.
#[derive(Clone, Debug)]
enum Edit {
    /// Delete `len` characters at `at` (a fraction of the length).
    Delete { at: f64, len: usize },
    /// Insert `text` at `at`.
    Insert { at: f64, text: String },
    /// Replace the character at `at` with `c`.
    Replace { at: f64, c: char },
    /// Duplicate the line at `at`.
    DuplicateLine { at: f64 },
    /// Swap a number at `at` for `n` (edges: 0, huge, negative).
    Number { at: f64, n: String },
}

fn edit() -> impl Strategy<Value = Edit> {
    let frac = 0.0..1.0f64;
    let tokens = prop::sample::select(vec![
        "\"",
        "[",
        "]",
        "{",
        "}",
        "=",
        ",",
        "\n",
        "#",
        "'''",
        "\\u{0}",
        "-",
        ".",
        "[[pids]]",
        "[[chunks]]",
        "[expected.default]",
        "null",
        "true",
        "1e999",
        "\"steps\": []",
    ]);
    let numbers = prop::sample::select(vec![
        "0",
        "-1",
        "255",
        "256",
        "65535",
        "65536",
        "4294967295",
        "4294967296",
        "18446744073709551616",
        "1.5",
        "99999999999999999999999",
    ]);
    prop_oneof![
        (frac.clone(), 1..40usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (frac.clone(), tokens).prop_map(|(at, t)| Edit::Insert {
            at,
            text: t.to_string()
        }),
        (frac.clone(), any::<char>()).prop_map(|(at, c)| Edit::Replace { at, c }),
        frac.clone().prop_map(|at| Edit::DuplicateLine { at }),
        (frac, numbers).prop_map(|(at, n)| Edit::Number {
            at,
            n: n.to_string()
        }),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let pos = |at: f64, len: usize| ((at * len as f64) as usize).min(len);
    for e in edits {
        match e {
            Edit::Delete { at, len } => {
                let i = pos(*at, chars.len());
                let j = (i + len).min(chars.len());
                chars.drain(i..j);
            }
            Edit::Insert { at, text } => {
                let i = pos(*at, chars.len());
                chars.splice(i..i, text.chars());
            }
            Edit::Replace { at, c } => {
                if !chars.is_empty() {
                    let i = pos(*at, chars.len() - 1);
                    chars[i] = *c;
                }
            }
            Edit::DuplicateLine { at } => {
                let i = pos(*at, chars.len());
                let start = chars[..i]
                    .iter()
                    .rposition(|&c| c == '\n')
                    .map_or(0, |p| p + 1);
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |p| i + p + 1);
                let line: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, line);
            }
            Edit::Number { at, n } => {
                let i = pos(*at, chars.len());
                if let Some(s) = chars[i..].iter().position(|c| c.is_ascii_digit()) {
                    let s = i + s;
                    let e = chars[s..]
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .map_or(chars.len(), |p| s + p);
                    chars.splice(s..e, n.chars());
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// The model-file target: parse, and build what parses.
fn load_model(text: &str) {
    if let Ok(s) = Scenario::parse(Path::new("fuzz.toml"), text.to_string()) {
        let m = model::build(s.model_cfg(&s.variant));
        let _ = stateright::Model::init_states(&m);
    }
}

/// The saved-trace target: parse, replay on the embedded model, render.
fn read_trace(text: &str) {
    let Ok(saved) = SavedTrace::parse(text) else {
        return;
    };
    let Some(def) = property_named(&saved.property) else {
        return;
    };
    let Ok((model, source, variant)) = replay::model_for(&saved, None, &[]) else {
        return;
    };
    let r = replay::replay(&model, &saved, def);
    let cx = Counterexample::new(&model, source, variant, def, r.trace);
    let _ = cx.render(TraceFormat::Json);
}

#[test]
fn every_seed_loads() {
    for text in corpus("model_file") {
        Scenario::parse(Path::new("seed.toml"), text).unwrap();
    }
    let traces: Vec<String> = corpus("saved_trace")
        .into_iter()
        .filter(|t| t.contains("zbs-mc/trace/v1"))
        .collect();
    assert!(!traces.is_empty());
    for t in traces {
        SavedTrace::parse(&t).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_mutated_model_file_is_a_model_or_an_error(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let seeds = corpus("model_file");
        let text = apply(&seeds[seed.index(seeds.len())], &edits);
        load_model(&text);
    }

    #[test]
    fn a_mutated_saved_trace_is_a_trace_or_an_error(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let seeds = corpus("saved_trace");
        let text = apply(&seeds[seed.index(seeds.len())], &edits);
        read_trace(&text);
    }
}

/// Structured mutations the character edits rarely hit: a saved trace whose fields are
/// valid JSON of the wrong shape or meaning.
#[test]
fn saved_traces_with_wrong_fields_are_errors_or_replay() {
    let text = corpus("saved_trace")
        .into_iter()
        .find(|t| t.contains("zbs-mc/trace/v1"))
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let edits: Vec<(&str, serde_json::Value)> = vec![
        ("/loop", serde_json::json!(1_000_000)),
        ("/loop", serde_json::json!(-1)),
        ("/steps/0/index", serde_json::json!(u64::MAX)),
        (
            "/steps/0/event/timer/name",
            serde_json::json!("no_such_timer"),
        ),
        ("/steps/1/event/actor", serde_json::json!("chunk-200")),
        (
            "/steps/2/event/msg/cmds/0/pid",
            serde_json::json!(4_294_967_295u64),
        ),
        ("/property", serde_json::json!("owner_eventually_released")),
        ("/model_source", serde_json::json!("")),
        ("/variant/revoke_releases_owner", serde_json::json!("maybe")),
    ];
    for (pointer, value) in edits {
        let mut d = doc.clone();
        if pointer == "/loop" {
            d["loop"] = value;
        } else if let Some(slot) = d.pointer_mut(pointer) {
            *slot = value;
        }
        read_trace(&d.to_string());
    }
}
