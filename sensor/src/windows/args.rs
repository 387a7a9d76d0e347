//! Splitting a Windows command line into `process.args`, the two ways Winlogbeat's pipelines do.

/// Sysmon's pipeline: Windows' own rules (`CommandLineToArgvW`, with the "prior to 2008"
/// handling of `""` inside quotes), as ported to Painless in
/// `x-pack/winlogbeat/module/sysmon/ingest/sysmon.yml` ("Implements Windows-like
/// SplitCommandLine", after Go's `syscall` `readNextArg`/`commandLineToArgv`): spaces and tabs
/// outside quotes separate arguments; `2n` backslashes before a quote are `n` backslashes and
/// the quote toggles quoting, `2n+1` are `n` and a literal quote; other backslashes are
/// literal.
pub fn sysmon(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut rest = cmd;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return args;
        }
        let (arg, next) = next_arg(rest);
        args.push(arg);
        rest = next;
    }
}

/// One argument of `cmd` (which starts with a non-blank) and what follows it.
fn next_arg(cmd: &str) -> (String, &str) {
    let mut arg = String::new();
    let mut quoted = false;
    let mut slashes = 0usize;
    let mut chars = cmd.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' if !quoted => {
                push_slashes(&mut arg, slashes);
                return (arg, &cmd[i + 1..]);
            }
            '"' => {
                push_slashes(&mut arg, slashes / 2);
                if slashes.is_multiple_of(2) {
                    if quoted && chars.peek().is_some_and(|&(_, next)| next == '"') {
                        arg.push('"');
                        chars.next();
                    }
                    quoted = !quoted;
                } else {
                    arg.push('"');
                }
                slashes = 0;
            }
            '\\' => slashes += 1,
            c => {
                push_slashes(&mut arg, slashes);
                slashes = 0;
                arg.push(c);
            }
        }
    }
    push_slashes(&mut arg, slashes);
    (arg, "")
}

fn push_slashes(arg: &mut String, n: usize) {
    arg.extend(std::iter::repeat_n('\\', n));
}

/// The Security pipeline's split of event 4688's `CommandLine`
/// (`x-pack/winlogbeat/module/security/ingest/security_standard.yml`, "Process Event 4688"):
/// whitespace outside double quotes ends an argument, quotes are kept in the argument, and
/// every whitespace character ends one, so two spaces make an empty argument, as there.
pub fn security(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let last = cmd.char_indices().last().map(|(i, _)| i);
    for (i, c) in cmd.char_indices() {
        if c == '"' {
            quoted = !quoted;
        }
        let end = i + c.len_utf8();
        if c.is_whitespace() && !quoted {
            args.push(cmd[start..i].to_owned());
            start = end;
        }
        if Some(i) == last {
            args.push(cmd[start.min(end)..end].to_owned());
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysmon_splits_as_windows_does() {
        assert_eq!(
            sysmon(r#""C:\Program Files\x.exe" -a "b c" d"#),
            ["C:\\Program Files\\x.exe", "-a", "b c", "d"]
        );
        // 2n backslashes + quote: n backslashes, the quote toggles; 2n+1: n and a quote.
        assert_eq!(sysmon(r#"a\\"b c" d"#), [r"a\b c", "d"]);
        assert_eq!(sysmon(r#"a\"b c"#), [r#"a"b"#, "c"]);
        assert_eq!(
            sysmon(r"C:\Windows\PSEXESVC.exe"),
            [r"C:\Windows\PSEXESVC.exe"]
        );
        assert_eq!(sysmon(r#""a""b""#), [r#"a"b"#]);
        assert_eq!(sysmon("  \t "), Vec::<String>::new());
        assert_eq!(sysmon("a\\\\"), ["a\\\\"]);
    }

    #[test]
    fn security_keeps_quotes_and_empty_arguments() {
        assert_eq!(
            security(r#""C:\a b\x.exe" -c  y"#),
            [r#""C:\a b\x.exe""#, "-c", "", "y"]
        );
        assert_eq!(security("a "), ["a", ""]);
        assert_eq!(security("é b"), ["é", "b"]);
        assert_eq!(security(""), Vec::<String>::new());
    }
}
