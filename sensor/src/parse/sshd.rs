//! sshd's messages about authentication and sessions.
//!
//! One entry point, [`parse_message`], for the message text sshd hands to syslog (the part of an
//! auth.log line after `sshd[1234]: `, or journald's `MESSAGE=`), from OpenSSH 8.9 (Ubuntu 22.04)
//! through 10.x, whatever the program name (`sshd`, `sshd-session`, `sshd-auth`).
//!
//! # Attacker-controlled text
//!
//! The user name (and, in some lines, a certificate key ID, a hostbased client user name or a
//! disconnect reason) is chosen by the client and may hold spaces and words like `from` or
//! `port`. Every parser here therefore anchors on the fixed tail sshd writes after the user
//! (`from <ip> port <n> ssh2`, `<ip> port <n>`), searching from the right, and checks that the
//! text on both sides of the anchor has the shape sshd gives it. A message in which two
//! different anchors would each give a well-formed reading is refused (`None`) rather than
//! guessed: no client-chosen text can move the source address.
//!
//! sshd's own logger bounds a message to 1023 bytes (`log.c`, `MSGBUFSIZ`), so longer messages
//! are not sshd's and are refused up front; this also bounds the work done per message.

mod auth;
mod conn;
mod method;
mod session;

use std::net::IpAddr;

use serde::Serialize;

pub use self::auth::AuthAttempt;
pub use self::conn::{Peer, PeerUser, UserState};
pub use self::method::{AuthMethod, CertInfo, KeyInfo};
pub use self::session::SessionOpened;

/// Longest message accepted. sshd never writes more than 1023 bytes (plus the ` [preauth]` the
/// monitor appends within the same bound); the margin tolerates syslog daemons that escape
/// bytes (`#033`) on the way.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The suffix sshd's monitor appends to what the unprivileged pre-authentication child logs
/// (`monitor.c`, `monitor_read_log()`).
const PREAUTH_SUFFIX: &str = " [preauth]";

/// One sshd message about authentication or a session.
///
/// Serialised (serde) as a JSON object with a snake_case `kind` field naming the variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SshdMessage {
    /// `Accepted <method> for <user> from <ip> port <n> ssh2[: <key>]`: a login succeeded.
    Accepted(AuthAttempt),
    /// `Failed <method> for [invalid user ]<user> from <ip> port <n> ssh2[: <key>]`.
    Failed(AuthAttempt),
    /// `Postponed <method> for <user> from <ip> port <n> ssh2 [preauth]`: a step of a
    /// multi-round method (keyboard-interactive, a publickey query) is under way.
    Postponed(AuthAttempt),
    /// `Partial <method> for <user> from ...`: one of several required methods succeeded
    /// (`AuthenticationMethods`).
    Partial(AuthAttempt),
    /// `Invalid user <user> from <ip> port <n>`: the client named a user that does not exist.
    InvalidUser {
        user: String,
        source: IpAddr,
        port: u16,
    },
    /// `Disconnected from [<who> ]<ip> port <n>[ [preauth]]`: sshd saw the connection end.
    Disconnected(Peer),
    /// `Received disconnect from [<who> ]<ip> port <n>:<code>: <reason>[ [preauth]]`: the
    /// client sent SSH_MSG_DISCONNECT.
    ReceivedDisconnect {
        #[serde(flatten)]
        peer: Peer,
        /// The SSH disconnect reason code (11 = SSH2_DISCONNECT_BY_APPLICATION).
        code: u32,
        /// The client's reason text (client-controlled).
        reason: String,
    },
    /// `Connection closed by [<who> ]<ip> port <n>[ [preauth]]`.
    ConnectionClosed(Peer),
    /// `Connection reset by [<who> ]<ip> port <n>[ [preauth]]`.
    ConnectionReset(Peer),
    /// `pam_unix(sshd:session): session opened for user <user>[(uid=<n>)] by <login>(uid=<n>)`.
    SessionOpened(SessionOpened),
    /// `pam_unix(sshd:session): session closed for user <user>`.
    SessionClosed { user: String },
}

impl SshdMessage {
    /// The source address, for the variants that carry one.
    pub fn source(&self) -> Option<IpAddr> {
        match self {
            Self::Accepted(a) | Self::Failed(a) | Self::Postponed(a) | Self::Partial(a) => {
                Some(a.source)
            }
            Self::InvalidUser { source, .. } => Some(*source),
            Self::Disconnected(p) | Self::ConnectionClosed(p) | Self::ConnectionReset(p) => {
                Some(p.source)
            }
            Self::ReceivedDisconnect { peer, .. } => Some(peer.source),
            Self::SessionOpened(_) | Self::SessionClosed { .. } => None,
        }
    }
}

/// Parses one sshd message. `None` for messages that are not about authentication or
/// sessions, for messages longer than [`MAX_MESSAGE_LEN`], and for messages whose shape does
/// not match what sshd writes (including ambiguous ones, see the module documentation).
pub fn parse_message(msg: &str) -> Option<SshdMessage> {
    if msg.len() > MAX_MESSAGE_LEN {
        return None;
    }
    let (body, preauth) = strip_preauth(msg);
    let (word, rest) = body.split_once(' ')?;
    match word {
        "Accepted" => auth::parse(rest, preauth).map(SshdMessage::Accepted),
        "Failed" => auth::parse(rest, preauth).map(SshdMessage::Failed),
        "Postponed" => auth::parse(rest, preauth).map(SshdMessage::Postponed),
        "Partial" => auth::parse(rest, preauth).map(SshdMessage::Partial),
        "Invalid" => auth::parse_invalid_user(rest),
        "Disconnected" => {
            conn::parse_tail(rest.strip_prefix("from ")?, preauth).map(SshdMessage::Disconnected)
        }
        "Received" => {
            conn::parse_received_disconnect(rest.strip_prefix("disconnect from ")?, preauth)
        }
        "Connection" => {
            if let Some(tail) = rest.strip_prefix("closed by ") {
                conn::parse_tail(tail, preauth).map(SshdMessage::ConnectionClosed)
            } else {
                conn::parse_tail(rest.strip_prefix("reset by ")?, preauth)
                    .map(SshdMessage::ConnectionReset)
            }
        }
        _ if word.starts_with("pam_unix(") => session::parse(body),
        _ => None,
    }
}

/// Splits off the ` [preauth]` suffix, once.
fn strip_preauth(msg: &str) -> (&str, bool) {
    match msg.strip_suffix(PREAUTH_SUFFIX) {
        Some(body) => (body, true),
        None => (msg, false),
    }
}
