//! `zbs-mc conform LOG… --model MODEL.toml`: checks a real ZBS meta log (or several rotated
//! files, merged by time; or the model's own trace text) against the model.
//!
//! Exit codes: 0 the log is a behaviour of the model and no property breaks; 1 it is, and an
//! invariant breaks or a lease owner is left leaked at its end; 4 it is not (the first event
//! no behaviour explains is reported); 2 bad input.

use super::{Format, exit};
use crate::actors::model;
use crate::conform::report::{self, Verdict};
use crate::conform::search::Options;
use crate::scenario::variant_label;
use std::path::PathBuf;

/// The exit code for a log that is not a behaviour of the model.
pub const NOT_A_BEHAVIOUR: i32 = 4;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    zbs-mc conform tests/fixtures/conform/incident-a.log --model models/incident-a-lease-leak.toml\n  \
    zbs-mc conform zbs-metad.log.2 zbs-metad.log.1 zbs-metad.log --model my-cluster.toml --format json\n  \
    zbs-mc trace models/incident-a-lease-leak.toml > a.txt && zbs-mc conform a.txt --model models/incident-a-lease-leak.toml\n\n\
    Exit codes: 0 conforms, no property broken; 1 conforms, but an invariant breaks or an owner \
    is leaked at the end; 4 not a behaviour of the model; 2 bad input (a malformed line is \
    named by file and line).")]
pub struct ConformArgs {
    /// Log files: meta leader glog files (`grep -n` output is fine), rotated ones merged by
    /// time, or the text of `zbs-mc check`/`trace`.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// The model file: the cluster, pids and budgets the log is checked against.
    #[arg(
        long,
        value_name = "MODEL.toml",
        required_unless_present = "infer",
        conflicts_with = "infer"
    )]
    pub model: Option<PathBuf>,
    /// No model file: infer one from what the log reveals (chunks, pids, locations, epochs,
    /// topology updates; the rest by the rules of specs/conform.md) and check the log
    /// against it. The report says what was inferred; --infer-out saves the file to correct.
    #[arg(long)]
    pub infer: bool,
    /// With --infer: write the inferred model file here (to edit and rerun with --model).
    #[arg(long, value_name = "FILE.toml", requires = "infer")]
    pub infer_out: Option<PathBuf>,
    /// Override a variant switch (repeatable), e.g. --variant revoke_releases_owner=on.
    #[arg(long = "variant", value_name = "NAME=OPTION")]
    pub variants: Vec<String>,
    /// Unlogged model steps (heartbeats, scans that log nothing, chunk-side steps of a
    /// meta-only log) tried before each logged event.
    #[arg(long, default_value_t = Options::default().max_silent, value_name = "N")]
    pub max_silent: usize,
    /// Candidate model states kept per log position.
    #[arg(long, default_value_t = Options::default().max_candidates, value_name = "N")]
    pub max_candidates: usize,
    /// A meta kind the log leaves out (a log filtered by grep), e.g. --unlogged RecoverSent:
    /// the model's lines of that kind count as unlogged (repeatable). Kinds: CmdAdded,
    /// TopoUpdated, RecoverSent, ReplaceReplica, OwnerReleased.
    #[arg(long = "unlogged", value_name = "KIND")]
    pub unlogged: Vec<String>,
    /// Try every unlogged step at every depth before each event (slower; exact within
    /// --max-silent). By default the search first tries the steps about the event's own pid
    /// and the pid-less ones (scans, heartbeats, topology), stopping at the fewest that
    /// explain it, and tries every step only where that explains nothing.
    #[arg(long)]
    pub full_search: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: &ConformArgs) -> i32 {
    if args.max_candidates == 0 {
        eprintln!("error: --max-candidates must be at least 1");
        return exit::BAD_INPUT;
    }
    let mut files = Vec::new();
    for p in &args.logs {
        match std::fs::read(p) {
            Ok(bytes) => files.push((
                p.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return exit::BAD_INPUT;
            }
        }
    }
    let (scenario, variant, model_file) = match &args.model {
        Some(path) => {
            let Some((s, v)) = super::load_model(path, &args.variants) else {
                return exit::BAD_INPUT;
            };
            (s, v, path.display().to_string())
        }
        None => match inferred_model(args, &files) {
            Some(found) => found,
            None => return exit::BAD_INPUT,
        },
    };
    let model = model::build(scenario.model_cfg(&variant));
    let mut opts = Options {
        max_silent: args.max_silent,
        max_candidates: args.max_candidates,
        focused: !args.full_search,
        ..Options::default()
    };
    for k in &args.unlogged {
        match crate::conform::event::Kind::named(k) {
            Some(kind) => {
                opts.unlogged.insert(kind);
            }
            None => {
                eprintln!(
                    "error: --unlogged {k}: not a kind (one of {:?})",
                    crate::conform::event::ALL_KINDS
                );
                return exit::BAD_INPUT;
            }
        }
    }
    let r = match report::conform(
        &model,
        &scenario.name,
        &model_file,
        &variant_label(&variant),
        &files,
        &opts,
    ) {
        Ok(r) => r,
        Err(errors) => {
            print_parse_errors(&errors);
            return exit::BAD_INPUT;
        }
    };
    let text = match args.format {
        Format::Text => report::render_text(&r),
        Format::Json => serde_json::to_string_pretty(&r).expect("a report serialises") + "\n",
    };
    if let Err(e) = write_stdout(&text) {
        eprintln!("error: cannot write the report: {e}");
        return exit::BAD_INPUT;
    }
    match r.verdict {
        Verdict::Conforms => exit::HOLDS,
        Verdict::PropertyBroken => exit::VIOLATED,
        Verdict::NotABehaviour => NOT_A_BEHAVIOUR,
    }
}

/// `--infer`: the model file the log reveals, written to `--infer-out` if asked, and loaded
/// as a model file is (so the file saved is exactly the model checked). Errors are printed.
fn inferred_model(
    args: &ConformArgs,
    files: &[(String, String)],
) -> Option<(
    crate::scenario::Scenario,
    crate::domain::variant::Variant,
    String,
)> {
    use crate::conform::infer::{InferError, infer_files};
    let text = match infer_files("inferred-from-log", files) {
        Ok(t) => t,
        Err(InferError::Parse(errors)) => {
            print_parse_errors(&errors);
            return None;
        }
        Err(InferError::Reveals(why)) => {
            eprintln!("error: --infer: {why}");
            return None;
        }
    };
    let name = match &args.infer_out {
        Some(p) => {
            if let Err(e) = std::fs::write(p, &text) {
                eprintln!("error: --infer-out {}: {e}", p.display());
                return None;
            }
            p.clone()
        }
        None => {
            eprintln!(
                "note: the model was inferred from the log (specs/conform.md, \"--infer\"); \
                 --infer-out FILE saves it to read and correct"
            );
            PathBuf::from("(inferred from the log)")
        }
    };
    let scenario = match crate::scenario::Scenario::parse(&name, text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: the inferred model does not load (a zbs-mc bug): {e}");
            return None;
        }
    };
    let variant = super::with_overrides(&scenario, &args.variants)?;
    Some((scenario, variant, name.display().to_string()))
}

fn print_parse_errors(errors: &[crate::conform::parse::ParseError]) {
    for e in errors.iter().take(50) {
        eprintln!("error: {e}");
    }
    if errors.len() > 50 {
        eprintln!("error: … and {} more malformed lines", errors.len() - 50);
    }
}

/// Writes the report; a closed pipe (`| head`) is not an error, a full disk is.
fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
