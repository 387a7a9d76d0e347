//! Offsets the programs need, read from this kernel rather than compiled in: tracepoint record
//! fields from tracefs `format` files, and `struct task_struct` fields from BTF.
use std::path::Path;

use btf_rs::{Btf, BtfType, Type};
use sensor_common::{ABSENT, TaskOffsets, TracepointOffsets};

#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    #[error("reading tracepoint format {path}: {source}")]
    Format {
        path: String,
        source: std::io::Error,
    },
    #[error("tracepoint {tracepoint} has no field `{field}` on this kernel")]
    MissingField { tracepoint: String, field: String },
}

/// Reads every tracepoint field offset the programs use.
pub fn tracepoint_offsets(tracefs: &Path) -> Result<TracepointOffsets, OffsetError> {
    let fork = Format::read(tracefs, "sched/sched_process_fork")?;
    let exec = Format::read(tracefs, "sched/sched_process_exec")?;
    let exit = Format::read(tracefs, "sched/sched_process_exit")?;
    let execve = Format::read(tracefs, "syscalls/sys_enter_execve")?;
    let execveat = Format::read(tracefs, "syscalls/sys_enter_execveat")?;
    Ok(TracepointOffsets {
        fork_child_pid: fork.require("child_pid")?,
        exec_filename: exec.require("filename")?,
        exec_old_pid: exec.require("old_pid")?,
        exit_group_dead: exit.field("group_dead").unwrap_or(ABSENT),
        execve_argv: execve.require("argv")?,
        execveat_argv: execveat.require("argv")?,
    })
}

struct Format {
    tracepoint: String,
    text: String,
}

impl Format {
    fn read(tracefs: &Path, tracepoint: &str) -> Result<Self, OffsetError> {
        let path = tracefs.join("events").join(tracepoint).join("format");
        let text = std::fs::read_to_string(&path).map_err(|source| OffsetError::Format {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            tracepoint: tracepoint.to_owned(),
            text,
        })
    }

    fn require(&self, name: &str) -> Result<u32, OffsetError> {
        self.field(name).ok_or_else(|| OffsetError::MissingField {
            tracepoint: self.tracepoint.clone(),
            field: name.to_owned(),
        })
    }

    fn field(&self, name: &str) -> Option<u32> {
        field_offset(&self.text, name)
    }
}

/// Finds `offset:N` on the line `field:TYPE NAME;` of a tracefs format file.
pub fn field_offset(format: &str, name: &str) -> Option<u32> {
    format.lines().find_map(|line| {
        let mut parts = line.trim().split(';').map(str::trim);
        let decl = parts.next()?.strip_prefix("field:")?;
        let field = decl.rsplit(' ').next()?;
        let field = field.split('[').next()?;
        if field != name {
            return None;
        }
        parts
            .find_map(|p| p.strip_prefix("offset:"))
            .and_then(|n| n.parse().ok())
    })
}

/// Reads `struct task_struct` offsets from BTF. Returns offsets with `valid == 0` (the programs then
/// leave the task fields out) and the reason, when BTF is missing or lacks a field.
pub fn task_offsets(btf_path: &Path) -> (TaskOffsets, Option<String>) {
    match read_task_offsets(btf_path) {
        Ok(offsets) => (offsets, None),
        Err(reason) => (TaskOffsets::default(), Some(reason)),
    }
}

fn read_task_offsets(btf_path: &Path) -> Result<TaskOffsets, String> {
    let btf = Btf::from_file(btf_path).map_err(|e| format!("{}: {e}", btf_path.display()))?;
    let task = find_struct(&btf, "task_struct")?;
    let mm = find_struct(&btf, "mm_struct")?;
    let field = |name: &str| member_offset(&btf, &task, name);
    let need = |name: &str| field(name).ok_or_else(|| format!("task_struct has no `{name}`"));
    let need_mm = |name: &str| {
        member_offset(&btf, &mm, name).ok_or_else(|| format!("mm_struct has no `{name}`"))
    };
    Ok(TaskOffsets {
        valid: 1,
        group_leader: need("group_leader")?,
        real_parent: need("real_parent")?,
        tgid: need("tgid")?,
        start_boottime: need("start_boottime")?,
        exit_code: need("exit_code")?,
        loginuid: field("loginuid").unwrap_or(ABSENT),
        sessionid: field("sessionid").unwrap_or(ABSENT),
        mm: need("mm")?,
        mm_arg_start: need_mm("arg_start")?,
        mm_arg_end: need_mm("arg_end")?,
        _pad: 0,
    })
}

fn find_struct(btf: &Btf, name: &str) -> Result<btf_rs::Struct, String> {
    let types = btf
        .resolve_types_by_name(name)
        .map_err(|e| format!("BTF lookup of {name}: {e}"))?;
    types
        .into_iter()
        .find_map(|t| match t {
            Type::Struct(s) => Some(s),
            _ => None,
        })
        .ok_or_else(|| format!("BTF has no struct {name}"))
}

/// Byte offset of member `name`, looking through anonymous struct and union members.
fn member_offset(btf: &Btf, s: &btf_rs::Struct, name: &str) -> Option<u32> {
    for member in &s.members {
        let member_name = btf.resolve_name(member).unwrap_or_default();
        if member_name == name {
            return Some(member.bit_offset() / 8);
        }
        if member_name.is_empty() {
            let inner = match resolve_aggregate(btf, member) {
                Some(inner) => inner,
                None => continue,
            };
            if let Some(off) = member_offset(btf, &inner, name) {
                return Some(member.bit_offset() / 8 + off);
            }
        }
    }
    None
}

fn resolve_aggregate(btf: &Btf, member: &dyn BtfType) -> Option<btf_rs::Struct> {
    let mut t = btf.resolve_chained_type(member).ok()?;
    for _ in 0..8 {
        t = match t {
            Type::Struct(s) | Type::Union(s) => return Some(s),
            Type::Typedef(ref x) => btf.resolve_chained_type(x).ok()?,
            Type::Volatile(ref x) | Type::Const(ref x) | Type::Restrict(ref x) => {
                btf.resolve_chained_type(x).ok()?
            }
            _ => return None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORK_6_18: &str = "name: sched_process_fork\nID: 366\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;\n\
\tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;\n\
\tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;\n\
\tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;\n";

    const FORK_5_15: &str = "format:\n\
\tfield:char parent_comm[16];\toffset:8;\tsize:16;\tsigned:1;\n\
\tfield:pid_t parent_pid;\toffset:24;\tsize:4;\tsigned:1;\n\
\tfield:char child_comm[16];\toffset:28;\tsize:16;\tsigned:1;\n\
\tfield:pid_t child_pid;\toffset:44;\tsize:4;\tsigned:1;\n";

    #[test]
    fn reads_offsets_from_both_fork_layouts() {
        assert_eq!(field_offset(FORK_6_18, "child_pid"), Some(20));
        assert_eq!(field_offset(FORK_5_15, "child_pid"), Some(44));
        assert_eq!(field_offset(FORK_5_15, "child_comm"), Some(28));
    }

    #[test]
    fn missing_and_prefix_fields_are_not_found() {
        assert_eq!(field_offset(FORK_6_18, "child"), None);
        assert_eq!(field_offset(FORK_6_18, "group_dead"), None);
        assert_eq!(field_offset("garbage\n;;field:\n", "x"), None);
    }
}
