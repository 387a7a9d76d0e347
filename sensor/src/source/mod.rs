//! Sources of events: `ebpf` is the kernel's view of sshd sessions; `journald` is sshd's own
//! account of its logins, from the systemd journal.
pub mod ebpf;
pub mod journald;
