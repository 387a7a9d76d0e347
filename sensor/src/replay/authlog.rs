//! auth.log replayed window by window (`window.rs`): each window of whole lines is cut at line
//! boundaries into one part per CPU, the parts are scanned on their own threads (`scan.rs`),
//! and their records and problems are passed on in input order.
//!
//! Classic timestamps (`Nov 23 10:00:00`) take their year from the lines before them. In a
//! window that starts with one, the main thread first runs the year inference over each part
//! but the last (parsing its lines, nothing more) and hands every later part its starting
//! state; that pass is the price of classic logs. In any other window the later parts are
//! scanned without the year inference and stop at their first line that does not start with a
//! digit (RFC 3339 timestamps do); the rest of such a part is scanned once the parts before it
//! are done. The output is the same byte for byte however the lines are shared out.
use std::io::Read;

use chrono::{DateTime, Utc};

use super::{
    Ctx, Stop,
    scan::{self, Scanned, Years, scan},
    window::{Piece, WINDOW, Windows},
};
use crate::parse::YearInference;

/// How a window is shared out.
#[derive(Debug, Clone, Copy)]
pub(super) struct Split {
    /// Bytes read at a time.
    pub window: usize,
    /// Parts of a window, each on its own thread, at most.
    pub parts: usize,
    /// No part is cut smaller than this: below it a thread costs more than it saves.
    pub min_part: usize,
}

impl Split {
    pub fn for_this_machine() -> Self {
        Self {
            window: WINDOW,
            parts: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            min_part: 256 * 1024,
        }
    }
}

/// Replays one auth.log; classic timestamps take their year from `reference`.
pub(super) fn replay(
    reader: impl Read,
    reference: DateTime<Utc>,
    ctx: &mut Ctx<'_, '_>,
) -> Result<(), Stop> {
    replay_split(reader, reference, Split::for_this_machine(), ctx)
}

/// [`replay`] with windows cut as `split` says (the tests cut small ones).
pub(super) fn replay_split(
    reader: impl Read,
    reference: DateTime<Utc>,
    split: Split,
    ctx: &mut Ctx<'_, '_>,
) -> Result<(), Stop> {
    let mut years = YearInference::new(reference, ctx.options.classic_zone);
    let mut windows = Windows::with_capacity(reader, split.window);
    let mut scratch: Vec<Scanned> = Vec::new();
    loop {
        match windows.next() {
            Piece::Lines { text, line, offset } => {
                window(text, (line, offset), &mut years, split, &mut scratch, ctx)?;
            }
            Piece::TooLong { line, offset } => ctx.line_too_long(line, offset),
            Piece::Failed { error, at, partial } => {
                ctx.read_stopped(error, at, partial);
                return Ok(());
            }
            Piece::End => return Ok(()),
        }
    }
}

/// Where a stretch of lines starts: its first line's number and byte offset.
type Start = (u64, u64);

/// Scans one window of whole lines starting at `start` and passes on what it gave.
fn window(
    text: &[u8],
    start: Start,
    years: &mut YearInference,
    split: Split,
    scratch: &mut Vec<Scanned>,
    ctx: &mut Ctx<'_, '_>,
) -> Result<(), Stop> {
    let parts = cut(text, split);
    scratch.resize_with(parts.len(), Scanned::default);
    scratch.iter_mut().for_each(Scanned::clear);
    let (Some((head, tail)), Some((first, others))) =
        (parts.split_first(), scratch.split_first_mut())
    else {
        return Ok(());
    };
    // A window that starts with a classic timestamp is taken for a classic log: each later part
    // starts from the year inference as the parts before it will leave it, found by a pass that
    // only parses their lines. Otherwise the later parts go without, up to a line that needs it.
    let classic = head.first().is_some_and(|b| !b.is_ascii_digit());
    let engine = &*ctx.engine;
    let events = ctx.options.events;
    let theirs = std::thread::scope(|s| {
        let mut ahead = classic.then(|| years.clone());
        let mut before = *head;
        let mut handles = Vec::with_capacity(tail.len());
        for (part, into) in tail.iter().zip(others.iter_mut()) {
            let mut part_years = match ahead.as_mut() {
                Some(ahead) => {
                    scan::advance(before, ahead);
                    Years::Ahead(ahead.clone())
                }
                None => Years::unknown(),
            };
            handles.push(s.spawn(move || {
                scan(part, &mut part_years, engine, events, into);
                part_years
            }));
            before = part;
        }
        scan(head, &mut Years::Known(&mut *years), engine, events, first);
        // A panic in a part is a panic of the replay, as it would be on one thread.
        let theirs: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect();
        theirs
    });
    for part_years in theirs {
        if let Years::Ahead(after) = part_years {
            // The last part's, in the end: as the whole window leaves it.
            *years = after;
        }
    }
    let (mut line, mut offset) = start;
    let mut rest = Scanned::default();
    for (part, scanned) in parts.iter().zip(scratch.iter_mut()) {
        pass_on(scanned, (line, offset), ctx)?;
        if let Some(at) = scanned.stopped_at {
            // The rest of the part needs the year inference as the lines before left it.
            let tail = part.get(at..).unwrap_or_default();
            rest.clear();
            let events = ctx.options.events;
            scan(
                tail,
                &mut Years::Known(&mut *years),
                ctx.engine,
                events,
                &mut rest,
            );
            pass_on(&mut rest, (line + scanned.lines, offset + at as u64), ctx)?;
            line += rest.lines;
        }
        line += scanned.lines;
        offset += part.len() as u64;
    }
    Ok(())
}

/// `text` cut after a `\n` into at most `split.parts` parts of about the same size, none
/// smaller than `split.min_part` (one part when the text is small).
fn cut(text: &[u8], split: Split) -> Vec<&[u8]> {
    let parts = split.parts.min(text.len() / split.min_part.max(1)).max(1);
    let mut out = Vec::with_capacity(parts);
    let mut rest = text;
    for k in (1..parts).rev() {
        // Cut where the remaining parts get an equal share, after the next `\n`.
        let share = rest.len() / (k + 1);
        let Some(end) = rest
            .get(share..)
            .and_then(|r| memchr::memchr(b'\n', r))
            .map(|p| share + p + 1)
        else {
            break;
        };
        let (part, after) = rest.split_at(end);
        out.push(part);
        rest = after;
    }
    out.push(rest);
    out
}

/// Passes one scanned stretch on: its lines counted, its problems reported where they are, its
/// records run through the rules in order.
fn pass_on(scanned: &mut Scanned, start: Start, ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    ctx.account.read += scanned.lines;
    for (index, at, kind) in scanned.problems.drain(..) {
        let place = ctx.at(Some(start.0 + index), Some(start.1 + at as u64));
        ctx.error(place, kind);
    }
    ctx.account.errors += scanned.more_problems;
    let mut marks = scanned.marks.iter().peekable();
    let mut probes = scanned.probes.drain(..).peekable();
    let (mut alert_from, mut event_from) = (0, 0);
    for i in 0..scanned.records {
        let event = match scanned.event_ends.get(i) {
            Some(&end) => {
                let bytes = &scanned.events[event_from..end];
                event_from = end;
                bytes
            }
            None => &[],
        };
        let mut alert_to = alert_from;
        let mut rules = Vec::new();
        while let Some(&&(_, end, rule)) = marks.peek().filter(|m| m.0 == i) {
            alert_to = end;
            rules.push(rule);
            marks.next();
        }
        let mut mine = Vec::new();
        while let Some((_, probe)) = probes.next_if(|p| p.0 == i) {
            mine.push(probe);
        }
        let alerts = &scanned.alerts[alert_from..alert_to];
        ctx.scanned_record(event, alerts, &rules, mine)?;
        alert_from = alert_to;
    }
    Ok(())
}
