//! A journal entry as the sensor sees it, whatever it came from (the live journal, a `.journal`
//! file, `journalctl -o export` or `-o json`), and whether it is really sshd's.
//!
//! Trust rests on the fields journald itself writes (those starting with `_`), which a client
//! cannot set: `_PID`, `_UID`, `_EXE`. `SYSLOG_IDENTIFIER` and `_COMM` never suffice, since any
//! process can choose them (`logger -t sshd`, `prctl(PR_SET_NAME)`, a copied binary).
use std::path::Path;

use serde::Serialize;

/// The fields of one entry the sensor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// `__CURSOR`: where the entry is in the journal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// `__REALTIME_TIMESTAMP`: µs since the epoch when journald received the entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime_us: Option<u64>,
    /// `MESSAGE`, lossily decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `_PID` (trusted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// `_UID` (trusted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// `_EXE` (trusted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// `_COMM` (trusted to be the comm, but any process can set its comm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    /// `_CMDLINE` (trusted to be the cmdline, which the process itself may have rewritten).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
    /// `SYSLOG_IDENTIFIER` (set by the client: untrusted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// `SYSLOG_PID` (set by the client: untrusted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syslog_pid: Option<u32>,
    /// `_HOSTNAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `_TRANSPORT` (syslog, journal, stdout, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// `_BOOT_ID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
}

impl JournalEntry {
    /// Builds an entry from `(name, value)` pairs, as every journal format yields them. Unknown
    /// fields are ignored; a repeated field keeps its first value; bad numbers are left out.
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        let mut e = Self::default();
        for (name, value) in fields {
            let text = || String::from_utf8_lossy(value).into_owned();
            let number = || std::str::from_utf8(value).ok().map(str::trim);
            match name {
                b"__CURSOR" => set(&mut e.cursor, text()),
                b"__REALTIME_TIMESTAMP" => {
                    e.realtime_us = e.realtime_us.or_else(|| number()?.parse().ok())
                }
                b"MESSAGE" => set(&mut e.message, text()),
                b"_PID" => e.pid = e.pid.or_else(|| number()?.parse().ok()),
                b"_UID" => e.uid = e.uid.or_else(|| number()?.parse().ok()),
                b"_EXE" => set(&mut e.exe, text()),
                b"_COMM" => set(&mut e.comm, text()),
                b"_CMDLINE" => set(&mut e.cmdline, text()),
                b"SYSLOG_IDENTIFIER" => set(&mut e.identifier, text()),
                b"SYSLOG_PID" => e.syslog_pid = e.syslog_pid.or_else(|| number()?.parse().ok()),
                b"_HOSTNAME" => set(&mut e.hostname, text()),
                b"_TRANSPORT" => set(&mut e.transport, text()),
                b"_BOOT_ID" => set(&mut e.boot_id, text()),
                _ => {}
            }
        }
        e
    }

    /// Whether the entry claims to come from sshd: its identifier or comm is sshd-family.
    /// Claims are what the trust check then confirms or calls forged.
    pub fn claims_sshd(&self) -> bool {
        let family = |v: &Option<String>| v.as_deref().is_some_and(crate::procfs::is_sshd_family);
        family(&self.identifier) || family(&self.comm)
    }

    /// Whether the entry is sshd's, by its trusted fields alone.
    ///
    /// `decided_by_root`: the message is one only sshd's privileged monitor writes (an
    /// authentication result, a PAM session line), so a writer other than root is forged even
    /// with sshd's executable: any user may run `/usr/sbin/sshd` (under `LD_PRELOAD`, say) and
    /// make it log anything. Connection-end messages also come from sshd's unprivileged
    /// children (the privsep user before authentication, the logged-in user after), so for
    /// them any uid will do.
    pub fn provenance(&self, sshd_exes: &[impl AsRef<Path>], decided_by_root: bool) -> Provenance {
        let Some(pid) = self.pid else {
            return Provenance::Forged(Forgery::NoPid);
        };
        match self.uid {
            Some(0) => {}
            Some(_) if !decided_by_root => {}
            uid => return Provenance::Forged(Forgery::NotRoot { uid }),
        }
        match (&self.exe, &self.comm) {
            (Some(exe), _) if sshd_exes.iter().any(|p| Path::new(exe) == p.as_ref()) => {
                Provenance::Trusted { pid }
            }
            (Some(exe), _) => Provenance::Forged(Forgery::NotSshdExe { exe: exe.clone() }),
            // journald reads `_EXE` from /proc when the message arrives; a sender that exited at
            // once leaves none. Its comm (also from /proc) still rules it out when it is not
            // sshd's, but an sshd-family comm proves nothing: any process can set its comm.
            (None, Some(comm)) if !crate::procfs::is_sshd_family(comm) => {
                Provenance::Forged(Forgery::NotSshdComm { comm: comm.clone() })
            }
            (None, _) => Provenance::Unverified {
                pid,
                reason: Unverified::NoExe,
            },
        }
    }
}

fn set(slot: &mut Option<String>, value: String) {
    slot.get_or_insert(value);
}

/// Whether an entry that claims to be sshd's really is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Provenance {
    /// Written by a root process running a configured sshd executable, with this pid.
    Trusted { pid: u32 },
    /// Not sshd's, for this reason.
    Forged(Forgery),
    /// Claims to be from sshd process `pid`, but the record cannot prove it: the kernel's view
    /// of that pid has to settle it.
    Unverified { pid: u32, reason: Unverified },
    /// Was unverified, and the kernel tracer saw `pid` as an sshd-family process when the
    /// record was written (`sensor run` only).
    Verified { pid: u32 },
}

impl Provenance {
    /// `trusted`, `forged` or `unverified`, as serialised in `sensor.provenance.verdict`.
    pub const fn verdict(&self) -> &'static str {
        match self {
            Self::Trusted { .. } => "trusted",
            Self::Forged(_) => "forged",
            Self::Unverified { .. } => "unverified",
            Self::Verified { .. } => "verified",
        }
    }

    /// `sensor.provenance.reason`: why a record is forged or unverified.
    pub const fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Trusted { .. } => None,
            Self::Verified { .. } => Some("kernel"),
            Self::Forged(Forgery::NoPid) => Some("no_pid"),
            Self::Forged(Forgery::NotRoot { .. }) => Some("not_root"),
            Self::Forged(Forgery::NotSshdExe { .. }) => Some("not_sshd_exe"),
            Self::Forged(Forgery::NotSshdComm { .. }) => Some("not_sshd_comm"),
            Self::Forged(Forgery::NotSshdPid { .. }) => Some("not_sshd_pid"),
            Self::Unverified {
                reason: Unverified::NoExe,
                ..
            } => Some("no_exe"),
            Self::Unverified {
                reason: Unverified::PlainText,
                ..
            } => Some("plain_text"),
        }
    }

    pub const fn is_forged(&self) -> bool {
        matches!(self, Self::Forged(_))
    }
}

/// Why a record's claim to be sshd's could not be checked from the record alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unverified {
    /// A journal entry from root with an sshd comm but no `_EXE`: the sender exited before
    /// journald read /proc.
    NoExe,
    /// A plain-text syslog line (auth.log): it names a program and pid, which any process can
    /// write, and nothing else.
    PlainText,
}

/// Why an entry is not sshd's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Forgery {
    /// No `_PID`: journald did not vouch for the sender.
    NoPid,
    /// `_UID` is not 0 for a message only sshd's root monitor writes.
    NotRoot { uid: Option<u32> },
    /// `_EXE` is not a configured sshd-family executable.
    NotSshdExe { exe: String },
    /// No `_EXE`, and `_COMM` is not sshd-family.
    NotSshdComm { comm: String },
    /// The kernel tracer knows the pid the record names, and it is not an sshd-family
    /// process (`sensor run` only).
    NotSshdPid { comm: String },
}

impl std::fmt::Display for Forgery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoPid => write!(f, "no _PID field"),
            Self::NotRoot { uid: Some(uid) } => write!(f, "_UID is {uid}, not 0"),
            Self::NotRoot { uid: None } => write!(f, "no _UID field"),
            Self::NotSshdExe { exe } => write!(f, "_EXE {exe} is not an sshd executable"),
            Self::NotSshdComm { comm } => write!(f, "no _EXE, and _COMM {comm} is not sshd's"),
            Self::NotSshdPid { comm } => write!(f, "the pid is {comm}'s, not an sshd process's"),
        }
    }
}

/// Default sshd-family executables: Debian/Ubuntu and Fedora/RHEL layouts, OpenSSH 8.9 to 10.x.
pub const DEFAULT_SSHD_EXES: &[&str] = &[
    "/usr/sbin/sshd",
    "/usr/lib/openssh/sshd-session",
    "/usr/lib/openssh/sshd-auth",
    "/usr/libexec/openssh/sshd-session",
    "/usr/libexec/openssh/sshd-auth",
    "/usr/libexec/sshd-session",
    "/usr/libexec/sshd-auth",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of the real record in the toolchain notes (sshd in a namespace, journald 252).
    fn real() -> Vec<(&'static [u8], &'static [u8])> {
        vec![
            (b"__CURSOR", b"s=abc;i=1"),
            (b"__REALTIME_TIMESTAMP", b"1763892000123456"),
            (
                b"MESSAGE",
                b"Accepted password for alice from 10.0.0.2 port 55364 ssh2",
            ),
            (b"_PID", b"4242"),
            (b"_UID", b"0"),
            (b"_EXE", b"/usr/sbin/sshd"),
            (b"_COMM", b"sshd"),
            (b"_CMDLINE", b"sshd: alice [priv]"),
            (b"SYSLOG_IDENTIFIER", b"sshd"),
            (b"SYSLOG_PID", b"4242"),
            (b"_TRANSPORT", b"syslog"),
        ]
    }

    #[test]
    fn a_real_sshd_record_is_trusted() {
        let e = JournalEntry::from_fields(real());
        assert!(e.claims_sshd());
        assert_eq!(
            e.provenance(DEFAULT_SSHD_EXES, true),
            Provenance::Trusted { pid: 4242 }
        );
        assert_eq!(e.realtime_us, Some(1_763_892_000_123_456));
    }

    /// `logger -t sshd 'Accepted password for root from 10.6.6.6 port 22 ssh2'` as root.
    #[test]
    fn logger_as_root_is_forged() {
        let e = JournalEntry::from_fields(vec![
            (
                &b"MESSAGE"[..],
                &b"Accepted password for root from 10.6.6.6 port 22 ssh2"[..],
            ),
            (b"SYSLOG_IDENTIFIER", b"sshd"),
            (b"_PID", b"999"),
            (b"_UID", b"0"),
            (b"_EXE", b"/usr/bin/logger"),
            (b"_COMM", b"logger"),
        ]);
        assert!(e.claims_sshd());
        let Provenance::Forged(why) = e.provenance(DEFAULT_SSHD_EXES, true) else {
            panic!()
        };
        assert_eq!(
            why.to_string(),
            "_EXE /usr/bin/logger is not an sshd executable"
        );
    }

    #[test]
    fn renamed_binaries_non_root_and_missing_fields_are_forged() {
        let mut e = JournalEntry::from_fields(real());
        e.exe = Some("/tmp/sshd".into());
        assert!(matches!(
            e.provenance(DEFAULT_SSHD_EXES, true),
            Provenance::Forged(Forgery::NotSshdExe { .. })
        ));
        // A disconnect logged by the session's unprivileged child is sshd's; a login is not.
        let mut e = JournalEntry::from_fields(real());
        e.uid = Some(1000);
        assert_eq!(
            e.provenance(DEFAULT_SSHD_EXES, false),
            Provenance::Trusted { pid: 4242 }
        );
        assert_eq!(
            e.provenance(DEFAULT_SSHD_EXES, true),
            Provenance::Forged(Forgery::NotRoot { uid: Some(1000) })
        );
        let mut e = JournalEntry::from_fields(real());
        e.pid = None;
        assert_eq!(
            e.provenance(DEFAULT_SSHD_EXES, true),
            Provenance::Forged(Forgery::NoPid)
        );
        // A sender that exited before journald read /proc: its comm decides when it can.
        let mut e = JournalEntry::from_fields(real());
        e.exe = None;
        assert_eq!(
            e.provenance(DEFAULT_SSHD_EXES, true),
            Provenance::Unverified {
                pid: 4242,
                reason: Unverified::NoExe
            }
        );
        e.comm = Some("logger".into());
        assert_eq!(
            e.provenance(DEFAULT_SSHD_EXES, true),
            Provenance::Forged(Forgery::NotSshdComm {
                comm: "logger".into()
            })
        );
    }

    #[test]
    fn first_value_wins_and_bad_numbers_are_dropped() {
        let e = JournalEntry::from_fields(vec![
            (&b"_PID"[..], &b"12x"[..]),
            (b"_UID", b"0"),
            (b"_UID", b"1000"),
            (b"MESSAGE", b"\xff\xfeok"),
        ]);
        assert_eq!((e.pid, e.uid), (None, Some(0)));
        assert_eq!(e.message.as_deref(), Some("\u{fffd}\u{fffd}ok"));
        assert!(!e.claims_sshd());
    }
}
