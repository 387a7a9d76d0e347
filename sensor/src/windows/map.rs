//! A [`WinRecord`] as ECS: [`map`], the way Winlogbeat 8 and its ingest pipelines do it.
//!
//! Sources, in elastic/beats (each function below names the part it follows):
//! - `x-pack/winlogbeat/module/routing/ingest/routing.yml`: which pipeline a record goes
//!   through, by channel and provider ([`Module::of`]);
//! - `x-pack/winlogbeat/module/sysmon/ingest/sysmon.yml`: Sysmon ([`super::sysmon`]);
//! - `x-pack/winlogbeat/module/security/ingest/security.yml` and `security_standard.yml`:
//!   Security ([`super::security`]);
//! - `winlogbeat/sys/winevent/event.go` and `winlogbeat/eventlog`: the fields the beat itself
//!   writes (`winlog.*`, `event.code`, `event.provider`, `event.kind`, `event.outcome` from the
//!   audit keywords, `host.name`).
//!
//! Where this differs from Winlogbeat, on purpose:
//! - `host.name` is the record's computer (`winlog.computer_name`), not the host that read
//!   the log: a replayed log is about the machine that wrote it.
//! - `winlog.event_data` keeps every value the record has (empty ones aside): the pipelines
//!   move some of them into ECS fields (`PipeName` into `file.name`, …) and delete them, but
//!   the raw value is what an analyst quotes, and rules may name either.
//! - System event 7045 ("A service was installed") has no pipeline in Winlogbeat; it gets
//!   Security 4697's categorisation (`event.action: service-installed`), `service.name` and
//!   `event.module: system`, so that one rule covers both.
//! - `event.dataset` is the Elastic Agent integrations' (`windows.sysmon_operational`,
//!   `system.security`, `system.system`).
//! - A record without a readable time gets `1601-01-01T00:00:00.000000Z`, the zero of a
//!   Windows FILETIME, rather than no `@timestamp`.
use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, Utc};

use super::record::WinRecord;
use crate::ecs::windows::{EventData, WinEvent};

/// `@timestamp` of a record whose time is unknown.
pub const UNKNOWN_TIME: &str = "1601-01-01T00:00:00.000000Z";

/// The values the Sysmon and Security pipelines delete from `winlog.event_data` first
/// (sysmon.yml: "Remove all empty values from event_data").
const EMPTY: [&str; 4] = ["", "-", "{00000000-0000-0000-0000-000000000000}", "\u{0}"];

/// The pipeline a record goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    Sysmon,
    Security,
    /// The System log (Service Control Manager's 7045): our own mapping, see the module docs.
    System,
}

impl Module {
    /// routing.yml: Security with provider `Microsoft-Windows-Security-Auditing` or
    /// `Microsoft-Windows-Eventlog`; `Microsoft-Windows-Sysmon/Operational`; channels compared
    /// without case.
    pub fn of(channel: &str, provider: &str) -> Option<Self> {
        if channel.eq_ignore_ascii_case("security")
            && matches!(
                provider,
                "Microsoft-Windows-Security-Auditing" | "Microsoft-Windows-Eventlog"
            )
        {
            Some(Self::Security)
        } else if channel.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational") {
            Some(Self::Sysmon)
        } else if channel.eq_ignore_ascii_case("system") {
            Some(Self::System)
        } else {
            None
        }
    }

    /// `event.module`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sysmon => "sysmon",
            Self::Security => "security",
            Self::System => "system",
        }
    }

    /// `event.dataset`, as the Elastic Agent integrations name these logs.
    pub const fn dataset(self) -> &'static str {
        match self {
            Self::Sysmon => "windows.sysmon_operational",
            Self::Security => "system.security",
            Self::System => "system.system",
        }
    }
}

/// The record as an ECS event.
pub fn map(record: &WinRecord) -> WinEvent {
    let module = Module::of(&record.channel, &record.provider);
    let mut data: EventData = record.event_data.iter().cloned().collect();
    if module.is_some() {
        data.retain(|_, v| !EMPTY.contains(&v));
    }
    let mut ev = WinEvent {
        timestamp: record
            .time_created
            .as_deref()
            .and_then(rfc3339)
            .unwrap_or_else(|| UNKNOWN_TIME.to_owned()),
        ..WinEvent::default()
    };
    // What the beat itself writes (winlogbeat/sys/winevent/event.go, Event.Fields).
    ev.event.kind = Some("event".to_owned());
    ev.event.code = non_empty(&record.event_id);
    ev.event.provider = non_empty(&record.provider);
    ev.host.name = non_empty(&record.computer);
    let w = &mut ev.winlog;
    w.channel = non_empty(&record.channel);
    w.event_id = non_empty(&record.event_id);
    w.provider_name = non_empty(&record.provider);
    w.computer_name = non_empty(&record.computer);
    w.record_id = record.record_id;
    w.user.identifier = record.user_sid.clone();
    w.process.pid = record.process_id;
    // The beat: "Audit Success" and "Audit Failure" keywords give event.outcome.
    if record.keywords.iter().any(|k| k == "Audit Success") {
        ev.event.outcome = Some("success".to_owned());
    } else if record.keywords.iter().any(|k| k == "Audit Failure") {
        ev.event.outcome = Some("failure".to_owned());
    }
    if let Some(module) = module {
        ev.event.module = Some(module.name().to_owned());
        ev.event.dataset = Some(module.dataset().to_owned());
        match module {
            Module::Sysmon => super::sysmon::map(&data, &mut ev),
            Module::Security => super::security::map(&data, &mut ev),
            Module::System => system(&data, &mut ev),
        }
    }
    ev.winlog.event_data = data;
    ev
}

/// System 7045, "A service was installed in the system" (Service Control Manager):
/// `ServiceName`, `ImagePath`, `ServiceType` (text such as `user mode service`), `StartType`,
/// `AccountName`. Categorised as Security 4697 is (security_standard.yml).
fn system(data: &EventData, ev: &mut WinEvent) {
    ev.user.id.clone_from(&ev.winlog.user.identifier);
    if ev.event.code.as_deref() == Some("7045")
        && ev.winlog.provider_name.as_deref() == Some("Service Control Manager")
    {
        categorise(
            ev,
            &["iam", "configuration"],
            &["admin", "change"],
            "service-installed",
        );
        set(&mut ev.service.name, data.get("ServiceName"));
        set(&mut ev.service.kind, data.get("ServiceType"));
    }
}

/// Sets `event.category`, `event.type` and `event.action`.
pub(super) fn categorise(ev: &mut WinEvent, category: &[&str], kind: &[&str], action: &str) {
    ev.event.category = category.iter().map(|&c| c.to_owned()).collect();
    ev.event.kind_of = kind.iter().map(|&t| t.to_owned()).collect();
    ev.event.action = Some(action.to_owned());
}

/// Sets `slot` to `value` unless it already has one (an ingest `rename` does not overwrite)
/// or `value` is empty.
pub(super) fn set(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none()
        && let Some(v) = value.filter(|v| !v.is_empty())
    {
        *slot = Some(v.to_owned());
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Adds `value` to a list unless it is there (`append` with `allow_duplicates: false`).
pub(super) fn add_unique<T: PartialEq>(list: &mut Vec<T>, value: T) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// The part of a Windows path after its last backslash, if it has one (sysmon.yml
/// `getProcessName`: a path without a backslash, such as `System`, gives no name).
pub(super) fn file_name(path: &str) -> Option<&str> {
    path.rfind('\\')
        .map(|i| &path[i + 1..])
        .filter(|n| !n.is_empty())
}

/// Java's `Long.decode`, as the Security pipeline parses pids and ports: `0x`/`0X`/`#` hex,
/// a leading `0` octal, else decimal, with an optional sign.
pub fn decode_long(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
        .or_else(|| digits.strip_prefix('#'))
    {
        (16, h)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if digits.is_empty() || digits.starts_with(['-', '+']) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// A time as `@timestamp`: RFC 3339 UTC with microseconds. Takes RFC 3339 with any offset and
/// fraction (`2020-12-09T16:52:28.2525250Z`, as EVTX records carry), and Sysmon's `UtcTime`
/// (`2020-12-09 16:52:28.237`, UTC; sysmon.yml parses it as `yyyy-MM-dd HH:mm:ss.SSS`).
pub fn rfc3339(text: &str) -> Option<String> {
    let utc = match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f")
            .ok()?
            .and_utc(),
    };
    timestamp(utc)
}

/// `@timestamp` of an instant: RFC 3339 UTC with microseconds, for years 1 to 9999 only (RFC
/// 3339 has four-digit years; a string outside them would not sort or read back as a time).
pub fn timestamp(utc: DateTime<Utc>) -> Option<String> {
    (1..=9999)
        .contains(&utc.year())
        .then(|| utc.to_rfc3339_opts(SecondsFormat::Micros, true))
}
