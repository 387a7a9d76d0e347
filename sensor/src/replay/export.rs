//! The journal export format (`journalctl -o export`), read as a stream with bounded memory.
//!
//! The format, as systemd documents it ("Journal Export Formats"): entries are separated by an
//! empty line; each field of an entry is either
//! - a text field: `NAME=value\n` (the value holds no newline), or
//! - a binary field (a value with a newline or other bytes journalctl does not print as text):
//!   `NAME\n`, the value's length as a 64-bit little-endian integer, the value, `\n`.
//!
//! Names are upper-case letters, digits and underscores (journald's own rule; the `__` fields
//! such as `__CURSOR` are journalctl's addressing fields).
//!
//! An entry with any problem (a bad name, a field over [`MAX_FIELD_LEN`], a binary field cut
//! short) is not returned: half an entry could change the verdict on who wrote it. The reader
//! reports it and skips to the next empty line, so one bad entry costs only itself.
//!
//! This file uses nothing from the rest of the crate, so that the fuzz target
//! (`fuzz/fuzz_targets/journal_export.rs`) can include it by path.
use std::io::{self, BufRead};
use std::ops::Range;

/// The longest field value (text or binary) an entry may hold.
pub const MAX_FIELD_LEN: usize = 1 << 20;
/// The longest field name accepted (journald's own names are at most 64 bytes).
pub const MAX_NAME_LEN: usize = 256;
/// The most fields one entry may hold.
pub const MAX_FIELDS: usize = 4096;
/// The most bytes (names and values) one entry may hold.
pub const MAX_ENTRY_LEN: usize = 8 << 20;

/// Why an entry was skipped, or why reading stopped ([`ExportError::Io`]).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{name:?} is not a journal field name (A-Z, 0-9 and _, at most {MAX_NAME_LEN} bytes)")]
    BadName { name: String },
    #[error("a field is longer than {MAX_FIELD_LEN} bytes")]
    FieldTooLong,
    #[error("the entry has more than {MAX_FIELDS} fields or {MAX_ENTRY_LEN} bytes")]
    EntryTooLarge,
    #[error("binary field {name} ends early, inside its length")]
    TruncatedLength { name: String },
    #[error("binary field {name} ends early: its length says {len} bytes")]
    Truncated { name: String, len: u64 },
    #[error("binary field {name} is not followed by a newline")]
    MissingNewline { name: String },
    /// Reading the input failed; the reader returns nothing more.
    #[error("read failed: {0}")]
    Io(#[source] io::Error),
}

/// A problem and where it is: the 1-based line and 0-based byte offset of the line it is on.
#[derive(Debug)]
pub struct Problem {
    pub line: u64,
    pub offset: u64,
    pub error: ExportError,
}

/// One entry: its fields in the order of the input. Borrows the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The line and byte offset the entry starts at.
    pub line: u64,
    pub offset: u64,
    data: &'a [u8],
    spans: &'a [(Range<usize>, Range<usize>)],
}

impl<'a> Entry<'a> {
    /// `(name, value)` pairs, repeated names included, in input order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let data = self.data;
        self.spans.iter().map(move |(name, value)| {
            (
                data.get(name.clone()).unwrap_or_default(),
                data.get(value.clone()).unwrap_or_default(),
            )
        })
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// Reads entries one at a time from a buffered stream.
#[derive(Debug)]
pub struct ExportReader<R> {
    inner: R,
    /// 1-based number of the line the next byte is on.
    line: u64,
    /// 0-based offset of the next byte.
    offset: u64,
    /// Names and values of the current entry, back to back.
    data: Vec<u8>,
    spans: Vec<(Range<usize>, Range<usize>)>,
    done: bool,
}

/// What reading one line gave.
enum LineRead {
    /// A line of `len` bytes (without its `\n`; the last line may lack one), stored at
    /// `data[start..]` when asked to.
    Line {
        start: usize,
        len: usize,
    },
    Eof,
    TooLong,
    Failed(io::Error),
}

impl<R: BufRead> ExportReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            line: 1,
            offset: 0,
            data: Vec::new(),
            spans: Vec::new(),
            done: false,
        }
    }

    /// The next entry, a problem (the entry it was in has been skipped), or `None` at the end.
    /// After an [`ExportError::Io`] problem the reader returns `None`.
    pub fn next_entry(&mut self) -> Option<Result<Entry<'_>, Problem>> {
        self.data.clear();
        self.spans.clear();
        let (mut line, mut offset) = (self.line, self.offset);
        loop {
            if self.done {
                return self.finish(line, offset);
            }
            let (at_line, at_offset) = (self.line, self.offset);
            let problem = |error| Problem {
                line: at_line,
                offset: at_offset,
                error,
            };
            let (start, len) = match self.read_line(MAX_NAME_LEN + 1 + MAX_FIELD_LEN, true) {
                LineRead::Eof => {
                    self.done = true;
                    continue;
                }
                LineRead::Failed(e) => {
                    self.done = true;
                    return Some(Err(problem(ExportError::Io(e))));
                }
                LineRead::TooLong => {
                    return Some(Err(self.skip_entry(problem(ExportError::FieldTooLong))));
                }
                LineRead::Line { start, len } => (start, len),
            };
            if len == 0 {
                // An empty line ends the entry; empty lines between entries are ignored.
                if !self.spans.is_empty() {
                    return self.finish(line, offset);
                }
                (line, offset) = (self.line, self.offset);
                continue;
            }
            if let Err(error) = self.field(start) {
                return Some(Err(self.skip_entry(problem(error))));
            }
        }
    }

    /// The entry gathered so far, if it has any field.
    fn finish(&self, line: u64, offset: u64) -> Option<Result<Entry<'_>, Problem>> {
        (!self.spans.is_empty()).then(|| {
            Ok(Entry {
                line,
                offset,
                data: &self.data,
                spans: &self.spans,
            })
        })
    }

    /// Takes the field whose first line is at `data[start..]`.
    fn field(&mut self, start: usize) -> Result<(), ExportError> {
        if self.spans.len() >= MAX_FIELDS || self.data.len() > MAX_ENTRY_LEN {
            return Err(ExportError::EntryTooLarge);
        }
        let line = self.data.get(start..).unwrap_or_default();
        let eq = line.iter().position(|&b| b == b'=');
        let name_end = start + eq.unwrap_or(line.len());
        let name = self.data.get(start..name_end).unwrap_or_default();
        if !valid_name(name) {
            let shown = name.get(..64).unwrap_or(name);
            return Err(ExportError::BadName {
                name: String::from_utf8_lossy(shown).into_owned(),
            });
        }
        if eq.is_some() {
            self.spans
                .push((start..name_end, name_end + 1..self.data.len()));
            return Ok(());
        }
        self.binary(start, name_end)
    }

    /// Reads a binary field's length, value and closing newline after its name line.
    fn binary(&mut self, start: usize, name_end: usize) -> Result<(), ExportError> {
        let value_start = self.data.len();
        self.read_exact(8).map_err(|e| {
            e.unwrap_or_else(|| ExportError::TruncatedLength {
                name: self.name(start..name_end),
            })
        })?;
        let mut len = [0u8; 8];
        if let Some(bytes) = self.data.get(value_start..) {
            len.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
        }
        self.data.truncate(value_start);
        let len = u64::from_le_bytes(len);
        let n = usize::try_from(len)
            .ok()
            .filter(|&n| n <= MAX_FIELD_LEN)
            .ok_or(ExportError::FieldTooLong)?;
        self.read_exact(n)
            .map_err(|e| self.cut(e, start..name_end, len))?;
        let value_end = self.data.len();
        self.read_exact(1)
            .map_err(|e| self.cut(e, start..name_end, len))?;
        if self.data.pop() != Some(b'\n') {
            let name = self.name(start..name_end);
            return Err(ExportError::MissingNewline { name });
        }
        self.spans.push((start..name_end, value_start..value_end));
        Ok(())
    }

    /// The error for a binary field whose read stopped: a read error, or the input's end.
    fn cut(&self, error: Option<ExportError>, name: Range<usize>, len: u64) -> ExportError {
        error.unwrap_or_else(|| ExportError::Truncated {
            name: self.name(name),
            len,
        })
    }

    fn name(&self, range: Range<usize>) -> String {
        String::from_utf8_lossy(self.data.get(range).unwrap_or_default()).into_owned()
    }

    /// Skips to the end of the current entry (the next empty line) and returns `problem`.
    fn skip_entry(&mut self, problem: Problem) -> Problem {
        self.spans.clear();
        loop {
            let mark = self.data.len();
            match self.read_line(0, false) {
                LineRead::Line { len: 0, .. } => break,
                LineRead::Line { .. } | LineRead::TooLong => self.data.truncate(mark),
                LineRead::Eof => {
                    self.done = true;
                    break;
                }
                LineRead::Failed(_) => {
                    // The read error comes back on the next read; stop here rather than
                    // report it a second time.
                    self.done = true;
                    break;
                }
            }
        }
        problem
    }

    /// Appends the next line (without its `\n`) to `data` when `store`, if it is at most
    /// `max` bytes; a longer one is consumed whole and reported.
    fn read_line(&mut self, max: usize, store: bool) -> LineRead {
        let start = self.data.len();
        let (mut any, mut too_long, mut len) = (false, false, 0);
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return LineRead::Failed(e),
            };
            if buf.is_empty() {
                return match (any, too_long) {
                    (false, _) => LineRead::Eof,
                    (true, true) => LineRead::TooLong,
                    (true, false) => LineRead::Line { start, len },
                };
            }
            any = true;
            let newline = memchr::memchr(b'\n', buf);
            let chunk = buf.get(..newline.unwrap_or(buf.len())).unwrap_or_default();
            len += chunk.len();
            if store && !too_long {
                if self.data.len() - start + chunk.len() <= max {
                    self.data.extend_from_slice(chunk);
                } else {
                    too_long = true;
                    self.data.truncate(start);
                }
            }
            let used = chunk.len() + usize::from(newline.is_some());
            self.inner.consume(used);
            self.offset += used as u64;
            if newline.is_some() {
                self.line += 1;
                return if too_long {
                    LineRead::TooLong
                } else {
                    LineRead::Line { start, len }
                };
            }
        }
    }

    /// Appends exactly `n` bytes to `data`. `Err(None)`: the input ended first.
    fn read_exact(&mut self, mut n: usize) -> Result<(), Option<ExportError>> {
        while n > 0 {
            let buf = match self.inner.fill_buf() {
                Ok([]) => return Err(None),
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Err(Some(ExportError::Io(e)));
                }
            };
            let chunk = buf.get(..n.min(buf.len())).unwrap_or_default();
            self.data.extend_from_slice(chunk);
            let used = chunk.len();
            self.line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            self.inner.consume(used);
            self.offset += used as u64;
            n -= used;
        }
        Ok(())
    }
}

/// A journal field name: `[A-Z0-9_]`, 1 to [`MAX_NAME_LEN`] bytes.
pub fn valid_name(name: &[u8]) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `head` (the first bytes of an input) looks like an export dump: its first line is a
/// field (`NAME=...` or a binary field's `NAME`).
pub fn looks_like_export(head: &[u8]) -> bool {
    let name_len = head
        .iter()
        .position(|&b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'));
    match name_len {
        Some(n) => n > 0 && n <= MAX_NAME_LEN && matches!(head.get(n), Some(b'=' | b'\n')),
        None => false,
    }
}
