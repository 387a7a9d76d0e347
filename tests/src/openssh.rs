//! An sshd that takes publickey logins as well as passwords, on as many addresses as the test
//! wants (its namespace's 10.0.0.1 and its own loopback, say), logging through journald; and the
//! publickey client. [`crate::sshd::Sshd`] is the password-only daemon of the other suites.
//!
//! The client's key pair and the `authorized_keys` file live in the daemon's private directory,
//! so the test account's home is never touched (`StrictModes no`: that directory is under the
//! world-writable /tmp).
use std::{
    net::Ipv4Addr,
    os::unix::fs::DirBuilderExt as _,
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use crate::{cmd, netns::Netns, tempdir::TempDir, user::TestUser};

const SSHD: &str = "/usr/sbin/sshd";
/// sshd's privilege-separation directory; it refuses to start without it.
const PRIVSEP_DIR: &str = "/run/sshd";
/// How long sshd may take to listen, and a login to finish.
const STARTUP: Duration = Duration::from_secs(20);
const LOGIN: Duration = Duration::from_secs(60);

/// `sshd -D -f CONFIG` in a namespace, listening on port 22 of each address given, allowing
/// password and publickey logins by one user. Logs through syslog, that is journald. Stopped
/// (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct OpenSshd {
    child: Child,
    client_key: PathBuf,
    // Removed after the daemon is stopped (fields drop after `Drop::drop`).
    _dir: TempDir,
}

impl OpenSshd {
    /// Starts it and waits (with a deadline) until every address listens.
    pub fn start(ns: &Netns, listen: &[Ipv4Addr], user: &TestUser) -> Result<Self> {
        std::fs::DirBuilder::new()
            .mode(0o755)
            .recursive(true)
            .create(PRIVSEP_DIR)
            .with_context(|| format!("creating {PRIVSEP_DIR}"))?;
        let dir = TempDir::new("openssh")?;
        let keygen = |path: &PathBuf, comment: &str| {
            cmd::run(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                    .arg(path),
                STARTUP,
            )
        };
        let host_key = dir.path().join("ssh_host_ed25519_key");
        keygen(&host_key, "sensor-test")?;
        let client_key = dir.path().join("client_ed25519_key");
        keygen(&client_key, "sensor-test-client")?;
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized)
            .with_context(|| format!("writing {}", authorized.display()))?;

        let config = dir.path().join("sshd_config");
        let mut text: String = listen
            .iter()
            .map(|a| format!("ListenAddress {a}\n"))
            .collect();
        // UsePAM no: sshd checks the password against /etc/shadow itself, with no PAM stack of
        // the host in the way.
        text.push_str(&format!(
            "Port 22\n\
             HostKey {}\n\
             PidFile none\n\
             UsePAM no\n\
             PasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             AuthorizedKeysFile {}\n\
             StrictModes no\n\
             PermitRootLogin no\n\
             AllowUsers {}\n\
             LogLevel VERBOSE\n",
            host_key.display(),
            authorized.display(),
            user.name,
        ));
        std::fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;

        let child = ns
            .command(SSHD)
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {SSHD} in {}", ns.name()))?;
        // Owned from here on, so that an error below still stops the daemon.
        let mut sshd = Self {
            child,
            client_key,
            _dir: dir,
        };
        for addr in listen {
            sshd.wait_listening(ns, *addr)?;
        }
        Ok(sshd)
    }

    /// Logs in to `host` from `ns` as `user` with the authorised key (never a password) and runs
    /// `command`; fails unless ssh exits 0.
    pub fn ssh_publickey(
        &self,
        ns: &Netns,
        user: &TestUser,
        host: Ipv4Addr,
        command: &str,
    ) -> Result<Output> {
        let mut cmd = ns.command("ssh");
        cmd.args(["-F", "/dev/null", "-i"])
            .arg(&self.client_key)
            .args(["-o", "IdentitiesOnly=yes"])
            .args(["-o", "BatchMode=yes"])
            .args(["-o", "PreferredAuthentications=publickey"])
            .args(["-o", "PasswordAuthentication=no"])
            .args(["-o", "KbdInteractiveAuthentication=no"])
            .args(["-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null"])
            .args(["-o", "GlobalKnownHostsFile=/dev/null"])
            .args(["-o", "ConnectTimeout=10"])
            .args(["-o", "LogLevel=ERROR"])
            .arg(format!("{}@{host}", user.name))
            .arg(command);
        let out = cmd::output_within(&mut cmd, LOGIN)?;
        if !out.status.success() {
            bail!(
                "publickey ssh {}@{host} {command:?} from {} failed ({}): {}",
                user.name,
                ns.name(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out)
    }

    /// Polls the namespace's listening sockets until sshd's on `addr` appears, or the deadline
    /// passes (or sshd exits: a bad configuration).
    fn wait_listening(&mut self, ns: &Netns, addr: Ipv4Addr) -> Result<()> {
        let want = format!("{addr}:22");
        let deadline = Instant::now() + STARTUP;
        loop {
            let out = cmd::output_within(ns.command("ss").args(["-Hltn"]), STARTUP)?;
            if String::from_utf8_lossy(&out.stdout).contains(&want) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().context("checking sshd")? {
                bail!("sshd exited ({status}) before listening on {want}: see the journal");
            }
            if Instant::now() > deadline {
                bail!("sshd did not listen on {want} within {STARTUP:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OpenSshd {
    fn drop(&mut self) {
        if let Err(err) = cmd::stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(5)) {
            eprintln!("warning: stopping sshd {}: {err:#}", self.child.id());
        }
    }
}
