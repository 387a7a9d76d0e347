//! One open log file read line by line from an offset. Reads go through `pread` at our own
//! offset, so a file that shrank below it (copytruncate) is noticed instead of read blindly.
use std::{
    fs::{File, OpenOptions},
    io,
    ops::ControlFlow,
    os::unix::fs::{FileExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
};

use super::checkpoint::{Checkpoint, FileId, Fingerprint, read_full};

/// How much is read at once; the stop flag is checked between reads.
const CHUNK: usize = 64 * 1024;

/// What reading a file yields.
#[derive(Debug)]
pub enum Piece<'a> {
    /// A complete line without its newline, and the checkpoint just after it.
    Line(&'a [u8], Checkpoint),
    /// A line longer than the limit starts at `offset`; it is skipped up to its newline.
    TooLong { offset: u64 },
}

/// Why reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// At the end of the file.
    End,
    /// `out` broke, or the stop flag is set.
    Stopped,
    /// The file was truncated or rewritten: [`Tail::rewind`], then read again.
    Shrunk(Shrunk),
}

/// Why the file must be read again from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shrunk {
    /// The file is shorter than what was read (copytruncate).
    Size { size: u64 },
    /// The first line is not the one read before (truncated, then refilled past our offset).
    FirstLine,
}

#[derive(Debug)]
pub struct Tail {
    file: File,
    /// The name the file was opened under (it may have been renamed since).
    pub path: PathBuf,
    pub id: FileId,
    /// The end of the last complete line consumed: where a restart would resume.
    pub offset: u64,
    /// How far the file has been read: `offset` plus the partial line held.
    read_to: u64,
    /// The start of a line whose newline has not arrived yet.
    partial: Vec<u8>,
    /// An overlong line is being dropped up to its newline.
    skipping: bool,
    fingerprint: Option<Fingerprint>,
    max_line: usize,
}

impl Tail {
    /// Opens `path` to read from `offset`, which must be the start of a line. Only a regular
    /// file: the size of anything else says nothing about what was read.
    pub fn open(path: &Path, offset: u64, max_line: usize) -> io::Result<Self> {
        // Non-blocking, so that a FIFO at the path cannot hang the open.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let id = FileId::of(&meta);
        Ok(Self {
            file,
            path: path.to_owned(),
            id,
            offset,
            read_to: offset,
            partial: Vec::new(),
            skipping: false,
            fingerprint: None,
            max_line,
        })
    }

    /// The file already opened, to read from `offset` with a known fingerprint (a verified
    /// checkpoint).
    pub fn resume(mut self, offset: u64, fingerprint: Fingerprint) -> Self {
        self.offset = offset;
        self.read_to = offset;
        self.fingerprint = Some(fingerprint);
        self
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Bytes held of a line whose newline has not arrived.
    pub fn partial_len(&self) -> usize {
        self.partial.len()
    }

    /// Places the start just after the last newline (a fresh follower does not replay the
    /// file). A trailing line still being written is read once its newline arrives; one longer
    /// than the limit is skipped.
    pub fn start_at_end(&mut self) -> io::Result<()> {
        let size = self.size()?;
        let window = u64::try_from(self.max_line)
            .unwrap_or(u64::MAX)
            .saturating_add(1)
            .min(size);
        let from = size - window;
        let mut buf = vec![0u8; usize::try_from(window).unwrap_or(0)];
        let got = read_full(&self.file, &mut buf, from)?;
        let tail = buf.get(..got).unwrap_or_default();
        let (offset, skipping) = match tail.iter().rposition(|&b| b == b'\n') {
            Some(i) => (from + i as u64 + 1, false),
            None if from == 0 => (0, false),
            None => (size, true),
        };
        self.offset = offset;
        self.read_to = offset;
        self.skipping = skipping;
        Ok(())
    }

    /// Whether the file was truncated (shorter than `read_to`) or rewritten (another first
    /// line) under us.
    fn shrunk(&self, read_to: u64) -> io::Result<Option<Shrunk>> {
        let size = self.size()?;
        if size < read_to {
            return Ok(Some(Shrunk::Size { size }));
        }
        match &self.fingerprint {
            Some(fp) if !fp.matches(&self.file)? => Ok(Some(Shrunk::FirstLine)),
            _ => Ok(None),
        }
    }

    /// Starts over from the beginning of the same file. Returns the partial line dropped.
    pub fn rewind(&mut self) -> usize {
        let dropped = self.partial.len();
        self.offset = 0;
        self.read_to = 0;
        self.partial.clear();
        self.skipping = false;
        self.fingerprint = None;
        dropped
    }

    /// Reads what the file holds beyond our position, handing out each complete line. Stops
    /// at the end of the file, when `out` breaks, when `stop()` says so between reads, or when
    /// the file turns out truncated or rewritten.
    pub fn read_available(
        &mut self,
        out: &mut impl FnMut(Piece<'_>) -> ControlFlow<()>,
        stop: &impl Fn() -> bool,
    ) -> io::Result<Outcome> {
        if let Some(shrunk) = self.shrunk(self.read_to)? {
            return Ok(Outcome::Shrunk(shrunk));
        }
        let mut buf = vec![0u8; CHUNK];
        while !stop() {
            let start = self.read_to;
            let n = match self.file.read_at(&mut buf, start) {
                Ok(0) => return Ok(Outcome::End),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            if start == 0 && self.fingerprint.is_none() {
                // Of the bytes read, not of whatever the file holds a moment later.
                self.fingerprint = Fingerprint::of_head(chunk);
            }
            // The chunk is the file's only if the file was not truncated or rewritten under
            // the read; otherwise it may be the middle of other lines.
            if let Some(shrunk) = self.shrunk(start + n as u64)? {
                return Ok(Outcome::Shrunk(shrunk));
            }
            self.read_to += n as u64;
            if self.feed(chunk, start, out)?.is_break() {
                return Ok(Outcome::Stopped);
            }
        }
        Ok(Outcome::Stopped)
    }

    /// Splits `chunk` (which starts at file offset `at`) into lines.
    fn feed(
        &mut self,
        mut chunk: &[u8],
        mut at: u64,
        out: &mut impl FnMut(Piece<'_>) -> ControlFlow<()>,
    ) -> io::Result<ControlFlow<()>> {
        while let Some(newline) = chunk.iter().position(|&b| b == b'\n') {
            let (line, rest) = chunk.split_at(newline + 1);
            let end = at + line.len() as u64;
            let line = line.get(..newline).unwrap_or_default();
            let flow = if self.skipping {
                self.skipping = false;
                ControlFlow::Continue(())
            } else if self.partial.len() + line.len() > self.max_line {
                out(Piece::TooLong {
                    offset: self.offset,
                })
            } else {
                self.partial.extend_from_slice(line);
                let checkpoint = self.checkpoint_at(end)?;
                out(Piece::Line(&self.partial, checkpoint))
            };
            self.partial.clear();
            self.offset = end;
            if flow.is_break() {
                return Ok(flow);
            }
            chunk = rest;
            at = end;
        }
        if self.skipping || chunk.is_empty() {
            return Ok(ControlFlow::Continue(()));
        }
        if self.partial.len() + chunk.len() > self.max_line {
            // Too long already: drop it now rather than hold an unbounded line.
            self.partial.clear();
            self.skipping = true;
            return Ok(out(Piece::TooLong {
                offset: self.offset,
            }));
        }
        self.partial.extend_from_slice(chunk);
        Ok(ControlFlow::Continue(()))
    }

    fn checkpoint_at(&mut self, offset: u64) -> io::Result<Checkpoint> {
        if self.fingerprint.is_none() {
            // A complete line was read, so the first line is complete: `None` only if the file
            // was truncated meanwhile, which the next check notices.
            self.fingerprint = Fingerprint::of(&self.file)?;
        }
        let fingerprint = self.fingerprint.unwrap_or(Fingerprint::EMPTY);
        Ok(Checkpoint {
            dev: self.id.dev,
            inode: self.id.inode,
            offset,
            fingerprint,
        })
    }
}
