//! The kernel's own accounting of eBPF programs (`kernel.bpf_stats_enabled`): the time spent in
//! each program and how often it ran.
//!
//! The counters are read from `/proc/PID/fdinfo` of the sensor's own program fds (`run_time_ns`,
//! `run_cnt`), so programs that other processes load (another sensor started by a test, say) are
//! never mixed in. Names come from `bpftool prog show -j`, which prints full names from BTF.
use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    process::Command,
};

use anyhow::Context as _;

use crate::cmd;

const SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Turns `kernel.bpf_stats_enabled` on while it lives, then restores the value it found.
pub struct StatsEnabled {
    previous: String,
}

impl StatsEnabled {
    pub fn enable() -> anyhow::Result<Self> {
        let previous = fs::read_to_string(SYSCTL).with_context(|| format!("reading {SYSCTL}"))?;
        fs::write(SYSCTL, "1").with_context(|| format!("writing 1 to {SYSCTL}"))?;
        Ok(Self {
            previous: previous.trim().to_owned(),
        })
    }
}

impl Drop for StatsEnabled {
    fn drop(&mut self) {
        if let Err(e) = fs::write(SYSCTL, &self.previous) {
            eprintln!(
                "xtask: restoring {SYSCTL} to {}: {e} (restore it by hand)",
                self.previous
            );
        }
    }
}

/// `run_time_ns` and `run_cnt` of one program.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counters {
    pub run_time_ns: u64,
    pub run_cnt: u64,
}

/// Counters of the programs process `pid` holds, by program id.
pub fn snapshot(pid: u32) -> anyhow::Result<BTreeMap<u32, Counters>> {
    let dir = format!("/proc/{pid}/fd");
    let mut progs = BTreeMap::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
        let entry = entry.with_context(|| format!("reading {dir}"))?;
        let is_prog =
            fs::read_link(entry.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:bpf-prog");
        if !is_prog {
            continue;
        }
        let info_path = format!("/proc/{pid}/fdinfo/{}", entry.file_name().to_string_lossy());
        let Ok(info) = fs::read_to_string(&info_path) else {
            continue; // closed in between
        };
        let field = |key: &str| -> Option<u64> {
            info.lines()
                .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        };
        let id = field("prog_id:").with_context(|| format!("no prog_id in {info_path}"))?;
        let counters = Counters {
            run_time_ns: field("run_time_ns:").unwrap_or(0),
            run_cnt: field("run_cnt:").unwrap_or(0),
        };
        progs.insert(u32::try_from(id).context("prog_id out of range")?, counters);
    }
    Ok(progs)
}

/// What each program cost between two snapshots, by name.
pub fn delta(
    before: &BTreeMap<u32, Counters>,
    after: &BTreeMap<u32, Counters>,
    names: &BTreeMap<u32, String>,
) -> BTreeMap<String, Counters> {
    let mut out = BTreeMap::new();
    for (id, a) in after {
        let b = before.get(id).copied().unwrap_or_default();
        let name = names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("prog#{id}"));
        out.insert(
            name,
            Counters {
                run_time_ns: a.run_time_ns.saturating_sub(b.run_time_ns),
                run_cnt: a.run_cnt.saturating_sub(b.run_cnt),
            },
        );
    }
    out
}

/// The loaded programs (`bpftool prog show -j`): names by id, and the ids of tracing programs
/// (the kinds that hook into every process: tracepoints, kprobes, fentry, perf events).
pub struct Loaded {
    pub names: BTreeMap<u32, String>,
    pub tracing: BTreeSet<u32>,
}

impl Loaded {
    pub fn read() -> anyhow::Result<Self> {
        let json = cmd::output(Command::new("bpftool").args(["prog", "show", "--json"]))?;
        let progs: Vec<serde_json::Value> =
            serde_json::from_str(&json).context("parsing `bpftool prog show --json`")?;
        let mut loaded = Self {
            names: BTreeMap::new(),
            tracing: BTreeSet::new(),
        };
        for p in &progs {
            let Some(id) = p
                .get("id")
                .and_then(serde_json::Value::as_u64)
                .and_then(|i| u32::try_from(i).ok())
            else {
                continue;
            };
            if let Some(name) = p.get("name").and_then(serde_json::Value::as_str) {
                loaded.names.insert(id, name.to_owned());
            }
            let kind = p
                .get("type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            if TRACING_KINDS.contains(&kind) {
                loaded.tracing.insert(id);
            }
        }
        Ok(loaded)
    }

    /// Tracing programs that are not among `ours`: someone else's, running on every exec too.
    pub fn others(&self, ours: &BTreeMap<u32, Counters>) -> usize {
        self.tracing
            .iter()
            .filter(|id| !ours.contains_key(id))
            .count()
    }
}

const TRACING_KINDS: [&str; 6] = [
    "tracepoint",
    "raw_tracepoint",
    "raw_tracepoint_writable",
    "kprobe",
    "tracing",
    "perf_event",
];
