//! The model-file loader on arbitrary text: `Scenario::parse` returns a model or an error
//! (`file:line:col: …`), never panics; a model it accepts builds and has its initial state.
//! Seeds: `fuzz/corpus/model_file/` (the shipped `models/*.toml`). The same property runs in
//! the normal test suite as a proptest (`tests/fuzz_inputs.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use zbs_mc::actors::model;
use zbs_mc::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = Scenario::parse(Path::new("fuzz.toml"), text.to_string()) {
        let m = model::build(s.model_cfg(&s.variant));
        let _ = stateright::Model::init_states(&m);
    }
});
