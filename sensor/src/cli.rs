//! Command-line interface. `--help` on each command says what it does, what it needs and what
//! its exit codes mean.
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   runtime failure (the message names what failed)
  2   usage error
  69  this kernel lacks something the sensor needs (BTF, tracefs, a tracepoint)
  77  missing privileges (root, or CAP_BPF and CAP_PERFMON)";

/// Catches SSH lateral movement: follows sshd and every process of its sessions in the kernel.
#[derive(Debug, Parser)]
#[command(name = "sensor", version, propagate_version = true, after_help = EXIT_CODES)]
#[command(long_about = "\
Catches SSH lateral movement: someone who logs in to this host over SSH with a stolen password
from inside the network, and whatever they do next.

An eBPF program follows sshd (sshd, sshd-session, sshd-auth) and every process descended from it,
through the sched and syscalls tracepoints; every other process costs one map lookup and is never
reported. Records are JSON Lines on stdout with ECS field names; logs go to stderr.

Start with `sensor check` to see whether this kernel and these privileges are enough.")]
pub struct Cli {
    /// Log filter for stderr, in tracing's EnvFilter syntax (e.g. `info`, `sensor=debug`).
    #[arg(
        long,
        global = true,
        env = "SENSOR_LOG",
        default_value = "info",
        value_name = "FILTER"
    )]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trace sshd sessions and print their processes as JSON Lines (needs root).
    #[command(after_help = EXIT_CODES, long_about = "\
Trace sshd sessions and print their processes as JSON Lines on stdout (needs root, or CAP_BPF and
CAP_PERFMON).

Each exec and exit of a process inside an SSH session becomes one line with event.action \"exec\"
or \"end\", its argv, and process.entry_leader: the sshd process of its connection. A process that
detaches (setsid, nohup, double fork) stays attributed to its session. sshd processes that were
already running are found in /proc at start. If the kernel loses events because the ring buffer
was full, a line with event.action \"kernel-events-lost\" says how many, and a warning goes to
stderr.

Stops cleanly on SIGINT or SIGTERM.

Example:
  sudo sensor run | jq -c 'select(.event.action == \"exec\") | [.process.entry_leader.pid, .process.args]'")]
    Run(RunArgs),

    /// Check that this kernel and these privileges can run the sensor.
    #[command(after_help = EXIT_CODES, long_about = "\
Check that this kernel and these privileges can run the sensor, and say what is missing.

Reports the kernel version, BTF (/sys/kernel/btf/vmlinux, used for process start times, parents,
login uid and exit codes), tracefs (mounting it at /sys/kernel/tracing if absent, and saying so),
the effective capabilities, and whether each program loads and attaches. Exits non-zero with a
one-line reason at the first thing that fails.")]
    Check,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Size of the kernel ring buffer in bytes: a power of two and a multiple of the page size.
    /// Smaller loses events under bursts (and says so); larger uses more locked memory.
    #[arg(long, value_name = "BYTES", default_value_t = sensor_common::DEFAULT_RING_BYTES)]
    pub ring_buffer_size: u32,

    /// Wake the reader once this many bytes wait in the ring buffer [default: a quarter of it].
    /// sshd events always wake it at once.
    #[arg(long, value_name = "BYTES")]
    pub wakeup_bytes: Option<u64>,

    /// How often the reader drains the ring buffer without being woken, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub drain_interval_ms: u64,

    /// Where the sensor keeps what must survive a restart (the journal cursor), created 0700.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/sensor")]
    pub state_dir: std::path::PathBuf,

    /// Where sshd's login records come from: `journald`, `auth-log` (the file of --auth-log,
    /// followed through rotation), or `auto`: the journal where journald runs, else auth-log.
    #[arg(long, value_name = "SOURCE", value_enum, default_value_t = Source::Auto)]
    pub source: Source,

    /// The syslog file sshd's records are in, for `--source auth-log`.
    #[arg(long, value_name = "PATH", default_value = "/var/log/auth.log")]
    pub auth_log: std::path::PathBuf,

    /// An executable whose journal records are trusted as sshd's (repeat for several)
    /// [default: the usual paths of sshd, sshd-session and sshd-auth].
    #[arg(long = "sshd-exe", value_name = "PATH")]
    pub sshd_exes: Vec<std::path::PathBuf>,
}

/// `sensor run --source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// The journal where journald runs, else auth-log.
    Auto,
    /// The systemd journal.
    Journald,
    /// The syslog file given by --auth-log.
    AuthLog,
}
