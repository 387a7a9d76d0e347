//! The alert: what the sensor writes when a rule matches. Schema version [`SCHEMA_VERSION`].
//!
//! An alert is one ECS document, `event.kind: "alert"`:
//!
//! | field | what |
//! |---|---|
//! | `@timestamp` | the time of the event that completed the match (not of the sensor's clock, so a replay gives the same alert twice) |
//! | `ecs.version` | the ECS version the names follow |
//! | `event.kind`, `.category`, `.type`, `.action`, `.outcome` | `alert`, then the evidence's own |
//! | `event.dataset`, `.module` | `sensor.alert`, `sensor` |
//! | `event.severity`, `.risk_score` | the rule's severity as Elastic numbers it (21, 47, 73, 99), its risk score |
//! | `rule.id`, `.uuid`, `.name`, `.description`, `.ruleset`, `.reference` | the rule (`ruleset`: `builtin` or the file it came from) |
//! | `threat.framework`, `threat.tactic.*`, `threat.technique.*`, `threat.technique.subtechnique.*` | MITRE ATT&CK, as ECS arrays of ids, names and links |
//! | `host`, `user`, `source`, `destination`, `ssh`, `system`, `process`, `file`, `service`, `winlog`, `related` | copied from the evidence where it has them |
//! | `sensor.alert.schema_version` | [`SCHEMA_VERSION`] |
//! | `sensor.alert.id` | a hash of the rule id and the evidence: the same match always has the same id (deduplication) |
//! | `sensor.alert.severity` | `low`, `medium`, `high` or `critical` |
//! | `sensor.alert.sequence` | sequence rules: the `by` values, and the events counted at each step |
//! | `sensor.alert.process_context` | `sensor run`: `joined`, `not_found` or `missing` (see [`AlertMeta`]) |
//! | `sensor.session` | `sensor run`: the session's id and the commands run in it so far |
//! | `sensor.evidence` | the whole event that completed the match |
//!
//! Changing the meaning or the type of a field, or removing one, bumps the schema version;
//! adding a field does not.
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use super::rule::{Rule, Threat};

/// The version of the alert schema above.
pub const SCHEMA_VERSION: u32 = 1;

/// The ECS version field names follow.
pub const ECS_VERSION: &str = "8.11.0";

/// The top-level objects of the evidence an alert repeats.
const CONTEXT: &[&str] = &[
    "host",
    "user",
    "source",
    "destination",
    "ssh",
    "system",
    "process",
    "file",
    "service",
    "registry",
    "winlog",
    "related",
];

/// One alert.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub ecs: EcsVersion,
    pub event: AlertEvent,
    pub rule: RuleFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat: Option<ThreatFields>,
    /// The evidence's context objects (`host`, `user`, `source`, …).
    #[serde(flatten)]
    pub context: Map<String, Value>,
    pub sensor: AlertSensor,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EcsVersion {
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertEvent {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub category: Value,
    #[serde(rename = "type", skip_serializing_if = "Value::is_null")]
    pub kind_of: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub action: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub outcome: Value,
    pub dataset: &'static str,
    pub module: &'static str,
    pub severity: u8,
    pub risk_score: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleFields {
    pub id: String,
    pub uuid: String,
    pub name: String,
    pub description: String,
    pub ruleset: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// ECS `threat.*`: parallel arrays, one entry per tactic, technique, subtechnique.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ThreatFields {
    pub framework: String,
    pub tactic: Refs,
    pub technique: TechniqueRefs,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Refs {
    pub id: Vec<String>,
    pub name: Vec<String>,
    pub reference: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TechniqueRefs {
    pub id: Vec<String>,
    pub name: Vec<String>,
    pub reference: Vec<String>,
    #[serde(skip_serializing_if = "Refs::is_empty")]
    pub subtechnique: Refs,
}

impl Refs {
    fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    fn push(&mut self, id: &str, name: &str, reference: &str) {
        if !self.id.iter().any(|i| i == id) {
            self.id.push(id.to_owned());
            self.name.push(name.to_owned());
            self.reference.push(reference.to_owned());
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertSensor {
    pub alert: AlertMeta,
    /// The kernel's view of the session (`sensor run`): its id and the commands seen so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionContext>,
    pub evidence: Value,
}

/// `sensor.session` of an alert.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionContext {
    /// The entry leader's (the connection's sshd process's) entity id.
    pub id: String,
    /// What ran in the session before the alert, in start order (at most 100).
    pub commands: Vec<Command>,
}

/// One command of a session.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Command {
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub entity_id: String,
    pub pid: u32,
    pub name: String,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertMeta {
    pub schema_version: u32,
    pub id: String,
    pub severity: &'static str,
    /// `sensor run`: `joined` (the login was joined to its kernel session), `not_found` (the
    /// tracer runs but did not see the record's pid) or `missing` (log-only mode, no eBPF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_context: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequenceMatch>,
}

/// What a sequence rule counted.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SequenceMatch {
    /// The `by` field names and the values the steps shared.
    pub by: Map<String, Value>,
    /// Events counted at each step, in step order.
    pub events: Vec<u32>,
    /// `@timestamp` of the first event counted.
    pub first: String,
}

impl Alert {
    /// The alert `rule` raises on `evidence` (an ECS event serialised to JSON). Object keys
    /// are put in sorted order, so the alert's text and id never depend on whether a crate in
    /// the build turned on serde_json's `preserve_order`.
    pub fn new(rule: &Rule, mut evidence: Value, sequence: Option<SequenceMatch>) -> Self {
        sort_keys(&mut evidence);
        let field = |name: &str| evidence.get("event").and_then(|e| e.get(name)).cloned();
        let mut context: Map<String, Value> = CONTEXT
            .iter()
            .filter_map(|&key| Some((key.to_owned(), evidence.get(key)?.clone())))
            .collect();
        context.sort_keys();
        let timestamp = evidence
            .get("@timestamp")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = alert_id(&rule.id, &evidence);
        Self {
            timestamp,
            ecs: EcsVersion {
                version: ECS_VERSION,
            },
            event: AlertEvent {
                kind: "alert",
                category: field("category").unwrap_or(Value::Null),
                kind_of: field("type").unwrap_or(Value::Null),
                action: field("action").unwrap_or(Value::Null),
                outcome: field("outcome").unwrap_or(Value::Null),
                dataset: "sensor.alert",
                module: "sensor",
                severity: rule.severity.number(),
                risk_score: f64::from(rule.risk_score),
            },
            rule: RuleFields {
                id: rule.id.clone(),
                uuid: rule.id.clone(),
                name: rule.name.clone(),
                description: rule.description.clone(),
                ruleset: rule.origin.clone(),
                reference: rule.references.first().cloned(),
            },
            threat: threat_fields(&rule.threat),
            context,
            sensor: AlertSensor {
                alert: AlertMeta {
                    schema_version: SCHEMA_VERSION,
                    id,
                    severity: rule.severity.as_str(),
                    process_context: None,
                    sequence,
                },
                session: None,
                evidence,
            },
        }
    }
}

fn threat_fields(threats: &[Threat]) -> Option<ThreatFields> {
    let first = threats.first()?;
    let mut out = ThreatFields {
        framework: first.framework.clone(),
        ..ThreatFields::default()
    };
    for threat in threats {
        let t = &threat.tactic;
        out.tactic.push(&t.id, &t.name, &t.reference);
        for technique in &threat.technique {
            if !out.technique.id.contains(&technique.id) {
                out.technique.id.push(technique.id.clone());
                out.technique.name.push(technique.name.clone());
                out.technique.reference.push(technique.reference.clone());
            }
            for sub in &technique.subtechnique {
                out.technique
                    .subtechnique
                    .push(&sub.id, &sub.name, &sub.reference);
            }
        }
    }
    Some(out)
}

/// Sorts the keys of every object in `value`.
fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// 64-bit FNV-1a of the rule id and the evidence's JSON, in hex: stable across runs and
/// machines (serde_json writes object keys in a fixed order).
fn alert_id(rule_id: &str, evidence: &Value) -> String {
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    hash.eat(rule_id.as_bytes());
    hash.eat(&[0]);
    // Streamed into the hash: no text of the evidence is built.
    let _ = serde_json::to_writer(&mut hash, evidence);
    let mut text = String::with_capacity(16);
    let _ = write!(text, "{:016x}", hash.0);
    text
}

/// 64-bit FNV-1a as a writer.
struct Fnv(u64);

impl Fnv {
    fn eat(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl std::io::Write for Fnv {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.eat(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
