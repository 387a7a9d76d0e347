//! Security log records as ECS, following Winlogbeat's Security pipeline
//! (elastic/beats `x-pack/winlogbeat/module/security/ingest/security_standard.yml`, which
//! `security.yml` calls), for the events a lateral-movement investigation reads: logons
//! (4624, 4625, 4634, 4647, 4648, 4672), process creation and exit (4688, 4689), service
//! installs (4697), scheduled tasks (4698–4702), account changes (4720, 4726, 4732), share
//! access (5140, 5145) and log clearing (1102). Other event ids keep `winlog.*` and the
//! beat's own fields only.
use super::args;
use super::map::{add_unique, categorise, decode_long, set};
use crate::ecs::windows::{EventData, WinEvent};

/// "Set ECS categorization fields", for the event ids above.
const CATEGORIES: &[(&str, &[&str], &[&str], &str)] = &[
    ("1102", &["iam"], &["admin", "change"], "audit-log-cleared"),
    ("4624", &["authentication"], &["start"], "logged-in"),
    ("4625", &["authentication"], &["start"], "logon-failed"),
    ("4634", &["authentication"], &["end"], "logged-out"),
    ("4647", &["authentication"], &["end"], "logged-out"),
    (
        "4648",
        &["authentication"],
        &["start"],
        "logged-in-explicit",
    ),
    ("4672", &["iam"], &["admin"], "logged-in-special"),
    ("4688", &["process"], &["start"], "created-process"),
    ("4689", &["process"], &["end"], "exited-process"),
    (
        "4697",
        &["iam", "configuration"],
        &["admin", "change"],
        "service-installed",
    ),
    (
        "4698",
        &["iam", "configuration"],
        &["creation", "admin"],
        "scheduled-task-created",
    ),
    (
        "4699",
        &["iam", "configuration"],
        &["deletion", "admin"],
        "scheduled-task-deleted",
    ),
    (
        "4700",
        &["iam", "configuration"],
        &["change", "admin"],
        "scheduled-task-enabled",
    ),
    (
        "4701",
        &["iam", "configuration"],
        &["change", "admin"],
        "scheduled-task-disabled",
    ),
    (
        "4702",
        &["iam", "configuration"],
        &["change", "admin"],
        "scheduled-task-updated",
    ),
    (
        "4720",
        &["iam"],
        &["user", "creation"],
        "added-user-account",
    ),
    (
        "4726",
        &["iam"],
        &["user", "deletion"],
        "deleted-user-account",
    ),
    (
        "4732",
        &["iam"],
        &["group", "change"],
        "added-member-to-group",
    ),
    (
        "5140",
        &["network", "file"],
        &["info", "access"],
        "network-share-object-accessed",
    ),
    (
        "5145",
        &["network", "file"],
        &["info", "access"],
        "network-share-object-access-checked",
    ),
];

/// "Set Service Type and Name": 4697's `ServiceType` → `service.type`.
const SERVICE_TYPES: &[(&str, &str)] = &[
    ("0x1", "Kernel Driver"),
    ("0x2", "File System Driver"),
    ("0x8", "Recognizer Driver"),
    ("0x10", "Win32 Own Process"),
    ("0x20", "Win32 Share Process"),
    ("0x110", "Interactive Own Process"),
    ("0x120", "Interactive Share Process"),
];

/// "Copy Subject User from Event Data": the ids (of those above) whose subject is the user.
const SUBJECT_USER: &[&str] = &[
    "4648", "4672", "4688", "4689", "4697", "4698", "4699", "4700", "4701", "4702", "4720", "4726",
    "4732", "5140", "5145",
];

/// "Copy Target User": the logon events, whose target is the user.
const TARGET_USER: &[&str] = &["4624", "4625", "4634", "4647", "4648"];

/// "Rename Common Auth Fields": the ids (of those above) whose `ProcessId`, `ProcessName`,
/// `IpAddress` and `IpPort` are the process and the source.
const COMMON_AUTH: &[&str] = &[
    "1102", "4624", "4625", "4648", "4689", "4697", "4720", "4726", "4732", "5140", "5145",
];

pub(super) fn map(d: &EventData, ev: &mut WinEvent) {
    let code = ev.event.code.clone().unwrap_or_default();
    let code = code.as_str();
    if let Some((_, category, kind, action)) = CATEGORIES.iter().find(|(c, ..)| *c == code) {
        categorise(ev, category, kind, action);
    }
    // "Set Service Type and Name".
    set(&mut ev.service.name, d.get("ServiceName"));
    if let Some(kind) = d.get("ServiceType") {
        let known = SERVICE_TYPES.iter().find(|(hex, _)| *hex == kind);
        set(&mut ev.service.kind, known.map(|(_, name)| *name));
    }
    if TARGET_USER.contains(&code) {
        target_user(d, ev);
    }
    if SUBJECT_USER.contains(&code) {
        // The pipeline copies each subject field that is present, overwriting.
        if let Some(sid) = d.get("SubjectUserSid") {
            ev.user.id = Some(sid.to_owned());
        }
        if let Some(name) = d.get("SubjectUserName") {
            ev.user.name = Some(name.to_owned());
            add_unique(&mut ev.related.user, name.to_owned());
        }
        if let Some(domain) = d.get("SubjectDomainName") {
            ev.user.domain = Some(domain.to_owned());
        }
    }
    if COMMON_AUTH.contains(&code) {
        common_auth(d, ev);
    }
    if code == "4688" {
        process_4688(d, ev);
    }
    // The `gsub` of IPv4-mapped source addresses happened in common_auth; then related.ip.
    if let Some(ip) = ev.source.ip {
        add_unique(&mut ev.related.ip, ip);
    }
}

/// "Copy Target User": `TargetUserSid`/`TargetUserName` (before an `@`)/`TargetDomainName`.
fn target_user(d: &EventData, ev: &mut WinEvent) {
    set(
        &mut ev.user.id,
        d.get("TargetUserSid").or_else(|| d.get("TargetSid")),
    );
    if let Some(name) = d.get("TargetUserName") {
        let name = name.split('@').next().unwrap_or(name);
        set(&mut ev.user.name, Some(name));
        add_unique(&mut ev.related.user, name.to_owned());
    }
    set(&mut ev.user.domain, d.get("TargetDomainName"));
}

/// "Rename Common Auth Fields".
fn common_auth(d: &EventData, ev: &mut WinEvent) {
    if let Some(pid) = d.get("ProcessId").and_then(decode_long) {
        ev.process.pid = Some(pid);
    }
    if let Some(exe) = d.get("ProcessName") {
        ev.process.executable = Some(exe.to_owned());
    }
    if let Some(ip) = d.get("IpAddress").filter(|ip| *ip != "-") {
        ev.source.ip = strip_v4_mapped(ip.trim()).parse().ok();
    }
    if let Some(port) = d.get("IpPort").filter(|p| *p != "-") {
        ev.source.port = decode_long(port).and_then(|p| u16::try_from(p).ok());
    }
    set(&mut ev.source.domain, d.get("WorkstationName"));
    if let Some(exe) = ev.process.executable.as_deref() {
        set(&mut ev.process.name, last_token(exe));
    }
}

/// "Process Event 4688".
fn process_4688(d: &EventData, ev: &mut WinEvent) {
    let p = &mut ev.process;
    if let Some(pid) = d.get("NewProcessId").and_then(decode_long) {
        p.pid = Some(pid);
    }
    if let Some(exe) = d.get("NewProcessName") {
        p.executable = Some(exe.to_owned());
    }
    if let Some(exe) = d.get("ParentProcessName") {
        p.parent.executable = Some(exe.to_owned());
    }
    if let Some(exe) = p.executable.as_deref() {
        set(&mut p.name, last_token(exe));
    }
    if let Some(exe) = p.parent.executable.as_deref() {
        set(&mut p.parent.name, last_token(exe));
    }
    if let Some(pid) = d.get("ProcessId").and_then(decode_long) {
        p.parent.pid = Some(pid);
    }
    if let Some(cmd) = d.get("CommandLine") {
        p.args = args::security(cmd);
        p.args_count = i64::try_from(p.args.len()).ok();
        p.command_line = Some(cmd.to_owned());
    }
    if let Some(target) = d.get("TargetUserName").filter(|t| *t != "-") {
        add_unique(&mut ev.related.user, target.to_owned());
    }
}

/// Painless `splitOnToken("\\")[-1]`: the last non-empty part of a backslash-separated path.
fn last_token(path: &str) -> Option<&str> {
    path.split('\\').rfind(|t| !t.is_empty())
}

/// The pipelines' `gsub` of `^\[?::ffff:(a.b.c.d)(?:\](?::port)?)?$` to `a.b.c.d`.
pub(super) fn strip_v4_mapped(ip: &str) -> &str {
    let rest = ip.strip_prefix('[').unwrap_or(ip);
    let Some(rest) = rest.strip_prefix("::ffff:") else {
        return ip;
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (v4, tail) = rest.split_at(end);
    let dotted = v4.split('.').count() == 4 && v4.split('.').all(|o| !o.is_empty());
    let tail_ok = tail.is_empty()
        || tail == "]"
        || tail
            .strip_prefix("]:")
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if dotted && tail_ok { v4 } else { ip }
}
