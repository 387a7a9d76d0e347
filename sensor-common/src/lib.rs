//! The one definition of every type shared by the eBPF programs (`sensor-ebpf`) and userspace
//! (`sensor`): map names and sizes, the ring-buffer wire format, and the load-time configuration.
//!
//! Every wire type is `#[repr(C)]`, `Copy`, has explicit padding and a compile-time size check, so
//! the two sides can never disagree about a layout. Userspace never transmutes bytes into a Rust
//! enum: it reads [`EventHeader::kind`] as a `u32` and converts it with [`EventKind::try_from`].
#![no_std]

/// Length of a task's `comm`, including the NUL (`TASK_COMM_LEN`).
pub const COMM_LEN: usize = 16;
/// Bytes kept of the executed file's path (`sched_process_exec`'s `filename`).
pub const FILENAME_LEN: usize = 256;
/// Bytes of the argv buffer: NUL-separated arguments, as in `/proc/PID/cmdline`.
pub const ARGV_LEN: usize = 4096;
/// The most one argument may take, and the fill level after which no further argument is read.
/// Half of [`ARGV_LEN`], so that `offset & (ARGV_CHUNK - 1)` plus one chunk always fits.
pub const ARGV_CHUNK: usize = ARGV_LEN / 2;
/// The most arguments read from one `execve`.
pub const MAX_ARGS: u32 = 64;

/// Process names (comm, or the executable's file name) that start tracking: OpenSSH's `sshd`, and
/// the `sshd-session` and `sshd-auth` binaries OpenSSH 9.8+ splits off it.
pub const SSHD_FAMILY: [&str; 3] = ["sshd", "sshd-session", "sshd-auth"];

/// Default size of the ring buffer, in bytes (a power of two, a multiple of the page size).
pub const DEFAULT_RING_BYTES: u32 = 1 << 20;
/// Capacity of the map of tracked thread-group ids.
pub const TRACKED_MAX_ENTRIES: u32 = 32_768;

/// Names of the maps, as userspace looks them up.
pub mod map {
    /// `BPF_MAP_TYPE_RINGBUF`: every event.
    pub const EVENTS: &str = "EVENTS";
    /// `BPF_MAP_TYPE_HASH`: tgid → [`crate::Tracked`], the processes of sshd and its descendants.
    pub const TRACKED: &str = "TRACKED";
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`: counters, indexed by [`crate::Counter`].
    pub const COUNTERS: &str = "COUNTERS";
    /// `BPF_MAP_TYPE_PERCPU_ARRAY` of one [`crate::ExecRecord`]: where an exec record is built.
    pub const EXEC_SCRATCH: &str = "EXEC_SCRATCH";
}

/// Name of the global the loader fills with [`Config`].
pub const CONFIG_GLOBAL: &str = "CONFIG";

/// Names of the programs, with the tracepoint each attaches to (`category`, `name`).
pub const PROGRAMS: [(&str, &str, &str); 5] = [
    ("sched_process_fork", "sched", "sched_process_fork"),
    ("sched_process_exec", "sched", "sched_process_exec"),
    ("sched_process_exit", "sched", "sched_process_exit"),
    ("sys_enter_execve", "syscalls", "sys_enter_execve"),
    ("sys_enter_execveat", "syscalls", "sys_enter_execveat"),
];

/// Indices into the per-CPU [`map::COUNTERS`] array.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Events written to the ring buffer.
    Emitted = 0,
    /// Events lost because the ring buffer had no room (`bpf_ringbuf_reserve` failed).
    Lost = 1,
    /// Processes that could not be tracked because [`map::TRACKED`] was full.
    TrackFailed = 2,
}

/// Number of entries of the counter array.
pub const COUNTER_COUNT: u32 = 3;

/// What an event reports. Sent as a `u32` in [`EventHeader::kind`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A tracked process (or a new sshd-family one) executed a file: [`ExecEvent`].
    Exec = 1,
    /// The arguments of an `execve`/`execveat` by a tracked process: [`ArgvEvent`]. Sent on
    /// syscall entry, so it precedes its [`EventKind::Exec`] (and may have none if the exec fails).
    Argv = 2,
    /// A tracked process created a task: [`ForkEvent`]. A thread looks the same as a process here;
    /// a process is confirmed once an event arrives with `tgid == child_pid`.
    Fork = 3,
    /// A tracked thread group ended: [`ExitEvent`].
    Exit = 4,
}

/// The `u32` was not a known [`EventKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownKind(pub u32);

impl TryFrom<u32> for EventKind {
    type Error = UnknownKind;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Ok(match value {
            1 => Self::Exec,
            2 => Self::Argv,
            3 => Self::Fork,
            4 => Self::Exit,
            other => return Err(UnknownKind(other)),
        })
    }
}

/// Bits of [`EventHeader::flags`].
pub mod flags {
    /// The exec is of an sshd-family binary (`sshd`, `sshd-session`, `sshd-auth`) by comm.
    pub const SSHD_FAMILY: u32 = 1 << 0;
    /// This exec started tracking: the process was not tracked before.
    pub const TRACK_START: u32 = 1 << 1;
    /// The argv or filename did not fit and was cut.
    pub const TRUNCATED: u32 = 1 << 2;
    /// Reading argv from user memory faulted part-way.
    pub const FAULT: u32 = 1 << 3;
    /// The task fields read through BTF offsets (`start_ns`, `ppid`, login uid, session id, exit
    /// code) are filled in.
    pub const TASK_FIELDS: u32 = 1 << 4;
}

/// The fixed start of every event.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EventHeader {
    /// An [`EventKind`] as `u32`.
    pub kind: u32,
    /// Bits from [`flags`].
    pub flags: u32,
    /// `bpf_ktime_get_boot_ns()` when the event happened (CLOCK_BOOTTIME).
    pub ktime_ns: u64,
    /// The thread-group leader's `start_boottime` (ns since boot), with `tgid` the process's
    /// identity. 0 when the task fields are not available.
    pub start_ns: u64,
    /// Thread-group id (the userspace "pid").
    pub tgid: u32,
    /// Thread id.
    pub pid: u32,
    /// `real_parent->tgid` at an exec; 0 in fork and exit records, which need only the
    /// process's identity, and when unknown.
    pub ppid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Audit login uid (`loginuid`) at an exec; `u32::MAX` in fork and exit records, and when
    /// unset or unknown.
    pub loginuid: u32,
    /// Audit session id at an exec; `u32::MAX` in fork and exit records, and when unset or
    /// unknown.
    pub sessionid: u32,
    /// Explicit padding.
    pub _pad: u32,
    /// `comm` of the current task, NUL-padded.
    pub comm: [u8; COMM_LEN],
}

/// [`EventKind::Exec`]: sent from `sched:sched_process_exec`, after the new image is in place.
///
/// With BTF the record carries the new image's argv as a tail of `argv_len` bytes right after
/// this struct (NUL-separated, as in `/proc/PID/cmdline`), and is sent at its used length: one
/// record per exec, and a short command takes a few hundred bytes of the ring, not the
/// [`ExecRecord`] maximum. Without BTF `argv_len` is 0 and the arguments come in an
/// [`ArgvEvent`] just before.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecEvent {
    pub header: EventHeader,
    /// Bytes of `filename` in use (without NUL).
    pub filename_len: u32,
    /// The thread id before the exec (differs from `header.pid` when a thread executed).
    pub old_pid: u32,
    /// Bytes of argv that follow the struct.
    pub argv_len: u32,
    /// Explicit padding.
    pub _pad: u32,
    /// The path as the kernel resolved it for the exec.
    pub filename: [u8; FILENAME_LEN],
}

/// An exec record at its largest: the layout of the per-CPU scratch buffer it is built in.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecRecord {
    pub event: ExecEvent,
    pub argv: [u8; ARGV_LEN],
}

/// [`EventKind::Argv`]: the arguments of an exec by a tracked process, on kernels without BTF,
/// sent just before its [`ExecEvent`]. They are read at `syscalls:sys_enter_execve{,at}` from the
/// caller's memory, which fails (flagged [`flags::FAULT`]) for pages not yet faulted in, such as
/// a string literal in a binary's read-only data. With BTF the exec record carries them instead,
/// read at `sched:sched_process_exec` from the new image's argument area
/// (`mm->arg_start..arg_end`), where the kernel has just copied them, so they are always resident.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ArgvEvent {
    pub header: EventHeader,
    /// Bytes of `argv` in use.
    pub argv_len: u32,
    /// Number of arguments read (0 when read as one block: count the NULs).
    pub argc: u32,
    /// NUL-separated arguments.
    pub argv: [u8; ARGV_LEN],
}

/// [`EventKind::Fork`]: sent from `sched:sched_process_fork`; the header is the parent's.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ForkEvent {
    pub header: EventHeader,
    /// Thread id of the new task (its tgid too, unless it is a thread).
    pub child_pid: u32,
    /// Explicit padding.
    pub _pad: u32,
}

/// [`EventKind::Exit`]: sent from `sched:sched_process_exit` when the whole thread group is dead.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExitEvent {
    pub header: EventHeader,
    /// `task->exit_code` in wait(2) status form (`code << 8`, or the signal number); valid when
    /// `flags::TASK_FIELDS` is set.
    pub exit_code: i32,
    /// Explicit padding.
    pub _pad: u32,
}

/// The value of [`map::TRACKED`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Tracked {
    /// `ktime_ns` when tracking began.
    pub since_ns: u64,
}

/// Offsets of the fields the programs read from tracepoint records. Read from tracefs
/// `events/*/*/format` at load time, because they move between kernel versions (6.x turned
/// `sched_process_fork`'s comms into `__data_loc` strings, for one).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TracepointOffsets {
    /// `sched_process_fork.child_pid`.
    pub fork_child_pid: u32,
    /// `sched_process_exec.filename` (a `__data_loc`: u16 offset, u16 length).
    pub exec_filename: u32,
    /// `sched_process_exec.old_pid`.
    pub exec_old_pid: u32,
    /// `sched_process_exit.group_dead`, or [`ABSENT`] on kernels without it (before 6.x); the
    /// programs then treat the exit of the thread-group leader as the end of the group.
    pub exit_group_dead: u32,
    /// `sys_enter_execve.argv`.
    pub execve_argv: u32,
    /// `sys_enter_execveat.argv`.
    pub execveat_argv: u32,
}

/// Marks an offset that this kernel does not have.
pub const ABSENT: u32 = u32::MAX;

/// Byte offsets into `struct task_struct` (and friends), read from the kernel's BTF at load time.
/// Reading them lets the programs fill [`EventHeader`] without CO-RE relocations.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskOffsets {
    /// 1 when every offset below was found; 0 otherwise (the programs then skip task fields).
    pub valid: u32,
    pub group_leader: u32,
    pub real_parent: u32,
    pub tgid: u32,
    pub start_boottime: u32,
    pub exit_code: u32,
    /// `loginuid` (`kuid_t`), or [`ABSENT`] without `CONFIG_AUDIT`.
    pub loginuid: u32,
    /// `sessionid`, or [`ABSENT`] without `CONFIG_AUDIT`.
    pub sessionid: u32,
    /// `task_struct.mm`.
    pub mm: u32,
    /// `mm_struct.arg_start`: where the kernel copied the new image's argv at exec.
    pub mm_arg_start: u32,
    /// `mm_struct.arg_end`.
    pub mm_arg_end: u32,
    /// Explicit padding.
    pub _pad: u32,
}

/// Everything the loader tells the programs, in the global [`CONFIG_GLOBAL`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Config {
    pub tp: TracepointOffsets,
    pub task: TaskOffsets,
    /// Wake the reader once this many bytes wait in the ring buffer, even for events that would
    /// not wake it on their own (the reader also drains on a short timer).
    pub wakeup_bytes: u64,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all of these are `#[repr(C)]`, `Copy`, built only from integers and byte arrays,
    // with explicit padding, so every bit pattern is valid.
    unsafe impl aya::Pod for super::Config {}
    unsafe impl aya::Pod for super::Tracked {}
}

const _: () = {
    assert!(size_of::<EventHeader>() == 72);
    assert!(size_of::<ExecEvent>() == 72 + 16 + FILENAME_LEN);
    assert!(size_of::<ExecRecord>() == size_of::<ExecEvent>() + ARGV_LEN);
    assert!(size_of::<ArgvEvent>() == 72 + 8 + ARGV_LEN);
    assert!(size_of::<ForkEvent>() == 80);
    assert!(size_of::<ExitEvent>() == 80);
    assert!(size_of::<Tracked>() == 8);
    assert!(size_of::<TracepointOffsets>() == 24);
    assert!(size_of::<TaskOffsets>() == 48);
    assert!(size_of::<Config>() == 80);
    assert!(ARGV_CHUNK.is_power_of_two());
    // The ring buffer reserves at 8-byte alignment.
    assert!(align_of::<ArgvEvent>() <= 8);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_round_trips_and_rejects_unknown() {
        for kind in [
            EventKind::Exec,
            EventKind::Argv,
            EventKind::Fork,
            EventKind::Exit,
        ] {
            assert_eq!(EventKind::try_from(kind as u32), Ok(kind));
        }
        assert_eq!(EventKind::try_from(0), Err(UnknownKind(0)));
        assert_eq!(EventKind::try_from(99), Err(UnknownKind(99)));
    }
}
