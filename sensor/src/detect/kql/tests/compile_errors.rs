//! Queries that parse but do not fit the schema, and the schema itself.

use super::super::{FieldType, KqlError, ParseErrorKind, Query, Schema, parse};
use super::schema;

fn err(query: &str) -> KqlError {
    match Query::compile(query, &schema()) {
        Ok(q) => panic!("{query:?} compiled as {q}"),
        Err(e) => e,
    }
}

#[track_caller]
fn fails(query: &str, message: &str) {
    assert_eq!(err(query).to_string(), message, "query {query:?}");
}

#[test]
fn unknown_field_is_named() {
    let msg = "unknown field `nosuch.field`: it is not in the schema";
    fails("nosuch.field:x", msg);
    fails("nosuch.field > 5", msg);
    fails(
        "user.name:x and not (a:1 or nosuch.field:(x or y))",
        "unknown field `a`: it is not in the schema",
    );
    fails(
        "Source.IP:1.2.3.4",
        "unknown field `Source.IP`: it is not in the schema",
    );
    assert_eq!(
        err("source:1.2.3.4"),
        KqlError::UnknownField {
            field: "source".into()
        }
    );
}

#[test]
fn invalid_ip_is_named() {
    let ip = "an IP address or CIDR network (quote IPv6 or escape its `:`)";
    fails(
        r#"source.ip:"not-an-ip""#,
        &format!(r#"field `source.ip` (ip): `"not-an-ip"` is not {ip}"#),
    );
    fails(
        "source.ip:10.0.0.0/33",
        &format!("field `source.ip` (ip): `10.0.0.0/33` is not {ip}"),
    );
    fails(
        "source.ip:10.0.0/8",
        &format!("field `source.ip` (ip): `10.0.0/8` is not {ip}"),
    );
    fails(
        r#"source.ip:"fc00::/129""#,
        &format!(r#"field `source.ip` (ip): `"fc00::/129"` is not {ip}"#),
    );
    fails(
        r#"related.ip:(10.0.0.1 or "x")"#,
        &format!(r#"field `related.ip` (ip): `"x"` is not {ip}"#),
    );
    fails(
        "source.ip > 10.0.0.0/8",
        "field `source.ip` (ip): `10.0.0.0/8` is not an IP address",
    );
}

#[test]
fn invalid_integer_is_named() {
    fails(
        "process.pid:abc",
        "field `process.pid` (long): `abc` is not a 64-bit integer",
    );
    fails(
        "process.pid:99999999999999999999",
        "field `process.pid` (long): `99999999999999999999` is not a 64-bit integer",
    );
    fails(
        "process.pid:1.5",
        "field `process.pid` (long): `1.5` is not a 64-bit integer",
    );
    fails(
        r#"process.pid >= "x""#,
        r#"field `process.pid` (long): `"x"` is not a 64-bit integer"#,
    );
}

#[test]
fn invalid_boolean_is_named() {
    fails(
        "process.interactive:yes",
        "field `process.interactive` (boolean): `yes` is not `true` or `false`",
    );
    fails(
        "process.interactive:TRUE",
        "field `process.interactive` (boolean): `TRUE` is not `true` or `false`",
    );
}

#[test]
fn wildcard_only_on_keywords() {
    fails(
        "source.ip:10.*",
        "field `source.ip` (ip): wildcard `10.*` is only supported on keyword fields",
    );
    fails(
        "process.pid:1*",
        "field `process.pid` (long): wildcard `1*` is only supported on keyword fields",
    );
    fails(
        "@timestamp:2024-*",
        "field `@timestamp` (date): wildcard `2024-*` is only supported on keyword fields",
    );
    // `*` alone is the existence test, valid on every type.
    for field in [
        "source.ip",
        "process.pid",
        "process.interactive",
        "@timestamp",
    ] {
        Query::compile(&format!("{field}:*"), &schema()).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn range_not_on_booleans() {
    fails(
        "process.interactive > true",
        "field `process.interactive` (boolean): range comparisons are not supported on boolean fields",
    );
}

#[test]
fn parse_errors_pass_through() {
    let e = err("source.ip:");
    assert!(
        matches!(&e, KqlError::Parse(p) if p.column == 11 && matches!(p.kind, ParseErrorKind::ExpectedValue { .. }))
    );
    assert_eq!(
        e.to_string(),
        "column 11: expected a value after `:`, found the end of the query"
    );
}

#[test]
fn from_ast_compiles_a_parsed_query() {
    let ast = parse("user.name:root").unwrap_or_else(|e| panic!("{e}"));
    let query = Query::from_ast(ast.clone(), &schema()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(query.ast(), &ast);
    assert_eq!(query.to_string(), "user.name:root");
}

#[test]
fn query_lists_its_field_ids() {
    let s = schema();
    let query = Query::compile(
        "user.name:x and (source.ip:1.2.3.4 or not user.name:y) and process.pid > 3",
        &s,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<_> = ["source.ip", "user.name", "process.pid"]
        .iter()
        .filter_map(|f| s.id(f))
        .collect();
    assert_eq!(query.fields(), ids.as_slice());
}

#[test]
fn schema_ids_are_insertion_indexes_and_redefinition_keeps_them() {
    let mut s = Schema::new()
        .field("a", FieldType::Keyword)
        .multi_field("b", FieldType::Ip);
    assert_eq!((s.len(), s.is_empty()), (2, false));
    let b = s.id("b").unwrap_or_else(|| panic!("b"));
    assert_eq!(b.index(), 1);
    assert!(
        s.get(b)
            .is_some_and(|d| d.multi_valued && d.ty == FieldType::Ip)
    );
    assert_eq!(s.add("b", FieldType::Long, false), b);
    assert!(
        s.get(b)
            .is_some_and(|d| !d.multi_valued && d.ty == FieldType::Long)
    );
    let names: Vec<_> = s
        .fields()
        .map(|(id, d)| (id.index(), d.name.as_str()))
        .collect();
    assert_eq!(names, [(0, "a"), (1, "b")]);
    assert!(Schema::new().is_empty());
    assert_eq!(s.id("c"), None);
}

#[test]
fn field_type_names() {
    let names: Vec<_> = [
        FieldType::Keyword,
        FieldType::Ip,
        FieldType::Long,
        FieldType::Boolean,
        FieldType::Date,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(names, ["keyword", "ip", "long", "boolean", "date"]);
}

#[test]
fn compiled_queries_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>(_: &T) {}
    let query = Query::compile("user.name:root", &schema()).unwrap_or_else(|e| panic!("{e}"));
    shareable(&query);
    shareable(&schema());
    shareable(&KqlError::UnknownField { field: "x".into() });
}
