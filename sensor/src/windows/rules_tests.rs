//! The shipped Windows rules (`sensor/rules/windows/*.toml`): each is well formed, compiles
//! against the ECS catalogue, alerts on its positive fixture (`<stem>.positive.ndjson`), and
//! stays silent on the shared baseline (`sensor/rules/baseline/windows.ndjson`).
//!
//! The query is pulled out of each file with the `toml` crate here; the detection engine's
//! loader reads the same files.
use std::fs;
use std::path::{Path, PathBuf};

use toml::Value;

use super::ndjson;
use crate::detect::kql::{Query, parse};
use crate::ecs::{schema, windows::WinEvent};

/// The detection document's query, which one shipped rule must carry verbatim.
pub(super) const DOCUMENT_QUERY: &str = "event.category:process and process.name:PSEXESVC.exe";

/// The rule file that carries it.
pub(super) const VERBATIM_STEM: &str = "psexesvc_process";

pub(super) struct TestRule {
    pub stem: String,
    pub rule_id: String,
    pub name: String,
    pub query_text: String,
    pub query: Query,
    pub exceptions: Vec<Query>,
}

impl TestRule {
    /// True if the rule alerts on the event: the query matches and no exception does.
    pub fn alerts(&self, event: &WinEvent) -> bool {
        self.query.matches(event) && !self.exceptions.iter().any(|e| e.matches(event))
    }
}

pub(super) fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/windows")
}

/// Every `*.toml` in `rules/windows`, by file name.
pub(super) fn rule_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(rules_dir())
        .expect("rules/windows is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Parses and checks one rule file; panics naming the file and what is wrong.
pub(super) fn load(path: &Path) -> TestRule {
    let file = path.display();
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let doc: Value = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: not TOML: {e}"));
    let top: Vec<&str> = doc
        .as_table()
        .map_or(Vec::new(), |t| t.keys().map(String::as_str).collect());
    assert_eq!(top, ["metadata", "rule"], "{file}: top-level tables");
    let metadata = &doc["metadata"];
    for key in ["creation_date", "updated_date", "maturity"] {
        assert!(
            metadata.get(key).and_then(Value::as_str).is_some(),
            "{file}: metadata.{key}"
        );
    }
    let rule = &doc["rule"];
    let string = |key: &str| -> String {
        rule.get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{file}: rule.{key} is missing or not a string"))
            .to_owned()
    };
    let rule_id = string("rule_id");
    assert!(
        is_uuid_v4(&rule_id),
        "{file}: rule_id {rule_id} is not a UUID v4"
    );
    assert!(!string("name").is_empty() && !string("description").trim().is_empty());
    assert!(
        ["low", "medium", "high", "critical"].contains(&string("severity").as_str()),
        "{file}: severity"
    );
    let risk = rule.get("risk_score").and_then(Value::as_integer);
    assert!(
        risk.is_some_and(|r| (0..=100).contains(&r)),
        "{file}: risk_score {risk:?}"
    );
    assert_eq!(string("type"), "query", "{file}: type");
    assert_eq!(string("language"), "kuery", "{file}: language");
    let query_text = string("query").trim().to_owned();
    let query = compile(&query_text, &format!("{file}: query"));
    let exceptions = rule
        .get("exceptions")
        .and_then(Value::as_array)
        .map_or(Vec::new(), |list| {
            list.iter()
                .map(|e| {
                    compile(
                        e.as_str().expect("an exception is a string"),
                        &format!("{file}: exception"),
                    )
                })
                .collect()
        });
    check_threat(rule, &file.to_string());
    TestRule {
        stem: path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file name")
            .to_owned(),
        rule_id,
        name: string("name"),
        query_text,
        query,
        exceptions,
    }
}

fn compile(text: &str, what: &str) -> Query {
    let ast = parse(text).unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{text}"));
    Query::from_ast(ast, schema())
        .unwrap_or_else(|e| panic!("{what} does not compile: {e}\n{text}"))
}

/// Lateral Movement / T1021.002 and Execution / T1569.002, each with its MITRE link.
fn check_threat(rule: &Value, file: &str) {
    let threats = rule
        .get("threat")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{file}: no [[rule.threat]]"));
    let mut pairs = Vec::new();
    for threat in threats {
        assert_eq!(threat["framework"].as_str(), Some("MITRE ATT&CK"), "{file}");
        let tactic = threat["tactic"]["id"].as_str().expect("tactic.id");
        let reference = threat["tactic"]["reference"]
            .as_str()
            .expect("tactic.reference");
        assert_eq!(
            reference,
            format!("https://attack.mitre.org/tactics/{tactic}/"),
            "{file}"
        );
        for technique in threat["technique"].as_array().expect("techniques") {
            let id = technique["id"].as_str().expect("technique.id");
            assert_eq!(
                technique["reference"].as_str(),
                Some(format!("https://attack.mitre.org/techniques/{id}/").as_str()),
                "{file}"
            );
            for sub in technique
                .get("subtechnique")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let sub_id = sub["id"].as_str().expect("subtechnique.id");
                let url = format!(
                    "https://attack.mitre.org/techniques/{}/",
                    sub_id.replace('.', "/")
                );
                assert_eq!(sub["reference"].as_str(), Some(url.as_str()), "{file}");
                pairs.push((tactic.to_owned(), sub_id.to_owned()));
            }
        }
    }
    for want in [("TA0008", "T1021.002"), ("TA0002", "T1569.002")] {
        assert!(
            pairs.iter().any(|(t, s)| (t.as_str(), s.as_str()) == want),
            "{file}: no {want:?} in [[rule.threat]]"
        );
    }
}

fn is_uuid_v4(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && id
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b'])
}

/// Every rule file, loaded and checked.
pub(super) fn rules() -> Vec<TestRule> {
    rule_files().iter().map(|path| load(path)).collect()
}

/// Every event of an NDJSON fixture; any line that does not read fails the test.
pub(super) fn fixture_events(path: &Path) -> Vec<WinEvent> {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut events = Vec::new();
    let mut errors = Vec::new();
    ndjson::read(
        std::io::BufReader::new(file),
        &mut |e| events.push(e),
        &mut |e| errors.push(e.to_string()),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    events
}

#[test]
fn every_rule_is_well_formed_compiles_and_has_a_unique_id() {
    let rules = rules();
    assert!(rules.len() >= 8, "only {} Windows rules", rules.len());
    let mut ids: Vec<&str> = rules.iter().map(|r| r.rule_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rules.len(), "two rules share a rule_id");
    let mut names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), rules.len(), "two rules share a name");
}

#[test]
fn the_detection_documents_query_is_shipped_verbatim() {
    let rule = load(&rules_dir().join(format!("{VERBATIM_STEM}.toml")));
    assert_eq!(rule.query_text, DOCUMENT_QUERY);
    assert!(
        rule.exceptions.is_empty(),
        "the verbatim rule has exceptions"
    );
}

#[test]
fn every_rule_alerts_on_every_event_of_its_positive_fixture() {
    for rule in rules() {
        let path = rules_dir().join(format!("{}.positive.ndjson", rule.stem));
        assert!(
            path.is_file(),
            "{}: no positive fixture {}",
            rule.stem,
            path.display()
        );
        let events = fixture_events(&path);
        assert!(!events.is_empty(), "{}: empty fixture", path.display());
        // Every event of a positive fixture is an instance of what the rule is for, written as
        // Winlogbeat writes it to a file (raw) or as Elasticsearch returns it (ingested).
        let misses: Vec<&WinEvent> = events.iter().filter(|e| !rule.alerts(e)).collect();
        assert!(
            misses.is_empty(),
            "{} ({}) misses {} of the {} events of {}: {misses:#?}",
            rule.stem,
            rule.query_text,
            misses.len(),
            events.len(),
            path.display()
        );
    }
}

#[test]
fn every_rule_is_silent_on_the_baseline() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/baseline/windows.ndjson");
    let events = fixture_events(&path);
    assert!(
        events.len() >= 30,
        "the baseline has only {} events",
        events.len()
    );
    for rule in rules() {
        let hits: Vec<String> = events
            .iter()
            .filter(|e| rule.alerts(e))
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect();
        assert!(
            hits.is_empty(),
            "{} alerts on the baseline: {hits:#?}",
            rule.stem
        );
    }
}

#[test]
fn the_baseline_holds_the_near_misses_it_is_meant_to() {
    // So that the silence above means something: the baseline has service installs, pipes,
    // ADMIN$ writes and System file writes in C:\Windows, all by benign software.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/baseline/windows.ndjson");
    let events = fixture_events(&path);
    let count = |query: &str| {
        let q = compile(query, query);
        events.iter().filter(|e| q.matches(*e)).count()
    };
    assert!(count("event.code:(7045 or 4697)") >= 5);
    assert!(count("event.module:sysmon and event.code:(17 or 18)") >= 5);
    assert!(count(r"event.code:5145 and winlog.event_data.ShareName:\\\\*\\ADMIN$") >= 2);
    assert!(count("event.category:process and event.type:start") >= 10);
    assert!(count(r#"event.code:11 and file.directory:"C:\\Windows""#) >= 1);
}
