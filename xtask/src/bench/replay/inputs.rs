//! The bench's input files, generated in its scratch directory: the auth.logs, the slices that
//! fail2ban-regex reads, and the `.journal` systemd-journal-remote makes of an export stream.
use std::{
    fs,
    io::BufWriter,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

use super::{
    Input, SEED,
    events::Mix,
    logs::{self, Counts, Stamps},
};
use crate::cmd;

/// The three auth.logs of `size_mib` MiB: realistic and dense with RFC 3339 timestamps,
/// realistic with classic ones; and the first `slice_mib` MiB of the first two (the generator
/// writes the same lines from the same seed, so a slice is the start of its log).
pub(super) fn auth_logs(
    dir: &Path,
    size_mib: u64,
    slice_mib: u64,
) -> anyhow::Result<(Vec<Input>, Vec<Input>)> {
    let realistic = (Mix::Realistic, Stamps::Rfc3339, "realistic mix, RFC 3339");
    let dense = (Mix::Dense, Stamps::Rfc3339, "brute force, RFC 3339");
    let classic = (
        Mix::Realistic,
        Stamps::Classic,
        "realistic mix, classic stamps",
    );
    let logs = [
        ("realistic.log", realistic),
        ("dense.log", dense),
        ("classic.log", classic),
    ]
    .into_iter()
    .map(|(name, kind)| auth_log(dir, name, kind, size_mib << 20, kind.2.to_owned()))
    .collect::<anyhow::Result<Vec<_>>>()?;
    let slices = [
        ("realistic-slice.log", realistic),
        ("dense-slice.log", dense),
    ]
    .into_iter()
    .map(|(name, kind)| {
        let what = format!("the first {slice_mib} MiB of the above");
        auth_log(dir, name, kind, slice_mib << 20, what)
    })
    .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((logs, slices))
}

fn auth_log(
    dir: &Path,
    name: &str,
    (mix, stamps, _): (Mix, Stamps, &str),
    bytes: u64,
    what: String,
) -> anyhow::Result<Input> {
    let path = dir.join(name);
    let file = fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let counts = logs::auth_log(mix, stamps, bytes, SEED, &mut out)
        .and_then(|c| std::io::Write::flush(&mut out).map(|()| c))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Input {
        name: name.to_owned(),
        path,
        counts,
        unit: "lines",
        what,
    })
}

pub(super) fn export(dir: &Path, entries: u64) -> anyhow::Result<(PathBuf, Counts)> {
    let path = dir.join("journal.export");
    let file = fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let counts = logs::export(Mix::Realistic, entries, SEED, &mut out)
        .and_then(|c| std::io::Write::flush(&mut out).map(|()| c))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok((path, counts))
}

/// A `.journal` of `entries` entries of the realistic mix, made by systemd-journal-remote.
pub(super) fn journal(dir: &Path, entries: u64) -> anyhow::Result<Input> {
    let (export, counts) = export(dir, entries)?;
    let path = dir.join("F.journal");
    cmd::output(
        Command::new("/lib/systemd/systemd-journal-remote")
            .arg(format!("--output={}", path.display()))
            .arg(&export),
    )?;
    let _ = fs::remove_file(&export);
    let rotated = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("F@"));
    if rotated {
        bail!("systemd-journal-remote split {entries} entries over several files: ask for fewer");
    }
    Ok(Input {
        name: "F.journal".to_owned(),
        counts: Counts {
            bytes: fs::metadata(&path)?.len(),
            ..counts
        },
        path,
        unit: "entries",
        what: "realistic mix, systemd-journal-remote".to_owned(),
    })
}

/// The bench's scratch directory under /var/tmp, removed at the end.
pub(super) struct WorkDir(pub PathBuf);

impl WorkDir {
    pub fn create() -> anyhow::Result<Self> {
        let dir = PathBuf::from(format!(
            "/var/tmp/sensor-bench-replay-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
