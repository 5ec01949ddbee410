//! zbs-mc: a model checker for the ZBS meta lease / recover-command / topology state machine.
//!
//! Data flows one way: model file → [`scenario`] → [`domain`] + [`actors`] → [`engine`] →
//! verdicts + traces → renderers ([`trace`], [`cli`]).
//!
//! - [`domain`]: ZBS itself in plain Rust (topology, pextent and chunk tables, RecoverManager,
//!   AccessManager, chunk sessions, placement), free of any checker type.
//! - [`actors`]: the stateright actor model (meta, chunks, operator, client) over the domain.
//! - [`properties`]: named invariants and their `sometimes` companions.
//! - [`scenario`]: model files → validated configuration.
//! - [`engine`]: exploration (shortest counterexamples).
//! - [`verdicts`]: one full check (safety, then liveness under fairness) → verdicts.
//! - [`trace`]: counterexamples rendered like a ZBS meta log.
//! - [`report`]: the self-contained HTML report; [`explorer`]: the web explorer.
//! - [`verify`]: the fix matrix (models × variants × properties), action coverage.
//! - [`conform`]: real meta logs checked against the model (`zbs-mc conform`).
//! - [`cli`]: the `zbs-mc` commands; `main.rs` only maps their results to exit codes.
pub mod actors;
pub mod bench;
pub mod cli;
pub mod conform;
pub mod domain;
pub mod engine;
pub mod explorer;
pub mod properties;
pub mod report;
pub mod scenario;
pub mod trace;
pub mod verdicts;
pub mod verify;
