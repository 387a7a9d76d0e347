//! What the tests read from `/proc`: process identity as the sensor writes it (`entity_id`, pid
//! plus start time, safe against pid reuse: pid_max is 32768 here, and 20,000 execs wrap it), and
//! the sshd-family processes that make the host-wide sensor see activity that is not the test's.
use anyhow::{Context as _, Result};

/// The comms that make the kernel side track a process (and all it forks).
pub const SSHD_FAMILY: [&str; 3] = ["sshd", "sshd-session", "sshd-auth"];

/// The fields of `/proc/PID/stat` after the parenthesised comm (which may hold spaces): field 3
/// (state) first.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Field 4 of `/proc/PID/stat`: the parent's pid.
pub fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The pids of `pid`'s live children.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| parent_of(child) == Some(pid))
        .collect()
}

/// The sensor's `process.entity_id` for a live (or unreaped) process: `PID-STARTTICKS`, the start
/// time in clock ticks since boot being field 22 of `/proc/PID/stat`.
pub fn entity_id(pid: u32) -> Result<String> {
    let ticks: u64 = stat_fields(pid)
        .and_then(|f| f.get(19)?.parse().ok())
        .with_context(|| format!("reading the start time of {pid} from /proc/{pid}/stat"))?;
    Ok(format!("{pid}-{ticks}"))
}

fn comm(pid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().to_owned())
}

/// Every sshd-family process on the host but `except`, as (pid, comm): a daemon or session of
/// someone else that the host-wide sensor also reports.
pub fn sshd_processes(except: &[u32]) -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !except.contains(pid))
        .filter_map(|pid| Some((pid, comm(pid)?)))
        .filter(|(_, c)| SSHD_FAMILY.contains(&c.as_str()))
        .collect()
}

/// The nearest ancestor of this process whose comm is an sshd-family name, if any.
pub fn sshd_ancestor() -> Option<(u32, String)> {
    let mut pid = parent_of(std::process::id())?;
    // Bounded: a pid chain ends at 1 (or 0 across a pid namespace).
    for _ in 0..4096 {
        if pid <= 1 {
            return None;
        }
        let comm = comm(pid)?;
        if SSHD_FAMILY.contains(&comm.as_str()) {
            return Some((pid, comm));
        }
        pid = parent_of(pid)?;
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn parent_of_self_is_the_real_parent() {
        // SAFETY: getppid has no preconditions and cannot fail.
        let ppid = unsafe { libc::getppid() };
        assert_eq!(
            super::parent_of(std::process::id()).map(i64::from),
            Some(i64::from(ppid))
        );
    }

    #[test]
    fn entity_id_is_pid_and_start_ticks() {
        let me = std::process::id();
        let id = super::entity_id(me).expect("own stat");
        let (pid, ticks) = id.split_once('-').expect("PID-TICKS");
        assert_eq!(pid, me.to_string());
        assert!(ticks.parse::<u64>().is_ok(), "{id}");
    }
}
