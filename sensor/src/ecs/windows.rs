//! [`WinEvent`]: one Windows event log record as an ECS 8.x document, shaped as Winlogbeat 8
//! and its Elasticsearch ingest pipelines write it (`winlog.*` for the raw record, ECS fields for
//! what the Sysmon and Security pipelines derive from it).
//!
//! Its JSON (`serde::Serialize`) is what `replay --events` prints and what alerts quote as
//! evidence: nested objects, empty fields left out, `winlog.event_data` as an object of strings
//! (a name the record repeats becomes an array). `crate::windows::map` fills it from an EVTX
//! record, `crate::windows::ndjson` from a line of Winlogbeat output; reading this JSON back
//! through `crate::windows::ndjson` gives the same event.
//!
//! Rules see it through [`Document`]: a `match` on [`Field`], borrowing the event's own
//! strings. A `winlog.event_data.X` field of the catalogue is answered from the EventData
//! value named `X`, so adding such a field to `fields.rs` needs no code here.
use std::net::IpAddr;

use serde::{Serialize, Serializer, ser::SerializeMap};

use super::{Event, Field};
use crate::detect::kql::{Document, FieldId, Value};

/// The prefix of the catalogue fields answered from [`EventData`].
const EVENT_DATA: &str = "winlog.event_data.";

/// One Windows event log record, ECS-shaped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WinEvent {
    /// RFC 3339 UTC with microseconds (Sysmon's `UtcTime` where it has one, as Winlogbeat's
    /// Sysmon pipeline does; else the record's `TimeCreated`).
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub event: EventFields,
    #[serde(skip_serializing_if = "is_default")]
    pub host: Host,
    #[serde(skip_serializing_if = "is_default")]
    pub user: User,
    #[serde(skip_serializing_if = "is_default")]
    pub process: Process,
    #[serde(skip_serializing_if = "is_default")]
    pub file: File,
    #[serde(skip_serializing_if = "is_default")]
    pub registry: Registry,
    #[serde(skip_serializing_if = "is_default")]
    pub service: Service,
    #[serde(skip_serializing_if = "is_default")]
    pub source: Endpoint,
    #[serde(skip_serializing_if = "is_default")]
    pub destination: Endpoint,
    #[serde(skip_serializing_if = "is_default")]
    pub network: Network,
    #[serde(skip_serializing_if = "is_default")]
    pub related: Related,
    pub winlog: Winlog,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// `event.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<String>,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub kind_of: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The event id, as a string (`"4688"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `sysmon`, `security` or `system`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// `host.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Host {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `user.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct User {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// `process.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Process {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// The file name of `executable` (Sysmon's `Image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub pe: Pe,
    #[serde(skip_serializing_if = "is_default")]
    pub hash: Hash,
    #[serde(skip_serializing_if = "is_default")]
    pub parent: Parent,
}

/// `process.pe.*`: the PE header's version information, as Sysmon reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pe {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_file_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imphash: Option<String>,
}

/// `process.hash.*`, lower-case hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hash {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `process.parent.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Parent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
}

/// `file.*` (a named pipe is a `file.name` such as `\PSEXESVC`, without a path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct File {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

/// `registry.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Registry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hive: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub data: RegistryData,
}

/// `registry.data.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistryData {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub strings: Vec<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `service.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `source.*` or `destination.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// `network.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Network {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `related.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Related {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user: Vec<String>,
}

/// `winlog.*`: the record as Windows wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Winlog {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    #[serde(skip_serializing_if = "is_default")]
    pub user: WinlogUser,
    #[serde(skip_serializing_if = "is_default")]
    pub process: WinlogProcess,
    #[serde(skip_serializing_if = "EventData::is_empty")]
    pub event_data: EventData,
}

/// `winlog.user.*`: the `Security UserID` of the record's System part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WinlogUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
}

/// `winlog.process.*`: the process that logged the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WinlogProcess {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// `winlog.event_data`: the record's EventData, name and value, in the record's order.
///
/// A name may appear more than once (Winlogbeat output with a list value): the field then
/// has several values, and serialises as an array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventData(Vec<(String, String)>);

impl EventData {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one value.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value named `name`.
    pub fn get<'a>(&'a self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value named `name`.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every name and value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Keeps the values for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(n, v)| keep(n, v));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl FromIterator<(String, String)> for EventData {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// An object; a name with several values becomes an array, at the place of its first value.
impl Serialize for EventData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut names: Vec<&str> = Vec::with_capacity(self.0.len());
        for (name, _) in &self.0 {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        let mut map = serializer.serialize_map(Some(names.len()))?;
        for name in names {
            let values: Vec<&str> = self.values(name).collect();
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }
}

fn str(value: Option<&str>, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    value.is_some_and(|v| test(Value::Str(v)))
}

fn strs(values: &[String], test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    values.iter().any(|v| test(Value::Str(v)))
}

fn int(value: Option<i64>, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    value.is_some_and(|v| test(Value::Int(v)))
}

fn ip(value: Option<IpAddr>, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    value.is_some_and(|v| test(Value::Ip(v)))
}

impl Document for WinEvent {
    fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        let Some(field) = Field::from_id(field) else {
            return false;
        };
        let (e, p, w) = (&self.event, &self.process, &self.winlog);
        match field {
            Field::Timestamp => test(Value::Str(&self.timestamp)),
            Field::Message => str(self.message.as_deref(), test),
            Field::EventKind => str(e.kind.as_deref(), test),
            Field::EventCategory => strs(&e.category, test),
            Field::EventType => strs(&e.kind_of, test),
            Field::EventAction => str(e.action.as_deref(), test),
            Field::EventOutcome => str(e.outcome.as_deref(), test),
            Field::EventDataset => str(e.dataset.as_deref(), test),
            Field::EventModule => str(e.module.as_deref(), test),
            Field::EventCode => str(e.code.as_deref(), test),
            Field::EventProvider => str(e.provider.as_deref(), test),
            Field::HostName => str(self.host.name.as_deref(), test),
            Field::UserName => str(self.user.name.as_deref(), test),
            Field::UserId => str(self.user.id.as_deref(), test),
            Field::UserDomain => str(self.user.domain.as_deref(), test),
            Field::SourceIp => ip(self.source.ip, test),
            Field::SourcePort => int(self.source.port.map(i64::from), test),
            Field::SourceDomain => str(self.source.domain.as_deref(), test),
            Field::DestinationIp => ip(self.destination.ip, test),
            Field::DestinationPort => int(self.destination.port.map(i64::from), test),
            Field::DestinationDomain => str(self.destination.domain.as_deref(), test),
            Field::NetworkTransport => str(self.network.transport.as_deref(), test),
            Field::NetworkProtocol => str(self.network.protocol.as_deref(), test),
            Field::NetworkDirection => str(self.network.direction.as_deref(), test),
            Field::NetworkType => str(self.network.kind.as_deref(), test),
            Field::RelatedIp => self.related.ip.iter().any(|a| test(Value::Ip(*a))),
            Field::RelatedUser => strs(&self.related.user, test),
            Field::ProcessEntityId => str(p.entity_id.as_deref(), test),
            Field::ProcessPid => int(p.pid, test),
            Field::ProcessName => str(p.name.as_deref(), test),
            Field::ProcessExecutable => str(p.executable.as_deref(), test),
            Field::ProcessArgs => strs(&p.args, test),
            Field::ProcessArgsCount => int(p.args_count, test),
            Field::ProcessCommandLine => str(p.command_line.as_deref(), test),
            Field::ProcessWorkingDirectory => str(p.working_directory.as_deref(), test),
            Field::ProcessPeOriginalFileName => str(p.pe.original_file_name.as_deref(), test),
            Field::ProcessPeCompany => str(p.pe.company.as_deref(), test),
            Field::ProcessPeDescription => str(p.pe.description.as_deref(), test),
            Field::ProcessPeProduct => str(p.pe.product.as_deref(), test),
            Field::ProcessPeFileVersion => str(p.pe.file_version.as_deref(), test),
            Field::ProcessPeImphash => str(p.pe.imphash.as_deref(), test),
            Field::ProcessHashMd5 => str(p.hash.md5.as_deref(), test),
            Field::ProcessHashSha1 => str(p.hash.sha1.as_deref(), test),
            Field::ProcessHashSha256 => str(p.hash.sha256.as_deref(), test),
            Field::ProcessParentEntityId => str(p.parent.entity_id.as_deref(), test),
            Field::ProcessParentPid => int(p.parent.pid, test),
            Field::ProcessParentName => str(p.parent.name.as_deref(), test),
            Field::ProcessParentExecutable => str(p.parent.executable.as_deref(), test),
            Field::ProcessParentCommandLine => str(p.parent.command_line.as_deref(), test),
            Field::FilePath => str(self.file.path.as_deref(), test),
            Field::FileName => str(self.file.name.as_deref(), test),
            Field::FileDirectory => str(self.file.directory.as_deref(), test),
            Field::FileExtension => str(self.file.extension.as_deref(), test),
            Field::RegistryPath => str(self.registry.path.as_deref(), test),
            Field::RegistryHive => str(self.registry.hive.as_deref(), test),
            Field::RegistryKey => str(self.registry.key.as_deref(), test),
            Field::RegistryValue => str(self.registry.value.as_deref(), test),
            Field::RegistryDataStrings => strs(&self.registry.data.strings, test),
            Field::RegistryDataType => str(self.registry.data.kind.as_deref(), test),
            Field::ServiceName => str(self.service.name.as_deref(), test),
            Field::ServiceType => str(self.service.kind.as_deref(), test),
            Field::WinlogChannel => str(w.channel.as_deref(), test),
            Field::WinlogEventId => str(w.event_id.as_deref(), test),
            Field::WinlogProviderName => str(w.provider_name.as_deref(), test),
            Field::WinlogComputerName => str(w.computer_name.as_deref(), test),
            Field::WinlogRecordId => int(w.record_id.and_then(|r| i64::try_from(r).ok()), test),
            Field::WinlogUserIdentifier => str(w.user.identifier.as_deref(), test),
            Field::WinlogProcessPid => int(w.process.pid.map(i64::from), test),
            other => match other.name().strip_prefix(EVENT_DATA) {
                Some(name) => w.event_data.values(name).any(|v| test(Value::Str(v))),
                None => false,
            },
        }
    }
}

impl Event for WinEvent {
    fn timestamp(&self) -> &str {
        &self.timestamp
    }
}
