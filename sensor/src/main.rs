//! `sensor`: parse flags, set up logging, dispatch.
use std::process::ExitCode;

use clap::Parser as _;
use std::path::PathBuf;

use sensor::{
    cli::{Cli, Command, RunArgs, Source},
    config::{self, Config, LogChoice},
    error::{self, Error},
    run::RunOptions,
};

/// mimalloc: replay's parser threads allocate the records the main thread frees, a pattern on
/// which glibc's malloc spent a third of the time (BENCHMARKS.md, "Replay").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    let result = match cli.command {
        Command::Check => sensor::check::check(&mut std::io::stdout().lock()),
        Command::EvtxWorker => return sensor::windows::worker::main(),
        Command::Replay(args) => return sensor::replay::command::run(args),
        Command::Rules(args) => return sensor::detect::command::run(args.command),
        Command::Run(args) => {
            run_options(args).and_then(|options| runtime()?.block_on(sensor::run::run(options)))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sensor: {}", error::one_line(&err));
            ExitCode::from(err.exit_code())
        }
    }
}

/// The configuration file, then the flags over it.
fn run_options(args: RunArgs) -> Result<RunOptions, Error> {
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    if args.config.is_some() && !config_path.exists() {
        tracing::warn!(path = %config_path.display(), "the configuration file does not exist: using the defaults");
    }
    let mut config = Config::load_or_default(&config_path)?;
    let t = &mut config.tracer;
    t.ring_buffer_size = args.ring_buffer_size.unwrap_or(t.ring_buffer_size);
    t.wakeup_bytes = args.wakeup_bytes.or(t.wakeup_bytes);
    t.drain_interval_ms = args.drain_interval_ms.unwrap_or(t.drain_interval_ms);
    if let Some(dir) = args.state_dir {
        config.state_dir = dir;
    }
    let s = &mut config.sources;
    if let Some(source) = args.source {
        s.logs = match source {
            Source::Auto => LogChoice::Auto,
            Source::Journald => LogChoice::Journald,
            Source::AuthLog => LogChoice::AuthLog,
        };
    }
    if let Some(path) = args.auth_log {
        s.auth_log = path;
    }
    if !args.sshd_exes.is_empty() {
        s.sshd_exes = args.sshd_exes;
    }
    if let Some(path) = args.output_file {
        config.sinks.file = Some(path);
    }
    if let Some(addr) = args.metrics_listen {
        config.metrics.listen = Some(addr);
    }
    Ok(RunOptions {
        config,
        config_path,
        rule_flags: sensor::detect::command::flag_sources(&args.rules),
    })
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
