//! `sensor replay` as a command: flags to [`Options`] and rules, alerts (and records) to stdout, errors and the
//! summary to stderr, the exit code from the summary.
use std::{
    io::{self, IsTerminal as _, Write as _},
    process::ExitCode,
};

use super::{Format, Input, Options, replay};
use crate::{
    cli::{ReplayArgs, ReplayFormat},
    detect::{self, Engine},
    error,
};

pub fn run(args: ReplayArgs) -> ExitCode {
    let defaults = Options::default();
    let options = Options {
        format: match args.format {
            ReplayFormat::Auto => None,
            ReplayFormat::AuthLog => Some(Format::AuthLog),
            ReplayFormat::Journal => Some(Format::Journal),
            ReplayFormat::JournalExport => Some(Format::JournalExport),
            ReplayFormat::JournalJson => Some(Format::JournalJson),
            ReplayFormat::EcsJson => Some(Format::Ecs),
            ReplayFormat::Evtx => Some(Format::Evtx),
            ReplayFormat::WinlogbeatJson => Some(Format::Winlogbeat),
        },
        sshd_exes: if args.sshd_exes.is_empty() {
            defaults.sshd_exes
        } else {
            args.sshd_exes
        },
        classic_zone: args.classic_zone,
        classic_reference: args.classic_reference,
        progress: io::stderr().is_terminal(),
        events: args.events,
    };
    let loaded = match detect::command::load_or_report(&detect::command::sources(&args.rules)) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut engine = Engine::new(loaded.rules, loaded.allowlist);
    let inputs: Vec<Input> = args.files.into_iter().map(Input::from_arg).collect();
    let mut out = io::stdout().lock();
    let mut report = |e: &super::ReplayError| {
        // Nowhere left to say it if stderr itself fails.
        let _ = writeln!(io::stderr(), "sensor replay: {e}");
    };
    match replay(&inputs, &options, &mut engine, &mut out, &mut report) {
        Ok(summary) => {
            let _ = write!(io::stderr(), "sensor replay: {summary}");
            ExitCode::from(summary.exit_code())
        }
        Err(e) => {
            eprintln!("sensor replay: {}", error::one_line(&e));
            ExitCode::from(error::code::FAILURE)
        }
    }
}

/// `--classic-zone`: `local`, `utc`, or a fixed offset such as `+01:00`.
pub fn parse_zone(text: &str) -> Result<crate::parse::ClassicZone, String> {
    use crate::parse::ClassicZone;
    match text {
        "local" => Ok(ClassicZone::System),
        "utc" | "UTC" | "Z" => Ok(ClassicZone::utc()),
        offset => chrono::DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{offset}"))
            .map(|t| ClassicZone::Fixed(*t.offset()))
            .map_err(|_| format!("{offset:?} is not `local`, `utc` or an offset like +01:00")),
    }
}

/// `--classic-reference`: an RFC 3339 instant.
pub fn parse_reference(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-12-01T00:00:00Z: {e}"))
}
