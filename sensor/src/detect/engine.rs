//! Rules run on events: [`Engine::evaluate`] takes each event in time order and returns the
//! alerts it completes.
//!
//! A query rule alerts on an event that matches its query, none of its exceptions and none of
//! the global allowlist. A sequence rule keeps, per value of its `by` fields, how far the
//! sequence has got; memory is bounded by [`MAX_SEQUENCE_KEYS`] per rule, beyond which new
//! keys are counted in [`Engine::dropped_keys`] and not followed.
use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value as Json};

use super::{
    alert::{Alert, SequenceMatch},
    kql::{Ast, Document, Literal, Part, Query, Value, ValueExpr},
    rule::{Logic, Rule, Sequence},
};
use crate::ecs::{Event, Field};

/// Sequence keys (e.g. source addresses) followed at once, per rule.
pub const MAX_SEQUENCE_KEYS: usize = 65_536;

/// The rules, the global allowlist, and the state of the sequence rules.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Rule>,
    /// Per rule, the `event.category` values it can match at all ([`Categories`]).
    gates: Vec<Categories>,
    allowlist: Vec<Query>,
    sequences: Vec<SeqStates>,
    alerts: Vec<u64>,
    dropped_keys: u64,
}

/// One event as one sequence rule sees it: which steps it matches, its key, its time, and (if
/// it could complete the sequence) its JSON for the alert.
#[derive(Debug, Clone)]
pub struct Probe {
    rule: usize,
    mask: u64,
    key: Vec<String>,
    t: i64,
    evidence: Option<Json>,
}

/// The sequences under way for one rule, by key.
#[derive(Debug, Default)]
struct SeqStates {
    map: HashMap<Vec<String>, Progress>,
    /// Event time (µs) of the last sweep of expired keys.
    swept: Option<i64>,
}

impl SeqStates {
    /// Drops the sequences nothing has moved for `span`, at most once per `span / 8` of event
    /// time: a sweep costs a pass over every key, so it must not run for every new key.
    fn sweep(&mut self, t: i64, span: i64) {
        if self.swept.is_some_and(|s| t.saturating_sub(s) < span / 8) {
            return;
        }
        self.swept = Some(t);
        self.map.retain(|_, p| t.saturating_sub(p.last) <= span);
    }
}

/// How far one sequence has got.
#[derive(Debug, Clone)]
struct Progress {
    step: usize,
    /// Times (µs) of the events counted at the current step, oldest first.
    times: VecDeque<i64>,
    /// Time (µs) of the sequence's first event.
    first: i64,
    counts: Vec<u32>,
    last: i64,
}

impl Engine {
    /// An engine for `rules`; an event matching any `allowlist` query raises no alert.
    pub fn new(rules: Vec<Rule>, allowlist: Vec<Query>) -> Self {
        let n = rules.len();
        Self {
            gates: rules.iter().map(Categories::of_rule).collect(),
            rules,
            allowlist,
            sequences: (0..n).map(|_| SeqStates::default()).collect(),
            alerts: vec![0; n],
            dropped_keys: 0,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Alerts raised so far, per rule, in [`Engine::rules`] order.
    pub fn alert_counts(&self) -> impl Iterator<Item = (&Rule, u64)> {
        self.rules.iter().zip(self.alerts.iter().copied())
    }

    /// Sequence keys not followed because a rule already followed [`MAX_SEQUENCE_KEYS`].
    pub fn dropped_keys(&self) -> u64 {
        self.dropped_keys
    }

    /// Runs every rule on `event`, appending the alerts it raises to `out`: the query rules
    /// first, then the sequence rules, each in load order.
    pub fn evaluate<E: Event>(&mut self, event: &E, out: &mut Vec<Alert>) {
        let mut evidence = None;
        let mut raised = Vec::new();
        self.stateless(event, &mut evidence, &mut |i, alert| {
            raised.push(i);
            out.push(alert);
        });
        for i in raised {
            self.count(i);
        }
        self.stateful(event, &mut evidence, out);
    }

    /// The query rules on `event` (no state: callable from several threads at once), each
    /// alert passed to `alert` with its rule's index, for [`Engine::count`].
    pub fn evaluate_queries<E: Event>(&self, event: &E, alert: &mut dyn FnMut(usize, Alert)) {
        let mut evidence = None;
        self.stateless(event, &mut evidence, alert);
    }

    /// The sequence rules on `event`, in the order events happen.
    pub fn evaluate_sequences<E: Event>(&mut self, event: &E, out: &mut Vec<Alert>) {
        let mut evidence = None;
        self.stateful(event, &mut evidence, out);
    }

    /// Counts an alert of rule `index` raised through [`Engine::evaluate_queries`].
    pub fn count(&mut self, index: usize) {
        if let Some(n) = self.alerts.get_mut(index) {
            *n += 1;
        }
    }

    fn stateless<E: Event>(
        &self,
        event: &E,
        evidence: &mut Option<Json>,
        alert: &mut dyn FnMut(usize, Alert),
    ) {
        let categories = Categories::of_event(event);
        for (i, rule) in self.rules.iter().enumerate() {
            let Logic::Query(query) = &rule.logic else {
                continue;
            };
            if !self.gates[i].admits(categories)
                || !query.matches(event)
                || self.excepted(rule, event)
            {
                continue;
            }
            if let Some(value) = evidence_of(event, evidence) {
                alert(i, Alert::new(rule, value.clone(), None));
            }
        }
    }

    fn stateful<E: Event>(&mut self, event: &E, evidence: &mut Option<Json>, out: &mut Vec<Alert>) {
        let mut probes = Vec::new();
        self.probe(event, evidence, &mut probes);
        for probe in probes {
            self.apply(probe, out);
        }
    }

    /// What the sequence rules need of `event`, computed where the event is (no state: any
    /// thread); [`Engine::apply`] moves the sequences with it, in event order.
    pub fn probe<E: Event>(&self, event: &E, evidence: &mut Option<Json>, out: &mut Vec<Probe>) {
        let categories = Categories::of_event(event);
        for (i, rule) in self.rules.iter().enumerate() {
            let Logic::Sequence(seq) = &rule.logic else {
                continue;
            };
            if !self.gates[i].admits(categories) {
                continue;
            }
            // Bit i: the event matches step i (a rule has at most `MAX_STEPS` steps).
            let mask = seq.steps.iter().enumerate().fold(0u64, |m, (i, s)| {
                m | (u64::from(s.query.matches(event)) << i)
            });
            // Most events match no step: nothing else is done for them.
            if mask == 0 {
                continue;
            }
            let (Some(key), Some(t)) = (key(&seq.by, event), micros(event.timestamp())) else {
                continue;
            };
            // Only an event of the last step can complete a sequence: only it may need quoting.
            let last = 1 << (seq.steps.len() - 1);
            let evidence = (mask & last != 0 && !self.excepted(rule, event))
                .then(|| evidence_of(event, evidence).cloned())
                .flatten();
            out.push(Probe {
                rule: i,
                mask,
                key,
                t,
                evidence,
            });
        }
    }

    /// Moves rule `probe.rule`'s sequence with one event's [`Probe`]; a completed sequence's
    /// alert goes to `out`.
    pub fn apply(&mut self, probe: Probe, out: &mut Vec<Alert>) {
        let i = probe.rule;
        let Some(Logic::Sequence(seq)) = self.rules.get(i).map(|r| &r.logic) else {
            return;
        };
        let Some(sequence) = advance(
            seq,
            &mut self.sequences[i],
            probe.mask,
            probe.key,
            probe.t,
            &mut self.dropped_keys,
        ) else {
            return;
        };
        // A completing event that is excepted (or not serialisable) carries no evidence.
        if let Some(evidence) = probe.evidence {
            self.alerts[i] += 1;
            out.push(Alert::new(&self.rules[i], evidence, Some(sequence)));
        }
    }

    /// An exception of the rule or the global allowlist matches.
    fn excepted<E: Event>(&self, rule: &Rule, event: &E) -> bool {
        rule.exceptions.iter().any(|q| q.matches(event))
            || self.allowlist.iter().any(|q| q.matches(event))
    }
}

/// The event as JSON, serialised once per event however many rules alert on it.
fn evidence_of<'a, E: Event>(event: &E, evidence: &'a mut Option<Json>) -> Option<&'a Json> {
    if evidence.is_none() {
        match serde_json::to_value(event) {
            Ok(value) => *evidence = Some(value),
            Err(e) => {
                tracing::error!(%e, "serialising an alert's evidence failed: alert lost");
                return None;
            }
        }
    }
    evidence.as_ref()
}

/// Moves the sequence of `key` with an event at `t` matching the steps of `mask`; returns what
/// was counted when it completes.
fn advance(
    seq: &Sequence,
    seqs: &mut SeqStates,
    mask: u64,
    key: Vec<String>,
    t: i64,
    dropped: &mut u64,
) -> Option<SequenceMatch> {
    let matching = |i: usize| mask & (1 << i) != 0;
    let span = i64::try_from(seq.maxspan.as_micros()).unwrap_or(i64::MAX);
    if !seqs.map.contains_key(&key) {
        if !matching(0) {
            return None;
        }
        // Keys expire as event time moves on; past the cap a new key is counted, not followed.
        if seqs.map.len() >= MAX_SEQUENCE_KEYS / 2 {
            seqs.sweep(t, span);
        }
        if seqs.map.len() >= MAX_SEQUENCE_KEYS {
            *dropped += 1;
            return None;
        }
    }
    let states = &mut seqs.map;
    let fresh = || Progress {
        step: 0,
        times: VecDeque::new(),
        first: t,
        counts: vec![0; seq.steps.len()],
        last: t,
    };
    let p = states.entry(key.clone()).or_insert_with(fresh);
    if p.step > 0 && t.saturating_sub(p.first) > span {
        // Too late for the sequence under way: start again from this event.
        *p = fresh();
    }
    p.last = t;
    let step = p.step;
    if !matching(step) {
        // More of an earlier step while waiting for the next (more failures): counted.
        if let Some(earlier) = (0..step).rev().find(|&i| matching(i)) {
            p.counts[earlier] = p.counts[earlier].saturating_add(1);
        }
        return None;
    }
    p.times.push_back(t);
    if step == 0 {
        // Only events within maxspan of each other count together.
        while p.times.front().is_some_and(|&f| t.saturating_sub(f) > span) {
            p.times.pop_front();
        }
    }
    if p.times.len() < seq.steps[step].count as usize {
        return None;
    }
    if step == 0 {
        p.first = p.times.front().copied().unwrap_or(t);
    }
    p.counts[step] = u32::try_from(p.times.len()).unwrap_or(u32::MAX);
    p.times.clear();
    if step + 1 < seq.steps.len() {
        p.step += 1;
        return None;
    }
    let done = states.remove(&key)?;
    let by = seq
        .by
        .iter()
        .zip(key)
        .map(|(f, v)| (f.name().to_owned(), Json::String(v)))
        .collect::<Map<_, _>>();
    let first = std::time::UNIX_EPOCH
        + std::time::Duration::from_micros(u64::try_from(done.first).unwrap_or(0));
    Some(SequenceMatch {
        by,
        events: done.counts,
        first: crate::time::rfc3339(first),
    })
}

/// A set of ECS `event.category` values, as bits: which rules an event can possibly match is
/// decided once per event, before any query runs. A rule whose query (every step's, for a
/// sequence) is a conjunction with an `event.category` test, as nearly every rule is, is
/// skipped for events of other categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Categories(u32);

impl Categories {
    /// ECS's allowed values of `event.category`; any other value is bit 31.
    const NAMES: [&str; 20] = [
        "api",
        "authentication",
        "configuration",
        "database",
        "driver",
        "email",
        "file",
        "host",
        "iam",
        "intrusion_detection",
        "library",
        "malware",
        "network",
        "package",
        "process",
        "registry",
        "session",
        "threat",
        "vulnerability",
        "web",
    ];
    const OTHER: u32 = 1 << 31;
    const ANY: Self = Self(u32::MAX);

    fn bit(name: &str) -> u32 {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map_or(Self::OTHER, |i| 1 << i)
    }

    fn of_event<D: Document>(event: &D) -> Self {
        static ID: std::sync::OnceLock<Option<crate::detect::kql::FieldId>> =
            std::sync::OnceLock::new();
        let Some(id) = *ID.get_or_init(|| crate::ecs::schema().id(Field::EventCategory.name()))
        else {
            return Self(0);
        };
        let mut bits = 0;
        event.any_value(id, &mut |v| {
            if let Value::Str(s) = v {
                bits |= Self::bit(s);
            }
            false
        });
        Self(bits)
    }

    fn of_rule(rule: &Rule) -> Self {
        let asts: Vec<&Ast> = match &rule.logic {
            Logic::Query(q) => vec![q.ast()],
            Logic::Sequence(s) => s.steps.iter().map(|st| st.query.ast()).collect(),
        };
        asts.iter()
            .map(|ast| Self::required(ast).unwrap_or(Self::ANY))
            .fold(Self(0), |a, b| Self(a.0 | b.0))
    }

    /// The categories a query requires: those of an `event.category:…` test that must hold
    /// for the whole query to (a plain value, or an `or` of plain values); `None` if unknown.
    fn required(ast: &Ast) -> Option<Self> {
        match ast {
            Ast::And(all) => all.iter().find_map(Self::required),
            Ast::Match { field, value } if field == Field::EventCategory.name() => {
                Self::values(value).map(Self)
            }
            _ => None,
        }
    }

    fn values(value: &ValueExpr) -> Option<u32> {
        // Bit 31 stands for every value outside ECS's list: a rule naming one is gated on
        // all of them, which only lets through more.
        match value {
            ValueExpr::Literal(Literal::Quoted(text)) => Some(Self::bit(text)),
            ValueExpr::Literal(lit @ Literal::Unquoted(parts)) if !lit.has_wildcard() => {
                let text: String = parts
                    .iter()
                    .map(|p| match p {
                        Part::Text(t) => t.as_str(),
                        Part::Wildcard => "",
                    })
                    .collect();
                Some(Self::bit(&text))
            }
            ValueExpr::Or(values) => values
                .iter()
                .map(Self::values)
                .try_fold(0, |acc, v| v.map(|v| acc | v)),
            _ => None,
        }
    }

    fn admits(self, event: Self) -> bool {
        self == Self::ANY || self.0 & event.0 != 0
    }
}

/// The first value of each `by` field, as text; `None` if one is missing.
fn key<D: Document>(by: &[Field], event: &D) -> Option<Vec<String>> {
    let schema = crate::ecs::schema();
    by.iter()
        .map(|field| {
            let id = schema.id(field.name())?;
            let mut text = None;
            event.any_value(id, &mut |v| {
                text = Some(match v {
                    Value::Str(s) => s.to_owned(),
                    Value::Ip(ip) => crate::parse::addr::normalize(ip).to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Bool(b) => b.to_string(),
                });
                true
            });
            text
        })
        .collect()
}

/// µs since the epoch of an RFC 3339 timestamp. The sensor's own form
/// (`2026-11-23T10:00:00.123456Z`, what every Linux event carries) is read directly; any other
/// goes through chrono.
fn micros(text: &str) -> Option<i64> {
    fast_micros(text.as_bytes()).or_else(|| {
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp_micros())
    })
}

fn fast_micros(b: &[u8]) -> Option<i64> {
    if b.len() != 27 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'.' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || b[26] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Howard Hinnant's `days_from_civil`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + us)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fast_timestamp_reader_agrees_with_chrono() {
        for text in [
            "1970-01-01T00:00:00.000000Z",
            "2026-11-23T10:00:00.123456Z",
            "2024-02-29T23:59:59.999999Z",
            "2000-03-01T00:00:00.000001Z",
            "9999-12-31T23:59:59.999999Z",
        ] {
            let want = chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| t.timestamp_micros())
                .ok();
            assert_eq!(super::fast_micros(text.as_bytes()), want, "{text}");
        }
        assert_eq!(super::fast_micros(b"2026-13-23T10:00:00.123456Z"), None);
        assert_eq!(
            super::micros("2026-11-23T11:00:00+01:00"),
            super::micros("2026-11-23T10:00:00.000000Z")
        );
    }
}
