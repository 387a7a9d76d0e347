//! inotify as a doorbell: the directory (files created, renamed, deleted) and each file being
//! read (written, truncated, moved). Events only wake the follower, which then looks at the
//! files themselves: a missed or coalesced event (queue overflow, a rotation between two
//! reads) costs latency, never lines, because the follower also looks on every poll timeout.
use std::{
    fs::File,
    io,
    os::fd::{AsFd as _, AsRawFd as _},
    path::Path,
    time::Duration,
};

use inotify::{Inotify, WatchDescriptor, WatchMask};
use tracing::debug;

/// Room for a batch of events (each at most 16 bytes plus a file name of up to 255 bytes).
const EVENT_BUFFER: usize = 16 * 1024;

pub struct Watcher {
    inotify: Inotify,
    buffer: Vec<u8>,
}

impl Watcher {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            inotify: Inotify::init()?,
            buffer: vec![0; EVENT_BUFFER],
        })
    }

    /// Watches the directory holding the log for the names in it changing.
    pub fn watch_dir(&mut self, dir: &Path) -> io::Result<()> {
        let mask = WatchMask::CREATE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::DELETE
            | WatchMask::ONLYDIR;
        self.inotify.watches().add(dir, mask).map(drop)
    }

    /// Watches an open file, whatever its name now, for writes, truncation, moves and removal.
    /// A failure is logged and tolerated: the poll timeout still notices changes.
    pub fn watch_file(&mut self, file: &File, name: &Path) -> Option<WatchDescriptor> {
        // The open descriptor's /proc link names exactly this inode, even if it was renamed.
        let by_fd = format!("/proc/self/fd/{}", file.as_fd().as_raw_fd());
        self.add(Path::new(&by_fd))
            .or_else(|_| self.add(name))
            .map_err(|e| debug!(path = %name.display(), %e, "cannot watch the file; polling it"))
            .ok()
    }

    /// Watches the file now at `path` (not opened yet) for writes.
    pub fn watch_path(&mut self, path: &Path) -> Option<WatchDescriptor> {
        self.add(path)
            .map_err(|e| debug!(path = %path.display(), %e, "cannot watch the file; polling it"))
            .ok()
    }

    fn add(&mut self, target: &Path) -> io::Result<WatchDescriptor> {
        let mask = WatchMask::MODIFY | WatchMask::MOVE_SELF | WatchMask::DELETE_SELF;
        self.inotify.watches().add(target, mask)
    }

    /// Stops watching a file (already gone if the file was deleted: that is fine).
    pub fn unwatch(&mut self, wd: WatchDescriptor) {
        if let Err(e) = self.inotify.watches().remove(wd) {
            debug!(%e, "removing a file watch");
        }
    }

    /// Waits until something happened or `timeout` passed, and discards the events.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<()> {
        let mut pollfd = libc::pollfd {
            fd: self.inotify.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `pollfd` is one valid, initialised entry and the count says so.
        let rc = unsafe { libc::poll(&mut pollfd, 1, millis) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        loop {
            match self.inotify.read_events(&mut self.buffer) {
                Ok(events) => events.for_each(drop),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
