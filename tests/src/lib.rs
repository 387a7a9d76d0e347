//! Harness of the root end-to-end suites: the real kernel, a real sshd, and the `sensor` binary.
//!
//! - [`netns`]: the test's own hosts, network namespaces joined by veth pairs;
//! - [`user`]: the `sensortest` account with a fresh password;
//! - [`sshd`]: an sshd started by hand in a namespace, and the password-login client;
//! - [`journald`]: a running systemd-journald, started by hand where none runs;
//! - [`sensor`]: `sensor run` as a child, its records parsed as they come;
//! - [`record`]: reading those records in assertions;
//! - [`procfs`]: process identity as the sensor writes it, and other sshd processes on the host;
//! - [`service`]: `sensor run` as a service: its own config file, signals, restarts, log-only;
//! - [`openssh`]: an sshd that also takes publickey logins, on several addresses;
//! - [`alert`]: reading alerts and the sessions they were joined to.
//!
//! Every wait has a deadline and is woken by the thing it waits for (a line, a record, a child's
//! exit); none is a fixed sleep. Every root test starts with [`preflight`], which fails loudly
//! rather than skipping, and holds a lock that keeps concurrent runs' root tests apart.
pub mod alert;
pub mod cmd;
pub mod feed;
pub mod journald;
pub mod netns;
pub mod openssh;
pub mod procfs;
pub mod record;
pub mod sensor;
pub mod service;
pub mod sshd;
pub mod tempdir;
pub mod user;

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// `<pid>-<n>`: unique among the names this process creates, and across concurrent runs.
pub fn unique() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Serialises root tests across processes (two `cargo xtask test` runs at once): they share the
/// host-wide tracepoints and the test account's password.
const LOCK_FILE: &str = "/run/sensor-tests.lock";
/// How long a root test waits for another run to finish.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// Held for the whole of one root test; other runs' root tests wait for it.
#[derive(Debug)]
pub struct RootGuard {
    _lock: std::fs::File,
}

/// Checks what every root test needs and takes the cross-run lock; panics with the reason
/// otherwise: a root test never passes by skipping.
///
/// - root (the tests load eBPF programs, create namespaces and users, and start sshd);
/// - not running inside an SSH session: the sensor follows every descendant of sshd, so it would
///   report the test process itself and everything it spawns.
pub fn preflight(test: &str) -> RootGuard {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "\n\n*** ROOT TEST `{test}` NOT RUN: it needs root (euid is {euid}). ***\n\
         Run the root suites with `cargo xtask test` (as root), or as root:\n  \
         SENSOR_BIN=$PWD/target/debug/sensor cargo test -p sensor-tests -- --include-ignored \
         --test-threads=1\n\n"
    );
    if let Some((pid, comm)) = procfs::sshd_ancestor() {
        panic!(
            "\n\n*** ROOT TEST `{test}` NOT RUN: this test process descends from {comm} (pid \
             {pid}), so the sensor tracks it and everything it spawns. ***\nRun the suite from \
             outside any SSH session: a console, CI, or on a systemd host \
             `systemd-run --pty --same-dir --wait cargo xtask test` (its processes descend from \
             PID 1, not from your login).\n\n"
        );
    }
    match lock(test) {
        Ok(guard) => guard,
        Err(err) => panic!("\n\n*** ROOT TEST `{test}` NOT RUN: {err:#} ***\n\n"),
    }
}

fn lock(test: &str) -> anyhow::Result<RootGuard> {
    use anyhow::Context as _;
    use std::os::fd::AsRawFd as _;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK_FILE)
        .with_context(|| format!("opening {LOCK_FILE}"))?;
    let deadline = Instant::now() + LOCK_WAIT;
    let mut told = false;
    loop {
        // SAFETY: flock(2) on a descriptor this function owns; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(RootGuard { _lock: file });
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(err).with_context(|| format!("locking {LOCK_FILE}"));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "another sensor-tests run held {LOCK_FILE} for {LOCK_WAIT:?}"
        );
        if !told {
            eprintln!("{test}: waiting for another sensor-tests run to release {LOCK_FILE}");
            told = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique() {
        assert_ne!(super::unique(), super::unique());
    }
}
