//! The journal half of `sensor run`: the live journald source on its own thread (sd-journal
//! blocks), and the normalize stage that turns its entries into auth records for the sink.
use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::mpsc;
use tracing::{error, info};

use crate::{
    normalize,
    record::{EventMeta, GapFields, HealthFields, HealthRecord, Record},
    source::journald::live::{self, JournalMessage, LiveOptions},
    time,
};

/// A running journal stage.
pub struct JournalStage {
    stop: Arc<AtomicBool>,
    follower: Option<std::thread::JoinHandle<()>>,
    normalize: tokio::task::JoinHandle<()>,
}

/// Starts following the journal; records go to `records`.
pub fn spawn(
    checkpoint: &Path,
    sshd_exes: Vec<PathBuf>,
    records: mpsc::Sender<Record>,
) -> JournalStage {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel(1024);
    let options = LiveOptions {
        checkpoint: checkpoint.to_owned(),
        poll: Duration::from_millis(250),
    };
    let flag = Arc::clone(&stop);
    let follower = std::thread::Builder::new()
        .name("journald".into())
        .spawn(move || {
            info!("following the journal for sshd records");
            if let Err(e) = live::follow(&options, &tx, &flag) {
                error!(%e, "the journal source stopped: no more login records");
            }
        })
        .map_err(|e| error!(%e, "cannot start the journal source thread"))
        .ok();
    let normalize = tokio::spawn(normalize_stage(rx, records, sshd_exes));
    JournalStage {
        stop,
        follower,
        normalize,
    }
}

impl JournalStage {
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(follower) = self.follower.take() {
            // The follower wakes at least every poll interval to see the flag.
            let _ = tokio::task::spawn_blocking(move || follower.join()).await;
        }
        let _ = self.normalize.await;
    }
}

async fn normalize_stage(
    mut rx: mpsc::Receiver<JournalMessage>,
    records: mpsc::Sender<Record>,
    sshd_exes: Vec<PathBuf>,
) {
    while let Some(msg) = rx.recv().await {
        let record = match msg {
            JournalMessage::Entry(entry) => match normalize::journal_auth(&entry, &sshd_exes) {
                Some(auth) => Record::Auth(Box::new(auth)),
                None => continue,
            },
            JournalMessage::Gap {
                cursor, since_us, ..
            } => Record::Health(HealthRecord {
                timestamp: time::rfc3339(std::time::SystemTime::now()),
                event: EventMeta::JOURNAL_GAP,
                sensor: HealthFields::JournalGap(GapFields {
                    journal_cursor_lost: cursor,
                    journal_resumed_after_us: since_us,
                }),
            }),
        };
        if records.send(record).await.is_err() {
            break;
        }
    }
}
