//! Integrity of a saved JSON trace. A trace is evidence ("this fix kills that
//! counterexample"), so before `replay`, `trace` or `explore --from` use one, every field is
//! checked against what zbs-mc itself would write for it: the embedded model file matches its
//! hash and names the model the trace says; the variant names known switches with `on`/`off`;
//! the verdict is the property's own word; and the steps, re-executed on the embedded model
//! under the trace's own variant, are each possible and reproduce every saved field — index,
//! actor, action, log lines, state summary (and the initial one) — ending in a state where the
//! property is violated (or, for a `sometimes` property, reached). Anything else is a damaged
//! or hand-edited document, reported as bad input, never as a replay result.
//!
//! A trace written by a zbs-mc whose rules differ fails here too (its steps no longer replay
//! as saved); regenerate it with this version.

use super::counterexample::{Counterexample, ModelSource, any_property_named, content_hash};
use super::json::{ActionRecord, SavedStep, SavedTrace};
use crate::actors::model;
use crate::engine::Trace;
use crate::scenario::Scenario;
use stateright::Model;
use std::path::Path;

/// Checks every field of `saved` (see the module documentation); `Err` says which one is
/// wrong and how.
pub fn verify(saved: &SavedTrace) -> Result<(), String> {
    let corrupt = |what: String| {
        Err(format!(
            "corrupted trace: {what} (the document was edited or damaged, or written by a \
             zbs-mc whose rules differ; regenerate it)"
        ))
    };
    let hash = content_hash(&saved.model_source);
    if hash != saved.model_hash {
        return corrupt(format!(
            "model_hash is {:?} but the embedded model_source hashes to {hash:?}",
            saved.model_hash
        ));
    }
    let scenario = Scenario::parse(Path::new(&saved.model_file), saved.model_source.clone())
        .map_err(|e| format!("corrupted trace: its model_source is not a valid model: {e}"))?;
    if scenario.name != saved.model {
        return corrupt(format!(
            "model is {:?} but the embedded model file is named {:?}",
            saved.model, scenario.name
        ));
    }
    let mut variant = scenario.variant.clone();
    for (name, option) in &saved.variant {
        variant
            .set(name, option)
            .map_err(|e| format!("corrupted trace: variant: {e}"))?;
    }
    let property = any_property_named(&saved.property).ok_or_else(|| {
        format!(
            "corrupted trace: property {:?} is not a property of this zbs-mc (see `zbs-mc properties`)",
            saved.property
        )
    })?;
    let model = model::build(scenario.model_cfg(&variant));
    let cfg = &model.cfg;
    let init = model
        .init_states()
        .into_iter()
        .next()
        .expect("an actor model has one initial state");
    let mut trace = Trace::new(init.clone());
    let mut current = init;
    for (k, step) in saved.steps.iter().enumerate() {
        if step.index != k + 1 {
            return corrupt(format!(
                "step {} has index {} (steps are numbered 1, 2, …)",
                k + 1,
                step.index
            ));
        }
        let Some((action, next)) = model
            .next_steps(&current)
            .into_iter()
            .find(|(a, _)| ActionRecord::of(cfg, a) == step.event)
        else {
            return corrupt(format!(
                "step {}: its event ({}) is not possible there under the trace's own model and \
                 variant",
                step.index,
                event_text(step)
            ));
        };
        trace.push(action, next.clone());
        current = next;
    }
    let source = ModelSource {
        name: scenario.name.clone(),
        file: saved.model_file.clone(),
        text: saved.model_source.clone(),
    };
    // The verdict is recomputed from the replayed states (and the loop, for a lasso), so a
    // saved verdict the steps do not show is caught here.
    let rebuilt = SavedTrace::of(&Counterexample::with_loop(
        &model,
        source,
        variant,
        property,
        trace,
        saved.loop_start,
    ));
    if rebuilt.verdict != saved.verdict {
        return corrupt(format!(
            "verdict is {:?}; a trace of {} says {:?}",
            saved.verdict, saved.property, rebuilt.verdict
        ));
    }
    if rebuilt.initial != saved.initial {
        return corrupt("initial: the saved initial state is not the model's".into());
    }
    for (mine, theirs) in rebuilt.steps.iter().zip(&saved.steps) {
        let field = if mine.actor != theirs.actor {
            "actor"
        } else if mine.action != theirs.action {
            "action"
        } else if mine.log != theirs.log {
            "log"
        } else if mine.state != theirs.state {
            "state"
        } else {
            continue;
        };
        return corrupt(format!(
            "step {}: its {field} is not what that step does",
            theirs.index
        ));
    }
    debug_assert_eq!(
        SavedTrace {
            variant: saved.variant.clone(),
            ..rebuilt
        },
        *saved,
        "every field was compared"
    );
    Ok(())
}

fn event_text(step: &SavedStep) -> String {
    serde_json::to_string(&step.event).unwrap_or_else(|_| format!("{:?}", step.event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;

    fn incident_a() -> SavedTrace {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/incident-a-lease-leak.toml"
        );
        let scenario = Scenario::load(Path::new(path)).unwrap();
        let model = model::build(scenario.model_cfg(&scenario.variant));
        let outcome = engine::Checker::actors(&model).check().safety;
        let trace = outcome.property("no_leaked_owner").unwrap().trace.clone();
        let cx = Counterexample::new(
            &model,
            crate::cli::trace::source_of(&scenario),
            scenario.variant.clone(),
            crate::trace::counterexample::property_named("no_leaked_owner").unwrap(),
            trace.unwrap(),
        );
        SavedTrace::of(&cx)
    }

    fn rejects(t: &SavedTrace, what: &str) {
        let e = verify(t).unwrap_err();
        assert!(
            e.contains("corrupted trace") && e.contains(what),
            "{what}: {e}"
        );
    }

    #[test]
    fn a_trace_zbs_mc_wrote_verifies() {
        verify(&incident_a()).unwrap();
    }

    #[test]
    fn every_tampered_field_is_caught() {
        let good = incident_a();
        let mut t = good.clone();
        t.verdict = "meh".into();
        rejects(&t, "verdict");
        let mut t = good.clone();
        t.model_source.push_str("\n# edited\n");
        rejects(&t, "model_hash");
        let mut t = good.clone();
        // Edited consistently (hash recomputed), but not what the steps were made from.
        t.model_source = t.model_source.replace(
            "pid = 3134\nlocation = [4, 2, 5]",
            "pid = 3134\nlocation = [4, 2, 1]",
        );
        t.model_hash = content_hash(&t.model_source);
        rejects(&t, "initial");
        let mut t = good.clone();
        t.model = "other".into();
        rejects(&t, "model is");
        let mut t = good.clone();
        t.variant
            .insert("revoke_releases_owner".into(), "maybe".into());
        rejects(&t, "variant");
        let mut t = good.clone();
        t.property = "no_such".into();
        rejects(&t, "property");
        let mut t = good.clone();
        t.property = "one_cmd_per_pid".into();
        rejects(&t, "verdict is");
        let mut t = good.clone();
        t.steps[0].index = 0;
        rejects(&t, "index 0");
        let mut t = good.clone();
        let json = serde_json::to_string(&t.steps[4].event)
            .unwrap()
            .replace("5", "4");
        t.steps[4].event = serde_json::from_str(&json).unwrap();
        rejects(&t, "step 5: its event");
        let mut t = good.clone();
        t.steps[2].actor = "chunk-9".into();
        rejects(&t, "step 3: its actor");
        let mut t = good.clone();
        t.steps[2].action = "nothing".into();
        rejects(&t, "step 3: its action");
        let mut t = good.clone();
        t.steps[2].log.push("meta    forged line".into());
        rejects(&t, "step 3: its log");
        let mut t = good.clone();
        t.steps[4].state.owners.clear();
        rejects(&t, "step 5: its state");
        let mut t = good.clone();
        t.initial.owners.insert(1, 1);
        rejects(&t, "initial");
        let mut t = good.clone();
        t.steps.pop();
        rejects(&t, "verdict is");
    }
}
