//! sshd's records from a syslog file (`/var/log/auth.log`), for hosts where the journal is not
//! there or not kept: the fallback log source.
//!
//! [`follow::follow`] tails the file live with inotify, through rotation (rename + create, and
//! copytruncate), and hands out each complete line with the [`Checkpoint`] just after it; the
//! sink saves that checkpoint (through [`Resume::AuthLog`](super::Resume::AuthLog)) once the
//! line's record is written, so a restart resumes after the last line that went downstream:
//! nothing lost, nothing repeated. Everything else that happens to the file (rotation,
//! truncation, a checkpoint that no longer fits) is a [`Notice`], sent down the same channel.
//! [`LineNormalizer`] turns a line into an auth record.
pub mod checkpoint;
pub mod follow;
mod normalizer;
mod start;
mod tail;
mod watch;

#[cfg(test)]
mod tests;

use std::{fmt, path::PathBuf};

use tracing::{info, warn};

pub use checkpoint::{Checkpoint, CheckpointError, Fingerprint};
pub use follow::{FollowError, FollowOptions, follow};
pub use normalizer::LineNormalizer;
pub use tail::Shrunk;

/// File of the state directory holding the auth.log checkpoint.
pub const CHECKPOINT_FILE: &str = "authlog.offset";

/// The `sensor.log_source` of records from this source.
pub const LOG_SOURCE: &str = "auth-log";

/// What the follower sends downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthLogMessage {
    Line(Line),
    Notice(Notice),
}

/// One complete line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's bytes without its newline.
    pub bytes: Vec<u8>,
    /// Just after this line: saved once its record is written, it means "this line and every
    /// line before it are done".
    pub checkpoint: Checkpoint,
}

/// Why the checkpoint could not be resumed from as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// No file at the path.
    Missing,
    /// Another file is at the path (rotated while the sensor was stopped).
    Replaced { inode: u64 },
    /// The same file, shorter than the checkpoint's offset (copytruncate while stopped).
    Shrunk { size: u64, offset: u64 },
    /// The same inode with another first line (truncated and refilled, or the inode reused).
    FirstLineChanged,
}

/// Something that happened to the file, other than a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// No checkpoint: reading starts at the end of the file; earlier lines are history.
    StartedAtEnd { path: PathBuf, offset: u64 },
    /// No checkpoint and no file yet: it is read from its start once it appears.
    Waiting { path: PathBuf },
    /// Resuming where the checkpoint said.
    Resumed { path: PathBuf, offset: u64 },
    /// The checkpoint's file was rotated while the sensor was stopped and was found under
    /// another name: it is read from the offset to its end, then the file at the path from
    /// its start.
    FinishingRotated {
        rotated: PathBuf,
        offset: u64,
        reason: Invalid,
    },
    /// Rotated files written after the checkpoint's (rotated more than once while the sensor
    /// was stopped): not read, their lines may be lost.
    RotatedUnread { paths: Vec<PathBuf> },
    /// The checkpoint does not fit and the rest of its file was not found: the file at `path`
    /// is read from its start (once it exists). Lines after the checkpoint may be lost.
    CheckpointInvalid { path: PathBuf, reason: Invalid },
    /// The file was rotated: the old one was read to its end, the new one is read from its
    /// start.
    Rotated {
        path: PathBuf,
        previous_inode: u64,
        previous_offset: u64,
    },
    /// The file appeared at the path: read from its start.
    Appeared { path: PathBuf },
    /// The file shrank below what was read, or its first line changed (copytruncate): read
    /// again from its start. Lines written between the copy and the truncation are lost.
    Truncated {
        path: PathBuf,
        offset: u64,
        reason: Shrunk,
    },
    /// A line longer than the limit, starting at `offset`, was skipped.
    LineTooLong {
        path: PathBuf,
        offset: u64,
        limit: usize,
    },
    /// The end of a file left behind (rotated or truncated) held `len` bytes without a
    /// newline, from `offset`: not a complete line, dropped.
    PartialDropped {
        path: PathBuf,
        offset: u64,
        len: usize,
    },
}

impl Notice {
    /// Whether lines may have been lost (worth a warning and a health record).
    pub fn may_have_lost_lines(&self) -> bool {
        matches!(
            self,
            Self::CheckpointInvalid { .. }
                | Self::RotatedUnread { .. }
                | Self::Truncated { .. }
                | Self::LineTooLong { .. }
                | Self::PartialDropped { .. }
        )
    }

    /// Logs the notice: a warning if lines may have been lost.
    pub fn log(&self) {
        if self.may_have_lost_lines() {
            warn!("{self}");
        } else {
            info!("{self}");
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("the file is missing"),
            Self::Replaced { inode } => write!(f, "another file replaced inode {inode}"),
            Self::Shrunk { size, offset } => {
                write!(f, "the file is {size} bytes, shorter than offset {offset}")
            }
            Self::FirstLineChanged => f.write_str("its first line changed"),
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StartedAtEnd { path, offset } => write!(
                f,
                "{}: no checkpoint, following from the end (offset {offset})",
                path.display()
            ),
            Self::Waiting { path } => write!(f, "{}: no such file yet, waiting", path.display()),
            Self::Resumed { path, offset } => {
                write!(f, "{}: resuming at offset {offset}", path.display())
            }
            Self::FinishingRotated {
                rotated,
                offset,
                reason,
            } => write!(
                f,
                "checkpoint's file rotated while stopped ({reason}): finishing {} from offset {offset}",
                rotated.display()
            ),
            Self::RotatedUnread { paths } => {
                f.write_str("rotated more than once while stopped; not read, lines may be lost:")?;
                paths.iter().try_for_each(|p| write!(f, " {}", p.display()))
            }
            Self::CheckpointInvalid { path, reason } => write!(
                f,
                "{}: checkpoint invalid ({reason}) and its file not found: reading from the start; lines may be lost",
                path.display()
            ),
            Self::Rotated {
                path,
                previous_inode,
                previous_offset,
            } => write!(
                f,
                "{}: rotated; finished the old file (inode {previous_inode}) at offset {previous_offset}, reading the new one from the start",
                path.display()
            ),
            Self::Appeared { path } => {
                write!(f, "{}: appeared, reading from the start", path.display())
            }
            Self::Truncated {
                path,
                offset,
                reason,
            } => {
                let why = match reason {
                    Shrunk::Size { size } => format!("shrank to {size} bytes"),
                    Shrunk::FirstLine => "its first line changed".to_owned(),
                };
                write!(
                    f,
                    "{}: truncated at offset {offset} ({why}): reading again from the start",
                    path.display()
                )
            }
            Self::LineTooLong {
                path,
                offset,
                limit,
            } => write!(
                f,
                "{}: line at offset {offset} longer than {limit} bytes, skipped",
                path.display()
            ),
            Self::PartialDropped { path, offset, len } => write!(
                f,
                "{}: {len} bytes at offset {offset} never got their newline, dropped",
                path.display()
            ),
        }
    }
}
