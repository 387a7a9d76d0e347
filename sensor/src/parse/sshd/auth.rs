//! `Accepted` / `Failed` / `Postponed` / `Partial` and `Invalid user` lines.
//!
//! Format strings (openssh-portable, unchanged from 7.x through 10.x):
//!
//! - `auth.c`, `auth_log()`:
//!   `"%s %s%s%s for %s%.100s from %.200s port %d ssh2%s%s"` with authmsg (`Accepted`,
//!   `Failed`, `Postponed`, `Partial`), method, `"/"` and submethod when there is one,
//!   `"invalid user "` when the user does not exist, the user (cut at 100 bytes),
//!   `ssh_remote_ipaddr()`, `ssh_remote_port()`, and `": "` plus `format_method_key()` (or
//!   `auth_method_info`) when there is key or method information.
//! - `auth.c`, `getpwnamallow()`: `"Invalid user %.100s from %.100s port %d"`.

use std::net::IpAddr;

use serde::Serialize;

use super::super::addr::{parse_ip, parse_port};
use super::SshdMessage;
use super::method::{AuthMethod, Extra, KeyInfo};

/// One `auth_log()` line: who tried which method from where, and with which key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthAttempt {
    /// The user name the client sent (client-controlled; sshd keeps at most 100 bytes).
    pub user: String,
    /// sshd's `invalid user ` marker: no such account.
    pub invalid_user: bool,
    pub method: AuthMethod,
    pub source: IpAddr,
    pub port: u16,
    /// The key, for publickey and hostbased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyInfo>,
    /// Method information after the key, or the whole text after `ssh2: ` when it is not a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// The line came from the pre-authentication child (` [preauth]`).
    pub preauth: bool,
}

/// Parses what follows the authmsg word: `<method> for [invalid user ]<user> from ...`.
pub(super) fn parse(rest: &str, preauth: bool) -> Option<AuthAttempt> {
    let (method, rest) = rest.split_once(' ')?;
    if method.is_empty() {
        return None;
    }
    let method = AuthMethod::parse(method);
    let rest = rest.strip_prefix("for ")?;
    let (invalid_user, rest) = match rest.strip_prefix("invalid user ") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let anchor = choose_anchor(&method, rest)?;
    let (key, info) = match anchor.extra {
        Some(extra) => (extra.key, extra.info),
        None => (None, None),
    };
    Some(AuthAttempt {
        user: rest[..anchor.user_end].to_owned(),
        invalid_user,
        method,
        source: anchor.source,
        port: anchor.port,
        key,
        info,
        preauth,
    })
}

/// Parses what follows `Invalid `: `user <user> from <ip> port <n>`. The user is everything up
/// to the last ` from `, so a user name holding ` from <ip> port <n>` cannot move the address.
pub(super) fn parse_invalid_user(rest: &str) -> Option<SshdMessage> {
    let rest = rest.strip_prefix("user ")?;
    let at = rest.rfind(" from ")?;
    let (ip, port) = rest[at + " from ".len()..].split_once(" port ")?;
    Some(SshdMessage::InvalidUser {
        user: rest[..at].to_owned(),
        source: parse_ip(ip)?,
        port: parse_port(port)?,
    })
}

/// A place where ` from <ip> port <n> ssh2` could end the user name.
#[derive(Debug)]
struct Anchor {
    /// Byte offset in the text after `for [invalid user ]` where the user ends.
    user_end: usize,
    source: IpAddr,
    port: u16,
    /// What follows `ssh2: `, split; `None` when the anchor ends the message.
    extra: Option<Extra>,
}

/// Picks the one anchor that ends the user name in `text` (`<user> from <ip> port <n> ssh2...`).
///
/// 1. An anchor that ends the message wins: nothing sshd writes after `ssh2: ` ends in `ssh2`,
///    so such an anchor is sshd's own and every other one lies inside the user name.
/// 2. Otherwise every anchor is followed by `: <extra>`. Those whose extra has the shape sshd
///    writes for the method (see [`Extra::parse`]) are kept; exactly one must remain.
/// 3. If none has that shape, a lone anchor is still accepted (tolerance for truncated lines
///    and distribution patches); several are refused.
fn choose_anchor(method: &AuthMethod, text: &str) -> Option<Anchor> {
    let candidates = find_anchors(text);
    if let Some(last) = candidates.last().filter(|c| c.tail.is_none()) {
        return Some(last.to_anchor(method));
    }
    let strict: Vec<Anchor> = candidates
        .iter()
        .map(|c| c.to_anchor_checked(method))
        .filter_map(|(anchor, strict)| strict.then_some(anchor))
        .collect();
    match (strict.len(), candidates.len()) {
        (1, _) => strict.into_iter().next(),
        (0, 1) => candidates.first().map(|c| c.to_anchor(method)),
        _ => None,
    }
}

/// An anchor found in the text, before its extra is interpreted.
struct Candidate<'a> {
    user_end: usize,
    source: IpAddr,
    port: u16,
    /// The text after `ssh2: `, or `None` when `ssh2` ends the message.
    tail: Option<&'a str>,
}

impl Candidate<'_> {
    fn to_anchor(&self, method: &AuthMethod) -> Anchor {
        self.to_anchor_checked(method).0
    }

    fn to_anchor_checked(&self, method: &AuthMethod) -> (Anchor, bool) {
        let (extra, strict) = match self.tail {
            Some(tail) => {
                let (extra, strict) = Extra::parse(method, tail);
                (Some(extra), strict)
            }
            None => (None, true),
        };
        let anchor = Anchor {
            user_end: self.user_end,
            source: self.source,
            port: self.port,
            extra,
        };
        (anchor, strict)
    }
}

/// Every ` from <ip> port <n> ssh2` in `text` followed by the end or by `: `, left to right. The
/// user may be empty, so an anchor may start at offset 0.
fn find_anchors(text: &str) -> Vec<Candidate<'_>> {
    const FROM: &str = " from ";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|t| t.find(FROM)) {
        let at = from + pos;
        if let Some(c) = anchor_at(text, at, at + FROM.len()) {
            found.push(c);
        }
        from = at + 1;
    }
    found
}

/// Checks `<ip> port <n> ssh2` then end or `: ` at `start`; the user ends at `user_end`.
fn anchor_at(text: &str, user_end: usize, start: usize) -> Option<Candidate<'_>> {
    let rest = text.get(start..)?;
    let (ip, rest) = rest.split_once(" port ")?;
    let source = parse_ip(ip)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let port = parse_port(&rest[..digits])?;
    let rest = rest[digits..].strip_prefix(" ssh2")?;
    let tail = match rest {
        "" => None,
        _ => Some(rest.strip_prefix(": ")?),
    };
    Some(Candidate {
        user_end,
        source,
        port,
        tail,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse_message;
    use super::*;
    use std::net::Ipv4Addr;

    fn attempt(msg: &str) -> AuthAttempt {
        match parse_message(msg) {
            Some(
                SshdMessage::Accepted(a)
                | SshdMessage::Failed(a)
                | SshdMessage::Postponed(a)
                | SshdMessage::Partial(a),
            ) => a,
            other => panic!("{msg:?} parsed as {other:?}"),
        }
    }

    const REAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn user_holding_a_fake_anchor_does_not_move_the_source() {
        let a = attempt(
            "Accepted password for evil from 10.9.9.9 port 22 ssh2 from 10.0.0.2 port 5555 ssh2",
        );
        assert_eq!(a.user, "evil from 10.9.9.9 port 22 ssh2");
        assert_eq!((a.source, a.port), (REAL, 5555));
        assert!(!a.invalid_user);
    }

    #[test]
    fn invalid_user_holding_a_fake_anchor_and_marker() {
        let a = attempt(
            "Failed password for invalid user invalid user x from 10.9.9.9 port 22 ssh2 \
             from 10.0.0.2 port 5555 ssh2",
        );
        assert!(a.invalid_user);
        assert_eq!(a.user, "invalid user x from 10.9.9.9 port 22 ssh2");
        assert_eq!((a.source, a.port), (REAL, 5555));
    }

    #[test]
    fn user_holding_a_fake_anchor_and_fake_key_before_a_real_key() {
        // The user ends in `ssh2: <key>`; only the real anchor is followed by a well-formed key
        // and nothing else.
        let a = attempt(
            "Accepted publickey for x from 10.9.9.9 port 22 ssh2: ED25519 SHA256:fake \
             from 10.0.0.2 port 5555 ssh2: ED25519 SHA256:real",
        );
        assert_eq!(a.user, "x from 10.9.9.9 port 22 ssh2: ED25519 SHA256:fake");
        assert_eq!((a.source, a.port), (REAL, 5555));
        assert_eq!(a.key.map(|k| k.fingerprint).as_deref(), Some("SHA256:real"));
    }

    #[test]
    fn user_faking_key_info_before_sk_key_info() {
        let a = attempt(
            "Accepted publickey for x from 10.9.9.9 port 22 ssh2: ED25519 SHA256:f, \
             from 10.0.0.2 port 5555 ssh2: ED25519-SK SHA256:real, signature count = 7",
        );
        assert_eq!((a.source, a.port), (REAL, 5555));
        assert_eq!(a.info.as_deref(), Some("signature count = 7"));
    }

    #[test]
    fn two_well_formed_readings_are_refused() {
        // A certificate key ID (chosen by the signer) holding a whole fake tail: the line reads
        // well both ways, so it is refused rather than guessed.
        let msg = "Failed publickey for root from 10.0.0.2 port 5555 ssh2: ED25519-CERT SHA256:a \
                   ID k (serial 1) CA ED25519 SHA256:c from 10.9.9.9 port 22 ssh2: \
                   ED25519-CERT SHA256:a ID k2 (serial 1) CA ED25519 SHA256:c";
        assert_eq!(parse_message(msg), None);
    }

    #[test]
    fn lone_anchor_with_unexpected_extra_is_kept() {
        // A password line with text after `ssh2: ` is not something stock sshd writes, but a
        // single reading is unambiguous.
        let a = attempt("Accepted password for alice from 10.0.0.2 port 5555 ssh2: patched");
        assert_eq!(a.user, "alice");
        assert_eq!(a.info.as_deref(), Some("patched"));
    }

    #[test]
    fn empty_user() {
        let a = attempt("Failed none for invalid user  from 10.0.0.2 port 5555 ssh2");
        assert_eq!(a.user, "");
        assert!(a.invalid_user);
        assert_eq!(a.method, AuthMethod::None);
    }

    #[test]
    fn invalid_user_line_with_from_in_the_name() {
        let msg = "Invalid user bob from 10.9.9.9 port 22 from 10.0.0.2 port 5555";
        assert_eq!(
            parse_message(msg),
            Some(SshdMessage::InvalidUser {
                user: "bob from 10.9.9.9 port 22".into(),
                source: REAL,
                port: 5555,
            })
        );
    }

    #[test]
    fn malformed_tails_are_refused() {
        for msg in [
            "Accepted password for alice from 10.0.0.2 port 5555",
            "Accepted password for alice from 10.0.0.2 port 5555 ssh1",
            "Accepted password for alice from 10.0.0.2 port +5555 ssh2",
            "Accepted password for alice from 10.0.0.2 port 99999 ssh2",
            "Accepted password for alice from host.example port 5555 ssh2",
            "Accepted password for alice from 10.0.0.2 port 5555 ssh2 trailing",
            "Accepted password alice from 10.0.0.2 port 5555 ssh2",
            "Accepted  for alice from 10.0.0.2 port 5555 ssh2",
            "Invalid user bob from 10.0.0.2",
            "Invalid user bob from 10.0.0.2 port x",
            "Invalid bob from 10.0.0.2 port 5",
        ] {
            assert_eq!(parse_message(msg), None, "{msg:?}");
        }
    }
}
