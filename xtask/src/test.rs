//! `cargo xtask test`: every suite, root tests included, and a last line that never reports a
//! pass for a suite that did not run.
//!
//! 1. unit and golden tests of the whole workspace (`cargo test`), as the caller;
//! 2. the root end-to-end suite (`sensor-tests`, tests marked `#[ignore = "root: …"]`), run with
//!    `--ignored --test-threads=1` (exactly the root tests, one at a time) as root, through
//!    `sudo -n` when the caller is not root. A root suite in which no test ran is a failure.
//!
//! Where the root suite cannot run, the last lines say so and the exit code is non-zero, unless
//! `--no-root` asked for the unprivileged tiers alone.
use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

use crate::{cmd, run, setup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run only the unprivileged tiers, and say so (the root suite is reported as not run).
    #[arg(long)]
    pub no_root: bool,
}

/// Totals over every `cargo test` run, read from their `test result:` lines.
#[derive(Debug, Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

pub fn test(args: &Args) -> anyhow::Result<()> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    setup::toolchain()?;
    let can_root = cmd::is_root() || cmd::succeeds(Command::new("sudo").args(["-n", "true"]));
    if can_root && !args.no_root {
        setup::packages(setup::TEST_PACKAGES)?;
    }

    let mut tally = Tally::default();
    // Suites that run the binary (replay, the root tests) find it through SENSOR_BIN.
    let sensor = run::build_sensor(false)?;
    let unit = tee_cargo_test(
        cmd::cargo()
            .args(["test", "--workspace", "--exclude", "sensor-ebpf"])
            .env("SENSOR_BIN", &sensor),
        &mut tally,
    );

    let root = if args.no_root {
        Err("skipped: --no-root".to_owned())
    } else if !can_root {
        Err("not run: not root and `sudo -n` is not available".to_owned())
    } else {
        run_root_suite(&sensor, &mut tally).map_err(|e| format!("failed: {e:#}"))
    };

    println!();
    println!(
        "xtask test: unit and golden suites: {}",
        if unit.is_ok() { "passed" } else { "FAILED" }
    );
    match &root {
        Ok(()) => println!("xtask test: root end-to-end suite: passed (ran as root)"),
        Err(why) => println!("xtask test: ROOT END-TO-END SUITE {why}"),
    }
    println!("total: {} passed, {} failed", tally.passed, tally.failed);
    unit?;
    match root {
        Ok(()) => Ok(()),
        Err(why) if args.no_root && !ci => {
            eprintln!("xtask: root suite {why}");
            Ok(())
        }
        Err(why) => bail!("root end-to-end suite {why}"),
    }
}

fn run_root_suite(sensor: &Path, tally: &mut Tally) -> anyhow::Result<()> {
    let before = tally.passed + tally.failed;
    run_root_tests(sensor, tally)?;
    // An empty root suite is not a pass: something (a filter, a missing file) kept it from running.
    if tally.passed + tally.failed == before {
        bail!("no root test ran");
    }
    Ok(())
}

fn run_root_tests(sensor: &Path, tally: &mut Tally) -> anyhow::Result<()> {
    let mut test = cmd::cargo();
    test.args([
        "test",
        "--package",
        "sensor-tests",
        "--",
        "--ignored",
        "--test-threads=1",
    ]);
    test.env("SENSOR_BIN", sensor);
    if !cmd::is_root() {
        // Build as the caller, then run only the test binaries as root.
        let mut no_run = cmd::cargo();
        no_run.args([
            "test",
            "--package",
            "sensor-tests",
            "--no-run",
            "--message-format=json",
        ]);
        let out = cmd::output(&mut no_run)?;
        let bins = test_executables(&out);
        if bins.is_empty() {
            bail!("no test binaries in sensor-tests");
        }
        for bin in bins {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "env"])
                .arg(format!("SENSOR_BIN={}", sensor.display()))
                .arg(bin);
            sudo.args(["--ignored", "--test-threads=1"]);
            tee_cargo_test(&mut sudo, tally)?;
        }
        return Ok(());
    }
    tee_cargo_test(&mut test, tally)
}

/// Executables from `cargo test --no-run --message-format=json` output.
fn test_executables(json_lines: &str) -> Vec<String> {
    json_lines
        .lines()
        .filter(|l| l.contains("\"profile\"") && l.contains("\"test\":true"))
        .filter_map(|l| {
            let at = l.find("\"executable\":\"")? + "\"executable\":\"".len();
            let end = l[at..].find('"')?;
            Some(l[at..at + end].to_owned())
        })
        .collect()
}

/// Runs a test command, passing its output through and adding up its `test result:` lines.
fn tee_cargo_test(command: &mut Command, tally: &mut Tally) -> anyhow::Result<()> {
    eprintln!("xtask: running {}", cmd::show(command));
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", cmd::show(command)))?;
    let stdout = child.stdout.take().context("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading test output")?;
        println!("{line}");
        if let Some((passed, failed)) = parse_result(&line) {
            tally.passed += passed;
            tally.failed += failed;
        }
    }
    let status = child.wait().context("waiting for the tests")?;
    if !status.success() {
        bail!("{} failed: {status}", cmd::show(command));
    }
    Ok(())
}

/// `test result: ok. 12 passed; 0 failed; 3 ignored; ...` → (12, 0).
fn parse_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let count = |word: &str| -> Option<u64> {
        let end = rest.find(&format!(" {word}"))?;
        rest[..end]
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some((count("passed")?, count("failed")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_test_results() {
        let line = "test result: ok. 12 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out";
        assert_eq!(parse_result(line), Some((12, 1)));
        assert_eq!(parse_result("running 3 tests"), None);
    }
}
