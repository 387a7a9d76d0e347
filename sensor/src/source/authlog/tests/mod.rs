//! The follower against real files and real inotify, no root needed. Every test numbers its
//! logins and asserts that each one written after the start arrives exactly once, in order:
//! nothing lost, nothing repeated, through rotation, truncation and restarts.
mod harness;

use std::fs::{self, OpenOptions};

use harness::{Dir, Run, accepted, append, appender, logins, noise, range, sentinel, write};

use super::{Invalid, Line, LineNormalizer, Notice, Shrunk};
use crate::{parse::ClassicZone, source::Resume};

fn count(notices: &[Notice], which: impl Fn(&Notice) -> bool) -> usize {
    notices.iter().filter(|n| which(n)).count()
}

#[test]
fn starts_at_the_end_and_holds_a_partial_line() {
    let dir = Dir::new("partial");
    let log = dir.log();
    // History, and a line half written as the follower starts.
    let six = accepted(6);
    let (six_head, six_tail) = six.split_at(40);
    append(&log, &format!("{}{six_head}", logins(1, 5)));
    let mut run = Run::start(dir.options());
    let history_end = logins(1, 5).len() as u64;
    assert_eq!(
        run.notices,
        [Notice::StartedAtEnd {
            path: log.clone(),
            offset: history_end
        }]
    );
    let mut writer = appender(&log);
    let seven = accepted(7);
    let (seven_head, seven_tail) = seven.split_at(50);
    write(&mut writer, &format!("{six_tail}{seven_head}"));
    run.until_login(6);
    write(&mut writer, &seven_tail[..10]);
    write(
        &mut writer,
        &format!("{}{}", &seven_tail[10..], sentinel("a")),
    );
    run.until_sentinel("a");
    let (numbers, notices) = run.stop();
    assert_eq!(numbers, [6, 7]);
    assert_eq!(notices.len(), 1, "{notices:#?}");
}

#[test]
fn follows_rename_rotation_while_lines_keep_coming() {
    let dir = Dir::new("rename");
    let (log, old) = (dir.log(), dir.rotated());
    append(&log, "");
    let mut run = Run::start(dir.options());
    let writer_log = log.clone();
    let writer = std::thread::spawn(move || {
        let mut out = appender(&writer_log);
        for n in 1..=150 {
            write(&mut out, &accepted(n));
            if n % 10 == 0 {
                // Pacing, so the follower reads while lines keep coming.
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
        }
        // logrotate: rename, then create; the daemon writes to its old descriptor until told
        // to reopen.
        fs::rename(&writer_log, &old).unwrap_or_else(|e| panic!("rename: {e}"));
        write(&mut out, &logins(151, 160));
        drop(appender(&writer_log));
        write(&mut out, &logins(161, 170));
        let mut out = appender(&writer_log);
        for n in 171..=300 {
            write(&mut out, &accepted(n));
        }
        write(&mut out, &sentinel("a"));
    });
    run.until_sentinel("a");
    writer.join().unwrap_or_else(|_| panic!("writer panicked"));
    // A second rotation, the daemon reopening at once.
    fs::rename(&log, dir.rotated()).unwrap_or_else(|e| panic!("rename: {e}"));
    append(&log, &format!("{}{}", logins(301, 310), sentinel("b")));
    run.until_sentinel("b");
    let (numbers, notices) = run.stop();
    assert_eq!(numbers, range(1, 310));
    let rotated = count(&notices, |n| matches!(n, Notice::Rotated { .. }));
    assert_eq!(rotated, 2, "{notices:#?}");
    assert!(
        !notices.iter().any(Notice::may_have_lost_lines),
        "{notices:#?}"
    );
}

#[test]
fn follows_copytruncate() {
    let dir = Dir::new("copytruncate");
    let log = dir.log();
    append(&log, &noise(0));
    let mut run = Run::start(dir.options());
    let mut writer = appender(&log);
    write(&mut writer, &logins(1, 50));
    run.until_login(50);
    fs::copy(&log, dir.rotated()).unwrap_or_else(|e| panic!("copy: {e}"));
    writer
        .set_len(0)
        .unwrap_or_else(|e| panic!("truncate: {e}"));
    write(&mut writer, &format!("{}{}", logins(51, 70), sentinel("a")));
    run.until_sentinel("a");
    let (numbers, notices) = run.stop();
    assert_eq!(numbers, range(1, 70));
    let truncated = count(&notices, |n| matches!(n, Notice::Truncated { .. }));
    assert_eq!(truncated, 1, "{notices:#?}");
}

#[test]
fn notices_a_truncated_file_refilled_past_the_offset() {
    let dir = Dir::new("refilled");
    let log = dir.log();
    append(&log, "");
    let mut run = Run::start(dir.options());
    let mut writer = appender(&log);
    write(&mut writer, &logins(1, 3));
    run.until_login(3);
    // Truncated and refilled at once: whether the follower sees the file empty or already
    // longer than before, it must start it over.
    writer
        .set_len(0)
        .unwrap_or_else(|e| panic!("truncate: {e}"));
    write(&mut writer, &format!("{}{}", logins(4, 200), sentinel("a")));
    run.until_sentinel("a");
    let (numbers, notices) = run.stop();
    assert_eq!(numbers, range(1, 200));
    let truncated = count(&notices, |n| {
        matches!(
            n,
            Notice::Truncated {
                reason: Shrunk::Size { .. } | Shrunk::FirstLine,
                ..
            }
        )
    });
    assert_eq!(truncated, 1, "{notices:#?}");
}

/// Runs until login `stop_at` of `1..=written`, then stops (saving the checkpoint).
fn first_run(dir: &Dir, written: u32, stop_at: u32) -> Vec<u32> {
    append(&dir.log(), &logins(0, 0));
    let mut run = Run::start(dir.options());
    append(&dir.log(), &logins(1, written));
    run.until_login(stop_at);
    let (numbers, _) = run.stop();
    assert_eq!(numbers, range(1, stop_at));
    numbers
}

/// Restarts from the checkpoint and reads up to the sentinel.
fn second_run(dir: &Dir, mut numbers: Vec<u32>) -> (Vec<u32>, Vec<Notice>) {
    let mut run = Run::start(dir.options());
    run.until_sentinel("end");
    let (more, notices) = run.stop();
    numbers.extend(more);
    (numbers, notices)
}

#[test]
fn restart_resumes_after_the_last_record() {
    let dir = Dir::new("restart");
    let numbers = first_run(&dir, 100, 40);
    append(
        &dir.log(),
        &format!("{}{}", logins(101, 150), sentinel("end")),
    );
    let (numbers, notices) = second_run(&dir, numbers);
    assert_eq!(numbers, range(1, 150));
    assert!(
        matches!(notices.first(), Some(Notice::Resumed { .. })),
        "{notices:#?}"
    );
}

#[test]
fn restart_finishes_a_file_renamed_while_stopped() {
    let dir = Dir::new("stopped-rename");
    let numbers = first_run(&dir, 60, 30);
    append(&dir.log(), &logins(61, 80));
    fs::rename(dir.log(), dir.rotated()).unwrap_or_else(|e| panic!("rename: {e}"));
    append(
        &dir.log(),
        &format!("{}{}", logins(81, 100), sentinel("end")),
    );
    let (numbers, notices) = second_run(&dir, numbers);
    assert_eq!(numbers, range(1, 100));
    assert!(
        matches!(
            notices.first(),
            Some(Notice::FinishingRotated { rotated, reason: Invalid::Replaced { .. }, .. })
                if *rotated == dir.rotated()
        ),
        "{notices:#?}"
    );
    assert!(
        !notices.iter().any(Notice::may_have_lost_lines),
        "{notices:#?}"
    );
}

#[test]
fn restart_finishes_a_copy_truncated_while_stopped() {
    let dir = Dir::new("stopped-copy");
    let numbers = first_run(&dir, 60, 30);
    append(&dir.log(), &logins(61, 80));
    fs::copy(dir.log(), dir.rotated()).unwrap_or_else(|e| panic!("copy: {e}"));
    let truncate = OpenOptions::new().write(true).open(dir.log());
    truncate
        .and_then(|f| f.set_len(0))
        .unwrap_or_else(|e| panic!("truncate: {e}"));
    append(
        &dir.log(),
        &format!("{}{}", logins(81, 100), sentinel("end")),
    );
    let (numbers, notices) = second_run(&dir, numbers);
    assert_eq!(numbers, range(1, 100));
    assert!(
        matches!(notices.first(), Some(Notice::FinishingRotated { rotated, .. }) if *rotated == dir.rotated()),
        "{notices:#?}"
    );
}

#[test]
fn restart_reports_files_rotated_twice_while_stopped() {
    let dir = Dir::new("stopped-twice");
    let numbers = first_run(&dir, 20, 10);
    let (log, older) = (dir.log(), dir.path.join("auth.log.2"));
    fs::rename(&log, &older).unwrap_or_else(|e| panic!("rename: {e}"));
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let set = OpenOptions::new().write(true).open(&older);
    set.and_then(|f| f.set_modified(an_hour_ago))
        .unwrap_or_else(|e| panic!("mtime: {e}"));
    append(&log, &logins(21, 30));
    fs::rename(&log, dir.rotated()).unwrap_or_else(|e| panic!("rename: {e}"));
    append(&log, &format!("{}{}", logins(31, 40), sentinel("end")));
    let (numbers, notices) = second_run(&dir, numbers);
    // 21..=30 are in auth.log.1, rotated in between: reported, not read.
    assert_eq!(numbers, [range(1, 20), range(31, 40)].concat());
    assert!(
        matches!(notices.as_slice(), [
            Notice::FinishingRotated { rotated, .. },
            Notice::RotatedUnread { paths },
            Notice::Rotated { .. },
        ] if *rotated == older && *paths == [dir.rotated()]),
        "{notices:#?}"
    );
}

#[test]
fn restart_reports_a_rotated_file_that_is_gone() {
    let dir = Dir::new("stopped-gone");
    let numbers = first_run(&dir, 20, 10);
    append(&dir.log(), &logins(21, 30));
    // Rotated, then compressed away (the new file may even get the old inode number).
    fs::rename(dir.log(), dir.rotated()).unwrap_or_else(|e| panic!("rename: {e}"));
    fs::remove_file(dir.rotated()).unwrap_or_else(|e| panic!("remove: {e}"));
    append(
        &dir.log(),
        &format!("{}{}", logins(31, 40), sentinel("end")),
    );
    let (numbers, notices) = second_run(&dir, numbers);
    // 11..=30 were in the file that is gone: lost, and said so.
    assert_eq!(numbers, [range(1, 10), range(31, 40)].concat());
    assert!(
        matches!(notices.first(), Some(n @ Notice::CheckpointInvalid { .. }) if n.may_have_lost_lines()),
        "{notices:#?}"
    );
}

#[test]
fn skips_an_overlong_line() {
    let dir = Dir::new("overlong");
    let log = dir.log();
    append(&log, "");
    let mut options = dir.options();
    options.max_line = 300;
    let mut run = Run::start(options);
    let mut writer = appender(&log);
    write(&mut writer, &accepted(1));
    run.until_login(1);
    for _ in 0..3 {
        write(&mut writer, &"x".repeat(400));
    }
    write(&mut writer, &format!("\n{}{}", accepted(2), sentinel("a")));
    run.until_sentinel("a");
    let (numbers, notices) = run.stop();
    assert_eq!(numbers, [1, 2]);
    let too_long = count(&notices, |n| matches!(n, Notice::LineTooLong { .. }));
    assert_eq!(too_long, 1, "{notices:#?}");
}

#[test]
fn waits_for_a_file_that_does_not_exist_yet() {
    let dir = Dir::new("appears");
    let mut run = Run::start(dir.options());
    assert!(matches!(run.notices.first(), Some(Notice::Waiting { .. })));
    append(&dir.log(), &format!("{}{}", logins(1, 5), sentinel("a")));
    run.until_sentinel("a");
    let (numbers, notices) = run.stop();
    assert_eq!(numbers, range(1, 5));
    assert!(
        matches!(notices.get(1), Some(Notice::Appeared { .. })),
        "{notices:#?}"
    );
}

#[test]
fn normalizer_makes_records_that_resume_after_their_line() {
    let checkpoint = super::Checkpoint {
        dev: 1,
        inode: 2,
        offset: 3,
        fingerprint: super::Fingerprint::EMPTY,
    };
    let line = |text: &str| Line {
        bytes: text.trim_end().as_bytes().to_vec(),
        checkpoint: checkpoint.clone(),
    };
    let mut normalizer = LineNormalizer::new(ClassicZone::utc());
    let record = normalizer.record(&line(&accepted(42)));
    let record = record.ok().flatten().unwrap_or_else(|| panic!("no record"));
    assert_eq!(record.resume, Some(Resume::AuthLog(checkpoint.clone())));
    assert_eq!(record.sensor.log_source, "auth-log");
    assert!(matches!(normalizer.record(&line(&noise(1))), Ok(None)));
    assert!(normalizer.record(&line("garbage")).is_err());
}
