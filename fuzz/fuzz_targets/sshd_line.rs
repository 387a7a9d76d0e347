//! Arbitrary bytes through the auth.log line parser, then the sshd message parser.
//!
//! Beyond "no panic, no hang": parsing is deterministic, every field the parsers return comes
//! from the input, and an authentication line's source address and port are exactly the ones
//! that follow the reported user name (so no other text in the line was taken for them).
#![no_main]

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

#[path = "../../sensor/src/parse/mod.rs"]
mod parse;

use parse::addr::parse_ip;
use parse::sshd::{AuthAttempt, MAX_MESSAGE_LEN, Peer};
use parse::syslog::unwrap_repeated;
use parse::{ClassicZone, SshdMessage, YearInference, is_sshd_program, parse_line, parse_message};

/// 2026-11-18T17:46:40Z: a fixed reference, so runs are reproducible.
const REFERENCE: i64 = 1_795_000_000;

fn years() -> YearInference {
    let reference = DateTime::<Utc>::from_timestamp(REFERENCE, 0).unwrap_or_default();
    YearInference::new(reference, ClassicZone::utc())
}

fuzz_target!(|data: &[u8]| {
    let first = parse_line(data, &mut years());
    let again = parse_line(data, &mut years());
    assert_eq!(first, again, "parse_line is not deterministic");

    if let Ok(line) = &first {
        assert!(contains(data, line.hostname.as_bytes()));
        assert!(contains(data, line.program.as_bytes()));
        if let Some(pid) = line.pid {
            assert!(contains(data, pid.to_string().as_bytes()));
        }
        if let Cow::Borrowed(message) = &line.message {
            let body = data.strip_suffix(b"\n").unwrap_or(data);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            assert!(
                body.ends_with(message.as_bytes()),
                "message is not the line's tail"
            );
        }
        let _ = is_sshd_program(line.program);
        let (count, inner) = unwrap_repeated(&line.message);
        assert!(count >= 1 && line.message.contains(inner));
        check_message(&line.message);
        check_message(inner);
    }

    // The message parser on the raw input as well, to reach it without a syslog header.
    check_message(&String::from_utf8_lossy(data));
});

fn check_message(msg: &str) {
    let parsed = parse_message(msg);
    assert_eq!(
        parsed,
        parse_message(msg),
        "parse_message is not deterministic"
    );
    let Some(event) = parsed else {
        return;
    };
    assert!(msg.len() <= MAX_MESSAGE_LEN);
    if let Some(IpAddr::V4(v4)) = event.source() {
        // sshd writes IPv4 (also IPv4-mapped) in dotted form; the parser must not invent one.
        let text = v4.to_string();
        let hex_mapped = msg.to_ascii_lowercase().contains("::ffff:");
        assert!(
            hex_mapped || msg.contains(&text),
            "source {text} not in {msg:?}"
        );
    }
    match &event {
        SshdMessage::Accepted(a) => check_auth("Accepted", a, msg),
        SshdMessage::Failed(a) => check_auth("Failed", a, msg),
        SshdMessage::Postponed(a) => check_auth("Postponed", a, msg),
        SshdMessage::Partial(a) => check_auth("Partial", a, msg),
        SshdMessage::InvalidUser { user, source, port } => {
            let rest = msg.strip_prefix(&format!("Invalid user {user} from "));
            let rest = rest.expect("Invalid user line does not start with its user");
            let (ip, tail) = rest.split_once(" port ").expect("no port after the user");
            assert_eq!(
                parse_ip(ip),
                Some(*source),
                "source is not the address after the user"
            );
            assert!(tail.starts_with(&port.to_string()));
        }
        SshdMessage::Disconnected(p)
        | SshdMessage::ConnectionClosed(p)
        | SshdMessage::ConnectionReset(p) => check_tail(p, msg),
        SshdMessage::ReceivedDisconnect { peer, code, reason } => {
            assert!(msg.contains(&format!(" port {}:", peer.port)));
            assert!(msg.contains(&code.to_string()) && msg.contains(reason.as_str()));
        }
        SshdMessage::SessionOpened(s) => assert!(msg.contains(&format!("for user {}", s.user))),
        SshdMessage::SessionClosed { user } => {
            assert!(msg.ends_with(&format!("session closed for user {user}")));
        }
    }
}

/// The line must read `<Word> <method> for [invalid user ]<user> from <ip> port <n> ssh2...`
/// with exactly the parsed values, the address right after the parsed user.
fn check_auth(word: &str, a: &AuthAttempt, msg: &str) {
    let _ = a.method.is_password_class();
    let invalid = if a.invalid_user { "invalid user " } else { "" };
    let prefix = format!("{word} {} for {invalid}{} from ", a.method, a.user);
    let rest = msg.strip_prefix(&prefix);
    let rest = rest.unwrap_or_else(|| panic!("{msg:?} does not start with {prefix:?}"));
    let (ip, tail) = rest
        .split_once(" port ")
        .expect("no port after the address");
    assert_eq!(
        parse_ip(ip),
        Some(a.source),
        "source is not the address after the user"
    );
    assert!(tail.starts_with(&format!("{} ssh2", a.port)));
    assert_eq!(a.preauth, msg.ends_with(" [preauth]"));
}

/// `...[ <who>] <ip> port <n>[ [preauth]]` must end the message with the parsed values.
fn check_tail(p: &Peer, msg: &str) {
    let body = if p.preauth {
        msg.strip_suffix(" [preauth]")
            .expect("preauth without suffix")
    } else {
        msg
    };
    let head = body
        .strip_suffix(&format!(" port {}", p.port))
        .expect("message does not end with the port");
    let ip = head.rsplit(' ').next().unwrap_or(head);
    assert_eq!(parse_ip(ip), Some(p.source));
    if let Some(user) = &p.user {
        assert!(head.contains(&user.name));
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
