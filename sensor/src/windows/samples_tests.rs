//! The four EVTX-ATTACK-SAMPLES files in `../shared/data/evtx` (GPL test data: read in place,
//! never copied here), through the EVTX reader in this process, the mapping and the rules.
//! `sensor/tests/evtx_isolation.rs` reads them again through the child process.
use std::path::{Path, PathBuf};

use super::evtx::read_unisolated;
use super::rules_tests::{DOCUMENT_QUERY, VERBATIM_STEM, rules};
use crate::detect::kql::Query;
use crate::ecs::{schema, windows::WinEvent};

/// Where the samples are: `shared/data/evtx` beside the repository. Absent, the test fails and
/// says so: a skipped acceptance test must not pass.
pub(super) fn samples_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/evtx");
    assert!(
        dir.join("README.md").is_file(),
        "the EVTX samples are missing: expected the four .evtx files of EVTX-ATTACK-SAMPLES in \
         {} (../shared/data/evtx relative to the repository; see its README.md). They are GPL \
         test data and are not in this repository.",
        dir.display()
    );
    dir
}

/// Each sample, the records it holds, and how many the detection document's rule matches
/// (shared/data/evtx/README.md).
pub(super) const SAMPLES: [(&str, u64, usize); 4] = [
    ("sysmon_privesc_psexec_dwell.evtx", 12, 1),
    (
        "remote_file_copy_system_proc_file_write_sysmon_11.evtx",
        2,
        1,
    ),
    ("LM_wmiexec_impacket_sysmon_whoami.evtx", 7, 0),
    ("LM_REMCOM_5145_TargetHost.evtx", 30, 0),
];

fn events(file: &str) -> Vec<WinEvent> {
    let path = samples_dir().join(file);
    let mut events = Vec::new();
    let mut problems = Vec::new();
    let stats = read_unisolated(&path, &mut |e| events.push(e), &mut |p| problems.push(p))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(problems.is_empty(), "{file}: {problems:?}");
    assert_eq!(stats.records, events.len() as u64);
    events
}

#[test]
fn the_document_rule_matches_each_sample_as_its_readme_says() {
    let query = Query::compile(DOCUMENT_QUERY, schema()).expect("the document's query compiles");
    for (file, records, want) in SAMPLES {
        let events = events(file);
        assert_eq!(events.len() as u64, records, "{file}: records");
        let hits: Vec<&WinEvent> = events.iter().filter(|e| query.matches(*e)).collect();
        assert_eq!(hits.len(), want, "{file}: matches of {DOCUMENT_QUERY}");
        for hit in hits {
            assert_eq!(
                hit.event.code.as_deref(),
                Some("1"),
                "{file}: a Sysmon process start"
            );
            assert_eq!(hit.process.name.as_deref(), Some("PSEXESVC.exe"));
            assert_eq!(hit.event.kind_of, ["start"]);
        }
    }
}

#[test]
fn the_shipped_rules_on_the_samples() {
    let rules = rules();
    let hits = |file: &str, stem: &str| {
        let rule = rules
            .iter()
            .find(|r| r.stem == stem)
            .expect("the rule is shipped");
        events(file).iter().filter(|e| rule.alerts(e)).count()
    };
    let [dwell, copy, wmiexec, remcom] = SAMPLES.map(|(file, ..)| file);
    // The shipped file of the document's rule gives the README's counts too.
    for (file, _, want) in SAMPLES {
        assert_eq!(hits(file, VERBATIM_STEM), want, "{file}");
    }
    assert_eq!(hits(dwell, "psexesvc_process_start"), 1);
    assert_eq!(hits(copy, "psexesvc_process_start"), 1);
    // The \PSEXESVC pipe: created by the (renamed) client, then connected by System.
    assert_eq!(hits(dwell, "psexesvc_named_pipe"), 3);
    // PSEXESVC.exe written into C:\Windows by System over SMB.
    assert_eq!(hits(copy, "admin_share_executable_write"), 1);
    // RemCom's RemComSvc.exe written to ADMIN$\System32.
    assert!(hits(remcom, "impacket_remcom") >= 1);
    for stem in [
        "psexesvc_renamed",
        "impacket_psexec_service_install",
        "psexesvc_service_install",
    ] {
        for file in [dwell, copy, wmiexec, remcom] {
            assert_eq!(hits(file, stem), 0, "{stem} on {file}");
        }
    }
    // wmiexec is not PsExec: nothing alerts.
    for rule in &rules {
        assert_eq!(hits(wmiexec, &rule.stem), 0, "{} on {wmiexec}", rule.stem);
    }
}

#[test]
fn sysmon_process_start_from_a_real_record_is_mapped_as_winlogbeat_does() {
    let events = events(SAMPLES[1].0);
    let start = events
        .iter()
        .find(|e| e.event.code.as_deref() == Some("1"))
        .expect("the sample has a process start");
    let json = serde_json::to_value(start).expect("serialises");
    assert_eq!(
        json["@timestamp"], "2020-08-27T11:40:56.610000Z",
        "Sysmon's UtcTime"
    );
    assert_eq!(json["event"]["category"], serde_json::json!(["process"]));
    assert_eq!(json["event"]["module"], "sysmon");
    assert_eq!(json["process"]["executable"], r"C:\Windows\PSEXESVC.exe");
    assert_eq!(json["process"]["parent"]["name"], "services.exe");
    assert_eq!(
        json["process"]["hash"]["sha256"],
        "141b2190f51397dbd0dfde0e3904b264c91b6f81febc823ff0c33da980b69944"
    );
    assert_eq!(json["user"]["name"], "SYSTEM");
    assert_eq!(json["user"]["domain"], "NT AUTHORITY");
    assert_eq!(json["winlog"]["record_id"], 263573);
    assert_eq!(
        json["winlog"]["computer_name"],
        "04246w-win10.threebeesco.com"
    );
    assert_eq!(json["winlog"]["event_data"]["IntegrityLevel"], "System");
}
