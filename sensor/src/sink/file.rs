//! JSON Lines appended to a file, reopened on request for logrotate.
//!
//! The file is opened `O_APPEND` (created 0640, less the umask, if absent), so each line lands at
//! the end even when something else appends too, and each line goes out in one `write(2)`. The
//! sink does not buffer: a line is in the kernel's page cache when [`FileSink::write_line`]
//! returns, so a crash of the sensor loses nothing already written. That costs one system call
//! per record, which is nothing at alert rates.
//!
//! Rotation: logrotate renames the file, then `postrotate` sends SIGUSR1; the daemon calls
//! [`FileSink::reopen`], which opens (creates) the path again. Lines written between the rename
//! and the signal go to the renamed file, so none are lost.
//!
//! A failed write is counted ([`FileSink::stats`]) and logged with `tracing`, never a panic and
//! never silent. The log is throttled to the 1st, 2nd, 4th, 8th, … failure in a row of the same
//! file (a full disk would otherwise log once per record); each log line carries the total. A
//! line cut short by a failure is closed by the next successful write, so a reader sees one
//! invalid line, not two records run together.
//!
//! The calls block (a local file). Call them from the sink's task: a regular file write does
//! not wait on anything but the disk.
use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
};

use tracing::{error, info};

use super::stdout::SinkStats;

/// The mode a new file is created with (before the umask).
pub const FILE_MODE: u32 = 0o640;

/// Opening the file failed.
#[derive(Debug, thiserror::Error)]
#[error("opening the alert file {path} for appending: {source}")]
pub struct OpenError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// An open JSON Lines file.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: File,
    stats: SinkStats,
    /// Failures since the last successful write (for throttling the log).
    failing: u64,
    /// The last write stopped partway through a line.
    torn: bool,
    buf: Vec<u8>,
}

impl FileSink {
    /// Opens `path` for appending, creating it (mode [`FILE_MODE`]) if absent. The directory
    /// must exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, OpenError> {
        let path = path.into();
        let file = open_append(&path)?;
        Ok(Self {
            path,
            file,
            stats: SinkStats::default(),
            failing: 0,
            torn: false,
            buf: Vec::with_capacity(1024),
        })
    }

    /// The path this sink writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines written and failed so far.
    pub fn stats(&self) -> SinkStats {
        self.stats
    }

    /// Appends one record: `line` is one serialised JSON document; a trailing `\n` is added if
    /// it has none. Returns whether it was written; a failure is already counted and logged.
    pub fn write_line(&mut self, line: &[u8]) -> bool {
        self.buf.clear();
        if self.torn {
            self.buf.push(b'\n');
        }
        self.buf.extend_from_slice(line);
        if line.last() != Some(&b'\n') {
            self.buf.push(b'\n');
        }
        match write_once(&mut self.file, &self.buf) {
            Ok(()) => {
                self.stats.written += 1;
                if self.failing > 0 {
                    info!(
                        path = %self.path.display(),
                        failed_in_a_row = self.failing,
                        "writing to the alert file works again"
                    );
                }
                self.failing = 0;
                self.torn = false;
                true
            }
            Err((written, err)) => {
                // Part of this line is in the file: the next write starts with a newline. If
                // only the newline closing an earlier torn line went out, that one is closed.
                let prefix = usize::from(self.torn);
                if written > 0 {
                    self.torn = written > prefix;
                }
                self.stats.failed += 1;
                self.failing += 1;
                if self.failing.is_power_of_two() {
                    error!(
                        path = %self.path.display(),
                        %err,
                        failed = self.stats.failed,
                        in_a_row = self.failing,
                        "writing an alert to the file failed"
                    );
                }
                false
            }
        }
    }

    /// Opens the path again (after logrotate renamed the file), creating it if absent. On
    /// failure the old file stays in use, so records still land somewhere, and the error is
    /// returned for the caller to log.
    pub fn reopen(&mut self) -> Result<(), OpenError> {
        let file = open_append(&self.path)?;
        self.file = file;
        self.torn = false;
        info!(path = %self.path.display(), "reopened the alert file");
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, OpenError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|source| OpenError {
            path: path.to_owned(),
            source,
        })
}

/// Writes all of `buf`; on failure, says how many bytes went out before it.
fn write_once(file: &mut impl io::Write, buf: &[u8]) -> Result<(), (usize, io::Error)> {
    let mut done = 0;
    while done < buf.len() {
        match file.write(&buf[done..]) {
            Ok(0) => return Err((done, io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((done, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    use super::*;

    #[test]
    fn appends_lines_to_a_new_file_created_0640() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        std::fs::write(&path, b"{\"old\":1}\n").unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut sink = FileSink::open(&path).unwrap();
        assert!(sink.write_line(br#"{"a":1}"#));
        assert!(sink.write_line(b"{\"b\":2}\n"));
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !FILE_MODE, 0, "mode {mode:o} is wider than 0640");
        assert_eq!(
            mode & 0o600,
            0o600,
            "mode {mode:o}: the owner must read and write"
        );
        assert_eq!(
            sink.stats(),
            SinkStats {
                written: 2,
                failed: 0
            }
        );

        // An existing file is appended to, never truncated.
        drop(sink);
        let mut again = FileSink::open(&path).unwrap();
        assert!(again.write_line(br#"{"c":3}"#));
        assert_eq!(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .collect::<Vec<_>>(),
            [r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c":3}"#]
        );
    }

    #[test]
    fn reopen_after_a_rename_creates_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let rotated = dir.path().join("alerts.jsonl.1");
        let mut sink = FileSink::open(&path).unwrap();
        assert!(sink.write_line(b"1"));
        std::fs::rename(&path, &rotated).unwrap();
        // Before the signal, lines follow the renamed file.
        assert!(sink.write_line(b"2"));
        sink.reopen().unwrap();
        assert!(sink.write_line(b"3"));
        assert_eq!(std::fs::read(&rotated).unwrap(), b"1\n2\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"3\n");
        assert_ne!(
            std::fs::metadata(&path).unwrap().ino(),
            std::fs::metadata(&rotated).unwrap().ino()
        );
    }

    #[test]
    fn reopen_failure_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("logs");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("alerts.jsonl");
        let mut sink = FileSink::open(&path).unwrap();
        let moved = dir.path().join("moved");
        std::fs::rename(&sub, &moved).unwrap();
        let err = sink.reopen().unwrap_err();
        assert_eq!(err.path, path);
        assert!(err.to_string().contains("alerts.jsonl"), "{err}");
        assert!(sink.write_line(b"still here"));
        assert_eq!(
            std::fs::read(moved.join("alerts.jsonl")).unwrap(),
            b"still here\n"
        );
    }

    #[test]
    fn a_failed_write_is_counted_not_fatal() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let mut sink = FileSink::open("/dev/full").unwrap();
        for _ in 0..3 {
            assert!(!sink.write_line(br#"{"a":1}"#));
        }
        assert_eq!(
            sink.stats(),
            SinkStats {
                written: 0,
                failed: 3
            }
        );
        assert_eq!(sink.failing, 3);
    }

    /// Takes `room` bytes, then fails.
    struct Cramped {
        room: usize,
        got: Vec<u8>,
    }

    impl io::Write for Cramped {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::StorageFull.into());
            }
            let n = buf.len().min(self.room).min(2);
            self.room -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_short_write_says_how_much_went_out() {
        let mut w = Cramped {
            room: 5,
            got: Vec::new(),
        };
        let (written, err) = write_once(&mut w, b"abcdefgh").unwrap_err();
        assert_eq!((written, err.kind()), (5, io::ErrorKind::StorageFull));
        assert_eq!(w.got, b"abcde");
        let mut w = Cramped {
            room: 8,
            got: Vec::new(),
        };
        assert!(write_once(&mut w, b"abcdefgh").is_ok());
        assert_eq!(w.got, b"abcdefgh");
    }

    #[test]
    fn open_names_the_path_it_failed_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir/alerts.jsonl");
        let err = FileSink::open(&path).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::NotFound);
        assert!(
            err.to_string().contains("missing-dir/alerts.jsonl"),
            "{err}"
        );
    }
}
