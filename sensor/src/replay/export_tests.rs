//! The export parser on hand-made input: the documented format, and each way it can be broken.
use super::export::{ExportError, ExportReader, MAX_FIELD_LEN, looks_like_export};

/// Every entry as `NAME=value` strings, and every problem as `line:offset:error`.
fn parse(input: &[u8]) -> (Vec<Vec<String>>, Vec<String>) {
    let mut reader = ExportReader::new(input);
    let (mut entries, mut problems) = (Vec::new(), Vec::new());
    while let Some(next) = reader.next_entry() {
        match next {
            Ok(entry) => entries.push(
                entry
                    .fields()
                    .map(|(n, v)| {
                        format!(
                            "{}={}",
                            String::from_utf8_lossy(n),
                            String::from_utf8_lossy(v)
                        )
                    })
                    .collect(),
            ),
            Err(p) => problems.push(format!("{}:{}:{}", p.line, p.offset, p.error)),
        }
    }
    (entries, problems)
}

#[test]
fn text_and_binary_fields_and_entry_boundaries() {
    let input = b"__CURSOR=s=1\nMESSAGE=a=b\n\n\n\
                  MESSAGE\n\x07\0\0\0\0\0\0\0two\nlin\nA=\n\n\
                  LAST=no trailing newline";
    let (entries, problems) = parse(input);
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(
        entries,
        [
            vec!["__CURSOR=s=1", "MESSAGE=a=b"],
            vec!["MESSAGE=two\nlin", "A="],
            vec!["LAST=no trailing newline"],
        ]
    );
}

#[test]
fn a_bad_entry_is_skipped_and_the_next_one_read() {
    let input = b"A=1\nlower=x\nB=2\n\nC=3\n\n";
    let (entries, problems) = parse(input);
    assert_eq!(entries, [vec!["C=3"]]);
    assert_eq!(
        problems,
        ["2:4:\"lower\" is not a journal field name (A-Z, 0-9 and _, at most 256 bytes)"]
    );
}

#[test]
fn binary_fields_cut_short_or_without_newline() {
    let (entries, problems) = parse(b"A=1\n\nM\n\x09\0\0\0\0\0\0\0abc");
    assert_eq!(entries, [vec!["A=1"]]);
    assert_eq!(
        problems,
        ["3:5:binary field M ends early: its length says 9 bytes"]
    );

    let (_, problems) = parse(b"M\n\x02\0\0");
    assert_eq!(
        problems,
        ["1:0:binary field M ends early, inside its length"]
    );

    let (entries, problems) = parse(b"M\n\x01\0\0\0\0\0\0\0xY\n\nB=1\n");
    assert_eq!(entries, [vec!["B=1"]]);
    assert_eq!(
        problems,
        ["1:0:binary field M is not followed by a newline"]
    );
}

#[test]
fn oversized_fields_and_entries_are_refused_without_reading_them_whole() {
    let mut huge = b"M\n".to_vec();
    huge.extend_from_slice(&u64::MAX.to_le_bytes());
    huge.extend_from_slice(b"junk\n\nOK=1\n");
    let (entries, problems) = parse(&huge);
    assert_eq!(entries, [vec!["OK=1"]]);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].ends_with("a field is longer than 1048576 bytes"));

    let mut long = b"M=".to_vec();
    long.resize(MAX_FIELD_LEN + 300, b'x');
    long.extend_from_slice(b"\nN=1\n\nOK=2\n");
    let (entries, problems) = parse(&long);
    assert_eq!(entries, [vec!["OK=2"]]);
    assert_eq!(problems.len(), 1);

    let many: Vec<u8> = (0..5000)
        .flat_map(|i| format!("F{i}=v\n").into_bytes())
        .collect();
    let (entries, problems) = parse(&many);
    assert!(entries.is_empty());
    assert!(
        problems[0].contains("more than 4096 fields"),
        "{problems:?}"
    );
}

#[test]
fn read_errors_end_the_stream_with_their_cause() {
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let input = std::io::Read::chain(&b"A=1\n"[..], Failing);
    let mut reader = ExportReader::new(std::io::BufReader::new(input));
    let first = reader.next_entry();
    assert!(matches!(
        first,
        Some(Err(super::export::Problem {
            error: ExportError::Io(_),
            ..
        }))
    ));
    assert!(reader.next_entry().is_none());
}

#[test]
fn detection_looks_at_the_first_line_only() {
    assert!(looks_like_export(b"__CURSOR=x"));
    assert!(looks_like_export(b"MESSAGE\n\x01"));
    assert!(!looks_like_export(b"Nov 23 10:00:00 h sshd[1]: MESSAGE=x"));
    assert!(!looks_like_export(b"__CURSOR"));
}
