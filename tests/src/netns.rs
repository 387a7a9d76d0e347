//! The test's own hosts: network namespaces joined by veth pairs. Every address a test talks to
//! (10.0.0.1, 198.51.100.2, …) lives in a namespace that the test created and deletes on drop,
//! so no packet ever leaves them.
use std::{ffi::OsStr, net::Ipv4Addr, process::Command, sync::Once, time::Duration};

use anyhow::{Context as _, Result};

use crate::cmd;

/// Where sshd listens in a [`Lab`].
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The first client of a [`Lab`].
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Every link is a /24.
const PREFIX_LEN: u8 = 24;
/// Names of the namespaces this crate creates: `sensor-test-<pid>-<n>-<role>`.
const NAME_PREFIX: &str = "sensor-test-";
const IP_TIMEOUT: Duration = Duration::from_secs(10);

/// A network namespace created by this test; its processes are killed and it is deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `sensor-test-<pid>-<n>-<role>` with its loopback up.
    pub fn create(role: &str) -> Result<Self> {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(sweep_stale);
        let name = format!("{NAME_PREFIX}{}-{role}", crate::unique());
        ip(&["netns", "add", &name])?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME ARGS`.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// A command that runs `program` inside this namespace (`ip netns exec` execs it in place,
    /// so the child's pid is the program's).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(err) = delete(&self.name) {
            eprintln!(
                "warning: cleaning up network namespace {}: {err:#}",
                self.name
            );
        }
    }
}

/// A server namespace (sshd's host, [`SERVER_ADDR`]) and client namespaces, each client on its
/// own veth pair and /24 with a default route through the server.
#[derive(Debug)]
pub struct Lab {
    // Clients first: dropped before the server they route through.
    pub client: Netns,
    others: Vec<Netns>,
    pub server: Netns,
}

impl Lab {
    /// The server at 10.0.0.1/24 and one client at 10.0.0.2/24.
    pub fn new() -> Result<Self> {
        let server = Netns::create("server")?;
        let client = Netns::create("client")?;
        join(&server, 0, SERVER_ADDR, &client, CLIENT_ADDR)?;
        Ok(Self {
            client,
            others: Vec::new(),
            server,
        })
    }

    /// Adds a client namespace at `addr`/24 whose gateway `gateway`/24 is on the server's side
    /// (e.g. 198.51.100.2 through 198.51.100.1): it reaches sshd at [`SERVER_ADDR`] from another
    /// network.
    pub fn add_client(&mut self, role: &str, addr: Ipv4Addr, gateway: Ipv4Addr) -> Result<&Netns> {
        let ns = Netns::create(role)?;
        join(&self.server, self.others.len() + 1, gateway, &ns, addr)?;
        self.others.push(ns);
        Ok(self.others.last().expect("just pushed"))
    }
}

/// Joins `server` (interface `veth<index>`, address `gateway`) and `client` (interface `eth0`,
/// address `addr`, default route through `gateway`) with a veth pair.
fn join(
    server: &Netns,
    index: usize,
    gateway: Ipv4Addr,
    client: &Netns,
    addr: Ipv4Addr,
) -> Result<()> {
    let server_if = format!("veth{index}");
    server.ip(&[
        "link",
        "add",
        &server_if,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        client.name(),
    ])?;
    server.ip(&[
        "addr",
        "add",
        &format!("{gateway}/{PREFIX_LEN}"),
        "dev",
        &server_if,
    ])?;
    server.ip(&["link", "set", &server_if, "up"])?;
    client.ip(&[
        "addr",
        "add",
        &format!("{addr}/{PREFIX_LEN}"),
        "dev",
        "eth0",
    ])?;
    client.ip(&["link", "set", "eth0", "up"])?;
    client.ip(&["route", "add", "default", "via", &gateway.to_string()])
}

fn ip(args: &[&str]) -> Result<()> {
    cmd::run(Command::new("ip").args(args), IP_TIMEOUT).map(drop)
}

/// Kills what still runs in namespace `name` (processes this test started there), then deletes it.
fn delete(name: &str) -> Result<()> {
    let out = cmd::run(Command::new("ip").args(["netns", "pids", name]), IP_TIMEOUT)?;
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let pid: libc::pid_t = pid.parse().with_context(|| format!("pid {pid:?}"))?;
        // SAFETY: kill(2) has no memory-safety preconditions. A process that exited since the
        // listing gives ESRCH, which is fine.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    ip(&["netns", "del", name])
}

/// Deletes namespaces left by earlier runs of this crate whose process is gone (a run that was
/// killed before its drops ran).
fn sweep_stale() {
    let Ok(out) = cmd::run(Command::new("ip").args(["netns", "list"]), IP_TIMEOUT) else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name
            .strip_prefix(NAME_PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists()
            && let Err(err) = delete(name)
        {
            eprintln!("warning: deleting stale namespace {name}: {err:#}");
        }
    }
}
