//! `zbs-mc properties` and `zbs-mc variants`.

use super::{Format, exit};
use crate::domain::variant::SWITCHES;
use crate::properties::PROPERTIES;

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn properties(args: &ListArgs) -> i32 {
    match args.format {
        Format::Json => {
            let list: Vec<_> = PROPERTIES
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "name": p.name,
                        "kind": format!("{:?}", p.expectation).to_lowercase(),
                        "companion_of": p.companion_of,
                        "doc": p.doc,
                    })
                })
                .collect();
            super::emit(&format!("{}\n", serde_json::Value::Array(list)));
        }
        Format::Text => {
            for p in PROPERTIES {
                let kind = match p.companion_of {
                    Some(of) => format!("sometimes, companion of {of}"),
                    None => format!("{:?}", p.expectation).to_lowercase(),
                };
                super::emit(&format!("{} ({kind})\n    {}\n\n", p.name, p.doc));
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
