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
/// How long the sensor may take to drain and exit after SIGTERM.
const SHUTDOWN: Duration = Duration::from_secs(30);

/// A running `sensor run`. Killed on drop if [`Sensor::stop`] was not called.
#[derive(Debug)]
pub struct Sensor {
    child: Child,
    /// The state directory (`--state-dir`), private to this sensor unless shared on purpose.
    state: Arc<TempDir>,
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

    /// Starts `sensor --log info run ARGS` with a fresh state directory and waits until it
    /// traces.
    pub fn start(args: &[&str]) -> Result<Self> {
        Self::start_with_state(Arc::new(TempDir::new("state")?), args)
    }

    /// Like [`Sensor::start`], with the state directory of an earlier run (a restart).
    pub fn start_with_state(state: Arc<TempDir>, args: &[&str]) -> Result<Self> {
        let bin = Self::binary()?;
        let mut child = Command::new(&bin)
            .args(["--log", "info", "run", "--state-dir"])
            .arg(state.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("sensor stdout")?;
        let stderr = child.stderr.take().context("sensor stderr")?;
        // Owned from here on, so that an error below still kills the sensor.
        let mut sensor = Self {
            child,
            state,
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
        sensor
            .stderr
            .wait_for("the sensor's ready line", STARTUP, |l| l.contains(READY))
            .with_context(|| sensor.context())?;
        Ok(sensor)
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
        self.stderr
            .wait_for(needle, timeout, |l| l.contains(needle))
            .map(|(_, line)| line)
            .with_context(|| self.context())
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
