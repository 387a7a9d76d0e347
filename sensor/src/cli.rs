//! Command-line interface. `--help` on each command says what it does, what it needs and what
//! its exit codes mean.
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   runtime failure (the message names what failed)
  2   usage error
  65  replay: some input was malformed (the rest of it, and the other inputs, were still read)
  66  replay: an input could not be opened (the other inputs were still read)
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

    /// Replay auth.log and journal files offline; print sshd's login records as JSON Lines.
    #[command(after_help = EXIT_CODES, long_about = "\
Replay auth.log and journal files offline, and print sshd's login records as JSON Lines on
stdout: the same records `sensor run` prints from the live logs, with sensor.log_source
\"auth-log\" or \"journald\". Needs no privileges and no journald (.journal files are read by
a pure-Rust reader), so a journal copied off a compromised host replays on any machine.

Formats (--format auto, the default, tells them by content, not by name):
  auth-log        rsyslog's auth.log, classic (`Nov 23 10:00:00`) or RFC 3339 timestamps
  journal         a systemd .journal file (zstd or uncompressed; LZ4 and XZ fields are left out)
  journal-export  `journalctl -o export`
  journal-json    `journalctl -o json`
Any of them may be gzip'd (told by gzip's magic bytes). `-` reads stdin.

Provenance: a journal record is trusted when journald's own fields (_PID, _UID 0, _EXE an sshd
executable) say sshd wrote it, else forged or unverified; an auth.log line proves nothing, so it
is unverified (with a pid) or forged (without). Classic timestamps have no year and no zone:
the year comes from the file's modification time (or --classic-reference), the zone from
--classic-zone.

A malformed line, entry or object is reported on stderr with its file, line and byte offset,
and skipped; the rest of the input and the other inputs are still read. A gzip stream that
ends early or a truncated journal is read up to the break. Lines and fields longer than 1 MiB
are skipped. Text inputs are streamed; a .journal file's data is held in memory while it is
read. A summary goes to stderr at the end, and a progress bar while large inputs (over 8 MiB)
are read, if stderr is a terminal.

Example:
  sensor replay /var/log/auth.log* copied/system.journal | jq -c 'select(.source)'")]
    Replay(ReplayArgs),
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

    /// Where the sensor keeps what must survive a restart (each log source's resume point),
    /// created 0700.
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

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The format of every input; `auto` tells each by its content.
    #[arg(long, value_enum, default_value_t = ReplayFormat::Auto)]
    pub format: ReplayFormat,

    /// An executable whose journal records are trusted as sshd's (repeat for several)
    /// [default: the usual paths of sshd, sshd-session and sshd-auth].
    #[arg(long = "sshd-exe", value_name = "PATH")]
    pub sshd_exes: Vec<std::path::PathBuf>,

    /// The zone classic auth.log timestamps were written in: `local` (this machine's), `utc`,
    /// or an offset such as `+01:00` (for another host's logs).
    #[arg(long, value_name = "ZONE", default_value = "local", value_parser = crate::replay::command::parse_zone)]
    pub classic_zone: crate::parse::ClassicZone,

    /// The instant classic timestamps take their year from, no earlier than the last line
    /// (RFC 3339) [default: each file's modification time; now for stdin].
    #[arg(long, value_name = "TIME", value_parser = crate::replay::command::parse_reference)]
    pub classic_reference: Option<chrono::DateTime<chrono::Utc>>,

    /// Files to replay, in order; `-` is stdin.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<std::path::PathBuf>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayFormat {
    Auto,
    AuthLog,
    Journal,
    JournalExport,
    JournalJson,
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
