//! Telling a Windows event log input by its first bytes.
use serde_json::Value;

use super::ndjson::is_windows_event;

/// The magic an EVTX file starts with (its file header's signature).
pub const EVTX_MAGIC: &[u8; 8] = b"ElfFile\0";

/// A Windows event log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinFormat {
    /// A `.evtx` file: [`super::evtx`].
    Evtx,
    /// Winlogbeat-style ECS NDJSON: [`super::ndjson`].
    WinlogbeatNdjson,
}

/// The format of an input whose first bytes are `head` (give at least 64 KiB where the input
/// has them), or `None` if it is neither:
///
/// - EVTX: `head` starts with `ElfFile\0`;
/// - Winlogbeat NDJSON: after an optional UTF-8 byte order mark and blank lines, the first
///   line is a JSON object holding a `winlog` object (or `winlog.*` keys), or both
///   `event.code` and `event.provider`. If `head` ends inside that first line, the line must
///   start with `{` and contain the key `"winlog"` followed by `:` and `{` (whitespace allowed
///   between them), or a `"winlog.` key.
///
/// `journalctl -o json` lines (`__CURSOR`, `MESSAGE`, …) and other JSON have neither.
pub fn sniff(head: &[u8]) -> Option<WinFormat> {
    if head.starts_with(EVTX_MAGIC) {
        return Some(WinFormat::Evtx);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    if text.first() != Some(&b'{') {
        return None;
    }
    let line = match memchr::memchr(b'\n', text) {
        Some(end) => &text[..end],
        None => match serde_json::from_slice::<Value>(text) {
            // The whole input, on one line.
            Ok(value) => return ndjson_object(&value),
            Err(e) if e.is_eof() => return truncated_looks_like_winlog(text),
            Err(_) => return None,
        },
    };
    let value = serde_json::from_slice::<Value>(line).ok()?;
    ndjson_object(&value)
}

fn ndjson_object(value: &Value) -> Option<WinFormat> {
    match value {
        Value::Object(doc) if is_windows_event(doc) => Some(WinFormat::WinlogbeatNdjson),
        _ => None,
    }
}

/// The start of a line too long for `head`.
fn truncated_looks_like_winlog(text: &[u8]) -> Option<WinFormat> {
    if memchr::memmem::find(text, b"\"winlog.").is_some() {
        return Some(WinFormat::WinlogbeatNdjson);
    }
    let key = b"\"winlog\"";
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&text[from..], key) {
        let rest = &text[from + i + key.len()..];
        let mut after = rest.iter().skip_while(|b| b.is_ascii_whitespace());
        if after.next() == Some(&b':') && after.find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return Some(WinFormat::WinlogbeatNdjson);
        }
        from += i + key.len();
    }
    None
}
