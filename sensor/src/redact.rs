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

/// Redacts secrets in `args` (argv, args[0] first) in place; returns how many values were
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

/// What an option does with its value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
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
enum Rest {
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
struct Spec {
    /// Options by exact spelling (`-p`, `--password`, `-hashes`).
    opts: &'static [(&'static str, Kind)],
    /// Short option letters, other than those in `opts`, that take a non-secret value.
    values: &'static str,
    /// Whether short options group getopt-style (`curl -sku user:pass`); if not (argparse),
    /// only the first letter is looked at (`-pPASS`).
    clusters: bool,
    rest: Rest,
}

use Kind::{AttachedSecret, Code, Flag, Header, Module, Secret, Secrets, Shell, UserSecret, Value};

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

const fn spec(opts: &'static [(&'static str, Kind)], values: &'static str, rest: Rest) -> Spec {
    Spec {
        opts,
        values,
        clusters: true,
        rest,
    }
}

const fn argparse(opts: &'static [(&'static str, Kind)], values: &'static str, rest: Rest) -> Spec {
    Spec {
        opts,
        values,
        clusters: false,
        rest,
    }
}

static DEFAULT: Spec = argparse(&[], "", Rest::Args);
static SSHPASS: Spec = spec(&[("-p", Secret)], "fdP", Rest::Command);
static IMPACKET: Spec = argparse(
    &[
        ("-hashes", Secret),
        ("-aesKey", Secret),
        ("-nthash", Secret),
        ("-newpass", Secret),
        ("-newhashes", Secret),
        ("-altpass", Secret),
        ("-althash", Secret),
        ("-computer-pass", Secret),
        ("-k", Flag),
        ("-no-pass", Flag),
        // Values that may hold `:`, `/` or `@` and must not be taken for the target.
        ("-spn", Value),
        ("-dc-ip", Value),
        ("-dc-host", Value),
        ("-target-ip", Value),
        ("-target", Value),
        ("-impersonate", Value),
        ("-just-dc-user", Value),
        ("-file", Value),
        ("-outputfile", Value),
        ("-t", Value),
        ("-tf", Value),
        ("-domain", Value),
        ("-delegate-from", Value),
        ("-delegate-to", Value),
        ("-principal", Value),
    ],
    "",
    Rest::Impacket,
);
static NETEXEC: Spec = argparse(
    &[
        ("-p", Secrets),
        ("--password", Secrets),
        ("-H", Secrets),
        ("--hash", Secrets),
        ("--aesKey", Secrets),
    ],
    "udMoxXt",
    Rest::Args,
);
static EVIL_WINRM: Spec = spec(
    &[
        ("-p", Secret),
        ("--password", Secret),
        ("-H", Secret),
        ("--hash", Secret),
    ],
    "icksePrUua",
    Rest::Args,
);
const SAMBA_OPTS: &[(&str, Kind)] = &[
    ("-U", UserSecret('%')),
    ("--user", UserSecret('%')),
    ("--password", Secret),
    ("--pw-nt-hash", Flag),
];
const SAMBA_VALUES: &str = "AWcIpsdnmOiDtLMRb";
static SAMBA: Spec = spec(SAMBA_OPTS, SAMBA_VALUES, Rest::Args);
static SMBCLIENT: Spec = spec(SAMBA_OPTS, SAMBA_VALUES, Rest::SmbClient);
static MYSQL: Spec = spec(
    &[("-p", AttachedSecret), ("--password", AttachedSecret)],
    "uhPDeS",
    Rest::Args,
);
static PSQL: Spec = spec(
    &[
        ("-W", Flag),
        ("--password", Flag),
        ("-w", Flag),
        ("--no-password", Flag),
    ],
    "hpUdcfovPTLFR",
    Rest::Args,
);
static CURL: Spec = spec(
    &[
        ("-u", UserSecret(':')),
        ("--user", UserSecret(':')),
        ("-U", UserSecret(':')),
        ("--proxy-user", UserSecret(':')),
        ("-E", UserSecret(':')),
        ("--cert", UserSecret(':')),
        ("--oauth2-bearer", Secret),
        ("-H", Header),
        ("--header", Header),
        ("--proxy-header", Header),
    ],
    "odXAebcxTFwmKrYyzCDPQt",
    Rest::Args,
);
static WGET: Spec = argparse(
    &[
        ("--password", Secret),
        ("--http-password", Secret),
        ("--ftp-password", Secret),
        ("--proxy-password", Secret),
        ("--header", Header),
    ],
    "",
    Rest::Args,
);
static SSH: Spec = spec(&[], "BbcDEeFIiJLlmOoPpQRSWw", Rest::Ssh);
static LDAP: Spec = spec(&[("-w", Secret)], "bDeEfHhloOpPRsSTUXyYz", Rest::Args);
static LDAPPASSWD: Spec = spec(
    &[("-w", Secret), ("-s", Secret), ("-a", Secret)],
    "DeEfHhoOpPRtTUXyY",
    Rest::Args,
);
static FREERDP: Spec = argparse(&[], "", Rest::FreeRdp);
static RDESKTOP: Spec = spec(&[("-p", Secret)], "udscnkgarTxo", Rest::Args);
/// Python Active Directory tools with Impacket-like options (`-p`, `-hashes`, `-aesKey`).
static AD_TOOL: Spec = argparse(
    &[
        ("-p", Secret),
        ("--password", Secret),
        ("-password", Secret),
        ("-hashes", Secret),
        ("--hashes", Secret),
        ("-aesKey", Secret),
        ("--aesKey", Secret),
    ],
    "ud",
    Rest::Args,
);
static BRUTE: Spec = spec(&[("-p", Secret)], "lLPCMostmWxUhHnOe", Rest::Args);
static USERADD: Spec = spec(
    &[("-p", Secret), ("--password", Secret)],
    "bcdefgGkKlsuUZ",
    Rest::Args,
);
static SEVEN_ZIP: Spec = argparse(&[("-p", AttachedSecret)], "", Rest::Args);
static ZIP: Spec = spec(
    &[("-P", Secret), ("--password", Secret)],
    "bdntOZ",
    Rest::Args,
);
static REDIS: Spec = argparse(&[("-a", Secret)], "hpnusri", Rest::Args);
static SU: Spec = spec(
    &[
        ("-c", Shell),
        ("--command", Shell),
        ("--session-command", Shell),
    ],
    "sgGw",
    Rest::Args,
);
static SHELL: Spec = spec(
    &[("--rcfile", Value), ("--init-file", Value)],
    "oO",
    Rest::Shell,
);
static PYTHON: Spec = spec(
    &[
        ("-c", Code),
        ("-m", Module),
        ("--check-hash-based-pycs", Value),
    ],
    "WXQ",
    Rest::Script,
);
static RUBY: Spec = spec(&[("-e", Code)], "ICErF", Rest::Script);
static PERL: Spec = spec(&[("-e", Code), ("-E", Code)], "IMm", Rest::Script);
static ENV: Spec = spec(
    &[
        ("--unset", Value),
        ("--chdir", Value),
        ("--split-string", Value),
    ],
    "uCS",
    Rest::Env,
);
static SUDO: Spec = spec(
    &[
        ("--user", Value),
        ("--group", Value),
        ("--chdir", Value),
        ("--chroot", Value),
        ("--prompt", Value),
        ("--close-from", Value),
        ("--role", Value),
        ("--type", Value),
        ("--command-timeout", Value),
        ("--other-user", Value),
        ("--host", Value),
    ],
    "CDgpRrTtUu",
    Rest::Env,
);
static DOAS: Spec = spec(&[], "uCa", Rest::Command);
static WRAPPER: Spec = spec(&[], "", Rest::Command);
static TIMEOUT: Spec = spec(
    &[("--kill-after", Value), ("--signal", Value)],
    "ks",
    Rest::CommandAfter(1),
);
static NICE: Spec = spec(&[("--adjustment", Value)], "n", Rest::Command);
static IONICE: Spec = spec(&[], "cnpPu", Rest::Command);
static STDBUF: Spec = spec(
    &[("--input", Value), ("--output", Value), ("--error", Value)],
    "ioe",
    Rest::Command,
);
static PROXYCHAINS: Spec = spec(&[], "f", Rest::Command);
static FAKETIME: Spec = spec(&[("--date-prog", Value)], "p", Rest::CommandAfter(1));
static TIME: Spec = spec(
    &[("--format", Value), ("--output", Value)],
    "fo",
    Rest::Command,
);
static CHROOT: Spec = spec(
    &[("--userspec", Value), ("--groups", Value)],
    "",
    Rest::CommandAfter(1),
);
static TASKSET: Spec = spec(&[], "", Rest::CommandAfter(1));

/// Impacket's example scripts (lower case), recognised with `.py` or an `impacket-` prefix.
#[rustfmt::skip]
const IMPACKET_SCRIPTS: &[&str] = &[
    "addcomputer", "atexec", "changepasswd", "dacledit", "dcomexec", "describeticket", "dpapi",
    "dumpntlminfo", "esentutl", "exchanger", "finddelegation", "get-gpppassword",
    "getadcomputers", "getadusers", "getarch", "getlapspassword", "getnpusers", "getpac",
    "getst", "gettgt", "getuserspns", "goldenpac", "karmasmb", "keylistattack", "lookupsid",
    "machine_role", "mimikatz", "mqtt_check", "mssqlclient", "mssqlinstance", "net", "netview",
    "ntfs-read", "ntlmrelayx", "owneredit", "ping", "ping6", "psexec", "raisechild", "rbcd",
    "rdp_check", "reg", "registry-read", "rpcdump", "rpcmap", "sambapipe", "samrdump",
    "secretsdump", "services", "smbclient", "smbexec", "smbpasswd", "smbrelayx", "smbserver",
    "sniff", "sniffer", "split", "ticketconverter", "ticketer", "tstool", "wmiexec",
    "wmipersist", "wmiquery",
];

/// Impacket script names that are also other programs: Impacket only with `.py`.
#[rustfmt::skip]
const AMBIGUOUS_SCRIPTS: &[&str] = &[
    "dpapi", "esentutl", "mimikatz", "net", "ping", "ping6", "reg", "services", "smbclient",
    "smbpasswd", "sniff", "sniffer", "split",
];

/// The rules for the program `program` (a path or a bare name).
fn spec_for(program: &str) -> &'static Spec {
    let base = program.rsplit('/').next().unwrap_or(program);
    let name = base.to_ascii_lowercase();
    if name.starts_with("impacket-") {
        return &IMPACKET;
    }
    match name.strip_suffix(".py") {
        Some(script) if IMPACKET_SCRIPTS.contains(&script) => return &IMPACKET,
        None if IMPACKET_SCRIPTS.contains(&name.as_str())
            && !AMBIGUOUS_SCRIPTS.contains(&name.as_str()) =>
        {
            return &IMPACKET;
        }
        _ => {}
    }
    let stem = [".py", ".rb", ".pl", ".sh"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name);
    let versioned = |prefix: &str| {
        stem.strip_prefix(prefix)
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    if versioned("python") || versioned("pypy") {
        return &PYTHON;
    }
    if versioned("ruby") {
        return &RUBY;
    }
    if versioned("perl") {
        return &PERL;
    }
    match stem {
        "sshpass" => &SSHPASS,
        "nxc" | "netexec" | "crackmapexec" | "cme" => &NETEXEC,
        "evil-winrm" => &EVIL_WINRM,
        "smbclient" | "pth-smbclient" => &SMBCLIENT,
        "rpcclient" | "pth-rpcclient" | "winexe" | "pth-winexe" | "net" | "pth-net"
        | "smbcacls" | "smbget" | "smbtree" => &SAMBA,
        "mysql" | "mariadb" | "mysqldump" | "mariadb-dump" | "mysqladmin" | "mariadb-admin" => {
            &MYSQL
        }
        "psql" | "pg_dump" | "pg_dumpall" | "pg_restore" | "pg_basebackup" => &PSQL,
        "curl" => &CURL,
        "wget" => &WGET,
        "ssh" => &SSH,
        "ldapsearch" | "ldapmodify" | "ldapadd" | "ldapdelete" | "ldapmodrdn" | "ldapwhoami"
        | "ldapcompare" | "ldapexop" => &LDAP,
        "ldappasswd" => &LDAPPASSWD,
        "xfreerdp" | "xfreerdp3" | "wlfreerdp" | "sdl-freerdp" | "sdl-freerdp3" => &FREERDP,
        "rdesktop" => &RDESKTOP,
        "smbmap"
        | "bloodhound-python"
        | "bloodhound-ce-python"
        | "bloodhound"
        | "bloodyad"
        | "certipy"
        | "certipy-ad"
        | "ldapdomaindump"
        | "enum4linux"
        | "enum4linux-ng" => &AD_TOOL,
        "hydra" | "medusa" => &BRUTE,
        "useradd" | "usermod" => &USERADD,
        "7z" | "7za" | "7zr" | "7zz" => &SEVEN_ZIP,
        "zip" | "unzip" | "zipcloak" => &ZIP,
        "redis-cli" => &REDIS,
        "su" => &SU,
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "rbash" | "fish" => &SHELL,
        "env" => &ENV,
        "sudo" => &SUDO,
        "doas" => &DOAS,
        "nohup" | "setsid" | "busybox" => &WRAPPER,
        "timeout" => &TIMEOUT,
        "nice" => &NICE,
        "ionice" => &IONICE,
        "stdbuf" => &STDBUF,
        "proxychains" | "proxychains4" => &PROXYCHAINS,
        "faketime" => &FAKETIME,
        "time" => &TIME,
        "chroot" => &CHROOT,
        "taskset" => &TASKSET,
        _ => &DEFAULT,
    }
}

/// Redacts the command `args` (`args[0]` its program) at nesting depth `depth`.
fn redact_command(args: &mut [String], depth: usize) -> usize {
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

/// The program a `python -m MODULE` runs: the module's last part, or `impacket-NAME`.
fn module_program(module: &str) -> String {
    let parts: Vec<&str> = module
        .split('.')
        .filter(|p| !p.is_empty() && *p != "__main__")
        .collect();
    let last = parts.last().copied().unwrap_or_default();
    if parts.contains(&"impacket") {
        format!("impacket-{last}")
    } else {
        last.to_owned()
    }
}

/// `NAME=value` with a shell variable name.
fn is_assignment(arg: &str) -> bool {
    arg.split_once('=').is_some_and(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
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

/// `Authorization: Bearer X` keeps its scheme; `Cookie:`, `X-Api-Key:` and the like lose all.
fn redact_header(arg: &mut String, at: usize) -> usize {
    let Some(colon) = arg[at..].find(':').map(|c| at + c) else {
        return 0;
    };
    let name = arg[at..colon].trim().to_ascii_lowercase();
    let authorization = matches!(name.as_str(), "authorization" | "proxy-authorization");
    let secret = matches!(
        name.as_str(),
        "cookie" | "x-api-key" | "x-auth-token" | "private-token"
    );
    if !authorization && !secret {
        return 0;
    }
    let rest = &arg[colon + 1..];
    let value = rest.trim_start();
    let mut start = arg.len() - value.len();
    if let Some((scheme, _)) = value.split_once(' ')
        && authorization
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphabetic())
    {
        start += scheme.len() + 1;
    }
    redact_tail(arg, start)
}

/// Impacket's target: `[domain/]user:password@host` (the password runs to the last `@`, as
/// Impacket's `parse_target` reads it) or `domain/user:password` (`parse_credentials`).
/// Only the `first` operand may hold whitespace: later ones are mostly commands
/// (`psexec.py TARGET 'cmd /c …'`), but an option this module does not know can push the
/// target past the first place.
fn redact_impacket_target(arg: &mut String, first: bool) -> usize {
    if !first && arg.chars().any(char::is_whitespace) {
        return 0;
    }
    let Some(colon) = arg.find(':') else {
        return 0;
    };
    if arg[colon + 1..].starts_with("//") {
        return 0;
    }
    let end = match arg.rfind('@') {
        Some(at) if at > colon => at,
        Some(_) => return 0,
        None => match arg[..colon].split_once('/') {
            Some((domain, user))
                if !domain.is_empty() && !user.is_empty() && !user.contains('/') =>
            {
                arg.len()
            }
            _ => return 0,
        },
    };
    redact_range(arg, colon + 1, end)
}

fn redact_freerdp(arg: &mut String) -> usize {
    ["/p:", "/pth:", "/gp:"]
        .iter()
        .find(|p| arg.starts_with(*p))
        .map_or(0, |p| redact_tail(arg, p.len()))
}

/// The content rules, for any argument of any program.
fn redact_content(arg: &mut String) -> usize {
    redact_urls(arg) + redact_key_values(arg) + redact_ntlm(arg)
}

/// `scheme://user:password@host`: the password, up to the authority's last `@`.
fn redact_urls(arg: &mut String) -> usize {
    let mut count = 0;
    let mut from = 0;
    while let Some(found) = arg.get(from..).and_then(|s| s.find("://")) {
        let start = from + found + 3;
        let has_scheme = arg[..start - 3].ends_with(|c: char| c.is_ascii_alphanumeric());
        let end = arg[start..]
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'') || c.is_whitespace())
            .map_or(arg.len(), |e| start + e);
        let tail = arg.len() - end;
        if has_scheme
            && let Some(at) = arg[start..end].rfind('@').map(|a| start + a)
            && let Some(colon) = arg[start..at].find(':')
        {
            count += redact_range(arg, start + colon + 1, at);
        }
        from = (arg.len() - tail).max(start);
    }
    count
}

/// Whether a key (`--db-password`, `PGPASSWORD`, `api_key`) names a secret.
fn is_secret_name(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let holds_secret = [
        "passw",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "nthash",
    ]
    .iter()
    .any(|word| key.contains(word))
        || (key.ends_with("pass") && !key.ends_with("bypass"))
        || (key.ends_with("pwd") && key != "pwd" && key != "oldpwd")
        || key == "pw";
    // `--password-file=PATH`, `--token-env=NAME`: where the secret is, not the secret.
    let names_a_place = ["file", "path", "fd", "env", "dir", "prompt"]
        .iter()
        .any(|word| key.ends_with(word));
    holds_secret && !names_a_place
}

/// `KEY=value` with a secret-named key: at the start of an argument (`--password=X`,
/// `PGPASSWORD=X`) the value runs to the end; embedded after a separator (`?token=X&`,
/// `user=u,password=X`, `host=h password=X`) it runs to the next one, or to the closing quote.
fn redact_key_values(arg: &mut String) -> usize {
    let is_key = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut count = 0;
    let mut from = 0;
    while let Some(found) = arg.get(from..).and_then(|s| s.find('=')) {
        let eq = from + found;
        let key_start = arg[..eq]
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_key(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let separated = key_start == 0
            || arg[..key_start].ends_with(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | '&' | '?' | '"' | '\'' | '(')
            });
        if !separated || !is_secret_name(&arg[key_start..eq]) {
            from = eq + 1;
            continue;
        }
        let value = eq + 1;
        let (start, end) = match arg[value..].chars().next() {
            _ if key_start == 0 => (value, arg.len()),
            Some(quote @ ('"' | '\'')) => {
                let start = value + 1;
                (
                    start,
                    arg[start..].find(quote).map_or(arg.len(), |e| start + e),
                )
            }
            _ => {
                let stop = |c: char| c.is_whitespace() || matches!(c, ',' | ';' | '&' | '"' | '\'');
                (
                    value,
                    arg[value..].find(stop).map_or(arg.len(), |e| value + e),
                )
            }
        };
        let tail = arg.len() - end;
        count += redact_range(arg, start, end);
        from = (arg.len() - tail).max(value);
    }
    count
}

/// An NTLM `LMHASH:NTHASH` pair (`[0-9a-fA-F]{32}:[0-9a-fA-F]{32}`) anywhere.
fn redact_ntlm(arg: &mut String) -> usize {
    let mut count = 0;
    let mut colon = 32;
    while colon < arg.len() {
        if is_ntlm_pair(arg.as_bytes(), colon) {
            arg.replace_range(colon - 32..colon + 33, REDACTED);
            count += 1;
            // The next pair's colon is at least 32 bytes past the placeholder.
            colon += REDACTED.len();
        } else {
            colon += 1;
        }
    }
    count
}

/// Where the first NTLM pair in `arg` starts: the first one [`redact_ntlm`] replaces.
fn ntlm_start(arg: &str) -> Option<usize> {
    let bytes = arg.as_bytes();
    (32..bytes.len())
        .find(|&colon| is_ntlm_pair(bytes, colon))
        .map(|colon| colon - 32)
}

/// Whether 32 hex digits, `bytes[colon] == b':'` and 32 hex digits meet at `colon`.
fn is_ntlm_pair(bytes: &[u8], colon: usize) -> bool {
    let hex32 = |run: Option<&[u8]>| run.is_some_and(|run| run.iter().all(u8::is_ascii_hexdigit));
    colon >= 32
        && bytes.get(colon) == Some(&b':')
        && hex32(bytes.get(colon - 32..colon))
        && hex32(bytes.get(colon + 1..colon + 33))
}

/// One word of a shell command string: where it is, what it means unquoted, which simple
/// command it belongs to.
struct Word {
    start: usize,
    end: usize,
    value: String,
    command: usize,
}

/// Characters that end a simple command in a shell string (`;`, `&&`, `|`, `$(…)`, backticks).
fn is_operator(c: char) -> bool {
    matches!(c, ';' | '&' | '|' | '(' | ')' | '`' | '\n')
}

/// Splits a shell command string into words, undoing quotes and backslashes. Good enough for
/// finding programs and options; expansions are left as written.
fn shell_words(script: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut command = 0;
    let mut current: Option<Word> = None;
    let mut chars = script.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if is_operator(c) || c.is_whitespace() {
            words.extend(current.take());
            command += usize::from(is_operator(c));
            continue;
        }
        let word = current.get_or_insert_with(|| Word {
            start: at,
            end: at,
            value: String::new(),
            command,
        });
        match c {
            '\'' => word
                .value
                .extend(chars.by_ref().map(|(_, q)| q).take_while(|&q| q != '\'')),
            '"' => {
                while let Some((_, q)) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            match chars.next_if(|&(_, e)| matches!(e, '"' | '\\' | '$' | '`')) {
                                Some((_, e)) => word.value.push(e),
                                None => word.value.push('\\'),
                            }
                        }
                        _ => word.value.push(q),
                    }
                }
            }
            '\\' => word.value.extend(chars.next().map(|(_, e)| e)),
            _ => word.value.push(c),
        }
        word.end = chars.peek().map_or(script.len(), |&(i, _)| i);
    }
    words.extend(current);
    words
}

/// `value` as one shell word that [`shell_words`] reads back unchanged.
fn shell_quote(value: &str) -> String {
    let plain = |c: char| !(c.is_whitespace() || is_operator(c) || matches!(c, '\'' | '"' | '\\'));
    if !value.is_empty() && value.chars().all(plain) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Redacts the shell command string that starts at `at` in `arg`.
fn redact_shell_at(arg: &mut String, at: usize, depth: usize) -> usize {
    let mut script = arg.split_off(at);
    let count = redact_shell(&mut script, depth);
    arg.push_str(&script);
    count
}

/// Redacts each simple command of a shell string as an argv, then writes back the words that
/// changed (quoted if needed).
fn redact_shell(script: &mut String, depth: usize) -> usize {
    if depth >= MAX_DEPTH {
        return redact_content(script);
    }
    let words = shell_words(script);
    let mut values: Vec<String> = words.iter().map(|w| w.value.clone()).collect();
    let mut count = 0;
    let mut first = 0;
    while first < words.len() {
        let command = words[first].command;
        let last = words[first..]
            .iter()
            .position(|w| w.command != command)
            .map_or(words.len(), |n| first + n);
        count += redact_simple_command(&mut values[first..last], depth + 1);
        first = last;
    }
    for (word, value) in words.iter().zip(&values).rev() {
        if *value != word.value {
            script.replace_range(word.start..word.end, &shell_quote(value));
        }
    }
    count
}

/// A shell's simple command: keywords and `NAME=value` assignments, then an argv.
fn redact_simple_command(words: &mut [String], depth: usize) -> usize {
    #[rustfmt::skip]
    const KEYWORDS: &[&str] = &[
        "{", "}", "!", "if", "then", "else", "elif", "do", "while", "until", "time", "exec",
        "command", "builtin", "coproc",
    ];
    let mut count = 0;
    let mut first = 0;
    while let Some(word) = words.get_mut(first) {
        if is_assignment(word) {
            count += redact_content(word);
        } else if !KEYWORDS.contains(&word.as_str()) {
            break;
        }
        first += 1;
    }
    count + redact_command(&mut words[first..], depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LM_NT: &str = "aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0";
    const NT: &str = "31d6cfe0d16ae931b73c59d7e0c089c0";

    fn owned(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    /// Real invocations (Impacket's, NetExec's, evil-winrm's and Samba's documented forms), what
    /// each must become, and how many values go.
    #[rustfmt::skip]
    const REDACTS: &[(&[&str], &[&str], usize)] = &[
        // sshpass
        (&["sshpass", "-p", "S3cr3t!", "ssh", "-p", "2222", "root@10.0.0.7"],
         &["sshpass", "-p", REDACTED, "ssh", "-p", "2222", "root@10.0.0.7"], 1),
        (&["/usr/bin/sshpass", "-pS3cr3t", "scp", "-P", "2222", "loot.tgz", "root@h:/tmp"],
         &["/usr/bin/sshpass", "-p<redacted>", "scp", "-P", "2222", "loot.tgz", "root@h:/tmp"], 1),
        // Impacket: targets, -hashes, -aesKey, through python3 and the Kali wrappers.
        (&["psexec.py", "CORP/Administrator:Passw0rd!@10.0.0.5"],
         &["psexec.py", "CORP/Administrator:<redacted>@10.0.0.5"], 1),
        (&["python3", "/usr/share/doc/python3-impacket/examples/smbexec.py", "corp.local/admin:P@ss:w0rd@10.0.0.5"],
         &["python3", "/usr/share/doc/python3-impacket/examples/smbexec.py", "corp.local/admin:<redacted>@10.0.0.5"], 1),
        (&["wmiexec.py", "-hashes", LM_NT, "Administrator@10.0.0.5", "whoami"],
         &["wmiexec.py", "-hashes", REDACTED, "Administrator@10.0.0.5", "whoami"], 1),
        (&["impacket-atexec", "-hashes", ":31d6cfe0d16ae931b73c59d7e0c089c0", "corp/admin@10.0.0.5", "whoami"],
         &["impacket-atexec", "-hashes", REDACTED, "corp/admin@10.0.0.5", "whoami"], 1),
        (&["dcomexec.py", "-object", "MMC20", "CORP/admin:Summer2024@10.0.0.5", "cmd.exe /c ipconfig"],
         &["dcomexec.py", "-object", "MMC20", "CORP/admin:<redacted>@10.0.0.5", "cmd.exe /c ipconfig"], 1),
        (&["secretsdump.py", "-just-dc-user", "CORP/krbtgt", "CORP/admin:Summer2024@dc01.corp.local"],
         &["secretsdump.py", "-just-dc-user", "CORP/krbtgt", "CORP/admin:<redacted>@dc01.corp.local"], 1),
        (&["getTGT.py", "-aesKey", "2d1db5ba3bb6a0e6a1b8b0a3b6c1e1d23b8f5e7e5d4f2a1c0b9e8d7c6b5a4f3e", "corp.local/svc_sql"],
         &["getTGT.py", "-aesKey", REDACTED, "corp.local/svc_sql"], 1),
        (&["GetUserSPNs.py", "-request", "-dc-ip", "10.0.0.1", "corp.local/jdoe:Winter2024"],
         &["GetUserSPNs.py", "-request", "-dc-ip", "10.0.0.1", "corp.local/jdoe:<redacted>"], 1),
        (&["impacket-getST", "-spn", "cifs/fs01.corp.local", "-impersonate", "Administrator", "-hashes=:31d6cfe0d16ae931b73c59d7e0c089c0", "corp.local/svc$"],
         &["impacket-getST", "-spn", "cifs/fs01.corp.local", "-impersonate", "Administrator", "-hashes=<redacted>", "corp.local/svc$"], 1),
        (&["python3", "-m", "impacket.examples.psexec", "corp/admin:pw@h"],
         &["python3", "-m", "impacket.examples.psexec", "corp/admin:<redacted>@h"], 1),
        // NetExec / CrackMapExec: several passwords after one -p.
        (&["nxc", "smb", "10.0.0.0/24", "-u", "administrator", "-p", "Passw0rd!", "Summer2024!", "--continue-on-success"],
         &["nxc", "smb", "10.0.0.0/24", "-u", "administrator", "-p", REDACTED, REDACTED, "--continue-on-success"], 2),
        (&["netexec", "winrm", "10.0.0.5", "-u", "admin", "-H", NT, "-x", "whoami"],
         &["netexec", "winrm", "10.0.0.5", "-u", "admin", "-H", REDACTED, "-x", "whoami"], 1),
        (&["crackmapexec", "smb", "10.0.0.5", "-u", "admin", "--password", "Passw0rd", "--local-auth"],
         &["crackmapexec", "smb", "10.0.0.5", "-u", "admin", "--password", REDACTED, "--local-auth"], 1),
        (&["python3", "-m", "nxc", "ldap", "dc01", "-u", "admin", "--hash", LM_NT, "-pPassw0rd"],
         &["python3", "-m", "nxc", "ldap", "dc01", "-u", "admin", "--hash", REDACTED, "-p<redacted>"], 2),
        (&["nxc", "smb", "dc01", "-u", "a", "-p", "pw", "-M", "add-computer", "-o", "NAME=BADPC", "PASSWORD=Passw0rd"],
         &["nxc", "smb", "dc01", "-u", "a", "-p", REDACTED, "-M", "add-computer", "-o", "NAME=BADPC", "PASSWORD=<redacted>"], 2),
        // evil-winrm, also as the Ruby script it is.
        (&["evil-winrm", "-i", "10.0.0.5", "-u", "Administrator", "-p", "Passw0rd!"],
         &["evil-winrm", "-i", "10.0.0.5", "-u", "Administrator", "-p", REDACTED], 1),
        (&["ruby", "/usr/bin/evil-winrm", "-i", "10.0.0.5", "-u", "admin", "-H", NT],
         &["ruby", "/usr/bin/evil-winrm", "-i", "10.0.0.5", "-u", "admin", "-H", REDACTED], 1),
        (&["evil-winrm", "--ip", "h", "--user", "admin", "--password=Passw0rd", "--hash", NT],
         &["evil-winrm", "--ip", "h", "--user", "admin", "--password=<redacted>", "--hash", REDACTED], 2),
        // Samba: user%password, --password, the legacy password operand, pth-*.
        (&["smbclient", "//10.0.0.5/C$", "-U", "CORP\\administrator%Passw0rd!"],
         &["smbclient", "//10.0.0.5/C$", "-U", "CORP\\administrator%<redacted>"], 1),
        (&["smbclient", "-U", "admin", "--pw-nt-hash", "--password=31d6cfe0d16ae931b73c59d7e0c089c0", "//10.0.0.5/C$"],
         &["smbclient", "-U", "admin", "--pw-nt-hash", "--password=<redacted>", "//10.0.0.5/C$"], 1),
        (&["smbclient", "//fs01/share", "Passw0rd", "-U", "jdoe", "-c", "get secrets.kdbx"],
         &["smbclient", "//fs01/share", REDACTED, "-U", "jdoe", "-c", "get secrets.kdbx"], 1),
        (&["rpcclient", "-U", "jdoe%Winter2024", "10.0.0.1", "-c", "enumdomusers"],
         &["rpcclient", "-U", "jdoe%<redacted>", "10.0.0.1", "-c", "enumdomusers"], 1),
        (&["winexe", "--user=CORP/admin%Passw0rd", "//10.0.0.5", "cmd.exe /c whoami"],
         &["winexe", "--user=CORP/admin%<redacted>", "//10.0.0.5", "cmd.exe /c whoami"], 1),
        (&["pth-winexe", "-NU", "admin%aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0", "//10.0.0.5", "cmd"],
         &["pth-winexe", "-NU", "admin%<redacted>", "//10.0.0.5", "cmd"], 1),
        // Databases.
        (&["mysql", "-u", "root", "-pS3cret", "-h", "db01"],
         &["mysql", "-u", "root", "-p<redacted>", "-h", "db01"], 1),
        (&["mysqldump", "--user=root", "--password=S3cret", "shop"],
         &["mysqldump", "--user=root", "--password=<redacted>", "shop"], 1),
        (&["psql", "postgres://app:S3cret@db01:5432/app"],
         &["psql", "postgres://app:<redacted>@db01:5432/app"], 1),
        (&["psql", "host=db01 user=app password=S3cret dbname=app"],
         &["psql", "host=db01 user=app password=<redacted> dbname=app"], 1),
        // HTTP clients.
        (&["curl", "-u", "admin:S3cret", "https://10.0.0.5/api"],
         &["curl", "-u", "admin:<redacted>", "https://10.0.0.5/api"], 1),
        (&["curl", "-sku", "admin:S3cret", "-H", "Authorization: Bearer eyJhbGciOi.x.y", "https://h/"],
         &["curl", "-sku", "admin:<redacted>", "-H", "Authorization: Bearer <redacted>", "https://h/"], 2),
        (&["wget", "--user=admin", "--password=S3cret", "https://h/f"],
         &["wget", "--user=admin", "--password=<redacted>", "https://h/f"], 1),
        (&["wget", "--http-password=S3cret", "--ftp-password", "S3cret", "ftp://h/f"],
         &["wget", "--http-password=<redacted>", "--ftp-password", REDACTED, "ftp://h/f"], 2),
        // Generic options, URLs, NTLM pairs.
        (&["deploy", "--password=a", "--passwd=b", "--pass=c", "--secret=d", "--token=e", "--api-key=f"],
         &["deploy", "--password=<redacted>", "--passwd=<redacted>", "--pass=<redacted>",
           "--secret=<redacted>", "--token=<redacted>", "--api-key=<redacted>"], 6),
        (&["vault", "login", "--token", "hvs.CAESIJ", "--password", "x"],
         &["vault", "login", "--token", REDACTED, "--password", REDACTED], 2),
        (&["git", "clone", "https://jdoe:ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/corp/repo.git"],
         &["git", "clone", "https://jdoe:<redacted>@github.com/corp/repo.git"], 1),
        (&["echo", "Administrator:500:aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0:::"],
         &["echo", "Administrator:500:<redacted>:::"], 1),
        (&["curl", "https://h/api?user=a&api_key=abc123&page=2"],
         &["curl", "https://h/api?user=a&api_key=<redacted>&page=2"], 1),
        (&["mount", "-t", "cifs", "-o", "vers=3.0,username=jdoe,password=Winter2024", "//fs01/c", "/mnt"],
         &["mount", "-t", "cifs", "-o", "vers=3.0,username=jdoe,password=<redacted>", "//fs01/c", "/mnt"], 1),
        // Wrappers, interpreters and shell strings.
        (&["sudo", "-u", "root", "-E", "sshpass", "-p", "pw", "ssh", "h"],
         &["sudo", "-u", "root", "-E", "sshpass", "-p", REDACTED, "ssh", "h"], 1),
        (&["env", "-i", "SSHPASS=S3cret", "LANG=C", "sshpass", "-e", "ssh", "h"],
         &["env", "-i", "SSHPASS=<redacted>", "LANG=C", "sshpass", "-e", "ssh", "h"], 1),
        (&["timeout", "-s", "KILL", "30", "nxc", "smb", "h", "-p", "pw"],
         &["timeout", "-s", "KILL", "30", "nxc", "smb", "h", "-p", REDACTED], 1),
        (&["proxychains4", "-q", "nohup", "impacket-wmiexec", "corp/admin:pw@10.0.0.5"],
         &["proxychains4", "-q", "nohup", "impacket-wmiexec", "corp/admin:<redacted>@10.0.0.5"], 1),
        (&["/usr/bin/env", "python3", "/root/.local/bin/psexec.py", "corp/admin:pw@h"],
         &["/usr/bin/env", "python3", "/root/.local/bin/psexec.py", "corp/admin:<redacted>@h"], 1),
        (&["/bin/sh", "/usr/bin/impacket-psexec", "corp/admin:pw@h"],
         &["/bin/sh", "/usr/bin/impacket-psexec", "corp/admin:<redacted>@h"], 1),
        (&["bash", "-c", "cd /tmp && sshpass -p 'S3 cr3t' ssh -p 2222 h uptime"],
         &["bash", "-c", "cd /tmp && sshpass -p <redacted> ssh -p 2222 h uptime"], 1),
        (&["sh", "-lc", "MYSQL_PWD=S3cret mysql -u root -e 'select 1'"],
         &["sh", "-lc", "MYSQL_PWD=<redacted> mysql -u root -e 'select 1'"], 1),
        (&["su", "-", "admin", "-c", "smbclient -U 'a b%Pass word' //h/s"],
         &["su", "-", "admin", "-c", "smbclient -U 'a b%<redacted>' //h/s"], 1),
        (&["ssh", "-p", "2222", "jump", "nxc smb 10.0.0.5 -u a -p 'Pw 1' 'Pw2'"],
         &["ssh", "-p", "2222", "jump", "nxc smb 10.0.0.5 -u a -p <redacted> <redacted>"], 2),
        (&["ssh", "jump", "sshpass", "-p", "pw", "ssh", "inner"],
         &["ssh", "jump", "sshpass", "-p", REDACTED, "ssh", "inner"], 1),
        // Other lateral-movement and credential tools.
        (&["ldapsearch", "-x", "-H", "ldap://dc01", "-D", "jdoe@corp.local", "-w", "Winter2024", "-b", "dc=corp,dc=local"],
         &["ldapsearch", "-x", "-H", "ldap://dc01", "-D", "jdoe@corp.local", "-w", REDACTED, "-b", "dc=corp,dc=local"], 1),
        (&["xfreerdp", "/v:10.0.0.5", "/u:admin", "/p:Passw0rd", "/pth:31d6cfe0d16ae931b73c59d7e0c089c0"],
         &["xfreerdp", "/v:10.0.0.5", "/u:admin", "/p:<redacted>", "/pth:<redacted>"], 2),
        (&["bloodhound-python", "-u", "jdoe", "-p", "Winter2024", "-d", "corp.local", "-c", "all"],
         &["bloodhound-python", "-u", "jdoe", "-p", REDACTED, "-d", "corp.local", "-c", "all"], 1),
        (&["useradd", "-m", "-p", "$6$salt$hash", "backdoor"],
         &["useradd", "-m", "-p", REDACTED, "backdoor"], 1),
        (&["7z", "a", "-pInfected", "-mhe=on", "loot.7z", "/etc/shadow"],
         &["7z", "a", "-p<redacted>", "-mhe=on", "loot.7z", "/etc/shadow"], 1),
        (&["hydra", "-l", "root", "-p", "toor", "ssh://10.0.0.5"],
         &["hydra", "-l", "root", "-p", REDACTED, "ssh://10.0.0.5"], 1),
    ];

    /// Arguments that look like the above but hold no secret.
    #[rustfmt::skip]
    const UNCHANGED: &[&[&str]] = &[
        &["ssh", "-p", "2222", "admin@10.0.0.5"],
        &["ssh", "-i", "id_ed25519", "-p", "22", "root@h", "ls -la /tmp"],
        &["scp", "-P", "2222", "loot.tgz", "root@h:/tmp"],
        &["grep", "-p", "pattern", "file"],
        &["ls", "-la", "/tmp"],
        &["tar", "-xpf", "a.tar"],
        &["curl", "https://example.com/index.html?page=2"],
        &["git", "clone", "https://github.com/fortra/impacket.git"],
        &["mysql", "-p", "appdb"],
        &["mysql", "--user=root", "--password", "appdb"],
        &["psql", "--password", "-U", "app", "appdb"],
        &["sshpass", "-f", "/root/.pw", "ssh", "h"],
        &["sshpass", "-e", "ssh", "h"],
        &["psexec.py", "-k", "-no-pass", "CORP/admin@dc01.corp.local"],
        &["getST.py", "-spn", "MSSQLSvc/sql01.corp.local:1433", "-k", "-no-pass", "corp.local/svc"],
        &["secretsdump.py", "-sam", "SAM", "-system", "SYSTEM", "LOCAL"],
        &["nxc", "smb", "10.0.0.0/24", "-u", "users.txt", "-M", "spider_plus", "--shares"],
        &["smbclient", "-L", "//fs01", "-N"],
        &["rpcclient", "-U", "", "-N", "10.0.0.1"],
        &["winexe", "-U", "CORP/admin", "//10.0.0.5", "cmd.exe /c whoami"],
        &["evil-winrm", "-i", "h", "-u", "admin", "-k", "key.pem", "-c", "cert.pem", "-S"],
        &["ldapsearch", "-x", "-s", "sub", "-b", "dc=corp,dc=local"],
        &["sudo", "-u", "postgres", "psql"],
        &["env", "LANG=C", "ls"],
        &["bash", "-c", "ls -la | grep -p x"],
        &["python3", "-c", "print('-p x')"],
        &["echo", "0123456789abcdef0123456789abcdef"],
        &["useradd", "-m", "bob"],
        &["pip", "install", "--password-file=/run/secrets/pw", "--require-hashes", "x"],
        &["sshpass", "-p", REDACTED, "ssh", "h"],
    ];

    #[test]
    fn redacts_each_known_secret() {
        for (input, expected, n) in REDACTS {
            let mut args = owned(input);
            let count = redact_args(&mut args);
            assert_eq!(args, owned(expected), "redacting {input:?}");
            assert_eq!(count, *n, "count for {input:?}");
        }
    }

    #[test]
    fn leaves_lookalikes_alone() {
        for input in UNCHANGED {
            let mut args = owned(input);
            assert_eq!(redact_args(&mut args), 0, "count for {input:?}");
            assert_eq!(args, owned(input));
        }
    }

    #[test]
    fn empty_argv_and_bare_program() {
        assert_eq!(redact_args(&mut []), 0);
        let mut args = owned(&["sshpass", "-p"]);
        assert_eq!(redact_args(&mut args), 0);
        assert_eq!(args, ["sshpass", "-p"]);
    }

    #[test]
    fn shell_strings_stay_parseable() {
        // A redacted word holding a space is written back quoted.
        let mut args = owned(&["bash", "-c", "psexec.py 'CORP/J Doe:P w@h' && id"]);
        assert_eq!(redact_args(&mut args), 1);
        assert_eq!(args[2], "psexec.py 'CORP/J Doe:<redacted>@h' && id");
        let words: Vec<String> = shell_words(&args[2]).into_iter().map(|w| w.value).collect();
        assert_eq!(words, ["psexec.py", "CORP/J Doe:<redacted>@h", "id"]);
    }

    /// `bash -c 'bash -c …'`, `levels` deep around an sshpass command.
    fn nested(levels: usize) -> Vec<String> {
        let mut script = String::from("sshpass -p pw ssh h");
        for _ in 1..levels {
            script = format!("bash -c {}", shell_quote(&script));
        }
        owned(&["bash", "-c", &script])
    }

    #[test]
    fn nesting_is_followed_then_bounded() {
        let mut args = nested(3);
        assert_eq!(redact_args(&mut args), 1);
        assert!(
            args[2].contains(REDACTED) && !args[2].contains(" pw "),
            "{args:?}"
        );
        // Past MAX_DEPTH only the content rules apply: no runaway recursion, still idempotent.
        let mut args = nested(MAX_DEPTH + 2);
        assert_eq!(redact_args(&mut args), 0);
        let mut again = args.clone();
        assert_eq!(redact_args(&mut again), 0);
        assert_eq!(again, args);
    }

    /// Inputs the fuzzer found where a first pass left something for a second one.
    #[test]
    fn fuzz_findings_settle_in_one_call() {
        let cases: &[&[&str]] = &[
            // A content rule rewrote letters of a shell's option group (`<redacted>` has a `c`).
            &[
                "sh",
                "-WWWW_PWD=0token&awi_kEy=sql",
                "host=d00 b00 epwd=app2",
            ],
            // Redacting `pass=@` removed the `@` that had hidden an Impacket target.
            &["psexec", ",pass=@'/u:x"],
        ];
        for input in cases {
            let mut once = owned(input);
            assert!(redact_args(&mut once) > 0, "{input:?}");
            let mut twice = once.clone();
            assert_eq!(redact_args(&mut twice), 0, "{input:?} -> {once:?}");
            assert_eq!(twice, once);
        }
    }

    /// xorshift64*: the property test needs no dependency and replays the same cases.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33;
            usize::try_from(x).unwrap_or_default() % n
        }
    }

    /// Pieces the arguments are built from: programs, options, separators, quotes, secrets.
    #[rustfmt::skip]
    const PIECES: &[&str] = &[
        "sshpass", "ssh", "nxc", "psexec.py", "impacket-smbexec", "smbclient", "mysql", "psql",
        "curl", "wget", "evil-winrm", "sudo", "env", "timeout", "python3", "bash", "sh", "su",
        "xfreerdp", "7z", "-p", "-pX", "-H", "-U", "-u", "-c", "-lc", "-m", "-e", "-hashes",
        "-k", "--", "-", "--password", "--password=", "--token", "-o", "/p:", "30", "x", "pw",
        "CORP/admin:pw@h", "dom/u:p", "u%p", "a:b", "//h/s", "http://u:p@h/", "://", "@", ":",
        "/", "%", "=", "PASSWORD=x", "MYSQL_PWD=", "?token=", "&", ",", ";", "|", "(", ")", "`",
        " ", "\t", "\n", "'", "\"", "\\", "<redacted>", "Authorization: Bearer t", LM_NT, NT,
        "é", "impacket.examples.psexec", "nxc.netexec", "a=b", "\"x y\"",
    ];

    #[test]
    fn redaction_keeps_argc_and_is_idempotent() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..30_000 {
            let argc = rng.below(9);
            let args: Vec<String> = (0..argc)
                .map(|_| {
                    (0..=rng.below(4))
                        .map(|_| PIECES[rng.below(PIECES.len())])
                        .collect()
                })
                .collect();
            let mut once = args.clone();
            let count = redact_args(&mut once);
            assert_eq!(once.len(), args.len());
            assert_eq!(once.first(), args.first(), "args[0] changed");
            assert_eq!(
                count == 0,
                once == args,
                "count {count} for {args:?} -> {once:?}"
            );
            for (before, after) in args.iter().zip(&once) {
                assert!(
                    before == after || after.contains(REDACTED),
                    "{before:?} -> {after:?}"
                );
            }
            let mut twice = once.clone();
            assert_eq!(
                redact_args(&mut twice),
                0,
                "second pass on {args:?} -> {once:?}"
            );
            assert_eq!(twice, once);
        }
    }
}
