//! The `.journal` fixture with random damage, many times over: whatever the damage, the gate
//! in front of systemd-journal-reader either passes objects the reader handles or stops with
//! its own error; the reader itself never panics or stops for a reason of its own.
use sensor::replay::ErrorKind;
use sensor_tests::tempdir::TempDir;

use super::{fixture, run};

/// xorshift64: the same damage on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

#[test]
fn damaged_journals_never_reach_the_reader_in_a_state_it_mishandles() {
    let dir = TempDir::new("replay-mutations").unwrap_or_else(|e| panic!("{e:#}"));
    let journal = std::fs::read(fixture("sshd.journal")).unwrap_or_else(|e| panic!("{e}"));
    let full = run(&[fixture("sshd.journal")]).summary.records();
    // The used part of the file: header and objects (the rest is preallocated zeros).
    let used = 64 * 1024;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut paths = Vec::new();
    for i in 0..150 {
        let mut damaged = journal.clone();
        match i % 3 {
            0 => {
                for _ in 0..=rng.below(8) {
                    let at = rng.below(used);
                    damaged[at] ^= 1 << rng.below(8);
                }
            }
            1 => {
                // An object size or type field: 8-byte aligned offsets + 0 (type) or 8 (size).
                let at = (rng.below(used) & !7) + if rng.below(2) == 0 { 0 } else { 8 };
                let value = [0, 1, 15, 16, u64::MAX, 1 << 40, rng.next()][rng.below(7)];
                let end = (at + 8).min(damaged.len());
                damaged[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
            }
            _ => damaged.truncate(rng.below(used)),
        }
        let path = dir.path().join(format!("{i}.journal"));
        std::fs::write(&path, &damaged).unwrap_or_else(|e| panic!("{e}"));
        paths.push(path);
    }
    let run = run(&paths);
    for (path, file) in paths.iter().zip(&run.summary.files) {
        for e in &file.kept {
            assert!(
                !matches!(e.kind, ErrorKind::JournalReader(_)),
                "{}: {e}",
                path.display()
            );
        }
        assert!(file.records <= full + 1, "{}", path.display());
    }
    assert!(run.summary.errors() > 0);
}
