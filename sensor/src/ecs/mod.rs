//! The ECS event model rules run on.
//!
//! Every event the sensor makes is an ECS 8.x document: sshd login records
//! ([`crate::record::AuthRecord`]), kernel process events ([`crate::record::ProcessRecord`]) and
//! Windows event log records. [`fields`] is the one catalogue of the fields queries may name;
//! each event type answers a query through [`Document`] by a `match` on the field, borrowing
//! its own storage, so evaluating a rule allocates nothing.
pub mod fields;
pub mod json;
mod linux;
pub mod windows;

pub use self::fields::{Field, schema};
pub use crate::detect::kql::{Document, Value};

/// An event rules can run on and alerts can quote.
pub trait Event: Document + serde::Serialize {
    /// `@timestamp`, RFC 3339 UTC.
    fn timestamp(&self) -> &str;
}
