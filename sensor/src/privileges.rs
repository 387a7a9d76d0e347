//! The capabilities the kernel source needs, read from `/proc/self/status`.

/// Capability numbers (linux/capability.h).
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

/// The effective capability set of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities(pub u64);

impl Capabilities {
    pub fn current() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        Self(parse_cap_eff(&status).unwrap_or(0))
    }

    pub fn has(self, cap: u32) -> bool {
        self.0 & (1 << cap) != 0
    }

    /// Loading and attaching tracepoint programs needs CAP_BPF and CAP_PERFMON (kernel 5.8+),
    /// or CAP_SYS_ADMIN.
    pub fn can_trace(self) -> bool {
        self.has(CAP_SYS_ADMIN) || (self.has(CAP_BPF) && self.has(CAP_PERFMON))
    }
}

/// Missing privileges, with what was found.
#[derive(Debug, thiserror::Error)]
#[error(
    "`sensor {command}` needs root, or CAP_BPF and CAP_PERFMON (uid {uid} has CAP_BPF={bpf}, CAP_PERFMON={perfmon}, CAP_SYS_ADMIN={admin}); run it with sudo"
)]
pub struct NotPermitted {
    pub command: &'static str,
    pub uid: u32,
    pub bpf: bool,
    pub perfmon: bool,
    pub admin: bool,
}

/// Fails with [`NotPermitted`] unless this process may load tracing programs.
pub fn require_tracing(command: &'static str) -> Result<(), NotPermitted> {
    let caps = Capabilities::current();
    if caps.can_trace() {
        return Ok(());
    }
    Err(NotPermitted {
        command,
        // SAFETY: getuid has no preconditions and cannot fail.
        uid: unsafe { libc::getuid() },
        bpf: caps.has(CAP_BPF),
        perfmon: caps.has(CAP_PERFMON),
        admin: caps.has(CAP_SYS_ADMIN),
    })
}

fn parse_cap_eff(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_effective_set() {
        let caps = Capabilities(parse_cap_eff("Name:\tx\nCapEff:\t000001ffffffffff\n").unwrap());
        assert!(caps.can_trace());
        let caps = Capabilities(parse_cap_eff("CapEff:\t0000000000000000\n").unwrap());
        assert!(!caps.can_trace());
        let bpf_only = Capabilities(1 << CAP_BPF);
        assert!(!bpf_only.can_trace());
        assert!(Capabilities((1 << CAP_BPF) | (1 << CAP_PERFMON)).can_trace());
    }
}
