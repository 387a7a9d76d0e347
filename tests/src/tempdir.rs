//! A private temporary directory, removed on drop.
use std::{
    os::unix::fs::{DirBuilderExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/sensor-test-<role>-<pid>-<n>`, mode 0755 (sshd refuses to read a host key
    /// or config from a directory others can write to).
    pub fn new(role: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("sensor-test-{role}-{}", crate::unique()));
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the executable `src` into this directory as `name` (its comm is then `name`).
    pub fn copy_executable(&self, src: &str, name: &str) -> Result<PathBuf> {
        let dst = self.path.join(name);
        std::fs::copy(src, &dst).with_context(|| format!("copying {src} to {}", dst.display()))?;
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", dst.display()))?;
        Ok(dst)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.path) {
            eprintln!("warning: removing {}: {err}", self.path.display());
        }
    }
}
