//! A guard in front of systemd-journal-reader: it walks the `.journal` file's objects as the
//! reader pulls bytes, and hands over only objects that are whole and sane.
//!
//! systemd-journal-reader 0.1.1 trusts the file: an object size near `u64::MAX` overflows its
//! arithmetic (a panic in debug builds), a huge data object is allocated whole before it is read
//! (an abort when the allocation fails, which no `catch_unwind` catches), a file that ends early
//! just ends, a corrupt zstd object becomes an empty value, and an LZ4 or XZ object is returned
//! still compressed. The gate stops those before the reader sees them:
//! - a bad header, an unknown incompatible flag, an object of unknown type, smaller than its own
//!   header or running past the arena or the file, and a file that ends inside the used part
//!   (before the header's tail object) end the stream there, as a clean end of file for the
//!   reader, with a [`GateError`] saying where and why;
//! - a data object the reader would mishandle (over 64 MiB, compressed with XZ or LZ4, zstd
//!   that does not decompress or decompresses past 64 MiB) is passed on
//!   with its type set to "unused", which the reader skips: the entries that use it lack that
//!   one field, and a [`GateError`] says so.
//!
//! Beyond the tail object journald leaves preallocated zeros: the gate ends the stream there.
//!
//! Like `export.rs`, this file uses nothing else from the crate but `journal_format.rs`.
use std::io::{self, Read};

pub use super::journal_format::SIGNATURE;
use super::journal_format::{
    AT_ARENA_SIZE, AT_HEADER_SIZE, AT_INCOMPATIBLE_FLAGS, AT_TAIL_OBJECT_OFFSET, DATA_PAYLOAD_AT,
    DATA_PAYLOAD_AT_COMPACT, HEADER_MAX, HEADER_MIN, INCOMPAT_COMPACT, INCOMPAT_KNOWN,
    INCOMPAT_ZSTD, MAX_DATA_OBJECT, OBJECT_DATA, OBJECT_HEADER, OBJECT_LZ4, OBJECT_TAG,
    OBJECT_UNUSED, OBJECT_XZ, OBJECT_ZSTD, le_u32, le_u64, read_full, zstd_problem,
};

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("not a journal file: no LPKSHHRH signature")]
    Signature,
    #[error("the file ends inside the journal header")]
    ShortHeader,
    #[error("journal header: {0}")]
    Header(&'static str),
    #[error("incompatible flags {0:#x} include some this reader does not know (a newer systemd?)")]
    UnknownFlags(u32),
    #[error(
        "truncated: the file ends at byte {end}, before the objects its header lists end; the entries before were read"
    )]
    Truncated { end: u64 },
    #[error("corrupt object ({0}); the rest of the file is not read")]
    BadObject(String),
    #[error(
        "zeros where an object should be, before the header's last object at byte {tail}: a hole; the rest of the file is not read"
    )]
    Hole { tail: u64 },
    #[error("data object {0}; the entries using it lack that field")]
    DataLeftOut(String),
    #[error("read failed: {0}")]
    Io(#[source] io::Error),
}

/// A problem, and the offset of the object (or header) it is about.
#[derive(Debug)]
pub struct GateProblem {
    pub offset: u64,
    pub error: GateError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Objects,
    Done,
}

/// The validating reader: read from it as from the file; collect what it found with
/// [`Gate::take_problems`].
#[derive(Debug)]
pub struct Gate<R> {
    inner: R,
    file_len: Option<u64>,
    state: State,
    /// Offset in the file of the next byte read from `inner`.
    pos: u64,
    /// Checked bytes waiting to be handed over.
    out: Vec<u8>,
    out_at: usize,
    /// Bytes of the current object to pass through unchecked (payload), then its padding.
    payload_left: u64,
    padding_left: u64,
    object_at: u64,
    header_size: u64,
    arena_end: u64,
    tail: Option<u64>,
    incompatible: u32,
    problems: Vec<GateProblem>,
}

impl<R: Read> Gate<R> {
    /// `file_len`: the file's size when known (a file, not a pipe or a gzip stream).
    pub fn new(inner: R, file_len: Option<u64>) -> Self {
        Self {
            inner,
            file_len,
            state: State::Header,
            pos: 0,
            out: Vec::with_capacity(4096),
            out_at: 0,
            payload_left: 0,
            padding_left: 0,
            object_at: 0,
            header_size: 0,
            arena_end: 0,
            tail: None,
            incompatible: 0,
            problems: Vec::new(),
        }
    }

    /// The problems found since the last call.
    pub fn take_problems(&mut self) -> Vec<GateProblem> {
        std::mem::take(&mut self.problems)
    }

    /// Offset of the next byte the gate will read.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Ends the stream here: nothing not yet handed over (a header or object that failed its
    /// check) ever reaches the reader.
    fn stop(&mut self, offset: u64, error: GateError) {
        self.problems.push(GateProblem { offset, error });
        self.out.clear();
        self.out_at = 0;
        self.state = State::Done;
        self.payload_left = 0;
        self.padding_left = 0;
    }

    /// Appends exactly `n` bytes of input to `out`, or stops the gate: `Truncated` when the
    /// input ends first (reporting the object at `object`), `Io` on a read error.
    fn take(&mut self, n: usize, object: u64, short: impl FnOnce(u64) -> GateError) -> bool {
        let start = self.out.len();
        self.out.resize(start + n, 0);
        let got = read_full(
            &mut self.inner,
            self.out.get_mut(start..).unwrap_or_default(),
        );
        match got {
            Ok(k) => {
                self.pos += k as u64;
                if k == n {
                    return true;
                }
                self.out.truncate(start + k);
                let end = self.pos;
                self.stop(object, short(end));
            }
            Err(e) => self.stop(object, GateError::Io(e)),
        }
        false
    }

    fn header(&mut self) {
        self.out.clear();
        self.out_at = 0;
        let mut head = [0u8; HEADER_MIN as usize];
        let n = match read_full(&mut self.inner, &mut head) {
            Ok(n) => n,
            Err(e) => return self.stop(0, GateError::Io(e)),
        };
        self.pos += n as u64;
        let seen = n.min(SIGNATURE.len());
        if seen == 0 || head.get(..seen) != SIGNATURE.get(..seen) {
            return self.stop(0, GateError::Signature);
        }
        if n < head.len() {
            return self.stop(0, GateError::ShortHeader);
        }
        self.out.extend_from_slice(&head);
        let incompatible = le_u32(&self.out, AT_INCOMPATIBLE_FLAGS);
        self.header_size = le_u64(&self.out, AT_HEADER_SIZE);
        let arena_size = le_u64(&self.out, AT_ARENA_SIZE);
        let tail = le_u64(&self.out, AT_TAIL_OBJECT_OFFSET);
        if incompatible & !INCOMPAT_KNOWN != 0 {
            return self.stop(0, GateError::UnknownFlags(incompatible));
        }
        self.incompatible = incompatible;
        if !(HEADER_MIN..=HEADER_MAX).contains(&self.header_size) {
            return self.stop(0, GateError::Header("header size out of range"));
        }
        match self.header_size.checked_add(arena_size) {
            Some(end) if end <= u64::MAX / 2 => self.arena_end = end,
            _ => return self.stop(0, GateError::Header("arena size out of range")),
        }
        self.tail = (self.header_size..self.arena_end)
            .contains(&tail)
            .then_some(tail);
        let rest = usize::try_from(self.header_size - HEADER_MIN).unwrap_or(usize::MAX);
        if self.take(rest, 0, |_| GateError::ShortHeader) {
            self.state = State::Objects;
        }
    }

    /// Checks the next object's header and queues what the reader may see of it.
    fn object(&mut self) {
        let at = self.pos;
        self.out.clear();
        self.out_at = 0;
        let used = self.tail.is_some_and(|tail| at <= tail);
        if at >= self.arena_end || (self.tail.is_some() && !used) {
            self.state = State::Done;
            return;
        }
        let mut head = [0u8; OBJECT_HEADER as usize];
        let n = match read_full(&mut self.inner, &mut head) {
            Ok(n) => n,
            Err(e) => return self.stop(at, GateError::Io(e)),
        };
        self.pos += n as u64;
        if n == 0 && !used {
            self.state = State::Done;
            return;
        }
        if n < head.len() {
            return self.stop(at, GateError::Truncated { end: self.pos });
        }
        if head.iter().all(|&b| b == 0) {
            // Preallocated space after the last object, or a hole before it.
            match self.tail.filter(|_| used) {
                Some(tail) => return self.stop(at, GateError::Hole { tail }),
                None => {
                    self.state = State::Done;
                    return;
                }
            }
        }
        let (kind, flags, size) = (head[0], head[1], le_u64(&head, 8));
        if let Some(reason) = self.bad_object(at, kind, size) {
            return self.stop(at, reason);
        }
        self.out.extend_from_slice(&head);
        self.object_at = at;
        self.payload_left = size - OBJECT_HEADER;
        self.padding_left = size.next_multiple_of(8) - size;
        if kind == OBJECT_DATA {
            self.data(flags, size);
        }
    }

    /// Why an object header cannot be followed, if it cannot.
    fn bad_object(&self, at: u64, kind: u8, size: u64) -> Option<GateError> {
        let end = at.saturating_add(size);
        if kind == OBJECT_UNUSED || kind > OBJECT_TAG {
            return Some(GateError::BadObject(format!("unknown type {kind}")));
        }
        if size < OBJECT_HEADER {
            return Some(GateError::BadObject(format!(
                "size {size} is below its own header"
            )));
        }
        if end > self.arena_end {
            return Some(GateError::BadObject(format!(
                "size {size} runs past the arena's end at byte {}",
                self.arena_end
            )));
        }
        match self.file_len {
            Some(len) if end > len => Some(GateError::Truncated { end: len }),
            _ => None,
        }
    }

    /// A data object (its header queued in `out`): passed on as is, or with its type set to
    /// unused when the reader would mishandle it.
    fn data(&mut self, flags: u8, size: u64) {
        let at = self.object_at;
        let why = if size > MAX_DATA_OBJECT {
            Some(format!(
                "is {size} bytes, over the {MAX_DATA_OBJECT}-byte limit"
            ))
        } else if flags & (OBJECT_XZ | OBJECT_LZ4) != 0 {
            Some("is compressed with XZ or LZ4, which this reader cannot decompress".to_owned())
        } else if flags & OBJECT_ZSTD != 0 && self.incompatible & INCOMPAT_ZSTD == 0 {
            Some("is marked zstd-compressed but the header does not allow zstd".to_owned())
        } else if flags & OBJECT_ZSTD != 0 {
            // Buffered whole (at most MAX_DATA_OBJECT) to check that it decompresses.
            let Ok(n) = usize::try_from(self.payload_left) else {
                return self.stop(at, GateError::BadObject("too large".to_owned()));
            };
            if !self.take(n, at, |end| GateError::Truncated { end }) {
                return;
            }
            self.payload_left = 0;
            let fixed = if self.incompatible & INCOMPAT_COMPACT != 0 {
                DATA_PAYLOAD_AT_COMPACT
            } else {
                DATA_PAYLOAD_AT
            };
            zstd_problem(self.out.get(fixed..).unwrap_or_default())
        } else {
            None
        };
        if let Some(why) = why {
            if let Some(kind) = self.out.first_mut() {
                *kind = OBJECT_UNUSED;
            }
            self.problems.push(GateProblem {
                offset: at,
                error: GateError::DataLeftOut(why),
            });
        }
    }
}

impl<R: Read> Read for Gate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(queued) = self.out.get(self.out_at..).filter(|q| !q.is_empty()) {
                let n = queued.len().min(buf.len());
                buf.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(queued.get(..n).unwrap_or_default());
                self.out_at += n;
                return Ok(n);
            }
            if self.payload_left > 0 || self.padding_left > 0 {
                let padding = self.payload_left == 0;
                let left = if padding {
                    self.padding_left
                } else {
                    self.payload_left
                };
                let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                let n = match self.inner.read(buf.get_mut(..want).unwrap_or_default()) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let at = self.object_at;
                        self.stop(at, GateError::Io(e));
                        return Ok(0);
                    }
                };
                if n == 0 {
                    // A file may end right after its last object, without the padding.
                    if !padding {
                        let (at, end) = (self.object_at, self.pos);
                        self.stop(at, GateError::Truncated { end });
                    }
                    self.state = State::Done;
                    self.padding_left = 0;
                    return Ok(0);
                }
                self.pos += n as u64;
                if padding {
                    self.padding_left -= n as u64;
                } else {
                    self.payload_left -= n as u64;
                }
                return Ok(n);
            }
            match self.state {
                State::Done => return Ok(0),
                State::Header => self.header(),
                State::Objects => self.object(),
            }
        }
    }
}
