//! The configuration file of `sensor run`: [`DEFAULT_PATH`], TOML.
//!
//! Every key is optional and the defaults work without a file ([`Config::load_or_default`]).
//! Unknown keys are errors, not ignored: a misspelt `alowlist` must not silently turn an
//! allowlist off. Values are checked once, here (CIDRs, absolute paths, the ring-buffer size, a
//! metrics address that is not loopback), and every error names the file, the line and column,
//! and the dotted key, e.g.
//!
//! ```text
//! /etc/sensor/config.toml:4:3: detect.internal_networks: invalid CIDR `10.0.0.0/33`: the prefix length must be 0 to 32
//! /etc/sensor/config.toml:4:1: detect.alowlist: unknown field `alowlist`, expected `internal_networks` or `allowlist`
//! ```
//!
//! `packaging/config.toml` is the annotated default file; a unit test checks that it parses to
//! [`Config::default`]. Command-line flags override these values in one place, in `main`.
use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, de::Error as _};

use crate::{
    logs::LogSource,
    source::{ebpf::TracerOptions, journald::DEFAULT_SSHD_EXES},
};

/// Where `sensor run` looks for its configuration.
pub const DEFAULT_PATH: &str = "/etc/sensor/config.toml";

pub use crate::detect::rule::DEFAULT_INTERNAL_NETWORKS;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// What must survive a restart: each log source's resume point and the alert dedup keys.
    /// Created 0700 if absent. Default `/var/lib/sensor`.
    #[serde(deserialize_with = "absolute_path")]
    pub state_dir: PathBuf,
    /// An extra directory of rule files (`*.toml`), loaded after the shipped rules. Default:
    /// none.
    #[serde(deserialize_with = "optional_absolute_path")]
    pub rules_dir: Option<PathBuf>,
    /// `[detect]`.
    pub detect: Detect,
    /// `[sources]`.
    pub sources: Sources,
    /// `[sinks]`.
    pub sinks: Sinks,
    /// `[metrics]`.
    pub metrics: Metrics,
    /// `[tracer]`.
    pub tracer: Tracer,
}

/// `[detect]`: what the rules treat as internal, and what never alerts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Detect {
    /// Networks whose addresses count as internal: a password login from one of them is lateral
    /// movement. CIDRs (`10.0.0.0/8`) or single addresses (`10.1.2.3`, taken as /32 or /128);
    /// host bits must be zero (`10.0.0.1/8` is refused as ambiguous). Default:
    /// [`DEFAULT_INTERNAL_NETWORKS`].
    #[serde(deserialize_with = "networks")]
    pub internal_networks: Vec<IpNet>,
    /// Events that never alert, each an Elastic KQL query over the alert's ECS fields, e.g.
    /// `user.name: "backup" and source.ip: 10.1.2.3`. Kept as text here; the rule loader
    /// compiles them (and reports a bad one). Default: none.
    pub allowlist: Vec<String>,
}

/// `[sources]`: where sshd's login records come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sources {
    /// `"auto"` (the journal where journald runs, else `auth_log`), `"journald"` or
    /// `"auth-log"`; the same choice as `sensor run --source`. Default `"auto"`.
    pub logs: LogChoice,
    /// The syslog file sshd's records are in, for `logs = "auth-log"` (and `"auto"` without
    /// journald). Default `/var/log/auth.log`.
    #[serde(deserialize_with = "absolute_path")]
    pub auth_log: PathBuf,
    /// Executables whose journal records are trusted as sshd's (compared with journald's
    /// `_EXE`). Default: the usual paths of sshd, sshd-session and sshd-auth.
    #[serde(deserialize_with = "absolute_paths")]
    pub sshd_exes: Vec<PathBuf>,
}

/// `[sources] logs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogChoice {
    #[default]
    Auto,
    Journald,
    AuthLog,
}

/// `[sinks]`: where alerts go. Any combination; each failed write is counted and logged.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sinks {
    /// JSON Lines on stdout (under systemd, stdout goes to the journal). Default `true`.
    pub stdout: bool,
    /// Also append JSON Lines to this file (created 0640), reopened on SIGUSR1 for logrotate.
    /// Default: none. The packaged unit lets the sensor write under `/var/log/sensor`.
    #[serde(deserialize_with = "optional_absolute_path")]
    pub file: Option<PathBuf>,
    /// Also send each alert to journald, with its ECS fields as `SENSOR_*` journal fields.
    /// Default `false`.
    pub journald: bool,
}

/// `[metrics]`: Prometheus metrics over HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "RawMetrics")]
pub struct Metrics {
    /// Serve `GET /metrics` on this address, e.g. `"127.0.0.1:9464"`. Default: off.
    pub listen: Option<SocketAddr>,
    /// Allow `listen` on an address other than loopback. The endpoint has no TLS and no
    /// authentication. Default `false`.
    pub allow_non_loopback: bool,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawMetrics {
    listen: Option<SocketAddr>,
    allow_non_loopback: bool,
}

impl TryFrom<RawMetrics> for Metrics {
    type Error = String;

    fn try_from(raw: RawMetrics) -> Result<Self, String> {
        match raw.listen {
            Some(addr) if !addr.ip().is_loopback() && !raw.allow_non_loopback => Err(format!(
                "listen = \"{addr}\" is not a loopback address; the metrics endpoint has no \
                 authentication (set allow_non_loopback = true to expose it anyway)"
            )),
            listen => Ok(Self {
                listen,
                allow_non_loopback: raw.allow_non_loopback,
            }),
        }
    }
}

/// `[tracer]`: the kernel ring buffer between the eBPF programs and the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tracer {
    /// Size of the ring buffer in bytes: a power of two, at least 4096, and a multiple of the
    /// page size. Smaller loses events under bursts (and says so); larger locks more memory.
    /// Default 1 MiB (`--ring-buffer-size`).
    #[serde(deserialize_with = "ring_size")]
    pub ring_buffer_size: u32,
    /// Wake the reader once this many bytes wait; sshd's own events always wake it at once.
    /// Default: absent, a quarter of the ring buffer (`--wakeup-bytes`).
    pub wakeup_bytes: Option<u64>,
    /// How often the reader drains the ring buffer without being woken, in milliseconds,
    /// 1..=10000. Default 50 (`--drain-interval-ms`).
    #[serde(deserialize_with = "drain_interval")]
    pub drain_interval_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::from("/var/lib/sensor"),
            rules_dir: None,
            detect: Detect::default(),
            sources: Sources::default(),
            sinks: Sinks::default(),
            metrics: Metrics::default(),
            tracer: Tracer::default(),
        }
    }
}

impl Default for Detect {
    fn default() -> Self {
        Self {
            internal_networks: crate::detect::Variables::default().internal_networks,
            allowlist: Vec::new(),
        }
    }
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            logs: LogChoice::Auto,
            auth_log: PathBuf::from("/var/log/auth.log"),
            sshd_exes: DEFAULT_SSHD_EXES.iter().map(PathBuf::from).collect(),
        }
    }
}

impl Default for Sinks {
    fn default() -> Self {
        Self {
            stdout: true,
            file: None,
            journald: false,
        }
    }
}

impl Default for Tracer {
    fn default() -> Self {
        let defaults = TracerOptions::default();
        Self {
            ring_buffer_size: defaults.ring_bytes,
            wakeup_bytes: None,
            drain_interval_ms: u64::try_from(defaults.drain_interval.as_millis()).unwrap_or(50),
        }
    }
}

impl Sources {
    /// The log source to follow; `auto` looks for journald's socket now.
    pub fn log_source(&self) -> LogSource {
        match self.logs {
            LogChoice::Journald => LogSource::Journald,
            LogChoice::AuthLog => LogSource::AuthLog(self.auth_log.clone()),
            LogChoice::Auto => LogSource::detect(self.auth_log.clone()),
        }
    }
}

impl Tracer {
    /// The kernel source's options.
    pub fn options(&self) -> TracerOptions {
        TracerOptions {
            ring_bytes: self.ring_buffer_size,
            wakeup_bytes: self.wakeup_bytes.unwrap_or(0),
            drain_interval: Duration::from_millis(self.drain_interval_ms),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading the configuration {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad TOML, an unknown key, or a value out of range. `key` is the dotted key at fault;
    /// line and column are 1-based (1:1 if the parser gave no position).
    #[error("{}:{line}:{column}: {}{message}", path.display(), key.as_deref().map(|k| format!("{k}: ")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        key: Option<String>,
        message: String,
    },
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Like [`Config::load`], but a file that does not exist gives the defaults. Any other
    /// failure (unreadable, invalid) is an error: a broken file must not fall back silently.
    pub fn load_or_default(path: &Path) -> Result<Self, ConfigError> {
        match Self::load(path) {
            Err(ConfigError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(Self::default())
            }
            other => other,
        }
    }

    /// Parses `text`; `path` is only for error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_column(text, offset);
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                column,
                key: e.span().and_then(|s| key_at(text, s.start)),
                message: e.message().trim().to_owned(),
            }
        })
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key whose key or value covers byte `offset`, e.g. `detect.internal_networks`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    find_key(doc.get_ref(), offset, &mut path).then(|| path.join("."))
}

fn find_key(table: &toml::de::DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    use toml::de::DeValue;
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        let deeper = match value.get_ref() {
            DeValue::Table(inner) => find_key(inner, offset, path),
            DeValue::Array(items) => items.iter().any(|item| match item.get_ref() {
                DeValue::Table(inner) => find_key(inner, offset, path),
                _ => false,
            }),
            _ => false,
        };
        if deeper || key.span().contains(&offset) || value.span().contains(&offset) {
            return true;
        }
        path.pop();
    }
    false
}

/// Deserialises a string checked by `check`. The check runs inside the deserializer's own
/// call, so toml attributes its error to this value (an array element, not the whole array).
struct Checked<T>(fn(&str) -> Result<T, String>, &'static str);

impl<'de, T> serde::de::Visitor<'de> for Checked<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
}

/// A value that deserialises through a [`Checked`] string.
struct Item<T>(T);

impl<'de> Deserialize<'de> for Item<PathBuf> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Checked(parse_absolute, "an absolute path"))
            .map(Self)
    }
}

impl<'de> Deserialize<'de> for Item<IpNet> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Checked(parse_network, "a CIDR such as `10.0.0.0/8`"))
            .map(Self)
    }
}

fn parse_absolute(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(format!("`{text}` is not an absolute path"))
    }
}

fn absolute_path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    Item::<PathBuf>::deserialize(d).map(|i| i.0)
}

fn optional_absolute_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    absolute_path(d).map(Some)
}

fn absolute_paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    let items = Vec::<Item<PathBuf>>::deserialize(d)?;
    Ok(items.into_iter().map(|i| i.0).collect())
}

fn networks<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let items = Vec::<Item<IpNet>>::deserialize(d)?;
    Ok(items.into_iter().map(|i| i.0).collect())
}

/// A CIDR with no host bits set (`10.0.0.0/8`), or a single address (`10.1.2.3`, a /32).
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("invalid CIDR `{text}`: `{addr}` is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        "" if !text.contains('/') => max,
        p => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(|| {
            format!("invalid CIDR `{text}`: the prefix length must be 0 to {max}")
        })?,
    };
    let net = IpNet::new(addr, prefix).map_err(|e| format!("invalid CIDR `{text}`: {e}"))?;
    if net.trunc() != net {
        return Err(format!(
            "`{text}` has host bits set: write `{}` for the network, or `{}` for the host",
            net.trunc(),
            net.addr()
        ));
    }
    Ok(net)
}

fn ring_size<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let size = u32::deserialize(d)?;
    if size >= 4096 && size.is_power_of_two() {
        Ok(size)
    } else {
        Err(D::Error::custom(format!(
            "{size} is not a power of two of at least 4096"
        )))
    }
}

fn drain_interval<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let ms = u64::deserialize(d)?;
    if (1..=10_000).contains(&ms) {
        Ok(ms)
    } else {
        Err(D::Error::custom(format!("{ms} is not within 1..=10000")))
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
