//! The one parser of sshd's log messages and of auth.log lines.
//!
//! Pure functions over text, no I/O: the log sources (`source::authlog`, `source::journald`,
//! `source::replay`) read the bytes, this module turns them into typed records.
//!
//! - [`syslog::parse_line`] splits one auth.log line (classic `Nov 23 10:00:00` or RFC 3339
//!   timestamps) into timestamp, hostname, program, pid and message. It takes `&[u8]` and never
//!   panics, whatever the bytes.
//! - [`sshd::parse_message`] turns one sshd message (the part after `sshd[1234]: `, or the
//!   journald `MESSAGE=` field) into an [`sshd::SshdMessage`], or `None` when the message is not
//!   about authentication or sessions.
//! - [`is_sshd_program`] tells whether a syslog program name (journald `SYSLOG_IDENTIFIER`) is
//!   one of sshd's: `sshd`, `sshd-session` (OpenSSH 9.8+), `sshd-auth` (OpenSSH 10.0+).
//!
//! Source addresses come out as [`std::net::IpAddr`] already normalised: an IPv4-mapped IPv6
//! address (`::ffff:10.0.0.2`) becomes the IPv4 address, so network tests see one form.
//!
//! This module refers to its own items only through `self::`/`super::` paths, so that the same
//! files also compile as the root of the fuzz target (`fuzz/fuzz_targets/sshd_line.rs`).

pub mod addr;
pub mod sshd;
pub mod syslog;
pub mod year;

#[cfg(test)]
mod tests;

pub use self::sshd::{SshdMessage, parse_message};
pub use self::syslog::{LineError, SyslogLine, parse_line, unwrap_repeated};
pub use self::year::{ClassicZone, YearInference};

/// The program names sshd logs under.
///
/// `sshd` is the listener (and, before OpenSSH 9.8, every per-connection process);
/// `sshd-session` is the per-connection binary since OpenSSH 9.8; `sshd-auth` is the pre-auth
/// binary since OpenSSH 10.0.
pub const SSHD_PROGRAMS: [&str; 3] = ["sshd", "sshd-session", "sshd-auth"];

/// Whether `name` (a syslog program name or journald `SYSLOG_IDENTIFIER`) is one of sshd's.
///
/// A leading directory (`/usr/sbin/sshd`, as some syslog daemons write the tag of a process that
/// was started by full path) is ignored; the rest must match exactly.
pub fn is_sshd_program(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    SSHD_PROGRAMS.contains(&base)
}
