//! `sensor rules` through the built binary (`SENSOR_BIN`, else `target/debug/sensor`): the
//! shipped rules pass their own tests (each alerts on its positive fixture, none on the
//! baseline), and a broken rule file is refused with its file and rule named.
use std::process::{Command, Output};

use sensor_tests::{sensor::Sensor, tempdir::TempDir};

fn sensor(args: &[&str]) -> Output {
    let binary = Sensor::binary().unwrap_or_else(|e| panic!("{e:#}"));
    Command::new(&binary)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()))
}

fn output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_shipped_rules_pass_their_fixtures_and_the_baseline() {
    let out = sensor(&["rules", "test"]);
    let text = output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert!(text.contains("ok    baseline"), "{text}");
    for id in [
        "ec5fb1d6-1f59-428e-bfb0-0086cb81fded",
        "5b0a4c1e-6f7d-4d0b-9a59-3c2f8e1d7a40",
        "0d8c6b7e-2a45-4f0e-8e0b-7c1f9a3d5e21",
    ] {
        assert!(text.contains(&format!("ok    {id}")), "{id}: {text}");
    }
}

#[test]
fn a_broken_rule_directory_is_refused_with_file_and_rule_named() {
    let dir = TempDir::new("rules").unwrap_or_else(|e| panic!("{e:#}"));
    let rule = "[rule]\nrule_id = \"x1\"\nname = \"Broken\"\ndescription = \"d\"\n\
                severity = \"low\"\nrisk_score = 1\nquery = 'source.ip:\"10.0.0.0/33\"'\n";
    std::fs::write(dir.path().join("broken.toml"), rule).unwrap_or_else(|e| panic!("{e}"));
    let out = sensor(&["rules", "validate", &dir.path().display().to_string()]);
    let text = output(&out);
    assert_eq!(out.status.code(), Some(65), "{text}");
    assert!(
        text.contains("broken.toml: rule \"Broken\" (x1): query:"),
        "{text}"
    );
    // A rule without a positive fixture fails `rules test`.
    let fixed = rule.replace("/33", "/8");
    std::fs::write(dir.path().join("broken.toml"), fixed).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join("baseline")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("baseline/empty.log"), "").unwrap_or_else(|e| panic!("{e}"));
    let out = sensor(&["rules", "test", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    assert!(
        output(&out).contains("no positive fixture"),
        "{}",
        output(&out)
    );
}
