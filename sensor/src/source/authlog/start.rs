//! Where to start reading, from the checkpoint and the files as they are now.
//!
//! - No checkpoint: at the end of the file (a fresh daemon does not replay history).
//! - The file at the path is the checkpoint's (same inode, same first line, long enough):
//!   resume at the offset.
//! - Otherwise the file was rotated or truncated while the sensor was stopped. The rest of the
//!   checkpoint's file is looked for beside it: the same inode (renamed, logrotate's default)
//!   or, failing that, a copy with the same first line (copytruncate). If found, it is read from
//!   the offset to its end first; the follower then moves on to the file at the path, from its
//!   start, as after a live rotation. Rotated files written after it (two rotations while
//!   stopped) are reported, not read. If the rest is not found, the file at the path is read
//!   from its start and the possible loss is reported.
use std::{
    fs, io,
    path::{Path, PathBuf},
    time::SystemTime,
};

use super::{
    Invalid, Notice,
    checkpoint::{Checkpoint, FileId},
    tail::Tail,
};

/// How many directory entries are examined for a rotated file at most.
const MAX_SIBLINGS: usize = 1024;

/// The file to read first (`None`: wait for the path to appear) and what to report.
pub struct Start {
    pub tail: Option<Tail>,
    pub notices: Vec<Notice>,
}

pub fn start(path: &Path, checkpoint: Option<&Checkpoint>, max_line: usize) -> io::Result<Start> {
    let current = match Tail::open(path, 0, max_line) {
        Ok(tail) => Some(tail),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let Some(cp) = checkpoint else {
        return Ok(match current {
            Some(mut tail) => {
                tail.start_at_end()?;
                let notice = Notice::StartedAtEnd {
                    path: path.to_owned(),
                    offset: tail.offset,
                };
                one(Some(tail), notice)
            }
            None => one(
                None,
                Notice::Waiting {
                    path: path.to_owned(),
                },
            ),
        });
    };
    let problem = match &current {
        None => Invalid::Missing,
        Some(tail) => match verdict(tail, cp)? {
            None => {
                let offset = cp.offset;
                let notice = Notice::Resumed {
                    path: path.to_owned(),
                    offset,
                };
                let tail = current.map(|t| t.resume(offset, cp.fingerprint));
                return Ok(one(tail, notice));
            }
            Some(problem) => problem,
        },
    };
    if let Some(found) = find_rest(path, cp, current.as_ref().map(|t| t.id), max_line)? {
        let mut notices = vec![Notice::FinishingRotated {
            rotated: found.rest.path.clone(),
            offset: cp.offset,
            reason: problem,
        }];
        if !found.newer.is_empty() {
            notices.push(Notice::RotatedUnread { paths: found.newer });
        }
        return Ok(Start {
            tail: Some(found.rest),
            notices,
        });
    }
    let notice = Notice::CheckpointInvalid {
        path: path.to_owned(),
        reason: problem,
    };
    Ok(one(current, notice))
}

fn one(tail: Option<Tail>, notice: Notice) -> Start {
    Start {
        tail,
        notices: vec![notice],
    }
}

/// What is wrong with resuming `tail` at the checkpoint, if anything.
fn verdict(tail: &Tail, cp: &Checkpoint) -> io::Result<Option<Invalid>> {
    // The device number is not compared: some filesystems renumber theirs across reboots,
    // and the inode together with the first line already names the file.
    if tail.id.inode != cp.inode {
        return Ok(Some(Invalid::Replaced { inode: cp.inode }));
    }
    let size = tail.size()?;
    if size < cp.offset {
        return Ok(Some(Invalid::Shrunk {
            size,
            offset: cp.offset,
        }));
    }
    if !cp.fingerprint.matches(tail.file())? {
        return Ok(Some(Invalid::FirstLineChanged));
    }
    Ok(None)
}

/// The rest of the checkpoint's file, and the rotated files written after it.
struct Found {
    rest: Tail,
    /// Rotated files modified after the rest: rotated more than once while stopped. Not read
    /// (they may be compressed, or not rotations at all), only reported.
    newer: Vec<PathBuf>,
}

/// The checkpoint's file beside `path` under another name (`auth.log.1`, `auth.log-20260101`):
/// by inode first, else a copy by first line; either must reach the offset.
fn find_rest(
    path: &Path,
    cp: &Checkpoint,
    current: Option<FileId>,
    max_line: usize,
) -> io::Result<Option<Found>> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(None);
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.as_encoded_bytes();
    let mut candidates: Vec<(PathBuf, SystemTime)> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .take(MAX_SIBLINGS)
        .filter(|entry| {
            let other = entry.file_name();
            let suffix = other.as_encoded_bytes().strip_prefix(name);
            matches!(suffix, Some([b'.' | b'-', _, ..]))
        })
        .filter_map(|entry| {
            let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
            Some((entry.path(), modified))
        })
        .collect();
    // `auth.log.1` before `auth.log.2.gz`: the newest rotation is the likeliest.
    candidates.sort();
    let mut rest = None;
    for (candidate, _) in &candidates {
        let Ok(tail) = Tail::open(candidate, 0, max_line) else {
            continue;
        };
        if Some(tail.id) == current
            || tail.size()? < cp.offset
            || !cp.fingerprint.matches(tail.file())?
        {
            continue;
        }
        let by_inode = tail.id.inode == cp.inode;
        if by_inode || rest.is_none() {
            rest = Some(tail);
        }
        if by_inode {
            break;
        }
    }
    let Some(rest) = rest else {
        return Ok(None);
    };
    let written = rest.file().metadata()?.modified()?;
    let newer = candidates
        .into_iter()
        // At or after: timestamps are coarse (a few milliseconds on ext4).
        .filter(|(candidate, modified)| *modified >= written && *candidate != rest.path)
        .map(|(candidate, _)| candidate)
        .collect();
    Ok(Some(Found {
        rest: rest.resume(cp.offset, cp.fingerprint),
        newer,
    }))
}
