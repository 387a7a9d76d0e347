//! The kernel source: loads the programs of `sensor-ebpf`, attaches them to their tracepoints,
//! and streams decoded [`KernelEvent`]s. Loss is reported three ways: a `tracing` warning, the
//! [`Counters`], and a [`TracerMessage::Lost`] that becomes an event in the output.
pub mod decode;
pub mod offsets;
pub mod tracefs;

use std::{path::Path, time::Duration};

use aya::{
    Ebpf, EbpfLoader,
    maps::{HashMap, MapData, PerCpuArray, RingBuf},
    programs::TracePoint,
};
use sensor_common::{CONFIG_GLOBAL, Config, Counter, PROGRAMS, Tracked, map};
use tokio::{io::unix::AsyncFd, sync::mpsc};
use tracing::warn;

pub use decode::{Common, KernelEvent};

/// The programs, built for bpfel-unknown-none by `build.rs`.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sensor"));

/// Where the kernel's own BTF lives.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Knobs of the kernel source.
#[derive(Debug, Clone)]
pub struct TracerOptions {
    /// Ring-buffer size in bytes: a power of two and a multiple of the page size.
    pub ring_bytes: u32,
    /// Wake the reader once this many bytes wait (0: a quarter of the ring).
    pub wakeup_bytes: u64,
    /// How often the reader drains the ring without being woken.
    pub drain_interval: Duration,
}

impl Default for TracerOptions {
    fn default() -> Self {
        Self {
            ring_bytes: sensor_common::DEFAULT_RING_BYTES,
            wakeup_bytes: 0,
            drain_interval: Duration::from_millis(50),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TracerError {
    #[error(transparent)]
    Tracefs(#[from] tracefs::TracefsError),
    #[error(transparent)]
    Offsets(#[from] offsets::OffsetError),
    #[error(
        "ring buffer size {0} must be a power of two and a multiple of the page size (e.g. 8192, 1048576)"
    )]
    RingSize(u32),
    #[error("loading the eBPF object: {0}")]
    Load(#[source] aya::EbpfError),
    #[error("program {program}: {action} failed: {source}")]
    Program {
        program: &'static str,
        action: &'static str,
        source: aya::programs::ProgramError,
    },
    #[error("map {name}: {source}")]
    Map {
        name: &'static str,
        source: aya::maps::MapError,
    },
    #[error("this sensor binary was built without its eBPF programs (AYA_BUILD_SKIP); rebuild it")]
    NoObject,
    #[error("the eBPF object has no {0}")]
    Missing(&'static str),
    #[error("polling the ring buffer: {0}")]
    Poll(#[source] std::io::Error),
}

/// What the reader sends downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TracerMessage {
    Event(KernelEvent),
    /// The kernel could not write `lost` events since the last report (`total` since start).
    Lost {
        lost: u64,
        total: u64,
    },
}

/// Totals of the kernel's per-CPU counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub emitted: u64,
    pub lost: u64,
    pub track_failed: u64,
}

/// What loading found out about this kernel, for `sensor check` and the start-up log.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub tracefs: tracefs::Tracefs,
    /// Why task fields (start time, parent, login uid, exit code) are unavailable, if they are.
    pub task_fields_missing: Option<String>,
    pub attached: Vec<&'static str>,
    /// Programs that loaded (passed the verifier) but are not needed attached on this kernel.
    pub loaded_only: Vec<&'static str>,
    pub argv_source: ArgvSource,
}

/// Where argv comes from (see [`sensor_common::ArgvEvent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgvSource {
    /// `mm->arg_start..arg_end` at `sched_process_exec` (needs BTF).
    ExecImage,
    /// `sys_enter_execve{,at}` from the caller's memory (no BTF: can miss pages not faulted in).
    SyscallEntry,
}

impl std::fmt::Display for ArgvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ExecImage => "the new image's argument area, at sched_process_exec",
            Self::SyscallEntry => {
                "the caller's memory at sys_enter_execve{,at} (no BTF: arguments in pages not yet faulted in are lost)"
            }
        })
    }
}

/// Loaded and attached programs with their maps.
pub struct Tracer {
    ebpf: Ebpf,
    ring: RingBuf<MapData>,
    counters: PerCpuArray<MapData, u64>,
    options: TracerOptions,
    pub report: LoadReport,
}

impl Tracer {
    /// Loads the object with this kernel's offsets and attaches every program.
    pub fn load(options: TracerOptions) -> Result<Self, TracerError> {
        if OBJECT.is_empty() {
            return Err(TracerError::NoObject);
        }
        let page = page_size();
        if !options.ring_bytes.is_power_of_two() || !options.ring_bytes.is_multiple_of(page) {
            return Err(TracerError::RingSize(options.ring_bytes));
        }
        let tracefs = tracefs::find_or_mount()?;
        let tp = offsets::tracepoint_offsets(&tracefs.path)?;
        let (task, task_fields_missing) = offsets::task_offsets(Path::new(VMLINUX_BTF));
        let wakeup_bytes = match options.wakeup_bytes {
            0 => u64::from(options.ring_bytes / 4),
            n => n,
        };
        let config = Config {
            tp,
            task,
            wakeup_bytes,
        };
        let mut ebpf = EbpfLoader::new()
            .override_global(CONFIG_GLOBAL, &config, true)
            .map_max_entries(map::EVENTS, options.ring_bytes)
            .load(OBJECT)
            .map_err(TracerError::Load)?;
        // With BTF, argv is read at exec from the new image (always resident); the syscall-entry
        // programs, which can only read what the caller has faulted in, are the fallback.
        let argv_at_exec = task.valid != 0;
        let mut attached = Vec::new();
        let mut loaded_only = Vec::new();
        for (program, category, name) in PROGRAMS {
            let prog: &mut TracePoint = ebpf
                .program_mut(program)
                .ok_or(TracerError::Missing(program))?
                .try_into()
                .map_err(|source| TracerError::Program {
                    program,
                    action: "typing",
                    source,
                })?;
            // Every program is loaded (so the verifier checks it, and `sensor check` can say
            // so), even the fallback ones this kernel does not need attached.
            prog.load().map_err(|source| TracerError::Program {
                program,
                action: "load",
                source,
            })?;
            if argv_at_exec && category == "syscalls" {
                loaded_only.push(program);
                continue;
            }
            prog.attach(category, name)
                .map_err(|source| TracerError::Program {
                    program,
                    action: "attach",
                    source,
                })?;
            attached.push(program);
        }
        let ring = take_map(&mut ebpf, map::EVENTS, RingBuf::try_from)?;
        let counters = take_map(&mut ebpf, map::COUNTERS, PerCpuArray::try_from)?;
        let argv_source = if argv_at_exec {
            ArgvSource::ExecImage
        } else {
            ArgvSource::SyscallEntry
        };
        let report = LoadReport {
            tracefs,
            task_fields_missing,
            attached,
            loaded_only,
            argv_source,
        };
        Ok(Self {
            ebpf,
            ring,
            counters,
            options,
            report,
        })
    }

    /// Starts tracking `tgids` from userspace: sshd processes, and their descendants, that were
    /// running before the programs were attached. Returns how many were added.
    pub fn track(&mut self, tgids: impl IntoIterator<Item = u32>) -> Result<usize, TracerError> {
        let mut tracked = self.tracked()?;
        let mut n = 0;
        for tgid in tgids {
            tracked
                .insert(tgid, Tracked::default(), 0)
                .map_err(tracked_error)?;
            n += 1;
        }
        Ok(n)
    }

    /// Stops tracking `tgid` (a seeded process that exited before it was tracked).
    pub fn untrack(&mut self, tgid: u32) -> Result<(), TracerError> {
        match self.tracked()?.remove(&tgid) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(source) => Err(tracked_error(source)),
        }
    }

    /// The kernel's map of tracked tgids.
    fn tracked(&mut self) -> Result<HashMap<&mut MapData, u32, Tracked>, TracerError> {
        let map = self
            .ebpf
            .map_mut(map::TRACKED)
            .ok_or(TracerError::Missing(map::TRACKED))?;
        HashMap::try_from(map).map_err(tracked_error)
    }

    /// Sums the per-CPU counters.
    pub fn counters(&self) -> Result<Counters, TracerError> {
        read_counters(&self.counters)
    }

    /// Reads the ring until `shutdown` fires, sending decoded events to `tx`. Drains on wake-ups
    /// and on a short timer (most events do not wake the reader), and checks the loss counter once
    /// a second. Returns the final counters. The programs stay attached until this returns.
    pub async fn run(
        self,
        tx: mpsc::Sender<TracerMessage>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Counters, TracerError> {
        let Self {
            ebpf: _attached,
            ring,
            counters,
            options,
            ..
        } = self;
        // SAFETY: the ring buffer owns its map fd and keeps it open, unreplaced, for as long as
        // the AsyncFd holds it.
        let mut ring =
            unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
                .map_err(|e| TracerError::Poll(e.into()))?;
        let mut drain = tokio::time::interval(options.drain_interval);
        drain.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut loss_check = tokio::time::interval(Duration::from_secs(1));
        let mut loss = LossReporter::default();
        loop {
            tokio::select! {
                guard = ring.readable_mut() => {
                    let mut guard = guard.map_err(TracerError::Poll)?;
                    let open = drain_ring(guard.get_inner_mut(), &tx).await;
                    guard.clear_ready();
                    if !open { break; }
                }
                _ = drain.tick() => {
                    if !drain_ring(ring.get_mut(), &tx).await { break; }
                }
                _ = loss_check.tick() => loss.check(&counters, &tx).await?,
                _ = shutdown.changed() => break,
            }
        }
        drain_ring(ring.get_mut(), &tx).await;
        loss.check(&counters, &tx).await?;
        read_counters(&counters)
    }
}

/// Forwards every waiting record; returns false once the receiver is gone.
async fn drain_ring(ring: &mut RingBuf<MapData>, tx: &mpsc::Sender<TracerMessage>) -> bool {
    loop {
        let decoded = match ring.next() {
            Some(item) => decode::decode(&item),
            None => return true,
        };
        match decoded {
            Ok(event) => {
                if tx.send(TracerMessage::Event(event)).await.is_err() {
                    return false;
                }
            }
            Err(err) => warn!(%err, "dropping an undecodable kernel event"),
        }
    }
}

/// Turns a rising loss counter into a warning and a downstream message.
#[derive(Default)]
struct LossReporter {
    reported: u64,
    track_failed: u64,
}

impl LossReporter {
    async fn check(
        &mut self,
        counters: &PerCpuArray<MapData, u64>,
        tx: &mpsc::Sender<TracerMessage>,
    ) -> Result<(), TracerError> {
        let now = read_counters(counters)?;
        if now.lost > self.reported {
            let lost = now.lost - self.reported;
            self.reported = now.lost;
            warn!(
                lost,
                total = now.lost,
                "kernel events lost: the ring buffer was full"
            );
            // A closed channel means shutdown; the warning above still reported the loss.
            let _ = tx
                .send(TracerMessage::Lost {
                    lost,
                    total: now.lost,
                })
                .await;
        }
        if now.track_failed > self.track_failed {
            self.track_failed = now.track_failed;
            warn!(
                total = now.track_failed,
                "processes of sshd sessions could not be tracked: the kernel's map of tracked processes is full"
            );
        }
        Ok(())
    }
}

fn read_counters(counters: &PerCpuArray<MapData, u64>) -> Result<Counters, TracerError> {
    let sum = |c: Counter| -> Result<u64, TracerError> {
        let values = counters
            .get(&(c as u32), 0)
            .map_err(|source| TracerError::Map {
                name: map::COUNTERS,
                source,
            })?;
        Ok(values.iter().sum())
    };
    Ok(Counters {
        emitted: sum(Counter::Emitted)?,
        lost: sum(Counter::Lost)?,
        track_failed: sum(Counter::TrackFailed)?,
    })
}

fn tracked_error(source: aya::maps::MapError) -> TracerError {
    TracerError::Map {
        name: map::TRACKED,
        source,
    }
}

fn take_map<T>(
    ebpf: &mut Ebpf,
    name: &'static str,
    convert: impl FnOnce(aya::maps::Map) -> Result<T, aya::maps::MapError>,
) -> Result<T, TracerError> {
    let m = ebpf.take_map(name).ok_or(TracerError::Missing(name))?;
    convert(m).map_err(|source| TracerError::Map { name, source })
}

fn page_size() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u32::try_from(n).unwrap_or(4096)
}
