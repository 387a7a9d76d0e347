//! The shipped rules, their fixtures and the baseline corpus, embedded from `sensor/rules/` by
//! the build script, so the binary needs no rules directory.
//!
//! Layout (the same for a user's rules directory):
//! - `<platform>/<name>.toml`: a rule;
//! - `<platform>/<name>.positive.<ext>`: a log it must alert on (any format `sensor replay` reads);
//! - `baseline/*`: logs on which no rule may alert.
mod generated {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// Every embedded file, by its path under `rules/`, sorted.
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    generated::FILES
}

/// Whether a path under a rules directory is a rule file (not a fixture, not baseline).
pub fn is_rule_path(rel: &str) -> bool {
    rel.ends_with(".toml") && !rel.starts_with("baseline/") && !rel.contains(".positive.")
}

/// Whether a path is in the baseline corpus.
pub fn is_baseline_path(rel: &str) -> bool {
    rel.starts_with("baseline/") && !rel.ends_with(".md")
}

/// The positive fixture's prefix for a rule path: `linux/x.toml` → `linux/x.positive.`.
pub fn positive_prefix(rule_rel: &str) -> String {
    format!("{}.positive.", rule_rel.trim_end_matches(".toml"))
}
