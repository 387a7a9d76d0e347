//! The JSON Lines the sensor writes on stdout, one object per line, with ECS field names.
//!
//! For now two kinds of record (the versioned alert schema comes with the detection engine):
//! - a process record (`event.category: ["process"]`, `event.action: "exec" | "end"`) for each
//!   exec and exit of a process in an sshd session, linked to its session's sshd process through
//!   `process.entry_leader`;
//! - a health record (`event.kind: "metric"`, `event.action: "kernel-events-lost"`) whenever the
//!   kernel could not hand over events.
use serde::Serialize;

/// One output line.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Record {
    Process(Box<ProcessRecord>),
    Auth(Box<AuthRecord>),
    Health(HealthRecord),
    Alert(Box<crate::detect::Alert>),
    Summary(Box<SessionSummary>),
}

/// The end of a session that raised a lateral-movement alert: how long it lasted and what it
/// ran (`event.action: "ssh_session_summary"`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionSummary {
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub event: EventMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Endpoint>,
    /// The session's sshd process.
    pub process: Related,
    pub sensor: SummarySensor,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SummarySensor {
    pub session: SummaryFields,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SummaryFields {
    /// The entry leader's entity id.
    pub id: String,
    /// The first alert the session raised.
    pub alert_id: String,
    pub start: String,
    pub end: String,
    pub duration_ms: u64,
    /// Commands executed in the session.
    pub commands_total: u64,
    /// Their argv, space-joined, in order, at most [`SUMMARY_COMMANDS`].
    pub commands: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub commands_truncated: bool,
}

/// Commands a session summary lists.
pub const SUMMARY_COMMANDS: usize = 100;

/// `sensor.session` of a process record in a session that raised a lateral-movement alert.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessSensor {
    pub session: SessionTag,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionTag {
    /// The entry leader's entity id.
    pub id: String,
    /// The first alert the session raised.
    pub alert_id: String,
}

/// What sshd logged about an authentication or a session, with the verdict on whether sshd
/// really wrote it (`sensor.provenance`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuthRecord {
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub event: AuthMeta,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshFields>,
    /// Filebeat's `system.auth.ssh.*`, so Elastic's prebuilt SSH rules run unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemFields>,
    /// Every address and user name the record names (`related.ip`, `related.user`).
    #[serde(skip_serializing_if = "RelatedFields::is_empty")]
    pub related: RelatedFields,
    /// The process the log record names (for journald: its trusted `_PID`, `_COMM`, `_EXE`).
    pub process: LogProcess,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<HostFields>,
    pub sensor: AuthSensorFields,
    /// Where its source resumes after this record; saved by the sink once it is written.
    #[serde(skip)]
    pub resume: Option<crate::source::Resume>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuthMeta {
    pub kind: &'static str,
    pub category: &'static [&'static str],
    #[serde(rename = "type")]
    pub kind_of: &'static [&'static str],
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    pub dataset: &'static str,
    pub module: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Name {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Endpoint {
    pub ip: std::net::IpAddr,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SshFields {
    /// As sshd spells it: `password`, `keyboard-interactive/pam`, `publickey`, …
    pub method: String,
}

/// `system.auth.ssh`, as Filebeat's system module fills it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SystemFields {
    pub auth: SystemAuth,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SystemAuth {
    pub ssh: SystemAuthSsh,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SystemAuthSsh {
    /// `Accepted`, `Failed` or `Invalid`: the word sshd's line starts with.
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The key type and fingerprint of a publickey or hostbased login (`ED25519 SHA256:…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// ECS `related`: the values to pivot on.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RelatedFields {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip: Vec<std::net::IpAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user: Vec<String>,
}

impl RelatedFields {
    pub fn is_empty(&self) -> bool {
        self.ip.is_empty() && self.user.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogProcess {
    /// Set when the kernel tracer joined the record to its sshd process (`sensor run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostFields {
    pub hostname: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuthSensorFields {
    /// `journald` or `auth-log`.
    pub log_source: &'static str,
    /// Whether sshd really wrote the record, by the journal's trusted fields.
    pub provenance: crate::source::journald::Provenance,
    /// The parsed sshd message, in full.
    pub sshd: crate::parse::SshdMessage,
    /// rsyslog folded this many identical lines into one (`message repeated N times: [ … ]`,
    /// `$RepeatedMsgReduction on`): the record stands for all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeated: Option<u32>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessRecord {
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub event: EventMeta,
    pub process: ProcessFields,
    pub user: Ids,
    /// Set in a session that raised a lateral-movement alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor: Option<ProcessSensor>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventMeta {
    pub kind: &'static str,
    pub category: &'static [&'static str],
    #[serde(rename = "type")]
    pub kind_of: &'static [&'static str],
    pub action: &'static str,
    pub dataset: &'static str,
    pub module: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessFields {
    /// `tgid-start_ticks`: unique for the life of the host's boot.
    pub entity_id: String,
    pub pid: u32,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    pub args: Vec<String>,
    pub args_count: usize,
    /// Set when the kernel cut or could not fully read argv.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub args_truncated: bool,
    pub start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Related>,
    /// The sshd process of the SSH connection this process belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_leader: Option<Related>,
    pub user: Ids,
    pub group: Ids,
    /// Audit login uid and session id, when the kernel has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<Audit>,
}

/// Another process (parent, entry leader). Only `pid` is known for a parent outside the table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Related {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ids {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Audit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u32>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HealthRecord {
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub event: EventMeta,
    pub sensor: HealthFields,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum HealthFields {
    Loss(LossFields),
    JournalGap(GapFields),
    AuthLogGap(AuthLogGapFields),
}

/// The auth.log follower may have missed lines (rotated twice while stopped, truncated, …).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuthLogGapFields {
    pub auth_log_notice: String,
}

/// The saved journal cursor was gone: records after it may be missing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GapFields {
    pub journal_cursor_lost: String,
    /// µs since the epoch of the last record before the gap; reading resumed after it.
    pub journal_resumed_after_us: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LossFields {
    /// Events lost since the previous health record.
    pub events_lost: u64,
    /// Events lost since the sensor started.
    pub events_lost_total: u64,
}

impl EventMeta {
    pub const SESSION_SUMMARY: Self = Self {
        kind: "event",
        category: &["session"],
        kind_of: &["end"],
        action: "ssh_session_summary",
        dataset: "sensor.session",
        module: "sensor",
    };

    pub const fn process(action: &'static str, kind_of: &'static [&'static str]) -> Self {
        Self {
            kind: "event",
            category: &["process"],
            kind_of,
            action,
            dataset: "sensor.process",
            module: "sensor",
        }
    }

    pub const JOURNAL_GAP: Self = Self {
        kind: "metric",
        category: &["host"],
        kind_of: &["info"],
        action: "journal-gap",
        dataset: "sensor.health",
        module: "sensor",
    };

    pub const AUTH_LOG_GAP: Self = Self {
        kind: "metric",
        category: &["host"],
        kind_of: &["info"],
        action: "auth-log-gap",
        dataset: "sensor.health",
        module: "sensor",
    };

    pub const LOSS: Self = Self {
        kind: "metric",
        category: &["host"],
        kind_of: &["info"],
        action: "kernel-events-lost",
        dataset: "sensor.health",
        module: "sensor",
    };
}
