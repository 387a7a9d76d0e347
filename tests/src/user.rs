//! The local account the SSH tests log in as.
use std::{io::Read as _, io::Write as _, process::Command, process::Stdio, time::Duration};

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// Name of the test account.
pub const TEST_USER: &str = "sensortest";
const TIMEOUT: Duration = Duration::from_secs(20);

/// The test account with a fresh random password; the password is locked again on drop, so no
/// known password outlives the test.
#[derive(Debug)]
pub struct TestUser {
    pub name: &'static str,
    pub password: String,
    pub uid: u32,
}

impl TestUser {
    /// Creates `sensortest` (`useradd -m -s /bin/bash`) if absent and sets a new password.
    pub fn ensure() -> Result<Self> {
        if !exists(TEST_USER)? {
            cmd::run(
                Command::new("useradd").args(["-m", "-s", "/bin/bash", TEST_USER]),
                TIMEOUT,
            )?;
        }
        let password = random_password()?;
        set_password(TEST_USER, &password)?;
        let out = cmd::run(Command::new("id").args(["-u", TEST_USER]), TIMEOUT)?;
        let uid = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .with_context(|| format!("parsing the uid of {TEST_USER}"))?;
        Ok(Self {
            name: TEST_USER,
            password,
            uid,
        })
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        if let Err(err) = cmd::run(Command::new("usermod").args(["-L", self.name]), TIMEOUT) {
            eprintln!("warning: locking the password of {}: {err:#}", self.name);
        }
    }
}

fn exists(name: &str) -> Result<bool> {
    let out = cmd::output_within(Command::new("id").args(["-u", name]), TIMEOUT)?;
    Ok(out.status.success())
}

/// Sets `name`'s password through `chpasswd` (on its stdin, never on a command line).
fn set_password(name: &str, password: &str) -> Result<()> {
    let mut child = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting chpasswd")?;
    let mut stdin = child.stdin.take().context("chpasswd stdin")?;
    writeln!(stdin, "{name}:{password}").context("writing to chpasswd")?;
    drop(stdin);
    let status = cmd::wait_within(&mut child, TIMEOUT).context("chpasswd")?;
    if !status.success() {
        let mut err = String::new();
        if let Some(mut s) = child.stderr.take() {
            // Best effort: the status alone already says it failed.
            let _ = s.read_to_string(&mut err);
        }
        bail!("chpasswd for {name} failed ({status}): {}", err.trim());
    }
    Ok(())
}

/// 24 letters and digits from /dev/urandom.
fn random_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}
