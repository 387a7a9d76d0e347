//! `sensor check`: can this kernel, with these privileges, run the sensor? Prints one line per
//! item to stdout and stops at the first failure with a one-line reason.
use std::{io::Write, path::Path};

use crate::{
    error::Error,
    privileges::{self, CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, Capabilities},
    source::ebpf::{Tracer, TracerOptions, VMLINUX_BTF, offsets, tracefs},
};

/// Oldest kernel with BPF ring buffers (5.8).
const MIN_KERNEL: (u32, u32) = (5, 8);

pub fn check(out: &mut impl Write) -> Result<(), Error> {
    let mut line = |k: &str, v: String| {
        // stdout going away is not worth failing the check over.
        let _ = writeln!(out, "{k:<12} {v}");
    };

    let release = kernel_release();
    let version = parse_version(&release);
    let ok = version.is_some_and(|v| v >= MIN_KERNEL);
    line(
        "kernel",
        format!(
            "{release} ({})",
            if ok { "ok" } else { "too old: needs 5.8+" }
        ),
    );
    if !ok {
        return Err(Error::Unsupported(format!(
            "kernel {release} is older than 5.8 (no BPF ring buffer)"
        )));
    }

    let (_, missing) = offsets::task_offsets(Path::new(VMLINUX_BTF));
    line(
        "btf",
        match &missing {
            None => format!("{VMLINUX_BTF} (task_struct offsets found)"),
            Some(reason) => format!(
                "unavailable ({reason}): records will lack start times, parents, login uid, exit codes"
            ),
        },
    );

    let caps = Capabilities::current();
    let yes = |c| if caps.has(c) { "yes" } else { "no" };
    line(
        "capabilities",
        format!(
            "CAP_BPF={} CAP_PERFMON={} CAP_SYS_ADMIN={}",
            yes(CAP_BPF),
            yes(CAP_PERFMON),
            yes(CAP_SYS_ADMIN)
        ),
    );
    privileges::require_tracing("check")?;

    let fs = tracefs::find_or_mount().map_err(|e| Error::Tracer(e.into()))?;
    line(
        "tracefs",
        format!(
            "{}{}",
            fs.path.display(),
            if fs.mounted_now {
                " (was not mounted: mounted it now)"
            } else {
                ""
            }
        ),
    );

    let tracer = Tracer::load(TracerOptions::default())?;
    for program in &tracer.report.attached {
        line("program", format!("{program}: loaded and attached"));
    }
    for program in &tracer.report.loaded_only {
        line(
            "program",
            format!("{program}: loaded (the no-BTF fallback for argv: not attached here)"),
        );
    }
    line("argv", format!("from {}", tracer.report.argv_source));
    let counters = tracer.counters()?;
    line(
        "counters",
        format!(
            "readable (emitted={}, lost={})",
            counters.emitted, counters.lost
        ),
    );
    line("result", "ok: this host can run `sensor run`".to_owned());
    Ok(())
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn parse_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(parse_version("6.18.44-fc-v769"), Some((6, 18)));
        assert_eq!(parse_version("5.15.0-91-generic"), Some((5, 15)));
        assert_eq!(parse_version("weird"), None);
    }
}
