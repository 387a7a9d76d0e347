//! Arbitrary UTF-8 as a rule file, through `sensor::detect::rule::Rule::from_toml` with the
//! default variables (TOML, the rule schema, `${internal_networks}`, every KQL query compiled
//! against the ECS schema).
//!
//! Uses the `sensor` crate itself (built with `AYA_BUILD_SKIP=1`, see `.cargo/config.toml`):
//! `detect::rule` reaches `crate::ecs`, whose catalogue `config_toml` and `ecs_json` share.
//!
//! Beyond "no panic, no hang": loading is deterministic; a rule that loads has a non-blank id,
//! a risk score of at most 100, and its origin; a sequence has 1 to `MAX_STEPS` steps, each
//! counting at least one event, and a non-zero `maxspan`; and every compiled query (the query,
//! each exception, each step) prints as text that parses back to an equal tree and compiles
//! back to an equal query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::detect::kql::{self, Query};
use sensor::detect::rule::{Logic, MAX_STEPS, Rule, Variables};

const ORIGIN: &str = "fuzz.toml";

/// Every compiled query of `rule`, named for the failure message.
fn queries(rule: &Rule) -> Vec<(String, &Query)> {
    let mut out = Vec::new();
    match &rule.logic {
        Logic::Query(q) => out.push(("query".to_owned(), q)),
        Logic::Sequence(seq) => {
            for (i, step) in seq.steps.iter().enumerate() {
                out.push((format!("step {}", i + 1), &step.query));
            }
        }
    }
    for (i, q) in rule.exceptions.iter().enumerate() {
        out.push((format!("exception {}", i + 1), q));
    }
    out
}

/// What a load gives, comparably: the id and every query's printed tree, or the error.
fn outcome(
    loaded: &Result<Rule, sensor::detect::rule::RuleError>,
) -> Result<(String, Vec<String>), String> {
    match loaded {
        Ok(rule) => Ok((
            rule.id.clone(),
            queries(rule)
                .into_iter()
                .map(|(_, q)| q.ast().to_string())
                .collect(),
        )),
        Err(e) => Err(e.to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let vars = Variables::default();
    let loaded = Rule::from_toml(text, ORIGIN.to_owned(), &vars);
    assert_eq!(
        outcome(&loaded),
        outcome(&Rule::from_toml(text, ORIGIN.to_owned(), &vars)),
        "loading is not deterministic"
    );
    let Ok(rule) = loaded else {
        return;
    };
    assert!(
        !rule.id.trim().is_empty(),
        "a rule loaded with id {:?}",
        rule.id
    );
    assert!(rule.risk_score <= 100, "risk_score {}", rule.risk_score);
    assert_eq!(rule.origin, ORIGIN);
    if let Logic::Sequence(seq) = &rule.logic {
        assert!((1..=MAX_STEPS).contains(&seq.steps.len()));
        assert!(seq.steps.iter().all(|s| s.count >= 1));
        assert!(!seq.maxspan.is_zero());
    }
    let _ = rule.is_lateral_movement();
    for (what, query) in queries(&rule) {
        let printed = query.ast().to_string();
        let reparsed = kql::parse(&printed)
            .unwrap_or_else(|e| panic!("{what} printed as {printed:?}, which fails: {e}"));
        assert_eq!(&reparsed, query.ast(), "{what} printed as {printed:?}");
        let recompiled = Query::compile(&printed, sensor::ecs::schema())
            .unwrap_or_else(|e| panic!("{what} printed as {printed:?}, which fails: {e}"));
        assert_eq!(
            &recompiled, query,
            "{what} printed as {printed:?} compiles differently"
        );
    }
});
