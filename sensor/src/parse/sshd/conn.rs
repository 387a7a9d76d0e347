//! Lines about the end of a connection: `Disconnected from`, `Received disconnect from`,
//! `Connection closed by`, `Connection reset by`.
//!
//! Format strings (openssh-portable `packet.c`):
//!
//! - `sshpkt_fmt_connection_id()`: `"%.200s%s%s port %d"`: the log preamble (if any), a space,
//!   `ssh_remote_ipaddr()`, `ssh_remote_port()`. The preamble is set once the user is known:
//!   `auth2.c` `input_userauth_request()`: `"%suser %s"` with `"authenticating "` or
//!   `"invalid "`; `monitor.c` `mm_answer_pwnamallow()` the same but with `"authenticating"`
//!   (no space: `authenticatinguser root`, a long-standing typo); after login
//!   (`sshd-session.c`, formerly `sshd.c`): `"user %s"`.
//! - `sshpkt_vfatal()`: `"Connection closed by %s"`, `"Connection reset by %s"`,
//!   `"Disconnected from %s"`.
//! - `ssh_packet_read_poll2()`, SSH2_MSG_DISCONNECT: `"Received disconnect from %s:%u: %.400s"`
//!   (remote id, reason code, the client's reason text); e.g. OpenSSH 9.2 writes
//!   `Received disconnect from 127.0.0.1 port 46062:11: disconnected by user`.

use std::net::IpAddr;

use serde::Serialize;

use super::super::addr::{parse_ip, parse_port};
use super::SshdMessage;

/// The peer of a connection as `sshpkt_fmt_connection_id()` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// The user from the log preamble, once sshd knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<PeerUser>,
    pub source: IpAddr,
    pub port: u16,
    /// The line came from the pre-authentication child (` [preauth]`).
    pub preauth: bool,
}

/// The user named in the log preamble and how far sshd got with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerUser {
    /// Client-controlled before login; sshd cuts the preamble at 200 bytes.
    pub name: String,
    pub state: UserState,
}

/// The log preamble's word for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    /// `authenticating user <name>`: an existing account, not logged in (yet).
    Authenticating,
    /// `invalid user <name>`: no such account.
    Invalid,
    /// `user <name>`: logged in.
    LoggedIn,
}

/// Parses `[<preamble> ]<ip> port <n>` that ends the message. The address is the last word
/// before the last ` port `, so a user name holding `<ip> port <n>` cannot move it.
pub(super) fn parse_tail(text: &str, preauth: bool) -> Option<Peer> {
    let (head, port) = text.rsplit_once(" port ")?;
    peer(head, port, preauth)
}

/// Parses what follows `Received disconnect from `:
/// `[<preamble> ]<ip> port <n>:<code>: <reason>`. The preamble's user and the reason are both
/// client-controlled, so every `<ip> port <n>:<code>:` in the text is tried and exactly one must
/// read well; older releases wrote `: <code>: ` and are accepted too.
pub(super) fn parse_received_disconnect(text: &str, preauth: bool) -> Option<SshdMessage> {
    const PORT: &str = " port ";
    let mut found = None;
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|t| t.find(PORT)) {
        let at = from + pos;
        if let Some(reading) = received_at(text, at, at + PORT.len(), preauth) {
            if found.is_some() {
                return None; // Two readings: refuse rather than guess.
            }
            found = Some(reading);
        }
        from = at + 1;
    }
    found
}

/// One reading of a `Received disconnect` line with ` port ` at `at`.
fn received_at(text: &str, at: usize, start: usize, preauth: bool) -> Option<SshdMessage> {
    let rest = text.get(start..)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let port = &rest[..digits];
    let rest = rest[digits..].strip_prefix(':')?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let code_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    if code_len == 0 || code_len > 10 {
        return None;
    }
    let code: u32 = rest[..code_len].parse().ok()?;
    let rest = rest[code_len..].strip_prefix(':')?;
    let reason = match rest {
        "" => "",
        _ => rest.strip_prefix(' ')?,
    };
    Some(SshdMessage::ReceivedDisconnect {
        peer: peer(text.get(..at)?, port, preauth)?,
        code,
        reason: reason.to_owned(),
    })
}

/// Builds a peer from `[<preamble> ]<ip>` and the port text.
fn peer(head: &str, port: &str, preauth: bool) -> Option<Peer> {
    let (preamble, ip) = match head.rsplit_once(' ') {
        Some((preamble, ip)) => (Some(preamble), ip),
        None => (None, head),
    };
    Some(Peer {
        user: match preamble {
            Some(p) => Some(preamble_user(p)?),
            None => None,
        },
        source: parse_ip(ip)?,
        port: parse_port(port)?,
        preauth,
    })
}

/// Reads the log preamble (`user x`, `authenticating user x`, `invalid user x`).
fn preamble_user(preamble: &str) -> Option<PeerUser> {
    const SHAPES: [(&str, UserState); 4] = [
        ("authenticating user ", UserState::Authenticating),
        ("authenticatinguser ", UserState::Authenticating),
        ("invalid user ", UserState::Invalid),
        ("user ", UserState::LoggedIn),
    ];
    SHAPES.iter().find_map(|(prefix, state)| {
        preamble.strip_prefix(prefix).map(|name| PeerUser {
            name: name.to_owned(),
            state: *state,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse_message;
    use super::*;
    use std::net::Ipv4Addr;

    const REAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    fn peer_of(msg: &str) -> Peer {
        match parse_message(msg) {
            Some(
                SshdMessage::Disconnected(p)
                | SshdMessage::ConnectionClosed(p)
                | SshdMessage::ConnectionReset(p)
                | SshdMessage::ReceivedDisconnect { peer: p, .. },
            ) => p,
            other => panic!("{msg:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn preamble_user_holding_an_address_does_not_move_the_source() {
        // Real OpenSSH 9.2 output for the user `evil from 10.9.9.9 port 22 ssh2`, with the
        // loopback address swapped for 10.0.0.2.
        let p = peer_of(
            "Connection closed by invalid user evil from 10.9.9.9 port 22 ssh2 10.0.0.2 \
             port 49554 [preauth]",
        );
        assert_eq!((p.source, p.port, p.preauth), (REAL, 49554, true));
        let user = p.user.expect("user");
        assert_eq!(user.name, "evil from 10.9.9.9 port 22 ssh2");
        assert_eq!(user.state, UserState::Invalid);
    }

    #[test]
    fn monitor_preamble_without_space() {
        let p = peer_of("Disconnected from authenticatinguser root 10.0.0.2 port 5 [preauth]");
        let user = p.user.expect("user");
        assert_eq!(
            (user.name.as_str(), user.state),
            ("root", UserState::Authenticating)
        );
    }

    #[test]
    fn unknown_preamble_is_refused() {
        for msg in [
            "Disconnected from somebody root 10.0.0.2 port 5",
            "Connection closed by UNKNOWN port 65535",
            "Connection closed by 10.0.0.2 port 5 x",
            "Connection closed by 10.0.0.2",
            "Connection lost by 10.0.0.2 port 5",
        ] {
            assert_eq!(parse_message(msg), None, "{msg:?}");
        }
    }

    #[test]
    fn received_disconnect_reason_holding_a_fake_tail() {
        // Without a preamble the text before a fake `<ip> port <n>:` in the reason is no
        // preamble, so only sshd's own reading is well formed.
        let msg = "Received disconnect from 10.0.0.2 port 5555:11: x 10.9.9.9 port 22:11: y";
        match parse_message(msg) {
            Some(SshdMessage::ReceivedDisconnect { peer, reason, .. }) => {
                assert_eq!((peer.source, peer.port), (REAL, 5555));
                assert_eq!(reason, "x 10.9.9.9 port 22:11: y");
            }
            other => panic!("{other:?}"),
        }
        // With a client-chosen user in the preamble both readings are well formed: refused.
        let msg = "Received disconnect from invalid user bob 10.0.0.2 port 5555:11: \
                   x 10.9.9.9 port 22:11: y [preauth]";
        assert_eq!(parse_message(msg), None);
    }

    #[test]
    fn received_disconnect_reason_with_noise_is_fine() {
        let msg = "Received disconnect from 10.0.0.2 port 5555:3: com.jcraft.jsch.JSchException: \
                   Auth fail [preauth]";
        match parse_message(msg) {
            Some(SshdMessage::ReceivedDisconnect { peer, code, reason }) => {
                assert_eq!((peer.source, peer.port, peer.preauth), (REAL, 5555, true));
                assert_eq!(code, 3);
                assert_eq!(reason, "com.jcraft.jsch.JSchException: Auth fail");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn received_disconnect_old_spacing_and_empty_reason() {
        let p = peer_of("Received disconnect from 10.0.0.2 port 5555: 11: ");
        assert_eq!((p.source, p.port), (REAL, 5555));
        assert!(matches!(
            parse_message("Received disconnect from 10.0.0.2 port 5555:11:"),
            Some(SshdMessage::ReceivedDisconnect { code: 11, .. })
        ));
        assert_eq!(
            parse_message("Received disconnect from 10.0.0.2 port 5555:x: y"),
            None
        );
    }
}
