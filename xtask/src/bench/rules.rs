//! `cargo xtask bench rules`: how fast the rule engine runs over normalised events, on one
//! thread, with the shipped rule set and with the Linux detection document's rule alone.
//!
//! The events are the login records of the replay bench's generated auth.logs (the realistic
//! and the dense mix, `replay/logs.rs`), parsed before timing starts; the timed loop is
//! `Engine::evaluate` over every record (`sensor/examples/bench_rules.rs`).
use std::path::Path;

use anyhow::Context as _;

use super::replay::{Mix, Stamps, write_auth_log};
use crate::{cmd, setup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Size of each generated auth.log, in MiB.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub size_mib: u64,
    /// Timed passes over the records of each log.
    #[arg(long, default_value_t = 21, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
}

/// Millions of events per second a core must evaluate (issue 5).
const TARGET_MEPS: f64 = 2.0;

pub fn rules(args: &Args) -> anyhow::Result<()> {
    setup::toolchain()?;
    let dir = std::env::temp_dir().join(format!("sensor-bench-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = measure(args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(args: &Args, dir: &Path) -> anyhow::Result<()> {
    println!(
        "rules: Engine::evaluate over normalised login records, one thread\ncommand:  cargo xtask bench rules --size-mib {} --rounds {}",
        args.size_mib, args.rounds
    );
    println!(
        "  {:<10} {:<16} {:>9} {:>12} {:>10} {:>10} {:>8}  target",
        "log", "rules", "records", "ns/event", "min", "max", "alerts"
    );
    for (name, mix) in [("realistic", Mix::Realistic), ("dense", Mix::Dense)] {
        let path = dir.join(format!("{name}.log"));
        write_auth_log(&path, mix, Stamps::Rfc3339, args.size_mib << 20)?;
        let out = cmd::output(
            cmd::cargo()
                .args([
                    "run",
                    "--quiet",
                    "--release",
                    "-p",
                    "sensor",
                    "--example",
                    "bench_rules",
                    "--",
                ])
                .arg(args.rounds.to_string())
                .arg(&path),
        )?;
        for line in out.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [rules, records, _, median, min, max, alerts] = f[..] else {
                anyhow::bail!("unexpected bench_rules output: {line:?}");
            };
            let ns: f64 = median.parse().context("bench_rules median")?;
            let meps = 1e3 / ns;
            let verdict = if meps >= TARGET_MEPS {
                "held  "
            } else {
                "MISSED"
            };
            println!(
                "  {name:<10} {rules:<16} {records:>9} {ns:>12.1} {min:>10} {max:>10} {alerts:>8}  [{verdict}] {meps:.1} M events/s (target {TARGET_MEPS})"
            );
        }
    }
    Ok(())
}
