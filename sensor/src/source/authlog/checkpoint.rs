//! Where the last auth.log line that went downstream ended, kept in the state directory.
//!
//! A byte offset alone means nothing once the file is rotated or truncated, so the checkpoint
//! also names the file: its device and inode, and a fingerprint of its first line (an inode can
//! be reused by a later file; a first line with its timestamp is not). Written atomically (a
//! temporary file renamed over the old one), so a crash leaves either the old or the new
//! checkpoint, never half of one.
use std::{
    fs::{self, File},
    io::{self, Write as _},
    os::unix::fs::{FileExt as _, MetadataExt as _},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use tracing::warn;

/// How much of the first line the fingerprint covers at most.
pub const FINGERPRINT_MAX: usize = 256;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// A file's identity on this host: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub inode: u64,
}

impl FileId {
    pub fn of(meta: &fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            inode: meta.ino(),
        }
    }
}

/// A file's first line, up to and including its newline and at most [`FINGERPRINT_MAX`] bytes,
/// hashed with 64-bit FNV-1a (stable across builds, unlike std's hasher).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// How many bytes from the start of the file the hash covers.
    pub len: u16,
    /// FNV-1a 64 of those bytes, as 16 hex digits (JSON numbers lose 64-bit precision in jq).
    #[serde(with = "hex_u64")]
    pub fnv1a64: u64,
}

impl Fingerprint {
    /// Covers nothing, so it matches every file: only for a file truncated as its first line
    /// was read.
    pub const EMPTY: Self = Self {
        len: 0,
        fnv1a64: FNV_OFFSET,
    };

    /// The fingerprint of `file` as it is now; `None` while its first line is incomplete (no
    /// newline in its first [`FINGERPRINT_MAX`] bytes, and fewer than that many bytes).
    pub fn of(file: &File) -> io::Result<Option<Self>> {
        let mut head = [0u8; FINGERPRINT_MAX];
        let got = read_full(file, &mut head, 0)?;
        Ok(Self::of_head(head.get(..got).unwrap_or_default()))
    }

    /// The fingerprint of a file that starts with `head`, if `head` is enough to take it.
    pub fn of_head(head: &[u8]) -> Option<Self> {
        let len = match head.iter().take(FINGERPRINT_MAX).position(|&b| b == b'\n') {
            Some(newline) => newline + 1,
            None if head.len() >= FINGERPRINT_MAX => FINGERPRINT_MAX,
            None => return None,
        };
        head.get(..len).map(Self::of_bytes)
    }

    /// Whether `file` still starts with the bytes this fingerprint was taken of.
    pub fn matches(&self, file: &File) -> io::Result<bool> {
        let mut head = [0u8; FINGERPRINT_MAX];
        let want = usize::from(self.len).min(FINGERPRINT_MAX);
        let Some(head) = head.get_mut(..want) else {
            return Ok(false);
        };
        let got = read_full(file, head, 0)?;
        Ok(got == want && Self::of_bytes(head) == *self)
    }

    fn of_bytes(bytes: &[u8]) -> Self {
        let fnv1a64 = bytes.iter().fold(FNV_OFFSET, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Self {
            len: u16::try_from(bytes.len()).unwrap_or(u16::MAX),
            fnv1a64,
        }
    }
}

/// Fills `buf` from `offset` as far as the file goes; returns how much was read.
pub(super) fn read_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|rest| !rest.is_empty()) {
        match file.read_at(rest, offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Lines of the file up to `offset` went downstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub dev: u64,
    pub inode: u64,
    /// The byte just after the newline of the last line that went downstream.
    pub offset: u64,
    pub fingerprint: Fingerprint,
}

#[derive(Debug, thiserror::Error)]
#[error("saving the auth.log checkpoint {path} (offset {offset}): {source}")]
pub struct CheckpointError {
    pub path: PathBuf,
    pub offset: u64,
    #[source]
    pub source: io::Error,
}

impl Checkpoint {
    pub fn file(&self) -> FileId {
        FileId {
            dev: self.dev,
            inode: self.inode,
        }
    }

    /// Reads the checkpoint; a missing file is no checkpoint, a damaged one is logged and
    /// ignored (following then starts at the end of the file).
    pub fn load(path: &Path) -> Option<Self> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                warn!(path = %path.display(), %e, "cannot read the auth.log checkpoint; starting at the end");
                return None;
            }
        };
        match serde_json::from_str(&text) {
            Ok(cp) => Some(cp),
            Err(e) => {
                warn!(path = %path.display(), %e, "damaged auth.log checkpoint; starting at the end");
                None
            }
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let err = |source| CheckpointError {
            path: path.to_owned(),
            offset: self.offset,
            source,
        };
        let tmp = path.with_extension("tmp");
        let mut file = File::create(&tmp).map_err(err)?;
        let body = serde_json::to_vec(self).map_err(|e| err(e.into()))?;
        file.write_all(&body)
            .and_then(|()| file.sync_all())
            .map_err(err)?;
        fs::rename(&tmp, path).map_err(err)
    }
}

/// A `u64` as 16 lowercase hex digits.
mod hex_u64 {
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{value:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        u64::from_str_radix(&text, 16).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_damage() {
        let dir = std::env::temp_dir().join(format!("sensor-authlog-cp-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("authlog.offset");
        assert_eq!(Checkpoint::load(&path), None);
        let cp = Checkpoint {
            dev: 2049,
            inode: 77,
            offset: 4096,
            fingerprint: Fingerprint {
                len: 80,
                fnv1a64: u64::MAX - 1,
            },
        };
        cp.save(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"fffffffffffffffe\""), "{text}");
        assert_eq!(Checkpoint::load(&path), Some(cp));
        fs::write(&path, b"{\"dev\": 1, \"inode\": 2").unwrap();
        assert_eq!(Checkpoint::load(&path), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fingerprint_covers_the_first_line_only() {
        let dir = std::env::temp_dir().join(format!("sensor-authlog-fp-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        fs::write(&path, b"first li").unwrap();
        let file = File::open(&path).unwrap();
        assert_eq!(Fingerprint::of(&file).unwrap(), None);
        fs::write(&path, b"first line\nsecond").unwrap();
        let fp = Fingerprint::of(&file).unwrap().unwrap();
        assert_eq!(fp.len, 11);
        fs::write(&path, b"first line\nother second line\n").unwrap();
        assert!(fp.matches(&file).unwrap());
        fs::write(&path, b"first lime\n").unwrap();
        assert!(!fp.matches(&file).unwrap());
        fs::write(&path, b"first").unwrap();
        assert!(!fp.matches(&file).unwrap());
        fs::write(&path, vec![b'x'; 1000]).unwrap();
        let long = Fingerprint::of(&file).unwrap().unwrap();
        assert_eq!(usize::from(long.len), FINGERPRINT_MAX);
        fs::remove_dir_all(&dir).unwrap();
    }
}
