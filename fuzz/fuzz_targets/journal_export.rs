//! Arbitrary bytes as a `journalctl -o export` dump, through the replay's export parser.
//!
//! Beyond "no panic, no hang": parsing is deterministic and does not depend on how the input
//! is split into reads (two read-buffer sizes must give the same entries and problems); every
//! field name is a valid journal name, and every name and value returned is a slice of the
//! input; no value is over the size limit; every problem's place lies inside the input.
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;

#[path = "../../sensor/src/replay/export.rs"]
mod export;

use export::{ExportReader, MAX_FIELD_LEN, valid_name};

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// Every entry's fields, or a problem's line, offset and message.
fn parse(data: &[u8], buffer: usize) -> Vec<Result<(u64, u64, Fields), (u64, u64, String)>> {
    let mut reader = ExportReader::new(BufReader::with_capacity(buffer, data));
    let mut out = Vec::new();
    while let Some(next) = reader.next_entry() {
        out.push(match next {
            Ok(entry) => Ok((
                entry.line,
                entry.offset,
                entry
                    .fields()
                    .map(|(n, v)| (n.to_vec(), v.to_vec()))
                    .collect(),
            )),
            Err(p) => Err((p.line, p.offset, p.error.to_string())),
        });
        assert!(out.len() <= data.len() + 1, "more entries than input bytes");
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

fuzz_target!(|data: &[u8]| {
    let first = parse(data, 8192);
    assert_eq!(first, parse(data, 3), "parsing depends on the read size");
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    for item in &first {
        let (line, offset) = match item {
            Ok((line, offset, fields)) => {
                assert!(!fields.is_empty(), "an entry without fields");
                for (name, value) in fields {
                    assert!(valid_name(name), "invalid name {name:?}");
                    assert!(contains(data, name), "name {name:?} is not from the input");
                    assert!(
                        contains(data, value),
                        "value {value:?} is not from the input"
                    );
                    assert!(value.len() <= MAX_FIELD_LEN + 256);
                }
                (*line, *offset)
            }
            Err((line, offset, _)) => (*line, *offset),
        };
        assert!(
            offset <= data.len() as u64 && line <= lines,
            "{line}:{offset} outside"
        );
    }
});
