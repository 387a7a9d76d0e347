//! `sensor replay` as a command: exit codes, stdin, the summary, `--help`. These run the built
//! binary (`SENSOR_BIN`, else `target/debug/sensor`, as `cargo xtask test` builds it first):
//! after changing the sensor, rebuild it before running them by hand.
use std::{
    ffi::OsString,
    io::Write as _,
    process::{Command, Output, Stdio},
};

use sensor_tests::{sensor::Sensor, tempdir::TempDir};

use super::fixture;

/// Runs `sensor replay ARGS` with `stdin` on its standard input.
fn replay(args: &[OsString], stdin: &[u8]) -> Output {
    let binary = Sensor::binary().unwrap_or_else(|e| panic!("{e:#}"));
    let mut child = Command::new(&binary)
        .arg("replay")
        .args([
            "--events",
            "--no-builtin-rules",
            "--classic-zone",
            "utc",
            "--classic-reference",
            "2026-12-01T00:00:00Z",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    if let Some(mut input) = child.stdin.take() {
        // A replay that stops reading early closes the pipe: not this test's concern.
        let _ = input.write_all(stdin);
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for sensor replay: {e}"))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn clean_inputs_exit_0_with_the_golden_records() {
    let out = replay(&[fixture("sshd.journal").into()], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let golden = std::fs::read(fixture("sshd.journald.golden.jsonl")).unwrap_or_default();
    assert_eq!(out.stdout, golden);
    let err = stderr(&out);
    assert!(
        err.contains(
            "replayed 1 input: 0 lines and 34 entries read, 19 records, 0 alerts, 0 errors"
        ),
        "{err}"
    );
}

#[test]
fn stdin_is_read_and_its_format_detected() {
    for name in ["sshd.export", "sshd.journal", "auth-classic.log.gz"] {
        let bytes = std::fs::read(fixture(name)).unwrap_or_default();
        let out = replay(&["-".into()], &bytes);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        assert!(!out.stdout.is_empty(), "{name}");
        assert!(stderr(&out).contains("<stdin> ("), "{}", stderr(&out));
    }
}

#[test]
fn a_malformed_input_exits_65_and_the_others_are_read() {
    let dir = TempDir::new("replay-cli").unwrap_or_else(|e| panic!("{e:#}"));
    let bad = dir.path().join("bad.log");
    std::fs::write(&bad, b"no syslog here\n").unwrap_or_else(|e| panic!("{e}"));
    let out = replay(&[bad.into(), fixture("auth-rfc3339.log").into()], b"");
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bad.log: line 1 (byte 0): not a syslog line"),
        "{err}"
    );
    let golden = std::fs::read(fixture("auth-rfc3339.golden.jsonl")).unwrap_or_default();
    assert_eq!(out.stdout, golden);
}

#[test]
fn an_input_that_cannot_be_opened_exits_66_and_the_others_are_read() {
    let dir = TempDir::new("replay-cli").unwrap_or_else(|e| panic!("{e:#}"));
    let missing = dir.path().join("gone.log");
    let bad = dir.path().join("bad.log");
    std::fs::write(&bad, b"\0\n").unwrap_or_else(|e| panic!("{e}"));
    let args = [missing.into(), bad.into(), fixture("sshd.json").into()];
    let out = replay(&args, b"");
    assert_eq!(code(&out), 66, "66 wins over 65: {}", stderr(&out));
    assert!(stderr(&out).contains("gone.log: cannot open: No such file or directory"));
    let golden = std::fs::read(fixture("sshd.journald.golden.jsonl")).unwrap_or_default();
    assert_eq!(out.stdout, golden);
}

#[test]
fn a_forced_format_that_does_not_fit_is_an_error_not_a_panic() {
    let args = [
        "--format".into(),
        "journal-json".into(),
        fixture("auth-classic.log").into(),
    ];
    let out = replay(&args, b"");
    assert_eq!(code(&out), 65, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a JSON object"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("(the first 20 shown)"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn help_documents_formats_and_exit_codes() {
    let binary = Sensor::binary().unwrap_or_else(|e| panic!("{e:#}"));
    let out = Command::new(binary)
        .args(["replay", "--help"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "journal-export",
        "journal-json",
        "ecs-json",
        "evtx",
        "winlogbeat-json",
        "65  replay",
        "66  replay",
        "77  check: missing",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let out = replay(&[], b"");
    assert_eq!(code(&out), 2, "no FILE is a usage error");
}
