//! auditd with an execve rule, what osquery and Auditbeat users run instead of an eBPF sensor.
//!
//! Started by hand (`auditd -n -c DIR`, no systemd needed) with the installed auditd.conf, except
//! that the log goes to DIR. The kernel settings Debian's default rules apply (`-b 8192`,
//! `--backlog_wait_time 60000`) are set while it runs; then the rule
//! `-a always,exit -F arch=b64 -S execve -k sensor_bench`. Everything is undone on every path:
//! the rule deleted, auditd stopped, the kernel's audit `enabled`, `backlog_limit` and
//! `backlog_wait_time` restored to what they were.
use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use super::{check_interrupted, daemon::Daemon};
use crate::cmd;

/// The rule, after `-a` (add) or `-d` (delete).
const RULE: [&str; 7] = [
    "always,exit",
    "-F",
    "arch=b64",
    "-S",
    "execve",
    "-k",
    "sensor_bench",
];
pub const RULE_TEXT: &str = "-a always,exit -F arch=b64 -S execve -k sensor_bench";
const INSTALLED_CONF: &str = "/etc/audit/auditd.conf";

/// The kernel's audit status (`auditctl -s`).
#[derive(Debug, Clone, Copy)]
struct Status {
    enabled: u64,
    pid: u64,
    backlog_limit: u64,
    backlog_wait_time: u64,
    lost: u64,
    backlog: u64,
}

fn status() -> anyhow::Result<Status> {
    let text = cmd::output(Command::new("auditctl").arg("-s"))?;
    let field = |key: &str| -> anyhow::Result<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
            .with_context(|| format!("no `{key}` in `auditctl -s`:\n{text}"))
    };
    Ok(Status {
        enabled: field("enabled")?,
        pid: field("pid")?,
        backlog_limit: field("backlog_limit")?,
        backlog_wait_time: field("backlog_wait_time")?,
        lost: field("lost")?,
        backlog: field("backlog")?,
    })
}

/// Why auditd cannot be a condition here, if it cannot.
pub fn unavailable() -> Option<String> {
    let s = match status() {
        Ok(s) => s,
        Err(e) => {
            return Some(format!(
                "the kernel's audit interface does not answer: {e:#}"
            ));
        }
    };
    if s.enabled == 2 {
        return Some("the audit configuration is locked (`auditctl -s` says enabled 2)".to_owned());
    }
    if s.pid != 0 {
        return Some(format!(
            "an audit daemon (pid {}) is already running and the bench does not take it over: \
             stop it (`systemctl stop auditd` or `service auditd stop`) and run the bench again",
            s.pid
        ));
    }
    if !Path::new(INSTALLED_CONF).exists() {
        return Some(format!(
            "{INSTALLED_CONF} is missing (is the auditd package installed?)"
        ));
    }
    None
}

/// A running auditd with the execve rule.
pub struct Auditd {
    daemon: Daemon,
    dir: PathBuf,
    before: Status,
    rule_added: bool,
    restored: bool,
}

/// What auditd recorded of one storm.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Recorded {
    /// execve records (`type=SYSCALL`, key sensor_bench) whose parent is the storm's generator.
    pub records: u64,
    /// Records the kernel dropped during the run (`auditctl -s` lost, after minus before).
    pub lost: u64,
    /// Records waiting in the kernel for auditd when the storm ended.
    pub backlog_at_end: u64,
    /// How long after the storm auditd had written everything (the record of a marker exec run
    /// right after it), in ms: work that the storm's wall time does not show.
    pub drain_ms: u64,
}

impl Auditd {
    /// Starts auditd logging into `dir` (created afresh) and adds the rule.
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let before = status()?;
        if before.pid != 0 {
            bail!("an audit daemon (pid {}) is already running", before.pid);
        }
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o750))?;
        let conf = fs::read_to_string(INSTALLED_CONF)
            .with_context(|| format!("reading {INSTALLED_CONF}"))?;
        let log = dir.join("audit.log");
        let mut lines: Vec<String> = conf
            .lines()
            .filter(|l| !l.trim_start().starts_with("log_file"))
            .map(str::to_owned)
            .collect();
        lines.push(format!("log_file = {}", log.display()));
        let conf_path = dir.join("auditd.conf");
        fs::write(&conf_path, lines.join("\n") + "\n")
            .with_context(|| format!("writing {}", conf_path.display()))?;
        // auditd refuses a configuration that others may write.
        fs::set_permissions(&conf_path, fs::Permissions::from_mode(0o640))?;
        let out = fs::File::create(dir.join("auditd.out"))?;
        let mut command = Command::new("auditd");
        command.arg("-n").arg("-c").arg(dir).stdin(Stdio::null());
        command.stdout(out.try_clone()?).stderr(out);
        let daemon = Daemon::spawn(&mut command)?;
        let mut auditd = Self {
            daemon,
            dir: dir.to_owned(),
            before,
            rule_added: false,
            restored: false,
        };
        auditd.wait_ready()?;
        cmd::output(Command::new("auditctl").args(["-b", "8192", "--backlog_wait_time", "60000"]))?;
        auditd.rule_added = true; // set first: a half-applied add is still deleted
        cmd::output(Command::new("auditctl").arg("-a").args(RULE))?;
        Ok(auditd)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let pid = u64::from(self.daemon.pid());
        loop {
            check_interrupted()?;
            if status()?.pid == pid {
                return Ok(());
            }
            if let Some(exit) = self.daemon.exited() {
                let out = fs::read_to_string(self.dir.join("auditd.out")).unwrap_or_default();
                bail!(
                    "auditd exited ({exit}) before registering with the kernel: {}",
                    out.trim()
                );
            }
            if Instant::now() > deadline {
                bail!("auditd (pid {pid}) did not register with the kernel within 15 s");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Deletes the rule, stops auditd (which flushes its log), restores the kernel settings and
    /// counts what it recorded of the storm run by `generator_pid`.
    pub fn finish(mut self, generator_pid: u32) -> anyhow::Result<Recorded> {
        let end = status()?;
        let drain_ms = self.drain()?;
        self.restore()?;
        let needle = format!(" ppid={generator_pid} ");
        let mut records = 0;
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("audit.log"))
            {
                continue;
            }
            let text = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            records += String::from_utf8_lossy(&text)
                .lines()
                .filter(|l| {
                    l.starts_with("type=SYSCALL")
                        && l.contains(&needle)
                        && l.contains("key=\"sensor_bench\"")
                })
                .count() as u64;
        }
        Ok(Recorded {
            records,
            lost: status()?
                .lost
                .max(end.lost)
                .saturating_sub(self.before.lost),
            backlog_at_end: end.backlog,
            drain_ms,
        })
    }

    /// Waits until auditd has written everything of the storm, so that stopping it loses
    /// nothing: runs a marker exec after the storm (`/bin/true sensor-bench-drain-PID`) and waits
    /// for its record in the log, which auditd writes in order. Returns how long that took, in ms.
    fn drain(&mut self) -> anyhow::Result<u64> {
        let start = Instant::now();
        let marker = format!("sensor-bench-drain-{}", self.daemon.pid());
        cmd::output(Command::new("/bin/true").arg(&marker))?;
        let deadline = start + Duration::from_secs(60);
        let logs = [self.dir.join("audit.log"), self.dir.join("audit.log.1")];
        while Instant::now() < deadline {
            check_interrupted()?;
            let written = logs.iter().any(|log| {
                // std's substring search: optimised even in this debug build.
                fs::read(log).is_ok_and(|t| String::from_utf8_lossy(&t).contains(&marker))
            });
            if written {
                return Ok(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
            }
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!("xtask: auditd had not caught up 60 s after the storm; stopping it anyway");
        Ok(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn restore(&mut self) -> anyhow::Result<()> {
        if self.restored {
            return Ok(());
        }
        self.restored = true;
        let mut failures = Vec::new();
        if self.rule_added {
            // Fails harmlessly when the add itself had failed.
            let _ = cmd::output(Command::new("auditctl").arg("-d").args(RULE));
        }
        if let Err(e) = self.daemon.stop() {
            failures.push(format!("{e:#}"));
        }
        let b = self.before;
        for args in [
            vec!["-e".to_owned(), b.enabled.to_string()],
            vec!["-b".to_owned(), b.backlog_limit.to_string()],
            vec![
                "--backlog_wait_time".to_owned(),
                b.backlog_wait_time.to_string(),
            ],
        ] {
            if let Err(e) = cmd::output(Command::new("auditctl").args(&args)) {
                failures.push(format!("{e:#}"));
            }
        }
        if failures.is_empty() {
            return Ok(());
        }
        bail!("restoring the audit settings: {}", failures.join("; "))
    }
}

impl Drop for Auditd {
    fn drop(&mut self) {
        if let Err(e) = self.restore() {
            eprintln!("xtask: {e:#} (check `auditctl -s` and `auditctl -l`)");
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
