//! What a replay read and printed, per input, and the exit code that follows.
use std::fmt;

use super::{detect::Format, error::ReplayError};

/// Exit codes of `sensor replay` (sysexits.h), beside the common ones of `sensor --help`.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    /// EX_DATAERR: some input was malformed; the rest was still read.
    pub const DATA_ERR: u8 = 65;
    /// EX_NOINPUT: an input could not be opened; the others were still read.
    pub const NO_INPUT: u8 = 66;
}

/// The first errors of each input are kept here (all are counted).
pub const MAX_KEPT: usize = 100;
/// The errors of one input reported as they happen; the rest are only counted.
pub const MAX_REPORTED: u64 = 20;

/// One input's account.
#[derive(Debug, Default)]
pub struct FileSummary {
    /// As named on the command line; `<stdin>` for `-`.
    pub name: String,
    /// `None` when it could not be opened.
    pub format: Option<Format>,
    pub gzip: bool,
    /// Lines (auth.log, JSON) or entries (journal, export) read.
    pub read: u64,
    pub records: u64,
    pub alerts: u64,
    pub errors: u64,
    /// The first [`MAX_KEPT`] errors.
    pub kept: Vec<ReplayError>,
}

impl FileSummary {
    /// Whether the input could not be opened at all.
    pub fn no_input(&self) -> bool {
        self.kept.iter().any(|e| e.kind.is_no_input())
    }
}

/// The whole run's account.
#[derive(Debug, Default)]
pub struct Summary {
    pub files: Vec<FileSummary>,
    /// The reader of the output went away (a closed pipe): the replay stopped there.
    pub output_closed: bool,
    /// Alerts per rule that raised any: id, name, count.
    pub rules: Vec<(String, String, u64)>,
    /// Sequence keys not followed: a rule already followed its maximum at once.
    pub dropped_keys: u64,
}

impl Summary {
    pub fn records(&self) -> u64 {
        self.files.iter().map(|f| f.records).sum()
    }

    pub fn alerts(&self) -> u64 {
        self.files.iter().map(|f| f.alerts).sum()
    }

    pub fn errors(&self) -> u64 {
        self.files.iter().map(|f| f.errors).sum()
    }

    /// 66 if an input could not be opened, else 65 if any input had an error, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.files.iter().any(FileSummary::no_input) {
            exit::NO_INPUT
        } else if self.errors() > 0 {
            exit::DATA_ERR
        } else {
            exit::SUCCESS
        }
    }
}

impl fmt::Display for Summary {
    /// `replayed 2 inputs: 34 lines and 34 entries read, 38 records, 2 alerts, 0 errors`, then
    /// one line per input and one per rule that alerted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |unit| -> u64 {
            self.files
                .iter()
                .filter(|s| s.format.map(Format::unit) == Some(unit))
                .map(|s| s.read)
                .sum()
        };
        writeln!(
            f,
            "replayed {}: {} and {} read, {}, {}, {}{}",
            counted(self.files.len() as u64, "input", "inputs"),
            counted(count("lines"), "line", "lines"),
            counted(count("entries"), "entry", "entries"),
            counted(self.records(), "record", "records"),
            counted(self.alerts(), "alert", "alerts"),
            counted(self.errors(), "error", "errors"),
            if self.output_closed {
                " (stopped: the output was closed)"
            } else {
                ""
            },
        )?;
        for file in &self.files {
            write!(f, "  {}", file.name)?;
            match file.format {
                None => {
                    let why = file.kept.first().map(|e| e.kind.to_string());
                    writeln!(f, ": {}", why.unwrap_or_else(|| "not read".to_owned()))?;
                    continue;
                }
                Some(format) => {
                    let gzip = if file.gzip { "gzip, " } else { "" };
                    let units = match format.unit() {
                        "lines" => counted(file.read, "line", "lines"),
                        _ => counted(file.read, "entry", "entries"),
                    };
                    write!(f, " ({gzip}{format}): {units}")?;
                }
            }
            write!(f, ", {}", counted(file.records, "record", "records"))?;
            write!(f, ", {}", counted(file.alerts, "alert", "alerts"))?;
            if file.errors > 0 {
                write!(f, ", {}", counted(file.errors, "error", "errors"))?;
            }
            if file.errors > MAX_REPORTED {
                write!(f, " (the first {MAX_REPORTED} shown)")?;
            }
            writeln!(f)?;
        }
        for (id, name, n) in &self.rules {
            writeln!(
                f,
                "  rule {name:?} ({id}): {}",
                counted(*n, "alert", "alerts")
            )?;
        }
        Ok(())
    }
}

/// `1 line`, `2 lines`.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
