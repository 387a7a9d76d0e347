//! A real OpenSSH daemon started by hand in a namespace, and the password-login client.
use std::{
    net::Ipv4Addr,
    os::unix::fs::DirBuilderExt as _,
    process::{Child, Command, Output, Stdio},
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{Context as _, Result, bail};

use crate::{cmd, feed::Feed, netns::Netns, tempdir::TempDir, user::TestUser};

const SSHD: &str = "/usr/sbin/sshd";
/// sshd's privilege-separation directory; it refuses to start without it.
const PRIVSEP_DIR: &str = "/run/sshd";
/// How long sshd may take to listen, and a login to finish.
const STARTUP: Duration = Duration::from_secs(20);
const LOGIN: Duration = Duration::from_secs(60);

/// An sshd listening on port 22 of one address inside a namespace, with its own config and host
/// key in a private directory. Stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct Sshd {
    child: Child,
    log: Feed<String>,
    reader: Option<JoinHandle<()>>,
    // Removed after the daemon is stopped (fields drop after `Drop::drop`).
    _dir: TempDir,
}

impl Sshd {
    /// Starts `sshd -D -e -f CONFIG` in `ns` on `listen`:22, allowing only password logins by
    /// `user`, and waits (with a deadline) until it logs that it listens.
    /// Starts sshd logging to its stderr (kept in [`Sshd::log`]).
    pub fn start(ns: &Netns, listen: Ipv4Addr, user: &TestUser) -> Result<Self> {
        Self::start_logging(ns, listen, user, Logging::Stderr)
    }

    /// Starts sshd logging as configured: to stderr, or through syslog to journald.
    pub fn start_logging(
        ns: &Netns,
        listen: Ipv4Addr,
        user: &TestUser,
        logging: Logging,
    ) -> Result<Self> {
        std::fs::DirBuilder::new()
            .mode(0o755)
            .recursive(true)
            .create(PRIVSEP_DIR)
            .with_context(|| format!("creating {PRIVSEP_DIR}"))?;
        let dir = TempDir::new("sshd")?;
        let host_key = dir.path().join("ssh_host_ed25519_key");
        cmd::run(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "sensor-test", "-f"])
                .arg(&host_key),
            STARTUP,
        )?;
        let config = dir.path().join("sshd_config");
        // UsePAM no: sshd checks the password against /etc/shadow itself, with no PAM stack of
        // the host in the way.
        let text = format!(
            "ListenAddress {listen}\n\
             Port 22\n\
             HostKey {}\n\
             PidFile none\n\
             UsePAM no\n\
             PasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication no\n\
             PermitRootLogin no\n\
             AllowUsers {}\n\
             LogLevel VERBOSE\n",
            host_key.display(),
            user.name,
        );
        std::fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;

        let flags: &[&str] = match logging {
            Logging::Stderr => &["-D", "-e", "-f"],
            Logging::Syslog => &["-D", "-f"],
        };
        let child = ns
            .command(SSHD)
            .args(flags)
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {SSHD} in {}", ns.name()))?;
        // Owned from here on, so that an error below still stops the daemon.
        let mut sshd = Self {
            child,
            log: Feed::default(),
            reader: None,
            _dir: dir,
        };
        let stderr = sshd.child.stderr.take().context("sshd stderr")?;
        let (lines, end) = (sshd.log.clone(), sshd.log.clone());
        sshd.reader = Some(crate::feed::read_lines(
            "sshd-stderr",
            stderr,
            move |l| lines.push(l),
            move || end.close(),
        )?);
        match logging {
            Logging::Stderr => {
                let listening = format!("Server listening on {listen} port 22.");
                sshd.log
                    .wait_for("sshd listening", STARTUP, |l| l.contains(&listening))
                    .with_context(|| format!("sshd log: {:?}", sshd.log.snapshot()))?;
            }
            Logging::Syslog => wait_listening(ns, listen)?,
        }
        Ok(sshd)
    }

    /// The listening daemon's pid (`ip netns exec` execs sshd in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What sshd logged so far (`-e`: to stderr).
    pub fn log(&self) -> Vec<String> {
        self.log.snapshot()
    }
}

/// Where sshd's own log goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    /// `-e`: stderr, read by the harness.
    Stderr,
    /// syslog(3), that is `/dev/log`, that is journald.
    Syslog,
}

/// Polls the namespace's listening sockets until sshd's appears, or the deadline passes.
fn wait_listening(ns: &Netns, listen: Ipv4Addr) -> Result<()> {
    let want = format!("{listen}:22");
    let deadline = std::time::Instant::now() + STARTUP;
    loop {
        let out = cmd::output_within(ns.command("ss").args(["-Hltn"]), STARTUP)?;
        if String::from_utf8_lossy(&out.stdout).contains(&want) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("sshd did not listen on {want} within {STARTUP:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Err(err) = cmd::stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(5)) {
            eprintln!("warning: stopping sshd {}: {err:#}", self.child.id());
        }
        if let Some(reader) = self.reader.take() {
            // The pipe closed with the daemon (its session children are killed with the
            // namespace); a panicked reader has nothing left to report.
            let _ = reader.join();
        }
    }
}

/// Logs in to `host` from `ns` as `user` with the password (sshpass, never a key) and runs
/// `command`; fails unless ssh exits 0. Returns ssh's output.
pub fn ssh(ns: &Netns, user: &TestUser, host: Ipv4Addr, command: &str) -> Result<Output> {
    let mut cmd = ssh_command(ns, user, host, command);
    let out = cmd::output_within(&mut cmd, LOGIN)?;
    if !out.status.success() {
        // sshpass exits 5 for a rejected password.
        bail!(
            "ssh {}@{host} {command:?} from {} failed ({}): {}",
            user.name,
            ns.name(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// The password-login client command, for a caller that runs it in the background.
pub fn ssh_command(ns: &Netns, user: &TestUser, host: Ipv4Addr, command: &str) -> Command {
    let mut cmd = ns.command("sshpass");
    cmd.env("SSHPASS", &user.password)
        .args(["-e", "ssh", "-F", "/dev/null"])
        .args(["-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null"])
        .args(["-o", "GlobalKnownHostsFile=/dev/null"])
        .args(["-o", "PubkeyAuthentication=no"])
        .args(["-o", "PreferredAuthentications=password"])
        .args(["-o", "NumberOfPasswordPrompts=1"])
        .args(["-o", "ConnectTimeout=10"])
        .args(["-o", "LogLevel=ERROR"])
        .arg(format!("{}@{host}", user.name))
        .arg(command);
    cmd
}
