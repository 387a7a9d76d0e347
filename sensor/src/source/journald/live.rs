//! Following the local journal through libsystemd's sd-journal, for entries that claim to be
//! sshd's (by `SYSLOG_IDENTIFIER` or `_COMM`; the trust check decides later whether they are).
//!
//! Where to start comes from a [`Checkpoint`]: the cursor of the last entry that went
//! downstream. A cursor the journal no longer knows (vacuumed, rotated away) falls back to the
//! first entry after the checkpoint's time, and the gap is reported, never skipped silently.
//! Without a checkpoint, following starts at the end of the journal.
use std::{
    path::PathBuf,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use systemd::journal::{Journal, OpenOptions};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::{checkpoint::Checkpoint, entry::JournalEntry};

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("opening the system journal: {0}")]
    Open(#[source] std::io::Error),
    #[error("journal {action}: {source}")]
    Journal {
        action: &'static str,
        source: std::io::Error,
    },
}

/// What the follower sends downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalMessage {
    Entry(Box<JournalEntry>),
    /// The saved cursor was no longer in the journal: entries between it and `resumed_at_us`
    /// may have been lost.
    Gap {
        cursor: String,
        since_us: u64,
        resumed_at_us: Option<u64>,
    },
}

#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Where the cursor of the last entry sent downstream is kept.
    pub checkpoint: PathBuf,
    /// How long one wait for new entries may block before the stop flag is checked again.
    pub poll: Duration,
    /// Told once the journal is open and positioned: entries written after that are read.
    pub ready: Option<std::sync::mpsc::SyncSender<()>>,
}

/// Follows the journal until `stop` is set or the receiver goes away. Blocking: run it on its
/// own thread.
pub fn follow(
    options: &LiveOptions,
    tx: &mpsc::Sender<JournalMessage>,
    stop: &AtomicBool,
) -> Result<(), LiveError> {
    let mut journal = OpenOptions::default()
        .system(true)
        .local_only(true)
        .open()
        .map_err(LiveError::Open)?;
    add_sshd_matches(&mut journal)?;
    let checkpoint = Checkpoint::load(&options.checkpoint);
    let gap = position(&mut journal, checkpoint.as_ref())?;
    if let Some(ready) = &options.ready {
        let _ = ready.try_send(());
    }
    if let Some(gap) = gap {
        warn!(cursor = %gap.0, "the saved journal cursor is gone (vacuumed or rotated); resuming by time");
        let msg = JournalMessage::Gap {
            cursor: gap.0,
            since_us: gap.1,
            resumed_at_us: None,
        };
        if tx.blocking_send(msg).is_err() {
            return Ok(());
        }
    }
    while !stop.load(Ordering::Relaxed) {
        let advanced = journal.next().map_err(|source| LiveError::Journal {
            action: "next",
            source,
        })?;
        if advanced == 0 {
            journal
                .wait(Some(options.poll))
                .map_err(|source| LiveError::Journal {
                    action: "wait",
                    source,
                })?;
            continue;
        }
        let entry = read_entry(&mut journal)?;
        if tx
            .blocking_send(JournalMessage::Entry(Box::new(entry)))
            .is_err()
        {
            break;
        }
    }
    Ok(())
}

/// `SYSLOG_IDENTIFIER` ∈ sshd family, or `_COMM` ∈ sshd family.
fn add_sshd_matches(journal: &mut Journal) -> Result<(), LiveError> {
    let err = |source| LiveError::Journal {
        action: "adding matches",
        source,
    };
    for (i, field) in ["SYSLOG_IDENTIFIER", "_COMM"].into_iter().enumerate() {
        if i > 0 {
            journal.match_or().map_err(err)?;
        }
        for name in sensor_common::SSHD_FAMILY {
            journal.match_add(field, name).map_err(err)?;
        }
    }
    Ok(())
}

/// Places the journal just before the first entry to read. Returns the lost cursor and its time
/// when the checkpoint's cursor is gone.
fn position(
    journal: &mut Journal,
    checkpoint: Option<&Checkpoint>,
) -> Result<Option<(String, u64)>, LiveError> {
    let err = |action| move |source| LiveError::Journal { action, source };
    let Some(cp) = checkpoint else {
        journal.seek_tail().map_err(err("seeking the tail"))?;
        // After seeking the tail, step back onto the last entry so `next` yields only new ones.
        journal.previous().map_err(err("stepping back"))?;
        return Ok(None);
    };
    // A cursor sd-journal cannot parse (a damaged state file) is as gone as a vacuumed one.
    let found = journal.seek_cursor(cp.cursor.as_str()).is_ok()
        && journal.next().map_err(err("next"))? > 0
        && journal.test_cursor(cp.cursor.as_str()).unwrap_or(false);
    if found {
        debug!(cursor = %cp.cursor, "resuming after the saved cursor");
        return Ok(None);
    }
    journal
        .seek_realtime_usec(cp.realtime_us + 1)
        .map_err(err("seeking by time"))?;
    Ok(Some((cp.cursor.clone(), cp.realtime_us)))
}

fn read_entry(journal: &mut Journal) -> Result<JournalEntry, LiveError> {
    let err = |action| move |source| LiveError::Journal { action, source };
    let mut fields: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    journal.restart_data();
    while let Some(field) = journal.enumerate_data().map_err(err("reading fields"))? {
        fields.push((
            field.name().to_vec(),
            field.value().unwrap_or_default().to_vec(),
        ));
    }
    let mut entry =
        JournalEntry::from_fields(fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
    entry.cursor = Some(journal.cursor().map_err(err("reading the cursor"))?);
    entry.realtime_us = Some(journal.timestamp_usec().map_err(err("reading the time"))?);
    Ok(entry)
}
