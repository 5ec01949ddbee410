//! The saved-trace reader on arbitrary text: `SavedTrace::parse` returns a trace or an
//! error, never panics; a trace it accepts is replayed on its embedded model (which may be
//! refused with an error) and rendered, without a panic. Seeds: `fuzz/corpus/saved_trace/`
//! (the checked-in `reports/*.json`). The same property runs in the normal test suite as a
//! proptest (`tests/fuzz_inputs.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zbs_mc::trace::Counterexample;
use zbs_mc::trace::counterexample::property_named;
use zbs_mc::trace::json::SavedTrace;
use zbs_mc::trace::replay;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
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
    let _ = cx.render(zbs_mc::trace::TraceFormat::Json);
});
