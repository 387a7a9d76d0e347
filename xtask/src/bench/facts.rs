//! Where and when the figures were taken.
use std::{fs, process::Command};

use crate::cmd;

/// Where and when the figures were taken.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Facts {
    pub date: String,
    pub kernel: String,
    pub cpus: usize,
    pub cpu_model: String,
    /// /proc/loadavg (1, 5, 15 min) before the first and after the last run: a shared machine's
    /// background load.
    pub load_before: String,
    pub load_after: String,
    /// The commit the sensor was built from, `+changes` when the work tree differs from it.
    pub sensor_commit: String,
}

impl Facts {
    /// The lines every report starts with: the command, the build, the machine, the time.
    pub fn write_header(&self, o: &mut String, command: &str) {
        use std::fmt::Write as _;
        let _ = writeln!(o, "command:  {command}");
        let _ = writeln!(o, "sensor:   release build of {}", self.sensor_commit);
        let _ = writeln!(
            o,
            "machine:  Linux {}, {} CPUs ({})",
            self.kernel, self.cpus, self.cpu_model
        );
        let _ = writeln!(
            o,
            "date:     {}; load average before {} / after {}",
            self.date, self.load_before, self.load_after
        );
    }

    pub fn gather() -> Self {
        let date = cmd::output(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let cpu_model = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines().find_map(|l| {
                    Some(
                        l.strip_prefix("model name")?
                            .split_once(':')?
                            .1
                            .trim()
                            .to_owned(),
                    )
                })
            })
            .unwrap_or_default();
        Self {
            date,
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
            load_before: loadavg(),
            load_after: String::new(),
            sensor_commit: commit(),
        }
    }

    pub fn finish(mut self) -> Self {
        self.load_after = loadavg();
        self
    }
}

fn loadavg() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn commit() -> String {
    let git = |args: &[&str]| {
        cmd::output(
            Command::new("git")
                .current_dir(cmd::workspace_root())
                .args(args),
        )
    };
    let Ok(head) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown (not a git work tree)".to_owned();
    };
    let changed = git(&[
        "status",
        "--porcelain",
        "--",
        "sensor",
        "sensor-common",
        "sensor-ebpf",
    ])
    .map(|s| !s.trim().is_empty())
    .unwrap_or(true);
    format!("{}{}", head.trim(), if changed { "+changes" } else { "" })
}
