//! Turning ring-buffer bytes into typed events: a fixed header with a numeric kind, length checks,
//! and `read_unaligned` of plain-old-data structs whose every bit pattern is valid.
use sensor_common::{
    ARGV_LEN, ArgvEvent, COMM_LEN, EventHeader, EventKind, ExecEvent, ExitEvent, FILENAME_LEN,
    ForkEvent, UnknownKind, flags,
};

/// What the kernel reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEvent {
    /// `args` is the argv the exec record carried (with BTF); `None` when it comes separately
    /// as a [`KernelEvent::Argv`] (without BTF).
    Exec {
        common: Common,
        filename: String,
        old_pid: u32,
        args: Option<Vec<String>>,
    },
    Argv {
        common: Common,
        args: Vec<String>,
    },
    Fork {
        common: Common,
        child_pid: u32,
    },
    Exit {
        common: Common,
        exit_code: Option<i32>,
    },
}

impl KernelEvent {
    pub fn common(&self) -> &Common {
        match self {
            Self::Exec { common, .. }
            | Self::Argv { common, .. }
            | Self::Fork { common, .. }
            | Self::Exit { common, .. } => common,
        }
    }
}

/// The header fields every event carries, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// CLOCK_BOOTTIME, ns.
    pub ktime_ns: u64,
    /// Thread-group leader's start, ns since boot; `None` without BTF task offsets.
    pub start_ns: Option<u64>,
    pub tgid: u32,
    pub pid: u32,
    pub ppid: Option<u32>,
    pub uid: u32,
    pub gid: u32,
    pub loginuid: Option<u32>,
    pub sessionid: Option<u32>,
    pub comm: String,
    /// Bits from [`sensor_common::flags`].
    pub flags: u32,
}

impl Common {
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("kernel event of {len} bytes is shorter than its {what} ({need} bytes)")]
    Short {
        what: &'static str,
        len: usize,
        need: usize,
    },
    #[error("kernel event has unknown kind {0}")]
    UnknownKind(u32),
    #[error("kernel event {what} length {len} exceeds its buffer ({max} bytes)")]
    BadLength {
        what: &'static str,
        len: usize,
        max: usize,
    },
}

impl From<UnknownKind> for DecodeError {
    fn from(UnknownKind(kind): UnknownKind) -> Self {
        Self::UnknownKind(kind)
    }
}

/// Decodes one ring-buffer record.
pub fn decode(bytes: &[u8]) -> Result<KernelEvent, DecodeError> {
    let header: EventHeader = read(bytes, "header")?;
    Ok(match EventKind::try_from(header.kind)? {
        EventKind::Exec => {
            let ev: ExecEvent = read(bytes, "exec event")?;
            let len = checked_len(ev.filename_len, FILENAME_LEN, "filename")?;
            let argv_len = checked_len(ev.argv_len, ARGV_LEN, "argv")?;
            let fixed = size_of::<ExecEvent>();
            let tail = bytes
                .get(fixed..fixed + argv_len)
                .ok_or(DecodeError::Short {
                    what: "exec event's argv",
                    len: bytes.len(),
                    need: fixed + argv_len,
                })?;
            let common = common(&ev.header);
            let carried = common.has(flags::TASK_FIELDS);
            KernelEvent::Exec {
                filename: String::from_utf8_lossy(&ev.filename[..len]).into_owned(),
                old_pid: ev.old_pid,
                args: carried.then(|| split_args(tail)),
                common,
            }
        }
        EventKind::Argv => {
            let ev: ArgvEvent = read(bytes, "argv event")?;
            let len = checked_len(ev.argv_len, ARGV_LEN, "argv")?;
            KernelEvent::Argv {
                common: common(&ev.header),
                args: split_args(&ev.argv[..len]),
            }
        }
        EventKind::Fork => {
            let ev: ForkEvent = read(bytes, "fork event")?;
            KernelEvent::Fork {
                common: common(&ev.header),
                child_pid: ev.child_pid,
            }
        }
        EventKind::Exit => {
            let ev: ExitEvent = read(bytes, "exit event")?;
            let known = ev.header.flags & flags::TASK_FIELDS != 0;
            KernelEvent::Exit {
                common: common(&ev.header),
                exit_code: known.then_some(ev.exit_code),
            }
        }
    })
}

/// Marker for the wire structs: `#[repr(C)]`, made only of integers and byte arrays.
trait Wire: Copy {}
impl Wire for EventHeader {}
impl Wire for ExecEvent {}
impl Wire for ArgvEvent {}
impl Wire for ForkEvent {}
impl Wire for ExitEvent {}

fn read<T: Wire>(bytes: &[u8], what: &'static str) -> Result<T, DecodeError> {
    let need = size_of::<T>();
    if bytes.len() < need {
        return Err(DecodeError::Short {
            what,
            len: bytes.len(),
            need,
        });
    }
    // SAFETY: the length was checked; `T: Wire` is plain data valid for every bit pattern, and
    // `read_unaligned` tolerates any alignment.
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

fn checked_len(len: u32, max: usize, what: &'static str) -> Result<usize, DecodeError> {
    let len = len as usize;
    if len > max {
        Err(DecodeError::BadLength { what, len, max })
    } else {
        Ok(len)
    }
}

fn common(h: &EventHeader) -> Common {
    let task = h.flags & flags::TASK_FIELDS != 0;
    let unset = |v: u32| (task && v != u32::MAX).then_some(v);
    Common {
        ktime_ns: h.ktime_ns,
        start_ns: (task && h.start_ns != 0).then_some(h.start_ns),
        tgid: h.tgid,
        pid: h.pid,
        ppid: (task && h.ppid != 0).then_some(h.ppid),
        uid: h.uid,
        gid: h.gid,
        loginuid: unset(h.loginuid),
        sessionid: unset(h.sessionid),
        comm: c_str(&h.comm[..COMM_LEN]),
        flags: h.flags,
    }
}

fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Splits NUL-terminated arguments; a final argument cut short has no NUL and is kept.
fn split_args(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: EventKind) -> EventHeader {
        let mut comm = [0; COMM_LEN];
        comm[..4].copy_from_slice(b"bash");
        EventHeader {
            kind: kind as u32,
            flags: flags::TASK_FIELDS,
            ktime_ns: 5,
            start_ns: 3,
            tgid: 10,
            pid: 11,
            ppid: 1,
            uid: 1000,
            gid: 1000,
            loginuid: u32::MAX,
            sessionid: 7,
            _pad: 0,
            comm,
        }
    }

    fn bytes<T: Wire>(v: &T) -> Vec<u8> {
        // SAFETY: reading the bytes of a plain-data value.
        unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
    }

    #[test]
    fn decodes_argv_with_a_cut_last_argument() {
        let mut ev = ArgvEvent {
            header: header(EventKind::Argv),
            argv_len: 0,
            argc: 3,
            argv: [0; ARGV_LEN],
        };
        let raw = b"sh\0-c\0sleep 1; i";
        ev.argv[..raw.len()].copy_from_slice(raw);
        ev.argv_len = raw.len() as u32;
        let KernelEvent::Argv { common, args } = decode(&bytes(&ev)).unwrap() else {
            panic!()
        };
        assert_eq!(args, ["sh", "-c", "sleep 1; i"]);
        assert_eq!(common.comm, "bash");
        assert_eq!(common.loginuid, None);
        assert_eq!(common.sessionid, Some(7));
    }

    /// With BTF an exec record carries its argv as a tail, sent at its used length.
    #[test]
    fn decodes_an_exec_record_with_its_argv_tail() {
        let mut ev = ExecEvent {
            header: header(EventKind::Exec),
            filename_len: 9,
            old_pid: 10,
            argv_len: 0,
            _pad: 0,
            filename: [0; FILENAME_LEN],
        };
        ev.filename[..9].copy_from_slice(b"/bin/bash");
        let argv = b"bash\0-c\0whoami; id\0";
        ev.argv_len = argv.len() as u32;
        let mut record = bytes(&ev);
        record.extend_from_slice(argv);
        let KernelEvent::Exec { filename, args, .. } = decode(&record).unwrap() else {
            panic!()
        };
        assert_eq!(filename, "/bin/bash");
        assert_eq!(args.unwrap(), ["bash", "-c", "whoami; id"]);
        // A record cut inside its tail is refused, not read past its end.
        assert!(matches!(
            decode(&record[..record.len() - 1]),
            Err(DecodeError::Short {
                what: "exec event's argv",
                ..
            })
        ));
        // Without BTF task fields argv comes separately.
        ev.header.flags = 0;
        ev.argv_len = 0;
        let Ok(KernelEvent::Exec { args: None, .. }) = decode(&bytes(&ev)) else {
            panic!("without task fields an exec carries no argv")
        };
    }

    #[test]
    fn rejects_short_unknown_and_overlong_records() {
        let ev = ExecEvent {
            header: header(EventKind::Exec),
            filename_len: 9999,
            old_pid: 0,
            argv_len: 0,
            _pad: 0,
            filename: [0; FILENAME_LEN],
        };
        let b = bytes(&ev);
        assert!(matches!(
            decode(&b[..10]),
            Err(DecodeError::Short { what: "header", .. })
        ));
        assert!(matches!(
            decode(&b[..100]),
            Err(DecodeError::Short {
                what: "exec event",
                ..
            })
        ));
        assert_eq!(
            decode(&b),
            Err(DecodeError::BadLength {
                what: "filename",
                len: 9999,
                max: FILENAME_LEN
            })
        );
        let mut h = header(EventKind::Exit);
        h.kind = 77;
        assert_eq!(decode(&bytes(&h)), Err(DecodeError::UnknownKind(77)));
    }

    #[test]
    fn exit_code_is_unknown_without_task_fields() {
        let mut ev = ExitEvent {
            header: header(EventKind::Exit),
            exit_code: 256,
            _pad: 0,
        };
        assert!(matches!(
            decode(&bytes(&ev)),
            Ok(KernelEvent::Exit {
                exit_code: Some(256),
                ..
            })
        ));
        ev.header.flags = 0;
        let decoded = decode(&bytes(&ev)).unwrap();
        assert!(matches!(
            decoded,
            KernelEvent::Exit {
                exit_code: None,
                ..
            }
        ));
        assert_eq!(decoded.common().ppid, None);
    }
}
