//! What an input holds, told by its first bytes rather than its name (a rotated `auth.log.1`,
//! a journal copied off a host as `evidence.bin`, a dump piped in on stdin).
use std::fmt;

use super::{export, gate};

/// The formats replay reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rsyslog's auth.log, classic or RFC 3339 timestamps.
    AuthLog,
    /// A systemd `.journal` file.
    Journal,
    /// `journalctl -o export`.
    JournalExport,
    /// `journalctl -o json`.
    JournalJson,
    /// ECS documents, one JSON object per line: what `sensor run` writes, or another agent's
    /// ECS events.
    Ecs,
    /// A Windows `.evtx` event log (read in a memory-limited child process).
    Evtx,
    /// Winlogbeat's NDJSON (Windows events with a `winlog` object).
    Winlogbeat,
}

impl Format {
    pub const fn name(self) -> &'static str {
        match self {
            Self::AuthLog => "auth-log",
            Self::Journal => "journal",
            Self::JournalExport => "journal-export",
            Self::JournalJson => "journal-json",
            Self::Ecs => "ecs-json",
            Self::Evtx => "evtx",
            Self::Winlogbeat => "winlogbeat-json",
        }
    }

    /// What one unit of the format is called in the summary.
    pub const fn unit(self) -> &'static str {
        match self {
            Self::AuthLog | Self::JournalJson | Self::Ecs | Self::Winlogbeat => "lines",
            Self::Journal | Self::JournalExport | Self::Evtx => "entries",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many bytes detection looks at.
pub const HEAD_LEN: usize = 4096;

/// gzip's magic bytes (RFC 1952).
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// The format of a (decompressed) input from its first bytes: a journal file by its
/// `LPKSHHRH` signature, an export dump by a first line shaped `NAME=value` (or a binary
/// field's `NAME`), JSON by a leading `{`: ECS when its first line has `"@timestamp"` and no
/// journal field (`__CURSOR`, `__REALTIME_TIMESTAMP`, `MESSAGE`), else a journal dump; anything
/// else as auth.log. Windows logs first: an `.evtx` file by its `ElfFile` signature, Winlogbeat
/// NDJSON by a first object with a `winlog` object ([`crate::windows::sniff()`]).
pub fn detect(head: &[u8]) -> Format {
    match crate::windows::sniff(head) {
        Some(crate::windows::WinFormat::Evtx) => return Format::Evtx,
        Some(crate::windows::WinFormat::WinlogbeatNdjson) => return Format::Winlogbeat,
        None => {}
    }
    if head.starts_with(gate::SIGNATURE) {
        Format::Journal
    } else if export::looks_like_export(head) {
        Format::JournalExport
    } else if head.first() == Some(&b'{') {
        let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
        let has = |needle: &[u8]| memchr::memmem::find(first, needle).is_some();
        let journal =
            has(b"\"__CURSOR\"") || has(b"\"__REALTIME_TIMESTAMP\"") || has(b"\"MESSAGE\"");
        if !journal && has(b"\"@timestamp\"") {
            Format::Ecs
        } else {
            Format::JournalJson
        }
    } else {
        Format::AuthLog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_content() {
        let cases: [(&[u8], Format); 10] = [
            (
                b"{\"@timestamp\":\"2026-11-23T10:00:00Z\",\"event\":{}}\n",
                Format::Ecs,
            ),
            (b"LPKSHHRH\0\0\0\0", Format::Journal),
            (
                b"__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1\n",
                Format::JournalExport,
            ),
            (b"MESSAGE\n\x05\0\0\0\0\0\0\0hello\n", Format::JournalExport),
            (b"{\"MESSAGE\":\"x\"}\n", Format::JournalJson),
            (b"Nov 23 10:00:00 host sshd[1]: x\n", Format::AuthLog),
            (
                b"2026-11-23T10:00:00.1+00:00 host sshd[1]: x\n",
                Format::AuthLog,
            ),
            (b"", Format::AuthLog),
            (b"=x\n", Format::AuthLog),
            (b"lower=case\n", Format::AuthLog),
        ];
        for (head, want) in cases {
            assert_eq!(detect(head), want, "{}", String::from_utf8_lossy(head));
        }
        assert!(is_gzip(b"\x1f\x8b\x08\0"));
        assert!(!is_gzip(b"\x1f"));
    }
}
