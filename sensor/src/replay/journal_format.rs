//! The parts of systemd's journal file format the gate relies on (systemd's `journal-def.h`):
//! header fields, flags, object types, and the checks of an object's payload.
//!
//! A file is a header (`header_size` bytes; systemd-journal-reader reads at least 240) and then
//! 8-byte aligned objects up to `header_size + arena_size`, the last of them at
//! `tail_object_offset`; journald preallocates the rest with zeros.
//!
//! Like `gate.rs`, this file uses nothing else from the crate.
use std::io::{self, Read, Write};

pub const SIGNATURE: &[u8; 8] = b"LPKSHHRH";
/// The part of the header systemd-journal-reader reads; older, smaller headers are refused.
pub const HEADER_MIN: u64 = 240;
pub const HEADER_MAX: u64 = 1 << 20;
/// The largest data object passed to the reader (which allocates it whole).
pub const MAX_DATA_OBJECT: u64 = 64 << 20;
/// The most a zstd data object may decompress to.
pub const MAX_DECOMPRESSED: u64 = 64 << 20;

/// Byte offsets of the header fields used.
pub const AT_INCOMPATIBLE_FLAGS: usize = 12;
pub const AT_HEADER_SIZE: usize = 88;
pub const AT_ARENA_SIZE: usize = 96;
pub const AT_TAIL_OBJECT_OFFSET: usize = 136;

/// Incompatible flags (header byte 12, little-endian u32).
pub const INCOMPAT_XZ: u32 = 1 << 0;
pub const INCOMPAT_LZ4: u32 = 1 << 1;
pub const INCOMPAT_KEYED_HASH: u32 = 1 << 2;
pub const INCOMPAT_ZSTD: u32 = 1 << 3;
pub const INCOMPAT_COMPACT: u32 = 1 << 4;
pub const INCOMPAT_KNOWN: u32 =
    INCOMPAT_XZ | INCOMPAT_LZ4 | INCOMPAT_KEYED_HASH | INCOMPAT_ZSTD | INCOMPAT_COMPACT;

/// Object types (an object's first byte); 1 to 7 exist.
pub const OBJECT_UNUSED: u8 = 0;
pub const OBJECT_DATA: u8 = 1;
pub const OBJECT_TAG: u8 = 7;
/// Object flags (an object's second byte): how a data object's payload is compressed.
pub const OBJECT_XZ: u8 = 1 << 0;
pub const OBJECT_LZ4: u8 = 1 << 1;
pub const OBJECT_ZSTD: u8 = 1 << 2;
/// Type, flags, 6 reserved bytes and the size (which counts this header).
pub const OBJECT_HEADER: u64 = 16;
/// Where a data object's payload starts: after its header, hash, four offsets and entry count,
/// and in COMPACT files two more 32-bit fields.
pub const DATA_PAYLOAD_AT: usize = 64;
pub const DATA_PAYLOAD_AT_COMPACT: usize = 72;

/// Why a zstd payload would not come out right, if it would not.
pub fn zstd_problem(payload: &[u8]) -> Option<String> {
    /// Counts the decompressed bytes and refuses past the limit.
    struct Limit(u64);
    impl Write for Limit {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            if self.0 > MAX_DECOMPRESSED {
                return Err(io::Error::other("limit"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut sink = Limit(0);
    match zstd::stream::copy_decode(payload, &mut sink) {
        Ok(()) => None,
        Err(_) if sink.0 > MAX_DECOMPRESSED => Some(format!(
            "decompresses to more than {MAX_DECOMPRESSED} bytes"
        )),
        Err(e) => Some(format!("is zstd that does not decompress ({e})")),
    }
}

/// Reads until `buf` is full or the input ends.
pub fn read_full(inner: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match inner.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.iter_mut()
        .zip(bytes.iter().skip(at))
        .for_each(|(d, s)| *d = *s);
    u64::from_le_bytes(b)
}

pub fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.iter_mut()
        .zip(bytes.iter().skip(at))
        .for_each(|(d, s)| *d = *s);
    u32::from_le_bytes(b)
}
