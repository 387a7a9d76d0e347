//! Evaluation: the document queries, boolean logic, multi-valued fields, existence, and how
//! each field type accepts event values.

use super::super::{Document, FieldId, Value};
use super::{Doc, PSEXEC_QUERY, SSH_PASSWORD_QUERY, compile, matches, ssh_login};

#[test]
fn ssh_password_query_verbatim() {
    assert!(matches(SSH_PASSWORD_QUERY, &ssh_login("10.1.2.3")));
    assert!(matches(SSH_PASSWORD_QUERY, &ssh_login("10.255.255.255")));
    assert!(matches(SSH_PASSWORD_QUERY, &ssh_login("::ffff:10.1.2.3")));
    assert!(!matches(SSH_PASSWORD_QUERY, &ssh_login("192.168.1.10")));
    assert!(!matches(SSH_PASSWORD_QUERY, &ssh_login("11.0.0.1")));
    assert!(!matches(
        SSH_PASSWORD_QUERY,
        &ssh_login("::ffff:192.168.1.10")
    ));
    assert!(!matches(SSH_PASSWORD_QUERY, &ssh_login("fd00::1")));
    let publickey = Doc::new()
        .s("event.category", "authentication")
        .s("event.action", "ssh_login")
        .s("ssh.method", "publickey")
        .ip("source.ip", "10.1.2.3");
    assert!(!matches(SSH_PASSWORD_QUERY, &publickey));
    let no_category = Doc::new()
        .s("event.action", "ssh_login")
        .s("ssh.method", "password")
        .ip("source.ip", "10.1.2.3");
    assert!(!matches(SSH_PASSWORD_QUERY, &no_category));
    let ip_as_string = no_category.clone().s("event.category", "authentication");
    assert!(matches(SSH_PASSWORD_QUERY, &ip_as_string));
    let wrong_case = ssh_login("10.1.2.3").s("event.category", "x");
    assert!(
        matches(SSH_PASSWORD_QUERY, &wrong_case),
        "any category value matches"
    );
    assert!(!matches(SSH_PASSWORD_QUERY, &Doc::new()));
}

#[test]
fn psexec_query_verbatim() {
    let event = |category: &str, name: &str| {
        Doc::new()
            .s("event.category", category)
            .s("process.name", name)
    };
    assert!(matches(PSEXEC_QUERY, &event("process", "PSEXESVC.exe")));
    assert!(!matches(PSEXEC_QUERY, &event("process", "psexesvc.exe")));
    assert!(!matches(
        PSEXEC_QUERY,
        &event("process", "PSEXESVC.exe.bak")
    ));
    assert!(!matches(PSEXEC_QUERY, &event("process", "PSEXESVC")));
    assert!(!matches(PSEXEC_QUERY, &event("network", "PSEXESVC.exe")));
    assert!(!matches(PSEXEC_QUERY, &event("Process", "PSEXESVC.exe")));
    let multi = event("host", "PSEXESVC.exe").s("event.category", "process");
    assert!(matches(PSEXEC_QUERY, &multi));
}

#[test]
fn exception_query() {
    let exception = r#"user.name:ansible and source.ip:"10.1.2.0/24""#;
    assert!(matches(exception, &ssh_login("10.1.2.200")));
    assert!(!matches(exception, &ssh_login("10.1.3.1")));
    assert!(!matches(
        exception,
        &ssh_login("10.1.2.200").with_only("user.name", "root")
    ));
    assert!(matches(
        &format!("({SSH_PASSWORD_QUERY}) and not ({exception})"),
        &ssh_login("10.9.9.9")
    ));
    assert!(!matches(
        &format!("({SSH_PASSWORD_QUERY}) and not ({exception})"),
        &ssh_login("10.1.2.9")
    ));
}

impl Doc {
    /// Replaces every value of `field` with one string.
    fn with_only(mut self, field: &str, value: &str) -> Self {
        let id = super::schema().id(field);
        self.values.retain(|(f, _)| Some(*f) != id);
        self.s(field, value)
    }
}

#[test]
fn boolean_logic_and_precedence() {
    let doc = Doc::new().s("user.name", "a").s("process.name", "b");
    assert!(matches(
        "user.name:a or process.name:x and process.name:y",
        &doc
    ));
    assert!(!matches(
        "(user.name:a or process.name:x) and process.name:y",
        &doc
    ));
    assert!(matches("user.name:x or process.name:b", &doc));
    assert!(!matches("user.name:x or process.name:x", &doc));
    assert!(matches("not user.name:x and process.name:b", &doc));
    assert!(!matches("not (user.name:a and process.name:b)", &doc));
    assert!(matches("not user.name:a or process.name:b", &doc));
    assert!(!matches("not not user.name:x", &doc));
    assert!(matches(
        "user.name:a AnD NOT process.name:x OR user.name:z",
        &doc
    ));
}

#[test]
fn keywords_are_case_insensitive_values_are_not() {
    let doc = Doc::new()
        .s("event.category", "process")
        .s("process.name", "PSEXESVC.exe");
    assert!(matches(
        "event.category:process AND process.name:PSEXESVC.exe",
        &doc
    ));
    assert!(!matches("event.category:Process", &doc));
    assert!(!matches("process.name:PSEXESVC.EXE", &doc));
}

#[test]
fn missing_fields_fail_tests_and_pass_negations() {
    let empty = Doc::new();
    assert!(!matches("user.name:root", &empty));
    assert!(matches("not user.name:root", &empty));
    assert!(!matches("user.name:*", &empty));
    assert!(matches("not user.name:*", &empty));
    assert!(!matches("process.pid > 0", &empty));
    assert!(!matches("user.name:(a or b)", &empty));
    assert!(matches("user.name:(not a)", &empty));
}

#[test]
fn multi_valued_fields_match_any_value() {
    let doc = Doc::new()
        .s("event.category", "authentication")
        .s("event.category", "process");
    assert!(matches("event.category:process", &doc));
    assert!(matches("event.category:authentication", &doc));
    assert!(matches("event.category:(authentication and process)", &doc));
    assert!(matches("event.category:(network or process)", &doc));
    assert!(!matches("event.category:(network and process)", &doc));
    assert!(!matches("not event.category:process", &doc));
    assert!(matches("event.category:(process and not network)", &doc));
    let single = Doc::new().s("event.category", "authentication");
    assert!(!matches(
        "event.category:(authentication and process)",
        &single
    ));
    let args = Doc::new()
        .s("process.args", "ssh")
        .s("process.args", "-o")
        .s("process.args", "ProxyCommand=x");
    assert!(matches("process.args:ProxyCommand*", &args));
    assert!(matches("process.args:(ssh and -o)", &args));
    let related = Doc::new()
        .ip("related.ip", "192.168.0.1")
        .ip("related.ip", "10.0.0.1");
    assert!(matches("related.ip:10.0.0.0/8", &related));
    assert!(matches("related.ip > 192.168.0.0", &related));
}

#[test]
fn existence() {
    assert!(matches("user.name:*", &Doc::new().s("user.name", "")));
    assert!(matches("user.name:*", &Doc::new().s("user.name", "root")));
    assert!(matches("source.ip:*", &Doc::new().ip("source.ip", "::1")));
    assert!(matches("process.pid:*", &Doc::new().int("process.pid", 0)));
    assert!(matches(
        "process.interactive:*",
        &Doc::new().bool("process.interactive", false)
    ));
    assert!(matches(
        "process.pid:*",
        &Doc::new().s("process.pid", "junk")
    ));
    assert!(!matches("user.name:*", &Doc::new().s("process.name", "x")));
    assert!(matches(
        "user.name:(* and not root)",
        &Doc::new().s("user.name", "bob")
    ));
}

#[test]
fn values_of_each_type() {
    let doc = Doc::new()
        .int("process.pid", 4242)
        .bool("process.interactive", true)
        .s("@timestamp", "2024-05-01T10:00:00Z");
    assert!(matches("process.pid:4242", &doc));
    assert!(matches("process.pid:+4242", &doc));
    assert!(matches(r#"process.pid:"4242""#, &doc));
    assert!(!matches("process.pid:4243", &doc));
    assert!(matches("process.interactive:true", &doc));
    assert!(!matches("process.interactive:false", &doc));
    assert!(matches(r#"@timestamp:"2024-05-01T10:00:00Z""#, &doc));
    assert!(matches("@timestamp:2024-05-01T10\\:00\\:00Z", &doc));
    assert!(!matches(r#"@timestamp:"2024-05-01""#, &doc));
    let strings = Doc::new()
        .s("process.pid", "4242")
        .s("process.interactive", "false");
    assert!(matches("process.pid:4242", &strings));
    assert!(matches("process.interactive:false", &strings));
    let mismatched = Doc::new()
        .s("process.pid", "abc")
        .int("source.ip", 3)
        .s("process.interactive", "yes")
        .int("user.name", 5);
    assert!(!matches("process.pid:0", &mismatched));
    assert!(!matches("source.ip:0.0.0.3", &mismatched));
    assert!(!matches(
        "process.interactive:true or process.interactive:false",
        &mismatched
    ));
    assert!(!matches("user.name:5", &mismatched));
    let int_date = Doc::new().int("@timestamp", 1_700_000_000);
    assert!(matches("@timestamp:1700000000", &int_date));
    assert!(!matches("@timestamp:2024-01-01", &int_date));
}

/// A document over borrowed storage, used through `&dyn Document`.
struct Borrowed<'a> {
    name: &'a str,
}

impl Document for Borrowed<'_> {
    fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        field.index() == 6 && test(Value::Str(self.name))
    }
}

#[test]
fn documents_can_be_trait_objects_and_references() {
    let query = compile("process.name:sshd");
    let doc = Borrowed { name: "sshd" };
    let dyn_doc: &dyn Document = &doc;
    assert!(query.matches(dyn_doc));
    assert!(query.matches(&&doc));
    assert!(!query.matches(&Borrowed { name: "bash" }));
}
