//! The generated events written as an auth.log (either timestamp format) or as a
//! `journalctl -o export` stream for systemd-journal-remote to make a `.journal` of.
use std::io::{self, Write};

use super::events::{Generator, Line, Mix, START_US};

/// rsyslog's timestamp format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Stamps {
    /// `RSYSLOG_FileFormat` (Debian 12's default): `2026-01-01T00:00:00.123456+00:00`.
    Rfc3339,
    /// `RSYSLOG_TraditionalFileFormat`: `Jan  1 00:00:00`.
    Classic,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counts {
    pub bytes: u64,
    /// Lines of an auth.log, entries of an export stream.
    pub lines: u64,
    /// Written by an sshd-family program.
    pub sshd: u64,
    /// sshd lines the sensor makes a record of (authentication results, session lines,
    /// connection ends).
    pub records: u64,
}

/// Writes an auth.log of at least `size` bytes (whole lines).
pub fn auth_log(
    mix: Mix,
    stamps: Stamps,
    size: u64,
    seed: u64,
    out: &mut impl Write,
) -> io::Result<Counts> {
    let mut g = Generator::new(mix, seed);
    let mut counts = Counts::default();
    let mut text = String::with_capacity(256);
    while counts.bytes < size {
        let line = g.next_line();
        text.clear();
        match stamps {
            Stamps::Rfc3339 => rfc3339(&mut text, line.time_us),
            Stamps::Classic => classic(&mut text, line.time_us),
        }
        text.push_str(" app-03 ");
        text.push_str(line.program);
        if let Some(pid) = line.pid {
            text.push_str(&format!("[{pid}]"));
        }
        text.push_str(": ");
        text.push_str(&line.message);
        text.push('\n');
        out.write_all(text.as_bytes())?;
        counts.count(&line, text.len());
    }
    Ok(counts)
}

/// Writes `entries` journal entries as `journalctl -o export` prints them, with the fields
/// journald 252 gives a syslog(3) message (the fixture `sshd.export` shows them) but
/// `_SOURCE_REALTIME_TIMESTAMP`: a value unique to every entry is a data object per entry, and
/// systemd-journal-remote starts a new file once its data hash table is three quarters full;
/// without it 100,000 entries fit in one file.
pub fn export(mix: Mix, entries: u64, seed: u64, out: &mut impl Write) -> io::Result<Counts> {
    let mut g = Generator::new(mix, seed);
    let mut counts = Counts::default();
    let mut text = String::with_capacity(1024);
    let boot = "9e19f6553af84f56be7970a980dafeee";
    let machine = "3d1219c7c4c5404aaa1f6d2a48adfda4";
    for _ in 0..entries {
        let line = g.next_line();
        let comm = line.exe.rsplit('/').next().unwrap_or(line.program);
        let pid = line.pid.unwrap_or(900_000 + (line.time_us % 1000) as u32);
        let mono = 3_000_000_000 + (line.time_us - START_US);
        text.clear();
        let mut stamp = String::new();
        classic(&mut stamp, line.time_us);
        let fields = [
            format!("__REALTIME_TIMESTAMP={}", line.time_us),
            format!("__MONOTONIC_TIMESTAMP={mono}"),
            format!("_BOOT_ID={boot}"),
            format!("SYSLOG_FACILITY={}", line.facility),
            format!("_MACHINE_ID={machine}"),
            "_HOSTNAME=app-03".to_owned(),
            format!("_UID={}", line.uid),
            format!("_GID={}", line.uid),
            "_TRANSPORT=syslog".to_owned(),
            "PRIORITY=6".to_owned(),
            "_CAP_EFFECTIVE=1ffffffffff".to_owned(),
            format!("_PID={pid}"),
            format!("SYSLOG_IDENTIFIER={}", line.program),
            format!("MESSAGE={}", line.message),
            format!("_COMM={comm}"),
            format!("_EXE={}", line.exe),
            format!("SYSLOG_TIMESTAMP={stamp} "),
            format!("SYSLOG_PID={pid}"),
            format!("_CMDLINE={}", line.exe),
            format!("_SYSTEMD_UNIT={comm}.service"),
        ];
        for field in fields {
            text.push_str(&field);
            text.push('\n');
        }
        text.push('\n');
        out.write_all(text.as_bytes())?;
        counts.count(&line, text.len());
    }
    Ok(counts)
}

impl Counts {
    fn count(&mut self, line: &Line, bytes: usize) {
        self.bytes += bytes as u64;
        self.lines += 1;
        self.sshd += u64::from(line.program == "sshd");
        self.records += u64::from(line.record);
    }
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn split(time_us: u64) -> ((i64, u32, u32), u64, u64) {
    let secs = time_us / 1_000_000;
    (
        civil((secs / 86_400) as i64),
        secs % 86_400,
        time_us % 1_000_000,
    )
}

fn rfc3339(text: &mut String, time_us: u64) {
    let ((y, mo, d), s, us) = split(time_us);
    text.push_str(&format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{us:06}+00:00",
        s / 3600,
        s / 60 % 60,
        s % 60
    ));
}

fn classic(text: &mut String, time_us: u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ((_, mo, d), s, _) = split(time_us);
    text.push_str(&format!(
        "{} {d:>2} {:02}:{:02}:{:02}",
        MONTHS[mo as usize - 1],
        s / 3600,
        s / 60 % 60,
        s % 60
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_the_mix() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_454), (2026, 1, 1));
        assert_eq!(civil(20_512), (2026, 2, 28));
        let mut out = Vec::new();
        let c = auth_log(Mix::Realistic, Stamps::Rfc3339, 2 << 20, 7, &mut out);
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        let share = |n: u64| n as f64 / c.lines as f64;
        assert!((0.18..0.28).contains(&share(c.sshd)), "{c:?}");
        let mut again = Vec::new();
        let _ = auth_log(Mix::Realistic, Stamps::Rfc3339, 2 << 20, 7, &mut again);
        assert_eq!(out, again, "the same seed gives the same bytes");
        assert!(out.starts_with(b"2026-01-01T00:00:0"), "{:?}", &out[..40]);
    }
}
