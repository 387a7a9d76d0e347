//! `cargo xtask run`: set up, build, and start `sensor run` as root.
use std::{os::unix::process::CommandExt as _, path::PathBuf, process::Command};

use anyhow::Context as _;

use crate::{cmd, setup};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build and run the release profile.
    #[arg(long)]
    pub release: bool,
    /// Arguments for `sensor run` (after `--`), e.g. `-- --ring-buffer-size 4194304`.
    #[arg(last = true)]
    pub sensor_args: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    setup::toolchain()?;
    let bin = build_sensor(args.release)?;
    let mut command = if cmd::is_root() {
        Command::new(&bin)
    } else {
        // Root only for the sensor itself; the build above ran as the caller.
        eprintln!("xtask: not root: starting the sensor through sudo");
        let mut sudo = Command::new("sudo");
        sudo.arg(&bin);
        sudo
    };
    command.arg("run").args(&args.sensor_args);
    eprintln!("xtask: exec {}", cmd::show(&command));
    // Replace this process so signals (Ctrl-C, SIGTERM) reach the sensor directly.
    Err(command.exec()).with_context(|| format!("starting {}", bin.display()))
}

/// Builds the sensor (and with it the eBPF object) and returns the binary's path.
pub fn build_sensor(release: bool) -> anyhow::Result<PathBuf> {
    let mut build = cmd::cargo();
    build.args(["build", "--package", "sensor", "--bin", "sensor"]);
    if release {
        build.arg("--release");
    }
    cmd::status(&mut build)?;
    let profile = if release { "release" } else { "debug" };
    let bin = target_dir()?.join(profile).join("sensor");
    bin.canonicalize()
        .with_context(|| format!("the build left no binary at {}", bin.display()))
}

pub fn target_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(dir));
    }
    Ok(cmd::workspace_root().join("target"))
}
