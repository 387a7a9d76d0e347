//! Sysmon records as ECS, following Winlogbeat's Sysmon pipeline
//! (elastic/beats `x-pack/winlogbeat/module/sysmon/ingest/sysmon.yml`), section by section.
use std::net::IpAddr;

use super::args;
use super::map::{add_unique, categorise, file_name, rfc3339, set};
use crate::ecs::windows::{EventData, WinEvent};

/// sysmon.yml "Add ECS categorization fields": event id → category, type, action.
const CATEGORIES: &[(&str, &[&str], &[&str], &str)] = &[
    ("1", &["process"], &["start"], "Process creation"),
    (
        "2",
        &["file"],
        &["change"],
        "A process changed a file creation time",
    ),
    (
        "3",
        &["network"],
        &["start", "connection", "protocol"],
        "Network connection",
    ),
    (
        "4",
        &["process"],
        &["change"],
        "Sysmon service state changed",
    ),
    ("5", &["process"], &["end"], "Process terminated"),
    ("6", &["driver"], &["start"], "Driver loaded"),
    ("7", &["process"], &["change"], "Image loaded"),
    ("8", &["process"], &["change"], "CreateRemoteThread"),
    ("9", &["process"], &["access"], "RawAccessRead"),
    ("10", &["process"], &["access"], "ProcessAccess"),
    ("11", &["file"], &["creation"], "FileCreate"),
    (
        "12",
        &["configuration", "registry"],
        &["change"],
        "RegistryEvent (Object create and delete)",
    ),
    (
        "13",
        &["configuration", "registry"],
        &["change"],
        "RegistryEvent (Value Set)",
    ),
    (
        "14",
        &["configuration", "registry"],
        &["change"],
        "RegistryEvent (Key and Value Rename)",
    ),
    ("15", &["file"], &["access"], "FileCreateStreamHash"),
    (
        "16",
        &["configuration"],
        &["change"],
        "ServiceConfigurationChange",
    ),
    ("17", &["file"], &["creation"], "PipeEvent (Pipe Created)"),
    ("18", &["file"], &["access"], "PipeEvent (Pipe Connected)"),
    (
        "19",
        &["process"],
        &["info"],
        "WmiEvent (WmiEventFilter activity detected)",
    ),
    (
        "20",
        &["process"],
        &["change"],
        "WmiEvent (WmiEventConsumer activity detected)",
    ),
    (
        "21",
        &["process"],
        &["access"],
        "WmiEvent (WmiEventConsumerToFilter activity detected)",
    ),
    (
        "22",
        &["network"],
        &["connection", "protocol", "info"],
        "DNSEvent (DNS query)",
    ),
    (
        "23",
        &["file"],
        &["deletion"],
        "FileDelete (File Delete archived)",
    ),
    (
        "24",
        &[],
        &["change"],
        "ClipboardChange (New content in the clipboard)",
    ),
    (
        "25",
        &["process"],
        &["change"],
        "ProcessTampering (Process image change)",
    ),
    (
        "26",
        &["file"],
        &["deletion"],
        "FileDeleteDetected (File Delete logged)",
    ),
    ("27", &["file"], &["creation"], "FileBlockExecutable"),
    ("28", &["file"], &["deletion"], "FileBlockShredding"),
    ("29", &["file"], &["creation"], "FileExecutableDetected"),
    ("255", &["process"], &[], "Error"),
];

/// sysmon.yml "Set registry fields": hive names and abbreviations → abbreviation.
const HIVES: &[(&str, &str)] = &[
    ("HKEY_CLASSES_ROOT", "HKCR"),
    ("HKCR", "HKCR"),
    ("HKEY_CURRENT_CONFIG", "HKCC"),
    ("HKCC", "HKCC"),
    ("HKEY_CURRENT_USER", "HKCU"),
    ("HKCU", "HKCU"),
    ("HKEY_DYN_DATA", "HKDD"),
    ("HKDD", "HKDD"),
    ("HKEY_LOCAL_MACHINE", "HKLM"),
    ("HKLM", "HKLM"),
    ("HKEY_PERFORMANCE_DATA", "HKPD"),
    ("HKPD", "HKPD"),
    ("HKEY_USERS", "HKU"),
    ("HKU", "HKU"),
];

pub(super) fn map(d: &EventData, ev: &mut WinEvent) {
    let code = ev.event.code.clone().unwrap_or_default();
    // "date" on UtcTime (yyyy-MM-dd HH:mm:ss.SSS, UTC) into @timestamp.
    if let Some(t) = d.get("UtcTime").and_then(rfc3339) {
        ev.timestamp = t;
    }
    if let Some((_, category, kind, action)) = CATEGORIES.iter().find(|(c, ..)| *c == code) {
        categorise(ev, category, kind, action);
        if code == "255" {
            ev.event.outcome = Some("failure".to_owned());
        }
    }
    process(d, ev, &code);
    file(d, ev);
    network(d, ev, &code);
    user(d, ev);
    if matches!(code.as_str(), "12" | "13" | "14") {
        registry(d, ev);
    }
    // "Related fields".
    if let Some(name) = ev.user.name.clone() {
        add_unique(&mut ev.related.user, name);
    }
    for ip in [ev.source.ip, ev.destination.ip].into_iter().flatten() {
        add_unique(&mut ev.related.ip, ip);
    }
}

/// "Process fields": each `rename` in the pipeline's order (a rename never overwrites).
fn process(d: &EventData, ev: &mut WinEvent, code: &str) {
    let p = &mut ev.process;
    if let Some(hashes) = d.get("Hashes").or_else(|| d.get("Hash"))
        && matches!(code, "1" | "23" | "24" | "25" | "26")
    {
        for (algorithm, value) in hash_pairs(hashes) {
            match algorithm.as_str() {
                "md5" => p.hash.md5 = Some(value),
                "sha1" => p.hash.sha1 = Some(value),
                "sha256" => p.hash.sha256 = Some(value),
                "imphash" => p.pe.imphash = Some(value),
                _ => {}
            }
        }
    }
    for guid in ["ProcessGuid", "SourceProcessGuid", "SourceProcessGUID"] {
        set(&mut p.entity_id, d.get(guid));
    }
    for pid in ["ProcessId", "SourceProcessId"] {
        if p.pid.is_none() {
            p.pid = d.get(pid).and_then(|v| v.trim().parse().ok());
        }
    }
    for image in ["Image", "SourceImage", "Destination"] {
        set(&mut p.executable, d.get(image));
    }
    set(&mut p.command_line, d.get("CommandLine"));
    set(&mut p.working_directory, d.get("CurrentDirectory"));
    set(&mut p.parent.entity_id, d.get("ParentProcessGuid"));
    p.parent.pid = d.get("ParentProcessId").and_then(|v| v.trim().parse().ok());
    set(&mut p.parent.executable, d.get("ParentImage"));
    set(&mut p.parent.command_line, d.get("ParentCommandLine"));
    if code != "7" {
        set(&mut p.pe.original_file_name, d.get("OriginalFileName"));
        set(&mut p.pe.company, d.get("Company"));
        set(&mut p.pe.description, d.get("Description"));
        set(&mut p.pe.file_version, d.get("FileVersion"));
        set(&mut p.pe.product, d.get("Product"));
    }
    // "Implements Windows-like SplitCommandLine".
    if let Some(cmd) = p.command_line.as_deref() {
        p.args = args::sysmon(cmd);
        p.args_count = i64::try_from(p.args.len()).ok();
    }
    // "Adds process name information": the part of the path after its last backslash.
    if let Some(exe) = p.executable.as_deref().filter(|e| e.len() > 1) {
        set(&mut p.name, file_name(exe));
    }
    if let Some(exe) = p.parent.executable.as_deref().filter(|e| e.len() > 1) {
        set(&mut p.parent.name, file_name(exe));
    }
}

/// The `kv` split of `Hashes` (`SHA1=…,MD5=…`), keys and values lower-cased, all-zero hashes
/// left out.
fn hash_pairs(hashes: &str) -> impl Iterator<Item = (String, String)> + '_ {
    hashes.split(',').filter_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        let value = value.trim();
        if value.chars().all(|c| c == '0') {
            return None;
        }
        Some((key.trim().to_ascii_lowercase(), value.to_ascii_lowercase()))
    })
}

/// "File fields": `TargetFilename`, `Device` or `ImageLoaded` is `file.path`, `PipeName`
/// `file.name`; a path gives the name and directory around its last backslash. (The pipeline
/// takes `file.extension` after the last dot of the whole path; here it is the name's.)
fn file(d: &EventData, ev: &mut WinEvent) {
    let f = &mut ev.file;
    for key in ["TargetFilename", "Device"] {
        set(&mut f.path, d.get(key));
    }
    set(&mut f.name, d.get("PipeName"));
    set(&mut f.path, d.get("ImageLoaded"));
    let Some(path) = f.path.as_deref().filter(|p| p.len() > 1) else {
        return;
    };
    if let Some(i) = path.rfind('\\') {
        let name = &path[i + 1..];
        f.name = Some(name.to_owned());
        f.directory = Some(path[..i].to_owned());
        f.extension = name.rfind('.').map(|dot| name[dot + 1..].to_owned());
    }
}

/// "Network, Destination, and Source fields".
fn network(d: &EventData, ev: &mut WinEvent, code: &str) {
    let n = &mut ev.network;
    set(&mut n.transport, d.get("Protocol"));
    if code == "22" {
        n.protocol = Some("dns".to_owned());
    } else {
        set(&mut n.protocol, d.get("DestinationPortName"));
        set(&mut n.protocol, d.get("SourcePortName"));
    }
    n.direction = match d.get("Initiated") {
        Some("true") => Some("egress".to_owned()),
        Some("false") => Some("ingress".to_owned()),
        _ => None,
    };
    n.kind = match d.get("SourceIsIpv6") {
        Some("false") => Some("ipv4".to_owned()),
        Some("true") => Some("ipv6".to_owned()),
        _ => None,
    };
    ev.source.ip = d.get("SourceIp").and_then(ip);
    set(&mut ev.source.domain, d.get("SourceHostname"));
    ev.source.port = d.get("SourcePort").and_then(|p| p.trim().parse().ok());
    ev.destination.ip = d.get("DestinationIp").and_then(ip);
    set(&mut ev.destination.domain, d.get("DestinationHostname"));
    ev.destination.port = d.get("DestinationPort").and_then(|p| p.trim().parse().ok());
}

/// An address as the `convert` to `ip` reads it (an IPv4-mapped IPv6 address is left as is).
fn ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

/// "User fields": `user.id` from the record's `Security UserID`; `User` (`DOMAIN\name`)
/// split at its backslash when it has exactly one.
fn user(d: &EventData, ev: &mut WinEvent) {
    ev.user.id.clone_from(&ev.winlog.user.identifier);
    if let Some(user) = d.get("User") {
        let mut parts = user.split('\\');
        if let (Some(domain), Some(name), None) = (parts.next(), parts.next(), parts.next()) {
            set(&mut ev.user.domain, Some(domain));
            set(&mut ev.user.name, Some(name));
        }
    }
}

/// "Set registry fields" (events 12, 13, 14): `TargetObject` is `registry.path`; its first
/// component, if a hive, `registry.hive` and the rest `registry.key`; its last component
/// `registry.value`; `Details` the data, typed `SZ_DWORD` and `SZ_QWORD` (as decimal),
/// `REG_BINARY` or `REG_SZ`. (The pipeline combines a QWORD's halves as `(high << 8) + low`;
/// here it is `(high << 32) | low`, the value Windows stored.)
fn registry(d: &EventData, ev: &mut WinEvent) {
    let Some(path) = d.get("TargetObject") else {
        return;
    };
    let r = &mut ev.registry;
    r.path = Some(path.to_owned());
    let tokens: Vec<&str> = path.split('\\').collect();
    if let Some((_, hive)) = HIVES.iter().find(|(name, _)| Some(name) == tokens.first()) {
        r.hive = Some((*hive).to_owned());
        if tokens.len() > 1 {
            r.key = Some(tokens[1..].join("\\"));
        }
    }
    r.value = tokens.last().map(|v| (*v).to_owned());
    let Some(details) = d.get("Details").filter(|v| !v.is_empty()) else {
        return;
    };
    let (kind, value) = if let Some(q) = qword(details) {
        ("SZ_QWORD", q.to_string())
    } else if let Some(dw) = dword(details) {
        ("SZ_DWORD", dw.to_string())
    } else if details == "Binary Data" {
        ("REG_BINARY", details.to_owned())
    } else {
        ("REG_SZ", details.to_owned())
    };
    r.data.kind = Some(kind.to_owned());
    r.data.strings = vec![value];
}

/// `DWORD (0x0000000f)`, any case.
fn dword(details: &str) -> Option<u32> {
    let inner = strip_prefix_ignore_case(details, "DWORD (")?.strip_suffix(')')?;
    hex8(inner)
}

/// `QWORD (0x00000001-0x00000002)`, any case.
fn qword(details: &str) -> Option<u64> {
    let inner = strip_prefix_ignore_case(details, "QWORD (")?.strip_suffix(')')?;
    let (high, low) = inner.split_once('-')?;
    Some(u64::from(hex8(high)?) << 32 | u64::from(hex8(low)?))
}

/// `0x` and exactly eight hex digits.
fn hex8(text: &str) -> Option<u32> {
    let digits = strip_prefix_ignore_case(text, "0x")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}
