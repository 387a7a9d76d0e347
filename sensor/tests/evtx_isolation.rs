//! EVTX files parsed in the resource-limited child process (`sensor evtx-worker`), as
//! `sensor replay` reads them: the four EVTX-ATTACK-SAMPLES files (read in place from
//! `../shared/data/evtx`, never copied into the repository), truncated and corrupted copies of
//! one made here, and stand-in workers that die in each way a child can.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sensor::detect::kql::Query;
use sensor::ecs::schema;
use sensor::windows::evtx::{Death, read_unisolated};
use sensor::windows::{EvtxError, EvtxProblem, EvtxReader, EvtxStats, Limits, WinEvent};

/// The detection document's query.
const DOCUMENT_QUERY: &str = "event.category:process and process.name:PSEXESVC.exe";

/// Each sample, its records, and the document query's matches (shared/data/evtx/README.md).
const SAMPLES: [(&str, u64, usize); 4] = [
    ("sysmon_privesc_psexec_dwell.evtx", 12, 1),
    (
        "remote_file_copy_system_proc_file_write_sysmon_11.evtx",
        2,
        1,
    ),
    ("LM_wmiexec_impacket_sysmon_whoami.evtx", 7, 0),
    ("LM_REMCOM_5145_TargetHost.evtx", 30, 0),
];

/// The good file the damaged copies are made from: one 4 KiB header and one 64 KiB chunk.
const GOOD: &str = SAMPLES[0].0;

/// Where the samples are. Absent, the test fails and says so: a skipped acceptance test must
/// not pass.
fn samples_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/evtx");
    assert!(
        dir.join("README.md").is_file(),
        "the EVTX samples are missing: expected the four .evtx files of EVTX-ATTACK-SAMPLES in \
         {} (../shared/data/evtx relative to the repository; see its README.md). They are GPL \
         test data and are not in this repository.",
        dir.display()
    );
    dir
}

/// The real worker: this build's `sensor` binary (a test binary has no `evtx-worker`).
fn reader() -> EvtxReader {
    EvtxReader::new().with_program(env!("CARGO_BIN_EXE_sensor"))
}

struct Read {
    result: Result<EvtxStats, EvtxError>,
    events: Vec<WinEvent>,
    problems: Vec<EvtxProblem>,
}

fn read_with(reader: &EvtxReader, path: &Path) -> Read {
    for _ in 0..100 {
        let mut events = Vec::new();
        let mut problems = Vec::new();
        let result = reader.read(path, &mut |e| events.push(e), &mut |p| problems.push(p));
        // A stand-in worker script just written can be "busy" while another test's fork still
        // holds it open for writing (until that child's exec): try again.
        if let Err(EvtxError::Spawn { source, .. }) = &result
            && source.kind() == std::io::ErrorKind::ExecutableFileBusy
        {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        return Read {
            result,
            events,
            problems,
        };
    }
    panic!("{}: the worker stayed busy", path.display());
}

fn document_query() -> Query {
    Query::compile(DOCUMENT_QUERY, schema()).expect("the document's query compiles")
}

#[test]
fn the_samples_through_the_child_process_give_the_readmes_counts() {
    let query = document_query();
    for (file, records, want) in SAMPLES {
        let path = samples_dir().join(file);
        let read = read_with(&reader(), &path);
        let stats = read.result.unwrap_or_else(|e| panic!("{e}"));
        assert!(read.problems.is_empty(), "{file}: {:?}", read.problems);
        assert_eq!(stats.records, records, "{file}");
        assert_eq!(read.events.len() as u64, records, "{file}");
        let hits = read.events.iter().filter(|e| query.matches(*e)).count();
        assert_eq!(hits, want, "{file}: matches of {DOCUMENT_QUERY}");
        // The child's events are the ones the in-process parser gives.
        let mut direct = Vec::new();
        read_unisolated(&path, &mut |e| direct.push(e), &mut |p| panic!("{p}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.events, direct, "{file}");
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn good_bytes() -> Vec<u8> {
    fs::read(samples_dir().join(GOOD)).expect("the good sample is readable")
}

/// True if the outcome says clearly what is wrong with `path`: an error naming it, or a
/// problem naming it.
fn reported(read: &Read, path: &Path) -> bool {
    let name = path.display().to_string();
    match &read.result {
        Err(e) => e.to_string().contains(&name),
        Ok(_) => read.problems.iter().any(|p| p.to_string().contains(&name)),
    }
}

#[test]
fn truncated_files_are_reported_and_the_other_files_are_still_read() {
    let dir = temp_dir();
    let good = good_bytes();
    assert_eq!(good.len(), 4096 + 65536);
    for cut in [
        0,
        1,
        7,
        8,
        100,
        4095,
        4096,
        4097,
        5000,
        20_000,
        40_000,
        65_536,
        good.len() - 1,
    ] {
        let path = dir.path().join(format!("cut-at-{cut}.evtx"));
        fs::write(&path, &good[..cut]).expect("written");
        let read = read_with(&reader(), &path);
        assert!(
            reported(&read, &path),
            "cut at {cut}: nothing said: {:?}",
            read.result
        );
        match &read.result {
            // No whole header: not EVTX.
            Err(EvtxError::Unreadable { message, .. }) => {
                assert!(cut < 4096, "cut at {cut}: {message}");
                assert!(message.contains("EVTX"), "{message}");
            }
            // A whole header, a piece of the chunk: the chunk is lost, and said to be.
            Ok(stats) => {
                assert!(cut >= 4096, "cut at {cut}");
                assert_eq!(stats.records, 0);
                assert_eq!(stats.bad_records, 1);
                assert!(
                    read.problems[0].message.contains("truncated"),
                    "{:?}",
                    read.problems
                );
            }
            Err(other) => panic!("cut at {cut}: {other}"),
        }
    }
    // Two chunks, cut inside the second: the first chunk's records are delivered.
    let other = fs::read(samples_dir().join(SAMPLES[3].0)).expect("readable");
    let mut two = good.clone();
    two.extend_from_slice(&other[4096..]);
    let path = dir.path().join("two-chunks-cut.evtx");
    fs::write(&path, &two[..two.len() - 30_000]).expect("written");
    let read = read_with(&reader(), &path);
    let stats = read.result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.records, SAMPLES[0].1, "the first chunk's records");
    assert_eq!(read.problems.len(), 1);
    assert_eq!(read.problems[0].after, SAMPLES[0].1);
    assert!(read.problems[0].to_string().contains("truncated"));
    // And a good file in the same run.
    let read = read_with(&reader(), &samples_dir().join(GOOD));
    assert_eq!(
        read.result.expect("the good file reads").records,
        SAMPLES[0].1
    );
}

/// xorshift64*: a fixed sequence, so a failure can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn corrupted_files_give_an_outcome_not_a_crash_and_a_good_file_still_reads() {
    let dir = temp_dir();
    let good = good_bytes();
    let mut rng = Rng(0x005e_ed0f_e7c0_2026);
    let (mut ok, mut with_problems, mut errors) = (0, 0, 0);
    let started = Instant::now();
    for variant in 0..60 {
        let mut bytes = good.clone();
        // Byte flips in the chunk (its header, string and template tables, records), a few in
        // the file header too; from one byte to a thousand.
        let flips = [1, 4, 16, 64, 256, 1024][variant % 6];
        let from = if variant % 10 == 9 { 0 } else { 4096 };
        for _ in 0..flips {
            let at = from + rng.below(bytes.len() - from);
            bytes[at] ^= (rng.below(255) + 1) as u8;
        }
        let path = dir.path().join(format!("corrupt-{variant}.evtx"));
        fs::write(&path, &bytes).expect("written");
        let read = read_with(&reader(), &path);
        match &read.result {
            Ok(stats) => {
                assert_eq!(stats.records, read.events.len() as u64);
                assert!(stats.records <= 64, "variant {variant}: {stats:?}");
                if read.problems.is_empty() {
                    ok += 1;
                } else {
                    with_problems += 1;
                    assert!(reported(&read, &path));
                }
            }
            Err(e) => {
                errors += 1;
                assert!(reported(&read, &path), "variant {variant}: {e}");
                eprintln!("variant {variant} ({flips} flips): {e}");
            }
        }
    }
    eprintln!(
        "60 corrupted copies: {ok} read clean, {with_problems} read with skipped records, \
         {errors} errors, in {:?}",
        started.elapsed()
    );
    assert!(
        with_problems + errors > 0,
        "no corruption was noticed at all"
    );
    let read = read_with(&reader(), &samples_dir().join(GOOD));
    assert_eq!(
        read.result.expect("the good file reads").records,
        SAMPLES[0].1
    );
}

/// A stand-in worker: a shell script run instead of `sensor evtx-worker`.
fn fake_worker(dir: &Path, name: &str, script: &str) -> EvtxReader {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("written");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("made executable");
    EvtxReader::new().with_program(path)
}

const RECORD: &str = r#"{"record":{"provider":"Microsoft-Windows-Sysmon","event_id":"1","channel":"Microsoft-Windows-Sysmon/Operational","computer":"WKS02","record_id":RID,"time_created":"2026-11-20T09:14:02.611Z","event_data":[["Image","C:\\Windows\\PSEXESVC.exe"]]}}"#;

fn records(ids: &[u64]) -> String {
    ids.iter()
        .map(|id| {
            format!(
                "printf '%s\\n' '{}'",
                RECORD.replace("RID", &id.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn input_file(dir: &Path) -> PathBuf {
    let path = dir.join("input.evtx");
    fs::write(&path, b"not looked at by the stand-in workers").expect("written");
    path
}

#[test]
fn a_child_that_dies_is_an_error_naming_the_file_and_how_far_it_got() {
    let dir = temp_dir();
    let input = input_file(dir.path());
    let script = format!("{}\nkill -SEGV $$", records(&[41, 42]));
    let read = read_with(&fake_worker(dir.path(), "segv", &script), &input);
    assert_eq!(
        read.events.len(),
        2,
        "the records before the death are delivered"
    );
    assert_eq!(read.events[0].process.name.as_deref(), Some("PSEXESVC.exe"));
    let err = read.result.expect_err("the child died");
    match &err {
        EvtxError::Died {
            records,
            last_record_id,
            how,
            ..
        } => {
            assert_eq!(*records, 2);
            assert_eq!(*last_record_id, Some(42));
            assert_eq!(*how, Death::Signal(libc::SIGSEGV));
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(text.starts_with(&input.display().to_string()), "{text}");
    assert!(
        text.contains("after 2 records (last record id 42)"),
        "{text}"
    );
    assert!(text.contains("SIGSEGV"), "{text}");
}

#[test]
fn an_allocation_failure_is_reported_as_running_out_of_memory() {
    let dir = temp_dir();
    let input = input_file(dir.path());
    let script = format!(
        "{}\necho 'memory allocation of 5905580032 bytes failed' >&2\nkill -ABRT $$",
        records(&[7])
    );
    let read = read_with(&fake_worker(dir.path(), "oom", &script), &input);
    let err = read.result.expect_err("the child died");
    assert!(
        matches!(&err, EvtxError::Died { how: Death::OutOfMemory { limit }, .. } if *limit == 1 << 30),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("ran out of memory (limit 1024 MiB) after 1 records"),
        "{text}"
    );
    assert!(
        text.contains("memory allocation of 5905580032 bytes failed"),
        "{text}"
    );
}

#[test]
fn the_limits_are_set_in_the_child() {
    let dir = temp_dir();
    let input = input_file(dir.path());
    let script = "echo \"limits $(ulimit -v) $(ulimit -t) $(ulimit -c) $(ulimit -f)\" >&2\nexit 3";
    let read = read_with(&fake_worker(dir.path(), "limits", script), &input);
    let err = read.result.expect_err("the stand-in exits 3");
    match &err {
        EvtxError::Died { how, detail, .. } => {
            assert_eq!(*how, Death::Exit(3));
            // RLIMIT_AS 1 GiB (in KiB), RLIMIT_CPU 300 s, no core, no file.
            assert_eq!(detail, "limits 1048576 300 0 0");
        }
        other => panic!("{other}"),
    }
    let limits = Limits {
        address_space: 256 << 20,
        cpu_seconds: 7,
    };
    let read = read_with(
        &fake_worker(dir.path(), "limits2", script).with_limits(limits),
        &input,
    );
    match read.result {
        Err(EvtxError::Died { detail, .. }) => assert_eq!(detail, "limits 262144 7 0 0"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_child_over_its_cpu_time_is_stopped() {
    let dir = temp_dir();
    let input = input_file(dir.path());
    let limits = Limits {
        cpu_seconds: 1,
        ..Limits::default()
    };
    let reader = fake_worker(dir.path(), "spin", "while :; do :; done").with_limits(limits);
    let started = Instant::now();
    let read = read_with(&reader, &input);
    assert!(started.elapsed() < Duration::from_secs(30));
    match read.result {
        Err(EvtxError::Died { how, .. }) => assert_eq!(how, Death::CpuTime { limit: 1 }),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_child_that_writes_garbage_or_stops_early_is_an_error() {
    let dir = temp_dir();
    let input = input_file(dir.path());
    let garbage = format!("{}\necho 'hello'\nexec sleep 30", records(&[1]));
    let started = Instant::now();
    let read = read_with(&fake_worker(dir.path(), "garbage", &garbage), &input);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the child was not killed"
    );
    assert_eq!(read.events.len(), 1);
    match read.result {
        Err(EvtxError::Protocol {
            records, message, ..
        }) => {
            assert_eq!(records, 1);
            assert!(message.contains("not a worker line"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let early = records(&[1, 2, 3]);
    let read = read_with(&fake_worker(dir.path(), "early", &early), &input);
    match read.result {
        Err(EvtxError::Died { how, records, .. }) => {
            assert_eq!(how, Death::Unfinished);
            assert_eq!(records, 3);
        }
        other => panic!("{other:?}"),
    }
    let panicked = "echo \"thread 'main' panicked at src/x.rs:1:1:\" >&2\necho 'index out of bounds' >&2\nexit 101";
    let read = read_with(&fake_worker(dir.path(), "panic", panicked), &input);
    match read.result {
        Err(EvtxError::Died { how, detail, .. }) => {
            assert_eq!(how, Death::Panicked);
            assert!(detail.contains("index out of bounds"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn inputs_that_cannot_be_parsed_at_all() {
    let dir = temp_dir();
    let not_evtx = samples_dir().join("README.md");
    match read_with(&reader(), &not_evtx).result {
        Err(EvtxError::Unreadable { message, .. }) => {
            assert!(message.contains("not a readable EVTX file"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let missing = dir.path().join("missing.evtx");
    assert!(matches!(
        read_with(&reader(), &missing).result,
        Err(EvtxError::Open { .. })
    ));
    assert!(matches!(
        read_with(&reader(), dir.path()).result,
        Err(EvtxError::NotAFile { .. })
    ));
    let nowhere = EvtxReader::new().with_program(dir.path().join("no-such-program"));
    let input = input_file(dir.path());
    assert!(matches!(
        read_with(&nowhere, &input).result,
        Err(EvtxError::Spawn { .. })
    ));
}

/// The real parser under tight address-space limits. Too small and the dynamic loader fails,
/// then the parser's allocations (a chunk's 64 KiB, its record arena) or its stack; past some
/// size it reads the file. Where that lies depends on the build (about 25 MiB for a debug
/// build, 14 MiB for a release one), so it is found by bisection, and the limits just below it
/// are tried in 16 KiB steps: one must show a real allocation failure reported as running out
/// of memory, and every failure must be an error that names the file.
#[test]
fn a_real_allocation_failure_under_the_memory_limit_is_reported() {
    let path = samples_dir().join(SAMPLES[3].0);
    let name = path.display().to_string();
    let read = |kib: u64| {
        let limits = Limits {
            address_space: kib << 10,
            ..Limits::default()
        };
        read_with(&reader().with_limits(limits), &path).result
    };
    let (mut fails, mut works) = (1024u64, 256 << 10);
    assert!(read(works).is_ok(), "the file does not read under 256 MiB");
    while works - fails > 16 {
        let mid = (fails + works) / 2;
        if read(mid).is_ok() {
            works = mid;
        } else {
            fails = mid;
        }
    }
    let mut out_of_memory = Vec::new();
    for kib in (works.saturating_sub(4096)..works).step_by(16) {
        match read(kib) {
            Ok(stats) => assert_eq!(stats.records, SAMPLES[3].1),
            Err(EvtxError::Died {
                how: Death::OutOfMemory { limit },
                detail,
                ..
            }) => {
                assert_eq!(limit, kib << 10);
                assert!(
                    detail.starts_with("memory allocation of") || detail.ends_with("out of memory"),
                    "{detail}"
                );
                out_of_memory.push(kib);
            }
            Err(e @ (EvtxError::Died { .. } | EvtxError::Spawn { .. })) => {
                assert!(e.to_string().starts_with(&name), "{e}");
            }
            Err(other) => panic!("{kib} KiB: {other}"),
        }
    }
    eprintln!(
        "the file reads with {works} KiB; {} limits below it made an allocation fail",
        out_of_memory.len()
    );
    assert!(
        !out_of_memory.is_empty(),
        "no limit below {works} KiB made an allocation fail"
    );
}
