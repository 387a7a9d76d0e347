//! JSON Lines on stdout. A failed write is counted and logged, never a panic.
use tokio::{
    io::{AsyncWrite, AsyncWriteExt as _, BufWriter},
    sync::mpsc,
};
use tracing::error;

use crate::record::Record;

/// What the sink did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SinkStats {
    pub written: u64,
    pub failed: u64,
}

/// Writes each record as one line, flushing whenever the queue is empty.
pub async fn run<W: AsyncWrite + Unpin>(out: W, mut rx: mpsc::Receiver<Record>) -> SinkStats {
    let mut out = BufWriter::new(out);
    let mut stats = SinkStats::default();
    let mut line = Vec::with_capacity(1024);
    while let Some(record) = rx.recv().await {
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
            Ok(()) => stats.written += 1,
            Err(e) => fail(&mut stats, &e),
        }
    }
    if let Err(e) = out.flush().await {
        fail(&mut stats, &e);
    }
    stats
}

fn fail(stats: &mut SinkStats, err: &std::io::Error) {
    stats.failed += 1;
    error!(%err, failed = stats.failed, "writing a record to stdout failed");
}
