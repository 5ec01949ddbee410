//! Model files (`models/*.toml`) → a validated [`Scenario`].
//!
//! Every error names the file, the line and column, and the field, so a typo in a model file
//! reads like a compiler error, never like a panic. See `models/README.md` for the format.

use crate::actors::model::{Budgets, ModelCfg};
use crate::domain::access_manager::AccessManager;
use crate::domain::chunk_table::{ChunkEntry, ChunkStatus, ChunkTable};
use crate::domain::meta::{Meta, MetaConfig};
use crate::domain::pextent::PExtent;
use crate::domain::recover_manager::RecoverManager;
use crate::domain::topology::{Level, NodeIx, TopoError, Topology, TopologyTree};
use crate::domain::variant::Variant;
use crate::domain::{Cid, Pid};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// A model file that cannot be used, with where and why.
#[derive(Debug)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based; 0 when the error is about the file as a whole (it cannot be read).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ScenarioError {}

/// The message of a TOML or type error, prefixed with the field it is about
/// (`cluster.chunks.capacity: invalid type: …`): toml names the field only in its
/// context-free rendering, as a last line "in `a.b.c`".
fn toml_message(e: &toml::de::Error) -> String {
    let mut bare = e.clone();
    bare.set_input(None);
    let text = bare.to_string();
    let field = text
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("in `"))
        .and_then(|l| l.strip_suffix('`'));
    match field {
        Some(f) => format!("{f}: {}", e.message()),
        None => e.message().to_string(),
    }
}

/// What the model file expects a property's verdict to be under one variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedVerdict {
    Holds,
    Violated,
}

/// A validated model file.
#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub path: PathBuf,
    pub source: String,
    /// The variant the file selects (before command-line overrides).
    pub variant: Variant,
    /// Expected verdicts: variant label (`default`, or `name=on,…` in switch order) →
    /// property → verdict.
    pub expected: BTreeMap<String, BTreeMap<String, ExpectedVerdict>>,
    /// The file's `properties` list: what this model checks (as a TLC cfg lists its
    /// INVARIANTs); `None`: every property (`zbs-mc properties`).
    pub properties: Option<Vec<String>>,
    cfg: ModelCfg,
}

impl Scenario {
    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let source = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read the model file: {e}"),
        })?;
        Scenario::parse(path, source)
    }

    /// Validates model-file text; `path` is only used in messages.
    pub fn parse(path: &Path, source: String) -> Result<Scenario, ScenarioError> {
        let err = |span: Option<Range<usize>>, message: String| {
            let (line, column) = span.map_or((1, 1), |s| line_col(&source, s.start));
            ScenarioError {
                file: path.display().to_string(),
                line,
                column,
                message,
            }
        };
        let raw: RawModel = toml::from_str(&source).map_err(|e| err(e.span(), toml_message(&e)))?;
        let checked = raw.validate().map_err(|(span, msg)| err(Some(span), msg))?;
        Ok(Scenario {
            name: checked.cfg.name.clone(),
            description: raw.description.unwrap_or_default(),
            path: path.to_path_buf(),
            variant: checked.cfg.meta.variant.clone(),
            expected: checked.expected,
            properties: checked.properties,
            cfg: checked.cfg,
            source,
        })
    }

    /// The model configuration under `variant` (the file's, or one with overrides).
    pub fn model_cfg(&self, variant: &Variant) -> ModelCfg {
        ModelCfg {
            name: self.cfg.name.clone(),
            meta: MetaConfig {
                variant: variant.clone(),
                ..self.cfg.meta.clone()
            },
            initial_meta: self.cfg.initial_meta.clone(),
            chunk_cids: self.cfg.chunk_cids.clone(),
            initial_cache: self.cfg.initial_cache.clone(),
            budgets: self.cfg.budgets.clone(),
            topo_updates: self.cfg.topo_updates.clone(),
            io_pids: self.cfg.io_pids.clone(),
            chunk_failures: self.cfg.chunk_failures.clone(),
            heartbeat_losses: self.cfg.heartbeat_losses.clone(),
            manual_migrates: self.cfg.manual_migrates.clone(),
            recover_pace: self.cfg.recover_pace,
            symmetry: Default::default(),
        }
    }

    /// Whether this model checks property `name` (its `properties` list, or every property).
    pub fn checks(&self, name: &str) -> bool {
        self.properties
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == name))
    }

    /// The expected verdicts for `variant`, if the file states them.
    pub fn expected_for(&self, variant: &Variant) -> Option<&BTreeMap<String, ExpectedVerdict>> {
        self.expected.get(&variant_label(variant))
    }
}

/// The label `[expected.<label>]` tables use: `default`, or the changed switches.
pub fn variant_label(variant: &Variant) -> String {
    let changes = variant.changes();
    if changes.is_empty() {
        "default".to_string()
    } else {
        changes.join(",")
    }
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

type Invalid = (Range<usize>, String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: String,
    description: Option<String>,
    cluster: RawCluster,
    pids: Vec<RawPid>,
    budgets: RawBudgets,
    #[serde(default)]
    client: RawClient,
    #[serde(default)]
    topology_updates: Vec<RawTopoUpdate>,
    #[serde(default)]
    chunk_failures: Vec<RawChunkFailure>,
    #[serde(default)]
    manual_migrates: Vec<RawManualMigrate>,
    /// `[[heartbeat_losses]]`: chunks whose sessions may miss heartbeats.
    #[serde(default)]
    heartbeat_losses: Vec<RawChunkFailure>,
    /// Running recovers copy in ticks against `recover_timeout_ms` (incident B).
    recover_pace: Option<Spanned<RawRecoverPace>>,
    /// The snapshotted volume (incident C).
    volume: Option<RawVolume>,
    #[serde(default)]
    variant: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    expected: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, ExpectedVerdict>>,
    /// What the model checks (default: every property).
    properties: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    /// Default 128.
    max_recover_cmds_per_chunk: Option<Spanned<usize>>,
    /// How many pids one migrate scan walks from its cursor (specs A20); default: all.
    #[serde(default)]
    scan_extents_num: Option<Spanned<usize>>,
    #[serde(default)]
    topology: Vec<RawTopoObject>,
    chunks: Spanned<Vec<RawChunk>>,
}

const DEFAULT_SLOTS: usize = 128;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopoObject {
    name: Spanned<String>,
    level: RawLevel,
    parent: String,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawLevel {
    Zone,
    Rack,
    Brick,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChunk {
    cid: Spanned<Cid>,
    parent: Spanned<String>,
    /// Default 100.
    capacity: Option<Spanned<u32>>,
    /// Default 0.
    used: Option<Spanned<u32>>,
    #[serde(default = "default_status")]
    status: ChunkStatusRaw,
}

const DEFAULT_CAPACITY: u32 = 100;

fn default_status() -> ChunkStatusRaw {
    ChunkStatusRaw::Healthy
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ChunkStatusRaw {
    Healthy,
    Failslow,
    Removing,
    Disconnected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPid {
    pid: Spanned<Pid>,
    location: Spanned<Vec<Cid>>,
    alive_location: Option<Spanned<Vec<Cid>>>,
    expected_replicas: Option<Spanned<u8>>,
    preferred_cid: Option<Spanned<Cid>>,
    owner: Option<Spanned<Cid>>,
    /// Whether the owner's libmeta caches the lease at the start (default: yes).
    owner_cached: Option<bool>,
    #[serde(default = "default_epoch")]
    epoch: u64,
    #[serde(default = "default_true")]
    thin_provision: bool,
    #[serde(default = "default_size")]
    size: u32,
    /// Set for extents made by copy-on-write of a snapshot (rebalance moves them last).
    origin_pid: Option<Pid>,
    /// The pextent has a temporary replica (localization does not migrate it).
    #[serde(default)]
    temporary_replica: bool,
}

fn default_epoch() -> u64 {
    1
}
fn default_true() -> bool {
    true
}
fn default_size() -> u32 {
    1
}

/// A run count (0..=255), or `"unbounded"`.
#[derive(Deserialize)]
#[serde(transparent)]
struct RawRuns(Spanned<toml::Value>);

impl RawRuns {
    fn get(&self, field: &str) -> Result<Option<u8>, Invalid> {
        match self.0.get_ref() {
            toml::Value::Integer(n) if (0..=255).contains(n) => Ok(Some(*n as u8)),
            toml::Value::String(w) if w == "unbounded" => Ok(None),
            _ => bad(
                self.0.span(),
                format!("{field}: a number of runs (0..=255) or \"unbounded\""),
            ),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudgets {
    scans: RawRuns,
    migrate_scans: RawRuns,
    topo_updates: Option<Spanned<u8>>,
    app_io: Option<Spanned<u8>>,
    chunk_failures: Option<Spanned<u8>>,
    /// Manual migrate RPCs (`zbs-meta migrate create`): a number or "unbounded"; default 0.
    #[serde(default)]
    manual_migrates: Option<RawRuns>,
    /// Missed heartbeats each `[[heartbeat_losses]]` chunk may suffer; default 0.
    missed_heartbeats: Option<Spanned<u8>>,
    /// Snapshots of the `[volume]`: a number or "unbounded"; default 0.
    #[serde(default)]
    snapshots: Option<RawRuns>,
}

/// `[volume]`: the volume a snapshot plan snapshots (incident C, `domain/snapshot.rs`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVolume {
    /// The pid of each vExtent of the live volume.
    vtable: Spanned<Vec<Pid>>,
    /// The pids `[COW PEXTENT]` allocates, in order, with their epochs.
    #[serde(default)]
    cow_pids: Vec<RawCowPid>,
    /// Space units a COW'd extent takes on each of its chunks through the VM's writes,
    /// unaccounted by meta (specs A72); default 0.
    #[serde(default)]
    cow_exclusive: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCowPid {
    pid: Spanned<Pid>,
    #[serde(default = "default_epoch")]
    epoch: u64,
}

/// A budget's value (0 if absent).
fn budget(b: &Option<Spanned<u8>>) -> u8 {
    b.as_ref().map_or(0, |b| *b.get_ref())
}

/// `[[manual_migrates]]`: `zbs-meta migrate create pid … src_chunk … dst_chunk …
/// replaced_chunk …` (notes:374).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManualMigrate {
    pid: Spanned<Pid>,
    src: Spanned<Cid>,
    dst: Spanned<Cid>,
    replace: Spanned<Cid>,
}

/// `[recover_pace]`: the figures of incident B scaled to ticks and units
/// (`domain::recover_handler::RecoverPace`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecoverPace {
    /// Wall-clock minutes one tick stands for (only printed in remarks).
    minutes_per_tick: Option<u16>,
    recover_timeout_ticks: u8,
    extent_units: u8,
    /// Default 32 (notes:230).
    concurrency: Option<u8>,
    /// Default 2 (notes:232).
    min_concurrency: Option<u8>,
    cache_sustains: u8,
    warm_units_per_tick: u16,
    thrashed_units_per_tick: u16,
    /// The operator's value in static mode; default `min_concurrency`.
    static_concurrency: Option<u8>,
}

impl RawRecoverPace {
    fn pace(&self) -> Result<crate::domain::recover_handler::RecoverPace, String> {
        let concurrency = self.concurrency.unwrap_or(32);
        let min = self.min_concurrency.unwrap_or(2);
        let pace = crate::domain::recover_handler::RecoverPace {
            minutes_per_tick: self.minutes_per_tick.unwrap_or(0),
            recover_timeout_ticks: self.recover_timeout_ticks,
            extent_units: self.extent_units,
            default_concurrency: concurrency,
            min_concurrency: min,
            cache_sustains: self.cache_sustains,
            warm_units_per_tick: self.warm_units_per_tick,
            thrashed_units_per_tick: self.thrashed_units_per_tick,
            static_concurrency: self.static_concurrency.unwrap_or(min),
        };
        if pace.recover_timeout_ticks == 0 {
            return Err("recover_pace.recover_timeout_ticks: at least 1".into());
        }
        if !(1..=64).contains(&pace.extent_units) {
            return Err("recover_pace.extent_units: 1..=64 (an extent is 1024 blocks)".into());
        }
        if min == 0 || min > concurrency {
            return Err(format!(
                "recover_pace.min_concurrency: 1..=concurrency ({concurrency}), not {min}"
            ));
        }
        if !(min..=concurrency).contains(&pace.static_concurrency) {
            return Err(format!(
                "recover_pace.static_concurrency: min_concurrency..=concurrency ({min}..={concurrency})"
            ));
        }
        Ok(pace)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClient {
    /// Pids app IO may touch (default: none).
    #[serde(default)]
    io_pids: Vec<Spanned<Pid>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChunkFailure {
    chunk: Spanned<Cid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopoUpdate {
    chunk: Spanned<Cid>,
    new_parent: Spanned<String>,
}

struct Checked {
    cfg: ModelCfg,
    expected: BTreeMap<String, BTreeMap<String, ExpectedVerdict>>,
    properties: Option<Vec<String>>,
}

fn bad<T>(span: Range<usize>, msg: impl Into<String>) -> Result<T, Invalid> {
    Err((span, msg.into()))
}

impl RawModel {
    fn validate(&self) -> Result<Checked, Invalid> {
        let objects: Vec<(String, Level, String)> = self
            .cluster
            .topology
            .iter()
            .map(|o| {
                let level = match o.level {
                    RawLevel::Zone => Level::Zone,
                    RawLevel::Rack => Level::Rack,
                    RawLevel::Brick => Level::Brick,
                };
                (o.name.get_ref().clone(), level, o.parent.clone())
            })
            .collect();
        let tree = TopologyTree::new(&objects).map_err(|e| {
            // Point at the object the error names (as itself, or as someone's parent).
            let named = match &e {
                TopoError::UnknownNode(n) | TopoError::Duplicate(n) | TopoError::Cycle(n) => n,
                TopoError::BadLevel { child, .. } => child,
                TopoError::UnknownChunk(_) => "",
            };
            let objects = &self.cluster.topology;
            let span = objects
                .iter()
                .rev()
                .find(|o| o.name.get_ref() == named)
                .or_else(|| objects.iter().find(|o| o.parent == named))
                .map_or(0..0, |o| o.name.span());
            (span, format!("cluster.topology: {e}"))
        })?;
        let tree = Arc::new(tree);

        if self.cluster.chunks.get_ref().is_empty() {
            return bad(
                self.cluster.chunks.span(),
                "cluster.chunks: a model needs at least one chunk",
            );
        }
        if let Some(n) = &self.cluster.scan_extents_num
            && *n.get_ref() == 0
        {
            return bad(
                n.span(),
                "cluster.scan_extents_num: must be at least 1 (leave it out for a scan that \
                 walks every pid)",
            );
        }
        let slots = match &self.cluster.max_recover_cmds_per_chunk {
            None => DEFAULT_SLOTS,
            Some(s) if *s.get_ref() == 0 => {
                return bad(
                    s.span(),
                    "cluster.max_recover_cmds_per_chunk: must be at least 1 (0 would forbid \
                     every recover command)",
                );
            }
            Some(s) => *s.get_ref(),
        };
        let mut chunk_parent = BTreeMap::new();
        let mut chunks = ChunkTable::default();
        for c in self.cluster.chunks.get_ref() {
            let cid = *c.cid.get_ref();
            if cid == 0 {
                return bad(
                    c.cid.span(),
                    "cluster.chunks.cid: cid 0 means \"none\" in ZBS; use 1..=255",
                );
            }
            let parent = chunk_parent_object(&tree, &c.parent, "cluster.chunks.parent")?;
            if chunk_parent.insert(cid, parent).is_some() {
                return bad(
                    c.cid.span(),
                    format!("cluster.chunks.cid: chunk {cid} is defined twice"),
                );
            }
            let capacity = c
                .capacity
                .as_ref()
                .map_or(DEFAULT_CAPACITY, |v| *v.get_ref());
            let used = c.used.as_ref().map_or(0, |v| *v.get_ref());
            if used > capacity {
                let span = c
                    .used
                    .as_ref()
                    .or(c.capacity.as_ref())
                    .map_or(c.cid.span(), |v| v.span());
                return bad(
                    span,
                    format!(
                        "cluster.chunks.used: chunk {cid} uses {used} of a capacity of {capacity}"
                    ),
                );
            }
            let mut entry = ChunkEntry::new(capacity, used);
            entry.status = match c.status {
                ChunkStatusRaw::Healthy => ChunkStatus::Healthy,
                ChunkStatusRaw::Failslow => ChunkStatus::Failslow,
                ChunkStatusRaw::Removing => ChunkStatus::Removing,
                ChunkStatusRaw::Disconnected => ChunkStatus::Disconnected,
            };
            chunks.chunks.insert(cid, entry);
        }
        let known_chunk = |c: &Spanned<Cid>, field: &str| -> Result<Cid, Invalid> {
            if chunk_parent.contains_key(c.get_ref()) {
                Ok(*c.get_ref())
            } else {
                bad(
                    c.span(),
                    format!(
                        "{field}: chunk {} is not in [[cluster.chunks]]",
                        c.get_ref()
                    ),
                )
            }
        };
        let known_location = |l: &Spanned<Vec<Cid>>, field: &str| -> Result<Vec<Cid>, Invalid> {
            let mut seen = Vec::new();
            for &cid in l.get_ref() {
                if !chunk_parent.contains_key(&cid) {
                    return bad(
                        l.span(),
                        format!("{field}: chunk {cid} is not in [[cluster.chunks]]"),
                    );
                }
                if seen.contains(&cid) {
                    return bad(l.span(), format!("{field}: chunk {cid} appears twice"));
                }
                seen.push(cid);
            }
            Ok(seen)
        };

        let mut pextents = std::collections::BTreeMap::new();
        let mut owners = std::collections::BTreeMap::new();
        let mut initial_cache: BTreeMap<Cid, Vec<Pid>> = BTreeMap::new();
        for p in &self.pids {
            let pid = *p.pid.get_ref();
            let location = known_location(&p.location, "pids.location")?;
            if location.is_empty() {
                return bad(
                    p.location.span(),
                    "pids.location: a pextent needs at least one replica",
                );
            }
            let alive_location = match &p.alive_location {
                Some(a) => {
                    let alive = known_location(a, "pids.alive_location")?;
                    if let Some(c) = alive.iter().find(|c| !location.contains(c)) {
                        return bad(
                            a.span(),
                            format!(
                                "pids.alive_location: chunk {c} is not in the pid's location \
                                 {location:?} (alive replicas are a subset of the location)"
                            ),
                        );
                    }
                    alive
                }
                None => location.clone(),
            };
            let expected = p
                .expected_replicas
                .as_ref()
                .map_or(location.len() as u8, |e| *e.get_ref());
            if !(1..=7).contains(&expected) {
                let span = p
                    .expected_replicas
                    .as_ref()
                    .map_or(p.pid.span(), |e| e.span());
                return bad(span, "pids.expected_replicas: must be 1..=7");
            }
            let preferred = p
                .preferred_cid
                .as_ref()
                .map(|c| known_chunk(c, "pids.preferred_cid"))
                .transpose()?;
            if let Some(o) = &p.owner {
                let owner = known_chunk(o, "pids.owner")?;
                owners.insert(pid, owner);
                if p.owner_cached.unwrap_or(true) {
                    initial_cache.entry(owner).or_default().push(pid);
                }
            }
            let pext = PExtent {
                pid,
                location,
                alive_location,
                expected_replica_num: expected,
                epoch: p.epoch,
                preferred_cid: preferred,
                thin_provision: p.thin_provision,
                size: p.size,
                origin_pid: p.origin_pid,
                temporary_replica: p.temporary_replica,
            };
            if pextents.insert(pid, pext).is_some() {
                return bad(
                    p.pid.span(),
                    format!("pids.pid: pid {pid} is defined twice"),
                );
            }
        }

        let mut topo_updates = Vec::new();
        for u in &self.topology_updates {
            let cid = known_chunk(&u.chunk, "topology_updates.chunk")?;
            let parent = chunk_parent_object(&tree, &u.new_parent, "topology_updates.new_parent")?;
            topo_updates.push((cid, parent));
        }
        let chunk_failures = self
            .chunk_failures
            .iter()
            .map(|f| known_chunk(&f.chunk, "chunk_failures.chunk"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut heartbeat_losses = Vec::new();
        for h in &self.heartbeat_losses {
            let cid = known_chunk(&h.chunk, "heartbeat_losses.chunk")?;
            if heartbeat_losses.contains(&cid) {
                return bad(
                    h.chunk.span(),
                    format!("heartbeat_losses.chunk: chunk {cid} is listed twice"),
                );
            }
            heartbeat_losses.push(cid);
        }
        if let Some(b) = &self.budgets.missed_heartbeats
            && *b.get_ref() > 0
            && heartbeat_losses.is_empty()
        {
            return bad(
                b.span(),
                "budgets.missed_heartbeats: name the chunks whose sessions may miss heartbeats \
                 in [[heartbeat_losses]]",
            );
        }
        let mut manual_migrates = Vec::new();
        for m in &self.manual_migrates {
            if !pextents.contains_key(m.pid.get_ref()) {
                return bad(
                    m.pid.span(),
                    format!(
                        "manual_migrates.pid: pid {} is not in [[pids]]",
                        m.pid.get_ref()
                    ),
                );
            }
            manual_migrates.push(crate::domain::manual_migrate::MigrateRequest {
                pid: *m.pid.get_ref(),
                src: known_chunk(&m.src, "manual_migrates.src")?,
                dst: known_chunk(&m.dst, "manual_migrates.dst")?,
                replace: known_chunk(&m.replace, "manual_migrates.replace")?,
            });
        }
        if topo_updates.len() > usize::from(u8::MAX)
            || chunk_failures.len() > usize::from(u8::MAX)
            || manual_migrates.len() > usize::from(u8::MAX)
        {
            return bad(
                0..0,
                "topology_updates, chunk_failures, manual_migrates: at most 255 each",
            );
        }
        for (b, field, listed, list) in [
            (
                &self.budgets.topo_updates,
                "budgets.topo_updates",
                topo_updates.len(),
                "[[topology_updates]]",
            ),
            (
                &self.budgets.chunk_failures,
                "budgets.chunk_failures",
                chunk_failures.len(),
                "[[chunk_failures]]",
            ),
        ] {
            if let Some(b) = b
                && usize::from(*b.get_ref()) > listed
            {
                return bad(
                    b.span(),
                    format!(
                        "{field}: {} may happen, but {list} lists {listed} (each happens at most once)",
                        b.get_ref()
                    ),
                );
            }
        }

        let mut io_pids = Vec::new();
        for p in &self.client.io_pids {
            if !pextents.contains_key(p.get_ref()) {
                return bad(
                    p.span(),
                    format!("client.io_pids: pid {} is not in [[pids]]", p.get_ref()),
                );
            }
            io_pids.push(*p.get_ref());
        }
        if let Some(b) = &self.budgets.app_io
            && *b.get_ref() > 0
            && io_pids.is_empty()
        {
            return bad(
                b.span(),
                "budgets.app_io: app IO needs pids to touch: list them in [client] io_pids",
            );
        }

        let mut variant = Variant::default();
        for (name, option) in &self.variant {
            variant.set(name.get_ref(), option.get_ref()).map_err(|e| {
                let span = if crate::domain::variant::find_switch(name.get_ref()).is_some() {
                    option.span()
                } else {
                    name.span()
                };
                (span, format!("variant: {e}"))
            })?;
        }

        let mut expected = BTreeMap::new();
        for (label, verdicts) in &self.expected {
            let canonical = canonical_label(label.get_ref()).map_err(|m| (label.span(), m))?;
            let mut table = BTreeMap::new();
            for (prop, verdict) in verdicts {
                if !crate::properties::all_names().any(|n| n == prop.get_ref()) {
                    return bad(
                        prop.span(),
                        format!(
                            "expected: unknown property {:?} (see `zbs-mc properties`)",
                            prop.get_ref()
                        ),
                    );
                }
                table.insert(prop.get_ref().clone(), *verdict);
            }
            if expected.insert(canonical.clone(), table).is_some() {
                return bad(
                    label.span(),
                    format!(
                        "expected.{}: another [expected.*] table names the same variant \
                         combination ({canonical})",
                        label.get_ref()
                    ),
                );
            }
        }
        let properties = self.selected_properties(&expected)?;
        let snapshots = match &self.budgets.snapshots {
            Some(r) => r.get("budgets.snapshots")?,
            None => Some(0),
        };
        let volume = self.volume(&pextents, snapshots)?;

        let cids: Vec<Cid> = chunk_parent.keys().copied().collect();
        let meta = Meta {
            topology: Topology { tree, chunk_parent }.into(),
            pextents: pextents.into(),
            chunks: chunks.into(),
            recover: RecoverManager {
                volume,
                ..RecoverManager::default()
            }
            .into(),
            access: AccessManager {
                owners,
                ..AccessManager::new(cids.iter().copied())
            }
            .into(),
        };
        Ok(Checked {
            cfg: ModelCfg {
                name: self.name.clone(),
                meta: MetaConfig {
                    variant,
                    max_recover_cmds_per_chunk: slots,
                    scan_extents_num: self.cluster.scan_extents_num.as_ref().map(|n| *n.get_ref()),
                },
                initial_meta: meta,
                chunk_cids: cids,
                initial_cache,
                budgets: Budgets {
                    scans: self.budgets.scans.get("budgets.scans")?,
                    migrate_scans: self.budgets.migrate_scans.get("budgets.migrate_scans")?,
                    topo_updates: budget(&self.budgets.topo_updates),
                    app_io: budget(&self.budgets.app_io),
                    chunk_failures: budget(&self.budgets.chunk_failures),
                    manual_migrates: match &self.budgets.manual_migrates {
                        Some(r) => r.get("budgets.manual_migrates")?,
                        None => Some(0),
                    },
                    missed_heartbeats: budget(&self.budgets.missed_heartbeats),
                    snapshots,
                },
                topo_updates,
                io_pids,
                chunk_failures,
                heartbeat_losses,
                manual_migrates,
                recover_pace: self
                    .recover_pace
                    .as_ref()
                    .map(|p| p.get_ref().pace().map_err(|m| (p.span(), m)))
                    .transpose()?,
                symmetry: Default::default(),
            },
            expected,
            properties,
        })
    }

    /// `[volume]`, checked: its vtable names pids of `[[pids]]`, its COW pids are new and
    /// distinct; snapshots need a volume.
    fn volume(
        &self,
        pextents: &BTreeMap<Pid, PExtent>,
        snapshots: Option<u8>,
    ) -> Result<crate::domain::snapshot::Volume, Invalid> {
        use crate::domain::snapshot::{CowPid, Volume};
        let Some(v) = &self.volume else {
            if snapshots != Some(0) {
                let span = self.budgets.snapshots.as_ref().map_or(0..0, |r| r.0.span());
                return bad(
                    span,
                    "budgets.snapshots: snapshots need a [volume] to snapshot",
                );
            }
            return Ok(Volume::default());
        };
        if v.vtable.get_ref().is_empty() {
            return bad(
                v.vtable.span(),
                "volume.vtable: a volume needs at least one pid",
            );
        }
        for p in v.vtable.get_ref() {
            if !pextents.contains_key(p) {
                return bad(
                    v.vtable.span(),
                    format!("volume.vtable: pid {p} is not in [[pids]]"),
                );
            }
        }
        let mut cow_pids: Vec<CowPid> = Vec::new();
        for c in &v.cow_pids {
            let pid = *c.pid.get_ref();
            if pid == 0 || pextents.contains_key(&pid) || cow_pids.iter().any(|x| x.pid == pid) {
                return bad(
                    c.pid.span(),
                    format!(
                        "volume.cow_pids.pid: pid {pid} must be new (not 0, not in [[pids]], \
                         listed once)"
                    ),
                );
            }
            cow_pids.push(CowPid {
                pid,
                epoch: c.epoch,
            });
        }
        Ok(Volume {
            vtable: v.vtable.get_ref().clone(),
            cow_pids,
            cow_exclusive: v.cow_exclusive,
            snapshots_left: snapshots,
            ..Volume::default()
        })
    }

    /// The `properties` list, checked: known names, each once, and every property an
    /// `[expected.*]` table states is one of them.
    fn selected_properties(
        &self,
        expected: &BTreeMap<String, BTreeMap<String, ExpectedVerdict>>,
    ) -> Result<Option<Vec<String>>, Invalid> {
        let Some(list) = &self.properties else {
            return Ok(None);
        };
        let mut names: Vec<String> = Vec::new();
        for p in list {
            let name = p.get_ref();
            if !crate::properties::all_names().any(|n| n == name) {
                return bad(
                    p.span(),
                    format!("properties: unknown property {name:?} (see `zbs-mc properties`)"),
                );
            }
            if names.contains(name) {
                return bad(p.span(), format!("properties: {name:?} is listed twice"));
            }
            names.push(name.clone());
        }
        for (label, verdicts) in &self.expected {
            for prop in verdicts.keys() {
                if !names.contains(prop.get_ref()) {
                    return bad(
                        prop.span(),
                        format!(
                            "expected.{}: {:?} is not in this file's `properties` list",
                            label.get_ref(),
                            prop.get_ref()
                        ),
                    );
                }
            }
        }
        debug_assert!(
            expected
                .values()
                .flat_map(|t| t.keys())
                .all(|p| names.contains(p))
        );
        Ok(Some(names))
    }
}

/// The topo object a chunk may hang below: a brick, or the root `"topo"` itself.
fn chunk_parent_object(
    tree: &TopologyTree,
    name: &Spanned<String>,
    field: &str,
) -> Result<NodeIx, Invalid> {
    let Some(parent) = tree.find(name.get_ref()) else {
        return bad(
            name.span(),
            format!(
                "{field}: unknown topo object {:?} (define it in [[cluster.topology]] or use \"topo\")",
                name.get_ref()
            ),
        );
    };
    if tree.node(parent).level != Level::Brick && parent != 0 {
        return bad(
            name.span(),
            format!("{field}: a chunk hangs below a brick or directly below \"topo\""),
        );
    }
    Ok(parent)
}

/// `default`, or `a=on, b=off` in any order → the label [`variant_label`] produces.
fn canonical_label(label: &str) -> Result<String, String> {
    let mut v = Variant::default();
    if label.trim() != "default" {
        for part in label.split(',') {
            v.apply(part)
                .map_err(|e| format!("expected.{label}: {e}"))?;
        }
    }
    Ok(variant_label(&v))
}

/// The variant an `[expected.<label>]` label names: `default`, or `name=option` assignments
/// separated by commas, applied to today's behaviour.
pub fn variant_of_label(label: &str) -> Result<Variant, String> {
    let mut v = Variant::default();
    if label.trim() != "default" {
        for part in label.split(',') {
            v.apply(part).map_err(|e| format!("{label}: {e}"))?;
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "tiny"
[cluster]
topology = [{ name = "b1", level = "brick", parent = "topo" }]
chunks = [{ cid = 1, parent = "b1" }, { cid = 2, parent = "b1" }]
[[pids]]
pid = 7
location = [1]
[budgets]
scans = 1
migrate_scans = 1
"#;

    fn parse(src: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(Path::new("models/t.toml"), src.to_string())
    }

    #[test]
    fn a_minimal_file_loads() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.name, "tiny");
        assert_eq!(s.model_cfg(&s.variant).chunk_cids, vec![1, 2]);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let e = parse(&MINIMAL.replace("location = [1]", "location = [9]")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "models/t.toml:8:12: pids.location: chunk 9 is not in [[cluster.chunks]]"
        );
        let e = parse(&MINIMAL.replace("parent = \"b1\" }]", "parent = \"b9\" }]")).unwrap_err();
        assert!(e.to_string().starts_with("models/t.toml:5:"), "{e}");
        assert_eq!(e.column, 59, "the quote of \"b9\": {e}");
        assert!(e.to_string().contains("unknown topo object \"b9\""), "{e}");
        let e = parse(&MINIMAL.replace("migrate_scans = 1\n", "migrate_scans = 1\nscanz = 2\n"))
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `scanz`"), "{e}");
        assert_eq!((e.line, e.file.as_str()), (12, "models/t.toml"));
    }

    /// `(replace this, with that)` in [`MINIMAL`] → the error's `line:column: message` start.
    fn rejected(edits: &[(&str, &str)]) -> String {
        let mut src = MINIMAL.to_string();
        for (a, b) in edits {
            assert!(src.contains(a), "{a}");
            src = src.replacen(a, b, 1);
        }
        let e = parse(&src).expect_err(&src);
        assert_eq!(e.file, "models/t.toml");
        format!("{}:{}: {}", e.line, e.column, e.message)
    }

    #[test]
    fn what_an_engineer_would_call_wrong_is_rejected_with_its_field() {
        let starts = |got: String, want: &str| assert!(got.starts_with(want), "{got}\nwant {want}");
        starts(
            rejected(&[("location = [1]", "location = [1]\nalive_location = [1, 2]")]),
            "9:18: pids.alive_location: chunk 2 is not in the pid's location [1]",
        );
        starts(
            rejected(&[(
                "{ cid = 2, parent = \"b1\" }",
                "{ cid = 2, parent = \"b1\", capacity = 10, used = 11 }",
            )]),
            "5:87: cluster.chunks.used: chunk 2 uses 11 of a capacity of 10",
        );
        starts(
            rejected(&[(
                "{ cid = 2, parent = \"b1\" }",
                "{ cid = 2, parent = \"b1\", used = 101 }",
            )]),
            "5:72: cluster.chunks.used: chunk 2 uses 101 of a capacity of 100",
        );
        starts(
            rejected(&[("[cluster]\n", "[cluster]\nscan_extents_num = 0\n")]),
            "4:20: cluster.scan_extents_num: must be at least 1",
        );
        starts(
            rejected(&[("[cluster]\n", "[cluster]\nmax_recover_cmds_per_chunk = 0\n")]),
            "4:30: cluster.max_recover_cmds_per_chunk: must be at least 1",
        );
        starts(
            rejected(&[("migrate_scans = 1\n", "migrate_scans = 1\napp_io = 2\n")]),
            "12:10: budgets.app_io: app IO needs pids to touch",
        );
        starts(
            rejected(&[(
                "migrate_scans = 1\n",
                "migrate_scans = 1\ntopo_updates = 1\n",
            )]),
            "12:16: budgets.topo_updates: 1 may happen, but [[topology_updates]] lists 0",
        );
        starts(
            rejected(&[(
                "migrate_scans = 1\n",
                "migrate_scans = 1\nchunk_failures = 2\n[[chunk_failures]]\nchunk = 1\n",
            )]),
            "12:18: budgets.chunk_failures: 2 may happen, but [[chunk_failures]] lists 1",
        );
        starts(
            rejected(&[(
                "chunks = [{ cid = 1, parent = \"b1\" }, { cid = 2, parent = \"b1\" }]",
                "chunks = []",
            )]),
            "5:10: cluster.chunks: a model needs at least one chunk",
        );
        // The budgets that are met, and app IO with a client, still load.
        let ok = MINIMAL.replace(
            "migrate_scans = 1\n",
            "migrate_scans = 1\napp_io = 1\nchunk_failures = 1\n[client]\nio_pids = [7]\n[[chunk_failures]]\nchunk = 2\n",
        );
        parse(&ok).unwrap();
    }

    /// Session expiry (`access_session.rs`): the budget needs chunks to apply to, each a known
    /// chunk listed once; with both, the chunks' sessions may miss heartbeats.
    #[test]
    fn missed_heartbeats_need_known_chunks_listed_once() {
        let msg = |edit: &str| {
            let got = rejected(&[("migrate_scans = 1\n", edit)]);
            got.split_once(": ").map(|(_, m)| m.to_string()).unwrap()
        };
        assert!(
            msg("migrate_scans = 1\nmissed_heartbeats = 2\n")
                .starts_with("budgets.missed_heartbeats: name the chunks"),
        );
        assert!(
            msg("migrate_scans = 1\n[[heartbeat_losses]]\nchunk = 9\n")
                .starts_with("heartbeat_losses.chunk"),
        );
        assert!(
            msg("migrate_scans = 1\n[[heartbeat_losses]]\nchunk = 1\n[[heartbeat_losses]]\nchunk = 1\n")
                .starts_with("heartbeat_losses.chunk: chunk 1 is listed twice"),
        );
        let ok = MINIMAL.replace(
            "migrate_scans = 1\n",
            "migrate_scans = 1\nmissed_heartbeats = 2\n[[heartbeat_losses]]\nchunk = 2\n",
        );
        let cfg = parse(&ok).unwrap().cfg;
        assert_eq!(
            (cfg.heartbeat_losses, cfg.budgets.missed_heartbeats),
            (vec![2], 2)
        );
        assert_eq!(parse(MINIMAL).unwrap().cfg.budgets.missed_heartbeats, 0);
    }

    #[test]
    fn type_errors_name_the_field_and_a_missing_file_has_no_position() {
        let e = rejected(&[(
            "{ cid = 2, parent = \"b1\" }",
            "{ cid = 2, parent = \"b1\", capacity = \"x\" }",
        )]);
        assert!(
            e.starts_with("5:76: cluster.chunks.capacity: invalid type: string \"x\""),
            "{e}"
        );
        let e = rejected(&[("pid = 7", "pid = -7")]);
        assert!(
            e.starts_with("7:7: pids.pid: invalid value: integer `-7`"),
            "{e}"
        );
        let e = Scenario::load(Path::new("models/no-such-file.toml")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("models/no-such-file.toml: cannot read the model file: "),
            "{text}"
        );
        assert!(!text.contains(":0:"), "{text}");
    }

    #[test]
    fn variants_and_expectations_are_checked() {
        let src = format!("{MINIMAL}[variant]\nrevoke_releases_owner = \"sometimes\"\n");
        let e = parse(&src).unwrap_err();
        assert!(e.to_string().contains("takes off or on"), "{e}");
        let src = format!("{MINIMAL}[expected.default]\nno_such_property = \"holds\"\n");
        assert!(
            parse(&src)
                .unwrap_err()
                .to_string()
                .contains("unknown property")
        );
        let src = format!(
            "{MINIMAL}[expected.\"revoke_releases_owner = on\"]\nno_leaked_owner = \"holds\"\n"
        );
        let s = parse(&src).unwrap();
        let fixed = Variant {
            revoke_releases_owner: true,
            ..Variant::default()
        };
        assert!(s.expected_for(&fixed).is_some());
    }
}
