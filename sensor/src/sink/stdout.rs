//! The sink stage: each record as one JSON line to stdout, to a file, and (alerts only) to
//! journald, whichever are configured. A failed write is counted and logged, never a panic;
//! once a log record is written its source's resume point is saved, so a restart resumes after
//! it; an alert whose id was already written (a record read again after a crash) is dropped.
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use tokio::{
    io::{AsyncWrite, AsyncWriteExt as _, BufWriter},
    sync::mpsc,
};
use tracing::{error, warn};

use super::{dedup::Dedup, file::FileSink, journald::JournaldSink};
use crate::{metrics::Metrics, record::Record, source::Resume};

/// What the sink did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SinkStats {
    pub written: u64,
    pub failed: u64,
}

/// Where records go.
pub struct Outputs<W> {
    /// stdout (or any writer, in tests); `None` when switched off.
    pub stdout: Option<W>,
    pub file: Option<FileSink>,
    /// Alerts only.
    pub journald: Option<JournaldSink>,
}

/// What the sink is told besides records.
#[derive(Debug)]
pub enum SinkControl {
    /// SIGUSR1: reopen the file (logrotate moved it).
    Reopen,
}

/// Writes each record, flushing stdout whenever the queue is empty, until `rx` closes.
pub async fn run<W: AsyncWrite + Unpin>(
    outputs: Outputs<W>,
    mut rx: mpsc::Receiver<Record>,
    mut control: mpsc::Receiver<SinkControl>,
    state_dir: Option<PathBuf>,
    metrics: Arc<Metrics>,
) -> SinkStats {
    let Outputs {
        stdout,
        mut file,
        mut journald,
    } = outputs;
    let mut stdout = stdout.map(BufWriter::new);
    let mut dedup = state_dir.as_deref().map(Dedup::load);
    let mut stats = SinkStats::default();
    let mut line = Vec::with_capacity(1024);
    // The latest written resume point of each source, until the next flush.
    let mut pending: BTreeMap<&'static str, Resume> = BTreeMap::new();
    loop {
        let record = tokio::select! {
            record = rx.recv() => match record {
                Some(record) => record,
                None => break,
            },
            Some(SinkControl::Reopen) = control.recv() => {
                if let Some(file) = file.as_mut()
                    && let Err(e) = file.reopen()
                {
                    error!(%e, "reopening the alert file failed: still writing to the old one");
                }
                continue;
            }
        };
        if let Record::Alert(alert) = &record {
            if dedup
                .as_mut()
                .is_some_and(|d| !d.first(&alert.sensor.alert.id))
            {
                warn!(id = %alert.sensor.alert.id, rule = %alert.rule.id, "alert already written before a restart: dropped");
                continue;
            }
            metrics.alerts.with(&alert.rule.id).inc();
            if let Some(lag) = lag(&alert.timestamp) {
                metrics.alert_lag.observe(lag);
            }
        }
        let resume = match &record {
            Record::Auth(a) => a.resume.clone(),
            _ => None,
        };
        line.clear();
        if let Err(e) = serde_json::to_writer(&mut line, &record) {
            fail(&mut stats, &metrics, "serialise", &std::io::Error::other(e));
            continue;
        }
        line.push(b'\n');
        let mut ok = true;
        if let Some(out) = stdout.as_mut() {
            let written = match out.write_all(&line).await {
                Ok(()) if rx.is_empty() => out.flush().await,
                other => other,
            };
            if let Err(e) = written {
                ok = false;
                fail(&mut stats, &metrics, "stdout", &e);
            }
        }
        if let Some(file) = file.as_mut()
            && !tokio::task::block_in_place(|| file.write_line(&line))
        {
            ok = false;
            metrics.sink_write_failures.with("file").inc();
        }
        if let (Some(journald), Record::Alert(alert)) = (journald.as_mut(), &record) {
            let message = alert_message(alert);
            let sent = serde_json::to_value(alert.as_ref())
                .map(|value| tokio::task::block_in_place(|| journald.send(&value, &message)));
            if !matches!(sent, Ok(true)) {
                metrics.sink_write_failures.with("journald").inc();
            }
        }
        if ok {
            stats.written += 1;
            if let Some(resume) = resume {
                pending.insert(resume.kind(), resume);
            }
            if rx.is_empty() {
                save(&mut pending, state_dir.as_deref());
            }
        }
    }
    if let Some(out) = stdout.as_mut()
        && let Err(e) = out.flush().await
    {
        fail(&mut stats, &metrics, "stdout", &e);
    }
    save(&mut pending, state_dir.as_deref());
    stats
}

/// `Lateral Movement (T1021: Remote Services): alice from 10.0.0.2 (password)`.
fn alert_message(alert: &crate::detect::Alert) -> String {
    let text = |key: &str, field: &str| {
        alert
            .context
            .get(key)
            .and_then(|v| v.get(field))
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| Some(v.to_string()))
            })
    };
    let mut message = alert.rule.name.clone();
    if let Some(user) = text("user", "name") {
        message.push_str(&format!(": {user}"));
    }
    if let Some(ip) = text("source", "ip") {
        message.push_str(&format!(" from {ip}"));
    }
    if let Some(method) = text("ssh", "method") {
        message.push_str(&format!(" ({method})"));
    }
    message
}

/// From the event's time to now.
fn lag(timestamp: &str) -> Option<std::time::Duration> {
    let at = chrono::DateTime::parse_from_rfc3339(timestamp).ok()?;
    (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
        .to_std()
        .ok()
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

fn fail(stats: &mut SinkStats, metrics: &Metrics, sink: &'static str, err: &std::io::Error) {
    stats.failed += 1;
    metrics.sink_write_failures.with(sink).inc();
    error!(%err, failed = stats.failed, sink, "writing a record failed");
}
