//! A follower on its own thread over real files in a temporary directory, and a stand-in for
//! the sink: lines become records through [`LineNormalizer`], and the checkpoint of the last
//! record taken is saved when the run stops, as the sink saves it once the record is written.
use std::{
    fs::{self, File, OpenOptions},
    io::Write as _,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

use crate::{
    parse::ClassicZone,
    source::{
        Resume,
        authlog::{
            AuthLogMessage, CHECKPOINT_FILE, Checkpoint, FollowError, FollowOptions,
            LineNormalizer, Notice, follow,
        },
    },
};

/// How long any one expectation may take, generous for a loaded two-core machine.
const DEADLINE: Duration = Duration::from_secs(5);

/// A temporary directory holding `auth.log` and the state, removed when dropped.
pub struct Dir {
    pub path: PathBuf,
}

impl Dir {
    pub fn new(test: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("sensor-authlog-{test}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self { path }
    }

    pub fn log(&self) -> PathBuf {
        self.path.join("auth.log")
    }

    pub fn rotated(&self) -> PathBuf {
        self.path.join("auth.log.1")
    }

    pub fn checkpoint(&self) -> PathBuf {
        self.path.join(CHECKPOINT_FILE)
    }

    pub fn options(&self) -> FollowOptions {
        let mut options = FollowOptions::new(self.log(), self.checkpoint());
        options.poll = Duration::from_millis(50);
        options
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// sshd's line for the login numbered `n`.
pub fn accepted(n: u32) -> String {
    let port = 1024 + n % 60_000;
    format!(
        "2026-11-23T10:00:00.000000+00:00 host sshd[4242]: Accepted password for u{n} from 10.0.0.2 port {port} ssh2\n"
    )
}

/// A line of another program: read, never a record, never a checkpoint.
pub fn noise(n: u32) -> String {
    format!(
        "2026-11-23T10:00:00.000000+00:00 host CRON[{n}]: pam_unix(cron:session): session closed for user root end\n"
    )
}

/// A line marking that everything written before it was read.
pub fn sentinel(tag: &str) -> String {
    format!("2026-11-23T10:00:00.000000+00:00 host test[1]: sentinel {tag} end\n")
}

/// Logins `from..=to`, with another program's line after every fifth.
pub fn logins(from: u32, to: u32) -> String {
    let mut text = String::new();
    for n in from..=to {
        text.push_str(&accepted(n));
        if n % 5 == 0 {
            text.push_str(&noise(n));
        }
    }
    text
}

/// Opens `path` for appending, as a syslog daemon does (creating it).
pub fn appender(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn append(path: &Path, text: &str) {
    write(&mut appender(path), text);
}

pub fn write(file: &mut File, text: &str) {
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("writing: {e}"));
}

pub fn range(from: u32, to: u32) -> Vec<u32> {
    (from..=to).collect()
}

/// One run of the follower, and what came out of it.
pub struct Run {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), FollowError>>>,
    rx: mpsc::Receiver<AuthLogMessage>,
    runtime: tokio::runtime::Runtime,
    normalizer: LineNormalizer,
    checkpoint_file: PathBuf,
    /// The checkpoint of the last record taken.
    last: Option<Checkpoint>,
    /// The numbers of the logins taken, in order.
    pub numbers: Vec<u32>,
    pub notices: Vec<Notice>,
    pub sentinels: Vec<String>,
}

impl Run {
    /// Starts following, and waits until the follower has placed itself (its first notice).
    pub fn start(options: FollowOptions) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        // A small channel, so that the follower runs ahead of the sink only a little.
        let (tx, rx) = mpsc::channel(8);
        let checkpoint_file = options.checkpoint.clone();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || follow(&options, &tx, &flag));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let mut run = Self {
            stop,
            thread: Some(thread),
            rx,
            runtime,
            normalizer: LineNormalizer::new(ClassicZone::utc()),
            checkpoint_file,
            last: None,
            numbers: Vec::new(),
            notices: Vec::new(),
            sentinels: Vec::new(),
        };
        run.until("the first notice", |run| !run.notices.is_empty());
        run
    }

    /// Takes messages until `done` holds; panics at the deadline.
    pub fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; got logins {:?}, notices {:#?}",
                self.numbers,
                self.notices
            );
            let rx = &mut self.rx;
            let got = self
                .runtime
                .block_on(async { tokio::time::timeout(left, rx.recv()).await });
            match got {
                Ok(Some(message)) => self.take(message),
                Ok(None) => {
                    let ended = self.thread.take().map(JoinHandle::join);
                    panic!("the follower ended while waiting for {what}: {ended:?}");
                }
                Err(_) => {}
            }
        }
    }

    pub fn until_sentinel(&mut self, tag: &str) {
        self.until(&format!("sentinel {tag}"), |run| {
            run.sentinels.iter().any(|t| t == tag)
        });
    }

    pub fn until_login(&mut self, n: u32) {
        self.until(&format!("login {n}"), |run| run.numbers.last() == Some(&n));
    }

    fn take(&mut self, message: AuthLogMessage) {
        let line = match message {
            AuthLogMessage::Notice(notice) => return self.notices.push(notice),
            AuthLogMessage::Line(line) => line,
        };
        let text = String::from_utf8_lossy(&line.bytes).into_owned();
        assert!(
            text.ends_with(" ssh2") || text.ends_with(" end"),
            "not a whole line: {text:?}"
        );
        if let Some(tag) = text.split(" sentinel ").nth(1) {
            self.sentinels.push(tag.trim_end_matches(" end").to_owned());
        }
        let record = self
            .normalizer
            .record(&line)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let Some(record) = record else { return };
        let user = record.user.as_ref().map(|u| u.name.as_str()).unwrap_or("");
        let n = user.strip_prefix('u').and_then(|n| n.parse().ok());
        self.numbers
            .push(n.unwrap_or_else(|| panic!("unexpected record for {text:?}")));
        assert_eq!(
            record.resume,
            Some(Resume::AuthLog(line.checkpoint.clone()))
        );
        self.last = Some(line.checkpoint);
    }

    /// Stops the follower; messages it sent but not taken are dropped, as a sink that never
    /// wrote them. Saves the checkpoint of the last record taken.
    pub fn stop(mut self) -> (Vec<u32>, Vec<Notice>) {
        self.halt();
        if let Some(cp) = &self.last {
            cp.save(&self.checkpoint_file)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        (
            std::mem::take(&mut self.numbers),
            std::mem::take(&mut self.notices),
        )
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A follower blocked on a full channel gets an error and returns.
        self.rx.close();
        if let Some(thread) = self.thread.take() {
            match thread.join() {
                Ok(result) => result.unwrap_or_else(|e| panic!("follower failed: {e}")),
                Err(_) => panic!("the follower panicked"),
            }
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.rx.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
