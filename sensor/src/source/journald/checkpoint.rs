//! The cursor of the last journal entry that went downstream, kept in the state directory.
//! Written atomically (a temporary file renamed over the old one), so a crash leaves either the
//! old or the new checkpoint, never half of one.
use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use tracing::warn;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub cursor: String,
    /// `__REALTIME_TIMESTAMP` of that entry: where to resume if the cursor is gone.
    pub realtime_us: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("saving the journal checkpoint {path}: {source}")]
pub struct CheckpointError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl Checkpoint {
    /// Reads the checkpoint; a missing file is no checkpoint, a damaged one is logged and
    /// ignored (following then starts at the end of the journal).
    pub fn load(path: &Path) -> Option<Self> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                warn!(path = %path.display(), %e, "cannot read the journal checkpoint; starting at the end");
                return None;
            }
        };
        match serde_json::from_str(&text) {
            Ok(cp) => Some(cp),
            Err(e) => {
                warn!(path = %path.display(), %e, "damaged journal checkpoint; starting at the end");
                None
            }
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let err = |source| CheckpointError {
            path: path.to_owned(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let mut file = fs::File::create(&tmp).map_err(err)?;
        let body = serde_json::to_vec(self).map_err(|e| err(e.into()))?;
        file.write_all(&body)
            .and_then(|()| file.sync_all())
            .map_err(err)?;
        fs::rename(&tmp, path).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_damage() {
        let dir = std::env::temp_dir().join(format!("sensor-cp-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.cursor");
        assert_eq!(Checkpoint::load(&path), None);
        let cp = Checkpoint {
            cursor: "s=1;i=2".into(),
            realtime_us: 42,
        };
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path), Some(cp));
        fs::write(&path, b"{\"cursor\": 7").unwrap();
        assert_eq!(Checkpoint::load(&path), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
