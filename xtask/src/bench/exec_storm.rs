//! `cargo xtask bench exec-storm`: what the sensor costs a host that forks and execs a lot, next to
//! no sensor and next to auditd with an execve rule. See BENCHMARKS.md.
//!
//! Conditions, each a storm of the `exec-storm` generator (N × fork+exec+wait of /bin/true):
//! 1. baseline: nothing attached;
//! 2. sensor: `sensor run` (release) attached, the storm untraced (one map lookup per hook);
//! 3. sensor, traced storm: the same generator started from a copy named `sshd`, so that the
//!    sensor tracks it and every child: each fork, exec and exit of the storm is traced;
//! 4. auditd: auditd running with `-a always,exit -F arch=b64 -S execve`.
//!
//! One discarded warm-up run of each condition, then rounds. Each round runs every condition
//! once, in an order that changes from round to round so that every condition follows every
//! other equally often ([`balanced_orders`]); slow drifts of a shared machine fall on all
//! conditions alike, and ratios are taken within a round. `kernel.bpf_stats_enabled` is on
//! during the sensor's runs only.
use std::{
    collections::BTreeMap,
    fs,
    os::unix::{fs::PermissionsExt as _, process::CommandExt as _},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

use super::{
    auditd::{self, Auditd, Recorded},
    bpf_stats::{self, Counters, Loaded, StatsEnabled},
    catch_interrupts, check_interrupted,
    facts::Facts,
    report::Report,
    sensor::{Sensor, Stopped},
    stats::balanced_orders,
    table,
};
use crate::{cmd, run, setup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// fork+exec of /bin/true per run.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub execs: u64,
    /// Rounds; each runs every condition once, in an order that changes from round to round.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Leave auditd out (otherwise a condition wherever it can run; where it cannot, the report
    /// says why).
    #[arg(long)]
    pub no_auditd: bool,
    /// Also write the figures, and every run's raw numbers, as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl Args {
    pub fn command_line(&self) -> String {
        let mut s = format!(
            "cargo xtask bench exec-storm --execs {} --rounds {}",
            self.execs, self.rounds
        );
        if self.no_auditd {
            s.push_str(" --no-auditd");
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Baseline,
    Sensor,
    SensorTraced,
    Auditd,
}

impl Condition {
    pub fn label(self) -> &'static str {
        match self {
            Self::Baseline => "baseline (nothing attached)",
            Self::Sensor => "sensor, untraced storm",
            Self::SensorTraced => "sensor, traced storm",
            Self::Auditd => "auditd + execve rule",
        }
    }
}

/// How long one storm took.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Timing {
    /// Wall time of the generator's loop.
    pub wall_ns: u64,
    /// CPU time (user + system) of the generator and its children during the loop: unlike the
    /// wall time, untouched by waiting for a CPU that other work holds.
    pub cpu_ns: u64,
}

/// One storm under the sensor: its timing, what each program cost, what the sensor said.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SensorRun {
    pub timing: Timing,
    /// Per program name: time and runs during the storm (bpf_stats deltas).
    pub progs: std::collections::BTreeMap<String, Counters>,
    pub stopped: Stopped,
}

/// One storm under auditd.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct AuditRun {
    pub timing: Timing,
    pub recorded: Recorded,
}

/// Every condition's outcome in one round.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Round {
    /// The order the conditions ran in.
    pub order: Vec<&'static str>,
    /// Per condition: eBPF tracing programs of other processes attached during its run (another
    /// engineer's sensor, say). They add to every condition alike, but make "nothing attached"
    /// untrue.
    pub others_attached: Vec<(&'static str, usize)>,
    pub baseline: Option<Timing>,
    pub sensor: Option<SensorRun>,
    pub traced: Option<SensorRun>,
    pub auditd: Option<AuditRun>,
}

struct Setup {
    sensor: PathBuf,
    generator: PathBuf,
    /// The generator, copied to a file named `sshd`.
    sshd: PathBuf,
    audit_dir: PathBuf,
}

pub fn exec_storm(args: &Args) -> anyhow::Result<()> {
    if !cmd::is_root() {
        bail!(
            "the exec-storm bench needs root (eBPF, auditd, sysctl): run `sudo -E cargo xtask bench exec-storm`"
        );
    }
    setup::toolchain()?;
    setup::packages(&["bpftool"])?;
    // Without auditd the bench still measures the sensor, and says why auditd is missing.
    let auditd_installed = if args.no_auditd {
        Ok(())
    } else {
        setup::packages(&["auditd"])
    };
    let sensor = run::build_sensor(true)?;
    let generator = build_generator()?;
    let work = WorkDir::create()?;
    let sshd = work.0.join("sshd");
    fs::copy(&generator, &sshd)
        .with_context(|| format!("copying {} to {}", generator.display(), sshd.display()))?;
    fs::set_permissions(&sshd, fs::Permissions::from_mode(0o755))?;
    let setup = Setup {
        sensor,
        generator,
        sshd,
        audit_dir: work.0.join("audit"),
    };
    catch_interrupts();

    let auditd_missing = match auditd_installed {
        _ if args.no_auditd => Some("left out (--no-auditd)".to_owned()),
        Err(e) => Some(format!(
            "the auditd package is missing and could not be installed: {e:#}"
        )),
        Ok(()) => auditd::unavailable(),
    };
    let mut conditions = vec![
        Condition::Baseline,
        Condition::Sensor,
        Condition::SensorTraced,
    ];
    match &auditd_missing {
        None => conditions.push(Condition::Auditd),
        Some(why) => eprintln!("xtask: auditd is not a condition of this run: {why}"),
    }
    let facts = Facts::gather();

    // One discarded run of each condition: warms caches, and sets the kernel's sticky
    // `audit_ever_enabled` before the first measured round rather than in the middle of it.
    let warm_up = (args.execs / 5).max(100);
    eprintln!("xtask: warm-up: one run of each condition with {warm_up} execs (discarded)");
    for &condition in &conditions {
        check_interrupted()?;
        run_condition(&setup, condition, warm_up, &mut Round::default())?;
    }

    let orders = balanced_orders(conditions.len());
    let mut rounds = Vec::new();
    for r in 0..args.rounds as usize {
        let mut round = Round::default();
        for &i in &orders[r % orders.len()] {
            check_interrupted()?;
            let condition = conditions[i];
            round.order.push(condition.label());
            let t = run_condition(&setup, condition, args.execs, &mut round)?;
            eprintln!(
                "xtask: round {}/{}: {:<28} wall {:>8.1} ms, cpu {:>8.1} ms",
                r + 1,
                args.rounds,
                condition.label(),
                t.wall_ns as f64 / 1e6,
                t.cpu_ns as f64 / 1e6,
            );
        }
        rounds.push(round);
    }
    let report = Report::new(facts.finish(), args, &rounds, auditd_missing);
    print!("{}", table::text(&report));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
        fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    Ok(())
}

/// Runs `condition` once with `n` execs, fills its slot of `round`, returns the timing.
///
/// Each run ends with `sync`, so that no condition leaves its dirty pages (auditd's log above
/// all) to be written back during the next one.
fn run_condition(
    setup: &Setup,
    condition: Condition,
    n: u64,
    round: &mut Round,
) -> anyhow::Result<Timing> {
    let (timing, others) = match condition {
        Condition::Baseline => {
            let others = Loaded::read()?.others(&BTreeMap::new());
            let (timing, _) = storm(&setup.generator, n)?;
            round.baseline = Some(timing);
            (timing, others)
        }
        Condition::Sensor | Condition::SensorTraced => {
            let traced = condition == Condition::SensorTraced;
            let program = if traced {
                &setup.sshd
            } else {
                &setup.generator
            };
            let (run, others) = under_sensor(&setup.sensor, program, n)?;
            let timing = run.timing;
            *(if traced {
                &mut round.traced
            } else {
                &mut round.sensor
            }) = Some(run);
            (timing, others)
        }
        Condition::Auditd => {
            let others = Loaded::read()?.others(&BTreeMap::new());
            let auditd = Auditd::start(&setup.audit_dir)?;
            let (timing, pid) = storm(&setup.generator, n)?;
            let recorded = auditd.finish(pid)?;
            round.auditd = Some(AuditRun { timing, recorded });
            (timing, others)
        }
    };
    round.others_attached.push((condition.label(), others));
    cmd::output(&mut Command::new("sync"))?;
    Ok(timing)
}

/// A storm with the sensor attached and bpf_stats on; the guards undo both on every path.
/// Returns the run and how many tracing programs of other processes were attached.
fn under_sensor(sensor_bin: &Path, program: &Path, n: u64) -> anyhow::Result<(SensorRun, usize)> {
    let _stats = StatsEnabled::enable()?;
    let sensor = Sensor::start(sensor_bin)?;
    let loaded = Loaded::read()?;
    let before = bpf_stats::snapshot(sensor.pid())?;
    let (timing, _) = storm(program, n)?;
    let after = bpf_stats::snapshot(sensor.pid())?;
    let stopped = sensor.stop()?;
    let progs = bpf_stats::delta(&before, &after, &loaded.names);
    Ok((
        SensorRun {
            timing,
            progs,
            stopped,
        },
        loaded.others(&before),
    ))
}

/// Runs the generator (`PROGRAM N`); returns its timing and its pid.
fn storm(program: &Path, n: u64) -> anyhow::Result<(Timing, u32)> {
    let mut command = Command::new(program);
    command
        .arg(n.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", cmd::show(&command)))?;
    let pid = child.id();
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {}", cmd::show(&command)))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            cmd::show(&command),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let field = |key: &str| -> anyhow::Result<u64> {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
            .with_context(|| {
                format!(
                    "no `{key}=` in the output of {}: {stdout}",
                    cmd::show(&command)
                )
            })
    };
    Ok((
        Timing {
            wall_ns: field("wall_ns")?,
            cpu_ns: field("cpu_ns")?,
        },
        pid,
    ))
}

/// Builds the `exec-storm` generator (release) and returns its path.
fn build_generator() -> anyhow::Result<PathBuf> {
    cmd::status(cmd::cargo().args([
        "build",
        "--release",
        "--package",
        "xtask",
        "--bin",
        "exec-storm",
    ]))?;
    let bin = run::target_dir()?.join("release").join("exec-storm");
    bin.canonicalize()
        .with_context(|| format!("the build left no binary at {}", bin.display()))
}

/// The bench's scratch directory under /var/tmp (on disk like /var/log, where auditd writes on a
/// real host; /tmp may be a tmpfs), removed at the end.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> anyhow::Result<Self> {
        let dir = PathBuf::from(format!("/var/tmp/sensor-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
