//! Splits a query into tokens, each tagged with the 1-based character column where it starts.
//!
//! Whitespace separates tokens. `( ) :` and the range operators `< <= > >=` are tokens of their
//! own; `"…"` is a quoted value; any other run of characters is a word (a field name, a value,
//! or one of the keywords `and`, `or`, `not` in any case). Inside a word a backslash escapes
//! whitespace or one of `\():<>"*{}`, and an unescaped `*` is a wildcard.

use std::iter::Peekable;
use std::str::Chars;

use super::ast::{Part, RangeOp, ends_word, escapable};
use super::error::{ParseError, ParseErrorKind};

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenKind {
    LParen,
    RParen,
    Colon,
    Range(RangeOp),
    And,
    Or,
    Not,
    /// A quoted value, escapes resolved.
    Quoted(String),
    /// An unquoted word that is not a keyword.
    Word(Vec<Part>),
    /// End of the query (always the last token).
    End,
}

/// A token and the column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    pub(super) column: usize,
}

/// A character iterator that counts columns.
struct Cursor<'a> {
    chars: Peekable<Chars<'a>>,
    /// Column of the last character taken (0 before the first).
    column: usize,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    /// Takes the next character, with its column.
    fn bump(&mut self) -> Option<(usize, char)> {
        let c = self.chars.next()?;
        self.column += 1;
        Some((self.column, c))
    }

    /// Column of the next character (or of the end).
    fn next_column(&self) -> usize {
        self.column + 1
    }
}

/// Tokenises `query`; the result always ends with [`TokenKind::End`].
pub(super) fn tokenize(query: &str) -> Result<Vec<Token>, ParseError> {
    let mut cur = Cursor {
        chars: query.chars().peekable(),
        column: 0,
    };
    let mut tokens = Vec::new();
    while let Some(c) = cur.peek() {
        let column = cur.next_column();
        let kind = match c {
            c if c.is_whitespace() => {
                cur.bump();
                continue;
            }
            '(' | ')' | ':' => {
                cur.bump();
                match c {
                    '(' => TokenKind::LParen,
                    ')' => TokenKind::RParen,
                    _ => TokenKind::Colon,
                }
            }
            '<' | '>' => {
                cur.bump();
                let or_equal = cur.peek() == Some('=');
                if or_equal {
                    cur.bump();
                }
                TokenKind::Range(match (c, or_equal) {
                    ('<', false) => RangeOp::Lt,
                    ('<', true) => RangeOp::Le,
                    (_, false) => RangeOp::Gt,
                    (_, true) => RangeOp::Ge,
                })
            }
            '"' => quoted(&mut cur)?,
            '{' | '}' => {
                return Err(ParseError::new(
                    column,
                    ParseErrorKind::ReservedChar { ch: c },
                ));
            }
            _ => word(&mut cur)?,
        };
        tokens.push(Token { kind, column });
    }
    tokens.push(Token {
        kind: TokenKind::End,
        column: cur.next_column(),
    });
    Ok(tokens)
}

/// Reads `"…"`; the cursor is on the opening quote.
fn quoted(cur: &mut Cursor<'_>) -> Result<TokenKind, ParseError> {
    let start = cur.next_column();
    cur.bump();
    let mut text = String::new();
    let unterminated = |cur: &Cursor<'_>| {
        ParseError::new(
            cur.next_column(),
            ParseErrorKind::UnterminatedString { start },
        )
    };
    loop {
        match cur.bump() {
            None => return Err(unterminated(cur)),
            Some((_, '"')) => return Ok(TokenKind::Quoted(text)),
            Some((backslash, '\\')) => match cur.bump() {
                None => return Err(unterminated(cur)),
                Some((_, c @ ('"' | '\\'))) => text.push(c),
                Some((_, ch)) => {
                    return Err(ParseError::new(
                        backslash,
                        ParseErrorKind::InvalidQuotedEscape { ch },
                    ));
                }
            },
            Some((_, c)) => text.push(c),
        }
    }
}

/// Reads an unquoted word; the cursor is on its first character.
fn word(cur: &mut Cursor<'_>) -> Result<TokenKind, ParseError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    while let Some(c) = cur.peek().filter(|&c| !ends_word(c)) {
        let column = cur.next_column();
        cur.bump();
        match c {
            '*' => {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                if parts.last() != Some(&Part::Wildcard) {
                    parts.push(Part::Wildcard);
                }
            }
            '\\' => match cur.bump() {
                Some((_, e)) if escapable(e) => text.push(e),
                Some((_, ch)) => {
                    return Err(ParseError::new(
                        column,
                        ParseErrorKind::InvalidEscape { ch },
                    ));
                }
                None => return Err(ParseError::new(column, ParseErrorKind::DanglingEscape)),
            },
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    if let [Part::Text(t)] = parts.as_slice() {
        for (keyword, kind) in [
            ("and", TokenKind::And),
            ("or", TokenKind::Or),
            ("not", TokenKind::Not),
        ] {
            if t.eq_ignore_ascii_case(keyword) {
                return Ok(kind);
            }
        }
    }
    Ok(TokenKind::Word(parts))
}
