//! JSON Lines on stdout. A failed write is counted and logged, never a panic.
use tokio::{
    io::{AsyncWrite, AsyncWriteExt as _, BufWriter},
    sync::mpsc,
};
use tracing::error;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use crate::{record::Record, source::Resume};

/// What the sink did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SinkStats {
    pub written: u64,
    pub failed: u64,
}

/// Writes each record as one line, flushing whenever the queue is empty. Once a log record is
/// flushed, its source's resume point is saved in `state_dir`: a restart resumes after it.
pub async fn run<W: AsyncWrite + Unpin>(
    out: W,
    mut rx: mpsc::Receiver<Record>,
    state_dir: Option<PathBuf>,
) -> SinkStats {
    let mut out = BufWriter::new(out);
    let mut stats = SinkStats::default();
    let mut line = Vec::with_capacity(1024);
    // The latest written resume point of each source, until the next flush.
    let mut pending: BTreeMap<&'static str, Resume> = BTreeMap::new();
    while let Some(record) = rx.recv().await {
        let resume = match &record {
            Record::Auth(a) => a.resume.clone(),
            _ => None,
        };
        line.clear();
        let result = match serde_json::to_writer(&mut line, &record) {
            Ok(()) => {
                line.push(b'\n');
                match out.write_all(&line).await {
                    Ok(()) if rx.is_empty() => out.flush().await,
                    other => other,
                }
            }
            Err(e) => Err(std::io::Error::other(e)),
        };
        match result {
            Ok(()) => {
                stats.written += 1;
                if let Some(resume) = resume {
                    pending.insert(resume.kind(), resume);
                }
                if rx.is_empty() {
                    save(&mut pending, state_dir.as_deref());
                }
            }
            Err(e) => fail(&mut stats, &e),
        }
    }
    match out.flush().await {
        Ok(()) => save(&mut pending, state_dir.as_deref()),
        Err(e) => fail(&mut stats, &e),
    }
    stats
}

/// Saves the resume points of the records written; a failure is logged and retried with the
/// next record (a restart would then repeat records, never lose them).
fn save(pending: &mut BTreeMap<&'static str, Resume>, state_dir: Option<&Path>) {
    let Some(dir) = state_dir else {
        pending.clear();
        return;
    };
    for (kind, resume) in std::mem::take(pending) {
        if let Err(e) = resume.save(dir) {
            error!(%e, source = kind, "saving the resume point failed");
        }
    }
}

fn fail(stats: &mut SinkStats, err: &std::io::Error) {
    stats.failed += 1;
    error!(%err, failed = stats.failed, "writing a record to stdout failed");
}
