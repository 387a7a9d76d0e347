//! A running systemd-journald. This project's machines have no systemd as PID 1, so when none
//! runs the harness starts `/lib/systemd/systemd-journald` by hand (volatile journal under
//! /run/log/journal) and links `/dev/log` to it so that syslog() callers such as sshd reach it.
use std::{
    os::unix::net::UnixDatagram,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use crate::cmd;

const JOURNALD: &str = "/lib/systemd/systemd-journald";
const SOCKET: &str = "/run/systemd/journal/socket";
const DEV_LOG: &str = "/dev/log";
const SYSLOG_SOCKET: &str = "/run/systemd/journal/dev-log";
const STARTUP: Duration = Duration::from_secs(20);

/// journald for the test's lifetime: the host's, or one started here and stopped on drop.
#[derive(Debug)]
pub struct Journald {
    started: Option<Child>,
    linked_dev_log: bool,
}

impl Journald {
    pub fn ensure() -> Result<Self> {
        let mut journald = Self {
            started: None,
            linked_dev_log: false,
        };
        if !running() {
            let child = Command::new(JOURNALD)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {JOURNALD} (package systemd)"))?;
            journald.started = Some(child);
            let deadline = Instant::now() + STARTUP;
            // A stopped journald leaves its socket files behind, so existing is not enough: the
            // sockets are ready once a datagram socket can connect to them.
            while !listening(SOCKET) || !listening(SYSLOG_SOCKET) {
                if Instant::now() > deadline {
                    bail!("journald did not listen on {SOCKET} within {STARTUP:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if std::fs::symlink_metadata(DEV_LOG).is_err() {
            std::os::unix::fs::symlink(SYSLOG_SOCKET, DEV_LOG)
                .with_context(|| format!("linking {DEV_LOG} to {SYSLOG_SOCKET}"))?;
            journald.linked_dev_log = true;
        }
        Ok(journald)
    }
}

/// Someone is bound to the datagram socket at `path`: a stale socket file refuses connections.
fn listening(path: &str) -> bool {
    UnixDatagram::unbound().is_ok_and(|s| s.connect(path).is_ok())
}

/// A journald is listening on its native socket.
fn running() -> bool {
    listening(SOCKET)
}

impl Drop for Journald {
    fn drop(&mut self) {
        if let Some(mut child) = self.started.take()
            && let Err(err) = cmd::stop_child(&mut child, libc::SIGTERM, Duration::from_secs(5))
        {
            eprintln!("warning: stopping journald: {err:#}");
        }
        if self.linked_dev_log && self.started.is_none() {
            // Leave /dev/log to the next journald only while one runs; otherwise remove it.
            if !running() {
                let _ = std::fs::remove_file(DEV_LOG);
            }
        }
    }
}
