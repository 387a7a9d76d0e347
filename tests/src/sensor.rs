//! The sensor under test: `sensor run` as a child process. Its stdout is parsed line by line into
//! JSON records as they come; its stderr is kept for the ready line, warnings and the final
//! `stopped …` counters.
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Arc,
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use crate::{cmd, feed::Feed, tempdir::TempDir};

/// The line `sensor run` logs once its sources read: the kernel ring buffer (unless log-only)
/// and the log, positioned where it goes on from.
const READY: &str = "ready: following sshd's logins and sessions";
/// Loading BTF and the programs takes well under a second here; this allows for a loaded CI box.
const STARTUP: Duration = Duration::from_secs(30);
/// What the startup warning of log-only mode (no eBPF) contains.
pub const LOG_ONLY: &str = "log-only";
/// How long after its ready line the log-only warning may come.
const WARNING: Duration = Duration::from_secs(5);
/// The capabilities that loading and attaching the eBPF programs takes, dropped from the bounding
/// set by [`Privileges::WithoutBpf`].
const BPF_CAPS: &str = "--bounding-set=-bpf,-perfmon,-sys_admin";

/// What the sensor may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privileges {
    /// Root with every capability: the kernel tracer runs.
    Full,
    /// Root without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (`setpriv --bounding-set`): the
    /// sensor cannot load eBPF programs and must run log-only.
    WithoutBpf,
}
/// How long the sensor may take to drain and exit after SIGTERM.
const SHUTDOWN: Duration = Duration::from_secs(30);

/// A running `sensor run`. Killed on drop if [`Sensor::stop`] was not called.
#[derive(Debug)]
pub struct Sensor {
    child: Child,
    /// The state directory (`--state-dir`), private to this sensor unless shared on purpose.
    state: Arc<TempDir>,
    /// Holds the (empty) configuration file.
    _config: TempDir,
    records: Feed<Value>,
    /// Stdout lines that were not JSON objects.
    invalid: Feed<String>,
    stderr: Feed<String>,
    readers: Vec<JoinHandle<()>>,
}

/// The kernel and sink counters from the sensor's last log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Events the eBPF programs wrote to the ring buffer.
    pub emitted: u64,
    /// Events the eBPF programs could not write (ring buffer full).
    pub lost: u64,
    pub track_failed: u64,
    /// Records written to stdout.
    pub written: u64,
    pub write_failed: u64,
}

/// Everything a stopped sensor produced.
#[derive(Debug)]
pub struct Stopped {
    pub records: Vec<Value>,
    pub stderr: Vec<String>,
    pub counters: Counters,
}

impl Sensor {
    /// The binary under test: `$SENSOR_BIN` (relative paths are taken from the workspace root),
    /// else `target/debug/sensor` of this workspace.
    pub fn binary() -> Result<PathBuf> {
        let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let path = match std::env::var_os("SENSOR_BIN") {
            Some(bin) => root.join(bin),
            None => root.join("target/debug/sensor"),
        };
        if !path.is_file() {
            bail!(
                "sensor binary {} not found: build it (`cargo build -p sensor`) and set SENSOR_BIN \
                 to its absolute path, or run `cargo xtask test`",
                path.display()
            );
        }
        Ok(path)
    }

    /// Starts `sensor --log info run --state-dir FRESH --config EMPTY ARGS` with every
    /// capability and waits until it is ready.
    pub fn start(args: &[&str]) -> Result<Self> {
        Self::start_with(Arc::new(TempDir::new("state")?), Privileges::Full, args)
    }

    /// Like [`Sensor::start`], with the state directory of an earlier run (a restart).
    pub fn start_with_state(state: Arc<TempDir>, args: &[&str]) -> Result<Self> {
        Self::start_with(state, Privileges::Full, args)
    }

    /// Starts it on `state` with `privileges` and a configuration file of the test's own (so the
    /// host's `/etc/sensor/config.toml` never matters), and waits for its ready line; with
    /// [`Privileges::WithoutBpf`], also for its log-only warning.
    pub fn start_with(state: Arc<TempDir>, privileges: Privileges, args: &[&str]) -> Result<Self> {
        let config = TempDir::new("config")?;
        let config_file = config.path().join("config.toml");
        std::fs::write(&config_file, "# sensor-tests: every key at its default\n")
            .with_context(|| format!("writing {}", config_file.display()))?;
        let bin = Self::binary()?;
        let mut command = match privileges {
            Privileges::Full => Command::new(&bin),
            Privileges::WithoutBpf => {
                let mut c = Command::new("setpriv");
                c.args([BPF_CAPS, "--"]).arg(&bin);
                c
            }
        };
        command
            .args(["--log", "info", "run", "--state-dir"])
            .arg(state.path())
            .arg("--config")
            .arg(&config_file)
            .args(args)
            .env_remove("SENSOR_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting `{}`", cmd::display(&command)))?;
        let stdout = child.stdout.take().context("sensor stdout")?;
        let stderr = child.stderr.take().context("sensor stderr")?;
        // Owned from here on, so that an error below still kills the sensor.
        let mut sensor = Self {
            child,
            state,
            _config: config,
            records: Feed::default(),
            invalid: Feed::default(),
            stderr: Feed::default(),
            readers: Vec::new(),
        };
        let (records, invalid, end) = (
            sensor.records.clone(),
            sensor.invalid.clone(),
            sensor.records.clone(),
        );
        sensor.readers.push(crate::feed::read_lines(
            "sensor-stdout",
            stdout,
            move |line| match serde_json::from_str::<Value>(&line) {
                Ok(v) if v.is_object() => records.push(v),
                _ => invalid.push(line),
            },
            move || end.close(),
        )?);
        let (lines, end) = (sensor.stderr.clone(), sensor.stderr.clone());
        sensor.readers.push(crate::feed::read_lines(
            "sensor-stderr",
            stderr,
            move |line| lines.push(line),
            move || end.close(),
        )?);
        sensor.wait_for_log(READY, STARTUP)?;
        if privileges == Privileges::WithoutBpf {
            sensor.wait_for_log(LOG_ONLY, WARNING)?;
        }
        Ok(sensor)
    }

    /// Sends `signal` (SIGHUP, SIGUSR1) to the running sensor.
    pub fn signal(&mut self, signal: libc::c_int) -> Result<()> {
        if let Some(status) = self.child.try_wait().context("checking the sensor")? {
            bail!("the sensor already exited ({status}); {}", self.context());
        }
        let pid = libc::pid_t::try_from(self.child.id()).context("pid out of range")?;
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own unreaped child,
        // so it cannot have been reused by another process.
        if unsafe { libc::kill(pid, signal) } != 0 {
            bail!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Whether the sensor is still running (it has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Every stderr line so far.
    pub fn log(&self) -> Vec<String> {
        self.stderr.snapshot()
    }

    /// How many stderr lines the sensor has written so far: a mark for
    /// [`Sensor::wait_for_log_after`].
    pub fn log_len(&self) -> usize {
        self.stderr.snapshot().len()
    }

    /// Waits for a stderr line containing `needle` among the lines after the first `mark`
    /// (what the sensor logged in answer to something the test just did).
    pub fn wait_for_log_after(
        &self,
        mark: usize,
        needle: &str,
        timeout: Duration,
    ) -> Result<String> {
        // The feed hands each line to the predicate once, in order: counting them finds the mark.
        let mut index = 0;
        self.stderr
            .wait_for(needle, timeout, |l| {
                index += 1;
                index > mark && l.contains(needle)
            })
            .map(|(_, line)| line)
            .with_context(|| self.context())
    }

    /// The state directory, to start another sensor on it.
    pub fn state(&self) -> Arc<TempDir> {
        Arc::clone(&self.state)
    }

    /// Every record so far, in output order.
    pub fn records(&self) -> Vec<Value> {
        self.records.snapshot()
    }

    /// Waits (at most `timeout`) for the first record that matches `pred`; returns its index in
    /// output order and the record.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl FnMut(&Value) -> bool,
    ) -> Result<(usize, Value)> {
        self.records
            .wait_for(what, timeout, pred)
            .with_context(|| self.context())
    }

    /// Waits for a stderr line containing `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Result<String> {
        self.wait_for_log_after(0, needle, timeout)
    }

    /// Sends SIGTERM, waits for a clean exit, and returns the records and final counters. Fails
    /// if the sensor exits non-zero, printed anything but JSON objects on stdout, or did not log
    /// its counters.
    pub fn stop(mut self) -> Result<Stopped> {
        let status = cmd::stop_child(&mut self.child, libc::SIGTERM, SHUTDOWN)
            .with_context(|| self.context())?;
        for reader in std::mem::take(&mut self.readers) {
            // Both pipes closed with the process; a panicked reader would show as missing lines.
            let _ = reader.join();
        }
        if !status.success() {
            bail!("the sensor exited with {status}; {}", self.context());
        }
        let invalid = self.invalid.snapshot();
        if !invalid.is_empty() {
            bail!(
                "the sensor printed {} non-JSON lines on stdout, first: {:?}",
                invalid.len(),
                invalid[0]
            );
        }
        let stderr = self.stderr.snapshot();
        let counters = stderr
            .iter()
            .find_map(|l| parse_stopped(l))
            .with_context(|| format!("no `stopped emitted=…` line; {}", self.context()))?;
        Ok(Stopped {
            records: self.records.snapshot(),
            stderr,
            counters,
        })
    }

    /// The sensor's recent stderr, for error messages.
    fn context(&self) -> String {
        let lines = self.stderr.snapshot();
        let tail = &lines[lines.len().saturating_sub(20)..];
        format!(
            "sensor pid {} stderr (last {} lines):\n{}",
            self.child.id(),
            tail.len(),
            tail.join("\n")
        )
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        // Still running only when a test failed before stop(); its programs detach with it.
        if let Ok(None) = self.child.try_wait() {
            if let Err(err) = self.child.kill() {
                eprintln!("warning: killing sensor {}: {err}", self.child.id());
            }
            let _ = self.child.wait();
        }
    }
}

/// Parses `… stopped emitted=N lost=N track_failed=N written=N write_failed=N`.
fn parse_stopped(line: &str) -> Option<Counters> {
    let fields = &line[line.find("stopped emitted=")? + "stopped ".len()..];
    let mut c = Counters::default();
    for field in fields.split_whitespace() {
        let (key, value) = field.split_once('=')?;
        let value: u64 = value.parse().ok()?;
        match key {
            "emitted" => c.emitted = value,
            "lost" => c.lost = value,
            "track_failed" => c.track_failed = value,
            "written" => c.written = value,
            "write_failed" => c.write_failed = value,
            _ => {}
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::{Counters, parse_stopped};

    #[test]
    fn parses_the_stopped_line() {
        let line = "2026-11-23T18:13:41.435132Z  INFO sensor::run: stopped emitted=32 lost=4 \
                    track_failed=0 written=16 write_failed=1";
        assert_eq!(
            parse_stopped(line),
            Some(Counters {
                emitted: 32,
                lost: 4,
                track_failed: 0,
                written: 16,
                write_failed: 1,
            })
        );
        assert_eq!(parse_stopped("INFO sensor::run: SIGTERM: stopping"), None);
    }
}
