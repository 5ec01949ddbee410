//! `zbs-mc explore [MODEL] [--from TRACE.json] [--port P] [--bind ADDR]`: serve the web
//! explorer (see `explorer.rs`), on loopback unless `--bind` says otherwise.

use super::exit;
use crate::actors::model;
use crate::explorer::{Explorer, serve};
use crate::properties::PROPERTIES;
use crate::scenario::Scenario;
use crate::trace::dot::fp;
use crate::trace::json::SavedTrace;
use crate::trace::replay::{self, ReplayEnd};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct ExploreArgs {
    /// The model file (.toml). With --from, defaults to the copy stored in the trace.
    pub model: Option<PathBuf>,
    /// Open at the last state of this saved JSON trace, to branch off a bad state.
    #[arg(long, value_name = "TRACE.json")]
    pub from: Option<PathBuf>,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Address to bind. Loopback by default; binding another address exposes the explorer
    /// to the network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Override a variant switch (repeatable).
    #[arg(long = "variant", value_name = "NAME=OPTION")]
    pub variants: Vec<String>,
}

/// Builds the explorer the arguments describe.
pub fn build(args: &ExploreArgs) -> Result<Explorer, String> {
    if let Some(from) = &args.from {
        let saved = std::fs::read_to_string(from)
            .map_err(|e| format!("{}: {e}", from.display()))
            .and_then(|t| SavedTrace::parse(&t))?;
        let (model, source, variant) =
            replay::model_for(&saved, args.model.as_deref(), &args.variants)?;
        let property = PROPERTIES
            .iter()
            .find(|p| p.name == saved.property)
            .ok_or_else(|| format!("unknown property {:?} in the trace", saved.property))?;
        let r = replay::replay(&model, &saved, property);
        if let ReplayEnd::Blocked { step, wanted, .. } = &r.end {
            eprintln!(
                "note: step {step} of the trace ({wanted}) is not possible here; opening at step {}",
                r.trace.steps.len()
            );
        }
        let start = r.trace.steps.iter().map(|(_, s)| fp(s)).collect();
        return Ok(Explorer {
            model,
            source,
            variant,
            start,
        });
    }
    let path = args
        .model
        .as_ref()
        .ok_or("give a model file, or --from TRACE.json")?;
    let scenario = Scenario::load(path).map_err(|e| e.to_string())?;
    let mut variant = scenario.variant.clone();
    for v in &args.variants {
        variant
            .apply(v)
            .map_err(|e| format!("--variant {v}: {e}"))?;
    }
    Ok(Explorer {
        model: model::build(scenario.model_cfg(&variant)),
        source: super::trace::source_of(&scenario),
        variant,
        start: Vec::new(),
    })
}

pub fn run(args: &ExploreArgs) -> i32 {
    let explorer = match build(args) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let listener = match TcpListener::bind((args.bind, args.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}:{}: {e}", args.bind, args.port);
            return exit::BAD_INPUT;
        }
    };
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    if !super::emit(&format!(
        "zbs-mc explorer: http://{addr}/  (Ctrl-C to stop)\n"
    )) {
        // Nobody would learn the address.
        return exit::BAD_INPUT;
    }
    serve(Arc::new(explorer), listener);
    exit::HOLDS
}
