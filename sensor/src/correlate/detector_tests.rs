//! Unit tests of the detector, driven by synthetic kernel events and login records.
use sensor_common::flags;

use super::*;
use crate::{
    correlate::{Limits, ProcessTable},
    detect::{self, RuleSources},
    normalize::{self, LogOrigin},
    record::LogProcess,
    source::{
        ebpf::{Common, KernelEvent},
        journald::Unverified,
    },
    time::WallClock,
};

const TICK: u64 = 10_000_000;

fn common(tgid: u32, ppid: u32, start: u64, comm: &str, fl: u32, at: u64) -> Common {
    Common {
        ktime_ns: at,
        start_ns: Some(start * TICK + 1),
        tgid,
        pid: tgid,
        ppid: Some(ppid),
        uid: 0,
        gid: 0,
        loginuid: None,
        sessionid: None,
        comm: comm.to_owned(),
        flags: fl | flags::TASK_FIELDS,
    }
}

fn exec(tgid: u32, ppid: u32, start: u64, comm: &str, args: &[&str], fl: u32) -> TracerMessage {
    TracerMessage::Event(KernelEvent::Exec {
        common: common(tgid, ppid, start, comm, fl, start * TICK + 100),
        filename: format!("/usr/bin/{comm}"),
        old_pid: tgid,
        args: Some(args.iter().map(|a| (*a).to_owned()).collect()),
    })
}

fn fork(parent: u32, pstart: u64, comm: &str, child: u32, at: u64) -> TracerMessage {
    TracerMessage::Event(KernelEvent::Fork {
        common: common(parent, 1, pstart, comm, 0, at * TICK),
        child_pid: child,
    })
}

fn exit(tgid: u32, start: u64, at: u64) -> TracerMessage {
    TracerMessage::Event(KernelEvent::Exit {
        common: common(tgid, 1, start, "sshd", 0, at * TICK),
        exit_code: Some(0),
    })
}

/// An auth.log login claimed by sshd `pid`.
fn login(pid: u32, text: &str) -> Box<AuthRecord> {
    let origin = LogOrigin {
        log_source: "auth-log",
        when: std::time::SystemTime::now(),
        provenance: Provenance::Unverified {
            pid,
            reason: Unverified::PlainText,
        },
        process: LogProcess {
            entity_id: None,
            pid: Some(pid),
            name: Some("sshd".into()),
            executable: None,
        },
        hostname: None,
        resume: None,
    };
    Box::new(normalize::auth_record(text, origin).expect("an sshd login"))
}

fn detector(tracing: bool) -> Detector {
    let loaded = detect::load(&RuleSources {
        builtin: true,
        ..RuleSources::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let correlator =
        tracing.then(|| Correlator::new(ProcessTable::new(Limits::default()), WallClock::new()));
    Detector::new(
        correlator,
        Engine::new(loaded.rules, loaded.allowlist),
        Arc::new(Metrics::new()),
    )
}

fn alerts(out: &[Record]) -> Vec<&Alert> {
    out.iter()
        .filter_map(|r| match r {
            Record::Alert(a) => Some(a.as_ref()),
            _ => None,
        })
        .collect()
}

const LATERAL: &str = "ec5fb1d6-1f59-428e-bfb0-0086cb81fded";
const CHAIN: &str = "3c9e4b7a-1d2f-4e8a-9b6c-5f0a7d8e2c14";

/// listener 100 → connection 200 → shell 300 → ssh 400, then the login record (which
/// arrives after the processes), then more commands, then the connection ends.
#[test]
fn a_login_is_joined_flags_its_session_and_ends_with_a_summary() {
    let mut d = detector(true);
    let mut out = Vec::new();
    let sshd = flags::SSHD_FAMILY;
    for msg in [
        exec(
            100,
            1,
            10,
            "sshd",
            &["/usr/sbin/sshd", "-D"],
            sshd | flags::TRACK_START,
        ),
        fork(100, 10, "sshd", 200, 20),
        exec(200, 100, 20, "sshd", &["sshd: alice [priv]"], sshd),
        fork(200, 20, "sshd", 300, 30),
        exec(300, 200, 30, "bash", &["bash", "-c", "ssh 10.0.0.9"], 0),
        fork(300, 30, "bash", 400, 40),
        exec(400, 300, 40, "ssh", &["ssh", "10.0.0.9"], 0),
        fork(300, 30, "bash", 450, 45),
        exec(
            450,
            300,
            45,
            "sshpass",
            &["sshpass", "-p", "hunter2", "ssh", "10.0.0.8"],
            0,
        ),
    ] {
        d.kernel(&msg, &mut out);
    }
    assert!(
        alerts(&out).is_empty(),
        "nothing is flagged before the login"
    );
    out.clear();

    let record = login(200, "Accepted password for alice from 10.0.0.2 port 5 ssh2");
    assert!(!d.must_wait(&record), "pid 200 is in the table");
    d.login(record, &mut out);
    let Some(Record::Auth(auth)) = out.first() else {
        panic!("the login record goes first: {out:?}");
    };
    assert_eq!(auth.sensor.provenance, Provenance::Verified { pid: 200 });
    assert_eq!(auth.process.entity_id.as_deref(), Some("200-20"));
    let got = alerts(&out);
    let lateral = got
        .iter()
        .find(|a| a.rule.id == LATERAL)
        .expect("lateral alert");
    assert_eq!(lateral.sensor.alert.process_context, Some("joined"));
    let session = lateral.sensor.session.as_ref().expect("session context");
    assert_eq!(session.id, "200-20");
    let names: Vec<&str> = session.commands.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["bash", "ssh", "sshpass"]);
    let sshpass = &session.commands[2].args;
    assert!(
        !sshpass.iter().any(|a| a.contains("hunter2")),
        "redacted: {sshpass:?}"
    );
    // The ssh that ran before the login record arrived is caught when the session is flagged.
    let chain: Vec<&&Alert> = got.iter().filter(|a| a.rule.id == CHAIN).collect();
    assert_eq!(chain.len(), 1);
    assert_eq!(
        chain[0].sensor.session.as_ref().map(|s| s.id.as_str()),
        Some("200-20")
    );
    assert_eq!(
        chain[0].context["user"]["name"], "alice",
        "the login's user"
    );
    assert_eq!(chain[0].context["source"]["ip"], "10.0.0.2");
    let alert_id = lateral.sensor.alert.id.clone();
    out.clear();

    d.kernel(&fork(300, 30, "bash", 500, 50), &mut out);
    d.kernel(&exec(500, 300, 50, "id", &["id"], 0), &mut out);
    let Some(Record::Process(id)) = out.first() else {
        panic!("{out:?}");
    };
    let tag = id.sensor.as_ref().expect("tagged with the session");
    assert_eq!(tag.session.id, "200-20");
    assert_eq!(tag.session.alert_id, alert_id);
    out.clear();

    d.kernel(&exit(200, 20, 90), &mut out);
    let summary = out
        .iter()
        .find_map(|r| match r {
            Record::Summary(s) => Some(s),
            _ => None,
        })
        .expect("a summary when the connection ends");
    assert_eq!(summary.sensor.session.commands_total, 4);
    assert_eq!(summary.sensor.session.commands[0], "bash -c ssh 10.0.0.9");
    assert_eq!(summary.sensor.session.commands[3], "id");
    assert!(!summary.sensor.session.commands[2].contains("hunter2"));
    assert_eq!(
        summary.user.as_ref().map(|u| u.name.as_str()),
        Some("alice")
    );
}

#[test]
fn a_record_naming_a_non_sshd_pid_is_forged_and_raises_no_lateral_alert() {
    let mut d = detector(true);
    let mut out = Vec::new();
    let sshd = flags::SSHD_FAMILY;
    d.kernel(
        &exec(100, 1, 10, "sshd", &["sshd"], sshd | flags::TRACK_START),
        &mut out,
    );
    d.kernel(&fork(100, 10, "sshd", 200, 20), &mut out);
    d.kernel(&exec(200, 100, 20, "sshd", &["sshd: bob"], sshd), &mut out);
    d.kernel(&fork(200, 20, "sshd", 300, 30), &mut out);
    d.kernel(&exec(300, 200, 30, "python3", &["python3"], 0), &mut out);
    out.clear();
    // A process inside a session writes sshd's words with its own pid.
    d.login(
        login(300, "Accepted password for root from 10.6.6.6 port 22 ssh2"),
        &mut out,
    );
    let ids: Vec<&str> = alerts(&out).iter().map(|a| a.rule.id.as_str()).collect();
    assert_eq!(
        ids,
        ["8f3e2d1c-4b5a-4c6d-9e7f-1a2b3c4d5e6f"],
        "only the forged-record alert"
    );
}

#[test]
fn log_only_alerts_say_the_process_context_is_missing_and_unknown_pids_wait() {
    let mut d = detector(false);
    let mut out = Vec::new();
    let record = login(
        4242,
        "Accepted password for alice from 10.0.0.2 port 5 ssh2",
    );
    assert!(
        !d.must_wait(&record),
        "nothing to wait for without the tracer"
    );
    d.login(record, &mut out);
    let got = alerts(&out);
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|a| a.sensor.alert.process_context == Some("missing"))
    );

    let tracing = detector(true);
    let record = login(
        4242,
        "Accepted password for alice from 10.0.0.2 port 5 ssh2",
    );
    assert!(
        tracing.must_wait(&record),
        "the kernel may not have reported pid 4242 yet"
    );
}
