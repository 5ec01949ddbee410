//! `zbs-mc properties` and `zbs-mc variants`.

use super::{Format, exit};
use crate::domain::variant::SWITCHES;
use crate::properties::{LIVENESS, PROPERTIES};
use crate::verdicts::Kind;

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// One property as `zbs-mc properties` lists it.
#[derive(serde::Serialize)]
struct Listed {
    name: &'static str,
    kind: Kind,
    companion_of: Option<&'static str>,
    /// For liveness: why it is not checked on models with these budgets, when it is not.
    needs: Option<&'static str>,
    doc: &'static str,
}

/// Every property: the invariants and `sometimes` companions, then the liveness properties.
fn listed() -> Vec<Listed> {
    PROPERTIES
        .iter()
        .map(|p| Listed {
            name: p.name,
            kind: Kind::of(&p.expectation),
            companion_of: p.companion_of,
            needs: None,
            doc: p.doc,
        })
        .chain(LIVENESS.iter().map(|l| Listed {
            name: l.name,
            kind: Kind::Liveness,
            companion_of: None,
            needs: if l.needs_recover_pace {
                Some("[recover_pace], budgets.scans and budgets.migrate_scans = \"unbounded\"")
            } else {
                l.needs_unbounded_scans
                    .then_some("budgets.scans and budgets.migrate_scans = \"unbounded\"")
            },
            doc: l.doc,
        }))
        .collect()
}

pub fn properties(args: &ListArgs) -> i32 {
    let list = listed();
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&list).expect("plain values");
            super::emit(&format!("{text}\n"));
        }
        Format::Text => {
            for p in list {
                let kind = match (p.kind, p.companion_of) {
                    (_, Some(of)) => format!("sometimes, companion of {of}"),
                    (Kind::Liveness, _) => "liveness, under weak fairness".to_string(),
                    (k, None) => k.word().to_string(),
                };
                let needs = p
                    .needs
                    .map_or(String::new(), |n| format!("\n    needs {n}"));
                super::emit(&format!("{} ({kind})\n    {}{needs}\n\n", p.name, p.doc));
            }
        }
    }
    exit::HOLDS
}

pub fn variants(args: &ListArgs) -> i32 {
    match args.format {
        Format::Json => {
            let list: Vec<_> = SWITCHES
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "name": s.name,
                        "kind": s.kind,
                        "options": s.options(),
                        "default": s.default_option(),
                        "zbs_function": s.zbs_function,
                        "doc": s.doc,
                    })
                })
                .collect();
            super::emit(&format!("{}\n", serde_json::Value::Array(list)));
        }
        Format::Text => {
            for s in SWITCHES {
                super::emit(&format!(
                    "{} (default {}; {}; {})\n    {}\n\n",
                    s.synopsis(),
                    s.default_option(),
                    s.kind.label(),
                    s.zbs_function,
                    s.doc
                ));
            }
        }
    }
    exit::HOLDS
}
