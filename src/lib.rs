//! zbs-mc: a model checker for the ZBS meta lease / recover-command / topology state machine.
//!
//! Data flows one way: model file → [`scenario`] → [`domain`] + [`actors`] → engine →
//! verdicts + traces → renderers.
//!
//! - [`domain`]: ZBS itself in plain Rust (topology, pextent and chunk tables, RecoverManager,
//!   AccessManager, chunk sessions, placement), free of any checker type.
pub mod domain;
