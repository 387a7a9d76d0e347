//! Redacts passwords, hashes and other secrets from a process's argv before the sensor outputs it.
//!
//! The sensor reports every command run inside an SSH session, and the tools attackers pivot
//! with take credentials on the command line. [`redact_args`] replaces each secret value with
//! [`REDACTED`] in place and keeps everything else byte for byte: argv keeps its order and
//! length, and only the secret part of a value changes (`CORP/admin:<redacted>@10.0.0.5`,
//! `admin%<redacted>`, `-p<redacted>`).
//!
//! Two kinds of rule apply.
//! - **By program.** The program is the file name of `args[0]` (case-insensitive), looked for
//!   through wrappers (`sudo`, `env`, `timeout`, `nohup`, `proxychains`, …), interpreters
//!   (`python3 /usr/bin/psexec.py`, `python3 -m nxc`, `ruby evil-winrm`, `sh impacket-psexec`)
//!   and shell command strings (`bash -c '…'`, `su -c '…'`, the command given to `ssh`). Its
//!   options decide what is secret, so `ssh -p 2222` (a port) stays and `sshpass -p PASS` goes.
//!   Covered: `sshpass`; Impacket (`*.py`, `impacket-*`); `nxc`/`netexec`/`crackmapexec`;
//!   `evil-winrm`; Samba's `smbclient`, `rpcclient`, `net`, `winexe` (and `pth-*`); `mysql`,
//!   `psql`, `curl`, `wget`, `ldapsearch` and friends, `xfreerdp`, `rdesktop`, `smbmap`,
//!   `bloodhound-python`, `certipy`, `bloodyAD`, `hydra`, `useradd -p`, `7z -p`, `zip -P`,
//!   `redis-cli -a`.
//! - **By content**, in every argument of every program: `scheme://user:password@host`; a
//!   secret-named `--password=X`, `--token=X`, `NAME=X` or embedded `key=X` (`PGPASSWORD=…`,
//!   `?api_key=…&`, `user=u,password=…`); an NTLM `LMHASH:NTHASH` pair; and the two-argument
//!   `--password X` unless the program says its `--password` takes no value (`mysql`, `psql`).
//!
//! Redaction never panics, is idempotent, and over-redacts rather than leaks when a value's role
//! is ambiguous (`nxc -p FILE` loses the file name). `args[0]` is never changed: it names the
//! program, and changing it could change which rules apply. Not covered: secrets in positions
//! only one unlisted program knows (`htpasswd -b FILE USER PASS`), secrets inside `$((…))`,
//! here-documents or `ssh -o ProxyCommand=…`.
//!
//! The rules live by concern: `argv` reads one command's options by its program's rules, which
//! `programs` holds; `content` holds the rules for any argument; `shell` follows shell command
//! strings back into argv.

mod argv;
mod content;
mod programs;
mod shell;

#[cfg(test)]
mod tests;

use self::argv::redact_command;
// The tests (`use super::*`) see the shell-string helpers as they did in one file.
#[cfg(test)]
use self::shell::{shell_quote, shell_words};

/// What replaces a secret.
pub const REDACTED: &str = "<redacted>";

/// How deep wrappers, interpreters and shell strings are followed (`sudo env bash -c '…'`);
/// deeper, only the content rules apply.
const MAX_DEPTH: usize = 8;

/// How many times the rules run over argv at most. One redaction can expose another (a
/// `key=value` that hid an Impacket target's `@` goes), so they run until nothing changes:
/// usually one round redacts and the next finds nothing. Each change turns text that is not a
/// placeholder into one, so rounds run out quickly; the bound keeps a pathological argv cheap.
const MAX_ROUNDS: usize = 4;

/// Redacts secrets in `args` (argv, `args[0]` first) in place; returns how many values were
/// redacted.
///
/// A value already equal to [`REDACTED`], or empty, is not counted, so a second call returns 0
/// and changes nothing.
///
/// ```
/// use sensor::redact::redact_args;
/// let mut argv: Vec<String> = ["sshpass", "-p", "S3cret", "ssh", "-p", "2222", "root@10.0.0.7"]
///     .map(String::from)
///     .into();
/// assert_eq!(redact_args(&mut argv), 1);
/// assert_eq!(argv, ["sshpass", "-p", "<redacted>", "ssh", "-p", "2222", "root@10.0.0.7"]);
/// ```
pub fn redact_args(args: &mut [String]) -> usize {
    let mut count = 0;
    for _ in 0..MAX_ROUNDS {
        let round = redact_command(args, 0);
        count += round;
        if round == 0 {
            break;
        }
    }
    count
}

/// Replaces `arg[from..to]` with [`REDACTED`]; 1 if that changed a non-empty value.
fn redact_range(arg: &mut String, from: usize, to: usize) -> usize {
    match arg.get(from..to) {
        Some(value) if !value.is_empty() && value != REDACTED => {
            arg.replace_range(from..to, REDACTED);
            1
        }
        _ => 0,
    }
}

fn redact_tail(arg: &mut String, from: usize) -> usize {
    redact_range(arg, from, arg.len())
}
