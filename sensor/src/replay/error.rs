//! What can go wrong with one input, and where in it.
use std::{fmt, io};

use thiserror::Error;

use super::{export::ExportError, gate::GateError};
use crate::parse::LineError;

/// One problem with one input: the input's name, where in it, and what.
#[derive(Debug, Error)]
#[error("{file}: {at}{kind}")]
pub struct ReplayError {
    /// The input as named on the command line (`-` is shown as `<stdin>`).
    pub file: String,
    pub at: At,
    pub kind: ErrorKind,
}

/// Where in an input a problem is. Offsets are 0-based bytes of the input as read: for a gzip
/// input, of the decompressed stream (and said so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At {
    /// 1-based line (auth.log, JSON), or the line an export entry starts on.
    pub line: Option<u64>,
    pub offset: Option<u64>,
    pub decompressed: bool,
}

impl At {
    pub const NOWHERE: Self = Self {
        line: None,
        offset: None,
        decompressed: false,
    };
}

impl fmt::Display for At {
    /// `line 3 (byte 120): `, `byte 4096: `, `line 3 (decompressed byte 120): `, or nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let byte = if self.decompressed {
            "decompressed byte"
        } else {
            "byte"
        };
        match (self.line, self.offset) {
            (Some(line), Some(offset)) => write!(f, "line {line} ({byte} {offset}): "),
            (Some(line), None) => write!(f, "line {line}: "),
            (None, Some(offset)) => write!(f, "{byte} {offset}: "),
            (None, None) => Ok(()),
        }
    }
}

#[derive(Debug, Error)]
pub enum ErrorKind {
    /// The input could not be opened (exit code 66).
    #[error("cannot open: {0}")]
    Open(#[source] io::Error),
    /// The input is a directory (exit code 66).
    #[error("is a directory, not a log")]
    Directory,
    /// Reading failed part-way; what came before was replayed.
    #[error("read failed: {0}; what came before was replayed")]
    Read(#[source] io::Error),
    /// A gzip input ends early or fails its checksum; what was decoded before was replayed.
    #[error("gzip stream broken ({0}); what was decoded before it was replayed")]
    Gzip(#[source] io::Error),
    /// The input broke off inside this line, which was skipped.
    #[error("the input breaks off inside this line; line skipped")]
    Incomplete,
    #[error("line longer than {max} bytes; skipped")]
    LineTooLong { max: usize },
    #[error("NUL byte at byte {column} of the line; line skipped")]
    Nul { column: usize },
    /// A run of NUL bytes before the line (the hole a crash leaves in a log file), dropped;
    /// the rest of the line was read.
    #[error("{count} NUL bytes before the line (a hole left by a crash?) dropped; rest read")]
    NulHole { count: usize },
    /// Bytes that are not UTF-8 in the message, read as U+FFFD (sshd itself escapes them).
    #[error("invalid UTF-8 at byte {column} of the line, read as U+FFFD")]
    NotUtf8 { column: usize },
    #[error("not a syslog line ({0}); skipped")]
    Syslog(#[source] LineError),
    #[error("not a JSON object ({0}); skipped")]
    Json(#[source] serde_json::Error),
    #[error("valid JSON but not an object; skipped")]
    NotAnObject,
    #[error("not a Winlogbeat event ({0}); skipped")]
    Winlogbeat(#[source] crate::windows::ndjson::LineErrorKind),
    /// The `.evtx` reader (in its child process) stopped or skipped records.
    #[error("{0}")]
    Evtx(String),
    #[error("{0}; entry skipped")]
    Export(#[source] ExportError),
    #[error("{0}")]
    Journal(#[source] GateError),
    /// The journal file reader stopped before the end of the file's objects for a reason of
    /// its own (or panicked: see `journal_file`).
    #[error("the journal reader stopped early: {0}")]
    JournalReader(String),
}

impl ErrorKind {
    /// Whether the input could not be read at all (exit code 66 rather than 65).
    pub fn is_no_input(&self) -> bool {
        matches!(self, Self::Open(_) | Self::Directory)
    }
}

/// Writing the records failed (not the inputs' fault): the replay stops.
#[derive(Debug, Error)]
#[error("writing the records: {0}")]
pub struct OutputError(#[source] pub io::Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_place() {
        let e = ReplayError {
            file: "auth.log.2.gz".into(),
            at: At {
                line: Some(3),
                offset: Some(120),
                decompressed: true,
            },
            kind: ErrorKind::Nul { column: 7 },
        };
        assert_eq!(
            e.to_string(),
            "auth.log.2.gz: line 3 (decompressed byte 120): NUL byte at byte 7 of the line; line skipped"
        );
        let e = ReplayError {
            file: "x".into(),
            at: At::NOWHERE,
            kind: ErrorKind::Directory,
        };
        assert_eq!(e.to_string(), "x: is a directory, not a log");
    }
}
