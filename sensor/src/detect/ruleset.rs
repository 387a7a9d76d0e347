//! Loading rules: the shipped ones (built in) and any directory of rule files. Every problem
//! is collected, each naming its file and, when it could be read, its rule.
use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use super::{
    builtin,
    kql::Query,
    rule::{Rule, RuleError, Variables, compile_query},
};

/// Where rules come from.
#[derive(Debug, Clone, Default)]
pub struct RuleSources {
    /// Include the shipped rules.
    pub builtin: bool,
    /// Directories of rule files (searched recursively for `*.toml`, fixtures and `baseline/`
    /// excepted).
    pub dirs: Vec<PathBuf>,
    /// Global allowlist: KQL queries; an event matching any raises no alert.
    pub allowlist: Vec<String>,
    pub variables: Variables,
}

/// One rule file's problem.
#[derive(Debug)]
pub struct FileError {
    pub file: String,
    /// `name (rule_id)`, when the file was readable enough to tell.
    pub rule: Option<String>,
    pub error: RuleError,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{}: rule {rule}: {}", self.file, self.error),
            None => write!(f, "{}: {}", self.file, self.error),
        }
    }
}

/// Every problem found while loading.
#[derive(Debug, thiserror::Error)]
pub struct LoadError(pub Vec<FileError>);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} rule file{} did not load:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// The loaded rules and the compiled allowlist.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub rules: Vec<Rule>,
    pub allowlist: Vec<Query>,
}

/// A rule file found in a directory: its path, and its path relative to the directory.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub rel: String,
}

/// Loads every rule of `sources`. Duplicate rule ids are errors.
pub fn load(sources: &RuleSources) -> Result<Loaded, LoadError> {
    let mut errors = Vec::new();
    let mut rules: Vec<Rule> = Vec::new();
    let mut texts: Vec<(String, String)> = Vec::new();
    if sources.builtin {
        for (rel, bytes) in builtin::files() {
            if builtin::is_rule_path(rel) {
                texts.push((
                    format!("builtin:{rel}"),
                    String::from_utf8_lossy(bytes).into_owned(),
                ));
            }
        }
    }
    for dir in &sources.dirs {
        match find(dir) {
            Ok(found) => {
                for f in found {
                    let file = f.path.display().to_string();
                    match std::fs::read_to_string(&f.path) {
                        Ok(text) => texts.push((file, text)),
                        Err(e) => errors.push(FileError {
                            file,
                            rule: None,
                            error: RuleError::Toml(format!("reading the file: {e}")),
                        }),
                    }
                }
            }
            Err(e) => errors.push(FileError {
                file: dir.display().to_string(),
                rule: None,
                error: RuleError::Toml(format!("reading the directory: {e}")),
            }),
        }
    }
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (file, text) in texts {
        match Rule::from_toml(&text, file.clone(), &sources.variables) {
            Ok(rule) => {
                if let Some(other) = ids.insert(rule.id.clone(), file.clone()) {
                    errors.push(FileError {
                        file,
                        rule: Some(format!("{} ({})", rule.name, rule.id)),
                        error: RuleError::DuplicateId {
                            id: rule.id.clone(),
                            other,
                        },
                    });
                } else {
                    rules.push(rule);
                }
            }
            Err(error) => errors.push(FileError {
                file,
                rule: rule_label(&text),
                error,
            }),
        }
    }
    let mut allowlist = Vec::new();
    for (i, text) in sources.allowlist.iter().enumerate() {
        match compile_query(
            &format!("allowlist entry {}", i + 1),
            text,
            &sources.variables,
        ) {
            Ok(q) => allowlist.push(q),
            Err(error) => errors.push(FileError {
                file: "allowlist".to_owned(),
                rule: None,
                error,
            }),
        }
    }
    if errors.is_empty() {
        Ok(Loaded { rules, allowlist })
    } else {
        Err(LoadError(errors))
    }
}

/// `name (rule_id)` of a rule file that parses as TOML, whatever else is wrong with it.
fn rule_label(text: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(text).ok()?;
    let rule = value.get("rule")?.as_table()?;
    let name = rule.get("name").and_then(toml::Value::as_str);
    let id = rule.get("rule_id").and_then(toml::Value::as_str);
    match (name, id) {
        (Some(n), Some(i)) => Some(format!("{n:?} ({i})")),
        (Some(n), None) => Some(format!("{n:?}")),
        (None, Some(i)) => Some(format!("({i})")),
        (None, None) => None,
    }
}

/// The rule files under `dir`, sorted by relative path.
pub fn find(dir: &Path) -> std::io::Result<Vec<Found>> {
    Ok(walk(dir)?
        .into_iter()
        .filter(|f| builtin::is_rule_path(&f.rel))
        .collect())
}

/// Every file under `dir` (recursively), sorted by relative path.
pub fn walk(dir: &Path) -> std::io::Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                let rel = rel.to_string_lossy().into_owned();
                out.push(Found { path, rel });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}
