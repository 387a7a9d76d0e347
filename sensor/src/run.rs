//! `sensor run`: wire the pipeline (kernel source → correlator → stdout sink) and run it until
//! SIGINT or SIGTERM.
use std::{os::unix::fs::DirBuilderExt as _, path::PathBuf};

use tokio::{
    signal::unix::{SignalKind, signal},
    sync::{mpsc, watch},
};
use tracing::{info, warn};

use crate::{
    correlate::{Correlator, Limits, ProcessTable},
    error::Error,
    logs::{LogSource, LogStage},
    privileges, procfs, sink,
    source::ebpf::{Tracer, TracerOptions},
    time::WallClock,
};

/// Capacity of each channel between stages.
const CHANNEL: usize = 4096;

/// What `sensor run` needs besides the tracer's knobs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub tracer: TracerOptions,
    /// Cursors and offsets, kept across restarts.
    pub state_dir: PathBuf,
    /// Executables whose journal records are trusted as sshd's.
    pub sshd_exes: Vec<PathBuf>,
    /// Where sshd's login records come from.
    pub logs: LogSource,
}

pub async fn run(options: RunOptions) -> Result<(), Error> {
    let RunOptions {
        tracer: tracer_options,
        state_dir,
        sshd_exes,
        logs,
    } = options;
    privileges::require_tracing("run")?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&state_dir)
        .map_err(|e| Error::State {
            path: state_dir.clone(),
            source: e,
        })?;
    let mut tracer = Tracer::load(tracer_options)?;
    log_load_report(&tracer);

    // Seed after attaching, so a process forked in between is caught by one side or the other;
    // a second pass picks up what the first one raced with.
    let mut table = ProcessTable::new(Limits::default());
    let mut seeded = Vec::new();
    for _ in 0..2 {
        let stats = procfs::all().map_err(Error::Proc)?;
        seeded = table.seed(&stats, seed_name, procfs::cmdline);
        tracer.track(seeded.iter().copied())?;
    }
    // A process that exited between the /proc read and the map insert must not leave its tgid
    // tracked: a later process reusing the pid would be taken for part of a session.
    for tgid in table.stale_seeds(|tgid| procfs::stat(tgid).ok().map(|s| s.start_ticks)) {
        tracer.untrack(tgid)?;
    }
    let seeded = seeded.len();

    let mut sigterm = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(Error::Signal)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (kernel_tx, kernel_rx) = mpsc::channel(CHANNEL);
    let (record_tx, record_rx) = mpsc::channel(CHANNEL);

    let correlator = Correlator::new(table, WallClock::new());
    let source = tokio::spawn(tracer.run(kernel_tx, stop_rx));
    let logs = LogStage::spawn(logs, &state_dir, sshd_exes, record_tx.clone());
    let correlate = tokio::spawn(correlator.run(kernel_rx, record_tx));
    let sink = tokio::spawn(sink::stdout::run(
        tokio::io::stdout(),
        record_rx,
        Some(state_dir),
    ));
    info!(seeded, "tracing sshd sessions");

    tokio::select! {
        _ = sigterm.recv() => info!("SIGTERM: stopping"),
        _ = sigint.recv() => info!("SIGINT: stopping"),
    }
    // The source drains the ring and returns; closing its channel winds down the later stages.
    let _ = stop_tx.send(true);
    let counters = source.await.map_err(|e| Error::Task(e.to_string()))??;
    correlate.await.map_err(|e| Error::Task(e.to_string()))?;
    logs.stop().await;
    let written = sink.await.map_err(|e| Error::Task(e.to_string()))?;
    info!(
        emitted = counters.emitted,
        lost = counters.lost,
        track_failed = counters.track_failed,
        written = written.written,
        write_failed = written.failed,
        "stopped"
    );
    Ok(())
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
