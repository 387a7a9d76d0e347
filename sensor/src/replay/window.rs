//! An auth.log read in large windows of whole lines, for replay to cut into lines itself (and
//! share out between threads) instead of asking a `BufRead` for one line at a time.
//!
//! The same lines, numbers, offsets and errors as [`Lines`](super::lines::Lines): a line over
//! [`MAX_LINE`] bytes is skipped and reported, a final line without `\n` is a line, and a read
//! error ends the input after the whole lines before it, naming the line it broke off in.
use std::io::{self, Read};

use super::lines::MAX_LINE;

/// Bytes read at a time. A line of [`MAX_LINE`] bytes and its `\n` always fit.
pub const WINDOW: usize = 4 << 20;

/// What the input holds next.
#[derive(Debug)]
pub enum Piece<'a> {
    /// Whole lines, each with its `\n` but perhaps the input's last. `line` is the number of
    /// the first (1-based), `offset` the byte it starts at.
    Lines {
        text: &'a [u8],
        line: u64,
        offset: u64,
    },
    /// A line longer than [`MAX_LINE`], skipped.
    TooLong {
        line: u64,
        offset: u64,
    },
    /// Reading failed at byte `at`; `partial` is the line it broke off inside. Nothing follows.
    Failed {
        error: io::Error,
        at: u64,
        partial: Option<(u64, u64)>,
    },
    End,
}

/// The reader: `Windows::next` hands out one [`Piece`] at a time.
#[derive(Debug)]
pub struct Windows<R> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes of `buf` read and not yet handed out (the start of a line).
    len: usize,
    /// Bytes at the start of `buf` handed out by the last call, dropped by the next.
    handed: usize,
    /// Number and offset of the line at `buf[0]` (after `handed` is dropped).
    line: u64,
    offset: u64,
    /// A read error met after some whole lines, reported once they are handed out.
    error: Option<io::Error>,
    eof: bool,
    done: bool,
}

impl<R: Read> Windows<R> {
    /// A reader of `capacity` bytes at a time ([`WINDOW`] is right for most), raised to hold
    /// the longest line.
    pub fn with_capacity(inner: R, capacity: usize) -> Self {
        Self {
            inner,
            buf: vec![0; capacity.max(MAX_LINE + 1)],
            len: 0,
            handed: 0,
            line: 1,
            offset: 0,
            error: None,
            eof: false,
            done: false,
        }
    }

    pub fn next(&mut self) -> Piece<'_> {
        self.drop_handed();
        if self.done {
            return Piece::End;
        }
        if self.error.is_none() && !self.eof {
            self.fill();
        }
        let last = memchr::memrchr(b'\n', self.buf.get(..self.len).unwrap_or_default());
        if let Some(last) = last {
            let text = self.buf.get(..=last).unwrap_or_default();
            let (line, offset) = (self.line, self.offset);
            self.handed = last + 1;
            self.line += memchr::memchr_iter(b'\n', text).count() as u64;
            self.offset += self.handed as u64;
            return Piece::Lines { text, line, offset };
        }
        // No whole line held: a read error, the end, or a line longer than the buffer.
        if let Some(error) = self.error.take() {
            self.done = true;
            let at = self.offset + self.len as u64;
            let partial = (self.len > 0).then_some((self.line, self.offset));
            return Piece::Failed { error, at, partial };
        }
        if self.eof {
            self.done = true;
            if self.len == 0 {
                return Piece::End;
            }
            let (line, offset) = (self.line, self.offset);
            if self.len > MAX_LINE {
                return Piece::TooLong { line, offset };
            }
            self.handed = self.len;
            return Piece::Lines {
                text: self.buf.get(..self.len).unwrap_or_default(),
                line,
                offset,
            };
        }
        self.skip_long_line()
    }

    /// Drops what the last call handed out, keeping the start of the next line.
    fn drop_handed(&mut self) {
        let handed = std::mem::take(&mut self.handed);
        if handed > 0 {
            self.buf.copy_within(handed..self.len, 0);
            self.len -= handed;
        }
    }

    /// Reads until the buffer is full, the input ends, or reading fails.
    fn fill(&mut self) {
        while self.len < self.buf.len() {
            match self
                .inner
                .read(self.buf.get_mut(self.len..).unwrap_or_default())
            {
                Ok(0) => {
                    self.eof = true;
                    return;
                }
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
    }

    /// The buffer holds the start of a line longer than itself: reads on to the line's end.
    fn skip_long_line(&mut self) -> Piece<'_> {
        let (line, offset) = (self.line, self.offset);
        let mut skipped = self.len as u64;
        self.len = 0;
        loop {
            self.fill();
            let held = self.buf.get(..self.len).unwrap_or_default();
            if let Some(end) = memchr::memchr(b'\n', held) {
                self.handed = end + 1;
                self.line += 1;
                self.offset += skipped + self.handed as u64;
                return Piece::TooLong { line, offset };
            }
            skipped += self.len as u64;
            self.len = 0;
            if let Some(error) = self.error.take() {
                self.done = true;
                let at = offset + skipped;
                return Piece::Failed {
                    error,
                    at,
                    partial: Some((line, offset)),
                };
            }
            if self.eof {
                self.done = true;
                return Piece::TooLong { line, offset };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `data` a few bytes at a time, then fails if asked to.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        fail: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() && self.fail {
                return Err(io::Error::other("boom"));
            }
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn all(data: &[u8], step: usize, fail: bool) -> Vec<String> {
        let reader = Trickle { data, step, fail };
        let mut windows = Windows::with_capacity(reader, 0);
        let mut out = Vec::new();
        loop {
            match windows.next() {
                Piece::Lines { text, line, offset } => {
                    let text = String::from_utf8_lossy(text);
                    out.push(format!("{line}@{offset}:{}", text.replace('\n', "|")));
                }
                Piece::TooLong { line, offset } => out.push(format!("{line}@{offset}:<long>")),
                Piece::Failed { at, partial, .. } => {
                    out.push(format!("failed at {at} in {partial:?}"));
                }
                Piece::End => return out,
            }
        }
    }

    #[test]
    fn lines_numbers_offsets_long_lines_and_failures() {
        let long = vec![b'x'; MAX_LINE + 5];
        let mut data = b"one\ntwo\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\nthree\nlast");
        let end = data.len();
        let at = 8 + long.len() + 1;
        let want = [
            "1@0:one|two|".to_owned(),
            "3@8:<long>".to_owned(),
            format!("4@{at}:three|"),
            format!("5@{}:last", at + 6),
        ];
        assert_eq!(all(&data, usize::MAX, false), want);
        let got = all(&data, 1000, true);
        assert_eq!(
            got.last(),
            Some(&format!("failed at {end} in Some((5, {}))", at + 6))
        );
        // A line of exactly MAX_LINE bytes is a line; a failure inside a long line names it.
        let mut exact = vec![b'y'; MAX_LINE];
        exact.push(b'\n');
        assert_eq!(all(&exact, 4096, false).len(), 1);
        let cut = &data[..8 + MAX_LINE + 2];
        assert_eq!(
            all(cut, 4096, true),
            [
                "1@0:one|two|".to_owned(),
                format!("failed at {} in Some((3, 8))", cut.len())
            ]
        );
        assert_eq!(all(b"", 1, false), Vec::<String>::new());
        assert_eq!(all(b"", 1, true), ["failed at 0 in None"]);
    }
}
