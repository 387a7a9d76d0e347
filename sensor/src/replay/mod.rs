//! `sensor replay`: auth.log and journal files read offline, their sshd records run through the
//! detection rules, and the alerts printed as JSON Lines (with `--events`, the normalised
//! records too: the same records `sensor run` makes from the live logs).
//!
//! Formats, told by content (`detect.rs`) unless named: auth.log (plain or gzip), systemd
//! `.journal` files (through systemd-journal-reader, behind [`gate`]), `journalctl -o export`
//! ([`export`]) and `journalctl -o json` dumps, each of them also gzip'd.
//!
//! Every input is read as a stream with bounded memory (lines and export fields up to 1 MiB;
//! auth.log in windows of 4 MiB whose lines are parsed on every CPU, `authlog.rs`), except
//! `.journal` files, whose reader keeps every data object of the file in memory. Records are
//! written with serde_json. A bad
//! line, entry or object is reported (file, line, byte offset) and skipped; the rest of the
//! input and the other inputs are still read. Nothing in any input can make replay panic.
//!
//! ```no_run
//! use sensor::{detect::{self, Engine, RuleSources}, replay::{replay, Input, Options}};
//! let loaded = detect::load(&RuleSources { builtin: true, ..RuleSources::default() }).unwrap();
//! let mut engine = Engine::new(loaded.rules, loaded.allowlist);
//! let inputs = [Input::from_arg("/var/log/auth.log".into())];
//! let mut out = Vec::new();
//! let summary = replay(&inputs, &Options::default(), &mut engine, &mut out, &mut |e| eprintln!("{e}"))?;
//! println!("{} records, {} alerts, exit code {}", summary.records(), summary.alerts(), summary.exit_code());
//! # Ok::<(), sensor::replay::OutputError>(())
//! ```
mod authlog;
#[cfg(test)]
mod authlog_tests;
pub mod command;
mod detect;
mod dump;
mod error;
mod evtx;
pub mod export;
#[cfg(test)]
mod export_tests;
pub mod gate;
mod journal_file;
mod journal_format;
mod json;
mod lines;
mod open;
mod progress;
mod scan;
mod summary;
mod window;

use std::{
    io::{self, Write},
    path::PathBuf,
};

use chrono::{DateTime, Utc};

pub use self::detect::Format;
pub use self::error::{At, ErrorKind, OutputError, ReplayError};
use self::progress::Progress;
pub use self::summary::{FileSummary, MAX_KEPT, MAX_REPORTED, Summary, exit};
use crate::{
    detect::{Alert, Engine},
    ecs::Event,
    parse::ClassicZone,
    source::journald::DEFAULT_SSHD_EXES,
};

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// Bytes in memory (the shipped rules' fixtures), with the name errors give it.
    Memory {
        name: String,
        bytes: std::borrow::Cow<'static, [u8]>,
    },
}

impl Input {
    /// `-` is stdin; anything else a path.
    pub fn from_arg(arg: PathBuf) -> Self {
        if arg.as_os_str() == "-" {
            Self::Stdin
        } else {
            Self::File(arg)
        }
    }

    pub fn name(&self) -> String {
        match self {
            Self::Stdin => "<stdin>".to_owned(),
            Self::File(path) => path.display().to_string(),
            Self::Memory { name, .. } => name.clone(),
        }
    }
}

/// How to replay.
#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: tell each input's format by its content.
    pub format: Option<Format>,
    /// Executables whose journal records are trusted as sshd's.
    pub sshd_exes: Vec<PathBuf>,
    /// The zone classic auth.log timestamps (`Nov 23 10:00:00`) were written in.
    pub classic_zone: ClassicZone,
    /// The instant classic timestamps take their year from (no earlier than the last line);
    /// `None`: each file's modification time, or now for stdin.
    pub classic_reference: Option<DateTime<Utc>>,
    /// Show a progress bar on stderr when the inputs are large (set it only when stderr is a
    /// terminal).
    pub progress: bool,
    /// Print every normalised event, not only the alerts.
    pub events: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            format: None,
            sshd_exes: DEFAULT_SSHD_EXES.iter().map(PathBuf::from).collect(),
            classic_zone: ClassicZone::System,
            classic_reference: None,
            progress: false,
            events: false,
        }
    }
}

/// Replays `inputs` in order through `engine`, writing one JSON line per alert (and, with
/// [`Options::events`], per event before its alerts) to `out`, and passing each input's first
/// [`MAX_REPORTED`] errors to `report` as they are found. Fails only when writing to `out`
/// fails (a closed pipe is not a failure: the replay stops and says so).
pub fn replay(
    inputs: &[Input],
    options: &Options,
    engine: &mut Engine,
    out: &mut dyn Write,
    report: &mut dyn FnMut(&ReplayError),
) -> Result<Summary, OutputError> {
    let total = inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Stdin => None,
            Input::Memory { bytes, .. } => Some(bytes.len() as u64),
        })
        .sum();
    let progress = Progress::new(options.progress, total);
    let mut summary = Summary::default();
    let mut output = Output {
        buf: Vec::with_capacity(OUTPUT_BUFFER + 64 * 1024),
        out,
    };
    let mut stopped = Ok(());
    for input in inputs {
        let mut account = FileSummary {
            name: input.name(),
            ..FileSummary::default()
        };
        progress.set_input(&account.name);
        let mut ctx = Ctx {
            account: &mut account,
            decompressed: false,
            output: &mut output,
            report: &mut *report,
            progress: &progress,
            options,
            engine: &mut *engine,
            alerts: Vec::new(),
        };
        let result = ctx.input(input);
        summary.files.push(account);
        if let Err(stop) = result {
            stopped = Err(stop);
            break;
        }
    }
    if stopped.is_ok() {
        stopped = output.flush();
    }
    progress.finish();
    summary.rules = engine
        .alert_counts()
        .filter(|(_, n)| *n > 0)
        .map(|(rule, n)| (rule.id.clone(), rule.name.clone(), n))
        .collect();
    summary.dropped_keys = engine.dropped_keys();
    match stopped {
        Ok(()) => Ok(summary),
        Err(Stop::Closed) => {
            summary.output_closed = true;
            Ok(summary)
        }
        Err(Stop::Failed(e)) => Err(OutputError(e)),
    }
}

/// Why the replay stops before the end of its inputs: the output can take no more.
#[derive(Debug)]
enum Stop {
    Closed,
    Failed(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Self::Closed
        } else {
            Self::Failed(e)
        }
    }
}

/// Bytes of records gathered before each write to the caller's writer.
const OUTPUT_BUFFER: usize = 128 * 1024;

/// Where records go: serialised straight into a buffer (not through the caller's `dyn Write`
/// token by token), written out once it holds [`OUTPUT_BUFFER`] bytes.
struct Output<'w> {
    buf: Vec<u8>,
    out: &'w mut dyn Write,
}

impl Output<'_> {
    /// Writes the buffer out once it is full enough.
    fn written(&mut self) -> Result<(), Stop> {
        if self.buf.len() >= OUTPUT_BUFFER {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes out and flushes everything buffered.
    fn flush(&mut self) -> Result<(), Stop> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()?;
        Ok(())
    }
}

/// One input being replayed.
struct Ctx<'a, 'w> {
    account: &'a mut FileSummary,
    /// Offsets are in decompressed bytes.
    decompressed: bool,
    output: &'a mut Output<'w>,
    report: &'a mut dyn FnMut(&ReplayError),
    progress: &'a Progress,
    options: &'a Options,
    engine: &'a mut Engine,
    /// Scratch for the alerts of one event.
    alerts: Vec<Alert>,
}

impl Ctx<'_, '_> {
    fn input(&mut self, input: &Input) -> Result<(), Stop> {
        let opened = match open::open(input, self.options.format, self.progress) {
            Ok(opened) => opened,
            Err(kind) => {
                self.error(At::NOWHERE, kind);
                return Ok(());
            }
        };
        self.account.format = Some(opened.format);
        self.account.gzip = opened.gzip;
        self.decompressed = opened.gzip;
        match opened.format {
            Format::AuthLog => {
                let reference = self
                    .options
                    .classic_reference
                    .or_else(|| opened.mtime.map(DateTime::<Utc>::from))
                    .unwrap_or_else(Utc::now);
                authlog::replay(opened.reader, reference, self)
            }
            Format::Journal => journal_file::replay(opened.reader, opened.file_len, self),
            Format::JournalExport => dump::export(opened.reader, self),
            Format::JournalJson => dump::json(opened.reader, self),
            Format::Ecs => dump::ecs(opened.reader, false, self),
            Format::Winlogbeat => dump::ecs(opened.reader, true, self),
            Format::Evtx => evtx::replay(input, opened.reader, self),
        }
    }

    /// Where `line` starting at byte `offset` is, in this input.
    fn at(&self, line: Option<u64>, offset: Option<u64>) -> At {
        At {
            line,
            offset,
            decompressed: self.decompressed,
        }
    }

    /// Counts an error; reports the first few and keeps the first [`MAX_KEPT`].
    fn error(&mut self, at: At, kind: ErrorKind) {
        self.account.errors += 1;
        let error = ReplayError {
            file: self.account.name.clone(),
            at,
            kind,
        };
        if self.account.errors <= MAX_REPORTED {
            let report = &mut *self.report;
            self.progress.suspend(|| report(&error));
        }
        if self.account.kept.len() < MAX_KEPT {
            self.account.kept.push(error);
        }
    }

    /// A line longer than the readers keep: counted as read, reported, skipped.
    fn line_too_long(&mut self, line: u64, offset: u64) {
        self.account.read += 1;
        let at = self.at(Some(line), Some(offset));
        self.error(
            at,
            ErrorKind::LineTooLong {
                max: lines::MAX_LINE,
            },
        );
    }

    /// Reading the input failed at byte `at`, inside the line `partial` (number, offset) if
    /// any: both are reported, and nothing more of the input is read.
    fn read_stopped(&mut self, error: io::Error, at: u64, partial: Option<(u64, u64)>) {
        if let Some((line, offset)) = partial {
            let place = self.at(Some(line), Some(offset));
            self.error(place, ErrorKind::Incomplete);
        }
        let kind = self.read_failed(error);
        let place = self.at(None, Some(at));
        self.error(place, kind);
    }

    /// The error a failed read is, for this input.
    fn read_failed(&self, e: io::Error) -> ErrorKind {
        if self.decompressed {
            ErrorKind::Gzip(e)
        } else {
            ErrorKind::Read(e)
        }
    }

    /// A record a parser thread made and ran the query rules on: its JSON (`--events`, else
    /// empty), its query rules' alerts (JSON lines, of the rules `rules`), and its sequence
    /// rules' probes, applied here in order.
    fn scanned_record(
        &mut self,
        event: &[u8],
        alerts: &[u8],
        rules: &[usize],
        probes: Vec<crate::detect::engine::Probe>,
    ) -> Result<(), Stop> {
        self.account.records += 1;
        self.output.buf.extend_from_slice(event);
        self.output.buf.extend_from_slice(alerts);
        for &rule in rules {
            self.engine.count(rule);
            self.account.alerts += 1;
        }
        for probe in probes {
            self.engine.apply(probe, &mut self.alerts);
        }
        for alert in self.alerts.drain(..) {
            self.account.alerts += 1;
            record_line(&alert, &mut self.output.buf).map_err(io::Error::from)?;
        }
        self.output.written()
    }

    /// One event: printed with `--events` (the bytes of `Record::Auth(record)`: an untagged
    /// enum serialises as its content), then run through the rules, its alerts printed.
    fn record<E: Event>(&mut self, record: &E) -> Result<(), Stop> {
        self.account.records += 1;
        if self.options.events {
            record_line(record, &mut self.output.buf).map_err(io::Error::from)?;
        }
        self.engine.evaluate(record, &mut self.alerts);
        for alert in self.alerts.drain(..) {
            self.account.alerts += 1;
            record_line(&alert, &mut self.output.buf).map_err(io::Error::from)?;
        }
        self.output.written()
    }
}

/// One record as a JSON line.
pub(crate) fn record_line<T: serde::Serialize>(
    value: &T,
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.push(b'\n');
    Ok(())
}
