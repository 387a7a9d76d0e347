//! `cargo xtask bench replay`: `sensor replay` next to the tools a user would reach for instead,
//! on the same generated files, in paired rounds. See BENCHMARKS.md.
//!
//! - auth.log (a realistic mix, a dense brute-force one, the realistic mix with classic
//!   timestamps): `sensor replay F > /dev/null` against `rg -c 'Accepted password' F` (the
//!   time to scan the bytes at all);
//! - slices of the first two (fail2ban-regex is slow): `fail2ban-regex SLICE sshd.conf` (the
//!   stock sshd filter) against `sensor replay SLICE`, and fail2ban-regex on an empty file (its
//!   start-up);
//! - a `.journal` made by systemd-journal-remote: `sensor replay F.journal` against
//!   `journalctl --file F.journal -o export`, both to /dev/null, with peak memory.
//!
//! Each round runs every condition of a group once, in an order that changes from round to
//! round ([`balanced_orders`]); ratios are taken within a round.
mod events;
mod inputs;
mod logs;
mod measure;
mod report;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

use self::{
    inputs::{WorkDir, auth_logs, export, journal},
    logs::Counts,
    measure::Cost,
    report::{Figures, Report, num, ratio, target},
};
use super::{catch_interrupts, check_interrupted, facts::Facts, stats::balanced_orders};
use crate::{run, setup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Size of each generated auth.log, in MiB.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub size_mib: u64,
    /// Rounds of the auth.log and journal runs.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// MiB of each auth.log that fail2ban-regex reads (it takes some 0.25 s per MiB).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    pub slice_mib: u64,
    /// Rounds of the fail2ban-regex runs.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub fail2ban_rounds: u32,
    /// Entries of the generated journal.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub journal_entries: u64,
    /// Also write the figures, and every run's raw numbers, as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Only write the generated auth.logs and the export stream to DIR, and stop.
    #[arg(long, value_name = "DIR")]
    pub write_inputs: Option<PathBuf>,
}

impl Args {
    fn command_line(&self) -> String {
        format!(
            "cargo xtask bench replay --size-mib {} --rounds {} --slice-mib {} --fail2ban-rounds {} --journal-entries {}",
            self.size_mib, self.rounds, self.slice_mib, self.fail2ban_rounds, self.journal_entries
        )
    }
}

pub use self::{events::Mix, logs::Stamps};

/// Writes one generated auth.log of at least `bytes` bytes (for the other benches).
pub fn write_auth_log(path: &Path, mix: Mix, stamps: Stamps, bytes: u64) -> anyhow::Result<Counts> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let counts = logs::auth_log(mix, stamps, bytes, SEED, &mut out)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::flush(&mut out).with_context(|| format!("writing {}", path.display()))?;
    Ok(counts)
}

/// The fixed seed of every generated input.
pub(super) const SEED: u64 = 0x5eed_0fa1_110a;

/// The stock filter fail2ban ships for sshd.
const FAIL2BAN_SSHD: &str = "/etc/fail2ban/filter.d/sshd.conf";

/// One generated input.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Input {
    pub name: String,
    pub path: PathBuf,
    pub counts: Counts,
    /// `lines` or `entries`.
    pub unit: &'static str,
    pub what: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Tool {
    Sensor,
    Rg,
    Fail2ban,
    Journalctl,
}

/// One command on one input, and its runs (one per round).
#[derive(Debug)]
pub struct Condition {
    pub tool: Tool,
    pub input: Input,
    pub runs: Vec<Cost>,
}

impl Condition {
    fn new(tool: Tool, input: &Input) -> Self {
        Self {
            tool,
            input: input.clone(),
            runs: Vec::new(),
        }
    }

    /// The command as a user types it (`F` for the input).
    pub fn command_line(&self) -> String {
        let n = &self.input.name;
        match self.tool {
            Tool::Sensor => format!("sensor replay {n}"),
            Tool::Rg => format!("rg -c 'Accepted password' {n}"),
            Tool::Fail2ban => format!("fail2ban-regex {n} sshd.conf"),
            Tool::Journalctl => format!("journalctl --file {n} -o export"),
        }
    }

    fn command(&self, sensor: &Path) -> Command {
        let path = &self.input.path;
        let mut c = match self.tool {
            Tool::Sensor => Command::new(sensor),
            Tool::Rg => Command::new("rg"),
            Tool::Fail2ban => Command::new("fail2ban-regex"),
            Tool::Journalctl => Command::new("journalctl"),
        };
        match self.tool {
            Tool::Sensor => c.arg("replay").arg(path),
            Tool::Rg => c.args(["-c", "Accepted password"]).arg(path),
            Tool::Fail2ban => c.arg(path).arg(FAIL2BAN_SSHD),
            Tool::Journalctl => c.arg("--file").arg(path).args(["-o", "export"]),
        };
        c
    }

    /// Runs once; checks that the sensor read the records the input holds (its summary).
    fn run(&self, sensor: &Path, work: &Path) -> anyhow::Result<Cost> {
        let ok: &[i32] = match self.tool {
            Tool::Rg => &[0, 1],
            _ => &[0],
        };
        let (cost, stderr) = measure::run(self.command(sensor), &work.join("stderr"), ok)?;
        let printed = stderr
            .split(" records, ")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok());
        let want = self.input.counts.records;
        if self.tool == Tool::Sensor && want > 0 && printed != Some(want) {
            bail!(
                "`{}` printed {printed:?} records, the generator wrote {want}: {}",
                self.command_line(),
                stderr.trim()
            );
        }
        Ok(cost)
    }
}

pub fn replay(args: &Args) -> anyhow::Result<()> {
    if let Some(dir) = &args.write_inputs {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let (logs, slices) = auth_logs(dir, args.size_mib, args.slice_mib)?;
        for input in logs.iter().chain(&slices) {
            eprintln!("xtask: wrote {} {:?}", input.path.display(), input.counts);
        }
        let (export, counts) = export(dir, args.journal_entries)?;
        eprintln!("xtask: wrote {} {counts:?}", export.display());
        return Ok(());
    }
    setup::toolchain()?;
    setup::packages(&["ripgrep", "fail2ban", "systemd-journal-remote", "systemd"])?;
    let sensor = run::build_sensor(true)?;
    let work = WorkDir::create()?;
    catch_interrupts();
    eprintln!("xtask: generating the inputs in {}", work.0.display());
    let (logs, slices) = auth_logs(&work.0, args.size_mib, args.slice_mib)?;
    let empty = Input {
        name: "empty.log".to_owned(),
        path: work.0.join("empty.log"),
        counts: Counts::default(),
        unit: "lines",
        what: "(fail2ban-regex's start-up)".to_owned(),
    };
    fs::write(&empty.path, b"").context("writing empty.log")?;
    let journal = journal(&work.0, args.journal_entries)?;
    let facts = Facts::gather();

    let mut auth: Vec<Condition> = logs
        .iter()
        .flat_map(|l| [Condition::new(Tool::Sensor, l), Condition::new(Tool::Rg, l)])
        .collect();
    auth.extend([
        Condition::new(Tool::Sensor, &journal),
        Condition::new(Tool::Journalctl, &journal),
    ]);
    let mut fail2ban: Vec<Condition> = slices
        .iter()
        .flat_map(|s| {
            [
                Condition::new(Tool::Fail2ban, s),
                Condition::new(Tool::Sensor, s),
            ]
        })
        .collect();
    fail2ban.push(Condition::new(Tool::Fail2ban, &empty));
    rounds(
        "auth.log and journal",
        &mut auth,
        args.rounds,
        &sensor,
        &work.0,
    )?;
    rounds(
        "fail2ban-regex",
        &mut fail2ban,
        args.fail2ban_rounds,
        &sensor,
        &work.0,
    )?;

    let report = build_report(
        args,
        facts.finish(),
        [logs, slices, vec![journal]].concat(),
        auth,
        fail2ban,
    );
    print!("{}", report::text(&report));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
        fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    Ok(())
}

/// One discarded warm-up run of each condition (it also brings the inputs into the page cache),
/// then `n` rounds.
fn rounds(
    group: &str,
    conditions: &mut [Condition],
    n: u32,
    sensor: &Path,
    work: &Path,
) -> anyhow::Result<()> {
    eprintln!("xtask: {group}: warm-up run of each condition (discarded)");
    for c in conditions.iter() {
        check_interrupted()?;
        c.run(sensor, work)?;
    }
    let orders = balanced_orders(conditions.len());
    for round in 0..n as usize {
        let mut line = format!("xtask: {group}: round {}/{n}:", round + 1);
        for &i in &orders[round % orders.len()] {
            check_interrupted()?;
            let c = &mut conditions[i];
            let cost = c.run(sensor, work)?;
            line.push_str(&format!(" {} {}", c.tool_short(), num(cost.wall_ms)));
            c.runs.push(cost);
        }
        eprintln!("{line} (ms)");
    }
    Ok(())
}

impl Condition {
    fn tool_short(&self) -> String {
        format!("{:?}/{}", self.tool, self.input.name).to_lowercase()
    }
}

fn build_report(
    args: &Args,
    facts: Facts,
    inputs: Vec<Input>,
    auth: Vec<Condition>,
    fail2ban: Vec<Condition>,
) -> Report {
    let mut ratios = Vec::new();
    let mut targets = Vec::new();
    for pair in auth.chunks(2) {
        let [ours, theirs] = pair else { continue };
        let r = ratio(
            format!("{} / {}", ours.command_line(), theirs.command_line()),
            ours,
            theirs,
        );
        targets.push(match theirs.tool {
            Tool::Rg => target(
                format!(
                    "{} replay at most {} x rg's time",
                    ours.input.name,
                    report::MAX_TIMES_RG
                ),
                &r,
                report::MAX_TIMES_RG,
                true,
                " x",
            ),
            _ => target(
                format!(
                    "{} replay faster than journalctl -o export",
                    ours.input.name
                ),
                &r,
                1.0,
                true,
                " x journalctl's time",
            ),
        });
        ratios.push(r);
    }
    for pair in fail2ban.chunks(2) {
        let [theirs, ours] = pair else { continue };
        let r = ratio(
            format!("{} / {}", theirs.command_line(), ours.command_line()),
            theirs,
            ours,
        );
        targets.push(target(
            format!(
                "{} replay at least {} x faster than fail2ban-regex",
                ours.input.name,
                report::MIN_TIMES_FAIL2BAN
            ),
            &r,
            report::MIN_TIMES_FAIL2BAN,
            false,
            " x",
        ));
        ratios.push(r);
    }
    let conditions: Vec<Figures> = auth.iter().chain(&fail2ban).map(Figures::of).collect();
    let notes = start_up_notes(&conditions);
    Report {
        command: args.command_line(),
        facts,
        rounds: args.rounds,
        fail2ban_rounds: args.fail2ban_rounds,
        inputs,
        conditions,
        ratios,
        targets,
        notes,
    }
}

/// fail2ban-regex's time per MB once its start-up (its run on an empty file) is taken out,
/// against the sensor's on the whole log the slice starts: the comparison most favourable to
/// fail2ban-regex.
fn start_up_notes(conditions: &[Figures]) -> Vec<String> {
    let find = |tool: Tool, input: &str| {
        conditions
            .iter()
            .find(|c| c.tool == tool && c.input == input)
    };
    let Some(start_up) = find(Tool::Fail2ban, "empty.log") else {
        return Vec::new();
    };
    let mut notes = vec![format!(
        "fail2ban-regex starts up in {} ms (its run on an empty file)",
        num(start_up.wall_ms)
    )];
    for log in ["realistic", "dense"] {
        let slice = find(Tool::Fail2ban, &format!("{log}-slice.log"));
        let sensor = find(Tool::Sensor, &format!("{log}.log"));
        let (Some(slice), Some(sensor)) = (slice, sensor) else {
            continue;
        };
        let mb = slice.mb_per_s * slice.wall_ms / 1e3;
        let fail2ban_ms_per_mb = (slice.wall_ms - start_up.wall_ms) / mb;
        let sensor_ms_per_mb = 1e3 / sensor.mb_per_s;
        notes.push(format!(
            "{log}: fail2ban-regex {} ms/MB past its start-up; sensor replay {} ms/MB on the whole \
             {log}.log: {} x",
            num(fail2ban_ms_per_mb),
            num(sensor_ms_per_mb),
            num(fail2ban_ms_per_mb / sensor_ms_per_mb)
        ));
    }
    notes
}
