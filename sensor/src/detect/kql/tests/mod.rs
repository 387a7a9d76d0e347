//! Unit tests of the KQL engine, and the in-memory [`Document`] and ECS-like schema they
//! share.

mod compile_errors;
mod eval_fields;
mod eval_values;
mod parse_errors;
mod parse_ok;

use std::net::IpAddr;

use super::{Document, FieldId, FieldType, Query, Schema, Value};

/// The schema of the tests: a slice of ECS.
fn schema() -> Schema {
    Schema::new()
        .multi_field("event.category", FieldType::Keyword)
        .field("event.action", FieldType::Keyword)
        .field("ssh.method", FieldType::Keyword)
        .field("source.ip", FieldType::Ip)
        .multi_field("related.ip", FieldType::Ip)
        .field("user.name", FieldType::Keyword)
        .field("process.name", FieldType::Keyword)
        .field("process.executable", FieldType::Keyword)
        .multi_field("process.args", FieldType::Keyword)
        .field("process.pid", FieldType::Long)
        .field("process.interactive", FieldType::Boolean)
        .field("@timestamp", FieldType::Date)
}

/// An owned field value.
#[derive(Debug, Clone)]
enum Owned {
    Str(String),
    Ip(IpAddr),
    Int(i64),
    Bool(bool),
}

/// An event: (field, value) pairs; a field repeated is multi-valued.
#[derive(Debug, Clone, Default)]
struct Doc {
    values: Vec<(FieldId, Owned)>,
}

impl Doc {
    fn new() -> Self {
        Self::default()
    }

    fn with(mut self, field: &str, value: Owned) -> Self {
        let id = schema()
            .id(field)
            .unwrap_or_else(|| panic!("test field {field} is not in the schema"));
        self.values.push((id, value));
        self
    }

    fn s(self, field: &str, value: &str) -> Self {
        self.with(field, Owned::Str(value.to_owned()))
    }

    fn ip(self, field: &str, value: &str) -> Self {
        let ip = value
            .parse()
            .unwrap_or_else(|e| panic!("bad test IP {value}: {e}"));
        self.with(field, Owned::Ip(ip))
    }

    fn int(self, field: &str, value: i64) -> Self {
        self.with(field, Owned::Int(value))
    }

    fn bool(self, field: &str, value: bool) -> Self {
        self.with(field, Owned::Bool(value))
    }
}

impl Document for Doc {
    fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        self.values
            .iter()
            .filter(|(id, _)| *id == field)
            .any(|(_, value)| {
                test(match value {
                    Owned::Str(s) => Value::Str(s),
                    Owned::Ip(ip) => Value::Ip(*ip),
                    Owned::Int(i) => Value::Int(*i),
                    Owned::Bool(b) => Value::Bool(*b),
                })
            })
    }
}

/// Compiles `query` against the test schema, panicking with the error.
fn compile(query: &str) -> Query {
    Query::compile(query, &schema()).unwrap_or_else(|e| panic!("{query:?}: {e}"))
}

/// True if `query` matches `doc`.
fn matches(query: &str, doc: &Doc) -> bool {
    compile(query).matches(doc)
}

/// The linux-sshd document query of the detection documents, verbatim.
const SSH_PASSWORD_QUERY: &str = r#"event.category:"authentication" and event.action:"ssh_login" and ssh.method:"password" and source.ip:"10.0.0.0/8""#;

/// The PsExec document query, verbatim.
const PSEXEC_QUERY: &str = "event.category:process and process.name:PSEXESVC.exe";

/// An event that [`SSH_PASSWORD_QUERY`] matches.
fn ssh_login(ip: &str) -> Doc {
    Doc::new()
        .s("event.category", "authentication")
        .s("event.action", "ssh_login")
        .s("ssh.method", "password")
        .ip("source.ip", ip)
        .s("user.name", "ansible")
}
