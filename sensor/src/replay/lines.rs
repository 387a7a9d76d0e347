//! Lines of a text input (auth.log, `journalctl -o json`), with bounded memory: a line is
//! handed out straight from the read buffer when it fits there, else gathered in a buffer of at
//! most [`MAX_LINE`] bytes; a longer line is skipped and reported.
use std::io::{self, BufRead};

/// The longest line read; longer ones are skipped.
pub const MAX_LINE: usize = 1 << 20;

/// The next thing in the input. `line` is 1-based, `offset` the byte the line starts at.
#[derive(Debug)]
pub enum Next<'a> {
    /// A line, without its `\n` (a final line without one is a line too).
    Line {
        text: &'a [u8],
        line: u64,
        offset: u64,
    },
    TooLong {
        line: u64,
        offset: u64,
    },
    /// Reading failed at byte `at`; `partial` is the line it broke off inside (that line is
    /// lost). Nothing follows.
    Failed {
        error: io::Error,
        at: u64,
        partial: Option<(u64, u64)>,
    },
    End,
}

/// Reads lines, numbering them from 1 and tracking their byte offsets.
#[derive(Debug)]
pub struct Lines<R> {
    inner: R,
    /// Bytes of the last line handed out from `inner`'s buffer, consumed on the next call.
    pending: usize,
    long: Vec<u8>,
    /// Number of the last line started.
    line: u64,
    /// Offset of the next unread byte.
    next_offset: u64,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            pending: 0,
            long: Vec::new(),
            line: 0,
            next_offset: 0,
            done: false,
        }
    }

    pub fn next_line(&mut self) -> Next<'_> {
        self.inner.consume(std::mem::take(&mut self.pending));
        if self.done {
            return Next::End;
        }
        let offset = self.next_offset;
        let line = self.line + 1;
        // Fast path: the whole line is in the read buffer, handed out without a copy.
        let whole = match self.inner.fill_buf() {
            Ok(buf) => memchr::memchr(b'\n', buf).filter(|&end| end <= MAX_LINE),
            Err(_) => None,
        };
        if let Some(end) = whole {
            // The second `fill_buf` returns the same buffered bytes without reading.
            return match self.inner.fill_buf() {
                Ok(buf) => {
                    self.line = line;
                    self.next_offset += end as u64 + 1;
                    self.pending = end + 1;
                    Next::Line {
                        text: buf.get(..end).unwrap_or_default(),
                        line,
                        offset,
                    }
                }
                Err(error) => {
                    self.done = true;
                    Next::Failed {
                        error,
                        at: offset,
                        partial: None,
                    }
                }
            };
        }
        self.gather(line, offset)
    }

    /// The slow path: a line that spans reads, gathered in `long`.
    fn gather(&mut self, line: u64, offset: u64) -> Next<'_> {
        self.long.clear();
        let mut started = false;
        let mut too_long = false;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.done = true;
                    return Next::Failed {
                        error,
                        at: self.next_offset,
                        partial: started.then_some((line, offset)),
                    };
                }
            };
            let newline = memchr::memchr(b'\n', buf);
            let end = newline.unwrap_or(buf.len());
            let used = end + usize::from(newline.is_some());
            if !buf.is_empty() {
                started = true;
                let chunk = buf.get(..end).unwrap_or_default();
                if !too_long && self.long.len() + chunk.len() <= MAX_LINE {
                    self.long.extend_from_slice(chunk);
                } else {
                    too_long = true;
                    self.long.clear();
                }
                self.inner.consume(used);
                self.next_offset += used as u64;
            } else {
                self.done = true;
            }
            if newline.is_some() || self.done {
                if !started {
                    return Next::End;
                }
                self.line = line;
                return if too_long {
                    Next::TooLong { line, offset }
                } else {
                    Next::Line {
                        text: &self.long,
                        line,
                        offset,
                    }
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], capacity: usize) -> Vec<String> {
        let mut lines = Lines::new(io::BufReader::with_capacity(capacity, input));
        let mut out = Vec::new();
        loop {
            out.push(match lines.next_line() {
                Next::Line { text, line, offset } => {
                    format!("{line}@{offset}:{}", String::from_utf8_lossy(text))
                }
                Next::TooLong { line, offset } => format!("{line}@{offset}:<too long>"),
                Next::Failed { at, .. } => format!("failed at {at}"),
                Next::End => break,
            });
        }
        out
    }

    #[test]
    fn lines_split_across_small_buffers_keep_numbers_and_offsets() {
        let input = b"one\ntwo two\n\nlast";
        let want = ["1@0:one", "2@4:two two", "3@12:", "4@13:last"];
        for capacity in [1, 2, 3, 5, 64] {
            assert_eq!(all(input, capacity), want, "capacity {capacity}");
        }
    }

    #[test]
    fn an_overlong_line_is_skipped_and_the_next_one_read() {
        let mut input = vec![b'x'; MAX_LINE + 1];
        input.extend_from_slice(b"\nnext\n");
        let got = all(&input, 64 * 1024);
        assert_eq!(
            got,
            [
                "1@0:<too long>",
                format!("2@{}:next", MAX_LINE + 2).as_str()
            ]
        );
        // Exactly MAX_LINE bytes is still a line.
        let mut input = vec![b'y'; MAX_LINE];
        input.push(b'\n');
        let mut lines = Lines::new(io::BufReader::new(&input[..]));
        assert!(matches!(lines.next_line(), Next::Line { text, .. } if text.len() == MAX_LINE));
    }
}
