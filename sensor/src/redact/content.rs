//! The content rules, for any argument of any program: URLs with credentials, secret-named
//! `KEY=value`, NTLM hash pairs.

use super::{REDACTED, redact_range};

/// The content rules, for any argument of any program.
pub(super) fn redact_content(arg: &mut String) -> usize {
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
pub(super) fn ntlm_start(arg: &str) -> Option<usize> {
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
