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
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
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
        let raw: RawModel =
            toml::from_str(&source).map_err(|e| err(e.span(), e.message().to_string()))?;
        let checked = raw.validate().map_err(|(span, msg)| err(Some(span), msg))?;
        Ok(Scenario {
            name: checked.cfg.name.clone(),
            description: raw.description.unwrap_or_default(),
            path: path.to_path_buf(),
            variant: checked.cfg.meta.variant.clone(),
            expected: checked.expected,
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
            manual_migrates: self.cfg.manual_migrates.clone(),
            symmetry: Default::default(),
        }
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
    #[serde(default)]
    variant: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    expected: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, ExpectedVerdict>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    #[serde(default = "default_slots")]
    max_recover_cmds_per_chunk: usize,
    /// How many pids one migrate scan walks from its cursor (specs A20); default: all.
    #[serde(default)]
    scan_extents_num: Option<usize>,
    #[serde(default)]
    topology: Vec<RawTopoObject>,
    chunks: Vec<RawChunk>,
}

fn default_slots() -> usize {
    128
}

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
    #[serde(default = "default_capacity")]
    capacity: u32,
    #[serde(default)]
    used: u32,
    #[serde(default = "default_status")]
    status: ChunkStatusRaw,
}

fn default_capacity() -> u32 {
    100
}

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
    #[serde(default)]
    topo_updates: u8,
    #[serde(default)]
    app_io: u8,
    #[serde(default)]
    chunk_failures: u8,
    /// Manual migrate RPCs (`zbs-meta migrate create`): a number or "unbounded"; default 0.
    #[serde(default)]
    manual_migrates: Option<RawRuns>,
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

        let mut chunk_parent = BTreeMap::new();
        let mut chunks = ChunkTable::default();
        for c in &self.cluster.chunks {
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
            let mut entry = ChunkEntry::new(c.capacity, c.used);
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
                Some(a) => known_location(a, "pids.alive_location")?,
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
            expected.insert(canonical, table);
        }

        let cids: Vec<Cid> = chunk_parent.keys().copied().collect();
        let meta = Meta {
            topology: Topology { tree, chunk_parent }.into(),
            pextents: pextents.into(),
            chunks: chunks.into(),
            recover: RecoverManager::default().into(),
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
                    max_recover_cmds_per_chunk: self.cluster.max_recover_cmds_per_chunk,
                    scan_extents_num: self.cluster.scan_extents_num.filter(|&n| n > 0),
                },
                initial_meta: meta,
                chunk_cids: cids,
                initial_cache,
                budgets: Budgets {
                    scans: self.budgets.scans.get("budgets.scans")?,
                    migrate_scans: self.budgets.migrate_scans.get("budgets.migrate_scans")?,
                    topo_updates: self.budgets.topo_updates,
                    app_io: self.budgets.app_io,
                    chunk_failures: self.budgets.chunk_failures,
                    manual_migrates: match &self.budgets.manual_migrates {
                        Some(r) => r.get("budgets.manual_migrates")?,
                        None => Some(0),
                    },
                },
                topo_updates,
                io_pids,
                chunk_failures,
                manual_migrates,
                symmetry: Default::default(),
            },
            expected,
        })
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
