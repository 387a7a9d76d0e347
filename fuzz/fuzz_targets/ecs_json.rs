//! Arbitrary bytes as one JSON document, through `sensor::ecs::json::JsonEvent` (the ECS events
//! `sensor replay` reads back, the rules' process fixtures, another agent's output), with
//! compiled KQL queries run on it: every query of the shipped rules (queries, exceptions,
//! sequence steps) and a few that reach the ip, long and date fields, ranges and wildcards.
//!
//! Uses the `sensor` crate itself (built with `AYA_BUILD_SKIP=1`, see `.cargo/config.toml`), for
//! `ecs::schema()` and the shipped rules as the sensor compiles them.
//!
//! Beyond "no panic, no hang": an event is made exactly from a JSON object, twice the same, with
//! `@timestamp` the document's string there (or empty); it serialises to JSON that reads back
//! as an equal event (floats within a few units in the last place: serde_json, without its
//! `float_roundtrip` feature, parses `88888888888888888888888888888888888888888888888` to
//! 8.888888888888887e46, whose shortest form reads back as 8.888888888888888e46); each field gives only values of its type's variants (`Ip` for ip
//! fields, `Int` for long and date fields, `Bool` for boolean fields, `Str` for any), and
//! `any_value` is true exactly when a value passes the test; every query gives the same answer
//! twice, the same on an exactly equal read-back event, and the opposite of its negation
//! (`not (q)`).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sensor::detect::kql::{Document, FieldType, Query, Value};
use sensor::detect::rule::Logic;
use sensor::detect::{RuleSources, load};
use sensor::ecs::json::{JsonEvent, lookup};
use sensor::ecs::{Event, Field, schema};

/// Queries over the field types the shipped rules leave out.
const EXTRA: &[&str] = &[
    r#"source.ip:"10.0.0.0/8" or related.ip:("fc00::/7" or "::ffff:192.168.0.0/112")"#,
    r#"destination.ip >= "10.0.0.0" and destination.ip < "::ffff:11.0.0.0""#,
    "source.port >= 1024 and process.pid < 100 and not process.exit_code:0",
    "winlog.record_id:81234 or winlog.process.pid > -1 or process.args_count <= 2",
    r#"@timestamp >= "2026-11-20" and @timestamp < 1800000000000"#,
    "process.args:*ssh* and process.name:s*h and user.name:*",
    "event.category:(process and not authentication) or event.type:start",
    r#"host.name:vm or host.hostname:"" or message:*Accepted*"#,
];

/// `(the query, not (the query))` pairs, compiled once.
fn queries() -> &'static [(Query, Query)] {
    static QUERIES: OnceLock<Vec<(Query, Query)>> = OnceLock::new();
    QUERIES.get_or_init(|| {
        let loaded = load(&RuleSources {
            builtin: true,
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("the shipped rules: {e}"));
        let mut texts: Vec<String> = EXTRA.iter().map(|q| (*q).to_owned()).collect();
        for rule in &loaded.rules {
            match &rule.logic {
                Logic::Query(q) => texts.push(q.ast().to_string()),
                Logic::Sequence(s) => {
                    texts.extend(s.steps.iter().map(|s| s.query.ast().to_string()))
                }
            }
            texts.extend(rule.exceptions.iter().map(|q| q.ast().to_string()));
        }
        texts
            .iter()
            .map(|text| {
                let compile =
                    |t: &str| Query::compile(t, schema()).unwrap_or_else(|e| panic!("{t:?}: {e}"));
                (compile(text), compile(&format!("not ({text})")))
            })
            .collect()
    })
}

/// Floats this many units in the last place apart read as the same (see the module's doc).
const FLOAT_ULPS: u64 = 8;

/// `a` and `b` are equal JSON, floats within [`FLOAT_ULPS`].
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) if x.is_f64() && y.is_f64() => {
            let (Some(x), Some(y)) = (x.as_f64(), y.as_f64()) else {
                return false;
            };
            x == y || (x.signum() == y.signum() && x.to_bits().abs_diff(y.to_bits()) <= FLOAT_ULPS)
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (J::Object(x), J::Object(y)) => same_map(x, y),
        _ => a == b,
    }
}

fn same_map(
    a: &serde_json::Map<String, serde_json::Value>,
    b: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
}

/// The variants `field` gives on `event`, and what `any_value` said when every test failed.
fn variants(event: &JsonEvent, field: Field) -> (Vec<u8>, bool) {
    let id = schema().id(field.name()).expect("a catalogue field");
    let mut seen = Vec::new();
    let any = event.any_value(id, &mut |v| {
        seen.push(match v {
            Value::Str(_) => 0,
            Value::Ip(_) => 1,
            Value::Int(_) => 2,
            Value::Bool(_) => 3,
        });
        false
    });
    (seen, any)
}

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let is_object = json.is_object();
    let Some(event) = JsonEvent::new(json.clone()) else {
        assert!(!is_object, "an object was refused");
        return;
    };
    assert!(is_object, "a non-object made an event");
    assert_eq!(Some(&event), JsonEvent::new(json).as_ref());
    let stamp = lookup(event.document(), "@timestamp").and_then(serde_json::Value::as_str);
    assert_eq!(event.timestamp(), stamp.unwrap_or_default());

    let text = serde_json::to_string(&event).expect("an event serialises");
    let back = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let back = JsonEvent::new(back).expect("an object reads back as an object");
    let exact = back == event;
    assert!(
        exact || same_map(back.document(), event.document()),
        "{text} reads back differently: {back:?}"
    );
    assert_eq!(back.timestamp(), event.timestamp());

    for &field in Field::ALL {
        let (seen, any) = variants(&event, field);
        assert!(!any, "{}: true with every test failing", field.name());
        let allowed: &[u8] = match field.ty() {
            FieldType::Ip => &[0, 1],
            FieldType::Long | FieldType::Date => &[0, 2],
            FieldType::Boolean => &[0, 3],
            FieldType::Keyword => &[0],
        };
        assert!(
            seen.iter().all(|v| allowed.contains(v)),
            "{} gave variants {seen:?}",
            field.name()
        );
        let id = schema().id(field.name()).expect("a catalogue field");
        assert_eq!(
            event.any_value(id, &mut |_| true),
            !seen.is_empty(),
            "{}: any_value disagrees with its values",
            field.name()
        );
    }

    for (query, negated) in queries() {
        let answer = query.matches(&event);
        assert_eq!(answer, query.matches(&event), "{query} changed its answer");
        if exact {
            assert_eq!(
                answer,
                query.matches(&back),
                "{query} on the read-back event"
            );
        }
        assert_eq!(!answer, negated.matches(&event), "{query} and {negated}");
    }
});
