//! Named behaviour switches: one registry, one declaration per switch.
//!
//! The default of every switch is today's ZBS behaviour (or, for an open question, the more
//! conservative reading); a fix or an alternative is one switch away, so "the bug, then the
//! fix" is the same exploration run twice.
//!
//! Each switch is declared once, in the [`registry!`] invocation at the bottom of this file:
//! name, value type, default, kind, the ZBS function it changes, and what it means. From that
//! one declaration come the [`Variant`] struct's field (read by the domain code as a plain
//! `bool` or enum), its default, the `NAME=OPTION` parsing of model files and `--variant`, and
//! the list `zbs-mc variants` prints. A switch with more than two candidate behaviours takes an
//! enum declared with [`switch_options!`] next to the domain code that reads it.
//!
//! How to add a switch (see also `specs/variants.md`):
//! 1. add one entry to the `registry!` below (a `bool`, or an enum declared with
//!    `switch_options!` in the domain module it changes);
//! 2. read `variant.<name>` in that domain function, citing the switch in its doc comment;
//! 3. give the model files that exercise it an `[expected."<name>=<option>"]` table.

use std::collections::BTreeMap;
use std::fmt;

/// Why a switch exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchKind {
    /// A proposed fix; the default is today's code.
    Fix,
    /// The notes leave the behaviour open; every reading is modelled.
    OpenQuestion,
    /// A deliberately broken check, to prove a property can fail (mutation testing).
    SeededBug,
}

impl SwitchKind {
    /// The name printed by `zbs-mc variants` and the reports.
    pub fn label(self) -> &'static str {
        match self {
            SwitchKind::Fix => "fix",
            SwitchKind::OpenQuestion => "open question",
            SwitchKind::SeededBug => "seeded bug",
        }
    }
}

/// A type a switch can take: `bool` (`off`/`on`) or an enum of named options.
pub trait SwitchValue: Copy + PartialEq + 'static {
    /// Every option with its name, in the order `zbs-mc variants` lists them.
    const OPTIONS: &'static [(&'static str, Self)];

    /// This option's name.
    fn option_name(self) -> &'static str {
        Self::OPTIONS
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(n, _)| *n)
            .expect("every value of a switch type is listed in its OPTIONS")
    }

    /// The option named `name` (exactly as listed; no synonyms).
    fn parse_option(name: &str) -> Option<Self> {
        Self::OPTIONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

impl SwitchValue for bool {
    const OPTIONS: &'static [(&'static str, Self)] = &[("off", false), ("on", true)];
}

/// Declares the option type of a multi-option switch: an enum whose variants carry the names
/// `--variant NAME=OPTION` and model files use.
///
/// ```
/// zbs_mc::switch_options! {
///     /// What happens to a second command for a pid already running on the chunk.
///     pub enum Example {
///         /// Both run.
///         BothRun = "both_run",
///         /// The second is refused.
///         SecondRefused = "second_refused",
///     }
/// }
/// use zbs_mc::domain::variant::SwitchValue;
/// assert_eq!(Example::parse_option("both_run"), Some(Example::BothRun));
/// assert_eq!(Example::SecondRefused.option_name(), "second_refused");
/// ```
#[macro_export]
macro_rules! switch_options {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $option:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* $option ),+
        }

        impl $crate::domain::variant::SwitchValue for $name {
            const OPTIONS: &'static [(&'static str, Self)] = &[ $( ($text, $name::$option) ),+ ];
        }
    };
}

/// One switch of the registry.
pub struct Switch {
    pub name: &'static str,
    pub kind: SwitchKind,
    /// The ZBS function (or functions) whose behaviour the switch changes.
    pub zbs_function: &'static str,
    /// What the options mean.
    pub doc: &'static str,
    options: fn() -> Vec<&'static str>,
    default: fn() -> &'static str,
    get: fn(&Variant) -> &'static str,
    set: fn(&mut Variant, &str) -> bool,
}

impl Switch {
    /// Every option's name, e.g. `["off", "on"]`.
    pub fn options(&self) -> Vec<&'static str> {
        (self.options)()
    }

    /// Today's behaviour.
    pub fn default_option(&self) -> &'static str {
        (self.default)()
    }

    /// This switch's option in `variant`.
    pub fn option_in(&self, variant: &Variant) -> &'static str {
        (self.get)(variant)
    }

    /// `name=a|b|c`, as `zbs-mc variants` and error messages print it.
    pub fn synopsis(&self) -> String {
        format!("{}={}", self.name, self.options().join("|"))
    }
}

/// Generates [`Variant`], its default and [`SWITCHES`] from one declaration per switch.
macro_rules! registry {
    ( $(
        $field:ident : $ty:ty = $default:expr ;
        kind $kind:ident ;
        zbs $zbs:literal ;
        doc $doc:literal ;
    )+ ) => {
        /// The option of every switch for one run (see [`SWITCHES`] for what each means).
        #[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub struct Variant {
            $( #[doc = $doc] pub $field: $ty, )+
        }

        impl Default for Variant {
            /// Today's ZBS: every switch at its declared default.
            fn default() -> Self {
                Variant { $( $field: $default, )+ }
            }
        }

        /// Every switch, in the order `zbs-mc variants` and the reports list them.
        pub const SWITCHES: &[Switch] = &[ $(
            Switch {
                name: stringify!($field),
                kind: SwitchKind::$kind,
                zbs_function: $zbs,
                doc: $doc,
                options: || <$ty as SwitchValue>::OPTIONS.iter().map(|(n, _)| *n).collect(),
                default: || SwitchValue::option_name($default),
                get: |v| SwitchValue::option_name(v.$field),
                set: |v, option| match <$ty as SwitchValue>::parse_option(option) {
                    Some(value) => {
                        v.$field = value;
                        true
                    }
                    None => false,
                },
            },
        )+ ];
    };
}

registry! {
    revoke_releases_owner: bool = false;
    kind Fix;
    zbs "RecoverManager::RevokeRecoverCmds()";
    doc "on: RevokeRecoverCmds() also releases the lease owner that \
         AccessManager::AllocOwnerForRecover() created for a command it revokes before \
         delivery; off: the owner stays (today)";

    app_io_recaches_owner: bool = false;
    kind OpenQuestion;
    zbs "app / reposition IO through the lease owner";
    doc "on: app/reposition IO on a pid whose owner is set goes through that owner, so the \
         owner's chunk caches the lease (and can later release it); off: IO never reaches a \
         stranded owner";

    release_uses_rewritten_src: bool = false;
    kind OpenQuestion;
    zbs "RecoverManager::RemoveRecoverCmd() (reservation release)";
    doc "on: when a command ends, recover_src_pids is released on cmd.src after \
         EnqueueRecoverCmd()'s src rewrite, not on the chunk step 4 reserved";

    replace_requires_tracked_cmd: bool = false;
    kind OpenQuestion;
    zbs "Meta::ReplaceReplica()";
    doc "on: REPLACE REPLICA is refused when its command is no longer in pid_cmds_ (revoked \
         after delivery); off: only the epoch is checked (specs A7)";

    revoke_includes_replace: bool = false;
    kind OpenQuestion;
    zbs "RecoverManager::RevokeRecoverCmds(cid)";
    doc "on: RevokeRecoverCmds(cid) also takes commands whose replaced replica is on cid; \
         off: only src or dst, as the notes say (specs A8)";

    alloc_failure_keeps_reservation: bool = false;
    kind OpenQuestion;
    zbs "AccessManager::AllocOwnerForRecover() failing in RecoverManager::AddRecoverCmdUnlock()";
    doc "on: when AllocOwnerForRecover() fails the command is refused but what step 4 \
         reserved stays reserved, as the draft AddMigrateCmd() reads (notes:428-445); off: \
         the reservations are given back (specs A23)";

    epoch_rule: crate::domain::pextent::EpochRule =
        crate::domain::pextent::EpochRule::RemoveReplica;
    kind OpenQuestion;
    zbs "Meta::ReplaceReplica() epoch check; RecoverManager::DoRemoveReplica()";
    doc "what advances a pextent's epoch (REPLACE REPLICA keeps it, as both logged responses \
         do): remove_replica = DoRemoveReplica() advances it; never = nothing does (the stale \
         check never refuses); every_location_change = replaces advance it too (specs A21)";

    second_cmd_for_running_pid: crate::domain::session::SecondCmd =
        crate::domain::session::SecondCmd::FirstReplaced;
    kind OpenQuestion;
    zbs "the chunk's recover handler receiving a command (Get recover notification)";
    doc "what a chunk does with a second command for a pid it already runs: first_replaced = \
         the first vanishes; both_run = each lands its own REPLACE REPLICA; second_refused = \
         the chunk keeps the first, the second never runs (specs A25)";

    add_migrate_cmd: crate::domain::manual_migrate::AddMigrateLocking =
        crate::domain::manual_migrate::AddMigrateLocking::Draft;
    kind Fix;
    zbs "RecoverManager::AddMigrateCmd() (ZBS-20993 draft, notes:385-463)";
    doc "how the manual migrate RPC runs (specs A80): draft = as written: no lock, so DoScan, \
         heartbeats and topology updates interleave between PExtentHasCmdUnLock and the \
         pid_cmds_ insert, and a failed AllocOwnerForRecover returns with the reservation \
         kept; locked = the whole draft under RecoverManager's lock; locked_releasing = locked, \
         and the reservation is given back on failure";

    scan_honours_manual_migrate: bool = false;
    kind Fix;
    zbs "RecoverManager::ReGenerateWaitingMigrateList() after AddMigrateCmd()";
    doc "on: the migrate scan leaves a pid alone while it sits where its last manual migrate \
         put it (notes:371); off: the scan may migrate it back (the draft, notes:357)";

    session_expiry_cmds: crate::domain::access_session::SessionExpiryCmds =
        crate::domain::access_session::SessionExpiryCmds::Revoked;
    kind OpenQuestion;
    zbs "meta's session expiry (AccessManager / SessionMaster), Meta::chunk_lost";
    doc "what an expired session's commands become on meta (specs A89; its owners and queue \
         always die with it, notes:769-771, notes:657): revoked = they leave pid_cmds_ and \
         give their reservations back (what a chunk loss has always done here); kept = they \
         stay in pid_cmds_ with their reservations, never to be delivered";
    recover_timeout_fix: crate::domain::recover_handler::RecoverTimeoutFix =
        crate::domain::recover_handler::RecoverTimeoutFix::None;
    kind Fix;
    zbs "the chunk's recover handler concurrency (ZBS-24563, ZBS-13041); RecoverManager recover_timeout_ms";
    doc "how incident B's recover timeout loop is broken, in models with [recover_pace] \
         (specs A65-A67): none = today (fixed concurrency 32, fixed recover_timeout_ms); \
         adaptive_concurrency = ZBS-13041 auto mode: a timed-out recover halves the chunk's \
         concurrency (never below 2), a finished one doubles it (at most the default); \
         extend_timeout = a copy that advanced since its last deadline gets another \
         recover_timeout_ms; static_concurrency = ZBS-13041 static mode: the operator's value \
         reaches the chunk with a heartbeat reply";

    snapshot_revoke_spares_recover: bool = false;
    kind Fix;
    zbs "libmeta Meta::ClearCachedLease by vtable (snapshot REVOKE LEASE) and the chunk's recover";
    doc "on: a snapshot's REVOKE LEASE leaves a running recover its lease, so it runs on \
         (the data it copies is read-only from the snapshot on); off: the recover loses its \
         lease and fails with ELeaseExpired (notes:543; specs A74)";

    recover_dst_space: crate::domain::dst_candidates::RecoverDstSpace =
        crate::domain::dst_candidates::RecoverDstSpace::Allocated;
    kind Fix;
    zbs "RecoverManager::GetDstCandidates() for a recover (GenerateRecoverCmds())";
    doc "which space figure a recover's dst choice reads (notes:339; specs A75): allocated = \
         meta's allocated figure (today's model); thin_used = also the chunk's reported \
         thin_used_data_space (notes:190); guarded = allocated, with the 95 %/90 % guard of \
         migrates (notes:335) applied to recovers too";

    check_pid_has_cmd: bool = true;
    kind SeededBug;
    zbs "RecoverManager::AddRecoverCmdUnlock() check 1";
    doc "on: refuse a pid that already has a command (off = broken)";

    check_src_dst_hold: bool = true;
    kind SeededBug;
    zbs "RecoverManager::AddRecoverCmdUnlock() check 3";
    doc "on: src holds the pid and dst does not (off = broken)";
}

/// A `NAME=OPTION` that does not name a switch or one of its options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariantError {
    #[error("variant {0:?} is not NAME=OPTION (`zbs-mc variants` lists the switches)")]
    Syntax(String),
    #[error("unknown variant switch {name:?}; known switches: {known}")]
    UnknownSwitch { name: String, known: String },
    #[error("variant switch {name:?} takes {options}, not {option:?}")]
    BadOption {
        name: String,
        option: String,
        options: String,
    },
}

pub fn find_switch(name: &str) -> Option<&'static Switch> {
    SWITCHES.iter().find(|s| s.name == name)
}

impl Variant {
    /// Sets one switch by name to one of its options, spelled exactly as
    /// `zbs-mc variants` lists them (`on`/`off` for a boolean switch).
    pub fn set(&mut self, name: &str, option: &str) -> Result<(), VariantError> {
        let switch = find_switch(name).ok_or_else(|| VariantError::UnknownSwitch {
            name: name.to_string(),
            known: SWITCHES
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        if (switch.set)(self, option) {
            Ok(())
        } else {
            Err(VariantError::BadOption {
                name: name.to_string(),
                option: option.to_string(),
                options: switch.options().join(" or "),
            })
        }
    }

    /// Applies a `NAME=OPTION` override as given on the command line.
    pub fn apply(&mut self, assignment: &str) -> Result<(), VariantError> {
        let (name, option) = assignment
            .split_once('=')
            .ok_or_else(|| VariantError::Syntax(assignment.to_string()))?;
        self.set(name.trim(), option.trim())
    }

    /// The option switch `name` has here, if `name` is a switch.
    pub fn get(&self, name: &str) -> Option<&'static str> {
        find_switch(name).map(|s| s.option_in(self))
    }

    /// Every switch with its option, for reports and JSON.
    pub fn to_map(&self) -> BTreeMap<&'static str, &'static str> {
        SWITCHES
            .iter()
            .map(|s| (s.name, s.option_in(self)))
            .collect()
    }

    /// The switches that differ from today's behaviour, e.g. `revoke_releases_owner=on`, in
    /// registry order.
    pub fn changes(&self) -> Vec<String> {
        SWITCHES
            .iter()
            .filter(|s| s.option_in(self) != s.default_option())
            .map(|s| format!("{}={}", s.name, s.option_in(self)))
            .collect()
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changes = self.changes();
        if changes.is_empty() {
            write!(f, "default (today's ZBS)")
        } else {
            write!(f, "{}", changes.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    switch_options! {
        /// A three-option type, to test the registry's enum support.
        enum Three {
            A = "a",
            B = "b",
            C = "c",
        }
    }

    #[test]
    fn defaults_are_todays_behaviour() {
        let v = Variant::default();
        assert!(!v.revoke_releases_owner);
        assert!(v.check_pid_has_cmd);
        assert_eq!(v.to_string(), "default (today's ZBS)");
        assert!(v.changes().is_empty());
    }

    #[test]
    fn every_switch_round_trips_every_option() {
        let mut names: Vec<_> = SWITCHES.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SWITCHES.len(), "switch names are unique");
        for s in SWITCHES {
            let options = s.options();
            assert!(options.len() >= 2, "{} has one option", s.name);
            assert!(options.contains(&s.default_option()));
            assert_eq!(s.option_in(&Variant::default()), s.default_option());
            for o in options {
                let mut v = Variant::default();
                v.set(s.name, o).unwrap();
                assert_eq!(v.get(s.name), Some(o));
                let changed = o != s.default_option();
                assert_eq!(
                    v.changes(),
                    if changed {
                        vec![format!("{}={o}", s.name)]
                    } else {
                        vec![]
                    }
                );
                assert_eq!(v.to_map()[s.name], o);
            }
        }
    }

    #[test]
    fn every_switch_has_a_row_in_the_spec() {
        let spec = include_str!("../../specs/variants.md");
        for s in SWITCHES {
            assert!(
                spec.contains(&format!("| `{}` |", s.name)),
                "specs/variants.md has no row for {}",
                s.name
            );
        }
    }

    #[test]
    fn enum_options_parse_by_name_only() {
        assert_eq!(Three::parse_option("b"), Some(Three::B));
        assert_eq!(Three::C.option_name(), "c");
        assert_eq!(Three::parse_option("B"), None);
        assert_eq!(
            Three::OPTIONS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn overrides_parse_and_bad_ones_say_why() {
        let mut v = Variant::default();
        v.apply("revoke_releases_owner=on").unwrap();
        assert!(v.revoke_releases_owner);
        assert_eq!(v.changes(), vec!["revoke_releases_owner=on"]);
        assert!(matches!(
            v.apply("nope=on"),
            Err(VariantError::UnknownSwitch { .. })
        ));
        for synonym in ["maybe", "yes", "true", "1", "ON"] {
            let e = v.apply(&format!("revoke_releases_owner={synonym}"));
            assert!(
                matches!(&e, Err(VariantError::BadOption { options, .. }) if options == "off or on"),
                "{synonym}: {e:?}"
            );
        }
        assert!(matches!(
            v.apply("revoke_releases_owner"),
            Err(VariantError::Syntax(_))
        ));
    }
}
