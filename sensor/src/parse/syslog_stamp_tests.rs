//! rsyslog's timestamps read without chrono's parser, checked against it.
use chrono::{DateTime, Utc};

use super::rsyslog_stamp;

/// Every timestamp the fast path reads, it reads as chrono does; the rest it leaves to
/// chrono.
#[test]
fn the_fast_path_agrees_with_chrono() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut stamps: Vec<String> = [
        "2026-11-23T18:52:39.908553+00:00",
        "2024-02-29T23:59:59Z",
        "2023-02-29T00:00:00Z",
        "2026-12-31T23:59:59.999999999-23:59",
        "0001-01-01T00:00:00+23:59",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "2026-01-01T00:00:60Z",
        "2026-01-01T24:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00.1234567891Z",
        "2026-01-01T00:00:00+0100",
        "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00+01:60",
        "2026-01-01t00:00:00Z",
        "2026-01-01T00:00:00z",
        "2026-01-01T00:00:00",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for _ in 0..20_000 {
        let frac = match next(4) {
            0 => String::new(),
            _ => format!(".{}", "123456789".get(..1 + next(9) as usize).unwrap_or("")),
        };
        let zone = match next(3) {
            0 => "Z".to_owned(),
            _ => format!(
                "{}{:02}:{:02}",
                if next(2) == 0 { '+' } else { '-' },
                next(26),
                next(62)
            ),
        };
        stamps.push(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{zone}",
            next(10_000),
            next(14),
            next(33),
            next(26),
            next(61),
            next(62)
        ));
    }
    let mut fast = 0;
    for s in &stamps {
        let chrono = DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc));
        if let Some(t) = rsyslog_stamp(s.as_bytes()) {
            fast += 1;
            assert_eq!(chrono, Ok(t), "{s}");
        }
    }
    assert!(fast > 5_000, "the fast path read only {fast} stamps");
}
