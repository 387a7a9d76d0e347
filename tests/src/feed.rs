//! A growing list of items that a reader thread fills (lines of a child's output, parsed records)
//! and a test waits on with a deadline, woken by each new item rather than by a fixed sleep.
use std::{
    io::{BufRead as _, BufReader, Read},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

/// Items pushed by one writer, read by any number of waiters. Cloning shares the same list.
#[derive(Debug)]
pub struct Feed<T> {
    inner: Arc<(Mutex<State<T>>, Condvar)>,
}

#[derive(Debug)]
struct State<T> {
    items: Vec<T>,
    /// The writer is done: no item will come.
    closed: bool,
}

impl<T> Clone for Feed<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> Default for Feed<T> {
    fn default() -> Self {
        Self {
            inner: Arc::new((
                Mutex::new(State {
                    items: Vec::new(),
                    closed: false,
                }),
                Condvar::new(),
            )),
        }
    }
}

impl<T: Clone> Feed<T> {
    pub fn push(&self, item: T) {
        self.state().items.push(item);
        self.inner.1.notify_all();
    }

    /// Marks the end of the stream and wakes every waiter.
    pub fn close(&self) {
        self.state().closed = true;
        self.inner.1.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// A copy of every item so far.
    pub fn snapshot(&self) -> Vec<T> {
        self.state().items.clone()
    }

    /// Waits until an item matches `pred` and returns the first that does, with its index. Fails
    /// naming `what` when `timeout` passes or the stream closes first.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&T) -> bool,
    ) -> Result<(usize, T)> {
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        let mut state = self.state();
        loop {
            if let Some(i) = state.items[seen..].iter().position(&mut pred) {
                return Ok((seen + i, state.items[seen + i].clone()));
            }
            seen = state.items.len();
            if state.closed {
                bail!(
                    "{what}: the stream ended (its process exited) after {seen} items, none matching"
                );
            }
            let now = Instant::now();
            if now >= deadline {
                bail!("{what}: none of {seen} items matched within {timeout:?}");
            }
            state = self
                .inner
                .1
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    fn state(&self) -> MutexGuard<'_, State<T>> {
        // A panicking waiter cannot leave the list half-written: keep going with it.
        self.inner
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reads `reader` line by line on a new thread, handing each line to `on_line`, then calls
/// `on_end` once the stream ends (the child exited or closed it).
pub fn read_lines(
    name: &str,
    reader: impl Read + Send + 'static,
    mut on_line: impl FnMut(String) + Send + 'static,
    on_end: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            for line in BufReader::new(reader).lines() {
                match line {
                    Ok(line) => on_line(line),
                    Err(err) => {
                        on_line(format!("<{err}>"));
                        break;
                    }
                }
            }
            on_end();
        })
        .with_context(|| format!("spawning the reader thread {name}"))
}
