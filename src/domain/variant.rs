//! Named behaviour switches. The default of every switch is today's ZBS behaviour (or, for an
//! open question, the more conservative reading); a fix or an alternative is one switch away,
//! so "the bug, then the fix" is the same exploration run twice.

use std::collections::BTreeMap;
use std::fmt;

/// Why a switch exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchKind {
    /// A proposed fix; `off` is today's code.
    Fix,
    /// The notes leave the behaviour open; both readings are modelled.
    OpenQuestion,
    /// A deliberately broken check, to prove a property can fail (mutation testing).
    SeededBug,
}

/// One switch: its name, what `on` means, and the ZBS function it touches.
pub struct Switch {
    pub name: &'static str,
    pub kind: SwitchKind,
    pub default_on: bool,
    pub doc: &'static str,
    get: fn(&Variant) -> bool,
    set: fn(&mut Variant, bool),
}

/// The values of every switch for one run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    pub revoke_releases_owner: bool,
    pub app_io_recaches_owner: bool,
    pub release_uses_rewritten_src: bool,
    pub replace_requires_tracked_cmd: bool,
    pub revoke_includes_replace: bool,
    pub check_pid_has_cmd: bool,
    pub check_src_dst_hold: bool,
    pub replace_checks_epoch: bool,
    pub remove_keeps_last_replica: bool,
    pub alloc_failure_keeps_reservation: bool,
    /// What advances a pextent's epoch (open question, specs A21).
    pub epoch_rule: crate::domain::pextent::EpochRule,
    /// What a chunk does with a second command for a pid it already runs (specs A25).
    pub second_cmd: crate::domain::session::SecondCmd,
}

macro_rules! switch {
    ($field:ident, $kind:expr, $default:expr, $doc:expr) => {
        Switch {
            name: stringify!($field),
            kind: $kind,
            default_on: $default,
            doc: $doc,
            get: |v| v.$field,
            set: |v, on| v.$field = on,
        }
    };
}

/// Every switch, in the order `--help` and reports list them.
pub const SWITCHES: &[Switch] = &[
    switch!(
        revoke_releases_owner,
        SwitchKind::Fix,
        false,
        "RecoverManager::RevokeRecoverCmds() also releases the lease owner that \
         AccessManager::AllocOwnerForRecover() created for a command it revokes before delivery"
    ),
    switch!(
        app_io_recaches_owner,
        SwitchKind::OpenQuestion,
        false,
        "app/reposition IO on a pid whose owner is set goes through that owner, so the owner's \
         chunk caches the lease (and can later release it); off: IO never reaches a stranded owner"
    ),
    switch!(
        release_uses_rewritten_src,
        SwitchKind::OpenQuestion,
        false,
        "when a command ends, recover_src_pids is released on cmd.src after \
         EnqueueRecoverCmd()'s src rewrite, not on the chunk step 4 reserved"
    ),
    switch!(
        replace_requires_tracked_cmd,
        SwitchKind::OpenQuestion,
        false,
        "Meta::ReplaceReplica() refuses a REPLACE REPLICA whose command is no longer in \
         pid_cmds_ (revoked after delivery); off: only the epoch is checked (specs A7)"
    ),
    switch!(
        revoke_includes_replace,
        SwitchKind::OpenQuestion,
        false,
        "RecoverManager::RevokeRecoverCmds(cid) also takes commands whose replaced replica is on \
         cid; off: only src or dst, as the notes say (specs A8)"
    ),
    switch!(
        alloc_failure_keeps_reservation,
        SwitchKind::OpenQuestion,
        false,
        "when AccessManager::AllocOwnerForRecover() fails, AddRecoverCmdUnlock() refuses the \
         command but keeps what step 4 reserved, as the draft AddMigrateCmd() reads \
         (notes:428-445); off: the reservations are given back (specs A23)"
    ),
    switch!(
        check_pid_has_cmd,
        SwitchKind::SeededBug,
        true,
        "AddRecoverCmdUnlock() check 1: refuse a pid that already has a command (off = broken)"
    ),
    switch!(
        check_src_dst_hold,
        SwitchKind::SeededBug,
        true,
        "AddRecoverCmdUnlock() check 3: src holds the pid, dst does not (off = broken)"
    ),
    switch!(
        replace_checks_epoch,
        SwitchKind::SeededBug,
        true,
        "Meta::ReplaceReplica() refuses a stale epoch (off = broken)"
    ),
    switch!(
        remove_keeps_last_replica,
        SwitchKind::SeededBug,
        true,
        "RecoverManager::DoRemoveReplica() never removes a pid's last replica (off = broken)"
    ),
];

impl Default for Variant {
    fn default() -> Self {
        // Every field is overwritten from `SWITCHES`, the one place defaults are written.
        let mut v = Variant {
            revoke_releases_owner: false,
            app_io_recaches_owner: false,
            release_uses_rewritten_src: false,
            replace_requires_tracked_cmd: false,
            revoke_includes_replace: false,
            check_pid_has_cmd: false,
            check_src_dst_hold: false,
            replace_checks_epoch: false,
            remove_keeps_last_replica: false,
            alloc_failure_keeps_reservation: false,
            epoch_rule: Default::default(),
            second_cmd: Default::default(),
        };
        for s in SWITCHES {
            (s.set)(&mut v, s.default_on);
        }
        v
    }
}

/// A `NAME=OPTION` that does not name a switch or an option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariantError {
    #[error("variant {0:?} is not NAME=OPTION (options: on, off)")]
    Syntax(String),
    #[error("unknown variant switch {name:?}; known switches: {known}")]
    UnknownSwitch { name: String, known: String },
    #[error("variant switch {name:?} takes on or off, not {option:?}")]
    BadOption { name: String, option: String },
}

pub fn find_switch(name: &str) -> Option<&'static Switch> {
    SWITCHES.iter().find(|s| s.name == name)
}

impl Variant {
    /// Sets one switch by name; `option` is `on`/`off` (also `true`/`false`, `yes`/`no`).
    pub fn set(&mut self, name: &str, option: &str) -> Result<(), VariantError> {
        let switch = find_switch(name).ok_or_else(|| VariantError::UnknownSwitch {
            name: name.to_string(),
            known: SWITCHES
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let on = match option {
            "on" | "true" | "yes" => true,
            "off" | "false" | "no" => false,
            _ => {
                return Err(VariantError::BadOption {
                    name: name.to_string(),
                    option: option.to_string(),
                });
            }
        };
        (switch.set)(self, on);
        Ok(())
    }

    /// Applies a `NAME=OPTION` override as given on the command line.
    pub fn apply(&mut self, assignment: &str) -> Result<(), VariantError> {
        let (name, option) = assignment
            .split_once('=')
            .ok_or_else(|| VariantError::Syntax(assignment.to_string()))?;
        self.set(name.trim(), option.trim())
    }

    pub fn get(&self, name: &str) -> Option<bool> {
        find_switch(name).map(|s| (s.get)(self))
    }

    /// Every switch with its value, for reports and JSON.
    pub fn to_map(&self) -> BTreeMap<&'static str, &'static str> {
        SWITCHES
            .iter()
            .map(|s| (s.name, if (s.get)(self) { "on" } else { "off" }))
            .collect()
    }

    /// The switches that differ from today's behaviour, e.g. `revoke_releases_owner=on`.
    pub fn changes(&self) -> Vec<String> {
        SWITCHES
            .iter()
            .filter(|s| (s.get)(self) != s.default_on)
            .map(|s| format!("{}={}", s.name, if (s.get)(self) { "on" } else { "off" }))
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

    #[test]
    fn defaults_are_todays_behaviour() {
        let v = Variant::default();
        assert!(!v.revoke_releases_owner);
        assert!(v.check_pid_has_cmd);
        assert_eq!(v.to_string(), "default (today's ZBS)");
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
        assert!(matches!(
            v.apply("revoke_releases_owner=maybe"),
            Err(VariantError::BadOption { .. })
        ));
        assert!(matches!(
            v.apply("revoke_releases_owner"),
            Err(VariantError::Syntax(_))
        ));
    }
}
