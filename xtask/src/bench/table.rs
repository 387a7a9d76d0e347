//! The exec-storm report as text: what `cargo xtask bench exec-storm` prints.
use std::{collections::BTreeSet, fmt::Write as _};

use super::{
    kernel_cost::StormCost,
    report::{Metric, Report},
    stats::median,
};

/// `-` for a figure that could not be computed.
fn num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "-".to_owned()
    }
}

pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let f = &r.facts;
    let _ = writeln!(
        o,
        "\nexec storm: {} x fork+exec of /bin/true per run, {} rounds of paired runs",
        r.execs, r.rounds
    );
    f.write_header(&mut o, &r.command);

    let _ = writeln!(
        o,
        "\nmedians over rounds; overhead: median [95 % confidence interval] of per-round ratios to the baseline"
    );
    let _ = writeln!(
        o,
        "  {:<28} {:>9} {:>9} {:>26}   {:>9} {:>26}",
        "condition", "wall", "per exec", "wall-time overhead", "cpu", "cpu-time overhead"
    );
    for c in &r.conditions {
        let oh = |m: &Metric| {
            m.overhead_pct.map_or("-".to_owned(), |s| {
                if s.ci95.0.is_finite() {
                    format!("{:+.2} % [{:+.2}, {:+.2}]", s.median, s.ci95.0, s.ci95.1)
                } else {
                    format!("{:+.2} % [too few rounds]", s.median)
                }
            })
        };
        let _ = writeln!(
            o,
            "  {:<28} {:>6.0} ms {:>6.0} us {:>26}   {:>6.0} ms {:>26}",
            c.condition,
            c.wall.median_ms,
            c.wall.median_per_exec_us,
            oh(&c.wall),
            c.cpu.median_ms,
            oh(&c.cpu)
        );
    }
    match &r.auditd_missing {
        Some(why) => {
            let _ = writeln!(o, "  auditd: NOT MEASURED: {why}");
        }
        None => {
            let ratio = |x: Option<f64>| {
                x.map_or("n/a (auditd showed no overhead)".to_owned(), |x| {
                    format!("{x:.3}")
                })
            };
            let _ = writeln!(
                o,
                "  sensor overhead / auditd overhead: wall time {}; cpu time {}",
                ratio(r.sensor_over_auditd),
                ratio(r.sensor_over_auditd_cpu)
            );
            let short = r.auditd_records.iter().filter(|&&n| n < r.execs).count();
            let as_f64 = |v: &[u64]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
            let _ = writeln!(
                o,
                "  auditd (rule `{}`): storms with all {} execve records {}/{}; lost {}; \
                 backlog at the storm's end median {}; caught up after median {} ms, max {} ms",
                r.auditd_rule,
                r.execs,
                r.auditd_records.len() - short,
                r.auditd_records.len(),
                r.auditd_lost_total,
                num(median(&as_f64(&r.auditd_backlog_at_end)), 0),
                num(median(&as_f64(&r.auditd_drain_ms)), 0),
                r.auditd_drain_ms.iter().max().copied().unwrap_or(0),
            );
        }
    }

    kernel_section(&mut o, r);

    let others: Vec<String> = r
        .runs_with_others_attached
        .iter()
        .map(|(c, n)| format!("{c}: {n}/{}", r.rounds))
        .collect();
    let _ = writeln!(
        o,
        "\nruns with other processes' eBPF tracing programs attached: {}",
        others.join("; ")
    );
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

fn kernel_section(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\nthe sensor's programs in the kernel (bpf_stats, medians over rounds; runs/storm \
         counts other processes' runs too)"
    );
    let _ = writeln!(
        o,
        "  {:<20} {:>22}   {:>37}",
        "", "untraced storm", "traced storm"
    );
    let _ = writeln!(
        o,
        "  {:<20} {:>9} {:>12}   {:>9} {:>12} {:>14}",
        "program", "ns/run", "runs/storm", "ns/run", "runs/storm", "ns/traced run"
    );
    let names: BTreeSet<&str> = r
        .untraced
        .programs
        .iter()
        .chain(&r.traced.programs)
        .map(|p| p.name.as_str())
        .collect();
    let find = |c: &'_ StormCost, name: &str| {
        c.programs.iter().find(|p| p.name == name).map(|p| {
            (
                num(p.ns_per_run, 0),
                num(p.runs_per_storm, 0),
                num(p.traced_ns_per_run.unwrap_or(f64::NAN), 0),
            )
        })
    };
    let dash = || ("-".to_owned(), "-".to_owned(), "-".to_owned());
    for name in names {
        let u = find(&r.untraced, name).unwrap_or_else(dash);
        let t = find(&r.traced, name).unwrap_or_else(dash);
        let _ = writeln!(
            o,
            "  {name:<20} {:>9} {:>12}   {:>9} {:>12} {:>14}",
            u.0, u.1, t.0, t.1, t.2
        );
    }
    let traced = r.traced.traced.as_ref();
    let per_traced_run = num(traced.map_or(f64::NAN, |t| t.ns_per_traced_run), 0);
    let _ = writeln!(
        o,
        "  {:<20} {:>9} {:>12}   {:>9} {:>12} {per_traced_run:>14}",
        "all programs",
        num(r.untraced.ns_per_run, 0),
        "",
        num(r.traced.ns_per_run, 0),
        ""
    );
    let _ = writeln!(
        o,
        "  ring-buffer records per storm: untraced {}, traced {}; lost in all storms: {}, {}",
        num(r.untraced.emitted_per_storm, 0),
        num(r.traced.emitted_per_storm, 0),
        r.untraced.lost_total,
        r.traced.lost_total
    );
    if let Some(t) = traced {
        let _ = writeln!(
            o,
            "  traced storm: {:.0} ns per traced run ({:.0} ns charging other processes' runs \
             too); {:.0} ns per record",
            t.ns_per_traced_run, t.ns_per_traced_run_upper, t.ns_per_record
        );
    }
    let base_us = r
        .conditions
        .first()
        .map_or(f64::NAN, |c| c.wall.median_per_exec_us);
    let share = |c: &StormCost| {
        format!(
            "{} ns ({} % of a baseline exec)",
            num(c.ns_per_exec, 0),
            num(c.ns_per_exec / base_us / 10.0, 2)
        )
    };
    let _ = writeln!(
        o,
        "  in-kernel time per fork+exec: untraced {}; traced {}",
        share(&r.untraced),
        share(&r.traced)
    );
}
