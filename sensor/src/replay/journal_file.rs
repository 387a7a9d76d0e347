//! systemd `.journal` files, read with systemd-journal-reader (pure Rust: no libsystemd, no
//! journald, so a journal copied off a compromised host replays anywhere).
//!
//! The reader's limits, which replay inherits: it reads front to back only; it keeps every
//! data object of the file in memory while it reads (memory grows with the file); it knows
//! zstd but not LZ4 or XZ compression; repeated fields keep one value; it gives no cursor. The
//! [`Gate`] in front of it turns what it would mishandle into clear errors (see `gate.rs`):
//! truncated and corrupt files are read up to the damage, with the offset of the damage.
use std::{
    cell::RefCell,
    io::{self, Read},
    panic::{AssertUnwindSafe, catch_unwind},
};

use systemd_journal_reader::JournalReader;

use super::{
    Ctx, Stop, dump,
    error::ErrorKind,
    gate::{Gate, GateError},
};
use crate::source::journald::JournalEntry;

/// Replays one journal file; `file_len` is its size when known.
pub(super) fn replay(
    reader: impl Read,
    file_len: Option<u64>,
    ctx: &mut Ctx<'_, '_>,
) -> Result<(), Stop> {
    let gate = RefCell::new(Gate::new(reader, file_len));
    // The reader is third-party code fed hostile files: the gate keeps it away from every
    // panic we know of (arithmetic overflow on huge sizes), and `catch_unwind` keeps one we do
    // not know of from escaping. A reader that panicked is dropped, never called again.
    let opened = catch_unwind(AssertUnwindSafe(|| JournalReader::new(Shared(&gate))));
    let mut journal = match opened {
        Ok(Ok(journal)) => journal,
        Ok(Err(e)) => {
            // The gate's account of the header is clearer than the reader's read error.
            if !problems(&gate, ctx) {
                let at = ctx.at(None, Some(0));
                ctx.error(at, ErrorKind::JournalReader(e.to_string()));
            }
            return Ok(());
        }
        Err(_) => {
            panicked(&gate, ctx);
            return Ok(());
        }
    };
    loop {
        let next = catch_unwind(AssertUnwindSafe(|| journal.next_entry()));
        problems(&gate, ctx);
        match next {
            Ok(Some(entry)) => {
                ctx.account.read += 1;
                // Most entries are not sshd's: they are told apart without building them.
                let named = |name: &str| entry.fields.get(name).map(|v| v.as_bytes());
                if !dump::claims_sshd([named("SYSLOG_IDENTIFIER"), named("_COMM")]) {
                    continue;
                }
                let fields = entry
                    .fields
                    .iter()
                    .map(|(name, value)| (name.as_bytes(), value.as_bytes()));
                let mut e = JournalEntry::from_fields(fields);
                e.realtime_us = Some(entry.realtime);
                dump::entry_record(&e, ctx)?;
            }
            Ok(None) => return Ok(()),
            Err(_) => {
                panicked(&gate, ctx);
                return Ok(());
            }
        }
    }
}

/// Reports what the gate found since last asked; whether it found anything.
fn problems<R: Read>(gate: &RefCell<Gate<R>>, ctx: &mut Ctx<'_, '_>) -> bool {
    let found = match gate.try_borrow_mut() {
        Ok(mut gate) => gate.take_problems(),
        Err(_) => return false,
    };
    let any = !found.is_empty();
    for problem in found {
        let at = ctx.at(None, Some(problem.offset));
        let kind = match problem.error {
            GateError::Io(e) => ctx.read_failed(e),
            other => ErrorKind::Journal(other),
        };
        ctx.error(at, kind);
    }
    any
}

fn panicked<R: Read>(gate: &RefCell<Gate<R>>, ctx: &mut Ctx<'_, '_>) {
    problems(gate, ctx);
    let position = gate.try_borrow().map(|g| g.position()).ok();
    let at = ctx.at(None, position);
    ctx.error(
        at,
        ErrorKind::JournalReader("it panicked; the rest of the file is not read".to_owned()),
    );
}

/// Lets the reader own a handle to the gate while replay still reaches the gate's problems
/// between entries.
struct Shared<'a, R>(&'a RefCell<Gate<R>>);

impl<R: Read> Read for Shared<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .try_borrow_mut()
            .map_err(|_| io::Error::other("journal gate busy"))?
            .read(buf)
    }
}
