//! Arbitrary bytes as Winlogbeat NDJSON (`sensor::windows::ndjson`), as the format sniffer's
//! head, and, where they are JSON, as a record the `evtx` crate rendered
//! (`WinRecord::from_evtx_json`) through the ECS mapping (`sensor::windows::map`).
//!
//! The sensor's Windows modules are included by path, in a module tree shaped like the
//! sensor's (`crate::detect::kql`, `crate::ecs`, `crate::windows`), so that their
//! `crate::` paths resolve; the EVTX child-process code and the `evtx` crate are left out.
//!
//! Beyond "no panic, no hang": reading is deterministic and does not depend on how the input
//! is split into reads (two buffer sizes give the same events and errors); every error's line
//! and offset lie inside the input; every event's `@timestamp` is RFC 3339 and its JSON reads
//! back as the same JSON; mapping a record twice gives the same event.
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;

#[path = "../../sensor/src/detect"]
mod detect {
    #[expect(dead_code, unused_imports, reason = "part of the module's API is used")]
    pub mod kql;
}

#[path = "../../sensor/src/ecs"]
mod ecs {
    #[expect(dead_code, reason = "part of the catalogue's API is used")]
    pub mod fields;
    #[expect(dead_code, reason = "part of the event's API is used")]
    pub mod windows;

    pub use self::fields::Field;

    /// `sensor::ecs::Event`, which the sensor's `ecs/mod.rs` declares.
    pub trait Event: crate::detect::kql::Document + serde::Serialize {
        fn timestamp(&self) -> &str;
    }
}

#[expect(dead_code, reason = "part of each module's API is used")]
#[path = "../../sensor/src/windows"]
mod windows {
    mod args;
    pub mod map;
    pub mod ndjson;
    pub mod record;
    pub mod security;
    pub mod sniff;
    pub mod sysmon;
}

use ecs::windows::WinEvent;
use windows::ndjson::{self, parse_line};
use windows::record::WinRecord;
use windows::sniff::{EVTX_MAGIC, WinFormat, sniff};

type Outcome = (
    Vec<serde_json::Value>,
    Vec<(u64, u64, String)>,
    Option<(u64, u64)>,
);

fn read(data: &[u8], capacity: usize) -> (Vec<WinEvent>, Outcome) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let result = ndjson::read(
        BufReader::with_capacity(capacity, data),
        &mut |e| events.push(e),
        &mut |e| errors.push((e.line, e.offset, e.kind.to_string())),
    );
    let failed = result.err().map(|e| (e.line, e.offset));
    let json = events.iter().map(json).collect();
    (events, (json, errors, failed))
}

fn json(event: &WinEvent) -> serde_json::Value {
    serde_json::to_value(event).expect("an event serialises")
}

fuzz_target!(|data: &[u8]| {
    if sniff(data) == Some(WinFormat::Evtx) {
        assert!(data.starts_with(EVTX_MAGIC));
    }

    let (events, first) = read(data, 8192);
    let (_, second) = read(data, 7);
    assert_eq!(first, second, "reading depends on the read size");
    assert!(first.2.is_none(), "a slice cannot fail to read");
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    for (line, offset, _) in &first.1 {
        assert!(
            *line <= lines && *offset <= data.len() as u64,
            "{line}:{offset} outside"
        );
    }
    for event in &events {
        assert!(
            chrono::DateTime::parse_from_rfc3339(&event.timestamp).is_ok(),
            "@timestamp {:?}",
            event.timestamp
        );
        let text = serde_json::to_string(event).expect("serialises");
        let again = parse_line(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            json(&again),
            json(event),
            "the JSON does not read back as itself"
        );
    }

    // The same bytes as a rendered EVTX record.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(record) = WinRecord::from_evtx_json(&value) {
            let event = windows::map::map(&record);
            assert_eq!(
                event,
                windows::map::map(&record),
                "mapping is not deterministic"
            );
            assert!(chrono::DateTime::parse_from_rfc3339(&event.timestamp).is_ok());
            let _ = json(&event);
        }
    }
});
