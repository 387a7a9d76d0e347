//! Bad inputs, made here from the real fixtures: each gives its error naming the file and the
//! place, nothing panics, and the rest of the input and the other inputs are still replayed.
use std::path::PathBuf;

use sensor::replay::{
    ErrorKind, Format, Options, ReplayError, export::ExportError, gate::GateError,
};
use sensor_tests::tempdir::TempDir;

use super::{Run, fixture, options, run, run_with};

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first line of a fixture holding `needle`.
fn line_with(name: &str, needle: &str) -> Vec<u8> {
    let text = read(name);
    let line = text
        .split(|&b| b == b'\n')
        .find(|l| l.windows(needle.len()).any(|w| w == needle.as_bytes()));
    line.unwrap_or_else(|| panic!("{name} has no {needle:?}"))
        .to_vec()
}

fn errors(run: &Run, file: usize) -> &[ReplayError] {
    &run.summary.files[file].kept
}

/// The fixture's records must all be there: the run went on past the bad input.
fn assert_fixture_replayed(run: &Run, file: usize, name: &str) {
    let alone = run_with(&[fixture(name)], &options());
    assert_eq!(
        run.summary.files[file].records,
        alone.summary.records(),
        "{name}"
    );
    assert_eq!(run.summary.files[file].errors, 0, "{name}");
    assert!(
        run.out.ends_with(&alone.out),
        "{name}'s records are not at the end"
    );
}

#[test]
fn invalid_utf8_nul_bytes_and_a_1_mib_line_are_reported_and_skipped_or_read() {
    let dir = TempDir::new("replay-lines").unwrap_or_else(|e| panic!("{e:#}"));
    let good = line_with("auth-rfc3339.log", "Accepted password for alice");
    let text = String::from_utf8_lossy(&good).into_owned();
    let mut bad = Vec::new();
    let mut add = |line: &[u8]| {
        bad.extend_from_slice(line);
        bad.push(b'\n');
    };
    add(&good);
    add(text.replace("alice from", "al\u{fffd}ice from").as_bytes());
    let user = good.windows(5).position(|w| w == b"alice").unwrap_or(0);
    add(&[&good[..user + 2], b"\xff", &good[user + 2..]].concat());
    add(&[&good[..40], b"\0", &good[40..]].concat());
    add(&[&[0u8; 300][..], &good].concat());
    add(&vec![b'x'; (1 << 20) + 1]);
    add(b"not a syslog line");
    add(&good);
    let path = write(&dir, "bad.log", &bad);
    let run = run(&[path, fixture("auth-openssh10.log")]);

    let got: Vec<String> = errors(&run, 0).iter().map(ToString::to_string).collect();
    let name = dir.path().join("bad.log").display().to_string();
    let want_starts = [
        format!("{name}: line 3 (byte "),
        format!("{name}: line 4 (byte "),
        format!("{name}: line 5 (byte "),
        format!("{name}: line 6 (byte "),
        format!("{name}: line 7 (byte "),
    ];
    assert_eq!(got.len(), want_starts.len(), "{got:#?}");
    for (g, w) in got.iter().zip(&want_starts) {
        assert!(g.starts_with(w.as_str()), "{g} does not start with {w}");
    }
    let kinds: Vec<_> = errors(&run, 0).iter().map(|e| &e.kind).collect();
    assert!(matches!(kinds[0], ErrorKind::NotUtf8 { column } if *column == user + 2));
    assert!(matches!(kinds[1], ErrorKind::Nul { column: 40 }));
    assert!(matches!(kinds[2], ErrorKind::NulHole { count: 300 }));
    assert!(matches!(kinds[3], ErrorKind::LineTooLong { .. }));
    assert!(matches!(kinds[4], ErrorKind::Syslog(_)));
    // Lines 1, 2 (a U+FFFD in a name is just a character), 3 (read lossily), 5 (after its
    // hole), 8.
    assert_eq!(run.summary.files[0].records, 5);
    let users: Vec<_> = run
        .records()
        .iter()
        .map(|r| r["user"]["name"].to_string())
        .collect();
    assert_eq!(users[1..3], ["\"al\u{fffd}ice\"", "\"al\u{fffd}ice\""]);
    assert_eq!(run.summary.files[0].read, 8);
    assert_eq!(run.summary.exit_code(), 65);
    assert_fixture_replayed(&run, 1, "auth-openssh10.log");
}

#[test]
fn a_1_mib_json_line_is_skipped() {
    let dir = TempDir::new("replay-json").unwrap_or_else(|e| panic!("{e:#}"));
    let json = read("sshd.json");
    let long = format!("{{\"MESSAGE\":\"{}\"}}\n", "y".repeat(1 << 20));
    let path = write(
        &dir,
        "long.json",
        &[json.as_slice(), long.as_bytes(), b"{oops\n", &json].concat(),
    );
    let run = run(&[path]);
    let kinds: Vec<_> = errors(&run, 0).iter().map(|e| &e.kind).collect();
    assert!(
        matches!(
            kinds.as_slice(),
            [ErrorKind::LineTooLong { .. }, ErrorKind::Json(_)]
        ),
        "{kinds:?}"
    );
    assert_eq!(errors(&run, 0)[0].at.line, Some(35));
    assert_eq!(
        run.summary.records(),
        2 * run_with(&[fixture("sshd.json")], &options())
            .summary
            .records()
    );
}

/// The offset of the journal object (of the fixture's file) whose bytes hold `needle`.
fn object_with(journal: &[u8], needle: &[u8]) -> usize {
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&journal[at..at + 8]);
        u64::from_le_bytes(b) as usize
    };
    let mut at = u64_at(88);
    loop {
        let size = u64_at(at + 8);
        assert!(size >= 16, "walked off the objects looking for {needle:?}");
        if journal[at..at + size]
            .windows(needle.len())
            .any(|w| w == needle)
        {
            return at;
        }
        at += size.next_multiple_of(8);
    }
}

/// Replays a damaged copy of the journal fixture, then the export fixture in the same run.
fn damaged_journal(name: &str, damage: impl FnOnce(&mut Vec<u8>) -> usize) -> (Run, usize) {
    let dir = TempDir::new("replay-journal").unwrap_or_else(|e| panic!("{e:#}"));
    let mut journal = read("sshd.journal");
    let at = damage(&mut journal);
    let path = write(&dir, name, &journal);
    let run = run(&[path, fixture("sshd.export")]);
    assert_fixture_replayed(&run, 1, "sshd.export");
    (run, at)
}

fn full_messages() -> Vec<String> {
    run(&[fixture("sshd.journal")]).messages()
}

#[test]
fn a_truncated_journal_is_read_up_to_the_cut() {
    let (run, at) = damaged_journal("cut.journal", |j| {
        let at = object_with(j, b"MESSAGE=Accepted publickey");
        j.truncate(at + 20);
        at
    });
    let errs = errors(&run, 0);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        matches!(errs[0].kind, ErrorKind::Journal(GateError::Truncated { end }) if end == at as u64 + 20)
    );
    assert_eq!(errs[0].at.offset, Some(at as u64));
    assert!(
        errs[0].to_string().contains("cut.journal: byte "),
        "{}",
        errs[0]
    );
    let got = &run.messages()[..run.summary.files[0].records as usize];
    let full = full_messages();
    assert!(got.len() >= 8 && got.len() < full.len(), "{got:?}");
    assert_eq!(got, &full[..got.len()]);
    assert!(!got.iter().any(|m| m.contains("publickey")));
}

#[test]
fn a_corrupt_journal_object_stops_the_file_there() {
    let (run, at) = damaged_journal("corrupt.journal", |j| {
        let at = object_with(j, b"MESSAGE=Accepted publickey");
        j[at + 8..at + 16].copy_from_slice(&(u64::MAX - 255).to_le_bytes());
        at
    });
    let errs = errors(&run, 0);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        matches!(errs[0].kind, ErrorKind::Journal(GateError::BadObject(_))),
        "{}",
        errs[0]
    );
    assert_eq!(errs[0].at.offset, Some(at as u64));
    let got = &run.messages()[..run.summary.files[0].records as usize];
    assert_eq!(got, &full_messages()[..got.len()]);
    assert!(!got.is_empty());
}

#[test]
fn a_data_object_whose_zstd_is_corrupt_is_left_out_and_said() {
    let (run, at) = damaged_journal("zstd.journal", |j| {
        let at = object_with(j, b"MESSAGE=Failed password for alice");
        j[at + 1] |= 1 << 2; // "compressed with zstd": its text is no zstd frame.
        at
    });
    let errs = errors(&run, 0);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        matches!(errs[0].kind, ErrorKind::Journal(GateError::DataLeftOut(_))),
        "{}",
        errs[0]
    );
    assert_eq!(errs[0].at.offset, Some(at as u64));
    let got = &run.messages()[..run.summary.files[0].records as usize];
    let want: Vec<_> = full_messages()
        .into_iter()
        .filter(|m| !m.starts_with("Failed password for alice"))
        .collect();
    assert_eq!(got, want.as_slice());
}

#[test]
fn files_that_only_start_like_a_journal_are_refused_cleanly() {
    let dir = TempDir::new("replay-header").unwrap_or_else(|e| panic!("{e:#}"));
    let journal = read("sshd.journal");
    let mut huge_arena = journal.clone();
    huge_arena[96..104].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut future = journal.clone();
    future[12] |= 1 << 7;
    let cases = [
        ("magic.journal", b"LPKSHHRH".to_vec()),
        ("header.journal", journal[..200].to_vec()),
        ("arena.journal", huge_arena),
        ("future.journal", future),
    ];
    let want = [
        "the file ends inside the journal header",
        "the file ends inside the journal header",
        "arena size out of range",
        "incompatible flags 0x9c include some this reader does not know",
    ];
    let paths: Vec<_> = cases.iter().map(|(n, b)| write(&dir, n, b)).collect();
    let run = run(&paths);
    for (i, (name, _)) in cases.iter().enumerate() {
        let errs = errors(&run, i);
        assert_eq!(errs.len(), 1, "{name}: {errs:?}");
        assert!(
            matches!(errs[0].kind, ErrorKind::Journal(_)),
            "{name}: {}",
            errs[0]
        );
        assert!(errs[0].to_string().contains(want[i]), "{name}: {}", errs[0]);
        assert_eq!(run.summary.files[i].records, 0);
    }
}

#[test]
fn a_gzip_that_ends_early_gives_what_came_before() {
    let dir = TempDir::new("replay-gzip").unwrap_or_else(|e| panic!("{e:#}"));
    let gz = read("auth-classic.log.gz");
    let path = write(&dir, "cut.log.gz", &gz[..gz.len() / 2]);
    let run = run(&[path, fixture("auth-rfc3339.log")]);
    let errs = errors(&run, 0);
    assert!(
        matches!(errs.last().map(|e| &e.kind), Some(ErrorKind::Gzip(_))),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .all(|e| e.to_string().contains("decompressed byte")),
        "{errs:?}"
    );
    let full = run_with(&[fixture("auth-classic.log")], &options());
    let got = run.summary.files[0].records;
    assert!(got > 0 && got < full.summary.records(), "{got}");
    assert_eq!(
        run.messages()[..got as usize],
        full.messages()[..got as usize]
    );
    assert_eq!(run.summary.exit_code(), 65);
    assert_fixture_replayed(&run, 1, "auth-rfc3339.log");
}

#[test]
fn a_missing_file_and_a_directory_are_reported_and_the_rest_is_read() {
    let dir = TempDir::new("replay-open").unwrap_or_else(|e| panic!("{e:#}"));
    let missing = dir.path().join("no-such.log");
    let run = run(&[missing, dir.path().to_owned(), fixture("sshd.json")]);
    assert!(matches!(errors(&run, 0)[0].kind, ErrorKind::Open(_)));
    assert!(matches!(errors(&run, 1)[0].kind, ErrorKind::Directory));
    assert!(
        run.reported[0].contains("no-such.log: cannot open: "),
        "{:?}",
        run.reported
    );
    assert_fixture_replayed(&run, 2, "sshd.json");
    assert_eq!(run.summary.exit_code(), 66);
}

#[test]
fn export_entries_with_bad_fields_are_skipped_alone() {
    let dir = TempDir::new("replay-export").unwrap_or_else(|e| panic!("{e:#}"));
    let export = String::from_utf8(read("sshd.export")).unwrap_or_else(|e| panic!("{e}"));
    // A field name journald never writes, in the entry of the first login.
    let damaged = export.replacen(
        "MESSAGE=Accepted password for alice",
        "bad name=x\nMESSAGE=Accepted password for alice",
        1,
    );
    // A binary field cut short at the end of the input.
    let cut = [
        damaged.as_bytes(),
        b"__CURSOR=x\nMESSAGE\n\x40\0\0\0\0\0\0\0short",
    ]
    .concat();
    let run = run(&[write(&dir, "bad.export", &cut)]);
    let kinds: Vec<_> = errors(&run, 0).iter().map(|e| &e.kind).collect();
    assert!(
        matches!(kinds[0], ErrorKind::Export(ExportError::BadName { name }) if name == "bad name"),
        "{kinds:?}"
    );
    assert!(
        matches!(
            kinds[1],
            ErrorKind::Export(ExportError::Truncated { len: 64, .. })
        ),
        "{kinds:?}"
    );
    assert_eq!(kinds.len(), 2);
    let want: Vec<_> = full_messages()
        .into_iter()
        .filter(|m| !m.starts_with("Accepted password for alice"))
        .collect();
    assert_eq!(run.messages(), want);
}

/// Pseudo-random and mangled bytes, read as every format: errors at most, never a panic.
#[test]
fn garbage_in_any_format_does_not_panic() {
    let dir = TempDir::new("replay-garbage").unwrap_or_else(|e| panic!("{e:#}"));
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()[0]
            })
            .collect()
    };
    let journal = read("sshd.journal");
    let mut flipped = journal.clone();
    for (i, b) in noise(4096).into_iter().enumerate() {
        let at = 264 + i * 13 % (journal.len() - 264);
        flipped[at] ^= b;
    }
    let inputs = [
        write(&dir, "noise", &noise(64 * 1024)),
        write(&dir, "flipped.journal", &flipped),
        write(
            &dir,
            "noise.gz",
            &[&[0x1f, 0x8b][..], &noise(1000)].concat(),
        ),
        write(
            &dir,
            "export",
            &[b"__CURSOR=1\n".as_slice(), &noise(5000)].concat(),
        ),
        write(&dir, "json", &[b"{".as_slice(), &noise(5000)].concat()),
    ];
    for format in [
        None,
        Some(Format::AuthLog),
        Some(Format::Journal),
        Some(Format::JournalExport),
        Some(Format::JournalJson),
    ] {
        let options = Options {
            format,
            ..options()
        };
        let run = run_with(&inputs, &options);
        assert_eq!(run.summary.files.len(), inputs.len());
    }
}
