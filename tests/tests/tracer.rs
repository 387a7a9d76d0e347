//! Root end-to-end tests of the kernel tracer: the real kernel, a real OpenSSH sshd in network
//! namespaces, real password logins, and the `sensor` binary's JSON Lines.
//!
//! Each test is `#[ignore]`d so that a plain `cargo test` lists it as ignored, never as passed.
//! `cargo xtask test` runs them as root, one at a time (they share the kernel's tracepoints):
//! `SENSOR_BIN=/abs/target/debug/sensor cargo test -p sensor-tests -- --ignored
//! --test-threads=1`.
use std::{
    collections::HashSet,
    io::{BufRead as _, BufReader, Write as _},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, ensure};
use sensor_tests::{
    cmd,
    netns::{Lab, SERVER_ADDR},
    preflight, procfs,
    record::{
        Tree, args, id, is_action_of, is_exec_of, is_loss, is_process, leader_id, lost, parent_id,
        str_at, u32_at, uid,
    },
    sensor::Sensor,
    sshd::{Sshd, ssh, ssh_command},
    tempdir::TempDir,
    user::TestUser,
};
use serde_json::Value;

/// How long a record may take to show up once the process it describes ran. The sensor drains
/// every 50 ms by default; this allows for a loaded 2-core CI box.
const EVENT: Duration = Duration::from_secs(15);

/// The session's command: one foreground command, and one that detaches (`setsid`, all streams
/// closed, so the client does not wait for it) and runs `id` a second after the login ended.
const SESSION: &str = "whoami; setsid sh -c 'sleep 1; id' >/dev/null 2>&1 </dev/null &";
const DETACHED: [&str; 3] = ["sh", "-c", "sleep 1; id"];

/// A password login from 10.0.0.2 to the sshd on 10.0.0.1 is followed from the listener down.
///
/// Proves that:
/// - the listener started after the sensor is seen (its exec record) and belongs to no session;
/// - `whoami`, the detached `sh -c 'sleep 1; id'` and `id` all carry the same
///   `process.entry_leader`, and it is the connection's sshd (the listener's direct child, named
///   `sshd`, its own entry leader), not the listener;
/// - attribution outlives the connection: `id` runs after that sshd has ended (its `end` record
///   comes first in the output) and is still attributed to it;
/// - the recorded parents of each lead up to that sshd, and they run as the test user;
/// - exactly that sshd's recorded process tree is attributed to it, nothing more or less;
/// - no event was lost, and every record counted as written reached stdout.
///
/// Processes are matched by `entity_id` (pid and start time, as read from /proc), never by a
/// bare pid: the sensor sees the whole host, and other sshd sessions may run meanwhile.
#[test]
#[ignore = "root: run through `cargo xtask test`"]
fn password_session_commands_are_attributed() -> Result<()> {
    let _root = preflight("password_session_commands_are_attributed");
    let user = TestUser::ensure()?;
    let lab = Lab::new()?;
    let sensor = Sensor::start(&[])?;
    let sshd = Sshd::start(&lab.server, SERVER_ADDR, &user)?;
    let listener = procfs::entity_id(sshd.pid())?;

    let out = ssh(&lab.client, &user, SERVER_ADDR, SESSION)
        .with_context(|| format!("sshd log: {:#?}", sshd.log()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        stdout == format!("{}\n", user.name),
        "whoami printed {stdout:?}"
    );

    let (_, listener_exec) = sensor.wait_for("the listener's exec", EVENT, |r| {
        is_action_of(r, "exec", &listener)
    })?;
    ensure!(
        str_at(&listener_exec, "/process/name") == Some("sshd")
            && listener_exec.pointer("/process/entry_leader").is_none(),
        "the listener must be an sshd outside any session: {listener_exec}"
    );

    let (_, whoami) = sensor.wait_for("whoami's exec", EVENT, |r| is_exec_of(r, &["whoami"]))?;
    let leader = leader_id(&whoami)
        .with_context(|| format!("whoami has no entry leader: {whoami}"))?
        .to_owned();
    ensure!(
        leader != listener
            && u32_at(&whoami, "/process/entry_leader/pid") != Some(sshd.pid())
            && str_at(&whoami, "/process/entry_leader/name") == Some("sshd"),
        "the entry leader must be the connection's sshd, not the listener {listener}: {whoami}"
    );

    // The connection's sshd re-executes itself (`sshd … -R`) right after the listener forks it.
    let (_, leader_exec) = sensor.wait_for("the entry leader's exec", EVENT, |r| {
        is_action_of(r, "exec", &leader)
    })?;
    ensure!(
        parent_id(&leader_exec) == Some(listener.as_str())
            && leader_id(&leader_exec) == Some(leader.as_str())
            && args(&leader_exec).is_some_and(|a| a.last() == Some(&"-R")),
        "the entry leader {leader} must be the listener {listener}'s re-executed child and its \
         own entry leader: {leader_exec}"
    );

    let (_, detached) = sensor.wait_for("the detached sh's exec", EVENT, |r| {
        is_exec_of(r, &DETACHED)
    })?;
    let (leader_end_at, _) = sensor.wait_for("the entry leader's end", EVENT, |r| {
        is_action_of(r, "end", &leader)
    })?;
    // `id` runs a second after the login: wait for it rather than assume it is there.
    let (id_at, id_exec) = sensor.wait_for("id's exec", EVENT, |r| is_exec_of(r, &["id"]))?;
    ensure!(
        id_at > leader_end_at,
        "id (record #{id_at}) must run after the connection's sshd ended (record \
         #{leader_end_at}): the test proves nothing otherwise"
    );
    let id_process = id(&id_exec).context("id's entity_id")?.to_owned();
    sensor.wait_for("id's end", EVENT, |r| is_action_of(r, "end", &id_process))?;

    let stopped = sensor.stop()?;
    // sshd runs the command through the user's shell with `-c`. The strings of that argv live in
    // sshd's memory, some in pages it never touched (the "-c" literal): argv must still be whole.
    let shell = stopped
        .records
        .iter()
        .find(|r| is_exec_of(r, &["bash", "-c", SESSION]))
        .with_context(|| format!("no exec record of `bash -c {SESSION:?}` with its full argv"))?;
    ensure!(
        leader_id(shell) == Some(leader.as_str())
            && shell.pointer("/process/args_truncated").is_none(),
        "the session's shell must belong to {leader}, with its argv whole: {shell}"
    );
    let tree = Tree::new(&stopped.records);
    for (what, r) in [("whoami", &whoami), ("sh -c", &detached), ("id", &id_exec)] {
        ensure!(
            leader_id(r) == Some(leader.as_str()),
            "{what} must belong to the session of {leader}: {r}"
        );
        ensure!(
            id(r).is_some_and(|p| tree.descends(p, &leader)),
            "{what}'s recorded parents must lead up to {leader}: {r}"
        );
        ensure!(
            uid(r) == Some(user.uid),
            "{what} must run as {} (uid {}): {r}",
            user.name,
            user.uid
        );
    }
    // Exactly the session's process tree is attributed to the session: other sshd sessions on
    // this host (the sensor sees the whole host) may show up, but never mixed with this one.
    for r in stopped.records.iter().filter(|r| is_process(r)) {
        let in_tree = id(r).is_some_and(|p| tree.descends(p, &leader));
        let attributed = leader_id(r) == Some(leader.as_str());
        ensure!(
            in_tree == attributed,
            "descends from {leader}: {in_tree}, attributed to it: {attributed}: {r}"
        );
    }
    ensure_complete(&stopped)
}

/// An sshd, and a session of it, that were already running when the sensor started are found
/// in /proc and tracked in the kernel from then on.
///
/// The session logs in and waits (its shell blocks reading stdin) before the sensor starts; once
/// the sensor traces, the test releases it and it runs `whoami`. Proves that the shell, which
/// the kernel never saw exec or fork, was seeded into the kernel's tracked set (or `whoami`
/// would emit nothing), and that `whoami` is attributed to the pre-existing connection's sshd,
/// the seeded listener's child.
#[test]
#[ignore = "root: run through `cargo xtask test`"]
fn session_open_before_the_sensor_is_followed() -> Result<()> {
    let _root = preflight("session_open_before_the_sensor_is_followed");
    let user = TestUser::ensure()?;
    let lab = Lab::new()?;
    let sshd = Sshd::start(&lab.server, SERVER_ADDR, &user)?;
    let listener = procfs::entity_id(sshd.pid())?;
    let mut client = ssh_command(
        &lab.client,
        &user,
        SERVER_ADDR,
        "echo ready; read go; whoami",
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .context("starting the ssh client")?;
    let mut stdout = BufReader::new(client.stdout.take().context("ssh stdout")?);
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .context("reading the session's ready line")?;
    ensure!(line == "ready\n", "the session did not start: {line:?}");
    // The connection's sshd: the listener's only child, while the session waits.
    let conn = procfs::children_of(sshd.pid());
    ensure!(
        conn.len() == 1,
        "the listener must have one connection child: {conn:?}"
    );
    let conn = procfs::entity_id(conn[0])?;

    let sensor = Sensor::start(&[])?;
    let mut stdin = client.stdin.take().context("ssh stdin")?;
    stdin.write_all(b"go\n").context("releasing the session")?;
    drop(stdin);
    let status = cmd::wait_within(&mut client, EVENT)?;
    ensure!(status.success(), "the session failed: {status}");

    let (_, whoami) = sensor.wait_for("whoami's exec", EVENT, |r| is_exec_of(r, &["whoami"]))?;
    let leader = leader_id(&whoami)
        .with_context(|| format!("whoami has no entry leader: {whoami}"))?
        .to_owned();
    ensure!(
        leader == conn && leader != listener,
        "whoami must belong to the seeded listener {listener}'s connection {conn}: {whoami}"
    );
    ensure!(
        uid(&whoami) == Some(user.uid),
        "whoami runs as {} (uid {}): {whoami}",
        user.name,
        user.uid
    );
    ensure_complete(&sensor.stop()?)
}

/// How many processes the test forks and executes outside any session.
const OUTSIDE_EXECS: usize = 20_000;

/// 20,000 fork+execs of /bin/true outside any sshd session produce no record and (almost) no
/// kernel event, while the sensor is demonstrably live.
///
/// Proves that the kernel filter drops untracked processes before they reach the ring buffer:
/// no record names any of the children (by entity id, read from /proc before each is reaped:
/// pid_max is 32768 here, so their pids are reused), a positive control (a copy of /bin/true named
/// `sshd`, which must be tracked) has exactly its exec and end records, and the kernel's
/// `emitted` counter stays at the control's few events (at most 10). The counter is host-wide:
/// if other sshd sessions ran meanwhile (their records show it), the bound grows by 4 events per
/// record of theirs, and the test says so.
#[test]
#[ignore = "root: run through `cargo xtask test`"]
fn execs_outside_sessions_emit_nothing() -> Result<()> {
    let _root = preflight("execs_outside_sessions_emit_nothing");
    let dir = TempDir::new("control")?;
    let control_bin = dir.copy_executable("/bin/true", "sshd")?;
    let sensor = Sensor::start(&[])?;

    let started = Instant::now();
    let mut children = HashSet::with_capacity(OUTSIDE_EXECS);
    for _ in 0..OUTSIDE_EXECS {
        let mut child = quiet(&mut Command::new("/bin/true"))
            .spawn()
            .context("spawning /bin/true")?;
        // Read before reaping, while the pid cannot be reused (pid_max wraps during the loop).
        children.insert(procfs::entity_id(child.id())?);
        let status = child.wait().context("waiting for /bin/true")?;
        ensure!(status.success(), "/bin/true exited with {status}");
    }
    let elapsed = started.elapsed();

    let mut control = quiet(&mut Command::new(&control_bin))
        .spawn()
        .with_context(|| format!("spawning {}", control_bin.display()))?;
    let control_id = procfs::entity_id(control.id())?;
    let status = cmd::wait_within(&mut control, EVENT)?;
    ensure!(status.success(), "the control exited with {status}");
    // Found by the entity id read from /proc: this also checks that the sensor's entity ids are
    // the ones the leak check below compares with.
    let (_, control_exec) = sensor.wait_for("the control's exec", EVENT, |r| {
        is_action_of(r, "exec", &control_id)
    })?;
    sensor.wait_for("the control's end", EVENT, |r| {
        is_action_of(r, "end", &control_id)
    })?;
    let stopped = sensor.stop()?;
    eprintln!(
        "measured: {OUTSIDE_EXECS} fork+execs of /bin/true in {elapsed:.2?}; sensor counters \
         {:?}; {} records",
        stopped.counters,
        stopped.records.len()
    );

    let leaked: Vec<&Value> = stopped
        .records
        .iter()
        .filter(|r| {
            [id(r), parent_id(r)]
                .iter()
                .flatten()
                .any(|p| children.contains(*p))
        })
        .collect();
    ensure!(
        leaked.is_empty(),
        "{} records of /bin/true children outside any session, first: {}",
        leaked.len(),
        leaked[0]
    );
    let (controls, others): (Vec<&Value>, Vec<&Value>) = stopped
        .records
        .iter()
        .filter(|r| is_process(r))
        .partition(|r| id(r) == Some(control_id.as_str()));
    ensure!(
        controls.len() == 2,
        "the control {control_id} must have exactly an exec and an end record: {controls:#?}"
    );
    ensure!(
        str_at(&control_exec, "/process/name") == Some("sshd")
            && control_exec.pointer("/process/entry_leader").is_none(),
        "the control is an sshd outside any session: {control_exec}"
    );
    // The control's exec and exit; the counter is host-wide, so other sshd sessions that ran
    // meanwhile (another suite on this machine) add theirs: at most an exec, an argv, a fork and
    // an exit per record they produced.
    let allowed = 10 + 4 * others.len() as u64;
    if !others.is_empty() {
        eprintln!(
            "NOTE: {} process records of other sshd sessions on this host during the test \
             (first: {}); the emitted bound is {allowed} instead of 10",
            others.len(),
            others[0]
        );
    }
    ensure!(
        stopped.counters.emitted <= allowed,
        "the kernel emitted {} events (at most {allowed} allowed) for {OUTSIDE_EXECS} execs \
         outside sessions plus the control's exec and exit",
        stopped.counters.emitted
    );
    ensure_complete(&stopped)
}

/// How many /bin/true the tracked shell runs in the loss test.
const BURST: u64 = 2000;

/// A tracked burst into a tiny ring buffer that the reader rarely drains is reported as loss,
/// three ways, and every kernel event is accounted for.
///
/// A copy of /bin/sh named `sshd` (so it is tracked) runs /bin/true 2,000 times into an 8 KiB
/// ring drained once a second and never woken by these events. Proves that a
/// `kernel-events-lost` record (events_lost > 0) and a `kernel events lost` warning appear, that
/// the records' events_lost add up to the final `lost` counter (nothing lost silently), and that
/// emitted + lost equals the events the burst caused (covers them, if another sshd ran on the
/// host meanwhile: the counters are host-wide).
#[test]
#[ignore = "root: run through `cargo xtask test`"]
fn small_ring_buffer_reports_loss() -> Result<()> {
    let _root = preflight("small_ring_buffer_reports_loss");
    let dir = TempDir::new("burst")?;
    let shell = dir.copy_executable("/bin/sh", "sshd")?;
    let sensor = Sensor::start(&[
        "--ring-buffer-size",
        "8192",
        "--drain-interval-ms",
        "1000",
        "--wakeup-bytes",
        "1000000",
    ])?;

    let others_before = procfs::sshd_processes(&[]);
    let script = format!("i=0; while [ $i -lt {BURST} ]; do /bin/true; i=$((i+1)); done");
    let started = Instant::now();
    let mut burst = quiet(Command::new(&shell).args(["-c", &script]))
        .spawn()
        .with_context(|| format!("spawning {}", shell.display()))?;
    let burst_id = procfs::entity_id(burst.id())?;
    let status = cmd::wait_within(&mut burst, Duration::from_secs(120))?;
    ensure!(status.success(), "the burst shell exited with {status}");
    let elapsed = started.elapsed();
    let others_after = procfs::sshd_processes(&[]);

    let (_, loss) = sensor.wait_for("a kernel-events-lost record", EVENT, |r| {
        is_loss(r) && lost(r).is_some_and(|(n, _)| n > 0)
    })?;
    sensor.wait_for_log("kernel events lost", EVENT)?;
    let stopped = sensor.stop()?;
    let losses: Vec<(u64, u64)> = stopped.records.iter().filter_map(lost).collect();
    eprintln!(
        "measured: {BURST} tracked execs in {elapsed:.2?}; sensor counters {:?}; {} loss \
         records (events_lost, events_lost_total): {losses:?}; {} process records",
        stopped.counters,
        losses.len(),
        stopped.records.iter().filter(|r| is_process(r)).count()
    );

    let c = stopped.counters;
    ensure!(
        c.lost > 0,
        "the final counters show no loss: {c:?}; first record {loss}"
    );
    let reported: u64 = losses.iter().map(|(n, _)| n).sum();
    ensure!(
        reported == c.lost && losses.last().map(|(_, total)| *total) == Some(c.lost),
        "loss records {losses:?} must add up to the final lost counter {}",
        c.lost
    );
    // The shell's exec and exit, and for each child a fork, an exec (carrying its argv) and an
    // exit: each either written to the ring or counted as lost.
    let caused = 2 + 3 * BURST;
    let accounted = c.emitted + c.lost;
    let foreign: Vec<&Value> = stopped
        .records
        .iter()
        .filter(|r| is_process(r))
        .filter(|r| id(r) != Some(burst_id.as_str()) && parent_id(r) != Some(burst_id.as_str()))
        .collect();
    if foreign.is_empty() && others_before.is_empty() && others_after.is_empty() {
        ensure!(
            accounted == caused,
            "emitted {} + lost {} must equal the {caused} events the burst caused",
            c.emitted,
            c.lost
        );
    } else {
        // The counters are host-wide: another sshd's events (maybe all lost) add to them.
        eprintln!(
            "NOTE: other sshd processes on this host during the test (before {others_before:?}, \
             after {others_after:?}, {} foreign records): checking emitted + lost >= {caused} \
             only",
            foreign.len()
        );
        ensure!(
            accounted >= caused,
            "emitted {} + lost {} must cover the {caused} events the burst caused",
            c.emitted,
            c.lost
        );
    }
    ensure!(
        c.written == u64::try_from(stopped.records.len())? && c.write_failed == 0,
        "the sink wrote {} of {} records ({} failed)",
        c.written,
        stopped.records.len(),
        c.write_failed
    );
    Ok(())
}

/// No loss, and every record the sensor counted as written reached stdout.
fn ensure_complete(stopped: &sensor_tests::sensor::Stopped) -> Result<()> {
    let c = stopped.counters;
    ensure!(
        c.lost == 0 && !stopped.records.iter().any(is_loss),
        "events were lost: {c:?}"
    );
    ensure!(
        c.written == u64::try_from(stopped.records.len())? && c.write_failed == 0,
        "the sink wrote {} of {} records ({} failed)",
        c.written,
        stopped.records.len(),
        c.write_failed
    );
    Ok(())
}

/// Closes a child's standard streams.
fn quiet(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}
