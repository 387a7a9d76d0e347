//! Benchmarks (see BENCHMARKS.md): `cargo xtask bench exec-storm`, `cargo xtask bench replay`,
//! `cargo xtask bench rules`.
//!
//! A benchmark measures and reports; it never fails because a target was missed (that is what
//! tests are for). It fails only when it cannot measure, and then says what stopped it.
mod auditd;
mod bpf_stats;
mod daemon;
mod evtx;
mod exec_storm;
mod facts;
mod kernel_cost;
mod latency;
mod replay;
mod report;
mod rules;
mod sensor;
mod stats;
mod table;

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub bench: Bench,
}

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// fork+exec of /bin/true in paired rounds: no sensor, the sensor (untraced and traced
    /// storms), auditd with an execve rule. Wall-time overheads and the sensor's in-kernel cost
    /// per event (bpf_stats). Needs root; takes about five minutes.
    ExecStorm(exec_storm::Args),
    /// `sensor replay` against rg, fail2ban-regex (the stock sshd filter) and journalctl on the
    /// same generated auth.logs and `.journal` file: time, CPU and peak memory in paired rounds.
    /// Needs root only to install them; takes about four minutes.
    Replay(replay::Args),
    /// The rule engine alone: normalised login records per second on one core, with the
    /// shipped rules and with the Linux detection document's rule. Takes about a minute.
    Rules(rules::Args),
    /// `sensor replay` on the four EVTX samples (shipped rules) against the `evtx` crate's own
    /// `evtx_dump -o jsonl`: records/s one file per invocation and in a batch, and each start-up.
    /// Installs evtx_dump the first time (about three minutes); then about a minute.
    Evtx(evtx::Args),
    /// From a password login's journal entry to its alert on `sensor run`'s stdout: p50, p90,
    /// p99 and max over N logins to a real sshd in a namespace. Needs root; about a minute.
    Latency(latency::Args),
}

pub fn bench(args: &Args) -> anyhow::Result<()> {
    match &args.bench {
        Bench::ExecStorm(args) => exec_storm::exec_storm(args),
        Bench::Replay(args) => replay::replay(args),
        Bench::Rules(args) => rules::rules(args),
        Bench::Evtx(args) => evtx::evtx(args),
        Bench::Latency(args) => latency::latency(args),
    }
}

/// Set by SIGINT/SIGTERM: the bench stops at the next step and its guards undo what it changed
/// (auditd and its rule, the bpf_stats sysctl, the sensor). The processes it starts run in their
/// own process groups, so a Ctrl-C on the terminal reaches this process alone.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn catch_interrupts() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { libc::signal(signal, on_signal as *const () as libc::sighandler_t) };
    }
}

/// Fails once SIGINT or SIGTERM arrived, so that `?` unwinds through the guards.
fn check_interrupted() -> anyhow::Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        anyhow::bail!("interrupted: cleaned up and stopped");
    }
    Ok(())
}
