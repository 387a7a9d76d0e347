//! Dumps replayed entry by entry: journalctl's `-o export` and `-o json`, and ECS JSON Lines.
use std::io::BufRead;

use super::{
    Ctx, Stop,
    error::ErrorKind,
    export::{ExportError, ExportReader},
    json::JsonEntry,
    lines::{Lines, Next},
};
use crate::{ecs::json::JsonEvent, normalize, source::journald::JournalEntry};

/// Replays a `journalctl -o export` dump.
pub(super) fn export(reader: impl BufRead, ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let mut entries = ExportReader::new(reader);
    while let Some(next) = entries.next_entry() {
        ctx.account.read += 1;
        match next {
            Ok(entry) => {
                // Most entries are not sshd's: they are told apart without building them.
                let first = |wanted: &[u8]| entry.fields().find(|(n, _)| *n == wanted);
                let claims = [first(b"SYSLOG_IDENTIFIER"), first(b"_COMM")].map(|f| f.map(|f| f.1));
                if claims_sshd(claims) {
                    entry_record(&JournalEntry::from_fields(entry.fields()), ctx)?;
                }
            }
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
    json_lines(reader, ctx, |text, ctx| {
        let entry = serde_json::from_slice::<JsonEntry>(text).map_err(ErrorKind::Json)?;
        Ok(entry_record(&JournalEntry::from_fields(entry.pairs()), ctx))
    })
}

/// Replays ECS JSON Lines: every object is an event for the rules. With `windows`, each line
/// is a Winlogbeat event, mapped as Winlogbeat's pipelines do ([`crate::windows::ndjson`]).
pub(super) fn ecs(reader: impl BufRead, windows: bool, ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    json_lines(reader, ctx, |text, ctx| {
        if windows {
            let event = crate::windows::ndjson::parse_line(text).map_err(ErrorKind::Winlogbeat)?;
            Ok(ctx.record(&event))
        } else {
            let value = serde_json::from_slice(text).map_err(ErrorKind::Json)?;
            let event = JsonEvent::new(value).ok_or(ErrorKind::NotAnObject)?;
            Ok(ctx.record(&event))
        }
    })
}

/// Reads JSON Lines, skipping blank ones: `each` turns a line into what it wrote, or the
/// problem reported at that line.
fn json_lines(
    reader: impl BufRead,
    ctx: &mut Ctx<'_, '_>,
    mut each: impl FnMut(&[u8], &mut Ctx<'_, '_>) -> Result<Result<(), Stop>, ErrorKind>,
) -> Result<(), Stop> {
    let mut lines = Lines::new(reader);
    loop {
        match lines.next_line() {
            Next::Line { text, line, offset } => {
                ctx.account.read += 1;
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match each(text, ctx) {
                    Ok(written) => written?,
                    Err(kind) => {
                        let at = ctx.at(Some(line), Some(offset));
                        ctx.error(at, kind);
                    }
                }
            }
            Next::TooLong { line, offset } => ctx.line_too_long(line, offset),
            Next::Failed { error, at, partial } => {
                ctx.read_stopped(error, at, partial);
                return Ok(());
            }
            Next::End => return Ok(()),
        }
    }
}

/// Whether an entry claims to be sshd's, from its first `SYSLOG_IDENTIFIER` and `_COMM` values:
/// what [`JournalEntry::claims_sshd`] says of the entry, without building it.
pub(super) fn claims_sshd(identifier_and_comm: [Option<&[u8]>; 2]) -> bool {
    identifier_and_comm
        .iter()
        .flatten()
        .any(|v| crate::procfs::is_sshd_family(&String::from_utf8_lossy(v)))
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
