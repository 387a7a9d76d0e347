//! sshd's records from the systemd journal: the entry model and trust check shared by every
//! journal format, the checkpoint, and the live follower.
pub mod checkpoint;
pub mod entry;
pub mod live;

pub use checkpoint::Checkpoint;

/// File of the state directory holding the journal checkpoint.
pub const CHECKPOINT_FILE: &str = "journal.cursor";
pub use entry::{DEFAULT_SSHD_EXES, Forgery, JournalEntry, Provenance, Unverified};
