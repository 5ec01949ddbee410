//! The `zbs-mc` binary: parse arguments, run the library, exit with its code.

use clap::Parser;

/// The system allocator, counting heap bytes while `zbs-mc bench` measures a run.
#[global_allocator]
static ALLOC: zbs_mc::bench::heap::Counting = zbs_mc::bench::heap::Counting;

fn main() {
    let cli = match zbs_mc::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() {
                zbs_mc::cli::exit::BAD_INPUT
            } else {
                0
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(zbs_mc::cli::run(cli));
}
