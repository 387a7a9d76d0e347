//! Benchmarks (see BENCHMARKS.md).

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn bench(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("no benchmarks yet")
}
