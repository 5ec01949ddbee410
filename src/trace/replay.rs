//! Replay of a saved JSON trace: rebuild the model from the saved model file (or another
//! one), start at its initial state, and at each step take the enabled action that matches
//! the saved [`ActionRecord`]. Under the variant the trace was found with this reproduces the
//! violation; under a fix it shows the first step that is no longer possible, or that the
//! property now holds at every replayed state.

use super::counterexample::{ModelSource, hits};
use super::json::{ActionRecord, SavedTrace};
use super::text::changed;
use super::{StateSummary, ZbsAction};
use crate::actors::model::{self, SystemView, ZbsModel, ZbsState};
use crate::domain::variant::Variant;
use crate::engine::Trace;
use crate::properties::PropertyDef;
use crate::scenario::Scenario;
use stateright::Model;
use std::path::Path;

/// How a replay ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayEnd {
    /// The property's violation (or, for `sometimes`, its condition) is reached after step
    /// `at` (0: in the initial state).
    Reproduced { at: usize },
    /// Step `step` is no longer possible: no enabled action matches the saved one.
    Blocked {
        step: usize,
        wanted: String,
        enabled: Vec<String>,
    },
    /// Every step was replayed and the property held in every state.
    Holds,
}

/// The result of a replay.
pub struct Replay {
    pub end: ReplayEnd,
    /// The replayed prefix, as an engine trace (renderable in any format).
    pub trace: Trace<ZbsState, ZbsAction>,
    /// Steps (0: the initial state) whose state differs from the saved one, with the fields
    /// that differ (their replayed values).
    pub differences: Vec<(usize, Vec<String>)>,
}

/// Replays `saved` on `model`, checking `property` in every state.
pub fn replay(model: &ZbsModel, saved: &SavedTrace, property: &PropertyDef) -> Replay {
    let cfg = &model.cfg;
    let init = model
        .init_states()
        .into_iter()
        .next()
        .expect("an actor model has one initial state");
    let summary = |s: &ZbsState| StateSummary::of(&SystemView::of(cfg, s));
    let mut differences = Vec::new();
    let diff = changed(&saved.initial, &summary(&init));
    if !diff.is_empty() {
        differences.push((0, diff));
    }
    let mut trace = Trace::new(init.clone());
    if hits(property, model, &init) {
        return Replay {
            end: ReplayEnd::Reproduced { at: 0 },
            trace,
            differences,
        };
    }
    let mut current = init;
    for step in &saved.steps {
        let next = model
            .next_steps(&current)
            .into_iter()
            .find(|(a, _)| ActionRecord::of(cfg, a) == step.event);
        let Some((action, next)) = next else {
            let mut enabled: Vec<String> = model
                .next_steps(&current)
                .iter()
                .map(|(a, _)| super::step_log(model, &current, a))
                .map(|(actor, what, _)| format!("[{actor}] {what}"))
                .collect();
            enabled.sort();
            return Replay {
                end: ReplayEnd::Blocked {
                    step: step.index,
                    wanted: format!("[{}] {}", step.actor, step.action),
                    enabled,
                },
                trace,
                differences,
            };
        };
        let diff = changed(&step.state, &summary(&next));
        if !diff.is_empty() {
            differences.push((step.index, diff));
        }
        trace.push(action, next.clone());
        current = next;
        if hits(property, model, &current) {
            return Replay {
                end: ReplayEnd::Reproduced { at: step.index },
                trace,
                differences,
            };
        }
    }
    Replay {
        end: ReplayEnd::Holds,
        trace,
        differences,
    }
}

/// The model a saved trace runs on: its own model file text (or `model_file`, if given),
/// its variant, then `overrides` (`name=on`).
pub fn model_for(
    saved: &SavedTrace,
    model_file: Option<&Path>,
    overrides: &[String],
) -> Result<(ZbsModel, ModelSource, Variant), String> {
    let (path, text) = match model_file {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        None => (saved.model_file.clone(), saved.model_source.clone()),
    };
    let scenario = Scenario::parse(Path::new(&path), text).map_err(|e| e.to_string())?;
    let mut variant = scenario.variant.clone();
    for (name, option) in &saved.variant {
        variant
            .set(name, option)
            .map_err(|e| format!("the trace's variant: {e}"))?;
    }
    for o in overrides {
        variant
            .apply(o)
            .map_err(|e| format!("--variant {o}: {e}"))?;
    }
    let source = ModelSource {
        name: scenario.name.clone(),
        file: path,
        text: scenario.source.clone(),
    };
    Ok((model::build(scenario.model_cfg(&variant)), source, variant))
}
