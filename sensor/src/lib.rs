//! sensor: catches SSH lateral movement on a Linux host.
//!
//! The pipeline is the architecture:
//! `source::ebpf` (kernel events) → `correlate` (process table, sessions) → `sink` (JSON Lines).
//! Log sources, detection rules and alerts join this pipeline in later stages.
pub mod check;
pub mod cli;
pub mod config;
pub mod correlate;
pub mod detect;
pub mod ecs;
pub mod error;
pub mod logs;
pub mod metrics;
pub mod normalize;
pub mod parse;
pub mod privileges;
pub mod procfs;
pub mod record;
pub mod redact;
pub mod replay;
pub mod run;
pub mod sink;
pub mod source;
pub mod time;
pub mod windows;
