//! Rule files: every load error path, variables, and the sequence engine's semantics.
use std::net::IpAddr;

use super::*;
use crate::detect::{Engine, builtin};
use crate::ecs::{Document, Event, Field, Value};

const HEAD: &str = r#"
[rule]
rule_id = "r1"
name = "test rule"
description = "d"
severity = "low"
risk_score = 21
"#;

fn load(body: &str) -> Result<Rule, RuleError> {
    Rule::from_toml(
        &format!("{HEAD}{body}"),
        "test".into(),
        &Variables::default(),
    )
}

fn err(body: &str) -> String {
    match load(body) {
        Ok(_) => panic!("{body:?} loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_query_rule_loads() {
    let rule = load("query = 'event.action:ssh_login'\nlanguage = \"kuery\"").expect("loads");
    assert!(matches!(rule.logic, Logic::Query(_)));
    assert_eq!(rule.severity, Severity::Low);
}

#[test]
fn every_malformed_rule_is_an_error_that_says_why() {
    let cases: &[(&str, &str)] = &[
        (
            "query = 'a:b'\nexceptoins = ['x:y']",
            "unknown field `exceptoins`",
        ),
        ("", "needs `query`"),
        ("query = 'event.action:'", "column"),
        ("query = 'no.such.field:x'", "no.such.field"),
        ("query = 'source.ip:\"not an ip\"'", "source.ip"),
        ("query = 'a:b'\nlanguage = \"lucene\"", "only `kuery`"),
        (
            "query = 'event.action:x'\nexceptions = ['user.name:']",
            "exception 1",
        ),
        (
            "query = 'event.action:x'\n[rule.sequence]\nmaxspan = \"1m\"\nsteps = []",
            "takes no `[rule.sequence]`",
        ),
        ("type = \"sequence\"", "needs `[rule.sequence]`"),
        (
            "type = \"sequence\"\nquery = 'event.action:x'",
            "not `query`",
        ),
        (
            "type = \"sequence\"\n[rule.sequence]\nmaxspan = \"1m\"\nsteps = []",
            "at least one step",
        ),
        (
            "type = \"sequence\"\n[rule.sequence]\nby = [\"no.such\"]\nmaxspan = \"1m\"\n[[rule.sequence.steps]]\nquery = 'event.action:x'",
            "`no.such` is not a known ECS field",
        ),
        (
            "type = \"sequence\"\n[rule.sequence]\nmaxspan = \"ten minutes\"\n[[rule.sequence.steps]]\nquery = 'event.action:x'",
            "maxspan",
        ),
        (
            "type = \"sequence\"\n[rule.sequence]\nmaxspan = \"0s\"\n[[rule.sequence.steps]]\nquery = 'event.action:x'",
            "maxspan",
        ),
        (
            "type = \"sequence\"\n[rule.sequence]\nmaxspan = \"1m\"\n[[rule.sequence.steps]]\nquery = 'event.action:x'\ncount = 0",
            "`count` must be at least 1",
        ),
        (
            "type = \"sequence\"\n[rule.sequence]\nmaxspan = \"1m\"\n[[rule.sequence.steps]]\nquery = 'event.action:'",
            "sequence step 1",
        ),
        (
            "query = 'source.ip:${external}'",
            "unknown rule variable `${external}`",
        ),
        (
            "query = 'source.ip:${internal_networks'",
            "unknown rule variable",
        ),
        ("type = \"eql\"", "unknown variant `eql`"),
    ];
    for (body, want) in cases {
        let got = err(body);
        assert!(got.contains(want), "{body:?}: {got:?} lacks {want:?}");
    }
    let too_risky = Rule::from_toml(
        &HEAD.replace("risk_score = 21", "risk_score = 101"),
        "t".into(),
        &Variables::default(),
    );
    assert!(matches!(too_risky, Err(RuleError::RiskScore(101))));
    let no_id = Rule::from_toml(
        &format!("{}query = 'a:b'", HEAD.replace("\"r1\"", "\" \"")),
        "t".into(),
        &Variables::default(),
    );
    assert!(matches!(no_id, Err(RuleError::NoId)));
}

#[test]
fn internal_networks_expand_to_a_kql_list() {
    let vars = Variables {
        internal_networks: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
    };
    assert_eq!(
        vars.expand("source.ip:${internal_networks} and x:y")
            .unwrap(),
        r#"source.ip:("10.0.0.0/8" or "::1/128") and x:y"#
    );
    assert_eq!(Variables::default().internal_networks.len(), 8);
}

#[test]
fn load_errors_name_the_file_and_the_rule() {
    let dir = std::env::temp_dir().join(format!("sensor-rules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("linux")).unwrap();
    std::fs::write(
        dir.join("linux/bad.toml"),
        format!("{HEAD}query = 'no.such.field:x'\n"),
    )
    .unwrap();
    std::fs::write(dir.join("linux/broken.toml"), "[rule\n").unwrap();
    std::fs::write(dir.join("linux/bad.positive.log"), "ignored\n").unwrap();
    let result = crate::detect::load(&crate::detect::RuleSources {
        dirs: vec![dir.clone()],
        ..Default::default()
    });
    let _ = std::fs::remove_dir_all(&dir);
    let text = result.expect_err("two bad files").to_string();
    assert!(text.starts_with("2 rule files did not load"), "{text}");
    assert!(
        text.contains("linux/bad.toml: rule \"test rule\" (r1): query:"),
        "{text}"
    );
    assert!(text.contains("no.such.field"), "{text}");
    assert!(text.contains("linux/broken.toml: "), "{text}");
}

#[test]
fn the_shipped_rules_load_and_the_document_queries_are_verbatim() {
    let loaded = crate::detect::load(&crate::detect::RuleSources {
        builtin: true,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let query = |id: &str| {
        let rule = loaded.rules.iter().find(|r| r.id == id).expect(id);
        match &rule.logic {
            Logic::Query(q) => q.ast().to_string(),
            Logic::Sequence(_) => panic!("{id} is a sequence"),
        }
    };
    let linux = Query::compile(
        r#"event.category:"authentication" and event.action:"ssh_login" and ssh.method:"password" and source.ip:"10.0.0.0/8""#,
        crate::ecs::schema(),
    )
    .unwrap();
    assert_eq!(
        query("ec5fb1d6-1f59-428e-bfb0-0086cb81fded"),
        linux.ast().to_string()
    );
    // The text in the file is the document's, byte for byte.
    let (_, file) = builtin::files()
        .iter()
        .find(|(rel, _)| *rel == "linux/lateral_movement_t1021.toml")
        .expect("the Linux document's rule");
    assert!(String::from_utf8_lossy(file).contains(
        "\nevent.category:\"authentication\" and event.action:\"ssh_login\" and ssh.method:\"password\" and source.ip:\"10.0.0.0/8\"\n"
    ));
}

/// A login event for the engine tests.
#[derive(serde::Serialize)]
struct Login {
    #[serde(rename = "@timestamp")]
    at: String,
    ok: bool,
    ip: IpAddr,
}

impl Document for Login {
    fn any_value(
        &self,
        field: crate::detect::kql::FieldId,
        test: &mut dyn FnMut(Value<'_>) -> bool,
    ) -> bool {
        match Field::from_id(field) {
            Some(Field::EventOutcome) => {
                test(Value::Str(if self.ok { "success" } else { "failure" }))
            }
            Some(Field::SourceIp) => test(Value::Ip(self.ip)),
            Some(Field::Timestamp) => test(Value::Str(&self.at)),
            _ => false,
        }
    }
}

impl Event for Login {
    fn timestamp(&self) -> &str {
        &self.at
    }
}

fn brute_force(count: u32) -> Engine {
    let rule = load(&format!(
        r#"type = "sequence"
[rule.sequence]
by = ["source.ip"]
maxspan = "10m"
[[rule.sequence.steps]]
query = 'event.outcome:failure'
count = {count}
[[rule.sequence.steps]]
query = 'event.outcome:success'
"#
    ))
    .expect("loads");
    Engine::new(vec![rule], Vec::new())
}

/// Feeds `(minute, second, ok, last octet)` events; returns the alerts' step counts.
fn feed(engine: &mut Engine, events: &[(u32, u32, bool, u8)]) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for &(m, s, ok, host) in events {
        let login = Login {
            at: format!("2026-11-23T10:{m:02}:{s:02}.000000Z"),
            ok,
            ip: IpAddr::from([10, 0, 0, host]),
        };
        engine.evaluate(&login, &mut out);
    }
    out.iter()
        .map(|a| {
            a.sensor
                .alert
                .sequence
                .as_ref()
                .map(|s| s.events.clone())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_sequence_needs_its_count_then_the_next_step_from_the_same_key() {
    let mut e = brute_force(3);
    // Two failures are not enough.
    assert!(
        feed(
            &mut e,
            &[(0, 0, false, 1), (0, 1, false, 1), (0, 2, true, 1)]
        )
        .is_empty()
    );
    // Three failures from .2, a success from .3: different keys.
    let three = [(1, 0, false, 2), (1, 1, false, 2), (1, 2, false, 2)];
    assert!(feed(&mut e, &three).is_empty());
    assert!(feed(&mut e, &[(1, 3, true, 3)]).is_empty());
    // A fourth failure is counted; then the success from .2 completes it, once.
    assert_eq!(
        feed(&mut e, &[(1, 4, false, 2), (1, 5, true, 2)]),
        vec![vec![4, 1]]
    );
    assert!(
        feed(&mut e, &[(1, 6, true, 2)]).is_empty(),
        "reset after alerting"
    );
}

#[test]
fn a_sequence_expires_after_maxspan() {
    let mut e = brute_force(3);
    let spread = [(0, 0, false, 1), (6, 0, false, 1), (12, 0, false, 1)];
    // Never three failures within 10 minutes of each other.
    assert!(feed(&mut e, &spread).is_empty());
    assert!(feed(&mut e, &[(12, 1, true, 1)]).is_empty());
    // Three close failures, but the success comes 11 minutes after the first.
    let late = [
        (20, 0, false, 4),
        (20, 1, false, 4),
        (20, 2, false, 4),
        (31, 0, true, 4),
    ];
    assert!(feed(&mut e, &late).is_empty());
    let in_time = [
        (40, 0, false, 5),
        (40, 1, false, 5),
        (40, 2, false, 5),
        (49, 59, true, 5),
    ];
    assert_eq!(feed(&mut e, &in_time), vec![vec![3, 1]]);
}

#[test]
fn exceptions_and_the_allowlist_silence_a_match() {
    let rule = load("query = 'event.outcome:success'\nexceptions = ['source.ip:\"10.0.0.7\"']")
        .expect("loads");
    let allow = compile_query("allow", "source.ip:\"10.0.0.8\"", &Variables::default()).unwrap();
    let mut e = Engine::new(vec![rule], vec![allow]);
    let mut out = Vec::new();
    for host in [6, 7, 8] {
        let login = Login {
            at: "2026-11-23T10:00:00.000000Z".into(),
            ok: true,
            ip: IpAddr::from([10, 0, 0, host]),
        };
        e.evaluate(&login, &mut out);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].context.get("source"),
        None,
        "Login has no `source` object"
    );
    assert_eq!(out[0].sensor.evidence["ip"], "10.0.0.6");
}

#[test]
fn rules_are_skipped_only_for_categories_they_cannot_match() {
    // Gated on authentication; `Login` has no category, so only an ungated rule sees it.
    let gated = load("query = 'event.category:authentication and event.outcome:success'").unwrap();
    let mut ungated = load("query = 'event.outcome:success'").unwrap();
    ungated.id = "r2".into();
    let mut or_gated =
        load("query = 'event.category:(process or authentication) or event.outcome:success'")
            .unwrap();
    or_gated.id = "r3".into();
    let mut e = Engine::new(vec![gated, ungated, or_gated], Vec::new());
    let mut out = Vec::new();
    let login = Login {
        at: "2026-11-23T10:00:00.000000Z".into(),
        ok: true,
        ip: IpAddr::from([10, 0, 0, 1]),
    };
    e.evaluate(&login, &mut out);
    let ids: Vec<&str> = out.iter().map(|a| a.rule.id.as_str()).collect();
    assert_eq!(ids, ["r2", "r3"], "a top-level `or` is not a gate");
}

#[test]
fn keys_past_the_cap_are_counted_not_followed() {
    let mut e = brute_force(2);
    let mut out = Vec::new();
    let n = crate::detect::engine::MAX_SEQUENCE_KEYS + 10;
    for i in 0..n {
        let login = Login {
            at: "2026-11-23T10:00:00.000000Z".into(),
            ok: false,
            ip: IpAddr::from(std::net::Ipv6Addr::from(i as u128 + 1)),
        };
        e.evaluate(&login, &mut out);
    }
    assert_eq!(e.dropped_keys(), 10, "all within maxspan: nothing expires");
    assert!(out.is_empty());
}
