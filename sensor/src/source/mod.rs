//! Sources of events: `ebpf` is the kernel's view of sshd sessions; `journald` is sshd's own
//! account of its logins, from the systemd journal; `authlog` is the same account from a syslog
//! file, where there is no journal.
pub mod authlog;
pub mod ebpf;
pub mod journald;

use std::path::Path;

/// Where a log source resumes after a restart. Records carry it; the sink saves it in the state
/// directory once the record is written, so a restart neither skips nor repeats a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    Journal(journald::Checkpoint),
    AuthLog(authlog::Checkpoint),
}

/// Saving a resume point failed.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error(transparent)]
    Journal(#[from] journald::checkpoint::CheckpointError),
    #[error(transparent)]
    AuthLog(#[from] authlog::CheckpointError),
}

impl Resume {
    /// One checkpoint is kept per kind: this names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Journal(_) => "journal",
            Self::AuthLog(_) => "auth-log",
        }
    }

    pub fn save(&self, state_dir: &Path) -> Result<(), ResumeError> {
        match self {
            Self::Journal(cp) => Ok(cp.save(&state_dir.join(journald::CHECKPOINT_FILE))?),
            Self::AuthLog(cp) => Ok(cp.save(&state_dir.join(authlog::CHECKPOINT_FILE))?),
        }
    }
}
