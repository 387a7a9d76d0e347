//! Winlogbeat-style ECS NDJSON: one JSON object per line, as Winlogbeat 8 writes events to a
//! file (`output.file`) or as they come back out of Elasticsearch (`_source`).
//!
//! Winlogbeat 8 runs its Sysmon and Security processing in Elasticsearch ingest pipelines, so
//! a file it wrote holds the raw record (`winlog.*`, `event.code`, `event.provider`,
//! `host.name`, `message`) without `process.name` and the like, while a document exported from
//! Elasticsearch holds both. Each line is therefore read twice: its `winlog.*` part becomes a
//! [`WinRecord`] and goes through [`map`] (the pipelines' mapping), and its ECS fields are read
//! as they are. A document a pipeline processed (it has `event.module`) keeps its own ECS
//! values, and the mapping fills only what it lacks; a raw one takes the mapping's values,
//! except `host.name` and `message`, which the beat itself writes, and keeps its own where the
//! mapping has none. Objects may nest (`{"process": {"name": …}}`) or use dotted keys
//! (`{"process.name": …}`), or mix them. The JSON a [`WinEvent`] serialises to reads back as
//! the same event.
//!
//! A line that is not JSON, not an object, not a Windows event (neither a `winlog` object nor
//! `event.code`), without a time (`@timestamp` or `winlog.time_created`), or longer than
//! [`MAX_LINE`] is reported with its line number and skipped; the other lines are still read.
use std::io::{self, BufRead};
use std::net::IpAddr;

use chrono::DateTime;
use serde_json::{Map, Value};
use thiserror::Error;

use super::map::{map, rfc3339, timestamp};
use super::record::{self, WinRecord};
use crate::ecs::windows::{EventData, WinEvent};

/// The longest line read; a longer one is skipped.
pub const MAX_LINE: usize = 4 << 20;

/// What reading a stream gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NdjsonStats {
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Events delivered.
    pub events: u64,
    /// Lines reported as errors and skipped.
    pub errors: u64,
}

/// One line that was skipped.
#[derive(Debug, Error)]
#[error("line {line} (byte {offset}): {kind}")]
pub struct LineError {
    /// 1-based.
    pub line: u64,
    /// Where the line starts, 0-based.
    pub offset: u64,
    pub kind: LineErrorKind,
}

#[derive(Debug, Error)]
pub enum LineErrorKind {
    #[error("not JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("a JSON {0}, not an object")]
    NotObject(&'static str),
    #[error("not a Windows event: no `winlog` object and no `event.code`")]
    NotWindows,
    #[error("no `@timestamp` (or `winlog.time_created`) that is a time")]
    NoTimestamp,
    #[error("longer than {max} bytes")]
    TooLong { max: usize },
}

/// Reading the stream itself failed; the lines before were read.
#[derive(Debug, Error)]
#[error("line {line} (byte {offset}): read failed: {source}; the lines before it were read")]
pub struct ReadError {
    pub line: u64,
    pub offset: u64,
    pub source: io::Error,
}

/// Reads every line of `reader`: each event to `on_event`, each skipped line to `on_error`.
pub fn read(
    mut reader: impl BufRead,
    on_event: &mut dyn FnMut(WinEvent),
    on_error: &mut dyn FnMut(LineError),
) -> Result<NdjsonStats, ReadError> {
    let mut stats = NdjsonStats::default();
    let mut buf = Vec::new();
    let mut offset = 0u64;
    loop {
        buf.clear();
        let start = offset;
        let line_no = stats.lines + 1;
        let got = read_line(&mut reader, &mut buf).map_err(|source| ReadError {
            line: line_no,
            offset: start,
            source,
        })?;
        let (consumed, too_long) = match got {
            None => return Ok(stats),
            Some(got) => got,
        };
        offset += consumed;
        stats.lines += 1;
        let result = if too_long {
            Err(LineErrorKind::TooLong { max: MAX_LINE })
        } else {
            let mut line = buf.as_slice();
            if line_no == 1 {
                line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            }
            if line.trim_ascii().is_empty() {
                continue;
            }
            parse_line(line)
        };
        match result {
            Ok(event) => {
                stats.events += 1;
                on_event(event);
            }
            Err(kind) => {
                stats.errors += 1;
                on_error(LineError {
                    line: line_no,
                    offset: start,
                    kind,
                });
            }
        }
    }
}

/// One line into `buf` (newline and carriage return left out): `None` at the end, else the
/// bytes consumed and whether the line was longer than [`MAX_LINE`] (then `buf` holds its
/// start only).
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<(u64, bool)>> {
    let (mut consumed, mut too_long) = (0u64, false);
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed > 0).then_some((consumed, too_long)));
        }
        let newline = memchr::memchr(b'\n', available);
        let chunk = &available[..newline.unwrap_or(available.len())];
        if !too_long && buf.len() + chunk.len() <= MAX_LINE {
            buf.extend_from_slice(chunk);
        } else {
            too_long = true;
        }
        let used = newline.map_or(available.len(), |i| i + 1);
        reader.consume(used);
        consumed += used as u64;
        if newline.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some((consumed, too_long)));
        }
    }
}

/// One line (a JSON object) as an event.
pub fn parse_line(line: &[u8]) -> Result<WinEvent, LineErrorKind> {
    let value: Value = serde_json::from_slice(line).map_err(LineErrorKind::Json)?;
    match value {
        Value::Object(doc) => from_document(&doc),
        other => Err(LineErrorKind::NotObject(json_type(&other))),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// True if the document looks like a Windows event: a `winlog` object (or `winlog.*` keys), or
/// `event.code` with `event.provider`.
pub fn is_windows_event(doc: &Map<String, Value>) -> bool {
    lookup(doc, "winlog").is_some_and(Value::is_object)
        || doc.keys().any(|k| k.starts_with("winlog."))
        || (lookup(doc, "event.code").is_some() && lookup(doc, "event.provider").is_some())
}

/// A document as an event (see the module docs).
pub fn from_document(doc: &Map<String, Value>) -> Result<WinEvent, LineErrorKind> {
    let has_winlog = lookup(doc, "winlog").is_some_and(Value::is_object)
        || doc.keys().any(|k| k.starts_with("winlog."));
    if !has_winlog && lookup(doc, "event.code").is_none() {
        return Err(LineErrorKind::NotWindows);
    }
    let record = record_of(doc);
    let mut own = ecs_of(doc);
    if record.time_created.is_none() && own.timestamp.is_empty() {
        return Err(LineErrorKind::NoTimestamp);
    }
    let mapped = map(&record);
    let event = if own.event.module.is_some() {
        if own.timestamp.is_empty() {
            own.timestamp.clone_from(&mapped.timestamp);
        }
        fill(&mut own, mapped);
        own
    } else {
        let mut mapped = mapped;
        if own.host.name.is_some() {
            mapped.host.name = own.host.name.take();
        }
        if own.message.is_some() {
            mapped.message = own.message.take();
        }
        fill(&mut mapped, own);
        mapped
    };
    Ok(event)
}

/// The value at a dotted `path`, however the document spells it: nested objects, dotted keys,
/// or both (`{"process": {"pe.original_file_name": …}}`).
pub fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = obj.get(path) {
        return Some(value);
    }
    for (i, _) in path.match_indices('.') {
        if let Some(Value::Object(inner)) = obj.get(&path[..i])
            && let Some(value) = lookup(inner, &path[i + 1..])
        {
            return Some(value);
        }
    }
    None
}

/// A scalar as text.
fn text(doc: &Map<String, Value>, path: &str) -> Option<String> {
    match lookup(doc, path)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string or an array of them (other items left out).
fn texts(doc: &Map<String, Value>, path: &str) -> Vec<String> {
    match lookup(doc, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// An integer, or a string holding one.
fn integer(doc: &Map<String, Value>, path: &str) -> Option<i64> {
    match lookup(doc, path)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn ip(doc: &Map<String, Value>, path: &str) -> Option<IpAddr> {
    text(doc, path)?.trim().parse().ok()
}

fn ips(doc: &Map<String, Value>, path: &str) -> Vec<IpAddr> {
    texts(doc, path)
        .iter()
        .filter_map(|t| t.trim().parse().ok())
        .collect()
}

/// A time as `@timestamp`: RFC 3339 (or Sysmon's form), or epoch milliseconds.
fn time(doc: &Map<String, Value>, path: &str) -> Option<String> {
    match lookup(doc, path)? {
        Value::String(s) => rfc3339(s),
        Value::Number(n) => DateTime::from_timestamp_millis(n.as_i64()?).and_then(timestamp),
        _ => None,
    }
}

/// The raw record: `winlog.*`, with `event.code`/`event.provider` where `winlog` lacks them.
fn record_of(doc: &Map<String, Value>) -> WinRecord {
    let mut event_data = Vec::new();
    if let Some(Value::Object(data)) = lookup(doc, "winlog.event_data") {
        for (name, value) in data {
            record::values(name, value, &mut event_data);
        }
    }
    for (key, value) in doc {
        if let Some(name) = key.strip_prefix("winlog.event_data.") {
            record::values(name, value, &mut event_data);
        }
    }
    WinRecord {
        provider: text(doc, "winlog.provider_name")
            .or_else(|| text(doc, "event.provider"))
            .unwrap_or_default(),
        event_id: text(doc, "winlog.event_id")
            .or_else(|| text(doc, "event.code"))
            .unwrap_or_default(),
        channel: text(doc, "winlog.channel").unwrap_or_default(),
        computer: text(doc, "winlog.computer_name").unwrap_or_default(),
        record_id: integer(doc, "winlog.record_id").and_then(|r| u64::try_from(r).ok()),
        time_created: time(doc, "winlog.time_created").or_else(|| time(doc, "@timestamp")),
        user_sid: text(doc, "winlog.user.identifier"),
        process_id: integer(doc, "winlog.process.pid").and_then(|p| u32::try_from(p).ok()),
        keywords: texts(doc, "winlog.keywords"),
        event_data,
    }
}

/// The document's own ECS fields: every field a [`WinEvent`] serialises.
fn ecs_of(doc: &Map<String, Value>) -> WinEvent {
    let mut ev = WinEvent {
        timestamp: time(doc, "@timestamp").unwrap_or_default(),
        message: text(doc, "message"),
        ..WinEvent::default()
    };
    let e = &mut ev.event;
    e.kind = text(doc, "event.kind");
    e.category = texts(doc, "event.category");
    e.kind_of = texts(doc, "event.type");
    e.action = text(doc, "event.action");
    e.code = text(doc, "event.code");
    e.provider = text(doc, "event.provider");
    e.module = text(doc, "event.module");
    e.dataset = text(doc, "event.dataset");
    e.outcome = text(doc, "event.outcome");
    ev.host.name = text(doc, "host.name");
    ev.user.id = text(doc, "user.id");
    ev.user.name = text(doc, "user.name");
    ev.user.domain = text(doc, "user.domain");
    let p = &mut ev.process;
    p.pid = integer(doc, "process.pid");
    p.entity_id = text(doc, "process.entity_id");
    p.name = text(doc, "process.name");
    p.executable = text(doc, "process.executable");
    p.command_line = text(doc, "process.command_line");
    p.args = texts(doc, "process.args");
    p.args_count = integer(doc, "process.args_count");
    p.working_directory = text(doc, "process.working_directory");
    p.pe.original_file_name = text(doc, "process.pe.original_file_name");
    p.pe.company = text(doc, "process.pe.company");
    p.pe.description = text(doc, "process.pe.description");
    p.pe.product = text(doc, "process.pe.product");
    p.pe.file_version = text(doc, "process.pe.file_version");
    p.pe.imphash = text(doc, "process.pe.imphash");
    p.hash.md5 = text(doc, "process.hash.md5");
    p.hash.sha1 = text(doc, "process.hash.sha1");
    p.hash.sha256 = text(doc, "process.hash.sha256");
    p.parent.pid = integer(doc, "process.parent.pid");
    p.parent.entity_id = text(doc, "process.parent.entity_id");
    p.parent.name = text(doc, "process.parent.name");
    p.parent.executable = text(doc, "process.parent.executable");
    p.parent.command_line = text(doc, "process.parent.command_line");
    let f = &mut ev.file;
    f.path = text(doc, "file.path");
    f.name = text(doc, "file.name");
    f.directory = text(doc, "file.directory");
    f.extension = text(doc, "file.extension");
    let r = &mut ev.registry;
    r.path = text(doc, "registry.path");
    r.hive = text(doc, "registry.hive");
    r.key = text(doc, "registry.key");
    r.value = text(doc, "registry.value");
    r.data.strings = texts(doc, "registry.data.strings");
    r.data.kind = text(doc, "registry.data.type");
    ev.service.name = text(doc, "service.name");
    ev.service.kind = text(doc, "service.type");
    for (end, prefix) in [
        (&mut ev.source, "source"),
        (&mut ev.destination, "destination"),
    ] {
        end.ip = ip(doc, &format!("{prefix}.ip"));
        end.port = integer(doc, &format!("{prefix}.port")).and_then(|p| u16::try_from(p).ok());
        end.domain = text(doc, &format!("{prefix}.domain"));
    }
    let n = &mut ev.network;
    n.transport = text(doc, "network.transport");
    n.protocol = text(doc, "network.protocol");
    n.direction = text(doc, "network.direction");
    n.kind = text(doc, "network.type");
    ev.related.ip = ips(doc, "related.ip");
    ev.related.user = texts(doc, "related.user");
    // winlog.* are read into the record, and come back through the mapping.
    ev
}

/// Gives every field of `dst` that has no value the value `src` has.
fn fill(dst: &mut WinEvent, src: WinEvent) {
    macro_rules! fill {
        ($($($field:ident).+),* $(,)?) => {
            $(
                if is_empty(&dst.$($field).+) {
                    dst.$($field).+ = src.$($field).+;
                }
            )*
        };
    }
    if dst.timestamp.is_empty() {
        dst.timestamp = src.timestamp;
    }
    fill!(
        message,
        event.kind,
        event.category,
        event.kind_of,
        event.action,
        event.code,
        event.provider,
        event.module,
        event.dataset,
        event.outcome,
        host.name,
        user.id,
        user.name,
        user.domain,
        process.pid,
        process.entity_id,
        process.name,
        process.executable,
        process.command_line,
        process.args,
        process.args_count,
        process.working_directory,
        process.pe.original_file_name,
        process.pe.company,
        process.pe.description,
        process.pe.product,
        process.pe.file_version,
        process.pe.imphash,
        process.hash.md5,
        process.hash.sha1,
        process.hash.sha256,
        process.parent.pid,
        process.parent.entity_id,
        process.parent.name,
        process.parent.executable,
        process.parent.command_line,
        file.path,
        file.name,
        file.directory,
        file.extension,
        registry.path,
        registry.hive,
        registry.key,
        registry.value,
        registry.data.strings,
        registry.data.kind,
        service.name,
        service.kind,
        source.ip,
        source.port,
        source.domain,
        destination.ip,
        destination.port,
        destination.domain,
        network.transport,
        network.protocol,
        network.direction,
        network.kind,
        related.ip,
        related.user,
        winlog.channel,
        winlog.event_id,
        winlog.provider_name,
        winlog.computer_name,
        winlog.record_id,
        winlog.user.identifier,
        winlog.process.pid,
        winlog.event_data,
    );
}

/// No value: `None`, or an empty list.
trait Empty {
    fn empty(&self) -> bool;
}

impl<T> Empty for Option<T> {
    fn empty(&self) -> bool {
        self.is_none()
    }
}

impl<T> Empty for Vec<T> {
    fn empty(&self) -> bool {
        self.is_empty()
    }
}

impl Empty for EventData {
    fn empty(&self) -> bool {
        self.is_empty()
    }
}

fn is_empty(value: &impl Empty) -> bool {
    value.empty()
}
