//! The stateful stage: an actor that owns the process table, applies kernel events to it, and
//! turns what changed into output records.
pub mod detector;
pub mod process_table;

use tokio::sync::mpsc;
use tracing::debug;

use crate::{
    record::{
        Audit, EventMeta, HealthFields, HealthRecord, Ids, LossFields, ProcessFields,
        ProcessRecord, Record, Related,
    },
    source::ebpf::TracerMessage,
    time::WallClock,
};
pub use process_table::{Change, Limits, ProcKey, Process, ProcessTable};

/// How often exited processes are evicted, in events.
const EVICT_EVERY: u64 = 1024;

pub struct Correlator {
    pub table: ProcessTable,
    clock: WallClock,
    seen: u64,
}

impl Correlator {
    pub fn clock(&self) -> &WallClock {
        &self.clock
    }

    pub fn new(table: ProcessTable, clock: WallClock) -> Self {
        Self {
            table,
            clock,
            seen: 0,
        }
    }

    /// Handles one message from the kernel source.
    pub fn handle(&mut self, msg: &TracerMessage) -> Option<Record> {
        match msg {
            TracerMessage::Lost { lost, total } => Some(Record::Health(HealthRecord {
                timestamp: self.clock.rfc3339(crate::time::boot_ns()),
                event: EventMeta::LOSS,
                sensor: HealthFields::Loss(LossFields {
                    events_lost: *lost,
                    events_lost_total: *total,
                }),
            })),
            TracerMessage::Event(event) => {
                self.seen += 1;
                if self.seen.is_multiple_of(EVICT_EVERY) {
                    let evicted = self.table.evict(event.common().ktime_ns);
                    debug!(evicted, kept = self.table.len(), "evicted exited processes");
                }
                let change = self.table.apply(event)?;
                self.record(change, event.common().ktime_ns)
            }
        }
    }

    /// Runs until the input closes.
    pub async fn run(mut self, mut rx: mpsc::Receiver<TracerMessage>, tx: mpsc::Sender<Record>) {
        while let Some(msg) = rx.recv().await {
            if let Some(record) = self.handle(&msg)
                && tx.send(record).await.is_err()
            {
                break;
            }
        }
    }

    /// The record of what `change` did, at `ktime_ns`.
    pub fn record(&self, change: Change, ktime_ns: u64) -> Option<Record> {
        let (key, action, kind_of): (_, _, &'static [&'static str]) = match change {
            Change::Exec(k) => (k, "exec", &["start"]),
            Change::Exit(k) => (k, "end", &["end"]),
        };
        let p = self.table.get(&key)?;
        let related =
            |k: Option<ProcKey>| k.and_then(|k| self.table.get(&k)).map(|r| self.related(r));
        Some(Record::Process(Box::new(ProcessRecord {
            timestamp: self.clock.rfc3339(ktime_ns),
            event: EventMeta::process(action, kind_of),
            process: ProcessFields {
                entity_id: p.key.to_string(),
                pid: p.key.tgid,
                name: p.comm.clone(),
                executable: p.executable.clone(),
                args: p.args.clone(),
                args_count: p.args.len(),
                args_truncated: p.args_truncated,
                start: self.clock.rfc3339(p.start_ns),
                end: p.exited_ns.map(|t| self.clock.rfc3339(t)),
                exit_code: p.exit_code.map(wait_status_code),
                parent: related(p.parent).or_else(|| {
                    p.ppid.map(|pid| Related {
                        pid,
                        entity_id: None,
                        name: None,
                        executable: None,
                        start: None,
                    })
                }),
                entry_leader: related(p.session),
                user: Ids {
                    id: p.uid.map(|u| u.to_string()),
                },
                group: Ids {
                    id: p.gid.map(|g| g.to_string()),
                },
                audit: (p.loginuid.is_some() || p.sessionid.is_some()).then_some(Audit {
                    login_uid: p.loginuid,
                    session_id: p.sessionid,
                }),
            },
            user: Ids {
                id: p.uid.map(|u| u.to_string()),
            },
            sensor: None,
        })))
    }

    fn related(&self, p: &Process) -> Related {
        Related {
            entity_id: Some(p.key.to_string()),
            pid: p.key.tgid,
            name: Some(p.comm.clone()),
            executable: p.executable.clone(),
            start: Some(self.clock.rfc3339(p.start_ns)),
        }
    }
}

/// A wait(2) status as a shell would show it: the exit status, or 128 + the signal.
fn wait_status_code(status: i32) -> i32 {
    match status & 0x7f {
        0 => (status >> 8) & 0xff,
        signal => 128 + signal,
    }
}

#[cfg(test)]
mod tests {
    use super::wait_status_code;

    #[test]
    fn wait_status_becomes_shell_code() {
        assert_eq!(wait_status_code(0), 0);
        assert_eq!(wait_status_code(1 << 8), 1);
        assert_eq!(wait_status_code(9), 137);
    }
}
