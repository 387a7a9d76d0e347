//! Root end-to-end tests of the live journald source: a real sshd logging through a real
//! journald, and a forged record written with `logger`.
use std::{
    process::Command,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, Result, ensure};
use sensor_tests::{
    cmd,
    journald::Journald,
    netns::{CLIENT_ADDR, Lab, SERVER_ADDR},
    preflight,
    record::{pid, str_at, u32_at},
    sensor::Sensor,
    sshd::{Logging, Sshd, ssh},
    tempdir::TempDir,
    user::TestUser,
};
use serde_json::Value;

/// journald wakes readers at least every 250 ms; this allows for a loaded CI box.
const RECORD: Duration = Duration::from_secs(20);

fn is_login(r: &Value, user: &str, verdict: &str) -> bool {
    str_at(r, "/event/action") == Some("ssh_login")
        && str_at(r, "/event/outcome") == Some("success")
        && str_at(r, "/user/name") == Some(user)
        && str_at(r, "/sensor/provenance/verdict") == Some(verdict)
}

/// A password login from 10.0.0.2 reaches the live journald source as a trusted record, with
/// the user, source address and port, method `password`, and the pid of the connection's sshd
/// (the process that wrote it, per journald's `_PID`). The same text sent with `logger -t sshd`
/// is marked forged, naming logger's executable as the reason.
#[test]
#[ignore = "root: run through `cargo xtask test`"]
fn password_login_is_trusted_and_logger_line_is_forged() -> Result<()> {
    let _root = preflight("password_login_is_trusted_and_logger_line_is_forged");
    let _journald = Journald::ensure()?;
    let user = TestUser::ensure()?;
    let lab = Lab::new()?;
    let sensor = Sensor::start(&[])?;
    let sshd = Sshd::start_logging(&lab.server, SERVER_ADDR, &user, Logging::Syslog)?;

    let out = ssh(&lab.client, &user, SERVER_ADDR, "true")?;
    ensure!(out.status.success(), "the login failed: {out:?}");
    let (_, login) = sensor.wait_for("the trusted login record", RECORD, |r| {
        is_login(r, user.name, "trusted")
    })?;
    ensure!(
        str_at(&login, "/source/ip") == Some(&CLIENT_ADDR.to_string())
            && u32_at(&login, "/source/port").is_some_and(|p| p > 0)
            && str_at(&login, "/ssh/method") == Some("password")
            && str_at(&login, "/process/executable") == Some("/usr/sbin/sshd")
            && str_at(&login, "/sensor/log_source") == Some("journald"),
        "the login record lacks its facts: {login}"
    );
    // The pid journald vouches for is the connection's sshd: the listener's re-executed child,
    // which the kernel tracer saw start.
    let sshd_pid = u32_at(&login, "/process/pid").context("the login record has no pid")?;
    let conn = sensor
        .records()
        .into_iter()
        .find(|r| pid(r) == Some(sshd_pid) && str_at(r, "/event/action") == Some("exec"))
        .with_context(|| format!("no exec record of the logging sshd {sshd_pid}"))?;
    ensure!(
        u32_at(&conn, "/process/parent/pid") == Some(sshd.pid())
            && str_at(&conn, "/process/name") == Some("sshd"),
        "the logging process must be the listener {}'s child: {conn}",
        sshd.pid()
    );

    let text = str_at(&login, "/message").context("no message")?.to_owned();
    cmd::run(
        Command::new("logger").args(["--socket-errors=on", "-t", "sshd", &text]),
        RECORD,
    )?;
    let (_, forged) = sensor.wait_for("the forged record", RECORD, |r| {
        is_login(r, user.name, "forged")
    })?;
    // journald names logger's executable, or (when logger exited before journald read /proc)
    // at least its comm: either rules sshd out.
    let reason = (
        str_at(&forged, "/sensor/provenance/reason"),
        str_at(&forged, "/sensor/provenance/exe"),
        str_at(&forged, "/sensor/provenance/comm"),
    );
    ensure!(
        str_at(&forged, "/message") == Some(text.as_str())
            && matches!(
                reason,
                (Some("not_sshd_exe"), Some("/usr/bin/logger"), None)
                    | (Some("not_sshd_comm"), None, Some("logger"))
            ),
        "the logger line must be marked forged for its executable or comm: {forged}"
    );
    let stopped = sensor.stop()?;
    ensure!(
        stopped
            .records
            .iter()
            .filter(|r| is_login(r, user.name, "trusted"))
            .count()
            == 1,
        "exactly one trusted login: the forged line must never pass for one"
    );
    Ok(())
}

/// A saved cursor that the journal no longer has (vacuumed, rotated away, or a damaged state
/// file) does not stop the source: it resumes at the first entry after the checkpoint's time,
/// and says so with a `journal-gap` record. A record written after that time but before the
/// sensor started is read, which shows it resumed by time rather than at the journal's end.
#[test]
#[ignore = "root: run through `cargo xtask test`"]
fn a_lost_journal_cursor_resumes_by_time_and_reports_the_gap() -> Result<()> {
    let _root = preflight("a_lost_journal_cursor_resumes_by_time_and_reports_the_gap");
    let _journald = Journald::ensure()?;
    let state = Arc::new(TempDir::new("state")?);
    let since_us = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() - 1_000_000;
    let lost =
        "s=0123456789abcdef0123456789abcdef;i=1;b=0123456789abcdef0123456789abcdef;m=1;t=1;x=1";
    std::fs::write(
        state.path().join("journal.cursor"),
        format!(r#"{{"cursor":"{lost}","realtime_us":{since_us}}}"#),
    )?;
    let user = format!("gap{}", std::process::id());
    let text = format!("Accepted password for {user} from 10.7.7.7 port 7 ssh2");
    cmd::run(
        Command::new("logger").args(["--socket-errors=on", "-t", "sshd", &text]),
        RECORD,
    )?;

    let sensor = Sensor::start_with_state(state, &["--source", "journald"])?;
    let (_, gap) = sensor.wait_for("the journal-gap record", RECORD, |r| {
        str_at(r, "/event/action") == Some("journal-gap")
    })?;
    ensure!(
        str_at(&gap, "/sensor/journal_cursor_lost") == Some(lost)
            && gap
                .pointer("/sensor/journal_resumed_after_us")
                .and_then(Value::as_u64)
                == Some(u64::try_from(since_us)?),
        "the gap record names the lost cursor and where reading resumed: {gap}"
    );
    sensor.wait_for(
        "the record written before the sensor started",
        RECORD,
        |r| str_at(r, "/user/name") == Some(user.as_str()),
    )?;
    sensor.stop()?;
    Ok(())
}
