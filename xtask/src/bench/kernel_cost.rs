//! The sensor's in-kernel cost, from the bpf_stats deltas of each storm (medians over rounds).
//!
//! The programs also run for every other process of the machine during a storm. In the untraced
//! storm every run is the one-lookup path, so its ns/run is the untraced cost. In the traced storm
//! the storm's own runs are traced: each fork+exec+exit runs each program once, so a program has
//! `min(runs, execs)` traced runs, and its other runs are priced at the same round's untraced
//! ns/run of that program and taken out.
use std::collections::{BTreeMap, BTreeSet};

use super::{
    bpf_stats::Counters,
    exec_storm::{Round, SensorRun},
    stats::median,
};

/// One program during one kind of storm.
#[derive(Debug, serde::Serialize)]
pub struct ProgCost {
    pub name: String,
    /// All its runs: the storm's and other processes'.
    pub ns_per_run: f64,
    pub runs_per_storm: f64,
    /// Traced storm: ns per traced run, the other runs taken out.
    pub traced_ns_per_run: Option<f64>,
}

/// The sensor's programs during one kind of storm.
#[derive(Debug, Default, serde::Serialize)]
pub struct StormCost {
    pub programs: Vec<ProgCost>,
    /// All programs' time over all their runs.
    pub ns_per_run: f64,
    /// In-kernel time per fork+exec of the storm (untraced: one run of each program).
    pub ns_per_exec: f64,
    pub traced: Option<TracedCost>,
    pub emitted_per_storm: f64,
    pub lost_total: u64,
}

/// What the traced storm's own events cost.
#[derive(Debug, serde::Serialize)]
pub struct TracedCost {
    /// Time per traced program run (a traced fork, exec or exit): the figure of the target.
    pub ns_per_traced_run: f64,
    /// The same, charging every other process's runs to the traced runs as well.
    pub ns_per_traced_run_upper: f64,
    /// Time per record written to the ring buffer (an exec may write more than one).
    pub ns_per_record: f64,
}

pub fn untraced(rounds: &[Round]) -> StormCost {
    let runs: Vec<&SensorRun> = rounds.iter().filter_map(|r| r.sensor.as_ref()).collect();
    let per_exec: Vec<f64> = runs
        .iter()
        .map(|r| r.progs.values().filter_map(ns_per_run).sum())
        .collect();
    StormCost {
        ns_per_exec: median(&per_exec),
        ..common(&runs, &BTreeMap::new())
    }
}

pub fn traced(rounds: &[Round], execs: u64) -> StormCost {
    let n = execs as f64;
    let mut own_per_prog: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let (mut per_run, mut upper, mut per_record, mut per_exec) = (vec![], vec![], vec![], vec![]);
    for round in rounds {
        let Some(t) = &round.traced else { continue };
        let untraced = round.sensor.as_ref();
        let (mut own_sum, mut raw_sum, mut traced_runs) = (0.0, 0.0, 0.0);
        for (name, c) in t.progs.iter().filter(|(_, c)| c.run_cnt > 0) {
            let runs = c.run_cnt as f64;
            let mine = runs.min(n);
            let c_u = untraced
                .and_then(|u| u.progs.get(name))
                .and_then(ns_per_run)
                .unwrap_or(0.0);
            let own = c.run_time_ns as f64 - (runs - mine) * c_u;
            own_per_prog.entry(name).or_default().push(own / mine);
            (own_sum, raw_sum, traced_runs) = (
                own_sum + own,
                raw_sum + c.run_time_ns as f64,
                traced_runs + mine,
            );
        }
        if traced_runs > 0.0 {
            per_run.push(own_sum / traced_runs);
            upper.push(raw_sum / traced_runs);
            per_exec.push(own_sum / n);
            if t.stopped.emitted > 0 {
                per_record.push(own_sum / t.stopped.emitted as f64);
            }
        }
    }
    let runs: Vec<&SensorRun> = rounds.iter().filter_map(|r| r.traced.as_ref()).collect();
    let own: BTreeMap<&str, f64> = own_per_prog.iter().map(|(k, v)| (*k, median(v))).collect();
    StormCost {
        ns_per_exec: median(&per_exec),
        traced: (!per_run.is_empty()).then(|| TracedCost {
            ns_per_traced_run: median(&per_run),
            ns_per_traced_run_upper: median(&upper),
            ns_per_record: median(&per_record),
        }),
        ..common(&runs, &own)
    }
}

fn ns_per_run(c: &Counters) -> Option<f64> {
    (c.run_cnt > 0).then(|| c.run_time_ns as f64 / c.run_cnt as f64)
}

/// Per-program figures and the counters common to both kinds of storm.
fn common(runs: &[&SensorRun], traced_ns_per_run: &BTreeMap<&str, f64>) -> StormCost {
    let names: BTreeSet<&String> = runs.iter().flat_map(|r| r.progs.keys()).collect();
    let over_runs = |f: &dyn Fn(&SensorRun) -> Option<f64>| {
        median(&runs.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
    };
    let programs = names
        .into_iter()
        .map(|name| ProgCost {
            name: name.clone(),
            ns_per_run: over_runs(&|r| ns_per_run(r.progs.get(name)?)),
            runs_per_storm: over_runs(&|r| Some(r.progs.get(name)?.run_cnt as f64)),
            traced_ns_per_run: traced_ns_per_run.get(name.as_str()).copied(),
        })
        .collect();
    let total = |r: &SensorRun| {
        let (t, n) = r
            .progs
            .values()
            .fold((0, 0), |(t, n), c| (t + c.run_time_ns, n + c.run_cnt));
        (n > 0).then(|| t as f64 / n as f64)
    };
    StormCost {
        programs,
        ns_per_run: over_runs(&total),
        ns_per_exec: f64::NAN,
        traced: None,
        emitted_per_storm: over_runs(&|r| Some(r.stopped.emitted as f64)),
        lost_total: runs.iter().map(|r| r.stopped.lost).sum(),
    }
}
