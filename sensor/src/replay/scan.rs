//! A stretch of whole auth.log lines turned into records and problems, apart from any
//! [`Ctx`](super::Ctx), so that each thread can take a stretch.
//!
//! Only classic timestamps (`Nov 23 10:00:00`) need what came before (the year inference). A
//! stretch is scanned with the real one, with a copy of it as the lines before will leave it
//! ([`advance`]), or without it: then it stops at its first line that may be classic, and the
//! caller goes on from there with the real one once the stretches before are done.
use std::borrow::Cow;

use super::{error::ErrorKind, lines::MAX_LINE, summary::MAX_KEPT};
use crate::{
    detect::{Engine, engine::Probe},
    normalize,
    parse::{self, LineError, YearInference},
};

/// What one stretch gave.
#[derive(Debug, Default)]
pub struct Scanned {
    /// The records made, in line order. They stay on the thread that made them: what the
    /// main thread needs of each is below, indexed by record.
    pub records: usize,
    /// With `--events`, the records as JSON lines, and where each ends.
    pub events: Vec<u8>,
    pub event_ends: Vec<usize>,
    /// The query rules' alerts, as JSON lines, and for each: its record's index, the end of its
    /// line in `alerts`, and its rule's index.
    pub alerts: Vec<u8>,
    pub marks: Vec<(usize, usize, usize)>,
    /// What the sequence rules need of each record (they run on the main thread, in order).
    pub probes: Vec<(usize, Probe)>,
    /// The first [`MAX_KEPT`] problems: the line's index in the stretch (0-based), its offset
    /// in the stretch, what.
    pub problems: Vec<(u64, usize, ErrorKind)>,
    /// Problems past those.
    pub more_problems: u64,
    pub lines: u64,
    /// Where a scan without the year inference stopped: the byte of the stretch its first
    /// possibly classic line starts at.
    pub stopped_at: Option<usize>,
}

impl Scanned {
    pub fn clear(&mut self) {
        self.records = 0;
        self.events.clear();
        self.event_ends.clear();
        self.alerts.clear();
        self.marks.clear();
        self.probes.clear();
        self.problems.clear();
        self.more_problems = 0;
        self.lines = 0;
        self.stopped_at = None;
    }

    fn problem(&mut self, at: usize, kind: ErrorKind) {
        if self.problems.len() < MAX_KEPT {
            self.problems.push((self.lines - 1, at, kind));
        } else {
            self.more_problems += 1;
        }
    }
}

/// The year inference a stretch is scanned with.
pub enum Years<'a> {
    /// The real one, as the lines before left it.
    Known(&'a mut YearInference),
    /// A copy of the real one as the lines before will leave it (see [`advance`]).
    Ahead(YearInference),
    /// None: the scan stops at the first line that does not start with a digit (an RFC 3339
    /// timestamp), before the parser could consult the stand-in held here.
    Unknown(YearInference),
}

impl Years<'_> {
    pub fn unknown() -> Self {
        Self::Unknown(YearInference::new(
            chrono::DateTime::UNIX_EPOCH,
            parse::ClassicZone::utc(),
        ))
    }
}

/// Moves `years` past the lines of `text` as [`scan`] would, without making their records:
/// only the parser consults the year inference.
pub fn advance(text: &[u8], years: &mut YearInference) {
    let has_nul = memchr::memchr(0, text).is_some();
    for line in text.split(|&b| b == b'\n') {
        // Lines with an RFC 3339 timestamp (or none) never consult it.
        if line.len() > MAX_LINE || line.first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        if let Ok((text, _)) = unhole(line, has_nul) {
            let _ = parse::parse_line(text, years);
        }
    }
}

/// Scans `text` (whole lines; the last may lack its `\n`), appending to `into` its records and
/// the alerts of `engine`'s query rules on them; stops at the first line that may need the
/// year inference when it is [`Years::Unknown`].
pub fn scan(text: &[u8], years: &mut Years<'_>, engine: &Engine, events: bool, into: &mut Scanned) {
    let has_nul = memchr::memchr(0, text).is_some();
    let mut start = 0;
    while start < text.len() {
        let rest = text.get(start..).unwrap_or_default();
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = rest.get(..len).unwrap_or_default();
        let years = match years {
            Years::Known(years) => &mut **years,
            Years::Ahead(years) => years,
            Years::Unknown(stand_in) if line.first().is_some_and(u8::is_ascii_digit) => stand_in,
            Years::Unknown(_) => {
                into.stopped_at = Some(start);
                return;
            }
        };
        into.lines += 1;
        if len > MAX_LINE {
            into.problem(start, ErrorKind::LineTooLong { max: MAX_LINE });
        } else if let Some(kind) = one_line(line, has_nul, years, (engine, events), into) {
            into.problem(start, kind);
        }
        start += len + 1;
    }
}

/// The line without the run of NULs a crash leaves before it (and the problem saying so), or
/// the problem of a NUL elsewhere.
fn unhole(text: &[u8], has_nul: bool) -> Result<(&[u8], Option<ErrorKind>), ErrorKind> {
    let Some(column) = has_nul.then(|| memchr::memchr(0, text)).flatten() else {
        return Ok((text, None));
    };
    // A crash can leave a run of NULs where the file's last block was; the line written after
    // the restart follows it.
    let hole = text.iter().take_while(|&&b| b == 0).count();
    match text.get(hole..) {
        Some(rest) if hole > 0 && memchr::memchr(0, rest).is_none() => {
            Ok((rest, Some(ErrorKind::NulHole { count: hole })))
        }
        _ => Err(ErrorKind::Nul { column }),
    }
}

/// One line: its record appended, and what was wrong with it (one problem per line; a line
/// with a problem that leaves it readable still gives its record).
fn one_line(
    text: &[u8],
    has_nul: bool,
    years: &mut YearInference,
    (engine, events): (&Engine, bool),
    into: &mut Scanned,
) -> Option<ErrorKind> {
    let (text, mut problem) = match unhole(text, has_nul) {
        Ok(unholed) => unholed,
        Err(nul) => return Some(nul),
    };
    let line = match parse::parse_line(text, years) {
        Ok(line) => line,
        Err(LineError::Empty) => return problem,
        Err(e) => return Some(ErrorKind::Syslog(e)),
    };
    if matches!(line.message, Cow::Owned(_)) && problem.is_none() {
        let column = std::str::from_utf8(text)
            .err()
            .map_or(0, |e| e.valid_up_to());
        problem = Some(ErrorKind::NotUtf8 { column });
    }
    if let Some(record) = normalize::syslog_auth(&line, "auth-log", None) {
        let index = into.records;
        into.records += 1;
        if events {
            // A record serialises unless a field cannot: then it is left out, not the line.
            let _ = super::record_line(&record, &mut into.events);
            into.event_ends.push(into.events.len());
        }
        let (alerts, marks) = (&mut into.alerts, &mut into.marks);
        engine.evaluate_queries(&record, &mut |rule, alert| {
            if super::record_line(&alert, alerts).is_ok() {
                marks.push((index, alerts.len(), rule));
            }
        });
        let mut probes = Vec::new();
        engine.probe(&record, &mut None, &mut probes);
        into.probes.extend(probes.into_iter().map(|p| (index, p)));
    }
    problem
}
