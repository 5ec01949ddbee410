//! Shared helpers for the integration tests (included with `mod common;`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use zbs_mc::actors::model::{self, ZbsModel};
use zbs_mc::domain::variant::Variant;
use zbs_mc::engine::{self, Options, Outcome, Verdict};
use zbs_mc::scenario::Scenario;

pub fn model_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

pub fn load(name: &str) -> Scenario {
    Scenario::load(&model_path(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// The scenario's variant with `overrides` (`name=on`) applied.
pub fn variant(s: &Scenario, overrides: &[&str]) -> Variant {
    let mut v = s.variant.clone();
    for o in overrides {
        v.apply(o).unwrap();
    }
    v
}

/// Exhaustive exploration (never stopping early), quiet.
pub fn exhaustive() -> Options {
    Options {
        stop_when_decided: false,
        progress: engine::Progress::Quiet,
        ..Options::default()
    }
}

pub fn check(s: &Scenario, v: &Variant) -> (ZbsModel, Outcome<ZbsModel>) {
    let m = model::build(s.model_cfg(v));
    let outcome = zbs_mc::engine::Checker::actors(&m)
        .options(exhaustive())
        .check()
        .safety;
    (m, outcome)
}

/// Safety and liveness verdicts, as `zbs-mc check` computes them.
pub fn check_all(s: &Scenario, v: &Variant) -> zbs_mc::verdicts::Run {
    let m = model::build(s.model_cfg(v));
    zbs_mc::verdicts::run(&m, &exhaustive(), true)
}

pub fn verdict(o: &Outcome<ZbsModel>, name: &str) -> Verdict {
    o.properties
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no property {name}"))
        .verdict
}
