//! `sensor`: parse flags, set up logging, dispatch.
use std::process::ExitCode;

use clap::Parser as _;
use sensor::{
    cli::{Cli, Command, Source},
    error::{self, Error},
    logs::LogSource,
    run::RunOptions,
    source::{ebpf::TracerOptions, journald::DEFAULT_SSHD_EXES},
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    let result = match cli.command {
        Command::Check => sensor::check::check(&mut std::io::stdout().lock()),
        Command::Replay(args) => return sensor::replay::command::run(args),
        Command::Run(args) => runtime().and_then(|rt| {
            let sshd_exes = if args.sshd_exes.is_empty() {
                DEFAULT_SSHD_EXES.iter().map(Into::into).collect()
            } else {
                args.sshd_exes
            };
            rt.block_on(sensor::run::run(RunOptions {
                tracer: TracerOptions {
                    ring_bytes: args.ring_buffer_size,
                    wakeup_bytes: args.wakeup_bytes.unwrap_or(0),
                    drain_interval: std::time::Duration::from_millis(args.drain_interval_ms),
                },
                logs: match args.source {
                    Source::Journald => LogSource::Journald,
                    Source::AuthLog => LogSource::AuthLog(args.auth_log),
                    Source::Auto => LogSource::detect(args.auth_log),
                },
                state_dir: args.state_dir,
                sshd_exes,
            }))
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sensor: {}", error::one_line(&err));
            ExitCode::from(err.exit_code())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Task(format!("starting the async runtime: {e}")))
}

fn init_logging(filter: &str) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
