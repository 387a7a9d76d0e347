//! Arbitrary bytes as a process's argv (NUL-separated, as in `/proc/PID/cmdline`) through the
//! secret redactor.
//!
//! Beyond "no panic, no hang": redaction keeps the number of arguments and `args[0]`; it
//! reports a count exactly when it changed something; every argument it changed holds the
//! placeholder; and a second pass changes nothing and counts nothing (idempotence).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../sensor/src/redact/mod.rs"]
mod redact;

use redact::{REDACTED, redact_args};

fuzz_target!(|data: &[u8]| {
    let args: Vec<String> = data
        .split(|&b| b == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    let mut once = args.clone();
    let count = redact_args(&mut once);
    assert_eq!(once.len(), args.len(), "argc changed");
    assert_eq!(once.first(), args.first(), "args[0] changed");
    assert_eq!(
        count == 0,
        once == args,
        "count {count} disagrees with the change"
    );
    for (before, after) in args.iter().zip(&once) {
        assert!(
            before == after || after.contains(REDACTED),
            "{before:?} changed to {after:?} without the placeholder"
        );
    }
    let mut twice = once.clone();
    assert_eq!(redact_args(&mut twice), 0, "a second pass redacted more");
    assert_eq!(twice, once, "a second pass changed the result");
});
