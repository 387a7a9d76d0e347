//! Golden tests through both parsers, and the line parser's handling of hostile input.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::syslog::{Part, unwrap_repeated};
use super::{
    ClassicZone, LineError, SshdMessage, YearInference, is_sshd_program, parse_line, parse_message,
};

const GOLDEN: &str = include_str!("testdata/golden.txt");
const NEW_YEAR: &str = include_str!("testdata/new_year_replay.log");

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn years() -> YearInference {
    YearInference::new(utc("2026-12-01T00:00:00Z"), ClassicZone::utc())
}

/// What both parsers make of one line, as the golden file spells it.
fn observe(line: &str, years: &mut YearInference) -> Value {
    let parsed = match parse_line(line.as_bytes(), years) {
        Ok(parsed) => parsed,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let event = if is_sshd_program(parsed.program) {
        parse_message(&parsed.message)
    } else {
        None
    };
    json!({
        "ts": parsed.timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "host": parsed.hostname,
        "program": parsed.program,
        "pid": parsed.pid,
        "event": event,
    })
}

#[test]
fn golden_lines() {
    let mut years = years();
    let mut lines = GOLDEN
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let mut checked = 0;
    let mut failures = Vec::new();
    while let Some((n, line)) = lines.next() {
        let Some((_, expected)) = lines.next() else {
            panic!("golden.txt:{}: line without expectation", n + 1);
        };
        let Some(expected) = expected.strip_prefix("=> ") else {
            panic!("golden.txt:{}: expected `=> ` after the line", n + 2);
        };
        let expected: Value = serde_json::from_str(expected)
            .unwrap_or_else(|e| panic!("golden.txt:{}: bad JSON: {e}", n + 2));
        let actual = observe(line, &mut years);
        if actual != expected {
            failures.push(format!(
                "golden.txt:{}: {line}\n  expected {expected}\n  actual   {actual}",
                n + 1
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 80, "only {checked} golden lines");
}

#[test]
fn golden_file_covers_every_variant_and_program() {
    let mut years = years();
    let observed: Vec<Value> = GOLDEN
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("=> "))
        .map(|l| observe(l, &mut years))
        .collect();
    let kinds: Vec<&str> = observed
        .iter()
        .filter_map(|v| v["event"]["kind"].as_str())
        .collect();
    for kind in [
        "accepted",
        "failed",
        "postponed",
        "partial",
        "invalid_user",
        "disconnected",
        "received_disconnect",
        "connection_closed",
        "connection_reset",
        "session_opened",
        "session_closed",
    ] {
        assert!(kinds.contains(&kind), "no golden line for {kind}");
    }
    for program in ["sshd", "sshd-session", "sshd-auth"] {
        assert!(
            observed.iter().any(|v| v["program"] == program),
            "no golden line from {program}"
        );
    }
}

#[test]
fn replay_across_new_year_from_file() {
    // The file's mtime: early on 2 January 2027.
    let mut years = YearInference::new(utc("2027-01-02T06:00:00Z"), ClassicZone::utc());
    let stamps: Vec<String> = NEW_YEAR
        .lines()
        .map(|l| match parse_line(l.as_bytes(), &mut years) {
            Ok(p) => p.timestamp.to_rfc3339_opts(SecondsFormat::Secs, true),
            Err(e) => panic!("{l}: {e}"),
        })
        .collect();
    assert_eq!(
        stamps,
        [
            "2026-12-31T23:59:58Z",
            "2026-12-31T23:59:59Z",
            "2027-01-01T00:00:00Z",
            "2026-12-31T23:59:59Z",
            "2027-01-01T00:00:03Z",
            "2027-01-02T05:00:00Z",
        ]
    );
}

#[test]
fn lines_in_both_formats_carry_the_same_message() {
    let classic =
        b"Nov 23 10:00:00 web1 sshd[1234]: Accepted password for alice from 10.0.0.2 port 5 ssh2\n";
    let rfc = b"2026-11-23T11:00:00.123456+01:00 web1 sshd[1234]: Accepted password for alice from 10.0.0.2 port 5 ssh2\r\n";
    let mut years = years();
    let a = parse_line(classic, &mut years).expect("classic");
    let b = parse_line(rfc, &mut years).expect("rfc3339");
    assert_eq!((a.hostname, a.program, a.pid), ("web1", "sshd", Some(1234)));
    assert_eq!(a.message, b.message);
    assert_eq!(
        a.message,
        "Accepted password for alice from 10.0.0.2 port 5 ssh2"
    );
    assert_eq!(
        (b.timestamp - a.timestamp).num_microseconds(),
        Some(123_456)
    );
    assert!(matches!(
        parse_message(&a.message),
        Some(SshdMessage::Accepted(_))
    ));
}

#[test]
fn tags_with_odd_program_names() {
    let mut years = years();
    for (line, program, pid) in [
        (
            "Nov 23 10:00:00 h sshd-session[9]: x",
            "sshd-session",
            Some(9),
        ),
        (
            "Nov 23 10:00:00 h /usr/sbin/sshd[9]: x",
            "/usr/sbin/sshd",
            Some(9),
        ),
        (
            "Nov 23 10:00:00 h org.gnome.Shell.desktop[2]: x",
            "org.gnome.Shell.desktop",
            Some(2),
        ),
        ("Nov 23 10:00:00 h kernel: x", "kernel", None),
        ("Nov 23 10:00:00 h (sd-pam)[4]: x", "(sd-pam)", Some(4)),
        ("Nov 23 10:00:00 h sshd:", "sshd", None),
    ] {
        let parsed =
            parse_line(line.as_bytes(), &mut years).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!((parsed.program, parsed.pid), (program, pid), "{line}");
    }
    assert!(is_sshd_program("/usr/sbin/sshd"));
    assert!(!is_sshd_program("sshd-keygen"));
    assert!(!is_sshd_program("xsshd"));
}

#[test]
fn errors_name_the_part_and_column() {
    let mut years = years();
    let malformed = |part, column| LineError::Malformed {
        part,
        column,
        reason: "",
    };
    for (line, want) in [
        (&b""[..], LineError::Empty),
        (b"\n", LineError::Empty),
        (b"Foo 23 10:00:00 h p: m", malformed(Part::Timestamp, 0)),
        (b"Nov 23", malformed(Part::Timestamp, 0)),
        (b"Nov 2x 10:00:00 h p: m", malformed(Part::Timestamp, 4)),
        (b"Nov 32 10:00:00 h p: m", malformed(Part::Timestamp, 4)),
        (b"Nov 23 25:00:00 h p: m", malformed(Part::Timestamp, 7)),
        (b"Nov 23 10:00:00", malformed(Part::Timestamp, 15)),
        (b"Nov 23 10:00:00  p: m", malformed(Part::Hostname, 16)),
        (b"Nov 23 10:00:00 h", malformed(Part::Hostname, 17)),
        (b"Nov 23 10:00:00 h prog m", malformed(Part::Tag, 22)),
        (b"Nov 23 10:00:00 h p[x]: m", malformed(Part::Pid, 20)),
        (
            b"Nov 23 10:00:00 h p[99999999999]: m",
            malformed(Part::Pid, 20),
        ),
        (b"Nov 23 10:00:00 h p[]: m", malformed(Part::Pid, 20)),
        (b"Nov 23 10:00:00 h []: m", malformed(Part::Pid, 19)),
        (b"Nov 23 10:00:00 h p:m", malformed(Part::Tag, 21)),
        (
            b"2026-11-23 10:00:00 h p: m",
            malformed(Part::Timestamp, 10),
        ),
        (
            b"2026-13-23T10:00:00Z h p: m",
            malformed(Part::Timestamp, 0),
        ),
        (b"2026-11-23T10:00:00 h p: m", malformed(Part::Timestamp, 0)),
        (
            b"Nov 23 10:00:00 h\xff p: m",
            LineError::NotUtf8 {
                part: Part::Hostname,
                column: 17,
            },
        ),
        (
            b"Nov 23 10:00:00 h \xc3\x28: m",
            LineError::NotUtf8 {
                part: Part::Tag,
                column: 18,
            },
        ),
        (
            b"Feb 29 10:00:00 h p: m",
            LineError::Year(super::year::YearError::NoSuchDay {
                year: 2026,
                month: 2,
                day: 29,
            }),
        ),
    ] {
        let got = parse_line(line, &mut years);
        let same = match (&got, &want) {
            (
                Err(LineError::Malformed { part, column, .. }),
                LineError::Malformed {
                    part: p, column: c, ..
                },
            ) => part == p && column == c,
            (Err(e), want) => e == want,
            (Ok(_), _) => false,
        };
        assert!(
            same,
            "{:?}: got {got:?}, want {want:?}",
            String::from_utf8_lossy(line)
        );
        if let Err(e) = got {
            assert!(!e.to_string().is_empty());
        }
    }
}

#[test]
fn error_messages_say_what_and_where() {
    let mut years = years();
    let err = parse_line(b"Nov 23 10:00:00 h p[x]: m", &mut years).expect_err("bad pid");
    assert_eq!(err.to_string(), "bad pid at byte 20: not a decimal number");
}

#[test]
fn invalid_utf8_and_nul_in_the_message_are_kept_lossily() {
    let mut years = years();
    let line = b"Nov 23 10:00:00 h sshd[1]: Invalid user \xff\x00x from 10.0.0.2 port 5";
    let parsed = parse_line(line, &mut years).expect("line");
    assert_eq!(
        parsed.message,
        "Invalid user \u{fffd}\u{0}x from 10.0.0.2 port 5"
    );
    match parse_message(&parsed.message) {
        Some(SshdMessage::InvalidUser { user, port, .. }) => {
            assert_eq!((user.as_str(), port), ("\u{fffd}\u{0}x", 5));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_megabyte_lines() {
    let mut years = years();
    let mut line = b"Nov 23 10:00:00 h sshd[1]: Accepted password for ".to_vec();
    line.extend(b" from 10.9.9.9 port 22 ssh2".repeat(40_000));
    line.extend(b" from 10.0.0.2 port 5 ssh2");
    assert!(line.len() > 1_000_000);
    let parsed = parse_line(&line, &mut years).expect("long line");
    // Longer than sshd ever writes: not an sshd message.
    assert_eq!(parse_message(&parsed.message), None);

    let garbage = vec![b'x'; 1 << 20];
    assert!(parse_line(&garbage, &mut years).is_err());
    let spaces = vec![b' '; 1 << 20];
    assert!(parse_line(&spaces, &mut years).is_err());
    assert_eq!(
        parse_message(&" from 1.2.3.4 port 5 ssh2".repeat(100)),
        None
    );
}

#[test]
fn failed_lines_do_not_advance_the_year() {
    let mut years = YearInference::new(utc("2027-01-05T00:00:00Z"), ClassicZone::utc());
    let ok = |y: &mut YearInference, l: &str| {
        parse_line(l.as_bytes(), y)
            .map(|p| p.timestamp.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_else(|e| panic!("{l}: {e}"))
    };
    assert_eq!(
        ok(&mut years, "Dec 31 23:00:00 h p: m"),
        "2026-12-31T23:00:00Z"
    );
    // A January line whose tag is broken must not move the inference into 2027.
    assert!(parse_line(b"Jan  1 00:00:00 h broken", &mut years).is_err());
    assert_eq!(
        ok(&mut years, "Dec 31 23:30:00 h p: m"),
        "2026-12-31T23:30:00Z"
    );
}

#[test]
fn repeated_message_wrapper() {
    assert_eq!(
        unwrap_repeated(
            "message repeated 3 times: [ Failed password for root from 1.2.3.4 port 5 ssh2]"
        ),
        (3, "Failed password for root from 1.2.3.4 port 5 ssh2")
    );
    for msg in [
        "Failed password for root from 1.2.3.4 port 5 ssh2",
        "message repeated x times: [ y]",
        "message repeated +3 times: [ y]",
        "message repeated 3 times: [ y",
        // Found by the sshd_line fuzzer: a count of 0 is not rsyslog's wrapper.
        "message repeated 0 times: [ Failed password for root from 1.2.3.4 port 5 ssh2]",
    ] {
        assert_eq!(unwrap_repeated(msg), (1, msg));
    }
}

#[test]
fn source_accessor() {
    let msg = parse_message("Connection closed by 10.0.0.2 port 5 [preauth]").expect("closed");
    assert_eq!(
        msg.source().map(|ip| ip.to_string()).as_deref(),
        Some("10.0.0.2")
    );
    let msg = parse_message("pam_unix(sshd:session): session closed for user a").expect("closed");
    assert_eq!(msg.source(), None);
}
