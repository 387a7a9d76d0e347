//! `sensor run` as the service it is meant to be: signalled (SIGHUP reloads), stopped and
//! restarted on its state directory, and started without the capabilities eBPF needs (log-only
//! mode). [`Service`] is [`crate::sensor::Sensor`], which does all of this; this module keeps the
//! names the daemon tests read best with, and the forger of sshd records.
use std::{process::Command, time::Duration};

use anyhow::Result;

use crate::cmd;

/// How long `logger` may take.
const LOGGER: Duration = Duration::from_secs(30);

pub use crate::sensor::{LOG_ONLY, Privileges, Sensor as Service, Stopped};

/// `logger -t sshd TEXT`: a record in the journal that claims to be sshd's, written by logger.
pub fn forge_sshd_record(text: &str) -> Result<()> {
    cmd::run(
        Command::new("logger").args(["--socket-errors=on", "-t", "sshd", text]),
        LOGGER,
    )
    .map(drop)
}
