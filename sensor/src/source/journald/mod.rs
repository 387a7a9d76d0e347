//! sshd's records from the systemd journal: the entry model and trust check shared by every
//! journal format, the checkpoint, and the live follower.
pub mod checkpoint;
pub mod entry;
pub mod live;

pub use checkpoint::Checkpoint;
pub use entry::{DEFAULT_SSHD_EXES, Forgery, JournalEntry, Provenance};
