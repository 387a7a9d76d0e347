//! Sources of events: `ebpf` is the kernel's view of sshd sessions; `journald` is sshd's own
//! account of its logins, from the systemd journal.
pub mod ebpf;
pub mod journald;

use std::path::Path;

/// Where a log source resumes after a restart. Records carry it; the sink saves it in the state
/// directory once the record is written, so a restart neither skips nor repeats a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    Journal(journald::Checkpoint),
}

impl Resume {
    /// One checkpoint is kept per kind: this names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Journal(_) => "journal",
        }
    }

    pub fn save(&self, state_dir: &Path) -> Result<(), journald::checkpoint::CheckpointError> {
        match self {
            Self::Journal(cp) => cp.save(&state_dir.join(journald::CHECKPOINT_FILE)),
        }
    }
}
