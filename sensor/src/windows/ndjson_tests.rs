//! Winlogbeat NDJSON reading and format sniffing.
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde_json::json;

use super::ndjson::{LineErrorKind, MAX_LINE, parse_line, read};
use super::rules_tests::{fixture_events, rule_files};
use super::sniff::{EVTX_MAGIC, WinFormat, sniff};
use crate::ecs::windows::WinEvent;

/// A 4688 as Winlogbeat 8 writes it to a file: no ingest pipeline ran, so no process.name.
const RAW_4688: &str = r#"{"@timestamp":"2026-11-20T09:20:11.402Z","event":{"code":"4688","provider":"Microsoft-Windows-Security-Auditing","kind":"event","created":"2026-11-20T09:20:12.000Z","action":"Process Creation","outcome":"success"},"host":{"name":"collector01"},"message":"A new process has been created.","winlog":{"channel":"Security","computer_name":"SRV03.corp.example","event_id":"4688","keywords":["Audit Success"],"provider_name":"Microsoft-Windows-Security-Auditing","record_id":81235,"process":{"pid":4},"event_data":{"SubjectUserSid":"S-1-5-18","SubjectUserName":"SRV03$","SubjectDomainName":"CORP","NewProcessId":"0x10e0","NewProcessName":"C:\\Windows\\PSEXESVC.exe","ProcessId":"0x278","CommandLine":"C:\\Windows\\PSEXESVC.exe","ParentProcessName":"C:\\Windows\\System32\\services.exe","TargetUserName":"-"}}}"#;

fn read_all(input: &[u8]) -> (Vec<WinEvent>, Vec<(u64, u64, String)>) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    read(input, &mut |e| events.push(e), &mut |e| {
        errors.push((e.line, e.offset, e.kind.to_string()))
    })
    .expect("an in-memory read does not fail");
    (events, errors)
}

#[test]
fn a_raw_winlogbeat_line_goes_through_the_pipelines_mapping() {
    let ev = parse_line(RAW_4688.as_bytes()).expect("a Windows event");
    assert_eq!(ev.timestamp, "2026-11-20T09:20:11.402000Z");
    assert_eq!(ev.process.name.as_deref(), Some("PSEXESVC.exe"));
    assert_eq!(ev.process.pid, Some(0x10e0));
    assert_eq!(ev.event.category, ["process"]);
    assert_eq!(ev.event.module.as_deref(), Some("security"));
    assert_eq!(
        ev.event.action.as_deref(),
        Some("created-process"),
        "the pipeline's, not the beat's task name"
    );
    assert_eq!(
        ev.host.name.as_deref(),
        Some("collector01"),
        "the beat's host.name is kept"
    );
    assert_eq!(
        ev.message.as_deref(),
        Some("A new process has been created.")
    );
    assert_eq!(
        ev.winlog.computer_name.as_deref(),
        Some("SRV03.corp.example")
    );
    assert_eq!(ev.winlog.record_id, Some(81235));
    assert_eq!(ev.user.name.as_deref(), Some("SRV03$"));
}

#[test]
fn an_ingested_document_keeps_its_own_ecs_values() {
    let doc = json!({
        "@timestamp": "2026-11-20T09:14:02.610Z",
        "event": {"code": "1", "module": "sysmon", "category": "process", "type": ["start"], "action": "Process creation"},
        "process": {"name": "renamed-by-the-pipeline.exe", "executable": "C:\\Windows\\PSEXESVC.exe"},
        "process.pe.original_file_name": "psexesvc.exe",
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "provider_name": "Microsoft-Windows-Sysmon",
                   "event_id": 1, "computer_name": "WKS02", "record_id": "549482",
                   "event_data": {"User": "NT AUTHORITY\\SYSTEM", "IntegrityLevel": "System", "Multi": ["a", "b"]}}
    });
    let ev = parse_line(doc.to_string().as_bytes()).expect("a Windows event");
    assert_eq!(
        ev.process.name.as_deref(),
        Some("renamed-by-the-pipeline.exe")
    );
    assert_eq!(
        ev.event.category,
        ["process"],
        "a string is a one-item list"
    );
    assert_eq!(
        ev.process.pe.original_file_name.as_deref(),
        Some("psexesvc.exe"),
        "a dotted key"
    );
    assert_eq!(
        ev.user.name.as_deref(),
        Some("SYSTEM"),
        "filled in by the mapping"
    );
    assert_eq!(ev.winlog.record_id, Some(549482));
    assert_eq!(ev.winlog.event_id.as_deref(), Some("1"));
    assert_eq!(
        ev.winlog.event_data.values("Multi").collect::<Vec<_>>(),
        ["a", "b"]
    );
    let json = serde_json::to_value(&ev).expect("serialises");
    assert_eq!(json["winlog"]["event_data"]["Multi"], json!(["a", "b"]));
}

#[test]
fn bad_lines_are_reported_by_number_and_the_rest_is_read() {
    let long = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_LINE));
    let input = [
        "\u{feff}".to_owned() + RAW_4688, // 1: byte order mark, then an event
        "".to_owned(),                    // 2: blank
        "{not json".to_owned(),           // 3
        "[1,2]".to_owned(),               // 4
        r#"{"MESSAGE":"hello","__CURSOR":"s=1"}"#.to_owned(), // 5: journalctl -o json
        r#"{"winlog":{"channel":"System"},"@timestamp":"yesterday"}"#.to_owned(), // 6
        long,                             // 7
        RAW_4688.to_owned() + "\r",       // 8: CRLF
        "   ".to_owned(),                 // 9
        RAW_4688.to_owned(),              // 10: no newline at the end
    ]
    .join("\n");
    let (events, errors) = read_all(input.as_bytes());
    assert_eq!(events.len(), 3);
    let lines: Vec<u64> = errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7]);
    assert!(errors[0].2.starts_with("not JSON"), "{errors:?}");
    assert_eq!(errors[1].2, "a JSON array, not an object");
    assert!(errors[2].2.starts_with("not a Windows event"));
    assert!(errors[3].2.contains("@timestamp"));
    assert_eq!(errors[4].2, format!("longer than {MAX_LINE} bytes"));
    // Offsets are where each line starts.
    let third = input
        .split('\n')
        .take(2)
        .map(|l| l.len() as u64 + 1)
        .sum::<u64>();
    assert_eq!(errors[0].1, third);
}

/// Reads `good` bytes, then fails.
struct Failing<'a> {
    good: &'a [u8],
}

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.good.len());
        buf[..n].copy_from_slice(&self.good[..n]);
        self.good = &self.good[n..];
        Ok(n)
    }
}

#[test]
fn a_failing_reader_is_an_error_after_the_lines_before_it() {
    let input = format!("{RAW_4688}\n{RAW_4688}\n{{\"half");
    let mut events = 0;
    let err = read(
        BufReader::with_capacity(
            16,
            Failing {
                good: input.as_bytes(),
            },
        ),
        &mut |_| events += 1,
        &mut |e| panic!("{e}"),
    )
    .expect_err("the read fails");
    assert_eq!(events, 2);
    assert_eq!(err.line, 3);
    assert!(err.to_string().contains("disk on fire"));
}

#[test]
fn the_json_of_an_event_reads_back_as_the_same_event() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut fixtures: Vec<_> = rule_files()
        .iter()
        .map(|rule| rule.with_extension("positive.ndjson"))
        .collect();
    fixtures.push(dir.join("baseline/windows.ndjson"));
    let mut checked = 0;
    for path in fixtures {
        for event in fixture_events(&path) {
            let json = serde_json::to_string(&event).expect("serialises");
            let again = parse_line(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(
                serde_json::to_value(&again).expect("serialises"),
                serde_json::to_value(&event).expect("serialises"),
                "{}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 50, "{checked}");
}

#[test]
fn sniffing() {
    let mut evtx = EVTX_MAGIC.to_vec();
    evtx.extend_from_slice(&[0; 100]);
    assert_eq!(sniff(&evtx), Some(WinFormat::Evtx));
    assert_eq!(
        sniff(b"ElfFile"),
        None,
        "the magic is eight bytes with its NUL"
    );
    let ndjson = format!("\u{feff}\n\n  {RAW_4688}\n{RAW_4688}\n");
    assert_eq!(sniff(ndjson.as_bytes()), Some(WinFormat::WinlogbeatNdjson));
    assert_eq!(
        sniff(RAW_4688.as_bytes()),
        Some(WinFormat::WinlogbeatNdjson),
        "one line, no newline"
    );
    // A head that ends inside the first line.
    assert_eq!(
        sniff(&RAW_4688.as_bytes()[..300]),
        Some(WinFormat::WinlogbeatNdjson)
    );
    assert_eq!(
        sniff(br#"{"@timestamp":"x","winlog" :  {"channel":"Sec"#),
        Some(WinFormat::WinlogbeatNdjson)
    );
    assert_eq!(
        sniff(br#"{"winlog.channel":"Security","@timestamp"#),
        Some(WinFormat::WinlogbeatNdjson)
    );
    assert_eq!(
        sniff(br#"{"event":{"code":"4688","provider":"Microsoft-Windows-Security-Auditing"}}"#),
        Some(WinFormat::WinlogbeatNdjson)
    );
    // Not Windows.
    assert_eq!(
        sniff(br#"{"__CURSOR":"s=1","MESSAGE":"Accepted password for alice"}"#),
        None
    );
    assert_eq!(sniff(br#"{"winlog":"just a string"}"#), None);
    assert_eq!(sniff(br#"{"msg":"winlog"}"#), None);
    assert_eq!(sniff(br#"{"a":1,"b":"#), None, "a cut line without winlog");
    assert_eq!(
        sniff(b"Nov 23 10:00:00 host sshd[1]: Accepted password"),
        None
    );
    assert_eq!(sniff(b"{not json}\n"), None);
    assert_eq!(sniff(b""), None);
    assert_eq!(sniff(b"   \n  "), None);
}

#[test]
fn every_fixture_line_is_sniffed_as_winlogbeat() {
    for rule in rule_files() {
        let path = rule.with_extension("positive.ndjson");
        let file = std::fs::File::open(&path).expect("a fixture");
        let mut head = Vec::new();
        BufReader::new(file)
            .take(64 << 10)
            .read_to_end(&mut head)
            .expect("readable");
        assert_eq!(
            sniff(&head),
            Some(WinFormat::WinlogbeatNdjson),
            "{}",
            path.display()
        );
        let first_line = head.split(|&b| b == b'\n').next().expect("a line");
        assert!(parse_line(first_line).is_ok());
    }
    let (events, errors) = read_all(b"{\"winlog\":{},\"@timestamp\":1700000000000}\n");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        events[0].timestamp, "2023-11-14T22:13:20.000000Z",
        "epoch milliseconds"
    );
    assert!(matches!(
        parse_line(b"{\"event\":{\"code\":\"1\"}}"),
        Err(LineErrorKind::NoTimestamp)
    ));
}
