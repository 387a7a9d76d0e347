//! `.evtx` files replayed through [`crate::windows::evtx`], which parses them in a child
//! process with a memory and CPU limit (the `evtx` crate is not hardened against malformed
//! files): a file that makes it crash is reported, and the other inputs are still read.
//!
//! The parser seeks, so stdin (or an input in memory) is first copied to a temporary file.
use std::{
    io::{self, BufRead},
    path::{Path, PathBuf},
};

use super::{Ctx, Input, Stop, error::ErrorKind};
use crate::windows::{self, EvtxError};

pub(super) fn replay(
    input: &Input,
    reader: Box<dyn BufRead>,
    ctx: &mut Ctx<'_, '_>,
) -> Result<(), Stop> {
    let spooled;
    let path: &Path = match input {
        Input::File(path) if !ctx.decompressed => path,
        _ => match Spooled::new(reader) {
            Ok(s) => {
                spooled = s;
                &spooled.0
            }
            Err(e) => {
                let at = ctx.at(None, None);
                ctx.error(at, ErrorKind::Read(e));
                return Ok(());
            }
        },
    };
    let mut stopped: Option<Stop> = None;
    let mut problems = Vec::new();
    let result = windows::evtx::read(
        path,
        &mut |event| {
            if stopped.is_none()
                && let Err(stop) = ctx.record(&event)
            {
                stopped = Some(stop);
            }
        },
        &mut |problem| problems.push(problem),
    );
    for problem in problems {
        let at = ctx.at(None, None);
        ctx.error(
            at,
            ErrorKind::Evtx(format!(
                "after {} records: {}",
                problem.after, problem.message
            )),
        );
    }
    match result {
        Ok(stats) => ctx.account.read += stats.records + stats.bad_records,
        Err(e) => {
            if let EvtxError::Died { records, .. } = &e {
                ctx.account.read += records;
            }
            let at = ctx.at(None, None);
            ctx.error(at, ErrorKind::Evtx(e.to_string()));
        }
    }
    match stopped {
        Some(stop) => Err(stop),
        None => Ok(()),
    }
}

/// A temporary copy of a stream, removed on drop.
struct Spooled(PathBuf);

impl Spooled {
    fn new(mut reader: Box<dyn BufRead>) -> io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = std::env::temp_dir().join(format!(
            "sensor-replay-{}-{}.evtx",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let spooled = Self(path);
        io::copy(&mut reader, &mut file)?;
        Ok(spooled)
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
