//! Following the log file live.
//!
//! Each round reads the current file to its end, then looks at what the path names now:
//!
//! - the same file: nothing to do; a file shorter than what was read, or whose first line
//!   changed (copytruncate), is read again from its start;
//! - no file (renamed away, not yet re-created): keep reading the old one, the writer may
//!   still be writing to it;
//! - another file, still empty: keep reading the old one (logrotate creates the new file
//!   before the writer is told to reopen; until then lines still land in the old one);
//! - another file with data: the writer has moved over, so whatever it wrote to the old one
//!   is there by now: read the old file to its end, then the new one from its start.
//!
//! Rounds are driven by inotify (writes to the file, names changing in its directory) and by a
//! poll timeout, so the stop flag is honoured and a missed event only costs latency.
use std::{
    fs, io,
    ops::ControlFlow,
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use inotify::WatchDescriptor;
use tokio::sync::mpsc;

use super::{
    AuthLogMessage, Line, Notice,
    checkpoint::{Checkpoint, FileId},
    start,
    tail::{Outcome, Piece, Tail},
    watch::Watcher,
};

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("starting inotify to follow {path}: {source}")]
    Inotify {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("watching the directory {path}: {source}")]
    WatchDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("finding where to start reading {path}: {source}")]
    Start {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("opening {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading {path} at offset {offset}: {source}")]
    Read {
        path: PathBuf,
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("looking at {path}: {source}")]
    Stat {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("waiting for changes to {path}: {source}")]
    Wait {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// The log file (`/var/log/auth.log`).
    pub path: PathBuf,
    /// Where the checkpoint of the last line sent downstream is kept.
    pub checkpoint: PathBuf,
    /// How long one wait for inotify may block before the stop flag is checked and the path
    /// looked at again.
    pub poll: Duration,
    /// Lines longer than this (without the newline) are skipped and reported.
    pub max_line: usize,
    /// Told once the file is open and positioned: lines appended after that are read.
    pub ready: Option<std::sync::mpsc::SyncSender<()>>,
}

impl FollowOptions {
    pub const DEFAULT_POLL: Duration = Duration::from_millis(250);
    pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

    pub fn new(path: PathBuf, checkpoint: PathBuf) -> Self {
        Self {
            path,
            checkpoint,
            poll: Self::DEFAULT_POLL,
            max_line: Self::DEFAULT_MAX_LINE,
            ready: None,
        }
    }
}

/// Follows the file until `stop` is set or the receiver goes away. Blocking: run it on its own
/// thread.
pub fn follow(
    options: &FollowOptions,
    tx: &mpsc::Sender<AuthLogMessage>,
    stop: &AtomicBool,
) -> Result<(), FollowError> {
    let path = &options.path;
    let mut watcher = Watcher::new().map_err(|source| FollowError::Inotify {
        path: path.clone(),
        source,
    })?;
    // The directory first: a rotation while starting is then not missed.
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    watcher
        .watch_dir(dir)
        .map_err(|source| FollowError::WatchDir {
            path: dir.to_owned(),
            source,
        })?;
    let checkpoint = Checkpoint::load(&options.checkpoint);
    let start = start::start(path, checkpoint.as_ref(), options.max_line).map_err(|source| {
        FollowError::Start {
            path: path.clone(),
            source,
        }
    })?;
    if let Some(ready) = &options.ready {
        let _ = ready.try_send(());
    }
    let mut follower = Follower {
        options,
        tx,
        stop,
        watcher,
        tail: None,
        next: None,
    };
    for notice in start.notices {
        if follower.notify(notice).is_break() {
            return Ok(());
        }
    }
    if let Some(tail) = start.tail {
        follower.switch(tail);
    }
    while !stop.load(Ordering::Relaxed) {
        if follower.round()?.is_break() {
            return Ok(());
        }
        follower
            .watcher
            .wait(options.poll)
            .map_err(|source| FollowError::Wait {
                path: path.clone(),
                source,
            })?;
    }
    Ok(())
}

struct Follower<'a> {
    options: &'a FollowOptions,
    tx: &'a mpsc::Sender<AuthLogMessage>,
    stop: &'a AtomicBool,
    watcher: Watcher,
    /// The file being read and its watch.
    tail: Option<(Tail, Option<WatchDescriptor>)>,
    /// A new, still empty file at the path, watched until the writer moves over to it.
    next: Option<(FileId, Option<WatchDescriptor>)>,
}

impl Follower<'_> {
    /// Reads what there is to read and follows the path to its current file.
    fn round(&mut self) -> Result<ControlFlow<()>, FollowError> {
        loop {
            if self.read_current()?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
            let path = &self.options.path;
            let meta = match fs::metadata(path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Ok(ControlFlow::Continue(()));
                }
                Err(source) => {
                    return Err(FollowError::Stat {
                        path: path.clone(),
                        source,
                    });
                }
            };
            let id = FileId::of(&meta);
            match &self.tail {
                Some((tail, _)) if tail.id == id => {
                    self.forget_next(Some(id));
                    return Ok(ControlFlow::Continue(()));
                }
                Some(_) if meta.len() == 0 => {
                    self.watch_next(id);
                    return Ok(ControlFlow::Continue(()));
                }
                _ => {}
            }
            // The writer moved over: what it wrote to the old file is there by now.
            if self.read_current()?.is_break() || self.drop_partial().is_break() {
                return Ok(ControlFlow::Break(()));
            }
            let new = match Tail::open(path, 0, self.options.max_line) {
                Ok(new) => new,
                // Renamed away again since: the next round looks again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Ok(ControlFlow::Continue(()));
                }
                Err(source) => {
                    return Err(FollowError::Open {
                        path: path.clone(),
                        source,
                    });
                }
            };
            let notice = match &self.tail {
                Some((old, _)) => Notice::Rotated {
                    path: path.clone(),
                    previous_inode: old.id.inode,
                    previous_offset: old.offset,
                },
                None => Notice::Appeared { path: path.clone() },
            };
            if self.notify(notice).is_break() {
                return Ok(ControlFlow::Break(()));
            }
            self.switch(new);
        }
    }

    /// Reads the current file to its end, from its start again if it was truncated.
    fn read_current(&mut self) -> Result<ControlFlow<()>, FollowError> {
        let (tx, limit, stop) = (self.tx, self.options.max_line, self.stop);
        loop {
            let Some((tail, _)) = &mut self.tail else {
                return Ok(ControlFlow::Continue(()));
            };
            let path = tail.path.clone();
            let mut out = |piece: Piece<'_>| {
                let message = match piece {
                    Piece::Line(bytes, checkpoint) => AuthLogMessage::Line(Line {
                        bytes: bytes.to_vec(),
                        checkpoint,
                    }),
                    Piece::TooLong { offset } => {
                        let notice = Notice::LineTooLong {
                            path: path.clone(),
                            offset,
                            limit,
                        };
                        notice.log();
                        AuthLogMessage::Notice(notice)
                    }
                };
                send(tx, message)
            };
            let outcome = tail
                .read_available(&mut out, &|| stop.load(Ordering::Relaxed))
                .map_err(|source| FollowError::Read {
                    path: tail.path.clone(),
                    offset: tail.offset,
                    source,
                })?;
            let reason = match outcome {
                Outcome::End => return Ok(ControlFlow::Continue(())),
                Outcome::Stopped => return Ok(ControlFlow::Break(())),
                Outcome::Shrunk(reason) => reason,
            };
            let offset = tail.offset;
            let dropped = tail.rewind();
            let partial = (dropped > 0).then(|| Notice::PartialDropped {
                path: path.clone(),
                offset,
                len: dropped,
            });
            let truncated = Notice::Truncated {
                path,
                offset,
                reason,
            };
            for notice in partial.into_iter().chain([truncated]) {
                if self.notify(notice).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
    }

    /// Reports a line left without its newline in the file being left behind.
    fn drop_partial(&mut self) -> ControlFlow<()> {
        match &self.tail {
            Some((tail, _)) if tail.partial_len() > 0 => {
                let notice = Notice::PartialDropped {
                    path: tail.path.clone(),
                    offset: tail.offset,
                    len: tail.partial_len(),
                };
                self.notify(notice)
            }
            _ => ControlFlow::Continue(()),
        }
    }

    /// Makes `new` the file being read, and watches it instead of the old one.
    fn switch(&mut self, new: Tail) {
        if let Some((_, Some(wd))) = self.tail.take() {
            self.watcher.unwatch(wd);
        }
        // Watching the same inode again yields the same descriptor: keep it.
        self.forget_next(Some(new.id));
        let wd = self.watcher.watch_file(new.file(), &new.path);
        self.tail = Some((new, wd));
    }

    /// Watches the empty file now at the path, so its first line wakes the follower.
    fn watch_next(&mut self, id: FileId) {
        if matches!(&self.next, Some((next, _)) if *next == id) {
            return;
        }
        self.forget_next(None);
        let wd = self.watcher.watch_path(&self.options.path);
        self.next = Some((id, wd));
    }

    /// Stops watching the pending new file, unless it is `keep`.
    fn forget_next(&mut self, keep: Option<FileId>) {
        if let Some((id, Some(wd))) = self.next.take()
            && Some(id) != keep
        {
            self.watcher.unwatch(wd);
        }
    }

    fn notify(&self, notice: Notice) -> ControlFlow<()> {
        notice.log();
        send(self.tx, AuthLogMessage::Notice(notice))
    }
}

/// Sends downstream, waiting while the channel is full; breaks when the receiver is gone.
fn send(tx: &mpsc::Sender<AuthLogMessage>, message: AuthLogMessage) -> ControlFlow<()> {
    match tx.blocking_send(message) {
        Ok(()) => ControlFlow::Continue(()),
        Err(_) => ControlFlow::Break(()),
    }
}
