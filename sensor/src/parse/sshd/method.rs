//! Authentication methods and the key information sshd appends to `auth_log()` lines.

use std::fmt;

use serde::{Serialize, Serializer};

/// An SSH authentication method as sshd names it in `auth_log()` (`method[/submethod]`).
///
/// Serialised as sshd's own spelling (`"keyboard-interactive/pam"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// `password`.
    Password,
    /// `keyboard-interactive[/<submethod>]`; on Linux the submethod is `pam`: the password
    /// typed at PAM's prompt.
    KeyboardInteractive { submethod: Option<String> },
    /// `publickey`.
    PublicKey,
    /// `hostbased`.
    HostBased,
    /// `gssapi-with-mic` (Kerberos).
    GssapiWithMic,
    /// `none`: the client's probe for the methods the server offers (or an empty password
    /// login when `PermitEmptyPasswords` allows it).
    None,
    /// Any other method name, kept verbatim (including its `/submethod`).
    Other(String),
}

impl AuthMethod {
    /// Parses sshd's `method[/submethod]` token.
    pub fn parse(token: &str) -> Self {
        let (name, sub) = match token.split_once('/') {
            Some((name, sub)) => (name, Some(sub)),
            None => (token, None),
        };
        match (name, sub) {
            ("password", None) => Self::Password,
            ("keyboard-interactive", sub) => Self::KeyboardInteractive {
                submethod: sub.map(str::to_owned),
            },
            ("publickey", None) => Self::PublicKey,
            ("hostbased", None) => Self::HostBased,
            ("gssapi-with-mic", None) => Self::GssapiWithMic,
            ("none", None) => Self::None,
            _ => Self::Other(token.to_owned()),
        }
    }

    /// Whether a person typed a secret that can be stolen and replayed: `password` and every
    /// `keyboard-interactive` (through PAM this is the account password). These are the logins
    /// a stolen password produces.
    pub fn is_password_class(&self) -> bool {
        matches!(self, Self::Password | Self::KeyboardInteractive { .. })
    }

    /// Whether sshd appends key information (`: <type> <fingerprint>...`) for this method.
    pub(super) fn carries_key(&self) -> bool {
        matches!(self, Self::PublicKey | Self::HostBased)
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password => f.write_str("password"),
            Self::KeyboardInteractive { submethod: None } => f.write_str("keyboard-interactive"),
            Self::KeyboardInteractive {
                submethod: Some(sub),
            } => write!(f, "keyboard-interactive/{sub}"),
            Self::PublicKey => f.write_str("publickey"),
            Self::HostBased => f.write_str("hostbased"),
            Self::GssapiWithMic => f.write_str("gssapi-with-mic"),
            Self::None => f.write_str("none"),
            Self::Other(name) => f.write_str(name),
        }
    }
}

impl Serialize for AuthMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The key a publickey or hostbased attempt used, from `auth.c` `format_method_key()`:
/// `"%s %s%s%s"` (type, fingerprint, `", "`, method info) for a plain key and
/// `"%s %s ID %s (serial %llu) CA %s %s%s%s"` for a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// `sshkey_type()`: `RSA`, `ECDSA`, `ED25519`, `ED25519-SK`, `ED25519-CERT`, ...
    pub key_type: String,
    /// `SHA256:<base64>` (or `MD5:<hex>` with `FingerprintHash md5`).
    pub fingerprint: String,
    /// Present when the key is a certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<CertInfo>,
}

/// An OpenSSH certificate's identity, as `format_method_key()` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// The certificate's key ID (chosen by whoever signed it; may hold spaces).
    pub id: String,
    pub serial: u64,
    /// The signing CA key's type and fingerprint.
    pub ca_key_type: String,
    pub ca_fingerprint: String,
}

/// What follows `ssh2: ` in an `auth_log()` line, split into a key and the method info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Extra {
    pub key: Option<KeyInfo>,
    /// Method info (`signature count = 3`, `client user "u", client host "h"`, a GSSAPI
    /// principal), or the whole text when it could not be split.
    pub info: Option<String>,
}

impl Extra {
    /// Splits `text` for `method`. `strict` is false when the text has a shape sshd does not
    /// write for that method (the caller then only accepts it if nothing else matches).
    pub fn parse(method: &AuthMethod, text: &str) -> (Self, bool) {
        let key = if method.carries_key() {
            parse_key(text)
        } else {
            None
        };
        if let Some((key, info)) = key {
            let strict = info.is_none_or(|i| info_shape_ok(method, i));
            let info = info.map(str::to_owned);
            return (
                Self {
                    key: Some(key),
                    info,
                },
                strict,
            );
        }
        let strict = matches!(method, AuthMethod::GssapiWithMic | AuthMethod::Other(_));
        let whole = Self {
            key: None,
            info: Some(text.to_owned()),
        };
        (whole, strict)
    }
}

/// The method info sshd appends after a key (`auth2-pubkey.c`: `"signature count = %u"` for
/// FIDO keys; `auth2-hostbased.c`: `"client user \"%.100s\", client host \"%.100s\""`).
fn info_shape_ok(method: &AuthMethod, info: &str) -> bool {
    match method {
        AuthMethod::PublicKey => info
            .strip_prefix("signature count = ")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        AuthMethod::HostBased => info.starts_with("client user \"") && info.ends_with('"'),
        _ => true,
    }
}

/// Parses `<type> <fp>[ ID <id> (serial <n>) CA <type> <fp>][, <info>]`. The certificate part is
/// tried first; a certificate line cut short (sshd truncates at 1023 bytes) still yields the
/// leading type and fingerprint, with the rest as info.
fn parse_key(text: &str) -> Option<(KeyInfo, Option<&str>)> {
    let (key_type, rest) = text.split_once(' ')?;
    let (fingerprint, rest) = match rest.split_once(' ') {
        Some((fp, rest)) => (fp, Some(rest)),
        None => (rest, None),
    };
    let (fingerprint, info) = match fingerprint.strip_suffix(',') {
        // `TYPE FP, info`: the comma closes the fingerprint.
        Some(fp) => (fp, rest),
        None => (fingerprint, None),
    };
    if !is_key_type(key_type) || !is_fingerprint(fingerprint) {
        return None;
    }
    let plain = KeyInfo {
        key_type: key_type.to_owned(),
        fingerprint: fingerprint.to_owned(),
        cert: None,
    };
    match (info, rest) {
        (Some(info), _) => Some((plain, Some(info))),
        (None, None) => Some((plain, None)),
        (None, Some(rest)) => match rest.strip_prefix("ID ").and_then(parse_cert) {
            Some((cert, info)) => Some((
                KeyInfo {
                    cert: Some(cert),
                    ..plain
                },
                info,
            )),
            None => Some((plain, Some(rest))),
        },
    }
}

/// Parses `<id> (serial <n>) CA <type> <fp>[, <info>]`. The key ID may hold anything, so the
/// first ` (serial ` after which the rest is well formed ends it.
fn parse_cert(text: &str) -> Option<(CertInfo, Option<&str>)> {
    const SERIAL: &str = " (serial ";
    let mut from = 0;
    while let Some(pos) = text.get(from..)?.find(SERIAL) {
        let at = from + pos;
        if let Some(parsed) = parse_cert_tail(&text[..at], &text[at + SERIAL.len()..]) {
            return Some(parsed);
        }
        from = at + SERIAL.len();
    }
    None
}

/// Parses `<n>) CA <type> <fp>[, <info>]` for key ID `id`.
fn parse_cert_tail<'a>(id: &str, tail: &'a str) -> Option<(CertInfo, Option<&'a str>)> {
    // Token by token, so that each try costs only the length of the words it reads.
    let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 20 {
        return None;
    }
    let serial: u64 = tail[..digits].parse().ok()?;
    let tail = tail[digits..].strip_prefix(") CA ")?;
    let (ca_type, tail) = tail.split_once(' ')?;
    if !is_key_type(ca_type) {
        return None;
    }
    let (ca_fp, info) = match tail.split_once(' ') {
        None => (tail, None),
        Some((word, info)) => (word.strip_suffix(',')?, Some(info)),
    };
    if !is_fingerprint(ca_fp) {
        return None;
    }
    let cert = CertInfo {
        id: id.to_owned(),
        serial,
        ca_key_type: ca_type.to_owned(),
        ca_fingerprint: ca_fp.to_owned(),
    };
    Some((cert, info))
}

/// `sshkey_type()` names: upper-case letters, digits and `-` (`ED25519-SK-CERT`).
fn is_key_type(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// `sshkey_fingerprint()` output (`SHA256:<base64>`, `MD5:<hex:...>`), or `(null)` when sshd
/// could not compute one.
fn is_fingerprint(text: &str) -> bool {
    if text == "(null)" {
        return true;
    }
    let Some((hash, digest)) = text.split_once(':') else {
        return false;
    };
    !hash.is_empty()
        && hash.bytes().all(|b| b.is_ascii_alphanumeric())
        && !digest.is_empty()
        && digest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_class_is_password_and_keyboard_interactive() {
        for (token, password) in [
            ("password", true),
            ("keyboard-interactive/pam", true),
            ("keyboard-interactive", true),
            ("keyboard-interactive/bsdauth", true),
            ("publickey", false),
            ("hostbased", false),
            ("gssapi-with-mic", false),
            ("none", false),
            ("password/x", false),
            ("otp", false),
        ] {
            assert_eq!(
                AuthMethod::parse(token).is_password_class(),
                password,
                "{token}"
            );
        }
    }

    #[test]
    fn method_round_trips_through_display() {
        for token in [
            "password",
            "keyboard-interactive/pam",
            "keyboard-interactive",
            "publickey",
            "hostbased",
            "gssapi-with-mic",
            "none",
            "publickey/odd",
            "something-new",
        ] {
            assert_eq!(AuthMethod::parse(token).to_string(), token);
        }
        assert_eq!(
            AuthMethod::parse("publickey/odd"),
            AuthMethod::Other("publickey/odd".into())
        );
    }

    #[test]
    fn plain_key_with_and_without_info() {
        let (key, info) = parse_key("ED25519 SHA256:abc+/=").expect("plain key");
        assert_eq!(key.key_type, "ED25519");
        assert_eq!(key.fingerprint, "SHA256:abc+/=");
        assert_eq!((key.cert, info), (None, None));

        let (key, info) = parse_key("ED25519-SK SHA256:x, signature count = 3").expect("sk key");
        assert_eq!(key.fingerprint, "SHA256:x");
        assert_eq!(info, Some("signature count = 3"));
    }

    #[test]
    fn certificate_with_spaces_in_key_id() {
        let text = "ED25519-CERT SHA256:fp ID alice (laptop) (serial 42) CA ED25519 SHA256:ca";
        let (key, info) = parse_key(text).expect("cert");
        let cert = key.cert.expect("cert part");
        assert_eq!(cert.id, "alice (laptop)");
        assert_eq!(cert.serial, 42);
        assert_eq!(cert.ca_key_type, "ED25519");
        assert_eq!(cert.ca_fingerprint, "SHA256:ca");
        assert_eq!(info, None);
    }

    #[test]
    fn truncated_certificate_keeps_the_key() {
        let (key, info) = parse_key("RSA-CERT SHA256:fp ID very long id cut he").expect("key");
        assert_eq!(key.key_type, "RSA-CERT");
        assert_eq!(key.cert, None);
        assert_eq!(info, Some("ID very long id cut he"));
    }

    #[test]
    fn rejects_text_that_is_not_a_key() {
        for text in [
            "",
            "ED25519",
            "ed25519 SHA256:x",
            "ED25519 nocolon",
            "RSA SHA256:",
        ] {
            assert_eq!(parse_key(text), None, "{text:?}");
        }
    }
}
