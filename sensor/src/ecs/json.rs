//! Any ECS document as JSON: the sensor's own output read back (`sensor replay` of a file
//! `sensor run` wrote, the process fixtures of the rules), or another agent's ECS events.
//!
//! A field is found by its dotted path through nested objects, and also under flattened keys
//! (`{"process.name": "…"}` or `{"process": {"pe.original_file_name": …}}`), as Elasticsearch
//! maps both. An array gives each of its values; a value of the wrong JSON type for its field's
//! type matches nothing.
use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::{Event, Field};
use crate::detect::kql::{Document, FieldId, FieldType, Value};

/// One ECS document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct JsonEvent {
    doc: Map<String, Json>,
    #[serde(skip)]
    timestamp: String,
}

impl JsonEvent {
    /// `None` unless `value` is an object.
    pub fn new(value: Json) -> Option<Self> {
        let Json::Object(doc) = value else {
            return None;
        };
        let timestamp = lookup(&doc, "@timestamp")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        Some(Self { doc, timestamp })
    }

    pub fn document(&self) -> &Map<String, Json> {
        &self.doc
    }
}

/// The value at a dotted `path`, through nested objects and flattened keys.
pub fn lookup<'a>(obj: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let mut at = 0;
    while let Some(dot) = path[at..].find('.') {
        let (head, rest) = (&path[..at + dot], &path[at + dot + 1..]);
        if let Some(Json::Object(inner)) = obj.get(head)
            && let Some(v) = lookup(inner, rest)
        {
            return Some(v);
        }
        at += dot + 1;
    }
    None
}

fn one(ty: FieldType, v: &Json, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    match (ty, v) {
        (_, Json::Array(items)) => items.iter().any(|i| one(ty, i, test)),
        (FieldType::Ip, Json::String(s)) => s
            .parse::<IpAddr>()
            .is_ok_and(|ip| test(Value::Ip(crate::parse::addr::normalize(ip)))),
        (FieldType::Long | FieldType::Date, Json::Number(n)) => {
            n.as_i64().is_some_and(|i| test(Value::Int(i)))
        }
        (FieldType::Boolean, Json::Bool(b)) => test(Value::Bool(*b)),
        (_, Json::String(s)) => test(Value::Str(s)),
        (FieldType::Keyword, Json::Number(n)) => test(Value::Str(&n.to_string())),
        (FieldType::Keyword, Json::Bool(b)) => test(Value::Str(if *b { "true" } else { "false" })),
        _ => false,
    }
}

impl Document for JsonEvent {
    fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        let Some(field) = Field::from_id(field) else {
            return false;
        };
        lookup(&self.doc, field.name()).is_some_and(|v| one(field.ty(), v, test))
    }
}

impl Event for JsonEvent {
    fn timestamp(&self) -> &str {
        &self.timestamp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::kql::Query;

    fn matches(doc: &str, query: &str) -> bool {
        let event = JsonEvent::new(serde_json::from_str(doc).unwrap()).unwrap();
        Query::compile(query, crate::ecs::schema())
            .unwrap()
            .matches(&event)
    }

    #[test]
    fn nested_flattened_and_array_fields_are_found() {
        let doc = r#"{"@timestamp":"2026-11-23T10:00:00.000000Z",
            "event":{"category":["process"],"action":"exec"},
            "process":{"name":"ssh","args":["ssh","10.0.0.9"],"pid":42,
                       "entry_leader":{"entity_id":"7-1"}},
            "source.ip":"::ffff:10.1.2.3",
            "winlog":{"event_id":1}}"#;
        assert!(matches(doc, "event.category:process and process.name:ssh"));
        assert!(matches(doc, "process.args:10.0.0.9 and process.pid >= 42"));
        assert!(matches(doc, "process.entry_leader.entity_id:\"7-1\""));
        assert!(matches(doc, "source.ip:\"10.0.0.0/8\""));
        assert!(matches(doc, "winlog.event_id:1"));
        assert!(!matches(doc, "process.name:scp"));
        assert!(!matches(doc, "user.name:*"));
    }
}
