//! Where records go: stdout, a file and journald (alerts), one JSON object per line
//! (`stdout::run` is the stage; `file` and `journald` the outputs besides stdout).
pub mod dedup;
pub mod file;
pub mod journald;
pub mod stdout;
