//! Alerts to journald over its native protocol, with structured fields.
//!
//! One datagram per alert to [`SOCKET`], as `sd_journal_send(3)` does it. Not through
//! libsystemd's `sd_journal_sendv` (which the binary links for reading the journal): that one
//! cannot be pointed at another socket, so neither its framing nor its large-entry path could be
//! tested without a journald. Each field is `NAME=value\n`, or, when the value holds a newline, the
//! binary-safe form `NAME\n`, the value's length as a little-endian u64, the value, `\n`. An
//! entry too large for one datagram (`EMSGSIZE`/`ENOBUFS`) goes the way sd-journal sends it: the
//! payload in a sealed memfd whose descriptor is passed with `SCM_RIGHTS`.
//!
//! Fields of each entry:
//! - `MESSAGE`: the caller's one-line summary; `PRIORITY` from the alert's severity
//!   ([`priority`]); `SYSLOG_IDENTIFIER=sensor`.
//! - every leaf of the alert's JSON object, named by its dotted ECS path upper-cased, each
//!   character outside `[A-Z0-9_]` as `_`, prefixed [`FIELD_PREFIX`]: `source.ip` becomes
//!   `SENSOR_SOURCE_IP`, `@timestamp` `SENSOR__TIMESTAMP` ([`field_name`]). Strings are sent
//!   as they are, numbers and booleans as their JSON text, nulls and empty objects not at all.
//! - arrays as one field holding the array's compact JSON (`SENSOR_PROCESS_ARGS=["ssh","-p",
//!   "2222","10.0.0.3"]`), not as a repeated field: journald stores an entry's fields sorted and
//!   deduplicated, which would lose argv's order and repeated arguments.
//!
//! journald ignores a field whose name is longer than 64 characters, so a longer name keeps
//! its first 55 characters, `_`, and 8 hex digits of a hash of the full path. An entry keeps
//! at most [`MAX_FIELDS`] alert fields (journald drops entries with too many); the count of any
//! left out is sent as `SENSOR_FIELDS_DROPPED`.
//!
//! A failed send is counted ([`JournaldSink::stats`]) and logged, throttled like the file
//! sink's (1st, 2nd, 4th, … failure in a row). Sends block for at most [`SEND_TIMEOUT`] when
//! journald's queue is full: a flood of log lines must not make alerts drop at once.
use std::{
    io::{self, Write as _},
    mem::MaybeUninit,
    os::{fd::AsFd as _, unix::net::UnixDatagram},
    path::{Path, PathBuf},
    time::Duration,
};

use rustix::{
    fs::{MemfdFlags, SealFlags},
    net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketAddrUnix},
};
use serde_json::Value;
use tracing::{error, info};

use super::stdout::SinkStats;

/// journald's native socket.
pub const SOCKET: &str = "/run/systemd/journal/socket";
/// The prefix of the fields flattened from the alert.
pub const FIELD_PREFIX: &str = "SENSOR_";
/// At most this many fields flattened from one alert.
pub const MAX_FIELDS: usize = 512;
/// How long a send may wait for room in journald's queue.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(1);
/// journald's limit on a field name.
const MAX_NAME: usize = 64;

/// Sends alerts to journald.
#[derive(Debug)]
pub struct JournaldSink {
    socket: UnixDatagram,
    path: PathBuf,
    stats: SinkStats,
    failing: u64,
    buf: Vec<u8>,
}

impl JournaldSink {
    /// A sink for journald's socket, [`SOCKET`]. Fails only when no socket can be created;
    /// whether journald listens shows at the first send.
    pub fn new() -> io::Result<Self> {
        Self::with_socket(SOCKET)
    }

    /// A sink that sends to the datagram socket at `path`.
    pub fn with_socket(path: impl Into<PathBuf>) -> io::Result<Self> {
        let socket = UnixDatagram::unbound()?;
        socket.set_write_timeout(Some(SEND_TIMEOUT))?;
        Ok(Self {
            socket,
            path: path.into(),
            stats: SinkStats::default(),
            failing: 0,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Entries sent and failed so far.
    pub fn stats(&self) -> SinkStats {
        self.stats
    }

    /// Sends one alert: `alert` is the ECS object, `message` a readable one-line summary.
    /// Returns whether journald got it; a failure is already counted and logged.
    pub fn send(&mut self, alert: &Value, message: &str) -> bool {
        self.buf.clear();
        encode(alert, message, &mut self.buf);
        let result = match self.socket.send_to(&self.buf, &self.path) {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMSGSIZE | libc::ENOBUFS)) => {
                send_memfd(&self.socket, &self.path, &self.buf)
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                self.stats.written += 1;
                if self.failing > 0 {
                    info!(
                        failed_in_a_row = self.failing,
                        "sending to journald works again"
                    );
                }
                self.failing = 0;
                true
            }
            Err(err) => {
                self.stats.failed += 1;
                self.failing += 1;
                if self.failing.is_power_of_two() {
                    error!(
                        socket = %self.path.display(),
                        %err,
                        failed = self.stats.failed,
                        in_a_row = self.failing,
                        "sending an alert to journald failed"
                    );
                }
                false
            }
        }
    }
}

/// The large-entry path of `sd_journal_sendv`: the payload in a memfd sealed against any
/// change (journald refuses an unsealed one), its descriptor sent with no data.
fn send_memfd(socket: &UnixDatagram, path: &Path, payload: &[u8]) -> io::Result<()> {
    let fd = rustix::fs::memfd_create(
        "sensor-journal",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = std::fs::File::from(fd);
    file.write_all(payload)?;
    rustix::fs::fcntl_add_seals(
        &file,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
    )?;
    let addr = SocketAddrUnix::new(path)?;
    let fds = [file.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other(
            "no room for SCM_RIGHTS in the control buffer",
        ));
    }
    rustix::net::sendmsg_addr(socket, &addr, &[], &mut control, SendFlags::NOSIGNAL)?;
    Ok(())
}

/// The native-protocol payload of one entry: `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, then
/// the alert's fields ([`flatten`]), appended to `out`.
pub fn encode(alert: &Value, message: &str, out: &mut Vec<u8>) {
    put_field(out, "MESSAGE", message.as_bytes());
    put_field(out, "PRIORITY", priority(alert).to_string().as_bytes());
    put_field(out, "SYSLOG_IDENTIFIER", b"sensor");
    for (name, value) in flatten(alert) {
        put_field(out, &name, value.as_bytes());
    }
}

/// Appends one field: `NAME=value\n`, or the binary-safe form when `value` holds a newline.
pub fn put_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// The alert's leaves as journal fields, in the object's order (see the module doc). A value
/// that is not an object becomes one field, `SENSOR_JSON`.
pub fn flatten(alert: &Value) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut dropped = 0usize;
    match alert {
        Value::Object(_) => walk(alert, &mut String::new(), &mut fields, &mut dropped),
        other => fields.push((format!("{FIELD_PREFIX}JSON"), other.to_string())),
    }
    if dropped > 0 {
        fields.push((format!("{FIELD_PREFIX}FIELDS_DROPPED"), dropped.to_string()));
    }
    fields
}

fn walk(value: &Value, path: &mut String, out: &mut Vec<(String, String)>, dropped: &mut usize) {
    let text = match value {
        Value::Object(map) => {
            let len = path.len();
            for (key, inner) in map {
                if len > 0 {
                    path.push('.');
                }
                path.push_str(key);
                walk(inner, path, out, dropped);
                path.truncate(len);
            }
            return;
        }
        Value::Null => return,
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Number(_) | Value::Bool(_) => value.to_string(),
    };
    if out.len() < MAX_FIELDS {
        out.push((field_name(path), text));
    } else {
        *dropped += 1;
    }
}

/// The journal field name of a dotted ECS path: [`FIELD_PREFIX`], then the path upper-cased
/// with each character outside `[A-Z0-9_]` as `_`; at most 64 characters (see the module doc).
pub fn field_name(path: &str) -> String {
    let mut name = String::with_capacity(FIELD_PREFIX.len() + path.len());
    name.push_str(FIELD_PREFIX);
    name.extend(path.chars().map(|c| match c {
        'A'..='Z' | '0'..='9' | '_' => c,
        'a'..='z' => c.to_ascii_uppercase(),
        _ => '_',
    }));
    if name.len() > MAX_NAME {
        let hash = fnv1a(path.as_bytes()) & 0xffff_ffff;
        name.truncate(MAX_NAME - 9);
        name.push_str(&format!("_{hash:08X}"));
    }
    name
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The syslog priority (0 emergency … 7 debug) of an alert, from, in order:
/// - `event.severity` as a number, on the 0–100 scale of Elastic's risk score: 74 and above
///   critical (2), 48 high → error (3), 22 medium → warning (4), below low → notice (5);
/// - `event.severity` or `log.level` as a name: `critical`, `high`, `medium`, `low` as above,
///   or a syslog level (`emerg`, `alert`, `crit`, `err`/`error`, `warning`/`warn`, `notice`,
///   `info`, `debug`);
/// - otherwise warning (4) when `event.kind` is `alert`, else info (6).
pub fn priority(alert: &Value) -> u8 {
    let by_name = |v: Option<&Value>| v.and_then(Value::as_str).and_then(priority_named);
    let severity = alert.pointer("/event/severity");
    severity
        .and_then(Value::as_f64)
        .map(|score| match score {
            s if s >= 74.0 => 2,
            s if s >= 48.0 => 3,
            s if s >= 22.0 => 4,
            _ => 5,
        })
        .or_else(|| by_name(severity))
        .or_else(|| by_name(alert.pointer("/log/level")))
        .unwrap_or(
            if alert.pointer("/event/kind").and_then(Value::as_str) == Some("alert") {
                4
            } else {
                6
            },
        )
}

fn priority_named(name: &str) -> Option<u8> {
    Some(match name.to_ascii_lowercase().as_str() {
        "emerg" | "emergency" => 0,
        "alert" => 1,
        "crit" | "critical" => 2,
        "err" | "error" | "high" => 3,
        "warning" | "warn" | "medium" => 4,
        "notice" | "low" => 5,
        "info" | "informational" => 6,
        "debug" => 7,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::{
        io::{IoSliceMut, Read as _, Seek as _},
        os::unix::net::UnixDatagram,
    };

    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    use serde_json::json;

    use super::*;

    #[test]
    fn field_names_follow_the_ecs_path() {
        assert_eq!(field_name("source.ip"), "SENSOR_SOURCE_IP");
        assert_eq!(field_name("@timestamp"), "SENSOR__TIMESTAMP");
        assert_eq!(
            field_name("process.entry_leader.pid"),
            "SENSOR_PROCESS_ENTRY_LEADER_PID"
        );
        assert_eq!(field_name("rule.id-x/ü"), "SENSOR_RULE_ID_X__");
        let long = "process.entry_leader.parent.session_leader.group_leader.executable";
        let name = field_name(long);
        assert_eq!(name.len(), 64);
        assert!(
            name.starts_with("SENSOR_PROCESS_ENTRY_LEADER_PARENT_SESSION_LEADER_GROUP_"),
            "{name}"
        );
        assert_ne!(
            name,
            field_name(&format!("{long}2")),
            "long names stay distinct"
        );
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        );
    }

    #[test]
    fn flattens_leaves_and_keeps_arrays_whole() {
        let alert = json!({
            "@timestamp": "2026-05-01T10:00:00.000Z",
            "event": {"category": ["authentication"], "kind": "alert", "severity": 73},
            "process": {"args": ["ssh", "-p", "22", "ssh", "10.0.0.3"], "parent": null},
            "sensor": {"empty": {}, "verified": true},
        });
        let fields = flatten(&alert);
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("SENSOR__TIMESTAMP", "2026-05-01T10:00:00.000Z"),
                ("SENSOR_EVENT_CATEGORY", r#"["authentication"]"#),
                ("SENSOR_EVENT_KIND", "alert"),
                ("SENSOR_EVENT_SEVERITY", "73"),
                (
                    "SENSOR_PROCESS_ARGS",
                    r#"["ssh","-p","22","ssh","10.0.0.3"]"#
                ),
                ("SENSOR_SENSOR_VERIFIED", "true"),
            ]
        );
        assert_eq!(
            flatten(&json!("x")),
            [("SENSOR_JSON".to_owned(), "\"x\"".to_owned())]
        );
    }

    #[test]
    fn too_many_fields_are_counted_not_lost_silently() {
        let map: serde_json::Map<String, Value> = (0..MAX_FIELDS + 3)
            .map(|i| (format!("k{i:04}"), json!(i)))
            .collect();
        let fields = flatten(&Value::Object(map));
        assert_eq!(fields.len(), MAX_FIELDS + 1);
        assert_eq!(
            fields.last().unwrap(),
            &("SENSOR_FIELDS_DROPPED".to_owned(), "3".to_owned())
        );
    }

    #[test]
    fn binary_safe_form_for_values_with_newlines() {
        let mut out = Vec::new();
        put_field(&mut out, "A", b"one line");
        put_field(&mut out, "B", b"two\nlines");
        let mut expected = b"A=one line\nB\n".to_vec();
        expected.extend_from_slice(&9u64.to_le_bytes());
        expected.extend_from_slice(b"two\nlines\n");
        assert_eq!(out, expected);
    }

    #[test]
    fn priority_from_severity() {
        let p = |v: Value| priority(&v);
        assert_eq!(p(json!({"event": {"severity": 99}})), 2);
        assert_eq!(p(json!({"event": {"severity": 73}})), 3);
        assert_eq!(p(json!({"event": {"severity": 47}})), 4);
        assert_eq!(p(json!({"event": {"severity": 21}})), 5);
        assert_eq!(p(json!({"event": {"severity": "High"}})), 3);
        assert_eq!(p(json!({"log": {"level": "debug"}})), 7);
        assert_eq!(p(json!({"event": {"kind": "alert"}})), 4);
        assert_eq!(p(json!({"event": {"kind": "event"}})), 6);
        assert_eq!(
            p(json!({"event": {"severity": "bogus", "kind": "alert"}})),
            4
        );
    }

    fn listener() -> (tempfile::TempDir, PathBuf, UnixDatagram) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.socket");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (dir, path, socket)
    }

    #[test]
    fn sends_one_datagram_with_the_fields() {
        let (_dir, path, server) = listener();
        let mut sink = JournaldSink::with_socket(&path).unwrap();
        let alert = json!({
            "event": {"kind": "alert", "severity": 73},
            "rule": {"id": "ssh-password-internal"},
            "source": {"ip": "10.0.0.2"},
        });
        assert!(sink.send(&alert, "password login of root from 10.0.0.2"));
        let mut got = vec![0; 65536];
        let n = server.recv(&mut got).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got[..n]),
            "MESSAGE=password login of root from 10.0.0.2\n\
             PRIORITY=3\n\
             SYSLOG_IDENTIFIER=sensor\n\
             SENSOR_EVENT_KIND=alert\n\
             SENSOR_EVENT_SEVERITY=73\n\
             SENSOR_RULE_ID=ssh-password-internal\n\
             SENSOR_SOURCE_IP=10.0.0.2\n"
        );
        assert_eq!(
            sink.stats(),
            SinkStats {
                written: 1,
                failed: 0
            }
        );
    }

    #[test]
    fn an_entry_too_large_for_a_datagram_goes_in_a_sealed_memfd() {
        let (_dir, path, server) = listener();
        let mut sink = JournaldSink::with_socket(&path).unwrap();
        // Larger than any default socket send buffer (net.core.wmem_max is 208 KiB).
        let alert = json!({"process": {"command_line": "x".repeat(8 << 20)}});
        assert!(sink.send(&alert, "big"));
        let mut expected = Vec::new();
        encode(&alert, "big", &mut expected);

        let mut data = [0u8; 16];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let msg = rustix::net::recvmsg(
            &server,
            &mut [IoSliceMut::new(&mut data)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )
        .unwrap();
        assert_eq!(msg.bytes, 0, "the payload travels in the descriptor only");
        let fds: Vec<_> = control
            .drain()
            .flat_map(|m| match m {
                RecvAncillaryMessage::ScmRights(fds) => fds.collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(fds.len(), 1);
        let seals = rustix::fs::fcntl_get_seals(&fds[0]).unwrap();
        assert!(seals.contains(SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE));
        // The descriptor shares the sender's file offset (at the end): read from the start.
        let mut memfd = std::fs::File::from(fds.into_iter().next().unwrap());
        memfd.seek(std::io::SeekFrom::Start(0)).unwrap();
        let mut payload = Vec::new();
        memfd.read_to_end(&mut payload).unwrap();
        assert!(payload == expected, "the memfd holds the encoded entry");
        assert_eq!(sink.stats().written, 1);
    }

    #[test]
    fn no_journald_is_a_counted_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = JournaldSink::with_socket(dir.path().join("absent.socket")).unwrap();
        assert!(!sink.send(&json!({"a": 1}), "m"));
        assert!(!sink.send(&json!({"a": 1}), "m"));
        assert_eq!(
            sink.stats(),
            SinkStats {
                written: 0,
                failed: 2
            }
        );
    }
}
