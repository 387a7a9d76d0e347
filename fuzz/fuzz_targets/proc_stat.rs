//! Arbitrary text as `/proc/PID/stat`, whose comm field a process chooses (spaces, parentheses,
//! digits). Beyond "no panic": a parsed comm is exactly what lies between the first `(` and the
//! last `)`, so no text after the comm can pose as the ppid or start time.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../sensor/src/procfs.rs"]
mod procfs;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(stat) = procfs::parse_stat(text) {
        let open = text.find('(').expect("a parsed stat has a `(`");
        let close = text.rfind(')').expect("a parsed stat has a `)`");
        assert_eq!(stat.comm, text[open + 1..close]);
        assert_eq!(Some(stat.clone()), procfs::parse_stat(text));
    }
});
