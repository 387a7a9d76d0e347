//! The replay figures: medians per condition, medians of per-round ratios with their 95 %
//! confidence intervals, throughput and peak memory, and each target with whether it held.
use std::fmt::Write as _;

use super::{Condition, Input, Tool, measure::Cost};
use crate::bench::{
    facts::Facts,
    report::Target,
    stats::{Spread, median},
};

/// Limits of the log-sources issue.
pub const MAX_TIMES_RG: f64 = 3.0;
pub const MIN_TIMES_FAIL2BAN: f64 = 200.0;

/// One condition over its rounds.
#[derive(Debug, serde::Serialize)]
pub struct Figures {
    pub tool: Tool,
    pub input: String,
    pub command: String,
    pub wall_ms: f64,
    pub cpu_ms: f64,
    pub max_rss_kib: f64,
    /// Input MB (10^6 bytes) per second of wall time.
    pub mb_per_s: f64,
    pub runs: Vec<Cost>,
}

/// `a / b` per round.
#[derive(Debug, serde::Serialize)]
pub struct Ratio {
    pub what: String,
    pub spread: Spread,
}

#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub command: String,
    pub facts: Facts,
    pub rounds: u32,
    pub fail2ban_rounds: u32,
    pub inputs: Vec<Input>,
    pub conditions: Vec<Figures>,
    pub ratios: Vec<Ratio>,
    pub targets: Vec<Target>,
    /// Figures derived from the medians (fail2ban-regex without its start-up).
    pub notes: Vec<String>,
}

impl Figures {
    pub fn of(c: &Condition) -> Self {
        let all = |f: fn(&Cost) -> f64| c.runs.iter().map(f).collect::<Vec<_>>();
        let wall_ms = median(&all(|r| r.wall_ms));
        Self {
            tool: c.tool,
            input: c.input.name.clone(),
            command: c.command_line(),
            wall_ms,
            cpu_ms: median(&all(|r| r.cpu_ms)),
            max_rss_kib: median(&all(|r| r.max_rss_kib as f64)),
            mb_per_s: c.input.counts.bytes as f64 / 1e6 / (wall_ms / 1e3),
            runs: c.runs.clone(),
        }
    }
}

/// The per-round ratio of the wall times of `a` and `b` (runs of the same round).
pub fn ratio(what: String, a: &Condition, b: &Condition) -> Ratio {
    let per_round: Vec<f64> = a
        .runs
        .iter()
        .zip(&b.runs)
        .map(|(x, y)| x.wall_ms / y.wall_ms)
        .collect();
    Ratio {
        what,
        spread: Spread::of(&per_round),
    }
}

/// A target on a ratio: held when the median is within `limit`, resolved when the whole
/// confidence interval is on the same side.
pub fn target(target: String, r: &Ratio, limit: f64, at_most: bool, unit: &str) -> Target {
    let s = &r.spread;
    let held = if at_most {
        s.median <= limit
    } else {
        s.median >= limit
    };
    let resolved = if !s.ci95.0.is_finite() {
        "too few rounds for an interval".to_owned()
    } else if (s.ci95.1 <= limit) == (s.ci95.0 <= limit) {
        format!("95 % CI [{}, {}]: resolved", num(s.ci95.0), num(s.ci95.1))
    } else {
        format!(
            "95 % CI [{}, {}] straddles the limit: NOT resolved",
            num(s.ci95.0),
            num(s.ci95.1)
        )
    };
    Target {
        target,
        measured: format!("{}{unit} ({resolved})", num(s.median)),
        held: Some(held),
    }
}

/// Three significant digits or so; `-` for what could not be computed.
pub fn num(v: f64) -> String {
    match v.abs() {
        x if !x.is_finite() => "-".to_owned(),
        x if x >= 100.0 => format!("{v:.0}"),
        x if x >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let f = &r.facts;
    let _ = writeln!(
        o,
        "\nreplay: `sensor replay` against rg, fail2ban-regex and journalctl on the same files, \
         {} rounds of paired runs ({} for fail2ban-regex)",
        r.rounds, r.fail2ban_rounds
    );
    f.write_header(&mut o, &r.command);
    let _ = writeln!(
        o,
        "\ninputs (generated from a fixed seed; BENCHMARKS.md gives the mix)"
    );
    for i in &r.inputs {
        let c = &i.counts;
        let share = |n: u64| 100.0 * n as f64 / c.lines.max(1) as f64;
        let _ = writeln!(
            o,
            "  {:<22} {:>7.1} MB {:>9} {:<7} sshd {:>4.1} %  records {:>4.1} %  {}",
            i.name,
            c.bytes as f64 / 1e6,
            c.lines,
            i.unit,
            share(c.sshd),
            share(c.records),
            i.what
        );
    }
    let _ = writeln!(
        o,
        "\nmedians over rounds; MB/s of input per second of wall time; peak RSS from wait4"
    );
    let _ = writeln!(
        o,
        "  {:<40} {:>10} {:>10} {:>9} {:>10}",
        "command", "wall", "cpu", "MB/s", "peak RSS"
    );
    for c in &r.conditions {
        let _ = writeln!(
            o,
            "  {:<40} {:>7} ms {:>7} ms {:>9} {:>7.1} MB",
            c.command,
            num(c.wall_ms),
            num(c.cpu_ms),
            num(c.mb_per_s),
            c.max_rss_kib / 1024.0
        );
    }
    let _ = writeln!(
        o,
        "\nratios of wall times: median [95 % confidence interval] of the per-round ratios"
    );
    for x in &r.ratios {
        let s = &x.spread;
        let ci = if s.ci95.0.is_finite() {
            format!("[{}, {}]", num(s.ci95.0), num(s.ci95.1))
        } else {
            format!("[too few rounds; range {} to {}]", num(s.min), num(s.max))
        };
        let _ = writeln!(o, "  {:<58} {:>7} {ci}", x.what, num(s.median));
    }
    for note in &r.notes {
        let _ = writeln!(o, "  {note}");
    }
    let _ = writeln!(
        o,
        "\ntargets (a benchmark: a missed target is reported, never an error)"
    );
    for t in &r.targets {
        let mark = match t.held {
            Some(true) => "held  ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        let _ = writeln!(o, "  [{mark}] {}: {}", t.target, t.measured);
    }
    o
}
