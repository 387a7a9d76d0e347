//! auth.log lines as rsyslog writes them.
//!
//! Two timestamp formats:
//!
//! - classic (`RSYSLOG_TraditionalFileFormat`, Ubuntu up to 23.10 and many other setups):
//!   `Nov 23 10:00:00 host sshd[1234]: msg`, the day padded with a space (`Nov  3`), no year
//!   and no zone: placed with a [`YearInference`];
//! - RFC 3339 (`RSYSLOG_FileFormat`, the default on Debian 12 and Ubuntu 24.04):
//!   `2026-11-23T10:00:00.123456+01:00 host sshd[1234]: msg`.
//!
//! Then the hostname, the tag (`program[pid]:` or `program:`; the program may hold `-`, `/`,
//! `.`, ...), one space and the message, kept byte for byte (lossily decoded if it is not UTF-8).

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveTime, Utc};
use thiserror::Error;

use super::year::{YearError, YearInference};

/// One parsed auth.log line. Borrows from the input where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    pub timestamp: DateTime<Utc>,
    pub hostname: &'a str,
    pub program: &'a str,
    pub pid: Option<u32>,
    /// The message; lossily decoded (U+FFFD) when the bytes are not UTF-8.
    pub message: Cow<'a, str>,
}

/// The part of a line an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Timestamp,
    Hostname,
    Tag,
    Pid,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timestamp => "timestamp",
            Self::Hostname => "hostname",
            Self::Tag => "program tag",
            Self::Pid => "pid",
        })
    }
}

/// Why a line is not a syslog line. Columns are 0-based byte offsets into the line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineError {
    #[error("empty line")]
    Empty,
    #[error("bad {part} at byte {column}: {reason}")]
    Malformed {
        part: Part,
        column: usize,
        reason: &'static str,
    },
    #[error("{part} at byte {column} is not UTF-8")]
    NotUtf8 { part: Part, column: usize },
    #[error("timestamp at byte 0 cannot be placed: {0}")]
    Year(#[from] YearError),
}

fn malformed(part: Part, column: usize, reason: &'static str) -> LineError {
    LineError::Malformed {
        part,
        column,
        reason,
    }
}

/// Parses one auth.log line. A trailing `\n` or `\r\n` is ignored. Classic timestamps are
/// placed with `years`, which is only advanced when the whole line parses.
pub fn parse_line<'a>(
    line: &'a [u8],
    years: &mut YearInference,
) -> Result<SyslogLine<'a>, LineError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(LineError::Empty);
    }
    let (stamp, stamp_end) = match line.first() {
        Some(b) if b.is_ascii_digit() => rfc3339(line)?,
        _ => (classic(line)?, CLASSIC_LEN),
    };
    let mut at = expect_space(line, stamp_end, Part::Timestamp)?;

    let host_end = token_end(line, at);
    if host_end == at {
        return Err(malformed(Part::Hostname, at, "missing"));
    }
    let hostname = utf8(line, at, host_end, Part::Hostname)?;
    at = expect_space(line, host_end, Part::Hostname)?;

    let tag_end = token_end(line, at);
    let (program, pid) = tag(line, at, tag_end)?;
    let message = match line.get(tag_end..) {
        None | Some([]) => &[][..],
        Some([b' ', rest @ ..]) => rest,
        Some(_) => return Err(malformed(Part::Tag, tag_end, "expected a space")),
    };

    let timestamp = match stamp {
        Stamp::Rfc3339(t) => t,
        Stamp::Classic { month, day, time } => years.resolve(month, day, time)?,
    };
    // `from_utf8` first: its ASCII fast path beats the lossy decoder on the usual clean line.
    let message = match std::str::from_utf8(message) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(message),
    };
    Ok(SyslogLine {
        timestamp,
        hostname,
        program,
        pid,
        message,
    })
}

/// Splits rsyslog's repeated-message wrapper (`message repeated 3 times: [ <msg>]`, written
/// with `$RepeatedMsgReduction on`, Ubuntu's default) into the count and the message. Any
/// other message is returned as is with a count of 1.
pub fn unwrap_repeated(message: &str) -> (u32, &str) {
    let parsed = message
        .strip_prefix("message repeated ")
        .and_then(|rest| rest.split_once(" times: [ "))
        .and_then(|(count, rest)| {
            let inner = rest.strip_suffix(']')?;
            let count: u32 = count
                .parse()
                .ok()
                .filter(|_| count.bytes().all(|b| b.is_ascii_digit()))
                // rsyslog counts repeats from 2; "0 times" is not its wrapper, keep it as text.
                .filter(|&n: &u32| n > 0)?;
            Some((count, inner))
        });
    parsed.unwrap_or((1, message))
}

enum Stamp {
    Classic {
        month: u32,
        day: u32,
        time: NaiveTime,
    },
    Rfc3339(DateTime<Utc>),
}

/// `Mmm dd hh:mm:ss`.
const CLASSIC_LEN: usize = 15;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses `Mmm dd hh:mm:ss` (day as ` 3`, `03` or `23`).
fn classic(line: &[u8]) -> Result<Stamp, LineError> {
    let ts = |column, reason| malformed(Part::Timestamp, column, reason);
    let Some(text) = line.get(..CLASSIC_LEN) else {
        return Err(ts(0, "too short for `Mmm dd hh:mm:ss`"));
    };
    let month = MONTHS
        .iter()
        .position(|m| text.starts_with(*m))
        .ok_or_else(|| ts(0, "unknown month"))?;
    if text[3] != b' ' {
        return Err(ts(3, "expected a space after the month"));
    }
    let day = match (text[4], text[5]) {
        (b' ', d) if d.is_ascii_digit() => u32::from(d - b'0'),
        (t, d) if t.is_ascii_digit() && d.is_ascii_digit() => {
            u32::from(t - b'0') * 10 + u32::from(d - b'0')
        }
        _ => return Err(ts(4, "day is not 1 or 2 digits")),
    };
    if text[6] != b' ' {
        return Err(ts(6, "expected a space after the day"));
    }
    let time = two_digit_time(&text[7..]).ok_or_else(|| ts(7, "time is not hh:mm:ss"))?;
    if day == 0 || day > 31 {
        return Err(ts(4, "day out of range"));
    }
    let month = u32::try_from(month + 1).map_err(|_| ts(0, "unknown month"))?;
    Ok(Stamp::Classic { month, day, time })
}

/// `hh:mm:ss` (exactly 8 bytes).
fn two_digit_time(text: &[u8]) -> Option<NaiveTime> {
    let [h1, h2, b':', m1, m2, b':', s1, s2] = *text else {
        return None;
    };
    let num = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    };
    NaiveTime::from_hms_opt(num(h1, h2)?, num(m1, m2)?, num(s1, s2)?)
}

/// Parses the first word as RFC 3339 (`2026-11-23T10:00:00.123456+01:00`, `...Z`).
fn rfc3339(line: &[u8]) -> Result<(Stamp, usize), LineError> {
    // rsyslog's own shape (microseconds, a numeric zone) ends at a known byte: no search for the
    // space after it (the fast path accepts no space inside it).
    const RSYSLOG_LEN: usize = "2026-11-23T10:00:00.123456+01:00".len();
    let rsyslog = line
        .get(..RSYSLOG_LEN)
        .filter(|_| line.get(RSYSLOG_LEN) == Some(&b' '))
        .and_then(rsyslog_stamp);
    if let Some(t) = rsyslog {
        return Ok((Stamp::Rfc3339(t), RSYSLOG_LEN));
    }
    let end = token_end(line, 0);
    let word = line.get(..end).unwrap_or_default();
    if let Some(t) = rsyslog_stamp(word) {
        return Ok((Stamp::Rfc3339(t), end));
    }
    let bad = |reason| malformed(Part::Timestamp, 0, reason);
    let text = std::str::from_utf8(word).map_err(|_| bad("not ASCII"))?;
    // chrono also accepts a space or lower-case `t` between date and time; rsyslog writes `T`.
    if text.as_bytes().get(10) != Some(&b'T') {
        return Err(malformed(
            Part::Timestamp,
            10,
            "expected `T` after the date",
        ));
    }
    let t = DateTime::parse_from_rfc3339(text).map_err(|_| bad("not an RFC 3339 date-time"))?;
    Ok((Stamp::Rfc3339(t.with_timezone(&Utc)), end))
}

/// The instant of a timestamp shaped as rsyslog writes them, `YYYY-MM-DDTHH:MM:SS`, then
/// `.` and 1 to 9 digits or nothing, then `Z` or `±HH:MM`; `None` for any other shape and for
/// anything out of range, which [`rfc3339`] then hands to chrono. Where it gives an instant, it
/// is the one chrono's `parse_from_rfc3339` gives (a test checks): it only spares replay
/// chrono's general parser on every line.
fn rsyslog_stamp(word: &[u8]) -> Option<DateTime<Utc>> {
    let (head, rest) = word.split_first_chunk::<19>()?;
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        head.get(range)?.iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(at, b)| head.get(at) != Some(&b)) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Leap seconds (`:60`) and year 0 are left to chrono.
    if year == 0 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let (nanos, zone) = match rest.split_first() {
        Some((b'.', frac)) => {
            let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return None;
            }
            let (frac, zone) = frac.split_at(digits);
            let n = frac.iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
            (n * 10u32.pow(9 - digits as u32), zone)
        }
        _ => (0, rest),
    };
    let offset: i64 = match *zone {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (h, m) = (two(h1, h2)?, two(m1, m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let seconds = h * 3600 + m * 60;
            if sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day)?;
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    DateTime::<Utc>::from_timestamp(local - offset, nanos)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`),
/// `None` for a month or day that does not exist.
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<i64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let length = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > length {
        return None;
    }
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Parses the tag `program[pid]:` or `program:` spanning `line[start..end]`.
fn tag(line: &[u8], start: usize, end: usize) -> Result<(&str, Option<u32>), LineError> {
    let text = &line[start..end];
    let Some(body) = text.strip_suffix(b":") else {
        return Err(malformed(Part::Tag, end, "expected `:` after the program"));
    };
    let (program, pid) = match body.strip_suffix(b"]") {
        Some(inner) => {
            let open = inner
                .iter()
                .rposition(|&b| b == b'[')
                .ok_or_else(|| malformed(Part::Pid, start, "`]` without `[`"))?;
            let digits = &inner[open + 1..];
            let pid_at = start + open + 1;
            if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
                return Err(malformed(Part::Pid, pid_at, "not a decimal number"));
            }
            // At most 10 ASCII digits: a u64 holds them; `u32::try_from` is the range check.
            let value = digits
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
            let pid =
                u32::try_from(value).map_err(|_| malformed(Part::Pid, pid_at, "out of range"))?;
            (&inner[..open], Some(pid))
        }
        None => (body, None),
    };
    if program.is_empty() {
        return Err(malformed(Part::Tag, start, "empty program name"));
    }
    if program.contains(&b'[') {
        return Err(malformed(Part::Tag, start, "`[` in the program name"));
    }
    let program = utf8(line, start, start + program.len(), Part::Tag)?;
    Ok((program, pid))
}

/// The end of the word starting at `start` (the next space, or the end of the line).
fn token_end(line: &[u8], start: usize) -> usize {
    line.get(start..)
        .and_then(|rest| memchr::memchr(b' ', rest))
        .map_or(line.len(), |p| start + p)
}

/// Checks for one space at `at`; returns the offset after it.
fn expect_space(line: &[u8], at: usize, after: Part) -> Result<usize, LineError> {
    match line.get(at) {
        Some(b' ') => Ok(at + 1),
        Some(_) => Err(malformed(after, at, "expected a space")),
        None => Err(malformed(after, at, "line ends here")),
    }
}

fn utf8(line: &[u8], start: usize, end: usize, part: Part) -> Result<&str, LineError> {
    std::str::from_utf8(&line[start..end]).map_err(|e| LineError::NotUtf8 {
        part,
        column: start + e.valid_up_to(),
    })
}

#[cfg(test)]
#[path = "syslog_stamp_tests.rs"]
mod stamp_tests;
