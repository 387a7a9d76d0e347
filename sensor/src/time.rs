//! Time in one place: kernel events carry CLOCK_BOOTTIME nanoseconds; they become wall-clock time
//! here, and only here.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Converts boot-time nanoseconds to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    /// CLOCK_REALTIME − CLOCK_BOOTTIME, in ns, sampled at creation.
    offset_ns: i128,
}

impl WallClock {
    pub fn new() -> Self {
        let boot = clock_ns(libc::CLOCK_BOOTTIME);
        let real = clock_ns(libc::CLOCK_REALTIME);
        Self {
            offset_ns: real - boot,
        }
    }

    /// Wall-clock time of a CLOCK_BOOTTIME instant.
    pub fn wall(&self, boot_ns: u64) -> SystemTime {
        let ns = (i128::from(boot_ns) + self.offset_ns).max(0);
        UNIX_EPOCH + Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// RFC 3339 with microseconds, UTC: the `@timestamp` format.
    pub fn rfc3339(&self, boot_ns: u64) -> String {
        rfc3339(self.wall(boot_ns))
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

/// RFC 3339 with microseconds, UTC. Any instant a log line can name is accepted: one before 1970
/// or after 9999 (forged or corrupt input) is written as chrono writes it (`-0001-…`,
/// `+10000-…`), never a panic.
pub fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// CLOCK_BOOTTIME now, in ns: the kernel's `bpf_ktime_get_boot_ns()`.
pub fn boot_ns() -> u64 {
    u64::try_from(clock_ns(libc::CLOCK_BOOTTIME)).unwrap_or(0)
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; both clocks exist on every supported kernel.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the replay benchmark work: humantime panicked on these.
    #[test]
    fn instants_outside_0000_to_9999_are_written_not_panicked_on() {
        let before_epoch = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(rfc3339(before_epoch), "1969-12-31T00:00:00.000000Z");
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert!(rfc3339(far).starts_with("+11476-"), "{}", rfc3339(far));
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_micros(1_500_000)),
            "1970-01-01T00:00:01.500000Z"
        );
    }

    #[test]
    fn boot_time_now_maps_to_wall_time_now() {
        let clock = WallClock::new();
        let wall = clock.wall(boot_ns());
        let drift = SystemTime::now().duration_since(wall).unwrap_or_default();
        assert!(drift < Duration::from_secs(1), "{drift:?}");
        assert!(clock.rfc3339(boot_ns()).ends_with('Z'));
    }
}
