//! The `zbs-mc` binary: parse arguments, run the library, exit with its code.

use clap::Parser;

/// mimalloc instead of the system allocator: exploration allocates and frees millions of
/// small, short-lived states from several threads, where glibc's malloc spent a quarter of
/// the run consolidating free lists.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
