//! The top-level error of a command, and the exit code each kind maps to.
use crate::{privileges::NotPermitted, source::ebpf::TracerError};

/// Exit codes (see `sensor --help`).
pub mod code {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    /// sysexits EX_DATAERR: a configuration or rule file is malformed.
    pub const DATA_ERR: u8 = 65;
    /// sysexits EX_UNAVAILABLE: the kernel lacks a feature.
    pub const UNAVAILABLE: u8 = 69;
    /// sysexits EX_NOPERM.
    pub const NO_PERMISSION: u8 = 77;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    NotPermitted(#[from] NotPermitted),
    #[error(transparent)]
    Tracer(#[from] TracerError),
    #[error("{0}")]
    Unsupported(String),
    #[error("reading /proc: {0}")]
    Proc(#[source] std::io::Error),
    #[error("installing the signal handler: {0}")]
    Signal(#[source] std::io::Error),
    #[error("creating the state directory {path}: {source}")]
    State {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("a pipeline task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Rules(#[source] crate::detect::ruleset::LoadError),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NotPermitted(_) => code::NO_PERMISSION,
            Self::Unsupported(_) => code::UNAVAILABLE,
            Self::Tracer(t) => match t {
                TracerError::Tracefs(_) | TracerError::Offsets(_) => code::UNAVAILABLE,
                TracerError::Load(_) | TracerError::Program { .. } => code::UNAVAILABLE,
                TracerError::RingSize(_) => code::USAGE,
                _ => code::FAILURE,
            },
            Self::Config(_) | Self::Rules(_) => code::DATA_ERR,
            _ => code::FAILURE,
        }
    }
}

/// The error and its causes on one line, `a: b: c`, skipping causes already in the message.
pub fn one_line(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line.replace('\n', " ")
}
