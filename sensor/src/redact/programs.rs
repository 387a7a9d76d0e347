//! The per-program rules: each program's options ([`Spec`]), the program named by `args[0]`
//! or by `python -m`, and the values only one program knows (Impacket's target, an HTTP
//! header, FreeRDP's `/p:`).

use super::argv::Kind::{
    AttachedSecret, Code, Flag, Header, Module, Secret, Secrets, Shell, UserSecret, Value,
};
use super::argv::{Kind, Rest, Spec, argparse, spec};
use super::{redact_range, redact_tail};

pub(super) static DEFAULT: Spec = argparse(&[], "", Rest::Args);
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
pub(super) fn spec_for(program: &str) -> &'static Spec {
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

/// The program a `python -m MODULE` runs: the module's last part, or `impacket-NAME`.
pub(super) fn module_program(module: &str) -> String {
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

/// `Authorization: Bearer X` keeps its scheme; `Cookie:`, `X-Api-Key:` and the like lose all.
pub(super) fn redact_header(arg: &mut String, at: usize) -> usize {
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
pub(super) fn redact_impacket_target(arg: &mut String, first: bool) -> usize {
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

pub(super) fn redact_freerdp(arg: &mut String) -> usize {
    ["/p:", "/pth:", "/gp:"]
        .iter()
        .find(|p| arg.starts_with(*p))
        .map_or(0, |p| redact_tail(arg, p.len()))
}
