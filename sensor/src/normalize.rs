//! The normalize stage: a raw record becomes an output record with ECS field names. Plain
//! functions, no state.
use std::{
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    parse::{self, SshdMessage, SyslogLine},
    record::{
        AuthMeta, AuthRecord, AuthSensorFields, Endpoint, HostFields, LogProcess, Name,
        RelatedFields, SshFields, SystemAuth, SystemAuthSsh, SystemFields,
    },
    source::{
        Resume,
        journald::{Checkpoint, Forgery, JournalEntry, Provenance, Unverified},
    },
    time,
};

/// Where a log record came from, and what is known about its writer.
#[derive(Debug, Clone)]
pub struct LogOrigin {
    /// `journald` or `auth-log`.
    pub log_source: &'static str,
    pub when: SystemTime,
    pub provenance: Provenance,
    pub process: LogProcess,
    pub hostname: Option<String>,
    pub resume: Option<Resume>,
}

/// An sshd authentication or session record from a message sshd (or a forger) wrote. `None` for
/// messages that are not about authentication or sessions.
pub fn auth_record(text: &str, origin: LogOrigin) -> Option<AuthRecord> {
    let message = parse::parse_message(text)?;
    let (user, source, method) = facts(&message);
    let related = RelatedFields {
        ip: source.iter().map(|s| s.ip).collect(),
        user: user.iter().cloned().collect(),
    };
    Some(AuthRecord {
        timestamp: rfc3339_micros(origin.when),
        event: meta(&message, origin.provenance.is_forged()),
        message: text.to_owned(),
        system: filebeat_ssh(&message),
        related,
        user: user.map(|name| Name { name }),
        source,
        ssh: method.map(|method| SshFields { method }),
        process: origin.process,
        host: origin.hostname.map(|hostname| HostFields { hostname }),
        sensor: AuthSensorFields {
            log_source: origin.log_source,
            provenance: origin.provenance,
            sshd: message,
            repeated: None,
        },
        resume: origin.resume,
    })
}

/// A journal entry: trusted or forged by journald's own fields.
pub fn journal_auth(entry: &JournalEntry, sshd_exes: &[PathBuf]) -> Option<AuthRecord> {
    let text = entry.message.as_deref()?;
    let decided_by_root = parse::parse_message(text).is_some_and(|m| decided_by_root(&m));
    let origin = LogOrigin {
        log_source: "journald",
        when: entry
            .realtime_us
            .map_or_else(SystemTime::now, |us| UNIX_EPOCH + Duration::from_micros(us)),
        provenance: entry.provenance(sshd_exes, decided_by_root),
        process: LogProcess {
            entity_id: None,
            pid: entry.pid,
            name: entry.comm.clone(),
            executable: entry.exe.clone(),
        },
        hostname: entry.hostname.clone(),
        resume: entry
            .cursor
            .clone()
            .zip(entry.realtime_us)
            .map(|(cursor, realtime_us)| {
                Resume::Journal(Checkpoint {
                    cursor,
                    realtime_us,
                })
            }),
    };
    auth_record(text, origin)
}

/// Messages only sshd's privileged monitor (root) writes: authentication results and PAM session
/// lines. Connection ends are also logged by its unprivileged children.
fn decided_by_root(m: &SshdMessage) -> bool {
    !matches!(
        m,
        SshdMessage::Disconnected(_)
            | SshdMessage::ReceivedDisconnect { .. }
            | SshdMessage::ConnectionClosed(_)
            | SshdMessage::ConnectionReset(_)
    )
}

/// An auth.log line from an sshd-family program. Plain text proves nothing about its writer:
/// with a pid it is unverified (the kernel tracer can check that pid), without one it is forged
/// (sshd always logs its pid). `None` for other programs' lines and other sshd messages.
pub fn syslog_auth(
    line: &SyslogLine<'_>,
    log_source: &'static str,
    resume: Option<Resume>,
) -> Option<AuthRecord> {
    if !parse::is_sshd_program(line.program) {
        return None;
    }
    let provenance = match line.pid {
        Some(pid) => Provenance::Unverified {
            pid,
            reason: Unverified::PlainText,
        },
        None => Provenance::Forged(Forgery::NoPid),
    };
    let origin = LogOrigin {
        log_source,
        when: line.timestamp.into(),
        provenance,
        process: LogProcess {
            entity_id: None,
            pid: line.pid,
            name: Some(line.program.to_owned()),
            executable: None,
        },
        hostname: Some(line.hostname.to_owned()),
        resume,
    };
    // rsyslog's reduction of repeated lines hides the message inside its wrapper.
    let (count, text) = parse::unwrap_repeated(&line.message);
    let mut record = auth_record(text, origin)?;
    if text.len() != line.message.len() {
        record.sensor.repeated = Some(count);
    }
    Some(record)
}

/// User name, source and method, where the message has them.
fn facts(m: &SshdMessage) -> (Option<String>, Option<Endpoint>, Option<String>) {
    match m {
        SshdMessage::Accepted(a)
        | SshdMessage::Failed(a)
        | SshdMessage::Postponed(a)
        | SshdMessage::Partial(a) => (
            Some(a.user.clone()),
            Some(Endpoint {
                ip: a.source,
                port: a.port,
            }),
            Some(a.method.to_string()),
        ),
        SshdMessage::InvalidUser { user, source, port } => (
            Some(user.clone()),
            Some(Endpoint {
                ip: *source,
                port: *port,
            }),
            None,
        ),
        SshdMessage::Disconnected(p)
        | SshdMessage::ConnectionClosed(p)
        | SshdMessage::ConnectionReset(p)
        | SshdMessage::ReceivedDisconnect { peer: p, .. } => (
            p.user.as_ref().map(|u| u.name.clone()),
            Some(Endpoint {
                ip: p.source,
                port: p.port,
            }),
            None,
        ),
        SshdMessage::SessionOpened(s) => (Some(s.user.clone()), None, None),
        SshdMessage::SessionClosed { user } => (Some(user.clone()), None, None),
    }
}

/// `event.*` of a record found to be forged after it was made (the kernel knows its pid as
/// another program's).
pub fn forged_meta(meta: &AuthMeta) -> AuthMeta {
    AuthMeta {
        category: FORGED_CATEGORY,
        kind_of: FORGED_TYPE,
        ..meta.clone()
    }
}

const FORGED_CATEGORY: &[&str] = &["intrusion_detection"];
const FORGED_TYPE: &[&str] = &["indicator"];

/// Filebeat's `system.auth.ssh` for the lines its system module parses: `Accepted`, `Failed`
/// and `Invalid user`.
fn filebeat_ssh(m: &SshdMessage) -> Option<SystemFields> {
    let (event, attempt) = match m {
        SshdMessage::Accepted(a) => ("Accepted", Some(a)),
        SshdMessage::Failed(a) => ("Failed", Some(a)),
        SshdMessage::InvalidUser { .. } => ("Invalid", None),
        _ => return None,
    };
    Some(SystemFields {
        auth: SystemAuth {
            ssh: SystemAuthSsh {
                event,
                method: attempt.map(|a| a.method.to_string()),
                signature: attempt
                    .and_then(|a| a.key.as_ref())
                    .map(|k| format!("{} {}", k.key_type, k.fingerprint)),
            },
        },
    })
}

/// `event.*` of a record. A forged record is not an authentication or a session, whatever it
/// says: it is an indicator of an intrusion (someone wrote sshd's lines), and queries on
/// `event.category:authentication` never see it.
fn meta(m: &SshdMessage, forged: bool) -> AuthMeta {
    const AUTH: &[&str] = &["authentication"];
    const SESSION: &[&str] = &["session"];

    let (category, kind_of, action, outcome): (_, &'static [&'static str], _, _) = match m {
        SshdMessage::Accepted(_) => (AUTH, &["start"], "ssh_login", Some("success")),
        SshdMessage::Failed(_) | SshdMessage::InvalidUser { .. } => {
            (AUTH, &["start"], "ssh_login", Some("failure"))
        }
        SshdMessage::Postponed(_) | SshdMessage::Partial(_) => {
            (AUTH, &["info"], "ssh_login", Some("unknown"))
        }
        SshdMessage::Disconnected(_)
        | SshdMessage::ConnectionClosed(_)
        | SshdMessage::ConnectionReset(_)
        | SshdMessage::ReceivedDisconnect { .. } => (SESSION, &["end"], "ssh_disconnect", None),
        SshdMessage::SessionOpened(_) => (SESSION, &["start"], "ssh_session_opened", None),
        SshdMessage::SessionClosed { .. } => (SESSION, &["end"], "ssh_session_closed", None),
    };
    let (category, kind_of) = if forged {
        (FORGED_CATEGORY, FORGED_TYPE)
    } else {
        (category, kind_of)
    };
    AuthMeta {
        kind: "event",
        category,
        kind_of,
        action,
        outcome,
        dataset: "sensor.auth",
        module: "sensor",
    }
}

/// [`time::rfc3339`]'s text (`2026-11-23T10:00:00.123456Z`), written without `fmt` for the
/// years 1970 to 9999 that replay meets on every line; other instants go to `time::rfc3339`.
fn rfc3339_micros(when: SystemTime) -> String {
    let Ok(since) = when.duration_since(UNIX_EPOCH) else {
        return time::rfc3339(when);
    };
    let secs = since.as_secs();
    // 10000-01-01T00:00:00Z.
    if secs >= 253_402_300_800 {
        return time::rfc3339(when);
    }
    // Howard Hinnant's `civil_from_days`.
    let z = (secs / 86_400) as i64 + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u64;
    let of_day = secs % 86_400;
    let micros = u64::from(since.subsec_micros());
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: u32, value: u64| {
        for i in 0..width {
            if let Some(b) = text.get_mut(at + (width - 1 - i) as usize) {
                *b = b'0' + (value / 10u64.pow(i) % 10) as u8;
            }
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, of_day / 3600);
    put(14, 2, of_day / 60 % 60);
    put(17, 2, of_day % 60);
    put(20, 6, micros);
    String::from_utf8(text.to_vec()).unwrap_or_else(|_| time::rfc3339(when))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::rfc3339_micros;
    use crate::{parse, time};

    /// rsyslog's `$RepeatedMsgReduction` (Ubuntu's default) folds identical lines into one
    /// wrapper: the sshd message inside is read, and the record says how many it stands for.
    #[test]
    fn a_repeated_message_wrapper_gives_its_sshd_record() {
        let mut years = parse::YearInference::new(chrono::Utc::now(), parse::ClassicZone::utc());
        let line = b"2026-11-23T10:00:00.000000+00:00 vm sshd[77]: message repeated 3 times: \
                     [ Failed password for root from 10.0.0.9 port 22 ssh2]";
        let line = parse::parse_line(line, &mut years).expect("a syslog line");
        let record = super::syslog_auth(&line, "auth-log", None).expect("an sshd record");
        assert_eq!(record.sensor.repeated, Some(3));
        assert_eq!(
            record.message,
            "Failed password for root from 10.0.0.9 port 22 ssh2"
        );
        assert_eq!(
            record.source.map(|s| s.ip.to_string()).as_deref(),
            Some("10.0.0.9")
        );
        let plain = b"2026-11-23T10:00:00.000000+00:00 vm sshd[77]: Failed password for root \
                      from 10.0.0.9 port 22 ssh2";
        let plain = parse::parse_line(plain, &mut years).expect("a syslog line");
        let record = super::syslog_auth(&plain, "auth-log", None).expect("an sshd record");
        assert_eq!(record.sensor.repeated, None);
    }

    #[test]
    fn timestamps_are_written_as_time_rfc3339_writes_them() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut instants = vec![0, 1, 951_782_400, 253_402_300_799];
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            instants.push(seed % 253_402_300_800);
        }
        for secs in instants {
            let when =
                UNIX_EPOCH + Duration::new(secs, (secs % 1_000_000_007) as u32 % 1_000_000_000);
            assert_eq!(rfc3339_micros(when), time::rfc3339(when), "{secs}");
        }
    }
}
