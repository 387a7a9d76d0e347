//! `cargo xtask bench evtx`: records per second of `sensor replay` on `.evtx` files, with the
//! shipped rules, against the `evtx` crate's own `evtx_dump -o jsonl` on the same files (both to
//! /dev/null). See BENCHMARKS.md.
//!
//! The inputs are the four GPL samples of `../shared/data/evtx`, read where they are (they must
//! never be copied into the repository). They are small (69,632 bytes, 2 to 30 records each),
//! so process start-up is most of every run, and the bench measures three things:
//!
//! - (a) one invocation per file, as an analyst runs either tool on a file;
//! - (b) a batch: one `sensor replay` given N copies of the four files (symlinks), against
//!   `evtx_dump` run once per file on the same 4N files (it takes one input);
//! - the start-ups alone: `sensor --version`, `sensor replay` of an empty file (the shipped
//!   rules loaded, no EVTX parser started), `evtx_dump --version`, and the isolated child
//!   that `sensor replay` starts for every `.evtx` file (`sensor evtx-worker < F`).
//!
//! Each round runs every condition once, in an order that changes from round to round
//! ([`balanced_orders`]); ratios are taken within a round. Every `sensor replay` run must
//! report the records each file holds, or the bench stops.
use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context as _, bail};

use super::{
    catch_interrupts, check_interrupted,
    facts::Facts,
    stats::{Spread, balanced_orders, median},
};
use crate::{cmd, run, setup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rounds of paired runs (14 conditions: 14 rounds are one balanced cycle).
    #[arg(long, default_value_t = 42, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Copies of the four files in the batch runs (4 x N files).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..))]
    pub copies: u32,
    /// Also write the figures, and every run's raw numbers, as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// The samples, the records each holds and what they are (`../shared/data/evtx/README.md`).
const SAMPLES: [(&str, u64, &str); 4] = [
    ("LM_REMCOM_5145_TargetHost.evtx", 30, "Security 5145"),
    ("LM_wmiexec_impacket_sysmon_whoami.evtx", 7, "Sysmon"),
    (
        "remote_file_copy_system_proc_file_write_sysmon_11.evtx",
        2,
        "Sysmon",
    ),
    ("sysmon_privesc_psexec_dwell.evtx", 12, "Sysmon"),
];

/// The sample the isolated child is timed on alone (the one with the most records).
const WORKER_SAMPLE: usize = 0;

/// What one run cost: wall time around the process, and its rusage from `wait4` (its reaped
/// children included: the sensor's EVTX child is counted in the sensor's CPU time).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
struct Cost {
    wall_ms: f64,
    cpu_ms: f64,
    max_rss_kib: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
enum Kind {
    /// `sensor replay F`, F the sample of this index.
    Sensor(usize),
    /// `evtx_dump -o jsonl F`.
    Dump(usize),
    /// `sensor replay` on every file of the batch at once.
    SensorBatch,
    /// `evtx_dump -o jsonl F` for every file of the batch, one after the other.
    DumpBatch,
    SensorVersion,
    SensorEmpty,
    Worker,
    DumpVersion,
}

/// One command and its runs, one per round.
#[derive(Debug, serde::Serialize)]
struct Condition {
    kind: Kind,
    /// The heading it is shown under: the sample, the batch, the start-ups.
    group: String,
    /// The command as a user types it (`F` for the file the heading names).
    command: String,
    files: u64,
    records: u64,
    runs: Vec<Cost>,
}

/// What the runs need.
struct Setup {
    sensor: PathBuf,
    dump: PathBuf,
    samples: Vec<PathBuf>,
    batch: Vec<PathBuf>,
    empty: PathBuf,
    work: PathBuf,
}

pub fn evtx(args: &Args) -> anyhow::Result<()> {
    let samples = samples()?;
    let version = locked_evtx_version()?;
    setup::toolchain()?;
    let dump = setup::evtx_dump(&version)?;
    let sensor = run::build_sensor(true)?;
    let work = WorkDir::create()?;
    catch_interrupts();
    let mut batch = Vec::new();
    for copy in 1..=args.copies {
        let dir = work.0.join(format!("copy-{copy:03}"));
        fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for sample in &samples {
            let link = dir.join(sample.file_name().context("a sample has no file name")?);
            std::os::unix::fs::symlink(sample, &link)
                .with_context(|| format!("linking {} to {}", link.display(), sample.display()))?;
            batch.push(link);
        }
    }
    let empty = work.0.join("empty");
    fs::write(&empty, b"").with_context(|| format!("writing {}", empty.display()))?;
    let s = Setup {
        sensor,
        dump,
        samples,
        batch,
        empty,
        work: work.0.clone(),
    };
    let mut conditions = conditions(&s);
    let facts = Facts::gather();
    eprintln!("xtask: warm-up run of each condition (discarded), checking every record count");
    for c in &conditions {
        check_interrupted()?;
        c.run(&s, true)?;
    }
    let orders = balanced_orders(conditions.len());
    for round in 0..args.rounds as usize {
        for &i in &orders[round % orders.len()] {
            check_interrupted()?;
            let cost = conditions[i].run(&s, false)?;
            conditions[i].runs.push(cost);
        }
        eprintln!("xtask: round {}/{} done", round + 1, args.rounds);
    }
    let bytes = s
        .samples
        .iter()
        .map(|p| fs::metadata(p).map_or(0, |m| m.len()));
    let report = Report::new(args, facts.finish(), &version, bytes.collect(), &conditions);
    print!("{}", report.text());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
        fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    Ok(())
}

/// The samples in `../shared/data/evtx`, read in place; fails, saying where they should be,
/// when one is absent.
fn samples() -> anyhow::Result<Vec<PathBuf>> {
    let root = cmd::workspace_root();
    let root = root.canonicalize().unwrap_or(root);
    let dir = root.parent().unwrap_or(&root).join("shared/data/evtx");
    SAMPLES
        .iter()
        .map(|(name, _, _)| {
            let path = dir.join(name);
            path.canonicalize().with_context(|| {
                format!(
                    "the EVTX sample {} is missing: the bench reads the four GPL samples of \
                     EVTX-ATTACK-SAMPLES in place from <repo>/../shared/data/evtx (see its \
                     README.md); they are test data under the GPL, never copied into the repository",
                    path.display()
                )
            })
        })
        .collect()
}

/// The version of the `evtx` crate the sensor links, from Cargo.lock.
fn locked_evtx_version() -> anyhow::Result<String> {
    let path = cmd::workspace_root().join("Cargo.lock");
    let lock = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let field = |package: &str, key: &str| {
        package.lines().find_map(|l| {
            let value = l.strip_prefix(key)?.trim().strip_prefix('=')?.trim();
            Some(value.trim_matches('"').to_owned())
        })
    };
    lock.split("[[package]]")
        .find(|p| field(p, "name").as_deref() == Some("evtx"))
        .and_then(|p| field(p, "version"))
        .with_context(|| format!("no `evtx` package in {}", path.display()))
}

fn conditions(s: &Setup) -> Vec<Condition> {
    let new = |kind, group: &str, command: &str, files: u64, records: u64| Condition {
        kind,
        group: group.to_owned(),
        command: command.to_owned(),
        files,
        records,
        runs: Vec::new(),
    };
    let mut all = Vec::new();
    for (i, (name, records, _)) in SAMPLES.iter().enumerate() {
        all.push(new(Kind::Sensor(i), name, "sensor replay F", 1, *records));
        all.push(new(
            Kind::Dump(i),
            name,
            "evtx_dump -o jsonl F",
            1,
            *records,
        ));
    }
    let files = s.batch.len() as u64;
    let copies = files / SAMPLES.len() as u64;
    let records = copies * SAMPLES.iter().map(|(_, n, _)| n).sum::<u64>();
    let batch = format!("(b) batch: {copies} copies of the four files, {files} files (symlinks)");
    all.push(new(
        Kind::SensorBatch,
        &batch,
        &format!("sensor replay F1 … F{files} (one invocation)"),
        files,
        records,
    ));
    all.push(new(
        Kind::DumpBatch,
        &batch,
        &format!("evtx_dump -o jsonl Fi, once per file ({files} runs)"),
        files,
        records,
    ));
    let (name, records, _) = SAMPLES[WORKER_SAMPLE];
    let worker = format!("sensor evtx-worker < {name}");
    all.extend([
        new(Kind::SensorVersion, "start-up", "sensor --version", 0, 0),
        new(Kind::SensorEmpty, "start-up", "sensor replay EMPTY", 0, 0),
        new(Kind::Worker, "start-up", &worker, 1, records),
        new(Kind::DumpVersion, "start-up", "evtx_dump --version", 0, 0),
    ]);
    all
}

impl Condition {
    /// Runs once, output to /dev/null. A `check` run (the warm-up) also keeps the output of
    /// `evtx_dump` and of the child, and checks that they hold every record of the file.
    fn run(&self, s: &Setup, check: bool) -> anyhow::Result<Cost> {
        let sensor = || {
            let mut c = Command::new(&s.sensor);
            c.env_remove("SENSOR_LOG");
            c
        };
        let dump = |path: &Path| {
            let mut c = Command::new(&s.dump);
            c.args(["-o", "jsonl"]).arg(path);
            c
        };
        let out = check.then(|| s.work.join("stdout"));
        let out = out.as_deref();
        let (cost, stderr) = match self.kind {
            Kind::Sensor(i) => timed(sensor().arg("replay").arg(&s.samples[i]), None, None, s)?,
            Kind::SensorBatch => timed(sensor().arg("replay").args(&s.batch), None, None, s)?,
            Kind::SensorEmpty => timed(sensor().arg("replay").arg(&s.empty), None, None, s)?,
            Kind::SensorVersion => timed(sensor().arg("--version"), None, None, s)?,
            Kind::DumpVersion => timed(Command::new(&s.dump).arg("--version"), None, None, s)?,
            Kind::Worker => {
                // As `sensor replay` starts it (`windows/evtx.rs`), without the rlimits.
                let mut c = sensor();
                c.args(["--log", "warn", "evtx-worker"])
                    .env("RUST_BACKTRACE", "0");
                let (cost, _) = timed(&mut c, Some(&s.samples[WORKER_SAMPLE]), out, s)?;
                if let Some(out) = out {
                    check_worker(out, self.records)?;
                }
                (cost, String::new())
            }
            Kind::Dump(i) => {
                let (cost, _) = timed(&mut dump(&s.samples[i]), None, out, s)?;
                if let Some(out) = out {
                    check_lines(out, &s.samples[i], SAMPLES[i].1)?;
                }
                (cost, String::new())
            }
            Kind::DumpBatch => {
                let started = Instant::now();
                let mut total = Cost::default();
                for path in &s.batch {
                    let (cost, _) = timed(&mut dump(path), None, out, s)?;
                    if let Some(out) = out {
                        check_lines(out, path, expected(path)?)?;
                    }
                    total.cpu_ms += cost.cpu_ms;
                    total.max_rss_kib = total.max_rss_kib.max(cost.max_rss_kib);
                }
                total.wall_ms = started.elapsed().as_secs_f64() * 1e3;
                (total, String::new())
            }
        };
        match self.kind {
            Kind::Sensor(i) => check_replay(&stderr, &s.samples[i..=i])?,
            Kind::SensorBatch => check_replay(&stderr, &s.batch)?,
            Kind::SensorEmpty => check_replay(&stderr, &[])?,
            _ => {}
        }
        Ok(cost)
    }
}

/// Runs `command` with stdin from `stdin` (else /dev/null), stdout to `stdout` (else
/// /dev/null) and stderr to a file; fails unless it exits 0. Returns its cost and its stderr.
fn timed(
    command: &mut Command,
    stdin: Option<&Path>,
    stdout: Option<&Path>,
    s: &Setup,
) -> anyhow::Result<(Cost, String)> {
    let open = |p: &Path| File::open(p).with_context(|| format!("opening {}", p.display()));
    let stdin = stdin.map_or(Ok(Stdio::null()), |p| open(p).map(Stdio::from))?;
    let null = File::create("/dev/null").context("opening /dev/null")?;
    let stdout = match stdout {
        Some(p) => File::create(p).with_context(|| format!("creating {}", p.display()))?,
        None => null,
    };
    let err_path = s.work.join("stderr");
    let err =
        File::create(&err_path).with_context(|| format!("creating {}", err_path.display()))?;
    command.stdin(stdin).stdout(stdout).stderr(err);
    let started = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", cmd::show(command)))?;
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (`child` is dropped without `wait`);
    // `status` and `usage` are valid out-pointers.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    drop(child);
    if reaped != pid {
        let e = std::io::Error::last_os_error();
        bail!("waiting for {}: {e}", cmd::show(command));
    }
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!(
            "{} failed (wait status {status:#x}): {}",
            cmd::show(command),
            stderr.trim()
        );
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    let cost = Cost {
        wall_ms,
        cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    };
    Ok((cost, stderr))
}

/// The records the sample a path names (or links to) holds.
fn expected(path: &Path) -> anyhow::Result<u64> {
    let name = path.file_name().map(|n| n.to_string_lossy());
    SAMPLES
        .iter()
        .find(|(s, _, _)| Some(*s) == name.as_deref())
        .map(|(_, n, _)| *n)
        .with_context(|| format!("{} is not one of the samples", path.display()))
}

/// The number in front of `one` or `many` in `text`: `30 entries` → 30.
fn count_of(text: &str, one: &str, many: &str) -> Option<u64> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .find(|w| w[1] == one || w[1] == many)
        .and_then(|w| w[0].parse().ok())
}

/// `sensor replay`'s summary on stderr must name every file with the records it holds, and
/// no error: `replayed 4 inputs: 0 lines and 51 entries read, 51 records, …, 0 errors`, then
/// `  PATH (evtx): 30 entries, 30 records, 12 alerts` per file.
fn check_replay(stderr: &str, files: &[PathBuf]) -> anyhow::Result<()> {
    let fail = |why: String| anyhow::anyhow!("`sensor replay` {why}; its stderr:\n{stderr}");
    let total = stderr
        .lines()
        .find(|l| l.starts_with("sensor replay: replayed "))
        .ok_or_else(|| fail("printed no summary".into()))?;
    let want: u64 = files
        .iter()
        .map(|f| expected(f))
        .sum::<anyhow::Result<_>>()?;
    let got = |one, many| count_of(total, one, many);
    let inputs = files.len().max(1) as u64;
    if got("input", "inputs") != Some(inputs) || got("error", "errors") != Some(0) {
        return Err(fail(format!(
            "did not read all {inputs} inputs without error"
        )));
    }
    if !files.is_empty()
        && (got("entry", "entries") != Some(want) || got("record", "records") != Some(want))
    {
        return Err(fail(format!(
            "did not read the {want} records of its inputs"
        )));
    }
    let per_file: Vec<&str> = stderr.lines().filter(|l| l.contains(" (evtx): ")).collect();
    if per_file.len() != files.len() {
        return Err(fail(format!(
            "read {} files as EVTX, not {}",
            per_file.len(),
            files.len()
        )));
    }
    for (line, file) in per_file.iter().zip(files) {
        let name = line
            .trim_start()
            .split(" (evtx): ")
            .next()
            .unwrap_or_default();
        let n = count_of(line, "entry", "entries");
        if Path::new(name) != file.as_path() || n != Some(expected(file)?) {
            return Err(fail(format!("read `{line}` for {}", file.display())));
        }
    }
    Ok(())
}

/// `evtx_dump -o jsonl` writes one line per record.
fn check_lines(out: &Path, file: &Path, want: u64) -> anyhow::Result<()> {
    let text = fs::read_to_string(out).with_context(|| format!("reading {}", out.display()))?;
    let lines = text.lines().filter(|l| l.starts_with('{')).count() as u64;
    if lines != want {
        bail!(
            "`evtx_dump -o jsonl {}` wrote {lines} records, not {want}",
            file.display()
        );
    }
    Ok(())
}

/// The child ends its output with `{"end":{"records":N,"bad":0}}`.
fn check_worker(out: &Path, want: u64) -> anyhow::Result<()> {
    let text = fs::read_to_string(out).with_context(|| format!("reading {}", out.display()))?;
    let end = format!(r#"{{"end":{{"records":{want},"bad":0}}}}"#);
    if text.lines().last() != Some(end.as_str()) {
        bail!("`sensor evtx-worker` did not end with `{end}`");
    }
    Ok(())
}

/// The bench's scratch directory under /var/tmp (the batch's symlinks), removed at the end.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> anyhow::Result<Self> {
        let dir = PathBuf::from(format!("/var/tmp/sensor-bench-evtx-{}", std::process::id()));
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

/// One condition over its rounds.
#[derive(Debug, serde::Serialize)]
struct Figures {
    group: String,
    command: String,
    files: u64,
    records: u64,
    wall_ms: f64,
    cpu_ms: f64,
    max_rss_kib: f64,
    /// Records per second of wall time.
    records_per_s: f64,
    runs: Vec<Cost>,
}

impl Figures {
    fn of(c: &Condition) -> Self {
        let all = |f: fn(&Cost) -> f64| c.runs.iter().map(f).collect::<Vec<_>>();
        let wall_ms = median(&all(|r| r.wall_ms));
        Self {
            group: c.group.clone(),
            command: c.command.clone(),
            files: c.files,
            records: c.records,
            wall_ms,
            cpu_ms: median(&all(|r| r.cpu_ms)),
            max_rss_kib: median(&all(|r| r.max_rss_kib as f64)),
            records_per_s: c.records as f64 / (wall_ms / 1e3),
            runs: c.runs.clone(),
        }
    }
}

/// `sensor / evtx_dump` per round.
#[derive(Debug, serde::Serialize)]
struct Ratio {
    what: String,
    spread: Spread,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    command: String,
    facts: Facts,
    rounds: u32,
    evtx_version: String,
    /// The size of each sample, in the order of [`SAMPLES`].
    sample_bytes: Vec<u64>,
    /// Each sample (sensor, then evtx_dump), the four in a row, the batch, the start-ups.
    conditions: Vec<Figures>,
    ratios: Vec<Ratio>,
    notes: Vec<String>,
}

impl Report {
    fn new(
        args: &Args,
        facts: Facts,
        version: &str,
        sample_bytes: Vec<u64>,
        conditions: &[Condition],
    ) -> Self {
        // The samples are the first conditions, sensor then evtx_dump; after them come the
        // four one invocation each (the per-round sums of every other one), then the batch.
        let samples = 2 * SAMPLES.len();
        let in_a_row = |first: usize| {
            let mut sum = Condition {
                kind: conditions[first].kind,
                group: "all four, one invocation each (per-round sums)".to_owned(),
                command: conditions[first].command.clone(),
                files: 0,
                records: 0,
                runs: vec![Cost::default(); args.rounds as usize],
            };
            for c in conditions[..samples].iter().skip(first).step_by(2) {
                sum.files += c.files;
                sum.records += c.records;
                for (s, r) in sum.runs.iter_mut().zip(&c.runs) {
                    s.wall_ms += r.wall_ms;
                    s.cpu_ms += r.cpu_ms;
                    s.max_rss_kib = s.max_rss_kib.max(r.max_rss_kib);
                }
            }
            Figures::of(&sum)
        };
        let mut figures: Vec<Figures> = conditions.iter().map(Figures::of).collect();
        figures.splice(samples..samples, [in_a_row(0), in_a_row(1)]);
        let ratios = figures[..samples + 4]
            .chunks(2)
            .filter_map(|pair| {
                let [a, b] = pair else { return None };
                let per_round: Vec<f64> = a
                    .runs
                    .iter()
                    .zip(&b.runs)
                    .map(|(x, y)| x.wall_ms / y.wall_ms)
                    .collect();
                Some(Ratio {
                    what: format!("{}: {} records", a.group, a.records),
                    spread: Spread::of(&per_round),
                })
            })
            .collect();
        Self {
            command: format!(
                "cargo xtask bench evtx --rounds {} --copies {}",
                args.rounds, args.copies
            ),
            facts,
            rounds: args.rounds,
            evtx_version: version.to_owned(),
            sample_bytes,
            notes: notes(conditions),
            conditions: figures,
            ratios,
        }
    }

    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "\nevtx: `sensor replay` (shipped rules) against `evtx_dump -o jsonl` on the four EVTX \
             samples, both to /dev/null, {} rounds of paired runs",
            self.rounds
        );
        self.facts.write_header(&mut o, &self.command);
        let v = &self.evtx_version;
        let _ = writeln!(
            o,
            "evtx_dump: `cargo install evtx --version {v} --locked` (the sensor links evtx {v})"
        );
        let _ = writeln!(o, "\ninputs (read in place from ../shared/data/evtx)");
        for ((name, records, what), bytes) in SAMPLES.iter().zip(&self.sample_bytes) {
            let kb = *bytes as f64 / 1e3;
            let _ = writeln!(o, "  {name:<56} {kb:>5.1} KB {records:>4} records  {what}");
        }
        let _ = writeln!(
            o,
            "\nmedians over rounds; records/s of wall time; cpu and peak RSS from wait4, the \
             sensor's EVTX children included\n  {:<54} files records       wall        cpu \
             records/s  ms/file peak RSS",
            "(a) one invocation per file"
        );
        let mut group = "";
        for f in &self.conditions {
            if f.group != group {
                group = &f.group;
                let _ = writeln!(o, "  {group}");
            }
            let per_file = f.wall_ms / f.files as f64;
            let per_s = f.records_per_s;
            let _ = writeln!(
                o,
                "    {:<52} {:>5} {:>7} {:>7} ms {:>7} ms {:>9} {:>8} {:>5.1} MB",
                f.command,
                f.files,
                f.records,
                num(f.wall_ms),
                num(f.cpu_ms),
                num(if f.records > 0 { per_s } else { f64::NAN }),
                num(if f.files > 0 { per_file } else { f64::NAN }),
                f.max_rss_kib / 1024.0
            );
        }
        let _ = writeln!(
            o,
            "\nratios of wall times, sensor replay / evtx_dump: median [95 % confidence interval] \
             of the per-round ratios"
        );
        for r in &self.ratios {
            let s = &r.spread;
            let ci = if s.ci95.0.is_finite() {
                format!("[{}, {}]", num(s.ci95.0), num(s.ci95.1))
            } else {
                format!("[too few rounds; range {} to {}]", num(s.min), num(s.max))
            };
            let _ = writeln!(o, "  {:<76} {:>6} {ci}", r.what, num(s.median));
        }
        let _ = writeln!(o, "\nper file past start-up (from the medians above)");
        for note in &self.notes {
            let _ = writeln!(o, "  {note}");
        }
        o
    }
}

/// The batch's cost per file once each tool's start-up is taken out, and what the sensor's
/// isolated child accounts for.
fn notes(conditions: &[Condition]) -> Vec<String> {
    let wall = |kind: Kind| {
        let c = conditions.iter().find(|c| c.kind == kind);
        median(&c.map_or(Vec::new(), |c| c.runs.iter().map(|r| r.wall_ms).collect()))
    };
    let Some(batch) = conditions.iter().find(|c| c.kind == Kind::SensorBatch) else {
        return Vec::new();
    };
    let files = batch.files as f64;
    let per_s = |ms_per_file: f64| batch.records as f64 / files / ms_per_file * 1e3;
    let sensor = (wall(Kind::SensorBatch) - wall(Kind::SensorEmpty)) / files;
    let dump = wall(Kind::DumpBatch) / files - wall(Kind::DumpVersion);
    vec![
        format!(
            "sensor replay: {} ms per file past its start-up (the batch minus `sensor replay \
             EMPTY`, over {} files), {} records/s; its isolated child alone takes {} ms, of \
             which starting the sensor binary (`sensor --version`) {} ms",
            num(sensor),
            batch.files,
            num(per_s(sensor)),
            num(wall(Kind::Worker)),
            num(wall(Kind::SensorVersion))
        ),
        format!(
            "evtx_dump: {} ms per file past its start-up (a batch run minus `evtx_dump \
             --version`), {} records/s",
            num(dump),
            num(per_s(dump))
        ),
    ]
}

/// Three significant digits or so; `-` for what could not be computed.
fn num(v: f64) -> String {
    match v.abs() {
        x if !x.is_finite() => "-".to_owned(),
        x if x >= 100.0 => format!("{v:.0}"),
        x if x >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{check_replay, count_of};

    #[test]
    fn reads_the_replay_summary() {
        let stderr = "sensor replay: replayed 2 inputs: 0 lines and 42 entries read, 42 records, \
                      17 alerts, 0 errors\n  \
                      /d/LM_REMCOM_5145_TargetHost.evtx (evtx): 30 entries, 30 records, 12 alerts\n  \
                      /d/sysmon_privesc_psexec_dwell.evtx (evtx): 12 entries, 12 records, 5 alerts\n  \
                      rule \"PsExec service process (PSEXESVC.exe)\" (cf2119e4): 1 alert\n";
        assert_eq!(count_of(stderr, "input", "inputs"), Some(2));
        assert_eq!(count_of(stderr, "entry", "entries"), Some(42));
        assert_eq!(count_of("1 input: 1 entry", "entry", "entries"), Some(1));
        let files = [
            "LM_REMCOM_5145_TargetHost.evtx",
            "sysmon_privesc_psexec_dwell.evtx",
        ]
        .map(|n| PathBuf::from("/d").join(n));
        check_replay(stderr, &files).unwrap();
        check_replay(stderr, &files[..1]).unwrap_err();
        let short = stderr.replace("12 entries, 12", "11 entries, 11");
        check_replay(&short, &files).unwrap_err();
    }
}
