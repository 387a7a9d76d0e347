//! The exec-storm figures: medians per condition, medians of per-round ratios, the sensor's
//! in-kernel cost from bpf_stats, and each target with whether it held.
use super::{
    auditd::RULE_TEXT,
    exec_storm::{Args, Condition, Round, Timing},
    facts::Facts,
    kernel_cost::{self, StormCost},
    stats::{Spread, median},
};

/// Limits of the foundation issue.
pub const MAX_OVERHEAD_PCT: f64 = 2.0;
pub const MAX_SHARE_OF_AUDITD: f64 = 0.1;
pub const MAX_NS_PER_TRACED_EVENT: f64 = 1000.0;

/// Timings of one condition.
#[derive(Debug, serde::Serialize)]
pub struct ConditionFigures {
    pub condition: &'static str,
    pub wall: Metric,
    /// CPU time of the storm's own processes: misses the daemons' work (auditd writing its log,
    /// the sensor reading its ring buffer), but barely moves with the machine's other load.
    pub cpu: Metric,
}

/// One kind of time of one condition, over the rounds.
#[derive(Debug, serde::Serialize)]
pub struct Metric {
    pub median_ms: f64,
    pub median_per_exec_us: f64,
    /// Overhead against the same round's baseline, in %: median, quartiles, range over rounds.
    pub overhead_pct: Option<Spread>,
    pub runs_ms: Vec<f64>,
}

#[derive(Debug, serde::Serialize)]
pub struct Target {
    pub target: String,
    pub measured: String,
    /// `None`: not measured in this run.
    pub held: Option<bool>,
}

#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub command: String,
    pub facts: Facts,
    pub execs: u64,
    pub rounds: u32,
    pub auditd_rule: &'static str,
    /// Why auditd was not a condition, if it was not.
    pub auditd_missing: Option<String>,
    pub conditions: Vec<ConditionFigures>,
    /// Median sensor overhead over median auditd overhead (wall time; CPU time).
    pub sensor_over_auditd: Option<f64>,
    pub sensor_over_auditd_cpu: Option<f64>,
    pub untraced: StormCost,
    pub traced: StormCost,
    /// auditd's execve records of each storm (should equal `execs`), and the kernel's lost count.
    pub auditd_records: Vec<u64>,
    pub auditd_lost_total: u64,
    /// Records waiting in the kernel when each storm ended, and how long auditd then took to
    /// catch up (ms).
    pub auditd_backlog_at_end: Vec<u64>,
    pub auditd_drain_ms: Vec<u64>,
    pub targets: Vec<Target>,
    /// Per condition: in how many of its runs other processes had eBPF tracing programs attached.
    pub runs_with_others_attached: Vec<(&'static str, usize)>,
    pub raw_rounds: Vec<Round>,
}

impl Report {
    pub fn new(
        facts: Facts,
        args: &Args,
        rounds: &[Round],
        auditd_missing: Option<String>,
    ) -> Self {
        let mut conditions = vec![
            figures(rounds, args.execs, Condition::Baseline, |r| r.baseline),
            figures(rounds, args.execs, Condition::Sensor, |r| {
                Some(r.sensor.as_ref()?.timing)
            }),
            figures(rounds, args.execs, Condition::SensorTraced, |r| {
                Some(r.traced.as_ref()?.timing)
            }),
        ];
        if auditd_missing.is_none() {
            conditions.push(figures(rounds, args.execs, Condition::Auditd, |r| {
                Some(r.auditd?.timing)
            }));
        }
        let overhead = |i: usize, cpu: bool| {
            let c = conditions.get(i)?;
            Some(if cpu { &c.cpu } else { &c.wall }.overhead_pct?.median)
        };
        let ratio = |cpu: bool| match (overhead(1, cpu), overhead(3, cpu)) {
            (Some(s), Some(a)) if a > 0.0 => Some(s / a),
            _ => None,
        };
        let wall_spread = |i: usize| conditions.get(i)?.wall.overhead_pct;
        let (sensor_oh, auditd_oh) = (wall_spread(1), wall_spread(3));
        let (sensor_over_auditd, sensor_over_auditd_cpu) = (ratio(false), ratio(true));
        let untraced = kernel_cost::untraced(rounds);
        let traced = kernel_cost::traced(rounds, args.execs);
        let targets = targets(sensor_oh, auditd_oh, auditd_missing.as_deref(), &traced);
        let runs_with_others_attached = rounds
            .first()
            .map(|r| r.order.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                let runs = rounds.iter().flat_map(|r| &r.others_attached);
                (c, runs.filter(|(l, n)| *l == c && *n > 0).count())
            })
            .collect();
        Self {
            command: args.command_line(),
            facts,
            execs: args.execs,
            rounds: args.rounds,
            auditd_rule: RULE_TEXT,
            auditd_missing,
            conditions,
            sensor_over_auditd,
            sensor_over_auditd_cpu,
            untraced,
            traced,
            auditd_records: rounds
                .iter()
                .filter_map(|r| Some(r.auditd?.recorded.records))
                .collect(),
            auditd_lost_total: rounds
                .iter()
                .filter_map(|r| Some(r.auditd?.recorded.lost))
                .sum(),
            auditd_backlog_at_end: rounds
                .iter()
                .filter_map(|r| Some(r.auditd?.recorded.backlog_at_end))
                .collect(),
            auditd_drain_ms: rounds
                .iter()
                .filter_map(|r| Some(r.auditd?.recorded.drain_ms))
                .collect(),
            targets,
            runs_with_others_attached,
            raw_rounds: rounds.to_vec(),
        }
    }
}

fn figures(
    rounds: &[Round],
    execs: u64,
    condition: Condition,
    timing: fn(&Round) -> Option<Timing>,
) -> ConditionFigures {
    let metric = |pick: fn(&Timing) -> u64| {
        let runs_ms: Vec<f64> = rounds
            .iter()
            .filter_map(timing)
            .map(|t| pick(&t) as f64 / 1e6)
            .collect();
        let ratios: Vec<f64> = rounds
            .iter()
            .filter_map(|r| {
                Some((pick(&timing(r)?) as f64 / pick(&r.baseline?) as f64 - 1.0) * 100.0)
            })
            .collect();
        Metric {
            median_ms: median(&runs_ms),
            median_per_exec_us: median(&runs_ms) * 1e3 / execs as f64,
            overhead_pct: (condition != Condition::Baseline && !ratios.is_empty())
                .then(|| Spread::of(&ratios)),
            runs_ms,
        }
    };
    ConditionFigures {
        condition: condition.label(),
        wall: metric(|t| t.wall_ns),
        cpu: metric(|t| t.cpu_ns),
    }
}

fn targets(
    sensor: Option<Spread>,
    auditd: Option<Spread>,
    auditd_missing: Option<&str>,
    traced: &StormCost,
) -> Vec<Target> {
    let resolution = |s: &Spread, limit: f64| {
        let (lo, hi) = s.ci95;
        if !(lo.is_finite() && hi.is_finite()) {
            " (too few rounds for a confidence interval)".to_owned()
        } else if (lo <= limit) == (hi <= limit) {
            format!(" (95 % CI [{lo:+.2}, {hi:+.2}] %: resolved)")
        } else {
            format!(" (95 % CI [{lo:+.2}, {hi:+.2}] % straddles the limit: NOT resolved)")
        }
    };
    let overhead = Target {
        target: format!("sensor wall-time overhead <= {MAX_OVERHEAD_PCT} %"),
        measured: sensor.map_or("not measured".into(), |s| {
            format!("{:+.2} %{}", s.median, resolution(&s, MAX_OVERHEAD_PCT))
        }),
        held: sensor.map(|s| s.median <= MAX_OVERHEAD_PCT),
    };
    let share = match (sensor, auditd) {
        (Some(s), Some(a)) => Target {
            target: format!("sensor overhead <= {MAX_SHARE_OF_AUDITD} x auditd's"),
            measured: format!(
                "{:+.2} % vs {:+.2} %: ratio {:.3}; the limit is {:+.2} %{}",
                s.median,
                a.median,
                s.median / a.median,
                MAX_SHARE_OF_AUDITD * a.median,
                resolution(&s, MAX_SHARE_OF_AUDITD * a.median)
            ),
            held: Some(a.median > 0.0 && s.median <= MAX_SHARE_OF_AUDITD * a.median),
        },
        _ => Target {
            target: format!("sensor overhead <= {MAX_SHARE_OF_AUDITD} x auditd's"),
            measured: format!(
                "not measured: auditd {}",
                auditd_missing.unwrap_or("had no rounds")
            ),
            held: None,
        },
    };
    let kernel = Target {
        target: format!(
            "in-kernel cost per traced event (a traced fork, exec or exit) <= {MAX_NS_PER_TRACED_EVENT} ns"
        ),
        measured: traced.traced.as_ref().map_or("no traced runs".into(), |t| {
            let slowest = traced
                .programs
                .iter()
                .filter_map(|p| Some((p.traced_ns_per_run?, p.name.as_str())))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map_or(String::new(), |(ns, name)| {
                    format!("; slowest {name} {ns:.0} ns")
                });
            format!(
                "{:.0} ns per traced run{slowest}; {:.0} ns per ring-buffer record; \
                 {:.0} ns charging other processes' runs too",
                t.ns_per_traced_run, t.ns_per_record, t.ns_per_traced_run_upper
            )
        }),
        held: traced
            .traced
            .as_ref()
            .map(|t| t.ns_per_traced_run <= MAX_NS_PER_TRACED_EVENT),
    };
    vec![overhead, share, kernel]
}
