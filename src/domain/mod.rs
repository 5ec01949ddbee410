//! ZBS itself, in plain Rust: no checker types in here.
//!
//! Each file is one ZBS component, named so a meta engineer finds it:
//! the topology tree, the pextent table, the chunk table, RecoverManager,
//! AccessManager, the chunk-side session with its lease cache, and the
//! placement policy that decides which migrates a scan proposes.
//! `meta.rs` ties the meta-side tables together into the operations the
//! meta leader performs (a scan, a topology update, a heartbeat reply, …).
//!
//! Every operation is a pure function of its inputs and returns the log
//! events it produced, so the actor layer, the properties and the trace
//! renderers all speak the same vocabulary as the ZBS meta log.

pub mod access_manager;
pub mod access_session;
pub mod chunk_table;
pub mod cow;
pub mod dst_candidates;
pub mod events;
pub mod manual_migrate;
pub mod meta;
pub mod pextent;
pub mod placement;
#[cfg(test)]
mod proptests;
pub mod recover_cmd;
pub mod recover_handler;
pub mod recover_manager;
pub mod recover_timeout;
pub mod session;
pub mod shared;
pub mod snapshot;
pub mod topology;
pub mod variant;

/// A chunk id (`cid`), 1..=255; 0 means "none" in ZBS logs (e.g. `replace: 0`).
pub type Cid = u8;
/// A physical extent id (`pid`).
pub type Pid = u32;
