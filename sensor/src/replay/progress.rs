//! A progress bar on stderr for long replays: only when stderr is a terminal (the caller says)
//! and the inputs add up to more than [`MIN_BYTES`]; never otherwise.
use std::io::Read;

use indicatif::{ProgressBar, ProgressStyle};

/// Inputs smaller than this replay too fast for a bar to help.
pub const MIN_BYTES: u64 = 8 << 20;

/// The bar, or nothing.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub const NONE: Self = Self { bar: None };

    /// A bar over `total` bytes (the sizes of the input files as stored) when `enabled`.
    pub fn new(enabled: bool, total: u64) -> Self {
        if !enabled || total <= MIN_BYTES {
            return Self::NONE;
        }
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
        );
        if let Ok(style) = style {
            bar.set_style(style);
        }
        Self { bar: Some(bar) }
    }

    /// Counts the bytes read through `inner` on the bar.
    pub fn wrap<'a, R: Read + 'a>(&self, inner: R) -> Box<dyn Read + 'a> {
        match &self.bar {
            Some(bar) => Box::new(bar.wrap_read(inner)),
            None => Box::new(inner),
        }
    }

    /// Names the input being read.
    pub fn set_input(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(name.to_owned());
        }
    }

    /// Runs `f` (which writes to stderr) with the bar out of the way.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
