//! Sources of events. `ebpf` is the kernel's view of sshd sessions.
pub mod ebpf;
