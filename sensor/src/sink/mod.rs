//! Where records go. For now: stdout, one JSON object per line.
pub mod stdout;
