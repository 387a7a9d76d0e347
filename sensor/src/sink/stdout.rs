//! JSON Lines on stdout. A failed write is counted and logged, never a panic.
use tokio::{
    io::{AsyncWrite, AsyncWriteExt as _, BufWriter},
    sync::mpsc,
};
use tracing::error;

use std::path::{Path, PathBuf};

use crate::{record::Record, source::journald::Checkpoint};

/// What the sink did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SinkStats {
    pub written: u64,
    pub failed: u64,
}

/// Writes each record as one line, flushing whenever the queue is empty. Once a journal record
/// is flushed, its checkpoint is saved to `checkpoint_path`: a restart resumes after it.
pub async fn run<W: AsyncWrite + Unpin>(
    out: W,
    mut rx: mpsc::Receiver<Record>,
    checkpoint_path: Option<PathBuf>,
) -> SinkStats {
    let mut out = BufWriter::new(out);
    let mut stats = SinkStats::default();
    let mut line = Vec::with_capacity(1024);
    let mut pending: Option<Checkpoint> = None;
    while let Some(record) = rx.recv().await {
        let checkpoint = match &record {
            Record::Auth(a) => a.checkpoint.clone(),
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
                pending = checkpoint.or(pending);
                if rx.is_empty() {
                    save(pending.take(), checkpoint_path.as_deref());
                }
            }
            Err(e) => fail(&mut stats, &e),
        }
    }
    match out.flush().await {
        Ok(()) => save(pending, checkpoint_path.as_deref()),
        Err(e) => fail(&mut stats, &e),
    }
    stats
}

/// Saves the checkpoint of the last record written; a failure is logged and retried with the
/// next one (a restart would then repeat records, never lose them).
fn save(checkpoint: Option<Checkpoint>, path: Option<&Path>) {
    if let (Some(cp), Some(path)) = (checkpoint, path)
        && let Err(e) = cp.save(path)
    {
        error!(%e, "saving the journal checkpoint failed");
    }
}

fn fail(stats: &mut SinkStats, err: &std::io::Error) {
    stats.failed += 1;
    error!(%err, failed = stats.failed, "writing a record to stdout failed");
}
