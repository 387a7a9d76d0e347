//! Reads one command's argv by its program's rules ([`Spec`]): which options take a value,
//! which values are secret, and where a sub-command (`sudo CMD`, `sh -c STRING`) starts.

use super::content::{ntlm_start, redact_content};
use super::programs::{
    DEFAULT, module_program, redact_freerdp, redact_header, redact_impacket_target, spec_for,
};
use super::shell::redact_shell_at;
use super::{MAX_DEPTH, redact_tail};
use Kind::{AttachedSecret, Code, Flag, Header, Module, Secret, Secrets, Shell, UserSecret, Value};

/// What an option does with its value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    /// Takes no value (also overrides the generic `--password VALUE` rule).
    Flag,
    /// Takes one value that is not secret.
    Value,
    /// Takes one secret value: `-p X`, `-pX`, `--opt X`, `--opt=X`.
    Secret,
    /// Takes secret values up to the next option (argparse `nargs='+'`); attached, only one.
    Secrets,
    /// Secret only when attached (`-pX`, `--password=X`); alone it prompts and takes nothing.
    AttachedSecret,
    /// Takes `user<sep>secret`: only what follows the first separator is secret.
    UserSecret(char),
    /// Takes an HTTP header: the value of `Authorization:` and the like is secret.
    Header,
    /// Takes a shell command string (`su -c STRING`).
    Shell,
    /// Takes inline code (`python3 -c CODE`): what follows is that code's argv.
    Code,
    /// Takes a Python module to run (`python3 -m nxc …`): what follows is its argv.
    Module,
}

impl Kind {
    fn takes_value(self) -> bool {
        !matches!(self, Kind::Flag | Kind::AttachedSecret)
    }
}

/// What a program does with its operands (arguments that are not options).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Rest {
    /// Options may come anywhere; operands are left to the content rules.
    Args,
    /// Options, then a command: the first operand is its program (`sudo`, `nohup`).
    Command,
    /// Options, this many operands, then a command (`timeout DURATION`).
    CommandAfter(usize),
    /// Options, `NAME=value` assignments, then a command (`env`, `sudo`).
    Env,
    /// A shell: with `-c` the first operand is a command string, else a script to run.
    Shell,
    /// An interpreter: the first operand is the script, the program that matters.
    Script,
    /// `ssh`: the first operand is the destination; the rest is a remote command.
    Ssh,
    /// Impacket: a `[domain/]user[:password]@host` or `domain/user[:password]` target.
    Impacket,
    /// `smbclient`: the operand after the `//server/share` service is a password.
    SmbClient,
    /// FreeRDP: `/p:PASSWORD`, `/pth:HASH`, `/gp:PASSWORD`.
    FreeRdp,
}

/// How one program takes its arguments.
pub(super) struct Spec {
    /// Options by exact spelling (`-p`, `--password`, `-hashes`).
    opts: &'static [(&'static str, Kind)],
    /// Short option letters, other than those in `opts`, that take a non-secret value.
    values: &'static str,
    /// Whether short options group getopt-style (`curl -sku user:pass`); if not (argparse),
    /// only the first letter is looked at (`-pPASS`).
    clusters: bool,
    rest: Rest,
}

/// Long options whose separate next argument is secret for any program that does not say
/// otherwise.
const GENERIC_SECRETS: &[&str] = &[
    "--password",
    "--passwd",
    "--pass",
    "--secret",
    "--token",
    "--api-key",
    "--apikey",
    "--access-token",
    "--auth-token",
    "--client-secret",
];

pub(super) const fn spec(
    opts: &'static [(&'static str, Kind)],
    values: &'static str,
    rest: Rest,
) -> Spec {
    Spec {
        opts,
        values,
        clusters: true,
        rest,
    }
}

pub(super) const fn argparse(
    opts: &'static [(&'static str, Kind)],
    values: &'static str,
    rest: Rest,
) -> Spec {
    Spec {
        opts,
        values,
        clusters: false,
        rest,
    }
}

/// Redacts the command `args` (`args[0]` its program) at nesting depth `depth`.
pub(super) fn redact_command(args: &mut [String], depth: usize) -> usize {
    let spec = match args.first() {
        Some(program) if depth <= MAX_DEPTH => spec_for(program),
        Some(_) => &DEFAULT,
        None => return 0,
    };
    redact_with(spec, args, depth)
}

/// Walks `args[1..]` by `spec`, redacts, then applies the content rules to every argument but
/// `args[0]`, shell strings (already done word by word) and a sub-command's own arguments.
fn redact_with(spec: &Spec, args: &mut [String], depth: usize) -> usize {
    let mut count = 0;
    let mut shell_strings = Vec::new();
    // Where a sub-command starts, and its rules when not named by its own args[0].
    let mut sub: Option<(usize, Option<&'static Spec>)> = None;
    let mut operands = 0;
    let mut runs_string = false;
    let mut smb_service = false;
    let mut options_done = false;
    let mut i = 1;
    while i < args.len() {
        if !options_done && is_option(spec, &args[i]) {
            if args[i] == "--" {
                options_done = true;
                i += 1;
                continue;
            }
            runs_string |= spec.rest == Rest::Shell && has_c_flag(spec, &args[i]);
            let Some((kind, attached)) = lookup(spec, &args[i]) else {
                i += 1;
                continue;
            };
            let value = match attached {
                Some(at) => Some((i, at)),
                None if kind.takes_value() && i + 1 < args.len() => Some((i + 1, 0)),
                None => None,
            };
            let Some((j, at)) = value else {
                i += 1;
                continue;
            };
            let mut next = j + 1;
            match kind {
                Flag | Value => {}
                Secret | AttachedSecret => count += redact_tail(&mut args[j], at),
                Secrets => {
                    count += redact_tail(&mut args[j], at);
                    while attached.is_none() && next < args.len() && !args[next].starts_with('-') {
                        count += redact_tail(&mut args[next], 0);
                        next += 1;
                    }
                }
                UserSecret(sep) => {
                    if let Some(p) = args[j][at..].find(sep) {
                        count += redact_tail(&mut args[j], at + p + sep.len_utf8());
                    }
                }
                Header => count += redact_header(&mut args[j], at),
                Shell => {
                    count += redact_shell_at(&mut args[j], at, depth);
                    shell_strings.push(j);
                }
                Code => next = args.len(),
                Module => {
                    sub = Some((j, Some(spec_for(&module_program(&args[j][at..])))));
                    break;
                }
            }
            i = next;
            continue;
        }
        match spec.rest {
            Rest::Args => {}
            Rest::Impacket => {
                count += redact_impacket_target(&mut args[i], operands == 0);
                operands += 1;
            }
            Rest::FreeRdp => count += redact_freerdp(&mut args[i]),
            Rest::SmbClient => {
                if operands == 0 {
                    smb_service = ["//", "\\\\", "smb://"]
                        .iter()
                        .any(|p| args[i].starts_with(p));
                } else if operands == 1 && smb_service {
                    count += redact_tail(&mut args[i], 0);
                }
                operands += 1;
            }
            Rest::Env if is_assignment(&args[i]) => {}
            Rest::CommandAfter(n) if operands < n => operands += 1,
            Rest::Ssh if operands == 0 => operands += 1,
            Rest::Shell if runs_string => {
                // `sh -c STRING [$0 …]`: what follows STRING is its `$0`, `$1`, …
                count += redact_shell_at(&mut args[i], 0, depth);
                shell_strings.push(i);
                break;
            }
            Rest::Ssh if i + 1 == args.len() => {
                // `ssh HOST STRING`: the remote user's shell runs STRING.
                count += redact_shell_at(&mut args[i], 0, depth);
                shell_strings.push(i);
                break;
            }
            Rest::Command
            | Rest::CommandAfter(_)
            | Rest::Env
            | Rest::Shell
            | Rest::Script
            | Rest::Ssh => {
                sub = Some((i, None));
                break;
            }
        }
        i += 1;
    }
    let end = sub.map_or(args.len(), |(start, _)| start);
    for (j, arg) in args.iter_mut().enumerate().take(end).skip(1) {
        if !shell_strings.contains(&j) {
            count += redact_content(arg);
        }
    }
    if let Some((start, named)) = sub {
        let rest = &mut args[start..];
        count += match named {
            Some(spec) if depth < MAX_DEPTH => redact_with(spec, rest, depth + 1),
            Some(_) => redact_with(&DEFAULT, rest, depth + 1),
            None => redact_command(rest, depth + 1),
        };
    }
    count
}

fn is_option(spec: &Spec, arg: &str) -> bool {
    arg.len() > 1 && (arg.starts_with('-') || (spec.rest == Rest::Shell && arg.starts_with('+')))
}

/// The letters of a short-option group (`-abc`, `+o`) with their places, up to the first
/// character that is not an ASCII letter or digit or to where an NTLM pair starts. The content
/// rules only rewrite text past that point, so a group reads the same after redaction.
fn short_letters(arg: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let end = ntlm_start(arg).unwrap_or(arg.len());
    arg[..end]
        .char_indices()
        .skip(1)
        .take_while(|(_, c)| c.is_ascii_alphanumeric())
}

/// Whether a shell's short options `arg` include `-c` (`-c`, `-lc`, `-ec`).
fn has_c_flag(spec: &Spec, arg: &str) -> bool {
    arg.starts_with('-')
        && short_letters(arg)
            .map(|(_, c)| c)
            .take_while(|c| !spec.values.contains(*c))
            .any(|c| c == 'c')
}

/// The kind of the option `arg`, and where its value starts in `arg` if attached.
fn lookup(spec: &Spec, arg: &str) -> Option<(Kind, Option<usize>)> {
    let named = |name: &str| spec.opts.iter().find(|(n, _)| *n == name).map(|&(_, k)| k);
    if let Some(kind) = named(arg) {
        return Some((kind, None));
    }
    if let Some((name, _)) = arg.split_once('=')
        && name.len() > 2
        && let Some(kind) = named(name)
    {
        return Some((kind, Some(name.len() + 1)));
    }
    if arg.starts_with("--") {
        return GENERIC_SECRETS.contains(&arg).then_some((Secret, None));
    }
    for (at, c) in short_letters(arg) {
        let short = spec
            .opts
            .iter()
            .find(|(n, _)| n.len() == 2 && n.starts_with('-') && n.ends_with(c));
        let kind = short
            .map(|&(_, k)| k)
            .or_else(|| spec.values.contains(c).then_some(Value));
        match kind {
            Some(kind) if kind.takes_value() || kind == AttachedSecret => {
                let rest = at + 1;
                return Some((kind, (rest < arg.len()).then_some(rest)));
            }
            _ if !spec.clusters => return None,
            _ => {}
        }
    }
    None
}

/// `NAME=value` with a shell variable name.
pub(super) fn is_assignment(arg: &str) -> bool {
    arg.split_once('=').is_some_and(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}
