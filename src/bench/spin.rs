//! SPIN side by side: the lease toy ([`super::toy`]) written in Promela, and one run of
//! SPIN's multi-core breadth-first search on it (`zbs-mc bench toy N P K M --engine spin`;
//! the standard set adds a row per fixed toy when `spin` and `cc` are on the PATH —
//! Debian's package `spin`).
//!
//! The Promela model is one process whose loop offers every action instance of the toy
//! (`Gen(p, s, d)`, `Deliver(p)`, `Complete(p)`, `Topo(c)`, `Release(c, p)`) as one `d_step`:
//! its guard, then its effect, in one indivisible step. SPIN's states are then exactly the
//! toy's, and the run fails unless SPIN stores [`Toy::reference_count`] of them.
//! `NoLeakedOwner` is asserted at the end of every step (the initial state satisfies it), so
//! SPIN checks it on every state it stores, as our engine does.
//!
//! The verifier is compiled with `cc -O2 -DBFS_PAR -DSAFETY -DNOREDUCE` (parallel BFS,
//! safety only, no partial-order reduction: one process has nothing to reduce) and run as
//! `./pan -u<threads> -E -w<bits>`: `-E` because the toy's behaviours end (every budget spent
//! is a state without successors, which SPIN would report as an invalid end state), and a
//! hash table of `2^bits` slots at most 5/8 full, the filling SPIN itself advises. Its seconds
//! and memory are SPIN's own report (`pan: elapsed time`, and total shared plus non-shared
//! memory, which match the verifier's peak resident set within 2 % on this machine).

use super::toy::Toy;
use super::{BenchRow, Engine};
use anyhow::{Context, bail};
use std::fmt::Write;
use std::path::Path;
use std::process::Command;

/// The toy as a Promela model (see the module documentation). `cached[c][p]` is the array
/// element `c·P + p` (chunks are numbered from 1; row 0 is unused).
pub fn promela(toy: &Toy) -> String {
    let (n, np) = (toy.n, toy.p);
    let cached = |c: &str, p: u32| format!("cached[{c}*{np}+{p}]");
    let no_leaked_owner = (0..np)
        .map(|p| {
            format!(
                "(owner[{p}] == 0 || {} || (cst[{p}] == 1 && csrc[{p}] == owner[{p}]))",
                cached(&format!("owner[{p}]"), p)
            )
        })
        .collect::<Vec<_>>()
        .join(" && ");
    let mut steps: Vec<String> = Vec::new();
    for p in 0..np {
        for s in 1..=n {
            for d in (1..=n).filter(|&d| d != s) {
                steps.push(format!(
                    "cst[{p}] == 0 && gens[{p}] < {m} && (owner[{p}] == 0 || owner[{p}] == {s}) -> \
                     owner[{p}] = {s}; cst[{p}] = 1; csrc[{p}] = {s}; cdst[{p}] = {d}; gens[{p}]++",
                    m = toy.m
                ));
            }
        }
    }
    for p in 0..np {
        steps.push(format!(
            "cst[{p}] == 1 -> cst[{p}] = 2; {} = true",
            cached(&format!("csrc[{p}]"), p)
        ));
        steps.push(format!(
            "cst[{p}] == 2 -> cst[{p}] = 0; csrc[{p}] = 0; cdst[{p}] = 0"
        ));
    }
    for c in 1..=n {
        let mut revoke = String::new();
        for p in 0..np {
            // With the fix, a revoked command whose source never cached the lease gives the
            // owner back (read before the command's fields are cleared).
            let fix = if toy.fixed {
                format!(
                    " if :: !{} -> owner[{p}] = 0 :: else -> skip fi;",
                    cached(&format!("csrc[{p}]"), p)
                )
            } else {
                String::new()
            };
            write!(
                revoke,
                " if :: cst[{p}] == 1 && (csrc[{p}] == {c} || cdst[{p}] == {c}) ->{fix} \
                 cst[{p}] = 0; csrc[{p}] = 0; cdst[{p}] = 0 :: else -> skip fi;"
            )
            .expect("writing to a String");
        }
        steps.push(format!("topo < {k} -> topo++;{revoke}", k = toy.k));
    }
    for c in 1..=n {
        for p in 0..np {
            let flag = cached(&c.to_string(), p);
            steps.push(format!(
                "{flag} && cst[{p}] == 0 -> {flag} = false; \
                 if :: owner[{p}] == {c} -> owner[{p}] = 0 :: else -> skip fi"
            ));
        }
    }
    let mut out = format!(
        "/* The lease toy N={n} P={np} K={k} M={m}, fix {fix}: written by zbs-mc bench. */\n\
         byte owner[{np}]; byte cst[{np}]; byte csrc[{np}]; byte cdst[{np}]; byte gens[{np}];\n\
         bool cached[{size}];\n\
         byte topo;\n\
         active proctype toy() {{\n  do\n",
        k = toy.k,
        m = toy.m,
        fix = if toy.fixed { "on" } else { "off" },
        size = (n + 1) * np,
    );
    for s in steps {
        writeln!(out, "  :: d_step {{ {s}; assert({no_leaked_owner}) }}").expect("String");
    }
    out.push_str("  od\n}\n");
    out
}

/// Whether `spin` and `cc` can be run.
pub fn available() -> bool {
    let runs = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    runs("spin", "-V") && runs("cc", "--version")
}

/// Runs `cmd` in `dir`; its standard output, or an error with its standard error.
fn run_in(dir: &Path, cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .current_dir(dir)
        .output()
        .with_context(|| format!("running {cmd:?} (is SPIN installed? apt-get install spin)"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// The number before `label` on the line of SPIN's report that contains it.
fn reported(report: &str, label: &str) -> Option<f64> {
    let line = report.lines().find(|l| l.contains(label))?;
    let before = &line[..line.find(label)?];
    before.split_whitespace().last()?.parse().ok()
}

/// The number after `label` on the line of SPIN's report that contains it.
fn reported_after(report: &str, label: &str) -> Option<f64> {
    let line = report.lines().find(|l| l.contains(label))?;
    let after = &line[line.find(label)? + label.len()..];
    after
        .split(|c: char| c.is_whitespace() || c == ',')
        .find(|w| !w.is_empty())?
        .parse()
        .ok()
}

/// One SPIN run of the fixed toy on `threads` cores (see the module documentation).
pub fn run(name: &str, toy: &Toy, threads: usize) -> anyhow::Result<BenchRow> {
    if !toy.fixed {
        bail!("the SPIN rows are for the fixed toy (its counterexample trail is not read back)");
    }
    let expected = Toy::reference_count(toy.n.into(), toy.p, toy.k.into(), toy.m.into());
    // The smallest table at most 5/8 full (SPIN's hint asks for this filling or less).
    let bits = (expected * 8 / 5)
        .max(2)
        .next_power_of_two()
        .trailing_zeros();
    // A directory of this run's own (several runs may share a process, as tests do).
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("zbs-mc-spin-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = (|| {
        std::fs::write(dir.join("toy.pml"), promela(toy)).context("writing toy.pml")?;
        run_in(&dir, Command::new("spin").args(["-a", "toy.pml"]))?;
        run_in(
            &dir,
            Command::new("cc").args([
                "-O2",
                "-DBFS_PAR",
                "-DSAFETY",
                "-DNOREDUCE",
                "-o",
                "pan",
                "pan.c",
            ]),
        )?;
        let report = run_in(
            &dir,
            Command::new(dir.join("pan")).args([
                format!("-u{threads}"),
                "-E".into(),
                format!("-w{bits}"),
            ]),
        )?;
        let field = |value: Option<f64>, what: &str| {
            value.with_context(|| format!("SPIN's report has no {what}:\n{report}"))
        };
        let states = field(reported(&report, "states, stored"), "stored states")? as u64;
        let errors = field(reported_after(&report, "errors:"), "error count")? as u64;
        let seconds = field(reported_after(&report, "elapsed time"), "elapsed time")?;
        let shared = field(
            reported(&report, "total shared memory usage"),
            "shared memory",
        )?;
        let private = reported(&report, "total non-shared memory usage").unwrap_or(0.0);
        if states != expected || errors != 0 {
            bail!(
                "SPIN stored {states} states with {errors} errors; the fixed toy has \
                 {expected} states and no violation:\n{report}"
            );
        }
        Ok(BenchRow {
            name: name.to_string(),
            engine: Engine::Spin,
            threads,
            states,
            seconds,
            peak_rss_bytes: ((shared + private) * (1u64 << 20) as f64) as u64,
            start_rss_bytes: 0,
            complete: true,
            violations: Vec::new(),
            peak_heap_bytes: None,
            runs: 1,
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_read_as_spin_prints_it() {
        let report = "State-vector 52 byte, depth reached 28, errors: 0\n\
                      \x20 4626882 states, stored\n\
                      \x20 428.158\ttotal shared memory usage\n\
                      \x20   0.195\ttotal non-shared memory usage\n\
                      pan: elapsed time 6.89 seconds\n";
        assert_eq!(reported(report, "states, stored"), Some(4_626_882.0));
        assert_eq!(reported_after(report, "errors:"), Some(0.0));
        assert_eq!(reported_after(report, "elapsed time"), Some(6.89));
        assert_eq!(reported(report, "total shared memory usage"), Some(428.158));
        assert_eq!(reported(report, "hash conflicts"), None);
    }

    #[test]
    fn the_model_offers_one_step_per_action_instance() {
        let toy = Toy::new(3, 2, 1, 1, true).unwrap();
        let pml = promela(&toy);
        // Gen: P·N·(N−1) = 12; Deliver and Complete: 2 each; Topo: 3; Release: N·P = 6.
        assert_eq!(pml.matches(":: d_step").count(), 12 + 2 + 2 + 3 + 6);
        assert_eq!(pml.matches("assert(").count(), 25);
        assert!(pml.contains("bool cached[8];"));
        // The fix: a revoke gives the owner back when the source never cached the lease.
        let fix = "if :: !cached[csrc[0]*2+0] -> owner[0] = 0 :: else -> skip fi; cst[0] = 0";
        assert!(pml.contains(fix));
        let buggy = promela(&Toy::new(3, 2, 1, 1, false).unwrap());
        assert!(!buggy.contains(fix));
        assert_eq!(buggy.matches(":: d_step").count(), 25);
    }
}
