//! Rule files: TOML shaped like Elastic's detection-rules repository, compiled into [`Rule`]s.
//!
//! ```toml
//! [metadata]
//! creation_date = "2026/11/23"
//! maturity = "production"
//!
//! [rule]
//! rule_id = "ec5fb1d6-1f59-428e-bfb0-0086cb81fded"
//! name = "Lateral Movement (T1021: Remote Services)"
//! description = "…"
//! severity = "medium"
//! risk_score = 47
//! type = "query"
//! language = "kuery"
//! query = '''event.category:"authentication" and source.ip:"10.0.0.0/8"'''
//! exceptions = ['user.name:ansible and source.ip:"10.1.2.0/24"']
//!
//! [[rule.threat]]
//! framework = "MITRE ATT&CK"
//! [rule.threat.tactic]
//! id = "TA0008"
//! name = "Lateral Movement"
//! reference = "https://attack.mitre.org/tactics/TA0008/"
//! [[rule.threat.technique]]
//! id = "T1021"
//! name = "Remote Services"
//! reference = "https://attack.mitre.org/techniques/T1021/"
//! [[rule.threat.technique.subtechnique]]
//! id = "T1021.004"
//! name = "SSH"
//! reference = "https://attack.mitre.org/techniques/T1021/004/"
//! ```
//!
//! `type = "sequence"` rules have no `query` but a `[rule.sequence]` table: see [`Sequence`].
//! Elastic's informational keys (`author`, `tags`, `references`, `false_positives`, `note`,
//! `license`, `from`, `index`, `interval`, …) are accepted and kept out of the way; any other
//! key is an error, so that a misspelt `exceptoins` never silently disables an exception.
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::kql::{KqlError, Query};
use crate::ecs;

/// A rule file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    pub rule: RuleSpec,
}

/// `[metadata]`: informational.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "informational keys: read so that they are accepted, never used"
)]
pub struct Metadata {
    creation_date: Option<String>,
    updated_date: Option<String>,
    maturity: Option<String>,
    integration: Option<toml::Value>,
    min_stack_version: Option<String>,
    min_stack_comments: Option<String>,
    deprecation_date: Option<String>,
    comments: Option<String>,
}

/// `[rule]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "informational keys: read so that they are accepted, never used"
)]
pub struct RuleSpec {
    pub rule_id: String,
    pub name: String,
    pub description: String,
    pub severity: Severity,
    pub risk_score: u8,
    #[serde(rename = "type", default = "query_type")]
    pub kind: RuleType,
    pub language: Option<String>,
    pub query: Option<String>,
    #[serde(default)]
    pub exceptions: Vec<String>,
    pub sequence: Option<SequenceSpec>,
    #[serde(default)]
    pub threat: Vec<Threat>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub false_positives: Vec<String>,
    // Keys of Elastic's rule schema that mean nothing to a host sensor: read and ignored
    // (serde's `flatten` cannot be used with `deny_unknown_fields`).
    author: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    note: Option<String>,
    setup: Option<String>,
    license: Option<String>,
    from: Option<String>,
    index: Option<Vec<String>>,
    interval: Option<String>,
    max_signals: Option<u64>,
    version: Option<u64>,
    timestamp_override: Option<String>,
    building_block_type: Option<String>,
    related_integrations: Option<toml::Value>,
    required_fields: Option<toml::Value>,
    risk_score_mapping: Option<toml::Value>,
    severity_mapping: Option<toml::Value>,
}

fn query_type() -> RuleType {
    RuleType::Query
}

/// `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    /// One KQL query, matched event by event.
    Query,
    /// Steps in order, per key, within a time span.
    Sequence,
}

/// `severity`, with the numeric `event.severity` Elastic gives each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Elastic's default severity-to-number mapping (`event.severity`).
    pub const fn number(self) -> u8 {
        match self {
            Self::Low => 21,
            Self::Medium => 47,
            Self::High => 73,
            Self::Critical => 99,
        }
    }
}

/// `[[rule.threat]]`: a MITRE ATT&CK tactic and its techniques.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Threat {
    pub framework: String,
    pub tactic: Reference,
    #[serde(default)]
    pub technique: Vec<Technique>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub reference: String,
    #[serde(default)]
    pub subtechnique: Vec<Reference>,
}

/// A tactic or subtechnique: id, name, link.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub id: String,
    pub name: String,
    pub reference: String,
}

/// `[rule.sequence]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceSpec {
    /// Fields whose values join the steps (`["source.ip"]`); empty: one sequence for all.
    #[serde(default)]
    pub by: Vec<String>,
    /// The longest time from the first event of a sequence to its last (`30s`, `10m`, `1h`).
    pub maxspan: String,
    pub steps: Vec<StepSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub query: String,
    /// How many events must match this step before the next one counts (default 1).
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub description: String,
    pub severity: Severity,
    pub risk_score: u8,
    pub threat: Vec<Threat>,
    pub references: Vec<String>,
    pub logic: Logic,
    /// Per-rule exceptions: an event matching any is not alerted on.
    pub exceptions: Vec<Query>,
    /// Where the rule was read from (`builtin:linux/x.toml` or a path).
    pub origin: String,
}

/// What a rule matches.
#[derive(Debug, Clone)]
pub enum Logic {
    Query(Query),
    Sequence(Sequence),
}

/// A sequence rule: `steps` in order, by the same `by` values, all within `maxspan`, after
/// Elastic's EQL `sequence by … with maxspan=…` and threshold rules. A step with `count = N`
/// needs N matching events (within `maxspan` of each other) before the next step counts, so
/// "5 failed logins then a success from the same address within 10 minutes" is two steps.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub by: Vec<ecs::Field>,
    pub maxspan: Duration,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub query: Query,
    pub count: u32,
}

/// Why a rule did not load. The caller adds the file.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Toml(String),
    #[error("`language` is `{0}`: only `kuery` (KQL) is supported")]
    Language(String),
    #[error("{what}: {source}")]
    Query {
        what: String,
        #[source]
        source: KqlError,
    },
    #[error("a `type = \"query\"` rule needs `query`")]
    NoQuery,
    #[error("a `type = \"query\"` rule takes no `[rule.sequence]`")]
    StraySequence,
    #[error("a `type = \"sequence\"` rule needs `[rule.sequence]` with at least one step")]
    NoSequence,
    #[error(
        "a `type = \"sequence\"` rule takes its queries in `[[rule.sequence.steps]]`, not `query`"
    )]
    StrayQuery,
    #[error("sequence `by`: `{0}` is not a known ECS field")]
    UnknownByField(String),
    #[error("sequence `maxspan` `{0}`: expected a number and a unit (s, m, h, d), e.g. `10m`")]
    Maxspan(String),
    #[error("a sequence has {0} steps; at most {MAX_STEPS} are supported")]
    TooManySteps(usize),
    #[error("sequence step {step}: `count` must be at least 1")]
    ZeroCount { step: usize },
    #[error("`risk_score` {0} is out of 0..=100")]
    RiskScore(u8),
    #[error("`rule_id` is empty")]
    NoId,
    #[error("unknown rule variable `${{{0}}}`: the only one is `${{internal_networks}}`")]
    UnknownVariable(String),
    #[error("rule id `{id}` is already used by {other}")]
    DuplicateId { id: String, other: String },
}

/// Values rule queries may use as `${name}`, expanded before parsing.
#[derive(Debug, Clone)]
pub struct Variables {
    /// `${internal_networks}`: `("10.0.0.0/8" or …)`.
    pub internal_networks: Vec<ipnet::IpNet>,
}

/// The internal networks of the shipped rules: RFC 1918, carrier-grade NAT (RFC 6598),
/// loopback, unique local (RFC 4193) and link-local IPv6.
pub const DEFAULT_INTERNAL_NETWORKS: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
];

impl Default for Variables {
    fn default() -> Self {
        Self {
            internal_networks: DEFAULT_INTERNAL_NETWORKS
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
        }
    }
}

impl Variables {
    /// `text` with every `${name}` replaced.
    pub fn expand(&self, text: &str) -> Result<String, RuleError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else {
                return Err(RuleError::UnknownVariable(after.to_owned()));
            };
            match &after[..end] {
                "internal_networks" => {
                    let nets: Vec<String> = self
                        .internal_networks
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect();
                    out.push('(');
                    out.push_str(&nets.join(" or "));
                    out.push(')');
                }
                other => return Err(RuleError::UnknownVariable(other.to_owned())),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// MITRE ATT&CK's Lateral Movement tactic.
pub const LATERAL_MOVEMENT: &str = "TA0008";

impl Rule {
    /// A rule of the Lateral Movement tactic: its alert on a login marks the session, whose
    /// later commands are tagged with the alert and summarised when it ends.
    pub fn is_lateral_movement(&self) -> bool {
        self.threat.iter().any(|t| t.tactic.id == LATERAL_MOVEMENT)
    }
}

/// Compiles one KQL text (after variable expansion).
pub fn compile_query(what: &str, text: &str, vars: &Variables) -> Result<Query, RuleError> {
    let text = vars.expand(text)?;
    Query::compile(&text, ecs::schema()).map_err(|source| RuleError::Query {
        what: what.to_owned(),
        source,
    })
}

impl Rule {
    /// Parses and compiles one rule file's text.
    pub fn from_toml(text: &str, origin: String, vars: &Variables) -> Result<Self, RuleError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| RuleError::Toml(e.to_string()))?;
        Self::compile(file.rule, origin, vars)
    }

    fn compile(spec: RuleSpec, origin: String, vars: &Variables) -> Result<Self, RuleError> {
        if spec.rule_id.trim().is_empty() {
            return Err(RuleError::NoId);
        }
        if spec.risk_score > 100 {
            return Err(RuleError::RiskScore(spec.risk_score));
        }
        if let Some(language) = spec.language.as_deref()
            && language != "kuery"
        {
            return Err(RuleError::Language(language.to_owned()));
        }
        let logic = match spec.kind {
            RuleType::Query => {
                if spec.sequence.is_some() {
                    return Err(RuleError::StraySequence);
                }
                let text = spec.query.as_deref().ok_or(RuleError::NoQuery)?;
                Logic::Query(compile_query("query", text, vars)?)
            }
            RuleType::Sequence => {
                if spec.query.is_some() {
                    return Err(RuleError::StrayQuery);
                }
                let seq = spec.sequence.ok_or(RuleError::NoSequence)?;
                Logic::Sequence(compile_sequence(seq, vars)?)
            }
        };
        let exceptions = spec
            .exceptions
            .iter()
            .enumerate()
            .map(|(i, text)| compile_query(&format!("exception {}", i + 1), text, vars))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            id: spec.rule_id,
            name: spec.name,
            description: spec.description,
            severity: spec.severity,
            risk_score: spec.risk_score,
            threat: spec.threat,
            references: spec.references,
            logic,
            exceptions,
            origin,
        })
    }
}

/// Steps a sequence may have.
pub const MAX_STEPS: usize = 64;

fn compile_sequence(spec: SequenceSpec, vars: &Variables) -> Result<Sequence, RuleError> {
    if spec.steps.is_empty() {
        return Err(RuleError::NoSequence);
    }
    if spec.steps.len() > MAX_STEPS {
        return Err(RuleError::TooManySteps(spec.steps.len()));
    }
    let by = spec
        .by
        .iter()
        .map(|name| {
            ecs::Field::ALL
                .iter()
                .copied()
                .find(|f| f.name() == name)
                .ok_or_else(|| RuleError::UnknownByField(name.clone()))
        })
        .collect::<Result<_, _>>()?;
    let maxspan = parse_span(&spec.maxspan).ok_or(RuleError::Maxspan(spec.maxspan.clone()))?;
    let steps = spec
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            if step.count == 0 {
                return Err(RuleError::ZeroCount { step: i + 1 });
            }
            Ok(Step {
                query: compile_query(&format!("sequence step {}", i + 1), &step.query, vars)?,
                count: step.count,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Sequence { by, maxspan, steps })
}

/// `30s`, `10m`, `2h`, `1d`.
fn parse_span(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests;
