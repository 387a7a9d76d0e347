//! Reading `.evtx` files copied off Windows hosts, which may be damaged or hostile.
//!
//! The `evtx` crate is not hardened against malformed files (a mutated file made it try to
//! allocate 5.5 GB), so each file is parsed by a child process with resource limits, and only
//! plain JSON lines cross back ([`super::worker`]). The child is this very binary
//! (`/proc/self/exe`) run as `sensor evtx-worker`, with the file as its standard input (it
//! opens nothing itself), and, set between `fork` and `exec`:
//!
//! - `RLIMIT_AS` ([`Limits::address_space`], 1 GiB by default): an allocation past it fails,
//!   and the child aborts instead of the machine swapping;
//! - `RLIMIT_CPU` ([`Limits::cpu_seconds`], 300 s): a parser stuck in a loop gets `SIGXCPU`,
//!   and `SIGKILL` 5 s later;
//! - `RLIMIT_CORE` 0 (no core dump of attacker data) and `RLIMIT_FSIZE` 0 (it writes no file);
//! - `PR_SET_PDEATHSIG` `SIGKILL`: it dies with its parent.
//!
//! Records stream to the caller as they are parsed. A child that dies (out of memory, a
//! signal, a panic) is an [`EvtxError::Died`] naming the file, how it died and how many records
//! came before (those were delivered); a file that is not EVTX is [`EvtxError::Unreadable`];
//! a damaged record or chunk the parser skips is an [`EvtxProblem`], and reading goes on.
//! Either way the caller carries on with its other files.
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use thiserror::Error;

use super::map::map;
use super::worker::{self, WorkerLine};
use crate::ecs::windows::WinEvent;

/// The longest line the child may write: a record rendered as JSON (a record is at most a
/// 64 KiB chunk, but templates can repeat text); past it the child is stopped.
pub const MAX_LINE: usize = 16 << 20;

/// How much of the child's standard error is kept for the error message.
const STDERR_KEPT: u64 = 64 << 10;

/// Resource limits of the child process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `RLIMIT_AS`, bytes of address space.
    pub address_space: u64,
    /// `RLIMIT_CPU`, seconds of CPU time (`SIGXCPU`; `SIGKILL` 5 s later).
    pub cpu_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            address_space: 1 << 30,
            cpu_seconds: 300,
        }
    }
}

/// What reading one file gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvtxStats {
    /// Records delivered as events.
    pub records: u64,
    /// Records and chunks the parser could not read and skipped (each an [`EvtxProblem`]).
    pub bad_records: u64,
}

/// A record or chunk the parser skipped; the rest of the file was read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}: after record {after} of the file: {message}; skipped", path.display())]
pub struct EvtxProblem {
    pub path: PathBuf,
    /// How many records were read before it.
    pub after: u64,
    pub message: String,
}

/// Why a file could not be read, or not to its end.
#[derive(Debug, Error)]
pub enum EvtxError {
    #[error("{}: cannot open: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: cannot start the EVTX parser ({}): {source}", path.display(), program.display())]
    Spawn {
        path: PathBuf,
        program: PathBuf,
        source: io::Error,
    },
    /// The file is not EVTX, or its header is unreadable.
    #[error("{}: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    /// The child process died before the end of the file; the records before were delivered.
    #[error(
        "{}: the EVTX parser {how} after {records} records{}; the records before it were read{}",
        path.display(),
        last_record_id.map(|id| format!(" (last record id {id})")).unwrap_or_default(),
        if detail.is_empty() { String::new() } else { format!(" (it said: {detail})") }
    )]
    Died {
        path: PathBuf,
        records: u64,
        last_record_id: Option<u64>,
        how: Death,
        /// The last line the child wrote on standard error, if any.
        detail: String,
    },
    /// Reading the child's output failed, or it was not what the worker writes.
    #[error("{}: the EVTX parser's output after {records} records: {message}", path.display())]
    Protocol {
        path: PathBuf,
        records: u64,
        message: String,
    },
}

/// How the child process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Death {
    /// An allocation failed under `RLIMIT_AS`.
    OutOfMemory { limit: u64 },
    /// `SIGXCPU`: the CPU time limit.
    CpuTime { limit: u64 },
    /// Killed by another signal.
    Signal(i32),
    /// A panic in the parser.
    Panicked,
    /// Another exit status.
    Exit(i32),
    /// Exit status 0, but without reaching the end of the file.
    Unfinished,
}

impl std::fmt::Display for Death {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OutOfMemory { limit } => {
                write!(f, "ran out of memory (limit {} MiB)", limit >> 20)
            }
            Self::CpuTime { limit } => write!(f, "used up its CPU time (limit {limit} s)"),
            Self::Signal(signal) => {
                write!(
                    f,
                    "was killed by signal {signal} ({})",
                    signal_name(*signal)
                )
            }
            Self::Panicked => f.write_str("panicked"),
            Self::Exit(code) => write!(f, "exited with status {code}"),
            Self::Unfinished => f.write_str("stopped before the end of the file"),
        }
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGKILL => "SIGKILL: the CPU time limit, or the kernel's OOM killer",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => "signal",
    }
}

/// Reads `.evtx` files through a child process (see the module docs).
#[derive(Debug, Clone)]
pub struct EvtxReader {
    program: PathBuf,
    limits: Limits,
}

impl Default for EvtxReader {
    fn default() -> Self {
        Self::new()
    }
}

impl EvtxReader {
    /// Re-executes this binary (`/proc/self/exe`): right for the `sensor` binary itself.
    pub fn new() -> Self {
        Self {
            program: PathBuf::from("/proc/self/exe"),
            limits: Limits::default(),
        }
    }

    /// Runs `program evtx-worker` instead: a `sensor` binary (tests use
    /// `env!("CARGO_BIN_EXE_sensor")`, since a test binary has no such subcommand).
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Reads the file at `path`: each record, mapped to ECS, goes to `on_event` as soon as the
    /// child has parsed it; each skipped record to `on_problem`. An error ends this file only.
    pub fn read(
        &self,
        path: &Path,
        on_event: &mut dyn FnMut(WinEvent),
        on_problem: &mut dyn FnMut(EvtxProblem),
    ) -> Result<EvtxStats, EvtxError> {
        let file = open(path)?;
        let mut command = Command::new(&self.program);
        command
            .args(["--log", "warn", worker::SUBCOMMAND])
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::from(file))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let limits = self.limits;
        // SAFETY: the closure runs in the child between fork and exec, where only
        // async-signal-safe functions may be called: it calls getrlimit, setrlimit and prctl
        // (plain system calls), reads errno, and allocates nothing.
        unsafe {
            command.pre_exec(move || apply_limits(limits));
        }
        let spawn_error = |source| EvtxError::Spawn {
            path: path.to_owned(),
            program: self.program.clone(),
            source,
        };
        let mut child = Reaped(Some(command.spawn().map_err(spawn_error)?));
        let pipes = child.0.as_mut().map(|c| (c.stdout.take(), c.stderr.take()));
        let Some((Some(stdout), Some(stderr))) = pipes else {
            return Err(spawn_error(io::Error::other("no pipe to the child")));
        };
        let stderr = keep_stderr(stderr);
        let mut reading = Reading::new(path, on_event, on_problem);
        let read = reading.lines(BufReader::with_capacity(256 << 10, stdout));
        if read.is_err() {
            child.kill();
        }
        let status = child.wait();
        let stderr = stderr.join();
        read?;
        reading.finish(status, &stderr, self.limits)
    }
}

/// [`EvtxReader::new`]`.read(…)`: the sensor binary's own isolation.
pub fn read(
    path: &Path,
    on_event: &mut dyn FnMut(WinEvent),
    on_problem: &mut dyn FnMut(EvtxProblem),
) -> Result<EvtxStats, EvtxError> {
    EvtxReader::new().read(path, on_event, on_problem)
}

/// Reads the file in this process, with no isolation: a malformed file can exhaust memory or
/// crash the caller. For tests, and for files that are known good.
pub fn read_unisolated(
    path: &Path,
    on_event: &mut dyn FnMut(WinEvent),
    on_problem: &mut dyn FnMut(EvtxProblem),
) -> Result<EvtxStats, EvtxError> {
    let file = open(path)?;
    let mut reading = Reading::new(path, on_event, on_problem);
    let mut emit = |line| {
        reading.line(line);
        Ok(())
    };
    worker::parse(file, &mut emit).map_err(|e| EvtxError::Unreadable {
        path: path.to_owned(),
        message: format!("read failed: {e}"),
    })?;
    reading.finish(Ok(ExitStatus::from_raw(0)), "", Limits::default())
}

fn open(path: &Path) -> Result<File, EvtxError> {
    let file = File::open(path).map_err(|source| EvtxError::Open {
        path: path.to_owned(),
        source,
    })?;
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(file),
        Ok(_) => Err(EvtxError::NotAFile {
            path: path.to_owned(),
        }),
        Err(source) => Err(EvtxError::Open {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Sets the child's limits (see the module docs). Async-signal-safe.
fn apply_limits(limits: Limits) -> io::Result<()> {
    let cpu = limits.cpu_seconds.max(1);
    set_limit(libc::RLIMIT_AS, limits.address_space, limits.address_space)?;
    set_limit(libc::RLIMIT_CPU, cpu, cpu.saturating_add(5))?;
    set_limit(libc::RLIMIT_CORE, 0, 0)?;
    set_limit(libc::RLIMIT_FSIZE, 0, 0)?;
    // SAFETY: prctl(PR_SET_PDEATHSIG, signal) takes no pointers.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Lowers a limit to `soft`/`hard`, never above the current hard limit (raising it would need
/// privileges).
fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `current` is a valid out-pointer for the duration of the call.
    if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let hard = hard.min(current.rlim_max);
    let wanted = libc::rlimit {
        rlim_cur: soft.min(hard),
        rlim_max: hard,
    };
    // SAFETY: `wanted` is a valid pointer for the duration of the call.
    if unsafe { libc::setrlimit(resource, &wanted) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A child that is killed and reaped however the reading ends (an `on_event` that panics
/// included), so no process outlives its file.
struct Reaped(Option<Child>);

impl Reaped {
    fn kill(&mut self) {
        if let Some(child) = &mut self.0 {
            // Our own child, by its pid; it may have exited already.
            let _ignored = child.kill();
        }
    }

    fn wait(&mut self) -> io::Result<ExitStatus> {
        match self.0.take() {
            Some(mut child) => child.wait(),
            None => Err(io::Error::other("already reaped")),
        }
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _killed = child.kill();
            let _reaped = child.wait();
        }
    }
}

/// Reads the child's standard error on a thread (so it never blocks on a full pipe), keeping
/// the first [`STDERR_KEPT`] bytes.
fn keep_stderr(stderr: impl Read + Send + 'static) -> Stderr {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut stderr = stderr;
        let _partial = (&mut stderr).take(STDERR_KEPT).read_to_end(&mut kept);
        let _drained = io::copy(&mut stderr, &mut io::sink());
        // The reader may have stopped waiting.
        let _sent = tx.send(String::from_utf8_lossy(&kept).into_owned());
    });
    Stderr(rx)
}

/// The child's standard error, once it is closed.
struct Stderr(mpsc::Receiver<String>);

impl Stderr {
    /// What the child wrote; after the child is reaped, waits at most [`STDERR_GRACE`] for
    /// the pipe to close (a process the child started could hold it open), then gives up.
    fn join(self) -> String {
        self.0.recv_timeout(STDERR_GRACE).unwrap_or_default()
    }
}

/// How long standard error may stay open after the child is gone.
const STDERR_GRACE: Duration = Duration::from_secs(2);

/// Where reading one file is.
struct Reading<'a> {
    path: &'a Path,
    on_event: &'a mut dyn FnMut(WinEvent),
    on_problem: &'a mut dyn FnMut(EvtxProblem),
    stats: EvtxStats,
    last_record_id: Option<u64>,
    end: Option<Result<(), String>>,
}

impl<'a> Reading<'a> {
    fn new(
        path: &'a Path,
        on_event: &'a mut dyn FnMut(WinEvent),
        on_problem: &'a mut dyn FnMut(EvtxProblem),
    ) -> Self {
        Self {
            path,
            on_event,
            on_problem,
            stats: EvtxStats::default(),
            last_record_id: None,
            end: None,
        }
    }

    /// Reads the child's lines to their end.
    fn lines(&mut self, mut out: impl BufRead) -> Result<(), EvtxError> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let got = read_line(&mut out, &mut buf).map_err(|e| self.protocol(e.to_string()))?;
            match got {
                Line::Eof => return Ok(()),
                Line::TooLong => {
                    return Err(self.protocol(format!("a line longer than {MAX_LINE} bytes")));
                }
                Line::Complete => {}
            }
            if self.end.is_some() {
                return Err(self.protocol("a line after the last".to_owned()));
            }
            let line = serde_json::from_slice::<WorkerLine>(&buf)
                .map_err(|e| self.protocol(format!("not a worker line: {e}")))?;
            self.line(line);
        }
    }

    fn line(&mut self, line: WorkerLine) {
        match line {
            WorkerLine::Record(record) => {
                self.stats.records += 1;
                self.last_record_id = record.record_id;
                (self.on_event)(map(&record));
            }
            WorkerLine::Bad { message } => {
                self.stats.bad_records += 1;
                (self.on_problem)(EvtxProblem {
                    path: self.path.to_owned(),
                    after: self.stats.records,
                    message,
                });
            }
            WorkerLine::Fatal { message } => self.end = Some(Err(message)),
            WorkerLine::End { .. } => self.end = Some(Ok(())),
        }
    }

    fn protocol(&self, message: String) -> EvtxError {
        EvtxError::Protocol {
            path: self.path.to_owned(),
            records: self.stats.records,
            message,
        }
    }

    /// The outcome, once the child is gone.
    fn finish(
        self,
        status: io::Result<ExitStatus>,
        stderr: &str,
        limits: Limits,
    ) -> Result<EvtxStats, EvtxError> {
        let status = status.map_err(|e| self.protocol(format!("waiting for the parser: {e}")))?;
        match self.end {
            Some(Ok(())) if status.success() => Ok(self.stats),
            Some(Err(message)) => Err(EvtxError::Unreadable {
                path: self.path.to_owned(),
                message,
            }),
            _ => Err(EvtxError::Died {
                path: self.path.to_owned(),
                records: self.stats.records,
                last_record_id: self.last_record_id,
                how: death(status, stderr, limits),
                detail: detail(stderr),
            }),
        }
    }
}

/// How the child ended, from its status and what it said: Rust's allocation failure message is
/// `memory allocation of N bytes failed` (then `abort`), and the arena the `evtx` crate
/// allocates records in panics with `out of memory`.
fn death(status: ExitStatus, stderr: &str, limits: Limits) -> Death {
    if stderr.contains("memory allocation of") || stderr.contains("out of memory") {
        Death::OutOfMemory {
            limit: limits.address_space,
        }
    } else if let Some(signal) = status.signal() {
        if signal == libc::SIGXCPU {
            Death::CpuTime {
                limit: limits.cpu_seconds,
            }
        } else {
            Death::Signal(signal)
        }
    } else if stderr.contains("panicked") {
        Death::Panicked
    } else {
        match status.code() {
            Some(0) | None => Death::Unfinished,
            Some(code) => Death::Exit(code),
        }
    }
}

/// What the child said last that explains its end, cut to 300 characters: Rust's allocation
/// failure message, a panic's location and message, or else its last line.
fn detail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    let said = if let Some(oom) = lines.iter().find(|l| l.starts_with("memory allocation of")) {
        (*oom).to_owned()
    } else if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        lines[i..lines.len().min(i + 2)].join(" ")
    } else {
        lines.last().copied().unwrap_or_default().to_owned()
    };
    said.chars().take(300).collect()
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

/// One line into `buf` (without its newline), at most [`MAX_LINE`] bytes.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if buf.is_empty() {
                Line::Eof
            } else {
                Line::Complete
            });
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if buf.len() + chunk.len() > MAX_LINE {
            return Ok(Line::TooLong);
        }
        buf.extend_from_slice(chunk);
        let used = done.unwrap_or(available.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(Line::Complete);
        }
    }
}
