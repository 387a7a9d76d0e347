//! Windows event logs, replayed offline: Sysmon, Security and System records from `.evtx` files
//! or Winlogbeat NDJSON, as ECS events ([`WinEvent`]) that the same KQL rules run on.
//!
//! ```text
//! .evtx ──▶ evtx (child process, limits) ──▶ worker: evtx crate ─▶ WinRecord ─┐
//!                                                                             ├─▶ map ─▶ WinEvent
//! NDJSON ─▶ ndjson (winlog.* ─▶ WinRecord, ECS fields kept) ──────────────────┘
//! ```
//!
//! - [`sniff()`] tells the two formats by their first bytes.
//! - [`evtx::read`] parses a `.evtx` file in a resource-limited child process (the `evtx` crate
//!   is not hardened against malformed files) and streams its events.
//! - [`ndjson::read`] reads Winlogbeat output, line by line.
//! - [`map::map`] is the mapping to ECS, after Winlogbeat's ingest pipelines (sources cited
//!   there and in [`sysmon`] and [`security`]).
//!
//! Nothing in any input can make these panic; a damaged record, line or file is reported with
//! where it is, and the rest is read.
mod args;
pub mod evtx;
pub mod map;
pub mod ndjson;
pub mod record;
pub mod security;
pub mod sniff;
pub mod sysmon;
pub mod worker;

#[cfg(test)]
mod map_tests;
#[cfg(test)]
mod ndjson_tests;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod samples_tests;

pub use self::evtx::{EvtxError, EvtxProblem, EvtxReader, EvtxStats, Limits};
pub use self::record::WinRecord;
pub use self::sniff::{WinFormat, sniff};
pub use crate::ecs::windows::WinEvent;
