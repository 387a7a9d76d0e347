//! `sensor replay` against fixtures made by real programs (tests/fixtures/README.md): a real
//! sshd logging through a real journald (export, JSON and `.journal` dumps) and a real rsyslogd
//! writing auth.log in both timestamp formats. No root needed.
//!
//! Each fixture's records (`--events`, no rules) are compared byte for byte with its golden
//! file (`tests/fixtures/NAME.golden.jsonl`), and the alerts the shipped rules raise on it
//! with `NAME.alerts.golden.jsonl`; `UPDATE_GOLDEN=1 cargo test -p sensor-tests --test replay`
//! rewrites them (review the diff by eye). Bad inputs are made here from the fixtures.
#[path = "replay/bad_input.rs"]
mod bad_input;
#[path = "replay/cli.rs"]
mod cli;
#[path = "replay/mutations.rs"]
mod mutations;

use std::path::{Path, PathBuf};

use sensor::{
    detect::{self, Engine, RuleSources},
    replay::{Input, Options, Summary, command, replay},
};
use serde_json::Value;

/// Where the fixtures are.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Classic timestamps read in UTC (the fixtures were written on a UTC machine) with a fixed
/// year reference, so that the goldens do not depend on the checkout's file times; every
/// record printed.
pub fn options() -> Options {
    Options {
        events: true,
        classic_zone: command::parse_zone("utc").unwrap_or_else(|e| panic!("{e}")),
        classic_reference: Some(
            command::parse_reference("2026-12-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}")),
        ),
        ..Options::default()
    }
}

/// What one replay printed.
pub struct Run {
    pub out: Vec<u8>,
    pub summary: Summary,
    /// Every error reported, as printed.
    pub reported: Vec<String>,
}

impl Run {
    pub fn records(&self) -> Vec<Value> {
        self.out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap_or_else(|e| panic!("bad record line: {e}")))
            .collect()
    }

    pub fn messages(&self) -> Vec<String> {
        self.records()
            .iter()
            .map(|r| r["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

pub fn run(paths: &[PathBuf]) -> Run {
    run_with(paths, &options())
}

/// Replays with no rules: only the records are printed.
pub fn run_with(paths: &[PathBuf], options: &Options) -> Run {
    run_engine(paths, options, &mut Engine::new(Vec::new(), Vec::new()))
}

/// Replays with the shipped rules, printing only the alerts.
pub fn alerts(paths: &[PathBuf]) -> Run {
    let loaded = detect::load(&RuleSources {
        builtin: true,
        ..RuleSources::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        events: false,
        ..options()
    };
    run_engine(
        paths,
        &options,
        &mut Engine::new(loaded.rules, loaded.allowlist),
    )
}

fn run_engine(paths: &[PathBuf], options: &Options, engine: &mut Engine) -> Run {
    let inputs: Vec<Input> = paths.iter().cloned().map(Input::File).collect();
    let mut out = Vec::new();
    let mut reported = Vec::new();
    let summary = replay(&inputs, options, engine, &mut out, &mut |e| {
        reported.push(e.to_string());
    })
    .unwrap_or_else(|e| panic!("writing to a Vec failed: {e}"));
    Run {
        out,
        summary,
        reported,
    }
}

/// Compares `out` with `NAME.golden.jsonl`, or rewrites it under `UPDATE_GOLDEN=1`.
fn golden(name: &str, out: &[u8]) {
    let path = fixture(&format!("{name}.golden.jsonl"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with UPDATE_GOLDEN=1)", path.display()));
    if want != out {
        let (want, got) = (String::from_utf8_lossy(&want), String::from_utf8_lossy(out));
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(w, g)| w != g)
            .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
        panic!(
            "{name}: output differs from {} at line {}:\n want: {}\n  got: {}\n\
             (rerun with UPDATE_GOLDEN=1 if the change is intended, and review the diff)",
            path.display(),
            line + 1,
            want.lines().nth(line).unwrap_or("<end>"),
            got.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

/// Replays one fixture, which must read cleanly, and checks its golden files: the records,
/// and the alerts of the shipped rules.
fn clean_golden(input: &str, golden_name: &str) -> Run {
    let run = run(&[fixture(input)]);
    assert_eq!(run.summary.errors(), 0, "{input}: {:?}", run.reported);
    assert_eq!(run.summary.exit_code(), 0);
    golden(golden_name, &run.out);
    let alerted = alerts(&[fixture(input)]);
    assert_eq!(alerted.summary.records(), run.summary.records());
    golden(&format!("{golden_name}.alerts"), &alerted.out);
    run
}

#[test]
fn journal_export_dump_matches_its_golden() {
    let run = clean_golden("sshd.export", "sshd.journald");
    assert_eq!(run.summary.files[0].read, 34, "entries in the dump");
}

#[test]
fn journal_json_dump_matches_the_same_golden() {
    clean_golden("sshd.json", "sshd.journald");
}

#[test]
fn journal_file_matches_the_same_golden() {
    clean_golden("sshd.journal", "sshd.journald");
}

#[test]
fn classic_auth_log_matches_its_golden() {
    clean_golden("auth-classic.log", "auth-classic");
}

#[test]
fn gzipped_auth_log_gives_the_same_records() {
    let run = clean_golden("auth-classic.log.gz", "auth-classic");
    assert!(run.summary.files[0].gzip);
}

#[test]
fn rfc3339_auth_log_matches_its_golden() {
    clean_golden("auth-rfc3339.log", "auth-rfc3339");
}

#[test]
fn openssh_10_sshd_session_lines_match_their_golden() {
    let run = clean_golden("auth-openssh10.log", "auth-openssh10");
    let programs: Vec<_> = run
        .records()
        .iter()
        .map(|r| r["process"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(programs.iter().any(|p| p == "sshd-session"));
    assert!(programs.iter().any(|p| p == "sshd-auth"));
}

/// The one login sshd wrote, seen through export, JSON and the rebuilt journal file, gives
/// the same records, and the two auth.log files give the same logins.
#[test]
fn the_same_logins_give_the_same_records_in_every_format() {
    let dumps: Vec<Vec<u8>> = ["sshd.export", "sshd.json", "sshd.journal"]
        .iter()
        .map(|f| run(&[fixture(f)]).out)
        .collect();
    assert!(!dumps[0].is_empty());
    assert!(
        dumps.iter().all(|d| *d == dumps[0]),
        "journal formats differ"
    );

    // rsyslog stamped its own receive times, so compare everything but the time.
    let without_time = |f: &str| -> Vec<Value> {
        run(&[fixture(f)])
            .records()
            .into_iter()
            .map(|mut r| {
                r["@timestamp"] = Value::Null;
                r
            })
            .collect()
    };
    assert_eq!(
        without_time("auth-classic.log"),
        without_time("auth-rfc3339.log")
    );
    // The same sshd messages, in the same order, as the journal's.
    let journal = run(&[fixture("sshd.export")]).messages();
    assert_eq!(run(&[fixture("auth-classic.log")]).messages(), journal);
}

/// A client chose the user name `x from 10.9.9.9 port 22` (real sshd's real lines): every
/// record about it keeps the real source, 10.0.0.2, in every format.
#[test]
fn a_user_name_carrying_a_fake_source_does_not_move_the_source() {
    for file in [
        "sshd.export",
        "sshd.json",
        "sshd.journal",
        "auth-classic.log",
        "auth-rfc3339.log",
    ] {
        let records = run(&[fixture(file)]).records();
        let tricked: Vec<_> = records
            .iter()
            .filter(|r| r["user"]["name"] == "x from 10.9.9.9 port 22")
            .collect();
        assert_eq!(tricked.len(), 3, "{file}: invalid user, failed, closed");
        for r in tricked {
            assert_eq!(r["source"]["ip"], "10.0.0.2", "{file}: {r}");
        }
        assert!(
            !records.iter().any(|r| r["source"]["ip"] == "10.9.9.9"),
            "{file}"
        );
    }
}

/// `logger -t sshd` wrote sshd's words: journald's fields give it away (logger's comm: it
/// exited before journald could read its executable), and in auth.log its missing pid does.
/// Every real sshd record is trusted, including the disconnects that sshd's unprivileged
/// per-connection child logs with the logged-in user's uid.
#[test]
fn logger_lines_are_forged_and_sshd_lines_are_not() {
    let verdicts = |file: &str| -> Vec<(String, Value)> {
        run(&[fixture(file)])
            .records()
            .into_iter()
            .map(|r| {
                let who = r["source"]["ip"].as_str().unwrap_or_default().to_owned();
                (who, r["sensor"]["provenance"].clone())
            })
            .collect()
    };
    let journal = verdicts("sshd.journal");
    for (who, verdict) in &journal {
        if who == "10.6.6.6" {
            assert_eq!(verdict["verdict"], "forged");
            assert_eq!(verdict["reason"], "not_sshd_comm");
            assert_eq!(verdict["comm"], "logger");
        } else {
            assert_eq!(verdict["verdict"], "trusted", "{who}: {verdict}");
        }
    }
    for (who, verdict) in verdicts("auth-rfc3339.log") {
        let want = if who == "10.6.6.6" {
            "forged"
        } else {
            "unverified"
        };
        assert_eq!(verdict["verdict"], want, "{who}: {verdict}");
    }
}

/// Several inputs in one run: records in input order, one summary line each.
#[test]
fn several_inputs_are_replayed_in_order() {
    let files = ["auth-openssh10.log", "sshd.journal"].map(fixture);
    let both = run(&files);
    let mut apart = run(&[files[0].clone()]).out;
    apart.extend(run(&[files[1].clone()]).out);
    assert_eq!(both.out, apart);
    assert_eq!(both.summary.files.len(), 2);
    let text = both.summary.to_string();
    assert!(
        text.contains("auth-openssh10.log (auth-log): 20 lines"),
        "{text}"
    );
    assert!(
        text.contains("sshd.journal (journal): 34 entries, 19 records"),
        "{text}"
    );
}

/// What `sensor replay --events` printed, replayed again as ECS JSON, raises the very same
/// alerts, byte for byte, as the log it came from: the JSON reader sees every field the rules
/// name as the typed records do.
#[test]
fn replaying_the_sensors_own_output_gives_the_same_alerts() {
    for (log, golden) in [
        ("auth-rfc3339.log", "auth-rfc3339.golden.jsonl"),
        ("sshd.journal", "sshd.journald.golden.jsonl"),
    ] {
        let from_log = alerts(&[fixture(log)]);
        let from_json = alerts(&[fixture(golden)]);
        assert_eq!(
            from_json.summary.errors(),
            0,
            "{golden}: {:?}",
            from_json.reported
        );
        assert!(!from_log.out.is_empty(), "{log} raises alerts");
        assert!(
            from_json.out == from_log.out,
            "{golden} as ECS JSON:\n{}\n{log}:\n{}",
            String::from_utf8_lossy(&from_json.out),
            String::from_utf8_lossy(&from_log.out)
        );
    }
}

/// An ECS JSON line that is not an object, or not JSON, is reported with its line and skipped.
#[test]
fn ecs_json_lines_that_are_not_objects_are_reported() {
    let dir = sensor_tests::tempdir::TempDir::new("ecs").unwrap_or_else(|e| panic!("{e:#}"));
    let path = dir.path().join("events.jsonl");
    let good = std::fs::read_to_string(fixture("auth-rfc3339.golden.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let first = good.lines().next().unwrap_or_default();
    std::fs::write(&path, format!("{first}\n[1, 2]\nnot json\n{first}\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let run = alerts(&[path]);
    assert_eq!(run.summary.errors(), 2, "{:?}", run.reported);
    assert!(run.reported[0].contains("line 2") && run.reported[0].contains("not an object"));
    assert!(run.reported[1].contains("line 3") && run.reported[1].contains("not a JSON object"));
    assert_eq!(run.summary.records(), 2);
}
