//! The mapping, event id by event id, from small records in the JSON shape the `evtx` crate
//! renders (`{"Event": {"System": …, "EventData": …}}`).
use std::net::IpAddr;

use serde_json::{Value, json};

use super::map::{Module, UNKNOWN_TIME, decode_long, map, rfc3339};
use super::record::{RecordError, WinRecord, keyword_names};
use crate::detect::kql::Query;
use crate::ecs::{schema, windows::WinEvent};

const SYSMON: (&str, &str) = (
    "Microsoft-Windows-Sysmon",
    "Microsoft-Windows-Sysmon/Operational",
);
const SECURITY: (&str, &str) = ("Microsoft-Windows-Security-Auditing", "Security");
const SYSTEM: (&str, &str) = ("Service Control Manager", "System");

fn rendered((provider, channel): (&str, &str), event_id: Value, data: Value) -> Value {
    json!({"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": provider, "Guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"}},
            "EventID": event_id,
            "Keywords": "0x8020000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": "2026-11-20T09:14:02.6114375Z"}},
            "EventRecordID": 549482,
            "Correlation": null,
            "Execution": {"#attributes": {"ProcessID": 3572, "ThreadID": 5040}},
            "Channel": channel,
            "Computer": "WKS02.corp.example",
            "Security": {"#attributes": {"UserID": "S-1-5-18"}}
        },
        "EventData": data
    }})
}

fn event(source: (&str, &str), event_id: u32, data: Value) -> WinEvent {
    let record = WinRecord::from_evtx_json(&rendered(source, json!(event_id), data))
        .expect("a well-formed record");
    map(&record)
}

fn matches(query: &str, event: &WinEvent) -> bool {
    Query::compile(query, schema())
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .matches(event)
}

#[test]
fn sysmon_1_process_start() {
    let ev = event(
        SYSMON,
        1,
        json!({
            "RuleName": "-", "UtcTime": "2026-11-20 09:14:02.610",
            "ProcessGuid": "{747f3d96-00d9-5fd1-0000-001021855301}", "ProcessId": 16344,
            "Image": "C:\\Windows\\PSEXESVC.exe", "FileVersion": "2.2", "Description": "PsExec Service",
            "Product": "Sysinternals PsExec", "Company": "Sysinternals", "OriginalFileName": "psexesvc.exe",
            "CommandLine": "C:\\Windows\\PSEXESVC.exe -x \"a b\"", "CurrentDirectory": "C:\\Windows\\system32\\",
            "User": "NT AUTHORITY\\SYSTEM", "LogonId": "0x3e7",
            "Hashes": "SHA1=A17C21B909C56D93D978014E63FB06926EAEA8E7,MD5=00000000000000000000000000000000,IMPHASH=67012475995FB9027F4511245B57DDEA",
            "ParentProcessGuid": "{00000000-0000-0000-0000-000000000000}", "ParentProcessId": 632,
            "ParentImage": "C:\\Windows\\System32\\services.exe", "ParentCommandLine": "C:\\Windows\\system32\\services.exe"
        }),
    );
    assert_eq!(
        ev.timestamp, "2026-11-20T09:14:02.610000Z",
        "UtcTime, not TimeCreated"
    );
    assert_eq!(ev.event.category, ["process"]);
    assert_eq!(ev.event.kind_of, ["start"]);
    assert_eq!(ev.event.action.as_deref(), Some("Process creation"));
    assert_eq!(ev.event.module.as_deref(), Some("sysmon"));
    assert_eq!(ev.event.code.as_deref(), Some("1"));
    assert_eq!(ev.event.kind.as_deref(), Some("event"));
    let p = &ev.process;
    assert_eq!(
        p.name.as_deref(),
        Some("PSEXESVC.exe"),
        "the file name of Image"
    );
    assert_eq!(p.executable.as_deref(), Some(r"C:\Windows\PSEXESVC.exe"));
    assert_eq!(p.pid, Some(16344));
    assert_eq!(p.args, [r"C:\Windows\PSEXESVC.exe", "-x", "a b"]);
    assert_eq!(p.args_count, Some(3));
    assert_eq!(p.pe.original_file_name.as_deref(), Some("psexesvc.exe"));
    assert_eq!(p.pe.description.as_deref(), Some("PsExec Service"));
    assert_eq!(
        p.hash.sha1.as_deref(),
        Some("a17c21b909c56d93d978014e63fb06926eaea8e7")
    );
    assert_eq!(p.hash.md5, None, "an all-zero hash is left out");
    assert_eq!(
        p.pe.imphash.as_deref(),
        Some("67012475995fb9027f4511245b57ddea")
    );
    assert_eq!(
        p.parent.entity_id, None,
        "the null GUID is removed as empty"
    );
    assert_eq!(p.parent.pid, Some(632));
    assert_eq!(p.parent.name.as_deref(), Some("services.exe"));
    assert_eq!(ev.user.name.as_deref(), Some("SYSTEM"));
    assert_eq!(ev.user.domain.as_deref(), Some("NT AUTHORITY"));
    assert_eq!(ev.user.id.as_deref(), Some("S-1-5-18"));
    assert_eq!(ev.related.user, ["SYSTEM"]);
    assert_eq!(ev.host.name.as_deref(), Some("WKS02.corp.example"));
    assert_eq!(
        ev.winlog.event_data.get("RuleName"),
        None,
        "`-` is removed as empty"
    );
    assert_eq!(ev.winlog.event_data.get("ProcessId"), Some("16344"));
    assert!(matches(
        "event.category:process and process.name:PSEXESVC.exe",
        &ev
    ));
    assert!(!matches(
        "event.category:process and process.name:psexesvc.exe",
        &ev
    ));
}

#[test]
fn sysmon_1_image_without_a_backslash_has_no_name() {
    // sysmon.yml getProcessName: no backslash, no name (the `System` process).
    let ev = event(SYSMON, 1, json!({"Image": "System", "ProcessId": "4"}));
    assert_eq!(ev.process.executable.as_deref(), Some("System"));
    assert_eq!(ev.process.name, None);
}

#[test]
fn sysmon_3_network_connection() {
    let ev = event(
        SYSMON,
        3,
        json!({
            "UtcTime": "2026-11-20 09:14:00.001", "ProcessId": "4", "Image": "System", "User": "NT AUTHORITY\\SYSTEM",
            "Protocol": "tcp", "Initiated": "false", "SourceIsIpv6": "false", "SourceIp": "10.0.2.16",
            "SourceHostname": "ADMIN01.corp.example", "SourcePort": "59492", "SourcePortName": "-",
            "DestinationIsIpv6": "false", "DestinationIp": "10.0.2.17", "DestinationHostname": "-",
            "DestinationPort": "445", "DestinationPortName": "microsoft-ds"
        }),
    );
    assert_eq!(ev.event.category, ["network"]);
    assert_eq!(ev.event.kind_of, ["start", "connection", "protocol"]);
    assert_eq!(ev.network.transport.as_deref(), Some("tcp"));
    assert_eq!(ev.network.protocol.as_deref(), Some("microsoft-ds"));
    assert_eq!(ev.network.direction.as_deref(), Some("ingress"));
    assert_eq!(ev.network.kind.as_deref(), Some("ipv4"));
    let src: IpAddr = "10.0.2.16".parse().expect("an address");
    let dst: IpAddr = "10.0.2.17".parse().expect("an address");
    assert_eq!(ev.source.ip, Some(src));
    assert_eq!(ev.source.port, Some(59492));
    assert_eq!(ev.source.domain.as_deref(), Some("ADMIN01.corp.example"));
    assert_eq!(ev.destination.ip, Some(dst));
    assert_eq!(ev.destination.port, Some(445));
    assert_eq!(ev.destination.domain, None);
    assert_eq!(ev.related.ip, [src, dst]);
    assert!(matches(
        "destination.port:445 and source.ip:10.0.0.0/8",
        &ev
    ));
}

#[test]
fn sysmon_11_file_create() {
    let ev = event(
        SYSMON,
        11,
        json!({
            "UtcTime": "2020-08-27 11:40:56.396", "ProcessGuid": "{b5cf5917-721e-5f46-0000-0010eb030000}",
            "ProcessId": 4, "Image": "System", "TargetFilename": "C:\\Windows\\PSEXESVC.exe",
            "CreationUtcTime": "2020-08-27 11:40:56.396"
        }),
    );
    assert_eq!(ev.event.category, ["file"]);
    assert_eq!(ev.event.kind_of, ["creation"]);
    assert_eq!(ev.event.action.as_deref(), Some("FileCreate"));
    assert_eq!(ev.file.path.as_deref(), Some(r"C:\Windows\PSEXESVC.exe"));
    assert_eq!(ev.file.name.as_deref(), Some("PSEXESVC.exe"));
    assert_eq!(ev.file.directory.as_deref(), Some(r"C:\Windows"));
    assert_eq!(ev.file.extension.as_deref(), Some("exe"));
    assert_eq!(ev.process.executable.as_deref(), Some("System"));
    assert_eq!(ev.process.pid, Some(4));
}

#[test]
fn sysmon_13_registry_value_set() {
    let ev = event(
        SYSMON,
        13,
        json!({
            "EventType": "SetValue", "UtcTime": "2026-11-20 09:14:02.500", "ProcessId": 632,
            "Image": "C:\\Windows\\system32\\services.exe",
            "TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\PSEXESVC\\Start",
            "Details": "DWORD (0x00000003)"
        }),
    );
    assert_eq!(ev.event.category, ["configuration", "registry"]);
    assert_eq!(ev.event.kind_of, ["change"]);
    let r = &ev.registry;
    assert_eq!(
        r.path.as_deref(),
        Some(r"HKLM\System\CurrentControlSet\Services\PSEXESVC\Start")
    );
    assert_eq!(r.hive.as_deref(), Some("HKLM"));
    assert_eq!(
        r.key.as_deref(),
        Some(r"System\CurrentControlSet\Services\PSEXESVC\Start")
    );
    assert_eq!(r.value.as_deref(), Some("Start"));
    assert_eq!(r.data.kind.as_deref(), Some("SZ_DWORD"));
    assert_eq!(r.data.strings, ["3"]);

    let qword = event(
        SYSMON,
        13,
        json!({"TargetObject": "HKU\\S-1-5-18\\x\\T", "Details": "QWORD (0x00000001-0x00000002)"}),
    );
    assert_eq!(qword.registry.data.kind.as_deref(), Some("SZ_QWORD"));
    assert_eq!(qword.registry.data.strings, [(1u64 << 32 | 2).to_string()]);
    assert_eq!(qword.registry.hive.as_deref(), Some("HKU"));
    let path = event(
        SYSMON,
        13,
        json!({"TargetObject": "\\REGISTRY\\MACHINE\\x", "Details": "%SystemRoot%\\PSEXESVC.exe"}),
    );
    assert_eq!(path.registry.hive, None, "not a hive name");
    assert_eq!(path.registry.key, None);
    assert_eq!(path.registry.data.kind.as_deref(), Some("REG_SZ"));
    assert_eq!(path.registry.data.strings, [r"%SystemRoot%\PSEXESVC.exe"]);
}

#[test]
fn sysmon_17_and_18_named_pipes() {
    let created = event(
        SYSMON,
        17,
        json!({"EventType": "CreatePipe", "ProcessId": 13004, "PipeName": "\\PSEXESVC", "Image": "C:\\Windows\\PSEXESVC.exe"}),
    );
    assert_eq!(created.event.category, ["file"]);
    assert_eq!(created.event.kind_of, ["creation"]);
    assert_eq!(
        created.event.action.as_deref(),
        Some("PipeEvent (Pipe Created)")
    );
    assert_eq!(created.file.name.as_deref(), Some(r"\PSEXESVC"));
    assert_eq!(created.file.path, None);
    assert_eq!(
        created.winlog.event_data.get("PipeName"),
        Some(r"\PSEXESVC")
    );
    let connected = event(
        SYSMON,
        18,
        json!({"EventType": "ConnectPipe", "ProcessId": 4, "PipeName": "\\RemCom_communicaton", "Image": "System"}),
    );
    assert_eq!(connected.event.kind_of, ["access"]);
    assert_eq!(
        connected.event.action.as_deref(),
        Some("PipeEvent (Pipe Connected)")
    );
    assert!(matches(
        r"file.name:\\RemCom_* and winlog.event_data.PipeName:\\RemCom_communicaton",
        &connected
    ));
}

#[test]
fn security_4688_process_creation() {
    let ev = event(
        SECURITY,
        4688,
        json!({
            "SubjectUserSid": "S-1-5-18", "SubjectUserName": "SRV03$", "SubjectDomainName": "CORP",
            "SubjectLogonId": "0x3e7", "NewProcessId": "0x10e0", "NewProcessName": "C:\\Windows\\PSEXESVC.exe",
            "TokenElevationType": "%%1936", "ProcessId": "0x278",
            "CommandLine": "\"C:\\Windows\\PSEXESVC.exe\"  -s",
            "TargetUserSid": "S-1-0-0", "TargetUserName": "-", "TargetDomainName": "-",
            "ParentProcessName": "C:\\Windows\\System32\\services.exe"
        }),
    );
    assert_eq!(ev.event.module.as_deref(), Some("security"));
    assert_eq!(ev.event.category, ["process"]);
    assert_eq!(ev.event.kind_of, ["start"]);
    assert_eq!(ev.event.action.as_deref(), Some("created-process"));
    assert_eq!(
        ev.event.outcome.as_deref(),
        Some("success"),
        "the Audit Success keyword"
    );
    assert_eq!(ev.timestamp, "2026-11-20T09:14:02.611437Z");
    let p = &ev.process;
    assert_eq!(p.pid, Some(0x10e0));
    assert_eq!(p.name.as_deref(), Some("PSEXESVC.exe"));
    assert_eq!(p.parent.pid, Some(0x278));
    assert_eq!(p.parent.name.as_deref(), Some("services.exe"));
    assert_eq!(
        p.args,
        ["\"C:\\Windows\\PSEXESVC.exe\"", "", "-s"],
        "security_standard.yml's split"
    );
    assert_eq!(ev.user.name.as_deref(), Some("SRV03$"));
    assert_eq!(ev.user.domain.as_deref(), Some("CORP"));
    assert_eq!(ev.user.id.as_deref(), Some("S-1-5-18"));
    assert!(matches(
        "event.category:process and process.name:PSEXESVC.exe",
        &ev
    ));
}

#[test]
fn security_4697_service_install() {
    let ev = event(
        SECURITY,
        4697,
        json!({
            "SubjectUserSid": "S-1-5-21-1-2-3-1104", "SubjectUserName": "alice", "SubjectDomainName": "CORP",
            "SubjectLogonId": "0x95c2e", "ServiceName": "PSEXESVC", "ServiceFileName": "%SystemRoot%\\PSEXESVC.exe",
            "ServiceType": "0x10", "ServiceStartType": "3", "ServiceAccount": "LocalSystem"
        }),
    );
    assert_eq!(ev.event.category, ["iam", "configuration"]);
    assert_eq!(ev.event.kind_of, ["admin", "change"]);
    assert_eq!(ev.event.action.as_deref(), Some("service-installed"));
    assert_eq!(ev.service.name.as_deref(), Some("PSEXESVC"));
    assert_eq!(ev.service.kind.as_deref(), Some("Win32 Own Process"));
    assert_eq!(ev.user.name.as_deref(), Some("alice"));
    assert_eq!(ev.related.user, ["alice"]);
    assert_eq!(
        ev.winlog.event_data.get("ServiceFileName"),
        Some(r"%SystemRoot%\PSEXESVC.exe")
    );
}

#[test]
fn security_5145_share_access_check() {
    let ev = event(
        SECURITY,
        5145,
        json!({
            "SubjectUserSid": "S-1-5-21-1-2-3-1000", "SubjectUserName": "IEUser", "SubjectDomainName": "PC01",
            "SubjectLogonId": "0x95c2e", "ObjectType": "File", "IpAddress": "::ffff:10.0.2.16", "IpPort": "59492",
            "ShareName": "\\\\*\\ADMIN$", "ShareLocalPath": "\\??\\C:\\Windows", "RelativeTargetName": "hTRqYbVf.exe",
            "AccessMask": "0x120196", "AccessList": "%%1538\r\n\t\t\t\t%%4417\r\n\t\t\t\t", "AccessReason": "-"
        }),
    );
    assert_eq!(ev.event.category, ["network", "file"]);
    assert_eq!(ev.event.kind_of, ["info", "access"]);
    assert_eq!(
        ev.event.action.as_deref(),
        Some("network-share-object-access-checked")
    );
    let ip: IpAddr = "10.0.2.16".parse().expect("an address");
    assert_eq!(ev.source.ip, Some(ip), "the IPv4-mapped prefix is removed");
    assert_eq!(ev.source.port, Some(59492));
    assert_eq!(ev.related.ip, [ip]);
    assert_eq!(ev.user.name.as_deref(), Some("IEUser"));
    assert_eq!(ev.winlog.event_data.get("AccessReason"), None);
    assert!(matches(
        r"winlog.event_data.ShareName:\\\\*\\ADMIN$ and winlog.event_data.AccessList:*4417*",
        &ev
    ));
}

#[test]
fn system_7045_service_install() {
    let ev = event(
        SYSTEM,
        7045,
        json!({
            "ServiceName": "kPzQ", "ImagePath": "%systemroot%\\hTRqYbVf.exe",
            "ServiceType": "user mode service", "StartType": "demand start", "AccountName": "LocalSystem"
        }),
    );
    assert_eq!(ev.event.module.as_deref(), Some("system"));
    assert_eq!(ev.event.dataset.as_deref(), Some("system.system"));
    assert_eq!(ev.event.action.as_deref(), Some("service-installed"));
    assert_eq!(ev.event.category, ["iam", "configuration"]);
    assert_eq!(ev.service.name.as_deref(), Some("kPzQ"));
    assert_eq!(ev.service.kind.as_deref(), Some("user mode service"));
    assert_eq!(ev.user.id.as_deref(), Some("S-1-5-18"));
    // 7045 carries its qualifiers as an attribute: `{"#attributes": …, "#text": 7045}`.
    let qualified = WinRecord::from_evtx_json(&rendered(
        SYSTEM,
        json!({"#attributes": {"Qualifiers": 16384}, "#text": 7045}),
        json!({"ServiceName": "PSEXESVC", "ImagePath": "%SystemRoot%\\PSEXESVC.exe"}),
    ))
    .expect("a record");
    assert_eq!(qualified.event_id, "7045");
    assert_eq!(map(&qualified).service.name.as_deref(), Some("PSEXESVC"));
}

#[test]
fn other_channels_keep_the_record_without_categories() {
    let ev = event(
        (
            "Microsoft-Windows-PowerShell",
            "Microsoft-Windows-PowerShell/Operational",
        ),
        4104,
        json!({"ScriptBlockText": "", "Path": "-"}),
    );
    assert_eq!(ev.event.module, None);
    assert!(ev.event.category.is_empty());
    assert_eq!(ev.event.code.as_deref(), Some("4104"));
    assert_eq!(
        ev.winlog.event_data.get("Path"),
        Some("-"),
        "no pipeline, nothing removed"
    );
    assert_eq!(ev.winlog.event_data.get("ScriptBlockText"), Some(""));
}

#[test]
fn unnamed_data_is_param1_param2() {
    let record = WinRecord::from_evtx_json(&rendered(
        ("Application Error", "Application"),
        json!(1000),
        json!({"Data": ["a.exe", 10, {"#text": "x"}, null], "Binary": "00FF"}),
    ))
    .expect("a record");
    assert_eq!(
        record.event_data,
        [
            ("param1", "a.exe"),
            ("param2", "10"),
            ("param3", "x"),
            ("Binary", "00FF")
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
}

#[test]
fn malformed_records_are_errors_or_empty_fields_not_panics() {
    assert_eq!(
        WinRecord::from_evtx_json(&json!([1, 2])),
        Err(RecordError::NoEvent)
    );
    assert_eq!(
        WinRecord::from_evtx_json(&json!({"Event": {}})),
        Err(RecordError::NoSystem)
    );
    let odd = WinRecord::from_evtx_json(&json!({"Event": {
        "System": {"EventID": [1], "Channel": {"x": 1}, "TimeCreated": "yesterday", "Execution": {"#attributes": {"ProcessID": -1}}},
        "EventData": "text"
    }}))
    .expect("a System object is enough");
    assert_eq!(odd.event_id, "");
    assert_eq!(odd.process_id, None);
    let ev = map(&odd);
    assert_eq!(ev.timestamp, UNKNOWN_TIME);
    assert_eq!(ev.event.code, None);
}

#[test]
fn module_routing_follows_routing_yml() {
    assert_eq!(
        Module::of("Security", "Microsoft-Windows-Security-Auditing"),
        Some(Module::Security)
    );
    assert_eq!(
        Module::of("security", "Microsoft-Windows-Eventlog"),
        Some(Module::Security)
    );
    assert_eq!(Module::of("Security", "Some-Other-Provider"), None);
    assert_eq!(
        Module::of("microsoft-windows-sysmon/operational", "x"),
        Some(Module::Sysmon)
    );
    assert_eq!(
        Module::of("System", "Service Control Manager"),
        Some(Module::System)
    );
    assert_eq!(Module::of("Application", "MsiInstaller"), None);
}

#[test]
fn helpers() {
    assert_eq!(decode_long("0x1a4"), Some(420));
    assert_eq!(decode_long("#ff"), Some(255));
    assert_eq!(
        decode_long("010"),
        Some(8),
        "Java's Long.decode reads a leading 0 as octal"
    );
    assert_eq!(decode_long("-12"), Some(-12));
    assert_eq!(decode_long("0"), Some(0));
    for bad in [
        "",
        "-",
        "0x",
        "x1",
        "--1",
        "0x-1",
        "99999999999999999999",
        "1 ",
    ] {
        assert_eq!(decode_long(bad), None, "{bad:?}");
    }
    assert_eq!(
        rfc3339("2020-12-09T16:52:28.2525250Z").as_deref(),
        Some("2020-12-09T16:52:28.252525Z")
    );
    assert_eq!(
        rfc3339("2020-12-09T17:52:28+01:00").as_deref(),
        Some("2020-12-09T16:52:28.000000Z")
    );
    assert_eq!(
        rfc3339("2020-12-09 16:52:28.237").as_deref(),
        Some("2020-12-09T16:52:28.237000Z")
    );
    assert_eq!(rfc3339("16:52"), None);
    // Past year 9999 in UTC: not a four-digit year, so not a timestamp.
    assert_eq!(rfc3339("9999-12-31T23:00:00-23:00"), None);
    assert_eq!(rfc3339("+12345-01-01 00:00:00"), None);
    assert_eq!(keyword_names("0x8020000000000000"), ["Audit Success"]);
    assert_eq!(keyword_names("0x8010000000000000"), ["Audit Failure"]);
    assert!(keyword_names("nonsense").is_empty());
}
