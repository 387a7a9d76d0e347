//! `pam_unix(sshd:session)` lines, which sshd's process logs through PAM.
//!
//! Format strings (linux-pam `modules/pam_unix/pam_unix_sess.c`, prefixed by `pam_syslog()` with
//! `"pam_unix(%s:%s): "`, service and management group):
//!
//! - 1.5.0 and later (Debian 12, Ubuntu 22.04+):
//!   `"session opened for user %s(uid=%lu) by %s(uid=%lu)"` (user, uid, login name (usually
//!   empty for sshd), caller uid);
//! - before 1.5.0: `"session opened for user %s by %s(uid=%lu)"`;
//! - both: `"session closed for user %s"`.

use serde::Serialize;

use super::super::is_sshd_program;
use super::SshdMessage;

/// `session opened for user <user>[(uid=<uid>)] by <login>(uid=<by_uid>)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionOpened {
    pub user: String,
    /// The user's uid (linux-pam 1.5.0 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The uid of the process that opened the session (0: sshd's privileged process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_uid: Option<u32>,
}

/// Parses a whole `pam_unix(<service>:session): ...` message for an sshd service.
pub(super) fn parse(msg: &str) -> Option<SshdMessage> {
    let rest = msg.strip_prefix("pam_unix(")?;
    let (service, rest) = rest.split_once(":session): ")?;
    if !is_sshd_program(service) {
        return None;
    }
    if let Some(user) = rest.strip_prefix("session closed for user ") {
        return nonempty(user).map(|user| SshdMessage::SessionClosed {
            user: user.to_owned(),
        });
    }
    let rest = rest.strip_prefix("session opened for user ")?;
    // `<who> by <login>(uid=<n>)`: the caller's part is fixed by PAM, so split from the right.
    let (who, by_uid) = split_uid(rest)?;
    let (who, _login) = who.rsplit_once(" by ")?;
    let (user, uid) = match split_uid(who) {
        Some((user, uid)) => (user, Some(uid)),
        None => (who, None),
    };
    Some(SshdMessage::SessionOpened(SessionOpened {
        user: nonempty(user)?.to_owned(),
        uid,
        by_uid: Some(by_uid),
    }))
}

/// Splits `<text>(uid=<n>)` into the text and the uid.
fn split_uid(text: &str) -> Option<(&str, u32)> {
    let inner = text.strip_suffix(')')?;
    let (head, uid) = inner.rsplit_once("(uid=")?;
    if uid.is_empty() || !uid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head, uid.parse().ok()?))
}

fn nonempty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(user: &str, uid: Option<u32>, by_uid: Option<u32>) -> Option<SshdMessage> {
        Some(SshdMessage::SessionOpened(SessionOpened {
            user: user.into(),
            uid,
            by_uid,
        }))
    }

    #[test]
    fn new_and_old_opened_formats() {
        assert_eq!(
            parse("pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)"),
            opened("alice", Some(1000), Some(0))
        );
        assert_eq!(
            parse("pam_unix(sshd:session): session opened for user alice by (uid=0)"),
            opened("alice", None, Some(0))
        );
        assert_eq!(
            parse("pam_unix(sshd:session): session opened for user alice(uid=1000) by bob(uid=0)"),
            opened("alice", Some(1000), Some(0))
        );
    }

    #[test]
    fn closed_and_other_services() {
        assert_eq!(
            parse("pam_unix(sshd-session:session): session closed for user alice"),
            Some(SshdMessage::SessionClosed {
                user: "alice".into()
            })
        );
        for msg in [
            "pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh",
            "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=x)",
            "pam_unix(sshd:session): session opened for user alice(uid=1000)",
            "pam_unix(sshd:session): session opened for user  by (uid=0)",
            "pam_unix(sshd:session): session closed for user ",
        ] {
            assert_eq!(parse(msg), None, "{msg:?}");
        }
    }
}
