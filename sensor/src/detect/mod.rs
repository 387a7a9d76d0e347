//! Detection: rules written in Elastic KQL over ECS fields, evaluated on each correlated event.
//!
//! [`kql`] is the query engine (parser, compiler, allocation-free matcher); the rule loader
//! and the alerting stage build on it.

pub mod kql;
