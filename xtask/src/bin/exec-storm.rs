//! `exec-storm N [PROGRAM]`: the load of `cargo xtask bench exec-storm`.
//!
//! Runs PROGRAM (default `/bin/true`, no arguments) N times, one after another, the way a shell
//! does: `fork()`, `execv()` in the child, `waitpid()` in the parent. Prints one line on stdout,
//! `wall_ns=T cpu_ns=C n=N`: the wall time of the whole loop (monotonic clock) and the CPU time
//! (user + system) that this process and its children used in it. Fails if any child did not
//! exit 0.
//!
//! `fork` rather than `posix_spawn`/`vfork` (what `std::process::Command` uses): fork+exec is the
//! pattern of shells, cron and most daemons, and it makes each iteration go through all of the
//! sensor's hooks: `sched_process_fork`, `sys_enter_execve`, `sched_process_exec` and
//! `sched_process_exit`.
//!
//! Copied to a file named `sshd` and started from there, this process is one the sensor tracks,
//! and so is every child it forks: that is the bench's traced storm.
use std::{ffi::CString, os::unix::ffi::OsStrExt as _, process::ExitCode, time::Instant};

fn main() -> ExitCode {
    match storm() {
        Ok((wall_ns, cpu_ns, n)) => {
            println!("wall_ns={wall_ns} cpu_ns={cpu_ns} n={n}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("exec-storm: {why}");
            ExitCode::FAILURE
        }
    }
}

fn storm() -> Result<(u128, u128, u64), String> {
    let mut args = std::env::args_os().skip(1);
    let usage = "usage: exec-storm N [PROGRAM]";
    let n: u64 = args
        .next()
        .and_then(|a| a.to_str().and_then(|s| s.parse().ok()))
        .ok_or(usage)?;
    let program = args.next().unwrap_or_else(|| "/bin/true".into());
    let path = CString::new(program.as_bytes()).map_err(|_| "PROGRAM contains a NUL byte")?;
    let name = std::path::Path::new(&program)
        .file_name()
        .map_or(program.as_bytes(), |n| n.as_bytes());
    let arg0 = CString::new(name).map_err(|_| "PROGRAM contains a NUL byte")?;
    let argv = [arg0.as_ptr(), std::ptr::null()];

    let cpu_start = cpu_ns();
    let start = Instant::now();
    for i in 0..n {
        // SAFETY: this process is single-threaded, so the child may call anything; it only calls
        // execv and _exit, which are async-signal-safe anyway. `argv` is NUL-terminated and its
        // strings outlive the call.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!(
                "fork #{i} failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        if pid == 0 {
            // SAFETY: see above; _exit does not return.
            unsafe {
                libc::execv(path.as_ptr(), argv.as_ptr());
                libc::_exit(127);
            }
        }
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            return Err(format!(
                "waitpid #{i} failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            return Err(format!(
                "child #{i} ({}) ended with wait status {status:#x}",
                program.display()
            ));
        }
    }
    let wall_ns = start.elapsed().as_nanos();
    Ok((wall_ns, cpu_ns() - cpu_start, n))
}

/// User + system time of this process and of its reaped children, in ns.
fn cpu_ns() -> u128 {
    let mut total = 0;
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: an all-zero rusage is valid, and getrusage only writes into it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid out-pointer; `who` is a valid selector.
        unsafe { libc::getrusage(who, &mut usage) };
        for tv in [usage.ru_utime, usage.ru_stime] {
            total += tv.tv_sec as u128 * 1_000_000_000 + tv.tv_usec as u128 * 1_000;
        }
    }
    total
}
