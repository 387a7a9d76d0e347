//! Kernel half of the sensor: follow sshd and every process descended from it, and nothing else.
//!
//! A process becomes tracked when it executes an sshd-family binary (`sshd`, OpenSSH 9.8+'s
//! `sshd-session` and `sshd-auth`), or when a tracked process forks it. Tracking lives in the
//! [`TRACKED`] hash keyed by tgid, so a child that later detaches (`setsid`, double fork,
//! reparenting to init) stays tracked until it exits. Every other process costs one map lookup per
//! hook and emits nothing.
//!
//! Events go to one ring buffer without a wake-up per event: sshd-family events wake the reader at
//! once, others only once [`Config::wakeup_bytes`] are waiting; userspace also drains on a short
//! timer. A failed reservation is counted in [`COUNTERS`], never dropped silently.
#![no_std]
#![no_main]

use core::ffi::c_void;

use aya_ebpf::{
    EbpfContext as _,
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_uid_gid,
        bpf_probe_read_kernel, bpf_probe_read_user,
        generated::{
            self, bpf_get_current_task, bpf_ktime_get_boot_ns, bpf_probe_read_kernel_str,
            bpf_probe_read_user_str,
        },
    },
    macros::{map, tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::TracePointContext,
};
use sensor_common::{
    ABSENT, ARGV_CHUNK, ARGV_LEN, ArgvEvent, COMM_LEN, COUNTER_COUNT, Config, Counter,
    DEFAULT_RING_BYTES, EventHeader, EventKind, ExecEvent, ExecRecord, ExitEvent, FILENAME_LEN,
    ForkEvent, MAX_ARGS, TRACKED_MAX_ENTRIES, Tracked, flags,
};

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(DEFAULT_RING_BYTES, 0);

#[map]
static TRACKED: HashMap<u32, Tracked> = HashMap::with_max_entries(TRACKED_MAX_ENTRIES, 0);

#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(COUNTER_COUNT, 0);

#[map]
static EXEC_SCRATCH: PerCpuArray<ExecRecord> = PerCpuArray::with_max_entries(1, 0);

/// Filled by the loader (`EbpfLoader::set_global`) with offsets read from tracefs and BTF.
#[unsafe(no_mangle)]
static CONFIG: Config = Config {
    tp: sensor_common::TracepointOffsets {
        fork_child_pid: 0,
        exec_filename: 0,
        exec_old_pid: 0,
        exit_group_dead: ABSENT,
        execve_argv: 0,
        execveat_argv: 0,
    },
    task: sensor_common::TaskOffsets {
        valid: 0,
        group_leader: 0,
        real_parent: 0,
        tgid: 0,
        start_boottime: 0,
        exit_code: 0,
        loginuid: ABSENT,
        sessionid: ABSENT,
        mm: 0,
        mm_arg_start: 0,
        mm_arg_end: 0,
        _pad: 0,
    },
    wakeup_bytes: (DEFAULT_RING_BYTES / 4) as u64,
};

#[inline(always)]
fn config() -> Config {
    // SAFETY: a plain read of a global; volatile so the loader's value is not constant-folded.
    unsafe { core::ptr::read_volatile(&raw const CONFIG) }
}

/// `sched:sched_process_fork` (fields `child_pid`, by offset from tracefs; kernel ≥ 2.6.32).
#[tracepoint]
pub fn sched_process_fork(ctx: TracePointContext) -> u32 {
    let _ = try_fork(&ctx);
    0
}

/// `sched:sched_process_exec` (fields `filename` as `__data_loc`, `old_pid`; kernel ≥ 3.4).
#[tracepoint]
pub fn sched_process_exec(ctx: TracePointContext) -> u32 {
    let _ = try_exec(&ctx);
    0
}

/// `sched:sched_process_exit` (field `group_dead` where the kernel has it, 6.x; otherwise the
/// leader's exit ends the group).
#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let _ = try_exit(&ctx);
    0
}

/// `syscalls:sys_enter_execve` (field `argv`; needs `CONFIG_FTRACE_SYSCALLS`). Attached only
/// without BTF: see [`ArgvEvent`] for why the exec-time read is preferred.
#[tracepoint]
pub fn sys_enter_execve(ctx: TracePointContext) -> u32 {
    let _ = try_argv(&ctx, config().tp.execve_argv);
    0
}

/// `syscalls:sys_enter_execveat` (field `argv`; needs `CONFIG_FTRACE_SYSCALLS`).
#[tracepoint]
pub fn sys_enter_execveat(ctx: TracePointContext) -> u32 {
    let _ = try_argv(&ctx, config().tp.execveat_argv);
    0
}

fn try_fork(ctx: &TracePointContext) -> Result<(), i64> {
    let tgid = current_tgid();
    if !is_tracked(tgid) {
        return Ok(());
    }
    let cfg = config();
    // SAFETY: the offset comes from this kernel's tracepoint format.
    let child = unsafe { ctx.read_at::<i32>(cfg.tp.fork_child_pid as usize) }? as u32;
    // The child may be a thread; its entry is then removed at its exit.
    track(child);
    let Some(mut entry) = EVENTS.reserve::<ForkEvent>(0) else {
        return count(Counter::Lost);
    };
    let ev = entry.as_mut_ptr();
    // SAFETY: `ev` points to a reservation of the right size; every field is written.
    unsafe {
        fill_header(&raw mut (*ev).header, EventKind::Fork, 0, &cfg);
        (*ev).child_pid = child;
        (*ev)._pad = 0;
    }
    entry.submit(wake_flags(false, &cfg));
    count(Counter::Emitted)
}

fn try_exec(ctx: &TracePointContext) -> Result<(), i64> {
    let tgid = current_tgid();
    let tracked = is_tracked(tgid);
    // After the exec, comm is the new file's basename (cut to 15 bytes).
    let comm = bpf_get_current_comm().unwrap_or([0; COMM_LEN]);
    let sshd = is_sshd_family(&comm);
    if !tracked && !sshd {
        return Ok(());
    }
    let mut fl = if sshd { flags::SSHD_FAMILY } else { 0 };
    if !tracked {
        track(tgid);
        fl |= flags::TRACK_START;
    }
    let cfg = config();
    // Built in per-CPU scratch, then sent at its used length: one record, sized to its argv.
    let Some(rec) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return count(Counter::Lost);
    };
    // SAFETY: `rec` is this CPU's scratch slot, not shared while the program runs; the
    // `__data_loc` offset is relative to the tracepoint record, bounded by the kernel.
    let len = unsafe {
        let ev = &raw mut (*rec).event;
        let loc = ctx
            .read_at::<u32>(cfg.tp.exec_filename as usize)
            .unwrap_or(0);
        let src = ctx.as_ptr().cast::<u8>().add((loc & 0xffff) as usize);
        let n = bpf_probe_read_kernel_str(
            (&raw mut (*ev).filename).cast::<c_void>(),
            FILENAME_LEN as u32,
            src.cast::<c_void>(),
        );
        if (loc >> 16) as usize > FILENAME_LEN {
            fl |= flags::TRUNCATED;
        }
        (*ev).filename_len = if n > 0 { n as u32 - 1 } else { 0 };
        (*ev).old_pid = ctx
            .read_at::<i32>(cfg.tp.exec_old_pid as usize)
            .unwrap_or(0) as u32;
        (*ev)._pad = 0;
        (*ev).argv_len = if cfg.task.valid != 0 {
            read_exec_argv(&cfg, (&raw mut (*rec).argv).cast::<u8>(), &mut fl)
        } else {
            0
        };
        fill_header(&raw mut (*ev).header, EventKind::Exec, fl, &cfg);
        size_of::<ExecEvent>() + ((*ev).argv_len as usize & (ARGV_LEN - 1))
    };
    // SAFETY: `len` is at most the size of the scratch record.
    let bytes = unsafe { core::slice::from_raw_parts(rec.cast::<u8>(), len) };
    if EVENTS
        .output::<[u8]>(bytes, wake_flags(sshd, &cfg))
        .is_err()
    {
        return count(Counter::Lost);
    }
    count(Counter::Emitted)
}

fn try_exit(ctx: &TracePointContext) -> Result<(), i64> {
    let pid_tgid = bpf_get_current_pid_tgid();
    let (tgid, pid) = ((pid_tgid >> 32) as u32, pid_tgid as u32);
    if !is_tracked(tgid) {
        return Ok(());
    }
    let cfg = config();
    if pid != tgid {
        // A thread of a tracked process: forget the entry its creation added.
        let _ = TRACKED.remove(pid);
    }
    let group_dead = if cfg.tp.exit_group_dead == ABSENT {
        pid == tgid
    } else {
        // SAFETY: the offset comes from this kernel's tracepoint format.
        unsafe { ctx.read_at::<u8>(cfg.tp.exit_group_dead as usize) }? != 0
    };
    if !group_dead {
        return Ok(());
    }
    let _ = TRACKED.remove(tgid);
    let Some(mut entry) = EVENTS.reserve::<ExitEvent>(0) else {
        return count(Counter::Lost);
    };
    let ev = entry.as_mut_ptr();
    // SAFETY: `ev` points to a reservation of the right size; every field is written.
    unsafe {
        fill_header(&raw mut (*ev).header, EventKind::Exit, 0, &cfg);
        (*ev).exit_code = if cfg.task.valid != 0 {
            let task = bpf_get_current_task() as *const u8;
            bpf_probe_read_kernel(task.add(cfg.task.exit_code as usize).cast::<i32>()).unwrap_or(0)
        } else {
            0
        };
        (*ev)._pad = 0;
    }
    entry.submit(wake_flags(false, &cfg));
    count(Counter::Emitted)
}

fn try_argv(ctx: &TracePointContext, argv_offset: u32) -> Result<(), i64> {
    let tgid = current_tgid();
    if !is_tracked(tgid) {
        return Ok(());
    }
    let cfg = config();
    // SAFETY: the offset comes from this kernel's tracepoint format.
    let argv = unsafe { ctx.read_at::<u64>(argv_offset as usize) }? as *const *const u8;
    let Some(mut entry) = EVENTS.reserve::<ArgvEvent>(0) else {
        return count(Counter::Lost);
    };
    let ev = entry.as_mut_ptr();
    let mut fl = 0;
    let mut off: usize = 0;
    let mut argc: u32 = 0;
    // SAFETY: `ev` points to a reservation of the right size. Each string lands at
    // `off & (ARGV_CHUNK - 1)` and takes at most `ARGV_CHUNK` bytes, so it stays inside `argv`.
    unsafe {
        let buf = (&raw mut (*ev).argv).cast::<u8>();
        for i in 0..MAX_ARGS {
            let Ok(arg) = bpf_probe_read_user(argv.add(i as usize)) else {
                fl |= flags::FAULT;
                break;
            };
            if arg.is_null() {
                break;
            }
            if off >= ARGV_CHUNK || i + 1 == MAX_ARGS {
                fl |= flags::TRUNCATED;
                break;
            }
            let n = bpf_probe_read_user_str(
                buf.add(off & (ARGV_CHUNK - 1)).cast::<c_void>(),
                ARGV_CHUNK as u32,
                arg.cast::<c_void>(),
            );
            if n <= 0 {
                fl |= flags::FAULT;
                break;
            }
            if n as usize >= ARGV_CHUNK {
                fl |= flags::TRUNCATED;
            }
            off += n as usize;
            argc += 1;
        }
        (*ev).argv_len = off as u32;
        (*ev).argc = argc;
        fill_header(&raw mut (*ev).header, EventKind::Argv, fl, &cfg);
    }
    entry.submit(wake_flags(false, &cfg));
    count(Counter::Emitted)
}

/// Reads the new image's argv, in one piece from `mm->arg_start..arg_end`, into `dst` (at least
/// `ARGV_LEN` bytes). Returns the bytes read; flags a cut or a failed read.
///
/// # Safety
/// `cfg.task` must hold this kernel's BTF offsets; `dst` must be valid for `ARGV_LEN` bytes.
#[inline(always)]
unsafe fn read_exec_argv(cfg: &Config, dst: *mut u8, fl: &mut u32) -> u32 {
    // SAFETY: offsets come from this kernel's BTF; reads go through probe helpers.
    let (start, end) = unsafe {
        let task = bpf_get_current_task() as *const u8;
        let Ok(mm) = bpf_probe_read_kernel(task.add(cfg.task.mm as usize).cast::<*const u8>())
        else {
            return 0;
        };
        if mm.is_null() {
            return 0;
        }
        let start = bpf_probe_read_kernel(mm.add(cfg.task.mm_arg_start as usize).cast::<u64>());
        let end = bpf_probe_read_kernel(mm.add(cfg.task.mm_arg_end as usize).cast::<u64>());
        match (start, end) {
            (Ok(s), Ok(e)) => (s, e),
            _ => return 0,
        }
    };
    let mut len = end.saturating_sub(start);
    if len > (ARGV_LEN - 1) as u64 {
        len = (ARGV_LEN - 1) as u64;
        *fl |= flags::TRUNCATED;
    }
    // The mask keeps the length provably inside the buffer for the verifier.
    let len = (len as u32) & (ARGV_LEN as u32 - 1);
    // SAFETY: at most ARGV_LEN - 1 bytes land in `dst`.
    let rc = unsafe {
        generated::bpf_probe_read_user(dst.cast::<c_void>(), len, start as *const c_void)
    };
    if rc == 0 {
        len
    } else {
        *fl |= flags::FAULT;
        0
    }
}

#[inline(always)]
fn current_tgid() -> u32 {
    (bpf_get_current_pid_tgid() >> 32) as u32
}

#[inline(always)]
fn is_tracked(tgid: u32) -> bool {
    TRACKED.get_ptr(tgid).is_some()
}

#[inline(always)]
fn track(tgid: u32) {
    // SAFETY: plain helper call.
    let since_ns = unsafe { bpf_ktime_get_boot_ns() };
    if TRACKED.insert(tgid, Tracked { since_ns }, 0).is_err() {
        let _ = count(Counter::TrackFailed);
    }
}

#[inline(always)]
fn count(counter: Counter) -> Result<(), i64> {
    if let Some(slot) = COUNTERS.get_ptr_mut(counter as u32) {
        // SAFETY: a per-CPU slot: no other writer on this CPU while the program runs.
        unsafe { *slot += 1 };
    }
    Ok(())
}

/// Wake the reader now for urgent events, or once enough bytes wait; otherwise let its timer
/// pick the event up (a wake-up per event costs tens of µs).
#[inline(always)]
fn wake_flags(urgent: bool, cfg: &Config) -> u64 {
    if urgent || EVENTS.query(BPF_RB_AVAIL_DATA as u64) >= cfg.wakeup_bytes {
        BPF_RB_FORCE_WAKEUP as u64
    } else {
        BPF_RB_NO_WAKEUP as u64
    }
}

/// `sshd`, `sshd-session` or `sshd-auth`, as a NUL-terminated comm.
#[inline(always)]
fn is_sshd_family(comm: &[u8; COMM_LEN]) -> bool {
    if !(comm[0] == b's' && comm[1] == b's' && comm[2] == b'h' && comm[3] == b'd') {
        return false;
    }
    match comm[4] {
        0 => true,
        b'-' => {
            let rest = &comm[5..];
            starts_with_nul_terminated(rest, b"session")
                || starts_with_nul_terminated(rest, b"auth")
        }
        _ => false,
    }
}

#[inline(always)]
fn starts_with_nul_terminated(s: &[u8], word: &[u8]) -> bool {
    if s.len() <= word.len() {
        return false;
    }
    let mut i = 0;
    while i < word.len() {
        if s[i] != word[i] {
            return false;
        }
        i += 1;
    }
    s[word.len()] == 0
}

/// Fills the common header. The task fields come from the current task through BTF offsets:
/// the start time always, the parent, login uid and session id for execs.
///
/// # Safety
/// `h` must point into a ring-buffer reservation large enough for an [`EventHeader`].
#[inline(always)]
unsafe fn fill_header(h: *mut EventHeader, kind: EventKind, mut fl: u32, cfg: &Config) {
    // Fork and exit records need only the process's identity; the parent, login uid and session
    // id (four more kernel reads) come with execs, where the process table takes them from.
    let lineage = matches!(kind, EventKind::Exec | EventKind::Argv);
    let pid_tgid = bpf_get_current_pid_tgid();
    let uid_gid = bpf_get_current_uid_gid();
    let (mut start_ns, mut ppid, mut loginuid, mut sessionid) = (0, 0, u32::MAX, u32::MAX);
    if cfg.task.valid != 0 {
        // SAFETY: offsets come from this kernel's BTF.
        unsafe {
            let task = bpf_get_current_task() as *const u8;
            // The leader's start time is the process's; most events come from the leader itself.
            let leader = if pid_tgid >> 32 == pid_tgid & 0xffff_ffff {
                task
            } else {
                bpf_probe_read_kernel(task.add(cfg.task.group_leader as usize).cast::<*const u8>())
                    .unwrap_or(core::ptr::null())
            };
            if !leader.is_null() {
                start_ns = bpf_probe_read_kernel(
                    leader.add(cfg.task.start_boottime as usize).cast::<u64>(),
                )
                .unwrap_or(0);
            }
            if lineage {
                let parent = bpf_probe_read_kernel(
                    task.add(cfg.task.real_parent as usize).cast::<*const u8>(),
                )
                .unwrap_or(core::ptr::null());
                if !parent.is_null() {
                    ppid = bpf_probe_read_kernel(parent.add(cfg.task.tgid as usize).cast::<i32>())
                        .unwrap_or(0) as u32;
                }
                if cfg.task.loginuid != ABSENT {
                    loginuid = bpf_probe_read_kernel(task.add(cfg.task.loginuid as usize).cast())
                        .unwrap_or(u32::MAX);
                }
                if cfg.task.sessionid != ABSENT {
                    sessionid = bpf_probe_read_kernel(task.add(cfg.task.sessionid as usize).cast())
                        .unwrap_or(u32::MAX);
                }
            }
        }
        fl |= flags::TASK_FIELDS;
    }
    // SAFETY: the caller guarantees `h` is valid for writes.
    unsafe {
        h.write(EventHeader {
            kind: kind as u32,
            flags: fl,
            ktime_ns: bpf_ktime_get_boot_ns(),
            start_ns,
            tgid: (pid_tgid >> 32) as u32,
            pid: pid_tgid as u32,
            ppid,
            uid: uid_gid as u32,
            gid: (uid_gid >> 32) as u32,
            loginuid,
            sessionid,
            _pad: 0,
            comm: bpf_get_current_comm().unwrap_or([0; COMM_LEN]),
        });
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: the verifier rejects any program with a reachable panic path.
    unsafe { core::hint::unreachable_unchecked() }
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
