//! Unit tests of the process table, driven by synthetic kernel events.
use sensor_common::flags;

use super::*;

const TICK: u64 = 10_000_000; // ns per tick at USER_HZ = 100

fn common(tgid: u32, ppid: u32, start_tick: u64, comm: &str, fl: u32, at: u64) -> Common {
    Common {
        ktime_ns: at,
        start_ns: Some(start_tick * TICK + 123),
        tgid,
        pid: tgid,
        ppid: Some(ppid),
        uid: 1000,
        gid: 1000,
        loginuid: Some(1000),
        sessionid: Some(3),
        comm: comm.to_owned(),
        flags: fl | flags::TASK_FIELDS,
    }
}

fn exec(tgid: u32, ppid: u32, start: u64, comm: &str, file: &str, fl: u32) -> KernelEvent {
    KernelEvent::Exec {
        common: common(tgid, ppid, start, comm, fl, start * TICK + 1000),
        filename: file.to_owned(),
        old_pid: tgid,
        args: None,
    }
}

fn fork(parent: u32, pstart: u64, comm: &str, child: u32, at_tick: u64) -> KernelEvent {
    KernelEvent::Fork {
        common: common(parent, 1, pstart, comm, 0, at_tick * TICK),
        child_pid: child,
    }
}

fn argv(tgid: u32, start: u64, args: &[&str]) -> KernelEvent {
    KernelEvent::Argv {
        common: common(tgid, 0, start, "x", 0, start * TICK + 500),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
    }
}

fn exit(tgid: u32, start: u64, at_tick: u64, code: i32) -> KernelEvent {
    KernelEvent::Exit {
        common: common(tgid, 1, start, "x", 0, at_tick * TICK),
        exit_code: Some(code),
    }
}

fn key(tgid: u32, start_ticks: u64) -> ProcKey {
    ProcKey { tgid, start_ticks }
}

/// sshd listener (100) → connection (200) → shell (300) → whoami (400); setsid child (500) forked
/// by the shell, which then exits: the child keeps its session.
#[test]
fn session_is_the_listeners_child_and_survives_detaching() {
    let mut t = ProcessTable::new(Limits::default());
    let sshd = flags::SSHD_FAMILY;
    assert_eq!(
        t.apply(&exec(
            100,
            1,
            10,
            "sshd",
            "/usr/sbin/sshd",
            sshd | flags::TRACK_START
        )),
        Some(Change::Exec(key(100, 10)))
    );
    assert!(t.get(&key(100, 10)).unwrap().listener);

    t.apply(&fork(100, 10, "sshd", 200, 20));
    t.apply(&argv(200, 20, &["/usr/sbin/sshd", "-D", "-R"]));
    t.apply(&exec(200, 100, 20, "sshd", "/usr/sbin/sshd", sshd));
    let conn = t.get(&key(200, 20)).unwrap();
    assert_eq!(conn.session, Some(key(200, 20)));
    assert!(!conn.listener);
    assert_eq!(conn.args, ["/usr/sbin/sshd", "-D", "-R"]);

    t.apply(&fork(200, 20, "sshd", 300, 30));
    t.apply(&argv(300, 30, &["bash", "-c", "whoami"]));
    t.apply(&exec(300, 200, 30, "bash", "/bin/bash", 0));
    t.apply(&fork(300, 30, "bash", 400, 40));
    t.apply(&argv(400, 40, &["whoami"]));
    t.apply(&exec(400, 300, 40, "whoami", "/usr/bin/whoami", 0));
    let whoami = t.get(&key(400, 40)).unwrap();
    assert_eq!(whoami.session, Some(key(200, 20)));
    assert_eq!(whoami.parent, Some(key(300, 30)));
    assert_eq!(whoami.executable.as_deref(), Some("/usr/bin/whoami"));

    // The shell forks a detached child and exits; the child is reparented to init (ppid 1).
    t.apply(&fork(300, 30, "bash", 500, 50));
    assert_eq!(
        t.apply(&exit(300, 30, 51, 0)),
        Some(Change::Exit(key(300, 30)))
    );
    t.apply(&argv(500, 50, &["id"]));
    t.apply(&exec(500, 1, 50, "id", "/usr/bin/id", 0));
    let id = t.get(&key(500, 50)).unwrap();
    assert_eq!(
        id.session,
        Some(key(200, 20)),
        "a detached child keeps its session"
    );
    assert_eq!(
        id.parent,
        Some(key(300, 30)),
        "the parent is who forked it, not init"
    );
}

#[test]
fn exec_and_exit_before_fork_are_tolerated() {
    let mut t = ProcessTable::new(Limits::default());
    t.apply(&exec(
        100,
        1,
        10,
        "sshd",
        "/usr/sbin/sshd",
        flags::SSHD_FAMILY | flags::TRACK_START,
    ));
    // The child's events arrive before its fork: it is created from the ppid the kernel gave.
    t.apply(&exec(
        200,
        100,
        20,
        "sshd",
        "/usr/sbin/sshd",
        flags::SSHD_FAMILY,
    ));
    assert_eq!(t.get(&key(200, 20)).unwrap().parent, Some(key(100, 10)));
    assert_eq!(
        t.apply(&exit(200, 20, 30, 256)),
        Some(Change::Exit(key(200, 20)))
    );
    // The late fork leaves nothing behind that could attach to a future process.
    t.apply(&fork(100, 10, "sshd", 200, 20));
    let p = t.get(&key(200, 20)).unwrap();
    assert_eq!((p.exited_ns, p.exit_code), (Some(30 * TICK), Some(256)));
    assert!(t.live(200).is_none());
}

#[test]
fn a_reused_pid_is_a_new_process() {
    let mut t = ProcessTable::new(Limits::default());
    t.apply(&exec(
        100,
        1,
        10,
        "sshd",
        "/usr/sbin/sshd",
        flags::SSHD_FAMILY | flags::TRACK_START,
    ));
    t.apply(&exec(300, 100, 30, "bash", "/bin/bash", 0));
    // The exit of the first 300 was lost; a new 300 starts later.
    t.apply(&exec(300, 100, 90, "sleep", "/bin/sleep", 0));
    let old = t.get(&key(300, 30)).unwrap();
    let new = t.get(&key(300, 90)).unwrap();
    assert!(old.exited_ns.is_some(), "the old incarnation is closed");
    assert_eq!(new.executable.as_deref(), Some("/bin/sleep"));
    assert_eq!(t.live(300).map(|p| p.key), Some(key(300, 90)));
}

#[test]
fn argv_carried_by_the_exec_wins_and_its_cut_is_flagged() {
    let mut t = ProcessTable::new(Limits::default());
    let mut ev = exec(400, 1, 40, "bash", "/bin/bash", flags::TRUNCATED);
    if let KernelEvent::Exec { args, .. } = &mut ev {
        *args = Some(vec!["bash".into(), "-c".into(), "whoami".into()]);
    }
    t.apply(&argv(400, 40, &["stale"]));
    t.apply(&ev);
    let p = t.get(&key(400, 40)).unwrap();
    assert_eq!(p.args, ["bash", "-c", "whoami"]);
    assert!(p.args_truncated);
}

#[test]
fn exec_without_argv_keeps_the_filename_and_says_so() {
    let mut t = ProcessTable::new(Limits::default());
    t.apply(&exec(
        100,
        1,
        10,
        "sshd",
        "/usr/sbin/sshd",
        flags::SSHD_FAMILY | flags::TRACK_START,
    ));
    t.apply(&exec(400, 100, 40, "true", "/bin/true", 0));
    let p = t.get(&key(400, 40)).unwrap();
    assert_eq!(p.args, ["/bin/true"]);
    assert!(p.args_truncated);
}

#[test]
fn eviction_keeps_live_and_recent_processes() {
    let limits = Limits {
        grace_ns: 100 * TICK,
        capacity: 1000,
    };
    let mut t = ProcessTable::new(limits);
    t.apply(&exec(
        100,
        1,
        10,
        "sshd",
        "/usr/sbin/sshd",
        flags::SSHD_FAMILY | flags::TRACK_START,
    ));
    t.apply(&exec(200, 100, 20, "a", "/bin/a", 0));
    t.apply(&exit(200, 20, 30, 0));
    t.apply(&exec(300, 100, 40, "b", "/bin/b", 0));
    t.apply(&exit(300, 40, 150, 0));
    t.apply(&fork(100, 10, "sshd", 999, 35));
    assert_eq!(
        t.evict(140 * TICK),
        1,
        "only the process that exited before the horizon goes"
    );
    assert!(t.get(&key(200, 20)).is_none());
    assert!(t.get(&key(300, 40)).is_some());
    assert!(t.get(&key(100, 10)).is_some(), "live processes stay");
    // The stale fork of 999 expired: a new 999 does not inherit sshd as its parent.
    t.apply(&exec(999, 1, 160, "x", "/bin/x", 0));
    assert_eq!(t.get(&key(999, 160)).unwrap().parent, None);
}

#[test]
fn capacity_evicts_the_oldest_exited_first() {
    let limits = Limits {
        grace_ns: u64::MAX / 2,
        capacity: 3,
    };
    let mut t = ProcessTable::new(limits);
    t.apply(&exec(
        100,
        1,
        10,
        "sshd",
        "/usr/sbin/sshd",
        flags::SSHD_FAMILY | flags::TRACK_START,
    ));
    for (i, tgid) in [201, 202, 203, 204].into_iter().enumerate() {
        let start = 20 + i as u64;
        t.apply(&exec(tgid, 100, start, "t", "/bin/true", 0));
        t.apply(&exit(tgid, start, 30 + i as u64, 0));
    }
    t.evict(40 * TICK);
    assert_eq!(t.len(), 3);
    assert!(t.get(&key(201, 20)).is_none() && t.get(&key(202, 21)).is_none());
    assert!(t.get(&key(204, 23)).is_some());
}

#[test]
fn seeding_finds_listeners_sessions_and_descendants() {
    let stat = |tgid, ppid, start, comm: &str| ProcStat {
        tgid,
        ppid,
        start_ticks: start,
        comm: comm.to_owned(),
    };
    let stats = [
        stat(1, 0, 1, "init"),
        stat(50, 1, 5, "cron"),
        stat(100, 1, 10, "sshd"),
        stat(200, 100, 20, "sshd"),
        stat(210, 200, 21, "sshd"),
        stat(300, 210, 30, "bash"),
        stat(400, 300, 40, "vim"),
        stat(600, 1, 60, "sshd-session"), // an orphaned 9.8+ session process: a root of its own
    ];
    let mut t = ProcessTable::new(Limits::default());
    let mut seeded = t.seed(
        &stats,
        |s| s.comm.clone(),
        |_| Some(vec!["seeded".to_owned()]),
    );
    seeded.sort_unstable();
    assert_eq!(seeded, [100, 200, 210, 300, 400, 600]);
    assert!(t.live(100).unwrap().listener);
    assert_eq!(t.live(400).unwrap().session, Some(key(200, 20)));
    assert_eq!(t.live(400).unwrap().parent, Some(key(300, 30)));
    assert!(
        t.live(50).is_none(),
        "processes outside sshd are not tracked"
    );
    // A seeded shell that execs gets its credentials from the kernel.
    t.apply(&exec(400, 300, 40, "whoami", "/usr/bin/whoami", 0));
    let whoami = t.live(400).unwrap();
    assert_eq!((whoami.uid, whoami.loginuid), (Some(1000), Some(1000)));
    // Seeding twice (the second pass at start-up) changes nothing.
    let again = t.seed(&stats, |s| s.comm.clone(), |_| None);
    assert_eq!(again.len(), 6);
    assert_eq!(t.len(), 6);
    // 400 exited and 300's pid now belongs to a newer process: both seeds are stale.
    let mut stale = t.stale_seeds(|tgid| match tgid {
        400 => None,
        300 => Some(99),
        other => stats
            .iter()
            .find(|s| s.tgid == other)
            .map(|s| s.start_ticks),
    });
    stale.sort_unstable();
    assert_eq!(stale, [300, 400]);
    assert!(t.live(300).is_none() && t.get(&key(300, 30)).unwrap().exited_ns.is_some());
    assert!(t.live(200).is_some());
}
