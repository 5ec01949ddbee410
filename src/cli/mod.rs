//! The `zbs-mc` command line. Each subcommand is a module with an `Args` struct and a `run`
//! that returns the process exit code; `main.rs` only parses and exits.

pub mod bench;
pub mod check;
pub mod conform;
pub mod explore;
pub mod list;
pub mod placement;
pub mod replay;
pub mod simulate;
pub mod trace;
pub mod verify;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit codes, the contract CI and scripts rely on.
pub mod exit {
    /// Every property holds.
    pub const HOLDS: i32 = 0;
    /// At least one property is violated.
    pub const VIOLATED: i32 = 1;
    /// Bad input or usage.
    pub const BAD_INPUT: i32 = 2;
    /// Exploration stopped at a limit before any violation was found: undecided.
    pub const UNDECIDED: i32 = 3;
}

#[derive(Parser, Debug)]
#[command(
    name = "zbs-mc",
    version,
    about = "Model checker for the ZBS meta lease / recover-command / topology state machine",
    long_about = "Model checker for the ZBS meta lease / recover-command / topology state machine.\n\n\
        It explores every interleaving of scans, heartbeats, command execution, idle lease \
        release, topology updates and app IO allowed by a model file's budgets, checks the \
        properties ZBS engineers care about, and prints the shortest counterexample in the \
        wording of the meta log.\n\n\
        Exit codes: 0 every property holds; 1 a property is violated; 2 bad input or usage; \
        3 undecided (a limit stopped exploration first). A `sometimes` companion that is never \
        reached is printed as a warning (the invariant it guards may hold vacuously) and does \
        not change the exit code.",
    after_help = "Examples:\n  \
        zbs-mc check models/incident-a-lease-leak.toml\n  \
        zbs-mc check models/incident-a-lease-leak.toml --variant revoke_releases_owner=on\n  \
        zbs-mc check models/incident-a-lease-leak.toml --format json\n  \
        zbs-mc check models/incident-a-lease-leak.toml --out traces/a.json --report reports/a.html\n  \
        zbs-mc replay traces/a.json --variant revoke_releases_owner=on\n  \
        zbs-mc trace models/incident-a-lease-leak.toml --format mermaid\n  \
        zbs-mc explore --from traces/a.json\n  \
        zbs-mc verify\n  \
        zbs-mc verify --changed revoke_releases_owner=on\n  \
        zbs-mc properties\n  \
        zbs-mc variants\n  \
        zbs-mc bench"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Explore a model exhaustively and check every property.
    Check(check::CheckArgs),
    /// List the properties with what each one states.
    Properties(list::ListArgs),
    /// List the variant switches (fixes, open questions, seeded bugs) and their defaults.
    Variants(list::ListArgs),
    /// Explain what the placement policy wants for each pid, before and after each of the
    /// model file's topology updates.
    Placement(placement::PlacementArgs),
    /// Benchmark the engine: `bench` runs the standard set (lease toy and ZBS models, ours
    /// and stateright's BFS side by side, with stateright/ours ratios of time, peak memory,
    /// memory above the process floor and peak heap; a run under 1 s is repeated for 2 s and
    /// its median shown, and its heap counted in one more run); `bench toy N P K M` or
    /// `bench incident-a` one run.
    Bench(crate::bench::BenchArgs),
    /// Render one trace of a model (or re-render a saved JSON trace) in any trace format.
    Trace(trace::TraceArgs),
    /// Re-execute a saved JSON trace: does the violation still happen (under a fix)?
    Replay(replay::ReplayArgs),
    /// Serve the web explorer (domain tables, successors, sequence diagram) on loopback.
    Explore(explore::ExploreArgs),
    /// The fix matrix: every model file under every variant its [expected.*] tables name,
    /// each cell compared with the expected verdict (text, Markdown, JSON or JUnit XML), with
    /// action coverage; --changed NAME=OPTION shows what one option changes.
    Verify(verify::VerifyArgs),
    /// Check a real ZBS meta log against the model: is it a behaviour of the model, which
    /// invariants break on it, what is pending (a leaked owner) at its end. Exit 0 conforms,
    /// 1 a property breaks, 4 not a behaviour, 2 bad input.
    Conform(conform::ConformArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable, like a meta log.
    #[default]
    Text,
    /// One JSON object on stdout, for CI and other tools.
    Json,
}

/// Set once a write to stdout has failed: the command then exits [`exit::BAD_INPUT`].
static STDOUT_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes a command's output to stdout and flushes it; returns whether it got there. A failed
/// write (a full disk, `> /dev/full`, a closed descriptor) is reported once on stderr and makes
/// the command exit 2 — output lost is never a success. A reader that went away
/// (`zbs-mc … | head`) gets no message, as it is not there to read it, but the exit code is 2
/// all the same.
pub fn emit(text: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            stdout_failed(&e);
            false
        }
    }
}

fn stdout_failed(e: &std::io::Error) {
    use std::sync::atomic::Ordering;
    if !STDOUT_FAILED.swap(true, Ordering::SeqCst) && e.kind() != std::io::ErrorKind::BrokenPipe {
        eprintln!("error: cannot write the output to stdout: {e}");
    }
}

/// `println!` through [`emit`] (a failure is recorded there).
macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = $crate::cli::emit(&format!("{}\n", format_args!($($arg)*)));
    }};
}
pub(crate) use outln;

/// Runs the parsed command line and returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let code = run_command(cli);
    // Whatever was written some other way must reach stdout too.
    if let Err(e) = std::io::Write::flush(&mut std::io::stdout()) {
        stdout_failed(&e);
    }
    if STDOUT_FAILED.load(std::sync::atomic::Ordering::SeqCst) {
        exit::BAD_INPUT
    } else {
        code
    }
}

fn run_command(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Properties(args) => list::properties(&args),
        Command::Variants(args) => list::variants(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Placement(args) => placement::run(&args),
        Command::Trace(args) => trace::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Explore(args) => explore::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Conform(args) => conform::run(&args),
    }
}

/// Loads a model file and applies `--variant NAME=OPTION` overrides to its `[variant]`;
/// prints the error and returns `None` on bad input (the caller exits 2).
pub fn load_model(
    path: &std::path::Path,
    overrides: &[String],
) -> Option<(crate::scenario::Scenario, crate::domain::variant::Variant)> {
    let scenario = match crate::scenario::Scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    let variant = with_overrides(&scenario, overrides)?;
    Some((scenario, variant))
}

/// The model file's variant with the `--variant NAME=OPTION` overrides applied; a bad one is
/// printed.
pub fn with_overrides(
    scenario: &crate::scenario::Scenario,
    overrides: &[String],
) -> Option<crate::domain::variant::Variant> {
    let mut variant = scenario.variant.clone();
    for v in overrides {
        if let Err(e) = variant.apply(v) {
            eprintln!("error: --variant {v}: {e}");
            return None;
        }
    }
    Some(variant)
}
