//! A background process the bench starts and must stop on every path, errors included.
use std::{
    process::{Child, Command, ExitStatus},
    thread,
    time::{Duration, Instant},
};

use anyhow::Context as _;

use crate::cmd;

/// How long a daemon gets to exit after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(30);

pub struct Daemon {
    name: String,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `command` in its own process group (a Ctrl-C meant for the bench does not reach it:
    /// the bench stops it itself, in order).
    pub fn spawn(command: &mut Command) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt as _;
        let name = cmd::show(command);
        let child = command
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self {
            name,
            child: Some(child),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The piped stderr, once.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.as_mut().and_then(|c| c.stderr.take())
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM, then SIGKILL after [`GRACE`]; returns how it ended.
    pub fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            anyhow::bail!("{} was already stopped", self.name);
        };
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
        // SAFETY: signalling our own child, which has not been reaped yet (so the pid is ours).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "xtask: {} did not stop within {GRACE:?} of SIGTERM: killing it",
            self.name
        );
        child
            .kill()
            .with_context(|| format!("killing {}", self.name))?;
        child
            .wait()
            .with_context(|| format!("waiting for {}", self.name))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_none() {
            return;
        }
        if let Err(e) = self.stop() {
            eprintln!("xtask: stopping {}: {e:#}", self.name);
        }
    }
}
