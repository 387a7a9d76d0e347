//! The auth.log replay gives the same records, problems and counts however its input is cut
//! into windows and parts, classic timestamps and damaged lines included.
use chrono::{DateTime, Utc};

use super::{
    Ctx, FileSummary, Options, Output, authlog::Split, authlog::replay_split, command,
    lines::MAX_LINE, progress::Progress,
};

/// Records, every problem as reported, and the account, of one replay of `input`.
/// With the shipped rules: their alerts, made on the parser threads, must not depend on the
/// split either.
fn replay(input: &[u8], split: Split) -> (String, Vec<String>, (u64, u64, u64)) {
    replay_at(input, split, "2027-02-01T00:00:00Z", true)
}

fn replay_at(
    input: &[u8],
    split: Split,
    reference: &str,
    rules: bool,
) -> (String, Vec<String>, (u64, u64, u64)) {
    let options = Options {
        classic_zone: command::parse_zone("utc").unwrap_or_else(|e| panic!("{e}")),
        events: true,
        ..Options::default()
    };
    let loaded = crate::detect::load(&crate::detect::RuleSources {
        builtin: rules,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut engine = crate::detect::Engine::new(loaded.rules, loaded.allowlist);
    let reference = DateTime::parse_from_rfc3339(reference)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut account = FileSummary::default();
    let mut sink = Vec::new();
    let mut reported = Vec::new();
    let mut report = |e: &super::ReplayError| reported.push(e.to_string());
    let mut output = Output {
        buf: Vec::new(),
        out: &mut sink,
    };
    let mut ctx = Ctx {
        account: &mut account,
        decompressed: false,
        output: &mut output,
        report: &mut report,
        progress: &Progress::NONE,
        options: &options,
        engine: &mut engine,
        alerts: Vec::new(),
    };
    let result = replay_split(input, reference, split, &mut ctx);
    assert!(result.is_ok(), "writing to a Vec failed");
    let flushed = output.flush();
    assert!(flushed.is_ok());
    let kept: Vec<String> = account.kept.iter().map(ToString::to_string).collect();
    assert_eq!(kept[..reported.len()], reported[..]);
    let counts = (account.read, account.records, account.errors);
    (String::from_utf8_lossy(&sink).into_owned(), kept, counts)
}

/// A log of both timestamp formats, a new year in classic lines, and damaged lines.
fn log() -> Vec<u8> {
    let rfc = |i: usize| {
        format!(
            "2026-12-31T10:{:02}:{:02}.{i:06}+01:00 host sshd[{i}]: Accepted password for u{i} from 10.0.{}.{} port {} ssh2\n",
            i / 60 % 60,
            i % 60,
            i % 200,
            i % 250,
            1024 + i
        )
    };
    let classic = |i: usize, month: &str| {
        format!(
            "{month} 31 23:59:{:02} host sshd[{i}]: Failed password for root from 10.1.0.1 port {i} ssh2\n",
            i % 60
        )
    };
    let mut log = Vec::new();
    for i in 0..6000 {
        let line = match i % 97 {
            0 => classic(i, if i < 3000 { "Dec" } else { "Jan" }),
            1 => format!(
                "2026-12-31T10:00:00Z host CRON[{i}]: pam_unix(cron:session): session closed for user root\n"
            ),
            2 if i % 3 == 0 => "not a syslog line\n".to_owned(),
            3 => "\0\0\0".to_owned() + &rfc(i),
            4 => rfc(i).replacen("u", "\u{1}\"\\", 1),
            5 if i % 485 == 5 && i < 1000 => "x".repeat(MAX_LINE + 1) + "\n",
            6 => rfc(i).replacen("from", "fr\0m", 1),
            7 => {
                "Feb 29 10:00:00 host sshd[1]: Accepted password for a from 1.2.3.4 port 22 ssh2\n"
                    .to_owned()
            }
            8 => "\n".to_owned(),
            _ => rfc(i),
        };
        log.extend_from_slice(line.as_bytes());
    }
    // Invalid UTF-8, and a last line without its `\n`.
    log.extend_from_slice(b"2026-12-31T11:00:00Z host sshd[9]: Accepted password for \xff from 10.0.0.1 port 1 ssh2\n");
    log.extend_from_slice(rfc(1).trim_end().as_bytes());
    log
}

#[test]
fn every_cut_gives_the_same_replay() {
    let log = log();
    let whole = Split {
        window: 16 << 20,
        parts: 1,
        min_part: usize::MAX,
    };
    let want = replay(&log, whole);
    assert!(want.2.1 > 5000, "{:?}", want.2);
    assert!(want.2.2 > 100, "{:?}", want.2);
    for (window, parts) in [(0, 2), (0, 3), (MAX_LINE * 3, 7), (16 << 20, 2)] {
        let split = Split {
            window,
            parts,
            min_part: 1000,
        };
        let got = replay(&log, split);
        assert!(
            got == want,
            "window {window}, {parts} parts: {:?} vs {:?}",
            got.2,
            want.2
        );
    }
}

/// A classic log over several years (June, December, January, again and again): where a part
/// starts, only the lines before it tell the year.
#[test]
fn classic_logs_cut_anywhere_keep_their_years() {
    let mut log = Vec::new();
    for i in 0..30_000 {
        let month = ["Jun", "Dec", "Jan"][i / 500 % 3];
        let line = format!(
            "{month} 15 10:00:{:02} host sshd[{i}]: Accepted password for u from 10.0.0.1 port {i} ssh2\n",
            i % 60
        );
        log.extend_from_slice(line.as_bytes());
    }
    let reference = "2040-01-01T00:00:00Z";
    let whole = Split {
        window: 16 << 20,
        parts: 1,
        min_part: usize::MAX,
    };
    let want = replay_at(&log, whole, reference, false);
    for (window, parts) in [(0, 2), (0, 3), (16 << 20, 4)] {
        let split = Split {
            window,
            parts,
            min_part: 1000,
        };
        let got = replay_at(&log, split, reference, false);
        assert!(
            got == want,
            "window {window}, {parts} parts: {:?} vs {:?}",
            got.2,
            want.2
        );
    }
}

/// The pass that only parses leaves the year inference as the full scan does, wherever it
/// stops (the state compared through `Debug`: reference, zone, current year and month).
#[test]
fn the_parsing_pass_leaves_the_years_as_the_scan_does() {
    use crate::parse::{ClassicZone, YearInference};

    use super::scan::{Scanned, Years, advance, scan};

    let mut log = Vec::new();
    for i in 0..3000 {
        let month = ["Jun", "Dec", "Jan", "Nov", "Feb"][i / 100 % 5];
        let line = match i % 7 {
            0 => format!("2026-01-01T00:00:00Z host sshd[{i}]: x\n"),
            1 => format!("\0\0{month} 15 10:00:00 host CRON[{i}]: y\n"),
            2 => "Feb 29 10:00:00 host x: leap\n".to_owned(),
            _ => format!(
                "{month} 15 10:00:00 host sshd[{i}]: Failed password for u from 10.0.0.1 port {i} ssh2\n"
            ),
        };
        log.extend_from_slice(line.as_bytes());
    }
    let reference = DateTime::parse_from_rfc3339("2026-09-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{e}"));
    for cut in [0, 1, 777, 12_345, 40_000, log.len()] {
        let end = log
            .iter()
            .skip(cut)
            .position(|&b| b == b'\n')
            .map_or(log.len(), |p| cut + p + 1);
        let text = &log[..end];
        let mut parsed = YearInference::new(reference, ClassicZone::utc());
        advance(text, &mut parsed);
        let mut scanned = YearInference::new(reference, ClassicZone::utc());
        let engine = crate::detect::Engine::new(Vec::new(), Vec::new());
        scan(
            text,
            &mut Years::Known(&mut scanned),
            &engine,
            false,
            &mut Scanned::default(),
        );
        assert_eq!(
            format!("{parsed:?}"),
            format!("{scanned:?}"),
            "cut at {end}"
        );
    }
}
