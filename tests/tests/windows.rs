//! `sensor replay` on the Windows samples of the PsExec detection document, through the built
//! binary (`SENSOR_BIN`, else `target/debug/sensor`). The samples are GPL test data kept
//! outside the repository, in `../shared/data/evtx` (see its README); without them these tests
//! fail and say where the files are expected.
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use sensor_tests::{sensor::Sensor, tempdir::TempDir};
use serde_json::Value;

/// The detection document's rule, shipped verbatim.
const PSEXESVC: &str = "cf2119e4-8634-410a-9ce2-22f7864a702e";

fn samples() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/evtx");
    assert!(
        dir.join("README.md").is_file(),
        "the EVTX samples are missing: expected them in {} (EVTX-ATTACK-SAMPLES, see the \
         project's shared data README); these tests cannot run without them",
        dir.display()
    );
    dir
}

fn replay(files: &[PathBuf]) -> Output {
    let binary = Sensor::binary().unwrap_or_else(|e| panic!("{e:#}"));
    Command::new(&binary)
        .arg("replay")
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()))
}

fn alerts_of(out: &Output, rule: &str) -> usize {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|a| a["rule"]["id"] == rule)
        .count()
}

#[test]
fn the_psexec_documents_query_matches_the_samples_as_their_readme_says() {
    let dir = samples();
    for (file, want) in [
        ("sysmon_privesc_psexec_dwell.evtx", 1),
        ("remote_file_copy_system_proc_file_write_sysmon_11.evtx", 1),
        ("LM_wmiexec_impacket_sysmon_whoami.evtx", 0),
        ("LM_REMCOM_5145_TargetHost.evtx", 0),
    ] {
        let out = replay(&[dir.join(file)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{file}: {stderr}");
        assert_eq!(alerts_of(&out, PSEXESVC), want, "{file}: {stderr}");
        if want == 1 {
            let alert: Value = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|a| a["rule"]["id"] == PSEXESVC)
                .unwrap_or_default();
            assert_eq!(alert["process"]["name"], "PSEXESVC.exe", "{alert}");
            assert_eq!(
                alert["threat"]["technique"]["subtechnique"]["id"][0],
                "T1021.002"
            );
        }
    }
}

#[test]
fn a_truncated_or_corrupt_evtx_is_reported_and_the_other_files_are_read() {
    let dir = samples();
    let good = dir.join("sysmon_privesc_psexec_dwell.evtx");
    let bytes = std::fs::read(&good).unwrap_or_else(|e| panic!("{e}"));
    let tmp = TempDir::new("evtx").unwrap_or_else(|e| panic!("{e:#}"));
    let cut = tmp.path().join("cut.evtx");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap_or_else(|e| panic!("{e}"));
    let mut flipped = bytes.clone();
    for i in (4096..flipped.len()).step_by(97) {
        flipped[i] ^= 0x5a;
    }
    let corrupt = tmp.path().join("corrupt.evtx");
    std::fs::write(&corrupt, &flipped).unwrap_or_else(|e| panic!("{e}"));
    let out = replay(&[cut.clone(), corrupt.clone(), good]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "malformed input: {stderr}");
    assert!(
        stderr.contains("cut.evtx"),
        "the cut file is named: {stderr}"
    );
    assert!(
        stderr.contains("corrupt.evtx"),
        "the corrupt file is named: {stderr}"
    );
    assert!(
        alerts_of(&out, PSEXESVC) >= 1,
        "the good file after them is still read: {stderr}"
    );
}
