//! `cargo xtask`: the project's set-up, build, run and test entry points.
//!
//! - `cargo xtask run [-- ARGS]`: set up what is missing, build, start `sensor run ARGS` as root.
//! - `cargo xtask test`: set up (with the Debian packages the root tests need), then every suite,
//!   root tests included.
//! - `cargo xtask setup`: only the set-up.
mod bench;
mod cmd;
mod deb;
mod run;
mod setup;
mod test;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Set up, build, run and test the sensor")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install what is missing (nightly rust-src, bpf-linker), build, and start `sensor run` as
    /// root (through sudo when not root). Arguments after `--` go to `sensor run`.
    Run(run::Args),
    /// Set up, then run every suite: unit and golden tests, then the root end-to-end tests
    /// (real kernel, sshd, journald, network namespaces) as root.
    Test(test::Args),
    /// Only install what the build needs: nightly rust-src and bpf-linker built against the
    /// nightly toolchain's own LLVM. With --packages, also the Debian packages of the root tests.
    Setup(setup::Args),
    /// Benchmarks (see BENCHMARKS.md).
    Bench(bench::Args),
    /// Build the release sensor and pack it as target/debian/sensor_VERSION_ARCH.deb.
    Deb(deb::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => run::run(&args),
        Command::Test(args) => test::test(&args),
        Command::Setup(args) => setup::setup(&args),
        Command::Bench(args) => bench::bench(&args),
        Command::Deb(args) => deb::deb(&args),
    }
}
