//! [`WinRecord`]: a Windows event as the event log holds it (the System part and EventData's
//! name/value pairs), before any ECS mapping; and its reading from the JSON the `evtx` crate
//! renders a record as.
//!
//! The `evtx` crate renders `<Data Name="Image">C:\x.exe</Data>` as `"Image": "C:\\x.exe"`
//! under `Event.EventData`, XML attributes under `#attributes` and an element's text beside
//! attributes under `#text` (its `separate_json_attributes` is off by default). Unnamed `<Data>`
//! values (classic providers) are named `param1`, `param2`, … as Winlogbeat names them
//! (`winlogbeat/sys/winevent/event.go`, `EventData` without names).
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// One event log record: the System part and the EventData pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WinRecord {
    /// `System/Provider/@Name`.
    pub provider: String,
    /// `System/EventID`, as decimal text (`"4688"`).
    pub event_id: String,
    /// `System/Channel`.
    pub channel: String,
    /// `System/Computer`.
    pub computer: String,
    /// `System/EventRecordID`.
    pub record_id: Option<u64>,
    /// `System/TimeCreated/@SystemTime` as written (RFC 3339, UTC).
    pub time_created: Option<String>,
    /// `System/Security/@UserID`: the SID the event was logged for.
    pub user_sid: Option<String>,
    /// `System/Execution/@ProcessID`: the process that logged it.
    pub process_id: Option<u32>,
    /// `System/Keywords` by name: `Audit Success`, `Audit Failure`, `Classic`.
    pub keywords: Vec<String>,
    /// `EventData/Data`, name and value, in order.
    pub event_data: Vec<(String, String)>,
}

/// Why a rendered record is not an event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    #[error("the record is not a JSON object with an `Event` object")]
    NoEvent,
    #[error("the record has no `Event.System` object")]
    NoSystem,
}

/// The Keywords bits Windows names (winmeta.xml): Winlogbeat writes them as `winlog.keywords`.
const KEYWORDS: [(u64, &str); 3] = [
    (0x0020_0000_0000_0000, "Audit Success"),
    (0x0010_0000_0000_0000, "Audit Failure"),
    (0x0080_0000_0000_0000, "Classic"),
];

impl WinRecord {
    /// Reads the JSON the `evtx` crate renders one record as (`{"Event": {"System": …}}`).
    pub fn from_evtx_json(record: &Value) -> Result<Self, RecordError> {
        let event = record
            .get("Event")
            .and_then(Value::as_object)
            .ok_or(RecordError::NoEvent)?;
        let system = event
            .get("System")
            .and_then(Value::as_object)
            .ok_or(RecordError::NoSystem)?;
        let mut out = Self {
            provider: attribute(system.get("Provider"), "Name").unwrap_or_default(),
            event_id: system.get("EventID").and_then(text).unwrap_or_default(),
            channel: system.get("Channel").and_then(text).unwrap_or_default(),
            computer: system.get("Computer").and_then(text).unwrap_or_default(),
            record_id: system.get("EventRecordID").and_then(number),
            time_created: attribute(system.get("TimeCreated"), "SystemTime"),
            user_sid: attribute(system.get("Security"), "UserID"),
            process_id: attribute(system.get("Execution"), "ProcessID")
                .and_then(|p| p.parse().ok()),
            keywords: system
                .get("Keywords")
                .and_then(text)
                .map(|k| keyword_names(&k))
                .unwrap_or_default(),
            event_data: Vec::new(),
        };
        if let Some(data) = event.get("EventData") {
            event_data(data, &mut out.event_data);
        }
        Ok(out)
    }
}

/// The names of the bits of a `Keywords` mask written as `0x…` hex.
pub fn keyword_names(mask: &str) -> Vec<String> {
    let hex = mask
        .strip_prefix("0x")
        .or_else(|| mask.strip_prefix("0X"))
        .unwrap_or(mask);
    let Ok(bits) = u64::from_str_radix(hex, 16) else {
        return Vec::new();
    };
    KEYWORDS
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| (*name).to_owned())
        .collect()
}

/// An attribute of an element: `{"#attributes": {"Name": …}}`.
fn attribute(element: Option<&Value>, name: &str) -> Option<String> {
    element?.get("#attributes")?.get(name).and_then(text)
}

/// A scalar as text; an element with attributes gives its `#text`. Null, arrays and objects
/// without text have none.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(o) => o.get("#text").and_then(text),
        Value::Null | Value::Array(_) => None,
    }
}

fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("#text").and_then(number),
        _ => None,
    }
}

/// `EventData`'s values, by name. `"Data"` holds unnamed values (one, or an array), named
/// `param1`… as Winlogbeat does.
fn event_data(data: &Value, out: &mut Vec<(String, String)>) {
    let Value::Object(fields) = data else {
        return;
    };
    let mut params = 0;
    for (name, value) in fields {
        if name == "#attributes" {
            continue;
        }
        if name == "Data" || name == "#text" {
            unnamed(value, &mut params, out);
        } else {
            values(name, value, out);
        }
    }
}

fn unnamed(value: &Value, params: &mut usize, out: &mut Vec<(String, String)>) {
    match value {
        Value::Array(items) => {
            for item in items {
                unnamed(item, params, out);
            }
        }
        Value::Object(o) if o.contains_key("#text") => {
            if let Some(t) = o.get("#text") {
                unnamed(t, params, out);
            }
        }
        other => {
            if let Some(t) = scalar_or_json(other) {
                *params += 1;
                out.push((format!("param{params}"), t));
            }
        }
    }
}

/// One named value: a scalar as text, each item of an array, an object as its `#text` or as
/// its JSON text.
pub fn values(name: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Array(items) => {
            for item in items {
                if let Some(t) = scalar_or_json(item) {
                    out.push((name.to_owned(), t));
                }
            }
        }
        other => {
            if let Some(t) = scalar_or_json(other) {
                out.push((name.to_owned(), t));
            }
        }
    }
}

fn scalar_or_json(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Object(o) => match o.get("#text") {
            Some(t) => text(t),
            None => Some(Value::Object(Map::clone(o)).to_string()),
        },
        Value::Array(_) => Some(value.to_string()),
        other => text(other),
    }
}
