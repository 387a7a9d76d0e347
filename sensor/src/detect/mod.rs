//! Detection: rules written in Elastic KQL over ECS fields, evaluated on each event.
//!
//! [`kql`] is the query engine (parser, compiler, allocation-free matcher); [`rule`] reads rule
//! files shaped like Elastic's detection-rules; [`ruleset`] loads the shipped rules
//! ([`builtin`]) and rule directories; [`engine`] runs them on events and makes [`alert`]s.
pub mod alert;
pub mod builtin;
pub mod command;
pub mod engine;
pub mod kql;
pub mod rule;
pub mod ruleset;

pub use self::alert::Alert;
pub use self::engine::Engine;
pub use self::rule::{Rule, Variables};
pub use self::ruleset::{Loaded, RuleSources, load};
