//! One timed run of a command: its wall time, and its own CPU time and peak resident memory as
//! the kernel accounts them to the child (`wait4`'s rusage: what `/usr/bin/time -f %M` shows).
use std::{
    fs::File,
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context as _, bail};

use crate::cmd;

/// What one run cost.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Cost {
    pub wall_ms: f64,
    /// User + system time of the process (all its threads).
    pub cpu_ms: f64,
    /// Peak resident set size.
    pub max_rss_kib: u64,
}

/// Runs `command` with stdout to /dev/null and stderr to `stderr_file`; fails unless it exits
/// with one of `ok_codes`. Returns its cost and its stderr.
pub fn run(
    mut command: Command,
    stderr_file: &Path,
    ok_codes: &[i32],
) -> anyhow::Result<(Cost, String)> {
    let null = File::create("/dev/null").context("opening /dev/null")?;
    let err =
        File::create(stderr_file).with_context(|| format!("creating {}", stderr_file.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(null))
        .stderr(Stdio::from(err));
    let started = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", cmd::show(&command)))?;
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std never waits for it: `child` is
    // dropped without `wait`); `status` and `usage` are valid out-pointers.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    drop(child);
    if reaped != pid {
        bail!(
            "waiting for {}: {}",
            cmd::show(&command),
            std::io::Error::last_os_error()
        );
    }
    let stderr = std::fs::read_to_string(stderr_file).unwrap_or_default();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    if !code.is_some_and(|c| ok_codes.contains(&c)) {
        bail!(
            "{} failed (wait status {status:#x}): {}",
            cmd::show(&command),
            stderr.trim()
        );
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    Ok((
        Cost {
            wall_ms,
            cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
            max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        },
        stderr,
    ))
}
