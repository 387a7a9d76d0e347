//! The normalize stage: a raw record becomes an output record with ECS field names. Plain
//! functions, no state.
use std::path::PathBuf;

use crate::{
    parse::{self, SshdMessage},
    record::{
        AuthMeta, AuthRecord, AuthSensorFields, Endpoint, HostFields, LogProcess, Name, SshFields,
    },
    source::journald::{Checkpoint, JournalEntry},
    time,
};

/// An sshd authentication or session record from a journal entry, with the verdict on whether
/// sshd wrote it. `None` for entries that are not about authentication or sessions.
pub fn journal_auth(entry: &JournalEntry, sshd_exes: &[PathBuf]) -> Option<AuthRecord> {
    let text = entry.message.as_deref()?;
    let message = parse::parse_message(text)?;
    let when = entry
        .realtime_us
        .map(|us| std::time::UNIX_EPOCH + std::time::Duration::from_micros(us))
        .unwrap_or_else(std::time::SystemTime::now);
    let (user, source, method) = facts(&message);
    Some(AuthRecord {
        timestamp: time::rfc3339(when),
        event: meta(&message),
        message: text.to_owned(),
        user: user.map(|name| Name { name }),
        source,
        ssh: method.map(|method| SshFields { method }),
        process: LogProcess {
            pid: entry.pid,
            name: entry.comm.clone(),
            executable: entry.exe.clone(),
        },
        host: entry
            .hostname
            .clone()
            .map(|hostname| HostFields { hostname }),
        sensor: AuthSensorFields {
            log_source: "journald",
            provenance: entry.provenance(sshd_exes),
            sshd: message,
        },
        checkpoint: entry
            .cursor
            .clone()
            .zip(entry.realtime_us)
            .map(|(cursor, realtime_us)| Checkpoint {
                cursor,
                realtime_us,
            }),
    })
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

fn meta(m: &SshdMessage) -> AuthMeta {
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
