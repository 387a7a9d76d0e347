//! Command-line interface. `--help` on each command says what it does, what it needs and what
//! its exit codes mean.
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   runtime failure (the message names what failed)
  2   usage error
  65  replay: some input was malformed (the rest of it, and the other inputs, were still read);
      run, rules: a configuration or rule file did not load (each problem is printed)
  66  replay: an input could not be opened (the other inputs were still read)
  69  this kernel lacks something the sensor needs (BTF, tracefs, a tracepoint)
  77  check: missing privileges (root, or CAP_BPF and CAP_PERFMON); run starts log-only instead";

const RULES_EXIT_CODES: &str = "\
Exit codes:
  0   every rule loaded (validate) / every test passed (test)
  1   a test failed: a rule did not alert on its fixture, or alerted on the baseline
  2   usage error
  65  a rule file did not load (each problem is printed with its file and rule)";

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
    /// Follow sshd's logins and their sessions, and alert on lateral movement (needs root).
    #[command(after_help = EXIT_CODES, long_about = "\
Follow sshd's logins and their sessions, and alert on lateral movement. JSON Lines on stdout:
alerts (event.kind \"alert\"), login records, process records and health records.

Each login record sshd writes (from journald, or /var/log/auth.log without it) is joined to the
sshd process that wrote it in the kernel's view, and run through the detection rules (the
shipped ones, --rules DIR, and the configuration's). An alert carries the rule, the user, the
source address and method, and the session: the commands it ran so far. In a session that
raised a lateral-movement alert, later commands carry sensor.session, and an
\"ssh_session_summary\" record follows when it ends. A login record that claims to be sshd's but
is not raises its own alert instead.

Process records: each exec and exit of a process inside an SSH session, with event.action
\"exec\" or \"end\", its argv (passwords and hashes redacted), and process.entry_leader: the sshd
process of its connection. A process that detaches (setsid, nohup, double fork) stays attributed
to its session. If the kernel loses events because the ring buffer was full, a line with
event.action \"kernel-events-lost\" says how many, and a warning goes to stderr.

Without root (or CAP_BPF and CAP_PERFMON), or on a kernel that cannot load the programs, it
runs in log-only mode: a warning at start, and alerts say sensor.alert.process_context
\"missing\". Settings come from --config (default /etc/sensor/config.toml, optional); flags
override it. SIGHUP reloads the configuration's rules and allowlist (a broken file keeps the
old ones), SIGUSR1 reopens --output-file, SIGINT and SIGTERM stop it cleanly.

Examples:
  sudo sensor run | jq -c 'select(.event.kind == \"alert\") | [.rule.name, .user.name, .source.ip]'
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

    /// List, validate and test detection rules.
    #[command(after_help = RULES_EXIT_CODES, long_about = "\
List, validate and test detection rules: Elastic KQL queries over ECS fields, in TOML files shaped
like Elastic's detection-rules (see README.md, \"Detection rules\").

The shipped rules are built into the binary; --rules DIR adds a directory of rule files (searched
recursively for *.toml). Next to each rule file `<name>.toml`, a positive fixture
`<name>.positive.<ext>` (any format `sensor replay` reads) must raise at least one alert of that
rule, and no rule may alert on any file under `baseline/`.

Examples:
  sensor rules list
  sensor rules validate /etc/sensor/rules
  sensor rules test /etc/sensor/rules")]
    Rules(RulesArgs),

    /// Replay auth.log and journal files offline; print the alerts as JSON Lines.
    #[command(after_help = EXIT_CODES, long_about = "\
Replay auth.log and journal files offline, run their sshd records through the detection rules,
and print the alerts as JSON Lines on stdout (ECS, `event.kind: \"alert\"`; the schema is in
README.md, \"Alerts\"). With --events, every normalised record is printed too, before its
alerts: the same records `sensor run` makes from the live logs, with sensor.log_source
\"auth-log\" or \"journald\". Needs no privileges and no journald (.journal files are read by
a pure-Rust reader), so a journal copied off a compromised host replays on any machine.

Formats (--format auto, the default, tells them by content, not by name):
  auth-log        rsyslog's auth.log, classic (`Nov 23 10:00:00`) or RFC 3339 timestamps
  journal         a systemd .journal file (zstd or uncompressed; LZ4 and XZ fields are left out)
  journal-export  `journalctl -o export`
  journal-json    `journalctl -o json`
  ecs-json        ECS documents, one JSON object per line (what `sensor run` writes)
  evtx            a Windows event log (.evtx), parsed in a memory-limited child process
  winlogbeat-json Winlogbeat's NDJSON (Sysmon, Security and System events)
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

Examples:
  sensor replay /var/log/auth.log* copied/system.journal | jq -c '[.rule.name, .user.name, .source.ip]'
  sensor replay --events --no-builtin-rules auth.log | jq -c 'select(.source)'")]
    Replay(ReplayArgs),

    /// Internal: parses the .evtx file on standard input for `replay`, in the resource-limited
    /// child process it starts (`sensor::windows::evtx`); writes one JSON line per record.
    #[command(hide = true, name = "evtx-worker")]
    EvtxWorker,
}

/// `sensor run`'s flags. Each overrides the configuration file's value when given.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration file [default: /etc/sensor/config.toml; without it, the defaults].
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// Size of the kernel ring buffer in bytes: a power of two and a multiple of the page size.
    /// Smaller loses events under bursts (and says so); larger uses more locked memory
    /// [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub ring_buffer_size: Option<u32>,

    /// Wake the reader once this many bytes wait in the ring buffer [default: a quarter of it].
    /// sshd events always wake it at once.
    #[arg(long, value_name = "BYTES")]
    pub wakeup_bytes: Option<u64>,

    /// How often the reader drains the ring buffer without being woken, in milliseconds
    /// [default: 50].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub drain_interval_ms: Option<u64>,

    /// Where the sensor keeps what must survive a restart (each log source's resume point, the
    /// ids of the alerts written), created 0700 [default: /var/lib/sensor].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,

    /// Where sshd's login records come from: `journald`, `auth-log` (the file of --auth-log,
    /// followed through rotation), or `auto`: the journal where journald runs, else auth-log
    /// [default: auto].
    #[arg(long, value_name = "SOURCE", value_enum)]
    pub source: Option<Source>,

    /// The syslog file sshd's records are in, for `--source auth-log` [default:
    /// /var/log/auth.log].
    #[arg(long, value_name = "PATH")]
    pub auth_log: Option<std::path::PathBuf>,

    /// An executable whose journal records are trusted as sshd's (repeat for several)
    /// [default: the usual paths of sshd, sshd-session and sshd-auth].
    #[arg(long = "sshd-exe", value_name = "PATH")]
    pub sshd_exes: Vec<std::path::PathBuf>,

    /// Also append every record and alert to FILE (reopened on SIGUSR1, for logrotate).
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<std::path::PathBuf>,

    /// Serve Prometheus metrics on this loopback address, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    #[command(flatten)]
    pub rules: RuleArgs,
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

    /// Print every normalised record (JSON), not only the alerts.
    #[arg(long)]
    pub events: bool,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Files to replay, in order; `-` is stdin.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<std::path::PathBuf>,
}

/// Which rules to load.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// A directory of rule files to load besides the shipped rules (repeat for several).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<std::path::PathBuf>,

    /// Leave out the shipped rules.
    #[arg(long)]
    pub no_builtin_rules: bool,

    /// A KQL query whose events never alert, e.g.
    /// 'user.name:ansible and source.ip:"10.1.2.0/24"' (repeat for several).
    #[arg(long = "allow", value_name = "KQL")]
    pub allowlist: Vec<String>,

    /// A network `${internal_networks}` stands for in rules (repeat for several) [default:
    /// 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 127.0.0.0/8 ::1/128 fc00::/7
    /// fe80::/10].
    #[arg(long = "internal-network", value_name = "CIDR")]
    pub internal_networks: Vec<ipnet::IpNet>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// One line per rule: id, severity, MITRE techniques, name, and where it comes from.
    List {
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Load every rule and report each problem with its file and rule.
    Validate {
        /// A rules directory to validate instead of the shipped rules.
        dir: Option<std::path::PathBuf>,
    },
    /// Run each rule on its positive fixture (it must alert) and every rule on the baseline
    /// corpus (none may alert).
    Test {
        /// A rules directory to test instead of the shipped rules.
        dir: Option<std::path::PathBuf>,
    },
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayFormat {
    Auto,
    AuthLog,
    Journal,
    JournalExport,
    JournalJson,
    EcsJson,
    Evtx,
    WinlogbeatJson,
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
