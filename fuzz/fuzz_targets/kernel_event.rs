//! Arbitrary bytes as a ring-buffer record: the decoder checks kinds and lengths before it reads.
//!
//! Beyond "no panic": decoding is deterministic; a decoded exec filename or argv never holds
//! more bytes than the record's buffer; comm never holds a NUL; and a record shorter than its
//! kind's struct is always refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor_common::{ARGV_LEN, ArgvEvent, EventHeader, ExecEvent, ExitEvent, FILENAME_LEN, ForkEvent};

#[path = "../../sensor/src/source/ebpf/decode.rs"]
mod decode;

use decode::{KernelEvent, decode};

fuzz_target!(|data: &[u8]| {
    let first = decode(data);
    assert_eq!(first, decode(data), "decoding is deterministic");
    let Ok(event) = first else {
        return;
    };
    let need = match &event {
        KernelEvent::Exec { filename, .. } => {
            // Lossy decoding may grow invalid bytes to U+FFFD (3 bytes each), never past that.
            assert!(filename.len() <= FILENAME_LEN * 3);
            size_of::<ExecEvent>()
        }
        KernelEvent::Argv { args, .. } => {
            let bytes: usize = args.iter().map(|a| a.len() + 1).sum();
            assert!(bytes <= ARGV_LEN * 3 + 1);
            assert!(args.iter().all(|a| !a.contains('\0')));
            size_of::<ArgvEvent>()
        }
        KernelEvent::Fork { .. } => size_of::<ForkEvent>(),
        KernelEvent::Exit { .. } => size_of::<ExitEvent>(),
    };
    assert!(data.len() >= need.max(size_of::<EventHeader>()), "a short record was accepted");
    assert!(!event.common().comm.contains('\0'));
});
