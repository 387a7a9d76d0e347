//! Arbitrary UTF-8 as the configuration file, through `sensor::config::Config::parse`.
//!
//! Uses the `sensor` crate itself (built with `AYA_BUILD_SKIP=1`, see `.cargo/config.toml`):
//! `config` reaches `logs` and `source::{ebpf, journald}` (aya, tokio, systemd), which cannot be
//! included by `#[path]`.
//!
//! Beyond "no panic, no hang": a second parse of the same text gives an equal result (an equal
//! `Config`, or the same error); a parsed configuration holds only what the file's checks allow
//! (absolute paths, networks without host bits, a ring buffer that is a power of two of at
//! least 4096 bytes, a drain interval in 1..=10000 ms, metrics on loopback unless
//! `allow_non_loopback`); an error names the file and a line and column inside the text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sensor::config::{Config, ConfigError};

const PATH: &str = "/etc/sensor/config.toml";

fn check_valid(config: &Config) {
    assert!(config.state_dir.is_absolute());
    assert!(config.rules_dir.as_ref().is_none_or(|p| p.is_absolute()));
    assert!(config.sources.auth_log.is_absolute());
    assert!(config.sources.sshd_exes.iter().all(|p| p.is_absolute()));
    assert!(config.sinks.file.as_ref().is_none_or(|p| p.is_absolute()));
    for net in &config.detect.internal_networks {
        assert_eq!(net.trunc(), *net, "{net} has host bits set");
    }
    let ring = config.tracer.ring_buffer_size;
    assert!(ring >= 4096 && ring.is_power_of_two(), "ring buffer {ring}");
    assert!((1..=10_000).contains(&config.tracer.drain_interval_ms));
    if let Some(addr) = config.metrics.listen {
        assert!(addr.ip().is_loopback() || config.metrics.allow_non_loopback);
    }
    let options = config.tracer.options();
    assert_eq!(options.ring_bytes, ring);
}

fn check_error(error: &ConfigError, text: &str) {
    let ConfigError::Invalid {
        path, line, column, ..
    } = error
    else {
        panic!("parsing text gave a read error: {error}");
    };
    assert_eq!(path, Path::new(PATH));
    let lines = text.split('\n').count();
    assert!((1..=lines).contains(line), "line {line} of {lines}");
    assert!(*column >= 1, "column {column}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{PATH}:{line}:{column}: ")),
        "{message}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = Config::parse(text, Path::new(PATH));
    let second = Config::parse(text, Path::new(PATH));
    match (&first, &second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "a second parse differs");
            check_valid(a);
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                a.to_string(),
                b.to_string(),
                "a second parse fails differently"
            );
            check_error(a, text);
        }
        _ => panic!("parsing is not deterministic: {first:?} then {second:?}"),
    }
});
