//! `sensor run` as a condition of a bench: started, ready, stopped, and what it said it emitted.
use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::mpsc::{self, Receiver, RecvTimeoutError},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use super::{check_interrupted, daemon::Daemon};

/// The stderr line `sensor run` logs once its programs are attached and the table is seeded.
const READY: &str = "tracing sshd sessions";
/// The stderr line it logs last, with its counters.
const STOPPED: &str = "stopped";
const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct Sensor {
    daemon: Daemon,
    lines: Receiver<String>,
    log: Vec<String>,
}

/// The counters of the sensor's last line.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Stopped {
    /// Events the kernel programs wrote to the ring buffer.
    pub emitted: u64,
    /// Events lost because the ring buffer was full.
    pub lost: u64,
}

impl Sensor {
    /// Starts `BIN run` (stdout to /dev/null) and waits for it to be tracing.
    pub fn start(bin: &Path) -> anyhow::Result<Self> {
        let mut command = Command::new(bin);
        command
            .args(["run", "--log", "info"])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command.stderr(Stdio::piped()).env_remove("SENSOR_LOG");
        let mut daemon = Daemon::spawn(&mut command)?;
        let stderr = daemon
            .take_stderr()
            .context("the sensor's stderr was not piped")?;
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut sensor = Self {
            daemon,
            lines,
            log: Vec::new(),
        };
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            check_interrupted()?;
            match sensor.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let ready = line.contains(READY);
                    sensor.log.push(line);
                    if ready {
                        return Ok(sensor);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = sensor.daemon.stop()?;
                    bail!(
                        "`sensor run` ended ({status}) before `{READY}`:\n{}",
                        sensor.log.join("\n")
                    );
                }
                Err(RecvTimeoutError::Timeout) if Instant::now() > deadline => {
                    bail!(
                        "`sensor run` did not log `{READY}` within {START_DEADLINE:?}:\n{}",
                        sensor.log.join("\n")
                    );
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// SIGTERM; reads the counters of its `stopped` line.
    pub fn stop(mut self) -> anyhow::Result<Stopped> {
        let status = self.daemon.stop()?;
        // The reader thread ends at end of file, once the sensor has exited.
        self.log.extend(self.lines.iter());
        let line = self
            .log
            .iter()
            .rev()
            .find(|l| l.contains(STOPPED) && l.contains("emitted="));
        let Some(line) = line else {
            bail!(
                "`sensor run` ended ({status}) without its `{STOPPED}` line:\n{}",
                self.log.join("\n")
            );
        };
        let field = |key: &str| -> anyhow::Result<u64> {
            let value = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
                .with_context(|| format!("no `{key}=` in the sensor's line `{line}`"))?;
            value
                .parse()
                .with_context(|| format!("`{key}={value}` in `{line}`"))
        };
        Ok(Stopped {
            emitted: field("emitted")?,
            lost: field("lost")?,
        })
    }
}
