//! `sensor run`: wire the pipeline and run it until SIGINT or SIGTERM.
//!
//! ```text
//! kernel tracer ──┐
//!                 ├─> detector (process table, joins, rules) ──> sink (stdout, file, journald)
//! log source ─────┘
//! ```
//!
//! Without the privileges or kernel support for eBPF it runs log-only: the same pipeline
//! without the tracer. SIGHUP reloads the rules (the configuration's rules directory, allowlist
//! and internal networks); SIGUSR1 reopens the output file.
use std::{
    os::unix::fs::DirBuilderExt as _,
    path::{Path, PathBuf},
    sync::Arc,
};

use tokio::{
    signal::unix::{SignalKind, signal},
    sync::{mpsc, watch},
};
use tracing::{error, info, warn};

use crate::{
    config::Config,
    correlate::{
        Correlator, Limits, ProcessTable,
        detector::{Control, Detector},
    },
    detect::{self, Engine, RuleSources, Variables},
    error::Error,
    logs::LogStage,
    metrics::{self, Metrics},
    privileges, procfs,
    sink::{
        self,
        file::FileSink,
        journald::JournaldSink,
        stdout::{Outputs, SinkControl},
    },
    source::ebpf::{Tracer, TracerOptions},
    time::WallClock,
};

/// Capacity of each channel between stages.
const CHANNEL: usize = 4096;

/// What `sensor run` needs: the configuration (flags already applied), where it came from, and
/// the rule flags that SIGHUP keeps.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: Config,
    /// The configuration file, read again on SIGHUP.
    pub config_path: PathBuf,
    /// The flags' rule sources, added to the configuration's on every (re)load.
    pub rule_flags: RuleSources,
}

impl RunOptions {
    /// The rules of `config` plus the flags'.
    fn rule_sources(&self, config: &Config) -> RuleSources {
        let mut sources = self.rule_flags.clone();
        sources.dirs.extend(config.rules_dir.clone());
        sources
            .allowlist
            .extend(config.detect.allowlist.iter().cloned());
        if self.rule_flags.variables.internal_networks.is_empty() {
            sources.variables = Variables {
                internal_networks: config.detect.internal_networks.clone(),
            };
        }
        sources
    }
}

pub async fn run(options: RunOptions) -> Result<(), Error> {
    let config = &options.config;
    let loaded = detect::load(&options.rule_sources(config)).map_err(Error::Rules)?;
    info!(rules = loaded.rules.len(), "rules loaded");
    let engine = Engine::new(loaded.rules, loaded.allowlist);
    create_state_dir(&config.state_dir)?;
    let metrics = Arc::new(Metrics::new());
    // Every series exists from the first scrape, at 0.
    for source in ["kernel", "journald", "auth-log"] {
        metrics.events.with(source);
        metrics.parse_errors.with(source);
        metrics.log_gaps.with(source);
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let (kernel_tx, kernel_rx) = mpsc::channel(CHANNEL);
    let tracer = start_tracer(config.tracer.options());
    metrics.kernel_tracing.set(i64::from(tracer.is_some()));
    let (source, correlator, kernel_rx) = match tracer {
        Some((tracer, table)) => (
            Some(tokio::spawn(tracer.run(kernel_tx, stop_rx.clone()))),
            Some(Correlator::new(table, WallClock::new())),
            Some(kernel_rx),
        ),
        None => (None, None, None),
    };

    let mut sigterm = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(Error::Signal)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(Error::Signal)?;
    let mut sigusr1 = signal(SignalKind::user_defined1()).map_err(Error::Signal)?;
    let (log_tx, log_rx) = mpsc::channel(CHANNEL);
    let (record_tx, record_rx) = mpsc::channel(CHANNEL);
    let (control_tx, control_rx) = mpsc::channel(4);
    let (sink_control_tx, sink_control_rx) = mpsc::channel(4);

    let outputs = outputs(config)?;
    let logs = LogStage::spawn(
        config.sources.log_source(),
        &config.state_dir,
        config.sources.sshd_exes.clone(),
        log_tx,
        Arc::clone(&metrics),
    );
    let detector = tokio::spawn(
        Detector::new(correlator, engine, Arc::clone(&metrics))
            .run(kernel_rx, log_rx, control_rx, record_tx),
    );
    let sink = tokio::spawn(sink::stdout::run(
        outputs,
        record_rx,
        sink_control_rx,
        Some(config.state_dir.clone()),
        Arc::clone(&metrics),
    ));
    if let Some(addr) = config.metrics.listen {
        let listener = metrics::bind(addr, config.metrics.allow_non_loopback)
            .await
            .map_err(|e| Error::Task(format!("metrics endpoint: {e}")))?;
        info!(%addr, "serving Prometheus metrics at /metrics");
        tokio::spawn(metrics::serve(
            listener,
            Arc::clone(&metrics),
            stop_rx.clone(),
        ));
    }
    // The line the tests (and a user watching stderr) wait for: both sources are reading.
    info!(
        log_only = source.is_none(),
        logs = ?config.sources.log_source(),
        "ready: following sshd's logins and sessions"
    );

    loop {
        tokio::select! {
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
            _ = sighup.recv() => reload(&options, &control_tx).await,
            _ = sigusr1.recv() => { let _ = sink_control_tx.send(SinkControl::Reopen).await; }
        }
    }
    // The sources stop and close their channels; the detector releases what it holds and the
    // sink drains the rest.
    let _ = stop_tx.send(true);
    let counters = match source {
        Some(source) => Some(source.await.map_err(|e| Error::Task(e.to_string()))??),
        None => None,
    };
    logs.stop().await;
    detector.await.map_err(|e| Error::Task(e.to_string()))?;
    let written = sink.await.map_err(|e| Error::Task(e.to_string()))?;
    let c = counters.unwrap_or_default();
    // One line with every counter (the tests read it): the kernel's are 0 in log-only mode.
    info!(
        emitted = c.emitted,
        lost = c.lost,
        track_failed = c.track_failed,
        written = written.written,
        write_failed = written.failed,
        "stopped"
    );
    Ok(())
}

/// SIGHUP: the configuration file and the rules, loaded again; on any error the old rules stay.
async fn reload(options: &RunOptions, control: &mpsc::Sender<Control>) {
    let config = match Config::load_or_default(&options.config_path) {
        Ok(config) => config,
        Err(e) => {
            error!(%e, "SIGHUP: the configuration did not load; keeping the running rules");
            return;
        }
    };
    match detect::load(&options.rule_sources(&config)) {
        Ok(loaded) => {
            info!(rules = loaded.rules.len(), "SIGHUP: reloading the rules");
            let _ = control
                .send(Control::Reload(Engine::new(loaded.rules, loaded.allowlist)))
                .await;
        }
        Err(e) => error!("SIGHUP: keeping the running rules: {e}"),
    }
}

/// The tracer and the process table seeded from /proc, or `None` (log-only mode) with a
/// warning saying why.
fn start_tracer(options: TracerOptions) -> Option<(Tracer, ProcessTable)> {
    if let Err(e) = privileges::require_tracing("run") {
        warn!("log-only mode: no kernel session tracing, alerts lack process context: {e}");
        return None;
    }
    let mut tracer = match Tracer::load(options) {
        Ok(tracer) => tracer,
        Err(e) => {
            warn!(
                "log-only mode: the eBPF programs did not load ({}), alerts lack process context",
                crate::error::one_line(&e)
            );
            return None;
        }
    };
    log_load_report(&tracer);
    // Seed after attaching, so a process forked in between is caught by one side or the other;
    // a second pass picks up what the first one raced with.
    let mut table = ProcessTable::new(Limits::default());
    let mut seeded = Vec::new();
    for _ in 0..2 {
        let stats = match procfs::all() {
            Ok(stats) => stats,
            Err(e) => {
                warn!(%e, "reading /proc failed: sessions already open are not seeded");
                break;
            }
        };
        seeded = table.seed(&stats, seed_name, procfs::cmdline);
        if let Err(e) = tracer.track(seeded.iter().copied()) {
            warn!(%e, "tracking the sshd processes already running failed");
        }
    }
    // A process that exited between the /proc read and the map insert must not leave its tgid
    // tracked: a later process reusing the pid would be taken for part of a session.
    for tgid in table.stale_seeds(|tgid| procfs::stat(tgid).ok().map(|s| s.start_ticks)) {
        if let Err(e) = tracer.untrack(tgid) {
            warn!(%e, tgid, "untracking an exited process failed");
        }
    }
    info!(seeded = seeded.len(), "tracing sshd sessions");
    Some((tracer, table))
}

fn create_state_dir(dir: &Path) -> Result<(), Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::State {
            path: dir.to_path_buf(),
            source: e,
        })
}

fn outputs(config: &Config) -> Result<Outputs<tokio::io::Stdout>, Error> {
    let file = match &config.sinks.file {
        Some(path) => Some(FileSink::open(path).map_err(|e| Error::Task(e.to_string()))?),
        None => None,
    };
    let journald = if config.sinks.journald {
        Some(JournaldSink::new().map_err(|e| Error::Task(format!("journald sink: {e}")))?)
    } else {
        None
    };
    Ok(Outputs {
        stdout: config.sinks.stdout.then(tokio::io::stdout),
        file,
        journald,
    })
}

fn log_load_report(tracer: &Tracer) {
    let report = &tracer.report;
    if report.tracefs.mounted_now {
        info!(path = %report.tracefs.path.display(), "tracefs was not mounted: mounted it");
    }
    if let Some(reason) = &report.task_fields_missing {
        warn!(%reason, "no BTF task offsets: records lack start times from the kernel, parents, login uid and exit codes");
    }
    info!(programs = report.attached.len(), "eBPF programs attached");
}

/// The name a process is known by for seeding: its executable's file name, else its comm.
fn seed_name(stat: &procfs::ProcStat) -> String {
    procfs::exe(stat.tgid)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .map(|n| n.trim_end_matches(" (deleted)").to_owned())
        .unwrap_or_else(|| stat.comm.clone())
}
