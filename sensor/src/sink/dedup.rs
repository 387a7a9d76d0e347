//! The ids of the alerts already written, kept in the state directory: a record read again
//! after a crash (written, but its resume point not yet saved) does not alert twice.
//!
//! `alerts.seen` holds one id per line, appended as alerts are written; at start the last
//! [`KEEP`] are loaded, and the file is rewritten with those when it has grown past twice that.
use std::{
    collections::{HashSet, VecDeque},
    fs::OpenOptions,
    io::Write as _,
    path::{Path, PathBuf},
};

use tracing::warn;

/// The file, in the state directory.
pub const FILE: &str = "alerts.seen";
/// Alert ids remembered.
pub const KEEP: usize = 4096;

#[derive(Debug)]
pub struct Dedup {
    path: PathBuf,
    order: VecDeque<String>,
    seen: HashSet<String>,
    lines: usize,
}

impl Dedup {
    /// Loads the ids saved in `state_dir`; an unreadable file is logged and starts empty.
    pub fn load(state_dir: &Path) -> Self {
        let path = state_dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                warn!(path = %path.display(), %e, "cannot read the alert ids: an alert may repeat");
                String::new()
            }
        };
        let all: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        let mut dedup = Self {
            path,
            order: VecDeque::new(),
            seen: HashSet::new(),
            lines: all.len(),
        };
        for id in &all[all.len().saturating_sub(KEEP)..] {
            dedup.remember((*id).to_owned());
        }
        dedup
    }

    /// True the first time `id` is seen (and saves it); false after.
    pub fn first(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        self.remember(id.to_owned());
        if let Err(e) = self.append(id) {
            warn!(path = %self.path.display(), %e, "cannot save an alert id: it may repeat after a restart");
        }
        true
    }

    fn remember(&mut self, id: String) {
        if self.order.len() == KEEP
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.seen.insert(id.clone());
        self.order.push_back(id);
    }

    fn append(&mut self, id: &str) -> std::io::Result<()> {
        if self.lines >= 2 * KEEP {
            let text: String = self.order.iter().map(|i| format!("{i}\n")).collect();
            let tmp = self.path.with_extension("tmp");
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, &self.path)?;
            self.lines = self.order.len();
            return Ok(());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(format!("{id}\n").as_bytes())?;
        self.lines += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_survive_a_restart_and_the_file_stays_bounded() {
        let dir = std::env::temp_dir().join(format!("sensor-dedup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut d = Dedup::load(&dir);
        assert!(d.first("a"));
        assert!(!d.first("a"));
        let mut again = Dedup::load(&dir);
        assert!(!again.first("a"), "remembered across a restart");
        for i in 0..3 * KEEP {
            assert!(again.first(&format!("id{i}")));
        }
        let lines = std::fs::read_to_string(dir.join(FILE))
            .unwrap()
            .lines()
            .count();
        assert!(lines <= 2 * KEEP + 1, "{lines} lines");
        let last = Dedup::load(&dir);
        assert!(last.seen.contains(&format!("id{}", 3 * KEEP - 1)));
        assert!(!last.seen.contains("a"), "only the last {KEEP} are kept");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
