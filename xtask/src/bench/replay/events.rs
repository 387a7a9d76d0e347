//! The replay bench's inputs, made here from a seed (the same bytes on every run), never
//! committed: auth.logs and a `journalctl -o export` stream.
//!
//! Every message has the shape a real program writes on Debian 12: sshd's are those of the
//! fixtures (`tests/fixtures/`, written by a real sshd and rsyslogd), the others those of cron,
//! sudo, su, systemd-logind and systemd's user manager. A log is a run of *events*, each a
//! fixed group of lines one program (or a login) writes together, drawn by weight:
//!
//! | event | lines | realistic | dense |
//! |---|---|---|---|
//! | cron job: `pam_unix(cron:session)` opened, closed | 2 | 50 | 1 |
//! | sudo: the command, `pam_unix(sudo:session)` opened, closed | 3 | 12 | - |
//! | su: `(to postgres) …`, `pam_unix(su:session)` opened, closed | 3 | 2 | - |
//! | publickey login and logout (below) | 8 | 6 | - |
//! | password login and logout (below) | 8 | 2 | - |
//! | wrong password: `pam_unix(sshd:auth)` failure, `Failed password`, `Connection closed … [preauth]` | 3 | 2 | 4 |
//! | invalid user: `Invalid user`, 2 × `pam_unix(sshd:auth)`, `Failed password for invalid user`, `Received disconnect … [preauth]`, `Disconnected from invalid user … [preauth]` | 6 | 1 | 6 |
//!
//! A login and logout: sshd `Accepted`, sshd `pam_unix(sshd:session)` opened, systemd-logind
//! `New session`, then sshd `Received disconnect`, `Disconnected from user`, `pam_unix` closed,
//! logind `logged out`, `Removed session`. The realistic mix (an internal server: cron and sudo
//! above all, a few dozen logins a day) is 23 % sshd lines, 22 % records; the dense one (a
//! brute-force attack) 96 % sshd lines, 64 % records. [`Counts`] gives the exact shares.
/// Which events, by weight (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Mix {
    Realistic,
    Dense,
}

/// xorshift64*: small, fast, the same stream on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// One line as a program handed it to the logger.
pub struct Line {
    /// µs since the epoch.
    pub time_us: u64,
    pub program: &'static str,
    /// `None`: the tag has no pid (`sudo:`).
    pub pid: Option<u32>,
    pub message: String,
    /// The writer's uid, executable and syslog facility (for journal entries).
    pub uid: u32,
    pub exe: &'static str,
    pub facility: u8,
    /// Whether the sensor makes a record of it.
    pub record: bool,
}

const USERS: &[&str] = &["alice", "bob", "carol", "deploy", "ansible", "backup"];
const INVALID: &[&str] = &[
    "admin", "test", "oracle", "ubuntu", "user", "postgres", "git", "pi", "ftpuser", "guest",
];
const SUDO: &[&str] = &[
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/apt-get update",
    "/usr/bin/journalctl -u app --since today",
    "/usr/bin/tail -n 200 /var/log/syslog",
    "/usr/sbin/service postgresql status",
    "/bin/cat /etc/shadow",
];
const KEYS: &[&str] = &["ED25519", "RSA", "ECDSA"];
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// 2026-01-01T00:00:00Z, where every log starts: it then crosses months (which the year
/// inference of classic timestamps follows).
pub const START_US: u64 = 1_767_225_600_000_000;

/// One kind of event: writes its lines, the first `pause` µs after the previous event.
type Event = fn(&mut Generator, u64);

/// Makes the lines of a log, event by event.
pub struct Generator {
    rng: Rng,
    mix: Mix,
    now_us: u64,
    pid: u32,
    session: u32,
    queue: std::collections::VecDeque<Line>,
}

impl Generator {
    pub fn new(mix: Mix, seed: u64) -> Self {
        Self {
            rng: Rng(seed | 1),
            mix,
            now_us: START_US,
            pid: 1000,
            session: 1,
            queue: std::collections::VecDeque::new(),
        }
    }

    pub fn next_line(&mut self) -> Line {
        loop {
            if let Some(line) = self.queue.pop_front() {
                return line;
            }
            self.event();
        }
    }

    fn new_pid(&mut self) -> u32 {
        self.pid = if self.pid >= 4_000_000 {
            1000
        } else {
            self.pid + 1 + self.rng.below(40) as u32
        };
        self.pid
    }

    /// Adds `line` `gap_us` after the previous one.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call per line shape, named in place"
    )]
    fn push(
        &mut self,
        gap_us: u64,
        program: &'static str,
        pid: Option<u32>,
        message: String,
        uid: u32,
        exe: &'static str,
        facility: u8,
        record: bool,
    ) {
        self.now_us += gap_us;
        self.queue.push_back(Line {
            time_us: self.now_us,
            program,
            pid,
            message,
            uid,
            exe,
            facility,
            record,
        });
    }

    fn sshd(&mut self, gap_us: u64, pid: u32, message: String, record: bool) {
        self.push(
            gap_us,
            "sshd",
            Some(pid),
            message,
            0,
            "/usr/sbin/sshd",
            4,
            record,
        );
    }

    fn ip(&mut self, outside: bool) -> String {
        if outside {
            let a = *self.rng.pick(&[45u64, 61, 103, 185, 193, 218]);
            format!(
                "{a}.{}.{}.{}",
                self.rng.below(256),
                self.rng.below(256),
                1 + self.rng.below(254)
            )
        } else {
            format!("10.20.{}.{}", self.rng.below(4), 2 + self.rng.below(60))
        }
    }

    fn port(&mut self) -> u64 {
        32768 + self.rng.below(28232)
    }

    fn event(&mut self) {
        // Seconds between events: a real internal server's auth.log spans weeks per 100 MB.
        let pause = 1_000_000 + self.rng.below(4_000_000);
        let events: &[(u64, Event)] = match self.mix {
            Mix::Realistic => &[
                (50, Self::cron),
                (12, Self::sudo),
                (2, Self::su),
                (6, Self::publickey_login),
                (2, Self::password_login),
                (2, Self::wrong_password),
                (1, Self::invalid_user),
            ],
            Mix::Dense => &[
                (1, Self::cron),
                (4, Self::wrong_password),
                (6, Self::invalid_user),
            ],
        };
        let mut draw = self.rng.below(events.iter().map(|e| e.0).sum());
        for &(weight, event) in events {
            if draw < weight {
                return event(self, pause);
            }
            draw -= weight;
        }
    }

    fn cron(&mut self, pause: u64) {
        let pid = self.new_pid();
        let user = if self.rng.below(4) == 0 {
            "backup"
        } else {
            "root"
        };
        let uid = if user == "root" { 0 } else { 1005 };
        let opened =
            format!("pam_unix(cron:session): session opened for user {user}(uid={uid}) by (uid=0)");
        let closed = format!("pam_unix(cron:session): session closed for user {user}");
        let gap = 50_000 + self.rng.below(2_000_000);
        self.push(
            pause,
            "CRON",
            Some(pid),
            opened,
            0,
            "/usr/sbin/cron",
            10,
            false,
        );
        self.push(
            gap,
            "CRON",
            Some(pid),
            closed,
            0,
            "/usr/sbin/cron",
            10,
            false,
        );
    }

    fn sudo(&mut self, pause: u64) {
        let user = *self.rng.pick(&USERS[..4]);
        let tty = self.rng.below(4);
        let command = *self.rng.pick(SUDO);
        let (exe, f) = ("/usr/bin/sudo", 10);
        let line =
            format!("{user:>8} : TTY=pts/{tty} ; PWD=/home/{user} ; USER=root ; COMMAND={command}");
        let opened = format!(
            "pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid=1001)"
        );
        let closed = "pam_unix(sudo:session): session closed for user root".to_owned();
        self.push(pause, "sudo", None, line, 0, exe, f, false);
        self.push(900, "sudo", None, opened, 0, exe, f, false);
        self.push(300_000, "sudo", None, closed, 0, exe, f, false);
    }

    fn su(&mut self, pause: u64) {
        let pid = self.new_pid();
        let user = *self.rng.pick(&USERS[..3]);
        let tty = self.rng.below(4);
        let (exe, f) = ("/usr/bin/su", 10);
        let to = format!("(to postgres) {user} on pts/{tty}");
        let opened = format!(
            "pam_unix(su:session): session opened for user postgres(uid=110) by {user}(uid=1001)"
        );
        let closed = "pam_unix(su:session): session closed for user postgres".to_owned();
        self.push(pause, "su", Some(pid), to, 0, exe, f, false);
        self.push(700, "su", Some(pid), opened, 0, exe, f, false);
        self.push(60_000_000, "su", Some(pid), closed, 0, exe, f, false);
    }

    fn publickey_login(&mut self, pause: u64) {
        let kind = *self.rng.pick(KEYS);
        let fingerprint: String = (0..43).map(|_| *self.rng.pick(B64) as char).collect();
        self.login(pause, "publickey", format!(": {kind} SHA256:{fingerprint}"));
    }

    fn password_login(&mut self, pause: u64) {
        self.login(pause, "password", String::new());
    }

    fn login(&mut self, pause: u64, method: &str, key: String) {
        let (pid, child) = (self.new_pid(), self.new_pid());
        let user = *self.rng.pick(USERS);
        let (ip, port) = (self.ip(false), self.port());
        let session = self.session;
        self.session += 1;
        let logind = self.new_pid();
        let (lexe, lf) = ("/lib/systemd/systemd-logind", 10);
        let accepted = format!("Accepted {method} for {user} from {ip} port {port} ssh2{key}");
        self.sshd(pause, pid, accepted, true);
        let opened =
            format!("pam_unix(sshd:session): session opened for user {user}(uid=1001) by (uid=0)");
        self.sshd(1_500, pid, opened, true);
        let new = format!("New session {session} of user {user}.");
        self.push(
            2_000,
            "systemd-logind",
            Some(logind),
            new,
            0,
            lexe,
            lf,
            false,
        );
        let lasted = 1_000_000 + self.rng.below(600_000_000);
        let bye = format!("Received disconnect from {ip} port {port}:11: disconnected by user");
        self.sshd(lasted, child, bye, true);
        let gone = format!("Disconnected from user {user} {ip} port {port}");
        self.sshd(400, child, gone, true);
        let closed = format!("pam_unix(sshd:session): session closed for user {user}");
        self.sshd(2_000, pid, closed, true);
        let out = format!("Session {session} logged out. Waiting for processes to exit.");
        self.push(
            1_000,
            "systemd-logind",
            Some(logind),
            out,
            0,
            lexe,
            lf,
            false,
        );
        let removed = format!("Removed session {session}.");
        self.push(
            3_000,
            "systemd-logind",
            Some(logind),
            removed,
            0,
            lexe,
            lf,
            false,
        );
    }

    fn wrong_password(&mut self, pause: u64) {
        let pid = self.new_pid();
        let outside = self.mix == Mix::Dense;
        let user = if outside {
            "root"
        } else {
            *self.rng.pick(USERS)
        };
        let (ip, port) = (self.ip(outside), self.port());
        let failure = format!(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
        );
        self.sshd(pause, pid, failure, false);
        let failed = format!("Failed password for {user} from {ip} port {port} ssh2");
        self.sshd(2_000_000, pid, failed, true);
        let closed =
            format!("Connection closed by authenticating user {user} {ip} port {port} [preauth]");
        self.sshd(300_000, pid, closed, true);
    }

    fn invalid_user(&mut self, pause: u64) {
        let pid = self.new_pid();
        let user = *self.rng.pick(INVALID);
        let (ip, port) = (self.ip(true), self.port());
        self.sshd(
            pause,
            pid,
            format!("Invalid user {user} from {ip} port {port}"),
            true,
        );
        let check = "pam_unix(sshd:auth): check pass; user unknown".to_owned();
        self.sshd(200_000, pid, check, false);
        let failure = format!(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}"
        );
        self.sshd(100, pid, failure, false);
        let failed = format!("Failed password for invalid user {user} from {ip} port {port} ssh2");
        self.sshd(2_000_000, pid, failed, true);
        let bye = format!("Received disconnect from {ip} port {port}:11: Bye Bye [preauth]");
        self.sshd(300_000, pid, bye, true);
        let gone = format!("Disconnected from invalid user {user} {ip} port {port} [preauth]");
        self.sshd(200, pid, gone, true);
    }
}
