//! Finding (and if need be mounting) tracefs, where tracepoint formats live.
use std::{
    ffi::CString,
    path::{Path, PathBuf},
};

/// Where tracefs is, and whether this process had to mount it.
#[derive(Debug, Clone)]
pub struct Tracefs {
    pub path: PathBuf,
    pub mounted_now: bool,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "tracefs is not mounted and mounting it at {path} failed: {source} (try `mount -t tracefs tracefs {path}`)"
)]
pub struct TracefsError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

const CANDIDATES: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// Returns the tracefs mount, mounting it at `/sys/kernel/tracing` when no candidate has events.
pub fn find_or_mount() -> Result<Tracefs, TracefsError> {
    if let Some(path) = CANDIDATES.iter().map(Path::new).find(|p| has_events(p)) {
        return Ok(Tracefs {
            path: path.to_owned(),
            mounted_now: false,
        });
    }
    let target = CANDIDATES[0];
    mount_tracefs(target).map_err(|source| TracefsError {
        path: target.to_owned(),
        source,
    })?;
    Ok(Tracefs {
        path: PathBuf::from(target),
        mounted_now: true,
    })
}

fn has_events(path: &Path) -> bool {
    path.join("events/sched/sched_process_exec/format").exists()
}

fn mount_tracefs(target: &str) -> std::io::Result<()> {
    let c = |s: &str| CString::new(s).expect("static strings have no NUL");
    let (source, target, fstype) = (c("tracefs"), c(target), c("tracefs"));
    // SAFETY: all pointers are valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
