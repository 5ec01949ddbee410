//! `zbs-mc bench`: the engine benchmark (lease-owner toy of `specs/lease-toy.md`, and
//! the ZBS model itself) for our engine and stateright's BFS, side by side.

use crate::actors::model;
use crate::bench::{self, BenchArgs, BenchModel, Engine};
use crate::properties;
use crate::scenario::Scenario;
use std::path::Path;

/// The ZBS model files the standard set measures, by bench name, and whether each is
/// [`BenchModel::large`].
const ZBS_MODELS: &[(&str, &str, bool)] = &[
    ("incident-a", "models/incident-a-lease-leak.toml", false),
    ("bench-five-chunks", "models/bench-five-chunks.toml", false),
    (
        "bench-five-chunks-large",
        "models/bench/five-chunks-large.toml",
        false,
    ),
    ("bench-six-chunks", "models/bench/six-chunks.toml", true),
];

/// The ZBS models as benchmark entries; each loads its model file (relative to the working
/// directory, as the README's commands run) in the child process that measures it.
fn zbs_models() -> Vec<BenchModel> {
    ZBS_MODELS
        .iter()
        .map(|&(name, path, large)| BenchModel {
            name: name.to_string(),
            run: Box::new(move |engine, threads| {
                let scenario = Scenario::load(Path::new(path)).unwrap_or_else(|e| {
                    eprintln!("error: {e} (run zbs-mc bench from the repository root)");
                    std::process::exit(super::exit::BAD_INPUT)
                });
                let m = model::build(scenario.model_cfg(&scenario.variant));
                match engine {
                    // The engine's actor representation, as `zbs-mc check` uses it.
                    Engine::Ours => bench::measure_ours(name, threads, false, |o| {
                        crate::engine::Checker::actors(&m)
                            .options(o.clone())
                            .check()
                            .safety
                    }),
                    Engine::Stateright => bench::run_stateright(name, m, threads),
                    Engine::Timely => bench::measure_timely(name, threads, |o| {
                        let workers = crate::engine::distributed::Workers::Threads(threads);
                        let codec = crate::actors::codec::StateCodec::new(&m.cfg);
                        crate::engine::Checker::actors(&m)
                            .options(o.clone())
                            .distributed(codec, &workers)
                            .unwrap_or_else(|e| panic!("timely: {e}"))
                    }),
                    // What `zbs-mc check MODEL` runs: safety and liveness, one exploration.
                    Engine::Check => bench::measure_check(name, threads, large, |o| {
                        let live: Vec<_> = properties::LIVENESS
                            .iter()
                            .filter(|l| l.skip_reason(&m.cfg).is_none())
                            .map(|l| (l.property)())
                            .collect();
                        crate::engine::Checker::actors(&m)
                            .options(o.clone())
                            .liveness(&live)
                            .check()
                    }),
                    Engine::Spin => {
                        eprintln!("error: --engine spin runs the lease toy only");
                        std::process::exit(super::exit::BAD_INPUT)
                    }
                }
            }),
            large,
            timely_processes: (name == "bench-five-chunks-large").then(|| path.to_string()),
        })
        .collect()
}

pub fn run(args: &BenchArgs) -> i32 {
    match bench::run(args, &zbs_models()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            super::exit::BAD_INPUT
        }
    }
}
