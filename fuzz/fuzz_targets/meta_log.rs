//! The meta-log parser on arbitrary text (`zbs-mc conform`'s reader): `parse_file` never
//! panics, every error names a line of the input, and merging and resolving what parses never
//! panics either. Seeds: `fuzz/corpus/meta_log/` (the logs of `tests/fixtures/conform/`). The
//! same property runs in the normal test suite as proptests (`tests/conform_parse.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zbs_mc::conform::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count();
    let parsed = parse::parse_file(0, "fuzz.log", text);
    assert_eq!(parsed.lines, lines);
    for e in &parsed.errors {
        assert!(e.physical >= 1 && e.physical <= lines, "{e:?} outside 1..={lines}");
        assert!(!e.message.is_empty());
    }
    let mut events = parse::merge(vec![parsed]);
    let _ = parse::resolve(&mut events);
});
