//! Shell command strings (`sh -c STRING`, `su -c STRING`, `ssh HOST STRING`): split into
//! words, redacted as argv, written back quoted.

use super::MAX_DEPTH;
use super::argv::{is_assignment, redact_command};
use super::content::redact_content;

/// One word of a shell command string: where it is, what it means unquoted, which simple
/// command it belongs to.
pub(super) struct Word {
    start: usize,
    end: usize,
    pub(super) value: String,
    command: usize,
}

/// Characters that end a simple command in a shell string (`;`, `&&`, `|`, `$(…)`, backticks).
fn is_operator(c: char) -> bool {
    matches!(c, ';' | '&' | '|' | '(' | ')' | '`' | '\n')
}

/// Splits a shell command string into words, undoing quotes and backslashes. Good enough for
/// finding programs and options; expansions are left as written.
pub(super) fn shell_words(script: &str) -> Vec<Word> {
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
pub(super) fn shell_quote(value: &str) -> String {
    let plain = |c: char| !(c.is_whitespace() || is_operator(c) || matches!(c, '\'' | '"' | '\\'));
    if !value.is_empty() && value.chars().all(plain) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Redacts the shell command string that starts at `at` in `arg`.
pub(super) fn redact_shell_at(arg: &mut String, at: usize, depth: usize) -> usize {
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
