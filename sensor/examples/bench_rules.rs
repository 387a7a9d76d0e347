//! Rule evaluation throughput: `cargo xtask bench rules` runs this on generated auth.logs.
//!
//! Usage: `bench_rules ROUNDS FILE...`. The files' sshd lines are parsed into login records
//! first (not timed); then each round runs the engine over every record on one thread, with
//! the shipped rule set and with the Linux detection document's rule alone. Prints one line
//! per condition: `name events rounds median_ns_per_event min max alerts`.
use std::{hint::black_box, time::Instant};

use sensor::{
    detect::{self, Engine, RuleSources},
    normalize,
    parse::{self, ClassicZone, YearInference},
    record::AuthRecord,
};

/// The sensor binary's allocator, so that alerts cost here what they cost there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| usage());
    let mut records: Vec<AuthRecord> = Vec::new();
    for path in args {
        let text = std::fs::read(&path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
        let mut years = YearInference::new(chrono::Utc::now(), ClassicZone::utc());
        for line in text.split(|&b| b == b'\n') {
            if let Ok(line) = parse::parse_line(line, &mut years)
                && let Some(r) = normalize::syslog_auth(&line, "auth-log", None)
            {
                records.push(r);
            }
        }
    }
    if records.is_empty() {
        usage();
    }
    let loaded = detect::load(&RuleSources {
        builtin: true,
        ..RuleSources::default()
    })
    .unwrap_or_else(|e| fail(&e.to_string()));
    let verbatim: Vec<_> = loaded
        .rules
        .iter()
        .filter(|r| r.id == "ec5fb1d6-1f59-428e-bfb0-0086cb81fded")
        .cloned()
        .collect();
    let name = format!("shipped({})", loaded.rules.len());
    measure(&name, &records, rounds, || {
        Engine::new(loaded.rules.clone(), Vec::new())
    });
    measure("linux-document", &records, rounds, || {
        Engine::new(verbatim.clone(), Vec::new())
    });
}

fn measure(name: &str, records: &[AuthRecord], rounds: usize, engine: impl Fn() -> Engine) {
    let mut per_event = Vec::with_capacity(rounds);
    let mut alerts = 0;
    let mut out = Vec::new();
    for _ in 0..rounds {
        let mut e = engine();
        alerts = 0;
        let start = Instant::now();
        for r in records {
            e.evaluate(black_box(r), &mut out);
            alerts += out.len();
            out.clear();
        }
        per_event.push(start.elapsed().as_nanos() as f64 / records.len() as f64);
    }
    per_event.sort_by(f64::total_cmp);
    let median = per_event[per_event.len() / 2];
    println!(
        "{name} {} {rounds} {median:.1} {:.1} {:.1} {alerts}",
        records.len(),
        per_event[0],
        per_event[per_event.len() - 1]
    );
}

fn usage() -> ! {
    fail("usage: bench_rules ROUNDS AUTH_LOG...")
}

fn fail(msg: &str) -> ! {
    eprintln!("bench_rules: {msg}");
    std::process::exit(2)
}
