//! Fuzzes the KQL parser with arbitrary UTF-8 queries.
//!
//! Checks: parsing never panics (nor overflows the stack); a query that parses prints (its
//! normalised `Display`) as text that parses back to an equal tree and prints unchanged; and
//! compiling that tree against a schema of its own fields (types chosen from the field
//! names), then evaluating it on a document holding a value of every kind, never panics.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;

#[expect(
    dead_code,
    unused_imports,
    reason = "a binary that uses only part of the module's public API"
)]
#[path = "../../sensor/src/detect/kql/mod.rs"]
mod kql;

use kql::{Document, FieldId, FieldType, Query, Schema, Value};

const TYPES: [FieldType; 5] = [
    FieldType::Keyword,
    FieldType::Ip,
    FieldType::Long,
    FieldType::Boolean,
    FieldType::Date,
];

/// Every field has one value of each kind, so every predicate meets every variant.
struct Everything;

impl Document for Everything {
    fn any_value(&self, _field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        [
            Value::Str(""),
            Value::Str("a"),
            Value::Str("10.1.2.3"),
            Value::Str("-5"),
            Value::Str("true"),
            Value::Ip(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))),
            Value::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            Value::Int(i64::MIN),
            Value::Int(0),
            Value::Bool(false),
        ]
        .into_iter()
        .any(test)
    }
}

/// No field has a value.
struct Nothing;

impl Document for Nothing {
    fn any_value(&self, _field: FieldId, _test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        false
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ast) = kql::parse(query) else {
        return;
    };
    let printed = ast.to_string();
    let reparsed = kql::parse(&printed)
        .unwrap_or_else(|e| panic!("{query:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(reparsed, ast, "{query:?} printed as {printed:?}");
    assert_eq!(reparsed.to_string(), printed, "printing is not stable");

    let mut schema = Schema::new();
    for name in ast.fields() {
        let ty = TYPES[name.len() % TYPES.len()];
        schema.add(name, ty, name.len() % 2 == 0);
    }
    assert_eq!(schema.len(), ast.fields().len());
    assert!(
        schema
            .fields()
            .all(|(id, def)| schema.id(&def.name) == Some(id))
    );
    if let Ok(compiled) = Query::from_ast(ast, &schema) {
        assert_eq!(compiled.fields().len(), schema.len());
        let _ = compiled.matches(&Everything);
        let _ = compiled.matches(&Nothing);
        assert_eq!(compiled.to_string(), printed);
    }
});
