//! The detection stage of `sensor run`: one actor that owns the process table (through the
//! [`Correlator`]) and the rule [`Engine`], and takes both the kernel's events and the log
//! source's login records, so that each login is joined to its kernel session before the rules
//! see it.
//!
//! - A login record names the sshd process that wrote it (journald's `_PID`, auth.log's
//!   `sshd[PID]`). That pid is looked up in the process table, live or recently exited: found as
//!   an sshd-family process, the record is joined to its session (`process.entity_id`), and an
//!   auth.log record becomes `verified`; found as some other process, an unverified record is
//!   forged. A record whose pid is not in the table yet waits up to [`HOLD`] for the kernel
//!   events (records keep their order: a later one waits behind it).
//! - An alert of a Lateral Movement rule on a login marks the session: the alert carries the
//!   commands the session ran so far, later process records of the session carry
//!   `sensor.session`, the rules run on them (the lateral-movement chain), and when the
//!   session's sshd process exits a summary record follows.
//! - Without the tracer (log-only mode) records pass at once, and alerts say
//!   `process_context: "missing"`.
use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use tracing::info;

use super::{Change, Correlator, ProcKey, Process};
use crate::{
    detect::{
        Alert, Engine,
        alert::{Command, SessionContext},
    },
    metrics::Metrics,
    record::{
        AuthRecord, EventMeta, ProcessRecord, ProcessSensor, Record, Related, SUMMARY_COMMANDS,
        SessionSummary, SessionTag, SummaryFields, SummarySensor,
    },
    source::{
        ebpf::TracerMessage,
        journald::{Forgery, Provenance},
    },
};

/// How long a login record whose pid the kernel has not reported yet waits for it.
pub const HOLD: Duration = Duration::from_millis(500);

/// Commands an alert lists from before it.
const ALERT_COMMANDS: usize = 100;

/// Messages to the detector besides events.
#[derive(Debug)]
pub enum Control {
    /// New rules (SIGHUP): sequence state starts afresh.
    Reload(Engine),
}

/// A session that raised a lateral-movement alert.
#[derive(Debug, Clone)]
struct Flag {
    alert_id: String,
    user: Option<String>,
    source: Option<crate::record::Endpoint>,
    method: Option<String>,
    commands: Vec<String>,
    total: u64,
}

pub struct Detector {
    /// `None` in log-only mode.
    correlator: Option<Correlator>,
    engine: Engine,
    /// By the entry leader's entity id.
    flagged: HashMap<String, Flag>,
    pending: VecDeque<(Instant, Box<AuthRecord>)>,
    alerts: Vec<Alert>,
    metrics: Arc<Metrics>,
    /// How many dropped sequence keys the next warning waits for (doubling each time).
    dropped_next: u64,
}

impl Detector {
    pub fn new(correlator: Option<Correlator>, engine: Engine, metrics: Arc<Metrics>) -> Self {
        Self {
            correlator,
            engine,
            flagged: HashMap::new(),
            pending: VecDeque::new(),
            alerts: Vec::new(),
            metrics,
            dropped_next: 1,
        }
    }

    /// Runs until both inputs close; then the held records go out.
    pub async fn run(
        mut self,
        mut kernel: Option<mpsc::Receiver<TracerMessage>>,
        mut logs: mpsc::Receiver<Record>,
        mut control: mpsc::Receiver<Control>,
        out: mpsc::Sender<Record>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut logs_open = true;
        loop {
            let mut batch = Vec::new();
            tokio::select! {
                msg = recv(&mut kernel), if kernel.is_some() => match msg {
                    Some(msg) => self.kernel(&msg, &mut batch),
                    None => kernel = None,
                },
                record = logs.recv(), if logs_open => match record {
                    Some(Record::Auth(auth)) => {
                        self.metrics.events.with(auth.sensor.log_source).inc();
                        self.pending.push_back((Instant::now(), auth));
                        self.release(false, &mut batch);
                    }
                    Some(other) => {
                        if let Record::Health(h) = &other {
                            let source = match h.event.action {
                                "journal-gap" => "journald",
                                _ => "auth-log",
                            };
                            self.metrics.log_gaps.with(source).inc();
                        }
                        batch.push(other);
                    }
                    None => logs_open = false,
                },
                Some(Control::Reload(engine)) = control.recv() => {
                    info!(rules = engine.rules().len(), "rules reloaded");
                    self.engine = engine;
                }
                _ = tick.tick(), if !self.pending.is_empty() => self.release(false, &mut batch),
                else => break,
            }
            if kernel.is_none() && !logs_open {
                self.release(true, &mut batch);
            }
            self.report_dropped_keys();
            for record in batch {
                if out.send(record).await.is_err() {
                    return;
                }
            }
            if kernel.is_none() && !logs_open {
                return;
            }
        }
    }

    /// Warns when the sequence rules had to drop keys (more than they follow at once), each time
    /// the count has doubled: never silent, never a flood.
    fn report_dropped_keys(&mut self) {
        let dropped = self.engine.dropped_keys();
        if dropped >= self.dropped_next {
            tracing::warn!(
                dropped,
                "sequence rules follow too many keys at once: new keys are dropped and their \
                 sequences may be missed"
            );
            self.dropped_next = dropped.saturating_mul(2);
        }
    }

    /// Passes on the held records that can go: joinable now, waited long enough, or `all`.
    fn release(&mut self, all: bool, out: &mut Vec<Record>) {
        while let Some((since, record)) = self.pending.front() {
            let waited = since.elapsed() >= HOLD;
            if !all && !waited && self.must_wait(record) {
                break;
            }
            if let Some((_, record)) = self.pending.pop_front() {
                self.login(record, out);
            }
        }
    }

    /// A record waits while the tracer runs, it names a pid, and that pid is not in the table.
    fn must_wait(&self, record: &AuthRecord) -> bool {
        let Some(correlator) = &self.correlator else {
            return false;
        };
        match claimed_pid(record) {
            Some(pid) => correlator.table.by_tgid(pid).is_none(),
            None => false,
        }
    }

    /// One login record: joined, run through the rules, passed on with its alerts.
    fn login(&mut self, mut record: Box<AuthRecord>, out: &mut Vec<Record>) {
        let (context, session) = self.join(&mut record);
        self.engine.evaluate(record.as_ref(), &mut self.alerts);
        let mut alerts = std::mem::take(&mut self.alerts);
        let mut flag_now = None;
        for alert in &mut alerts {
            alert.sensor.alert.process_context = Some(context);
            if let Some(key) = session {
                alert.sensor.session = self.session_context(key);
                let lateral = self
                    .engine
                    .rules()
                    .iter()
                    .any(|r| r.id == alert.rule.id && r.is_lateral_movement());
                if lateral && flag_now.is_none() {
                    flag_now = Some((key, alert.sensor.alert.id.clone()));
                }
            }
        }
        let login = Login {
            user: record.user.as_ref().map(|u| u.name.clone()),
            source: record.source.clone(),
            method: record.ssh.as_ref().map(|s| s.method.clone()),
        };
        out.push(Record::Auth(record));
        out.extend(alerts.into_iter().map(|a| Record::Alert(Box::new(a))));
        if let Some((key, alert_id)) = flag_now {
            self.flag(key, alert_id, login, out);
        }
    }

    /// Joins a record to the process that wrote it; returns the alert's `process_context` and
    /// the session's key when joined.
    fn join(&self, record: &mut AuthRecord) -> (&'static str, Option<ProcKey>) {
        let Some(correlator) = &self.correlator else {
            return ("missing", None);
        };
        let Some(pid) = claimed_pid(record) else {
            return ("not_found", None);
        };
        let Some(p) = correlator.table.by_tgid(pid) else {
            return ("not_found", None);
        };
        if !p.sshd_family {
            if let Provenance::Unverified { .. } = record.sensor.provenance {
                record.sensor.provenance = Provenance::Forged(Forgery::NotSshdPid {
                    comm: p.comm.clone(),
                });
                record.event = crate::normalize::forged_meta(&record.event);
            }
            return ("not_found", None);
        }
        if let Provenance::Unverified { pid, .. } = record.sensor.provenance {
            record.sensor.provenance = Provenance::Verified { pid };
        }
        record.process.entity_id = Some(p.key.to_string());
        if record.process.executable.is_none() {
            record.process.executable.clone_from(&p.executable);
        }
        ("joined", Some(p.session.unwrap_or(p.key)))
    }

    /// What the session `key` ran so far, for an alert.
    fn session_context(&self, key: ProcKey) -> Option<SessionContext> {
        let correlator = self.correlator.as_ref()?;
        let procs = commands(correlator, key);
        let clock = correlator.clock();
        Some(SessionContext {
            id: key.to_string(),
            commands: procs
                .into_iter()
                .take(ALERT_COMMANDS)
                .map(|p| Command {
                    timestamp: clock.rfc3339(p.start_ns),
                    entity_id: p.key.to_string(),
                    pid: p.key.tgid,
                    name: p.comm.clone(),
                    args: redacted(p.args.clone()),
                })
                .collect(),
        })
    }

    /// Marks a session after its first lateral-movement alert, and runs the rules on what it
    /// already ran (a quick `ssh` onwards may have started before the login record arrived).
    fn flag(&mut self, key: ProcKey, alert_id: String, login: Login, out: &mut Vec<Record>) {
        let id = key.to_string();
        if self.flagged.contains_key(&id) {
            return;
        }
        let mut flag = Flag {
            alert_id,
            user: login.user,
            source: login.source,
            method: login.method,
            commands: Vec::new(),
            total: 0,
        };
        let Some(correlator) = &self.correlator else {
            return;
        };
        let before = commands(correlator, key);
        let records: Vec<Record> = before
            .iter()
            .filter_map(|p| correlator.record(Change::Exec(p.key), p.start_ns))
            .collect();
        // The session may be over already (a short `ssh host cmd`): its summary follows now.
        let ended = correlator
            .table
            .get(&key)
            .and_then(|p| p.exited_ns)
            .and_then(|at| correlator.record(Change::Exit(key), at));
        for record in records {
            if let Record::Process(mut p) = record {
                p.process.args = redacted(std::mem::take(&mut p.process.args));
                note(&mut flag, &p);
                p.sensor = Some(ProcessSensor {
                    session: SessionTag {
                        id: id.clone(),
                        alert_id: flag.alert_id.clone(),
                    },
                });
                self.engine.evaluate(p.as_ref(), &mut self.alerts);
                self.session_alerts(key, &flag, out);
            }
        }
        match ended {
            Some(Record::Process(leader)) => {
                out.push(Record::Summary(Box::new(summary(&leader, flag))));
            }
            _ => {
                self.flagged.insert(id, flag);
            }
        }
    }

    /// Passes on the alerts raised on a process of the flagged session `key`, with the session
    /// and the login that flagged it (user, source, method) in them.
    fn session_alerts(&mut self, key: ProcKey, flag: &Flag, out: &mut Vec<Record>) {
        let mut alerts = std::mem::take(&mut self.alerts);
        for mut alert in alerts.drain(..) {
            alert.sensor.alert.process_context = Some("joined");
            alert.sensor.session = self.session_context(key);
            let context = &mut alert.context;
            if let Some(name) = &flag.user {
                let user = context
                    .entry("user")
                    .or_insert_with(|| serde_json::json!({}));
                if let Some(user) = user.as_object_mut() {
                    user.insert("name".into(), name.clone().into());
                }
            }
            if let Some(source) = &flag.source
                && let Ok(value) = serde_json::to_value(source)
            {
                context.insert("source".into(), value);
            }
            if let Some(method) = &flag.method {
                context.insert("ssh".into(), serde_json::json!({ "method": method }));
            }
            context.sort_keys();
            out.push(Record::Alert(Box::new(alert)));
        }
        self.alerts = alerts;
    }

    /// One kernel message.
    fn kernel(&mut self, msg: &TracerMessage, out: &mut Vec<Record>) {
        let Some(correlator) = self.correlator.as_mut() else {
            return;
        };
        match msg {
            TracerMessage::Event(_) => self.metrics.events.with("kernel").inc(),
            TracerMessage::Lost { lost, .. } => self.metrics.kernel_events_lost.add(*lost),
        }
        let Some(record) = correlator.handle(msg) else {
            return;
        };
        let Record::Process(mut p) = record else {
            out.push(record);
            return;
        };
        p.process.args = redacted(std::mem::take(&mut p.process.args));
        let leader = p
            .process
            .entry_leader
            .as_ref()
            .and_then(|l| l.entity_id.clone());
        let mut session = None;
        if let Some(flag) = leader.as_ref().and_then(|l| self.flagged.get_mut(l)) {
            if p.event.action == "exec" {
                note(flag, &p);
            }
            p.sensor = Some(ProcessSensor {
                session: SessionTag {
                    id: leader.clone().unwrap_or_default(),
                    alert_id: flag.alert_id.clone(),
                },
            });
            session = leader.as_deref().and_then(parse_key);
        }
        self.engine.evaluate(p.as_ref(), &mut self.alerts);
        let ended = (p.event.action == "end")
            .then(|| self.flagged.remove(&p.process.entity_id))
            .flatten();
        let summary = ended.as_ref().map(|flag| summary(&p, flag.clone()));
        out.push(Record::Process(p));
        let flag = session.and_then(|key| {
            let id = key.to_string();
            self.flagged.remove(&id).map(|f| (key, id, f))
        });
        match flag {
            Some((key, id, flag)) => {
                self.session_alerts(key, &flag, out);
                self.flagged.insert(id, flag);
            }
            None => out.extend(self.alerts.drain(..).map(|a| Record::Alert(Box::new(a)))),
        }
        out.extend(summary.map(|s| Record::Summary(Box::new(s))));
    }
}

/// The commands session `key` ran (its processes but the sshd ones), in start order.
fn commands(correlator: &Correlator, key: ProcKey) -> Vec<&Process> {
    let mut procs: Vec<&Process> = correlator
        .table
        .processes()
        .filter(|p| p.session == Some(key) && p.key != key && !p.sshd_family)
        .collect();
    procs.sort_by_key(|p| p.start_ns);
    procs
}

async fn recv<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The pid a record says wrote it, unless it is already known to be forged.
fn claimed_pid(record: &AuthRecord) -> Option<u32> {
    match record.sensor.provenance {
        Provenance::Trusted { pid }
        | Provenance::Unverified { pid, .. }
        | Provenance::Verified { pid } => Some(pid),
        Provenance::Forged(_) => None,
    }
}

/// What the login that flagged a session said.
struct Login {
    user: Option<String>,
    source: Option<crate::record::Endpoint>,
    method: Option<String>,
}

/// `TGID-STARTTICKS` back to its key.
fn parse_key(id: &str) -> Option<ProcKey> {
    let (tgid, start) = id.split_once('-')?;
    Some(ProcKey {
        tgid: tgid.parse().ok()?,
        start_ticks: start.parse().ok()?,
    })
}

/// Counts a command of a flagged session.
fn note(flag: &mut Flag, p: &ProcessRecord) {
    flag.total += 1;
    if flag.commands.len() < SUMMARY_COMMANDS {
        flag.commands.push(p.process.args.join(" "));
    }
}

/// The summary of a flagged session whose sshd process `p` just ended.
fn summary(p: &ProcessRecord, flag: Flag) -> SessionSummary {
    let end = p.process.end.clone().unwrap_or_else(|| p.timestamp.clone());
    let ms = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.timestamp_millis())
            .ok()
    };
    let duration_ms = match (ms(&p.process.start), ms(&end)) {
        (Some(a), Some(b)) => u64::try_from(b - a).unwrap_or(0),
        _ => 0,
    };
    SessionSummary {
        timestamp: p.timestamp.clone(),
        event: EventMeta::SESSION_SUMMARY,
        user: flag.user.map(|name| crate::record::Name { name }),
        source: flag.source,
        process: Related {
            entity_id: Some(p.process.entity_id.clone()),
            pid: p.process.pid,
            name: Some(p.process.name.clone()),
            executable: p.process.executable.clone(),
            start: Some(p.process.start.clone()),
        },
        sensor: SummarySensor {
            session: SummaryFields {
                id: p.process.entity_id.clone(),
                alert_id: flag.alert_id,
                start: p.process.start.clone(),
                end,
                duration_ms,
                commands_total: flag.total,
                commands_truncated: flag.total > flag.commands.len() as u64,
                commands: flag.commands,
            },
        },
    }
}

/// argv with passwords and hashes taken out.
fn redacted(mut args: Vec<String>) -> Vec<String> {
    crate::redact::redact_args(&mut args);
    args
}

#[cfg(test)]
#[path = "detector_tests.rs"]
mod tests;
