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
