//! `zbs-mc verify [MODELS|DIRS…]`: the fix matrix (see `verify/mod.rs` and specs/verify.md).

use super::exit;
use crate::verify::{self, RunOptions, render};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum VerifyFormat {
    /// The matrix as a terminal table.
    #[default]
    Text,
    /// Markdown tables (what `reports/verify.md` is).
    Markdown,
    /// One JSON document.
    Json,
    /// JUnit XML: one test case per cell, the counterexample in the failure body.
    Junit,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 every verdict is the one the model files expect; 1 a \
    verdict differs (with --changed: an option regressed a property); 2 bad input; 3 a limit \
    left a cell undecided.\n\n\
    A directory means the *.toml files directly in it: models/ does not include models/bench/ \
    (its benchmark model takes ten times the whole default matrix); name it to include it.\n\n\
    Examples:\n  \
    zbs-mc verify\n  \
    zbs-mc verify models/ --format junit > verify.xml\n  \
    zbs-mc verify --out target/verify\n  \
    zbs-mc verify --changed revoke_releases_owner=on\n  \
    zbs-mc verify models/recover-and-migrate.toml --variant revoke_releases_owner=on --changed check_pid_has_cmd=off"
)]
pub struct VerifyArgs {
    /// Model files, or directories of model files (default: models/).
    #[arg(value_name = "MODELS|DIRS")]
    pub models: Vec<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: VerifyFormat,
    /// Also write DIR/verify.md, DIR/verify.json, DIR/verify.xml and each violated cell's
    /// trace (DIR/traces/MODEL/VARIANT/PROPERTY.json, replayable with `zbs-mc replay`; a
    /// liveness lasso as .txt).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Instead of the matrix: run every model under its own variant and again with
    /// NAME=OPTION, and print only what changed (fixed, regressed, unchanged-violated).
    #[arg(long, value_name = "NAME=OPTION")]
    pub changed: Option<String>,
    /// With --changed: apply this switch to both sides first (repeatable), e.g. compare a
    /// seeded bug against the fixed code.
    #[arg(long = "variant", value_name = "NAME=OPTION", requires = "changed")]
    pub variants: Vec<String>,
    /// Runs explored at the same time (default: every core; each run uses one thread).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Per run: stop after this many distinct states (undecided cells are `unknown`, exit 3).
    #[arg(long)]
    pub max_states: Option<u64>,
    /// Per run: do not explore beyond this many steps.
    #[arg(long)]
    pub max_depth: Option<u32>,
    /// Per run: stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// No line per finished run on stderr (shown only on a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: &VerifyArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            exit::BAD_INPUT
        }
    }
}

fn run_inner(args: &VerifyArgs) -> Result<i32, String> {
    if args.threads == Some(0) {
        return Err("--threads must be at least 1".into());
    }
    if args.timeout.is_some_and(|t| !(t > 0.0 && t.is_finite())) {
        return Err("--timeout must be a positive number of seconds".into());
    }
    let paths = if args.models.is_empty() {
        vec![PathBuf::from("models")]
    } else {
        args.models.clone()
    };
    let files = verify::model_files(&paths)?;
    let scenarios = verify::load(&files)?;
    let opts = RunOptions {
        parallel: args
            .threads
            .unwrap_or_else(|| RunOptions::default().parallel),
        max_states: args.max_states,
        max_depth: args.max_depth,
        timeout: args.timeout.map(std::time::Duration::from_secs_f64),
        json_traces: args.out.is_some(),
        progress: !args.quiet && std::io::stderr().is_terminal(),
        coverage: true,
    };
    if let Some(assignment) = &args.changed {
        let ch = verify::changed(&scenarios, &args.variants, assignment, &opts)?;
        let text = match args.format {
            VerifyFormat::Text => render::changed_text(&ch),
            VerifyFormat::Markdown => render::changed_markdown(&ch),
            VerifyFormat::Json => render::changed_json(&ch),
            VerifyFormat::Junit => render::changed_junit(&ch),
        };
        if let Some(dir) = &args.out {
            write(dir, "changed.md", &render::changed_markdown(&ch))?;
            write(dir, "changed.json", &render::changed_json(&ch))?;
            write(dir, "changed.xml", &render::changed_junit(&ch))?;
        }
        super::emit(&text);
        return Ok(ch.exit_code());
    }
    let matrix = verify::verify(&scenarios, &opts)?;
    let out = args.out.as_deref();
    let text = match args.format {
        VerifyFormat::Text => render::text(&matrix),
        VerifyFormat::Markdown => render::markdown(&matrix),
        VerifyFormat::Json => render::json(&matrix, out),
        VerifyFormat::Junit => render::junit(&matrix, out),
    };
    if let Some(dir) = out {
        write(dir, "verify.md", &render::markdown(&matrix))?;
        write(dir, "verify.json", &render::json(&matrix, out))?;
        write(dir, "verify.xml", &render::junit(&matrix, out))?;
        let mut traces = 0;
        for (model, run, cell) in matrix.cells() {
            let Some(body) = cell.trace_json.as_ref().or(cell.trace_text.as_ref()) else {
                continue;
            };
            let path = verify::trace_path(dir, &model.name, &run.label, cell);
            super::trace::write_file(&path, body)?;
            traces += 1;
        }
        eprintln!(
            "wrote {0}/verify.md, {0}/verify.json, {0}/verify.xml and {traces} traces under {0}/traces",
            dir.display()
        );
    }
    super::emit(&text);
    Ok(matrix.exit_code())
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> Result<(), String> {
    super::trace::write_file(&dir.join(name), text)
}
