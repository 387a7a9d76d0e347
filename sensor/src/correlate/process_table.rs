//! The process table: every traced process keyed by (tgid, start time), never by a bare pid.
//!
//! It is seeded from `/proc` (an sshd that started before the sensor is known), tolerates an exec
//! or exit arriving before the fork that made the process, and is bounded: exited entries are
//! evicted after a grace period, and pending forks and argv expire.
use std::collections::HashMap;

use sensor_common::flags;

use crate::{
    procfs::{self, ProcStat},
    source::ebpf::{Common, KernelEvent},
};

/// A process's identity: pids are reused, (tgid, start) is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcKey {
    pub tgid: u32,
    /// Start time in clock ticks since boot, as `/proc/PID/stat` field 22.
    pub start_ticks: u64,
}

impl std::fmt::Display for ProcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.tgid, self.start_ticks)
    }
}

/// What the table knows of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub key: ProcKey,
    /// Start time since boot in ns (exact from the kernel; from ticks when seeded).
    pub start_ns: u64,
    pub ppid: Option<u32>,
    /// The process that forked it, when known (it survives reparenting).
    pub parent: Option<ProcKey>,
    /// The sshd process of the connection this process belongs to (ECS `process.entry_leader`).
    pub session: Option<ProcKey>,
    /// An sshd-family process outside any session: the listening daemon.
    pub listener: bool,
    pub sshd_family: bool,
    pub comm: String,
    pub executable: Option<String>,
    pub args: Vec<String>,
    pub args_truncated: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub loginuid: Option<u32>,
    pub sessionid: Option<u32>,
    pub exited_ns: Option<u64>,
    pub exit_code: Option<i32>,
}

/// What an event changed, for the correlator to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Exec(ProcKey),
    Exit(ProcKey),
}

#[derive(Debug, Clone, Copy)]
struct PendingFork {
    parent: ProcKey,
    ktime_ns: u64,
}

#[derive(Debug, Clone)]
struct PendingArgv {
    args: Vec<String>,
    truncated: bool,
    ktime_ns: u64,
}

/// Limits of the table.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long an exited process (or an unclaimed fork or argv) is kept, in ns.
    pub grace_ns: u64,
    /// The most processes kept; past it the oldest exited ones go first.
    pub capacity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            grace_ns: 30_000_000_000,
            capacity: 65_536,
        }
    }
}

#[derive(Debug)]
pub struct ProcessTable {
    procs: HashMap<ProcKey, Process>,
    live: HashMap<u32, ProcKey>,
    pending_forks: HashMap<u32, PendingFork>,
    pending_argv: HashMap<u32, PendingArgv>,
    ns_per_tick: u64,
    limits: Limits,
}

impl ProcessTable {
    pub fn new(limits: Limits) -> Self {
        Self {
            procs: HashMap::new(),
            live: HashMap::new(),
            pending_forks: HashMap::new(),
            pending_argv: HashMap::new(),
            ns_per_tick: 1_000_000_000 / procfs::clock_ticks(),
            limits,
        }
    }

    pub fn get(&self, key: &ProcKey) -> Option<&Process> {
        self.procs.get(key)
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// The live process with this tgid.
    pub fn live(&self, tgid: u32) -> Option<&Process> {
        self.live.get(&tgid).and_then(|k| self.procs.get(k))
    }

    /// The process this tgid belongs to: the live one, else the one that exited last (exited
    /// processes are kept for the grace period, so a log record that arrives after its writer
    /// exited still finds it).
    pub fn by_tgid(&self, tgid: u32) -> Option<&Process> {
        self.live(tgid).or_else(|| {
            self.procs
                .values()
                .filter(|p| p.key.tgid == tgid)
                .max_by_key(|p| p.start_ns)
        })
    }

    /// Every process the table holds, in no order.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.procs.values()
    }

    /// Seeds the table from a `/proc` snapshot: each sshd-family process whose parent is not one
    /// (a listener), and all their descendants. `name_of` gives a process's executable file name
    /// (falling back to comm). Returns the tgids the kernel should track.
    pub fn seed(
        &mut self,
        stats: &[ProcStat],
        name_of: impl Fn(&ProcStat) -> String,
        args_of: impl Fn(u32) -> Option<Vec<String>>,
    ) -> Vec<u32> {
        let by_pid: HashMap<u32, &ProcStat> = stats.iter().map(|s| (s.tgid, s)).collect();
        let sshd = |s: &ProcStat| procfs::is_sshd_family(&name_of(s));
        let mut children: HashMap<u32, Vec<&ProcStat>> = HashMap::new();
        for s in stats {
            children.entry(s.ppid).or_default().push(s);
        }
        let mut queue: Vec<&ProcStat> = stats
            .iter()
            .filter(|s| sshd(s) && !by_pid.get(&s.ppid).is_some_and(|p| sshd(p)))
            .collect();
        let mut seeded = Vec::new();
        while let Some(s) = queue.pop() {
            seeded.push(s.tgid);
            queue.extend(children.get(&s.tgid).into_iter().flatten());
            if self.live.contains_key(&s.tgid) {
                continue;
            }
            let key = ProcKey {
                tgid: s.tgid,
                start_ticks: s.start_ticks,
            };
            let parent = self.live.get(&s.ppid).copied();
            let mut p = self.blank(key, parent, &s.comm, sshd(s));
            p.start_ns = s.start_ticks * self.ns_per_tick;
            p.ppid = Some(s.ppid);
            p.args = args_of(s.tgid).unwrap_or_default();
            p.executable = procfs::exe(s.tgid).map(|e| e.display().to_string());
            self.insert(p);
        }
        seeded
    }

    /// Live seeded processes whose tgid no longer belongs to them (`start_of` gives the current
    /// start ticks of a tgid, `None` when gone). They are marked exited and returned, so the
    /// caller can untrack them in the kernel.
    pub fn stale_seeds(&mut self, start_of: impl Fn(u32) -> Option<u64>) -> Vec<u32> {
        let stale: Vec<ProcKey> = self
            .live
            .values()
            .filter(|k| start_of(k.tgid) != Some(k.start_ticks))
            .copied()
            .collect();
        for key in &stale {
            self.live.remove(&key.tgid);
            if let Some(p) = self.procs.get_mut(key) {
                p.exited_ns.get_or_insert(crate::time::boot_ns());
            }
        }
        stale.into_iter().map(|k| k.tgid).collect()
    }

    /// Applies one kernel event; returns what a reader should hear about.
    pub fn apply(&mut self, event: &KernelEvent) -> Option<Change> {
        match event {
            KernelEvent::Fork { common, child_pid } => {
                let parent = self.resolve(common);
                self.pending_forks.insert(
                    *child_pid,
                    PendingFork {
                        parent,
                        ktime_ns: common.ktime_ns,
                    },
                );
                None
            }
            KernelEvent::Argv { common, args } => {
                self.resolve(common);
                let truncated = common.has(flags::TRUNCATED) || common.has(flags::FAULT);
                self.pending_argv.insert(
                    common.tgid,
                    PendingArgv {
                        args: args.clone(),
                        truncated,
                        ktime_ns: common.ktime_ns,
                    },
                );
                None
            }
            KernelEvent::Exec {
                common,
                filename,
                args,
                ..
            } => {
                let key = self.resolve(common);
                let argv = self.pending_argv.remove(&common.tgid);
                let track_start = common.has(flags::TRACK_START);
                let p = self.procs.get_mut(&key)?;
                p.comm.clone_from(&common.comm);
                p.executable = Some(filename.clone());
                // An exec may change credentials (setuid binaries), and a seeded process has
                // none from the kernel yet.
                (p.uid, p.gid) = (Some(common.uid), Some(common.gid));
                (p.loginuid, p.sessionid) = (common.loginuid, common.sessionid);
                p.sshd_family = common.has(flags::SSHD_FAMILY);
                let cut = common.has(flags::TRUNCATED) || common.has(flags::FAULT);
                (p.args, p.args_truncated) = match (args, argv) {
                    (Some(args), _) => (args.clone(), cut),
                    (None, Some(a)) => (a.args, a.truncated),
                    // Without BTF the exec that started tracking has no argv event (its caller
                    // was untracked): /proc still has it.
                    (None, None) if track_start => {
                        (procfs::cmdline(key.tgid).unwrap_or_default(), false)
                    }
                    (None, None) => (vec![filename.clone()], true),
                };
                if p.session.is_none() && p.sshd_family {
                    p.listener = true;
                }
                Some(Change::Exec(key))
            }
            KernelEvent::Exit { common, exit_code } => {
                let key = self.resolve(common);
                self.live.remove(&common.tgid);
                self.pending_argv.remove(&common.tgid);
                let p = self.procs.get_mut(&key)?;
                p.exited_ns = Some(common.ktime_ns);
                p.exit_code = *exit_code;
                Some(Change::Exit(key))
            }
        }
    }

    /// Drops exited processes, forks and argv older than the grace period, then the oldest exited
    /// processes while over capacity. Returns how many processes went.
    pub fn evict(&mut self, now_ns: u64) -> usize {
        let horizon = now_ns.saturating_sub(self.limits.grace_ns);
        self.pending_forks.retain(|_, f| f.ktime_ns >= horizon);
        self.pending_argv.retain(|_, a| a.ktime_ns >= horizon);
        let before = self.procs.len();
        self.procs
            .retain(|_, p| p.exited_ns.is_none_or(|t| t >= horizon));
        if self.procs.len() > self.limits.capacity {
            let mut exited: Vec<(u64, ProcKey)> = self
                .procs
                .values()
                .filter_map(|p| Some((p.exited_ns?, p.key)))
                .collect();
            exited.sort_unstable();
            let excess = self.procs.len() - self.limits.capacity;
            for (_, key) in exited.into_iter().take(excess) {
                self.procs.remove(&key);
            }
        }
        before - self.procs.len()
    }

    /// Finds the process an event is about, creating it if this is its first event.
    fn resolve(&mut self, c: &Common) -> ProcKey {
        let start_ticks = match c.start_ns {
            Some(ns) => ns / self.ns_per_tick,
            None => self.fallback_start_ticks(c.tgid, c.ktime_ns),
        };
        let key = ProcKey {
            tgid: c.tgid,
            start_ticks,
        };
        if self.procs.contains_key(&key) {
            return key;
        }
        // An older process with this tgid must be gone (pid reuse): its exit was lost.
        if let Some(old) = self.live.remove(&c.tgid)
            && let Some(p) = self.procs.get_mut(&old)
        {
            p.exited_ns.get_or_insert(c.ktime_ns);
        }
        let parent = match self.pending_forks.remove(&c.tgid) {
            Some(f) => Some(f.parent),
            None => c.ppid.and_then(|ppid| self.live.get(&ppid).copied()),
        };
        let mut p = self.blank(key, parent, &c.comm, procfs::is_sshd_family(&c.comm));
        p.start_ns = c.start_ns.unwrap_or(start_ticks * self.ns_per_tick);
        p.ppid = c.ppid;
        (p.uid, p.gid, p.loginuid, p.sessionid) =
            (Some(c.uid), Some(c.gid), c.loginuid, c.sessionid);
        self.insert(p);
        key
    }

    /// Without BTF task fields: the live entry's start, else `/proc`, else the event time.
    fn fallback_start_ticks(&self, tgid: u32, ktime_ns: u64) -> u64 {
        if let Some(k) = self.live.get(&tgid) {
            return k.start_ticks;
        }
        procfs::stat(tgid)
            .map(|s| s.start_ticks)
            .unwrap_or(ktime_ns / self.ns_per_tick)
    }

    /// A new process under `parent`, placed in its session: a listener's child opens a session.
    fn blank(
        &self,
        key: ProcKey,
        parent: Option<ProcKey>,
        comm: &str,
        sshd_family: bool,
    ) -> Process {
        let parent_proc = parent.and_then(|k| self.procs.get(&k));
        let session = match parent_proc {
            Some(pp) if pp.session.is_some() => pp.session,
            Some(pp) if pp.listener => Some(key),
            _ => None,
        };
        Process {
            key,
            start_ns: 0,
            ppid: None,
            parent,
            session,
            listener: session.is_none() && sshd_family,
            sshd_family,
            comm: comm.to_owned(),
            executable: None,
            args: Vec::new(),
            args_truncated: false,
            uid: None,
            gid: None,
            loginuid: None,
            sessionid: None,
            exited_ns: None,
            exit_code: None,
        }
    }

    fn insert(&mut self, p: Process) {
        self.live.insert(p.key.tgid, p.key);
        self.procs.insert(p.key, p);
    }
}

#[cfg(test)]
#[path = "process_table_tests.rs"]
mod tests;
