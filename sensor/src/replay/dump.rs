//! journalctl's dumps replayed entry by entry: `-o export` and `-o json`.
use std::io::BufRead;

use super::{
    Ctx, Stop,
    error::ErrorKind,
    export::{ExportError, ExportReader},
    json::JsonEntry,
    lines::{Lines, MAX_LINE, Next},
};
use crate::{normalize, source::journald::JournalEntry};

/// Replays a `journalctl -o export` dump.
pub(super) fn export(reader: impl BufRead, ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let mut entries = ExportReader::new(reader);
    while let Some(next) = entries.next_entry() {
        ctx.account.read += 1;
        match next {
            Ok(entry) => entry_record(&JournalEntry::from_fields(entry.fields()), ctx)?,
            Err(problem) => {
                let at = ctx.at(Some(problem.line), Some(problem.offset));
                let kind = match problem.error {
                    ExportError::Io(e) => {
                        ctx.account.read -= 1;
                        ctx.read_failed(e)
                    }
                    other => ErrorKind::Export(other),
                };
                ctx.error(at, kind);
            }
        }
    }
    Ok(())
}

/// Replays a `journalctl -o json` dump.
pub(super) fn json(reader: impl BufRead, ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let mut lines = Lines::new(reader);
    loop {
        match lines.next_line() {
            Next::Line { text, line, offset } => {
                ctx.account.read += 1;
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<JsonEntry>(text) {
                    Ok(entry) => entry_record(&JournalEntry::from_fields(entry.pairs()), ctx)?,
                    Err(e) => {
                        let at = ctx.at(Some(line), Some(offset));
                        ctx.error(at, ErrorKind::Json(e));
                    }
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

/// Prints the record of an entry that claims to be sshd's (by `SYSLOG_IDENTIFIER` or `_COMM`,
/// as the live source selects them); the trust check says whether it is.
pub(super) fn entry_record(entry: &JournalEntry, ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    if !entry.claims_sshd() {
        return Ok(());
    }
    match normalize::journal_auth(entry, &ctx.options.sshd_exes) {
        Some(record) => ctx.record(&record),
        None => Ok(()),
    }
}
