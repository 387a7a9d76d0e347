//! auth.log replayed line by line: each line parsed as syslog, sshd's turned into records.
use std::{borrow::Cow, io::BufRead};

use chrono::{DateTime, Utc};

use super::{
    Ctx, Stop,
    error::ErrorKind,
    lines::{Lines, MAX_LINE, Next},
};
use crate::{
    normalize,
    parse::{self, LineError, YearInference},
};

/// Replays one auth.log; classic timestamps take their year from `reference`.
pub(super) fn replay(
    reader: impl BufRead,
    reference: DateTime<Utc>,
    ctx: &mut Ctx<'_, '_>,
) -> Result<(), Stop> {
    let mut years = YearInference::new(reference, ctx.options.classic_zone);
    let mut lines = Lines::new(reader);
    loop {
        match lines.next_line() {
            Next::Line { text, line, offset } => {
                ctx.account.read += 1;
                let at = ctx.at(Some(line), Some(offset));
                if let Some(kind) = replay_line(text, &mut years, ctx)? {
                    ctx.error(at, kind);
                }
            }
            Next::TooLong { line, offset } => {
                ctx.account.read += 1;
                let at = ctx.at(Some(line), Some(offset));
                ctx.error(at, ErrorKind::LineTooLong { max: MAX_LINE });
            }
            Next::Failed { error, at, partial } => {
                if let Some((line, offset)) = partial {
                    let place = ctx.at(Some(line), Some(offset));
                    ctx.error(place, ErrorKind::Incomplete);
                }
                let kind = ctx.read_failed(error);
                let place = ctx.at(None, Some(at));
                ctx.error(place, kind);
                return Ok(());
            }
            Next::End => return Ok(()),
        }
    }
}

/// One line: its record printed, and what was wrong with it (one problem per line; a line
/// with a problem that leaves it readable still gives its record).
fn replay_line(
    text: &[u8],
    years: &mut YearInference,
    ctx: &mut Ctx<'_, '_>,
) -> Result<Option<ErrorKind>, Stop> {
    let mut problem = None;
    let mut text = text;
    if let Some(column) = memchr::memchr(0, text) {
        // A crash can leave a run of NULs where the file's last block was; the line written
        // after the restart follows it.
        let hole = text.iter().take_while(|&&b| b == 0).count();
        match text.get(hole..) {
            Some(rest) if hole > 0 && memchr::memchr(0, rest).is_none() => {
                problem = Some(ErrorKind::NulHole { count: hole });
                text = rest;
            }
            _ => return Ok(Some(ErrorKind::Nul { column })),
        }
    }
    let line = match parse::parse_line(text, years) {
        Ok(line) => line,
        Err(LineError::Empty) => return Ok(problem),
        Err(e) => return Ok(Some(ErrorKind::Syslog(e))),
    };
    if matches!(line.message, Cow::Owned(_)) && problem.is_none() {
        let column = std::str::from_utf8(text)
            .err()
            .map_or(0, |e| e.valid_up_to());
        problem = Some(ErrorKind::NotUtf8 { column });
    }
    if let Some(record) = normalize::syslog_auth(&line, "auth-log", None) {
        ctx.record(&record)?;
    }
    Ok(problem)
}
