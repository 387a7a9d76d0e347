//! The log half of `sensor run`: one log source (the journal, or auth.log where there is no
//! journal) followed on its own thread (both block), and the normalize stage that turns what it
//! reads into records for the sink.
use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::{
    metrics::Metrics,
    normalize,
    parse::ClassicZone,
    record::{AuthLogGapFields, EventMeta, GapFields, HealthFields, HealthRecord, Record},
    source::{
        authlog::{self, AuthLogMessage, FollowOptions, LineNormalizer},
        journald::{
            self,
            live::{self, JournalMessage, LiveOptions},
        },
    },
    time,
};

/// Where sshd's login records are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// The systemd journal (live, through sd-journal).
    Journald,
    /// A syslog file such as /var/log/auth.log, followed through rotation.
    AuthLog(PathBuf),
}

/// journald's socket: where there is one, there is a journal to follow.
const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";

impl LogSource {
    /// The journal where journald runs, otherwise `auth_log`.
    pub fn detect(auth_log: PathBuf) -> Self {
        if Path::new(JOURNALD_SOCKET).exists() {
            Self::Journald
        } else {
            Self::AuthLog(auth_log)
        }
    }
}

/// How long starting waits for the log source to be positioned.
const READY: Duration = Duration::from_secs(10);

/// How often a blocked follower wakes to see whether it should stop.
const POLL: Duration = Duration::from_millis(250);

/// A running log stage.
pub struct LogStage {
    stop: Arc<AtomicBool>,
    follower: Option<std::thread::JoinHandle<()>>,
    normalize: tokio::task::JoinHandle<()>,
}

impl LogStage {
    /// Starts following `source`; records go to `records`. Resume points are read from (and
    /// saved by the sink to) `state_dir`.
    pub fn spawn(
        source: LogSource,
        state_dir: &Path,
        sshd_exes: Vec<PathBuf>,
        records: mpsc::Sender<Record>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (ready_tx, ready) = std::sync::mpsc::sync_channel(1);
        let stage = match source {
            LogSource::Journald => {
                let (tx, rx) = mpsc::channel(1024);
                let options = LiveOptions {
                    checkpoint: state_dir.join(journald::CHECKPOINT_FILE),
                    poll: POLL,
                    ready: Some(ready_tx),
                };
                let follower = spawn_thread("journald", move || {
                    info!("following the journal for sshd records");
                    live::follow(&options, &tx, &flag).map_err(|e| e.to_string())
                });
                let normalize = tokio::spawn(journal_records(rx, records, sshd_exes));
                Self {
                    stop,
                    follower,
                    normalize,
                }
            }
            LogSource::AuthLog(path) => {
                let (tx, rx) = mpsc::channel(1024);
                let mut options =
                    FollowOptions::new(path.clone(), state_dir.join(authlog::CHECKPOINT_FILE));
                options.ready = Some(ready_tx);
                let follower = spawn_thread("auth-log", move || {
                    info!(path = %path.display(), "following the auth log for sshd records");
                    authlog::follow(&options, &tx, &flag).map_err(|e| e.to_string())
                });
                let normalize = tokio::spawn(auth_log_records(rx, records, metrics));
                Self {
                    stop,
                    follower,
                    normalize,
                }
            }
        };
        // Returns once the source reads from where it will go on (so a record written after
        // this is never missed), or after [`READY`] with a warning.
        if tokio::task::block_in_place(|| ready.recv_timeout(READY)).is_err() {
            warn!("the log source is not positioned after {READY:?}: going on without waiting");
        }
        stage
    }

    /// Stops the follower (it wakes within the poll interval) and drains the normalize stage.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(follower) = self.follower.take() {
            let _ = tokio::task::spawn_blocking(move || follower.join()).await;
        }
        let _ = self.normalize.await;
    }
}

fn spawn_thread(
    name: &'static str,
    body: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            if let Err(e) = body() {
                error!(source = name, %e, "the log source stopped: no more login records");
            }
        })
        .map_err(|e| error!(source = name, %e, "cannot start the log source thread"))
        .ok()
}

async fn journal_records(
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
            } => health(
                EventMeta::JOURNAL_GAP,
                HealthFields::JournalGap(GapFields {
                    journal_cursor_lost: cursor,
                    journal_resumed_after_us: since_us,
                }),
            ),
        };
        if records.send(record).await.is_err() {
            break;
        }
    }
}

async fn auth_log_records(
    mut rx: mpsc::Receiver<AuthLogMessage>,
    records: mpsc::Sender<Record>,
    metrics: Arc<Metrics>,
) {
    let mut normalizer = LineNormalizer::new(ClassicZone::System);
    let mut malformed: u64 = 0;
    while let Some(msg) = rx.recv().await {
        let record = match msg {
            AuthLogMessage::Line(line) => match normalizer.record(&line) {
                Ok(Some(auth)) => Record::Auth(Box::new(auth)),
                Ok(None) => continue,
                Err(e) => {
                    malformed += 1;
                    metrics.parse_errors.with("auth-log").inc();
                    warn!(%e, malformed, "an auth log line is not a syslog line: skipped");
                    continue;
                }
            },
            // The follower logs every notice; the ones that may have lost lines also go out.
            AuthLogMessage::Notice(notice) if notice.may_have_lost_lines() => health(
                EventMeta::AUTH_LOG_GAP,
                HealthFields::AuthLogGap(AuthLogGapFields {
                    auth_log_notice: notice.to_string(),
                }),
            ),
            AuthLogMessage::Notice(_) => continue,
        };
        if records.send(record).await.is_err() {
            break;
        }
    }
}

fn health(event: EventMeta, sensor: HealthFields) -> Record {
    Record::Health(HealthRecord {
        timestamp: time::rfc3339(std::time::SystemTime::now()),
        event,
        sensor,
    })
}
