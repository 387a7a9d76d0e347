//! Running helper commands (`ip`, `useradd`, `ssh`) with errors that name the command, and
//! waiting for children with a deadline.
use std::{
    io::Read as _,
    process::{Child, Command, ExitStatus, Output, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

/// How often a child is polled while waiting for it to exit.
const POLL: Duration = Duration::from_millis(10);

/// Shows a command the way a shell user would type it.
pub fn display(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion (at most `timeout`) and fails unless it exits 0.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let out = output_within(cmd, timeout)?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// Runs `cmd` with stdin closed and its output captured; kills it once `timeout` passes.
pub fn output_within(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting `{}`", display(cmd)))?;
    // Read both pipes while the child runs, so that a chatty child cannot block on a full pipe.
    let readers = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .map(|pipe| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                // A read error leaves what was read so far, which the error message then shows.
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    });
    let status = wait_within(&mut child, timeout).with_context(|| format!("`{}`", display(cmd)))?;
    let [stdout, stderr] = readers.map(|r| r.join().unwrap_or_default());
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Waits for `child` to exit; after `timeout` kills it (SIGKILL) and fails.
pub fn wait_within(child: &mut Child, timeout: Duration) -> Result<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context("waiting for a child")? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let pid = child.id();
            // Already gone is fine; anything else still ends in wait() below.
            let _ = child.kill();
            let _ = child.wait();
            bail!("child {pid} still running after {timeout:?}: killed it");
        }
        std::thread::sleep(POLL);
    }
}

/// Sends `signal` to `pid`, then waits up to `grace` for the child to exit, then SIGKILLs it.
pub fn stop_child(child: &mut Child, signal: libc::c_int, grace: Duration) -> Result<ExitStatus> {
    if let Some(status) = child.try_wait().context("checking a child")? {
        return Ok(status);
    }
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own unreaped child, so
    // it cannot have been reused by another process.
    if unsafe { libc::kill(pid, signal) } != 0 {
        bail!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
    }
    wait_within(child, grace)
}
