//! Recursive-descent parser over the tokens of [`super::lexer`].
//!
//! ```text
//! query      = or_expr END
//! or_expr    = and_expr { "or" and_expr }
//! and_expr   = not_expr { "and" not_expr }
//! not_expr   = "not" not_expr | primary
//! primary    = "(" or_expr ")" | field ":" values | field range_op literal
//! values     = "(" value_or ")" | literal
//! value_or   = value_and { "or" value_and }
//! value_and  = value_not { "and" value_not }
//! value_not  = "not" value_not | "(" value_or ")" | literal
//! literal    = QUOTED | WORD
//! ```
//!
//! Keywords are case-insensitive. Nesting (parentheses and `not`) is limited to
//! [`MAX_DEPTH`] so that hostile input cannot overflow the stack.

use super::ast::{Ast, Literal, Part, RangeOp, ValueExpr};
use super::error::{ParseError, ParseErrorKind};
use super::lexer::{Token, TokenKind, tokenize};

/// Deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 64;

/// Parses a KQL query into its syntax tree.
pub fn parse(query: &str) -> Result<Ast, ParseError> {
    let mut parser = Parser {
        tokens: tokenize(query)?,
        pos: 0,
        depth: 0,
    };
    if parser.peek().kind == TokenKind::End {
        return Err(parser.error(ParseErrorKind::Empty));
    }
    let ast = parser.or_expr("the start of the query")?;
    match parser.peek().kind {
        TokenKind::End => Ok(ast),
        TokenKind::RParen => Err(parser.error(ParseErrorKind::UnexpectedCloseParen)),
        _ => Err(parser.expected_operator(None)),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, which is never consumed.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_next(&self) -> &TokenKind {
        &self.tokens[(self.pos + 1).min(self.tokens.len() - 1)].kind
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::End {
            self.pos += 1;
        }
        token
    }

    /// An error at the current token.
    fn error(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(self.peek().column, kind)
    }

    /// Enters one level of nesting at `column`.
    fn enter(&mut self, column: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                column,
                ParseErrorKind::TooDeep { limit: MAX_DEPTH },
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn or_expr(&mut self, after: &'static str) -> Result<Ast, ParseError> {
        let first = self.and_expr(after)?;
        let mut nodes = vec![first];
        while self.peek().kind == TokenKind::Or {
            self.bump();
            nodes.push(self.and_expr("`or`")?);
        }
        Ok(collapse(nodes, Ast::Or))
    }

    fn and_expr(&mut self, after: &'static str) -> Result<Ast, ParseError> {
        let first = self.not_expr(after)?;
        let mut nodes = vec![first];
        while self.peek().kind == TokenKind::And {
            self.bump();
            nodes.push(self.not_expr("`and`")?);
        }
        Ok(collapse(nodes, Ast::And))
    }

    fn not_expr(&mut self, after: &'static str) -> Result<Ast, ParseError> {
        if self.peek().kind != TokenKind::Not {
            return self.primary(after);
        }
        let not = self.bump();
        self.enter(not.column)?;
        let inner = self.not_expr("`not`")?;
        self.leave();
        Ok(Ast::Not(Box::new(inner)))
    }

    fn primary(&mut self, after: &'static str) -> Result<Ast, ParseError> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::LParen => {
                self.bump();
                self.enter(token.column)?;
                let inner = self.or_expr("`(`")?;
                self.close(token.column)?;
                self.leave();
                Ok(inner)
            }
            TokenKind::Word(parts) => {
                let field = field_name(&parts, token.column, self.peek_next())?;
                self.bump();
                match self.bump().kind {
                    TokenKind::Range(op) => {
                        let column = self.peek().column;
                        let value = self.literal(quoted_op(op))?;
                        if value.has_wildcard() {
                            let value = value.to_string();
                            return Err(ParseError::new(
                                column,
                                ParseErrorKind::WildcardInRange { value },
                            ));
                        }
                        Ok(Ast::Range { field, op, value })
                    }
                    _ => Ok(Ast::Match {
                        field,
                        value: self.values()?,
                    }),
                }
            }
            TokenKind::Quoted(_) => {
                let value = describe_value(&token.kind);
                Err(self.error(if *self.peek_next() == TokenKind::Colon {
                    ParseErrorKind::QuotedField { value }
                } else {
                    ParseErrorKind::FreeText { value }
                }))
            }
            kind => Err(self.error(ParseErrorKind::ExpectedExpression {
                after,
                found: describe(&kind),
            })),
        }
    }

    /// Expects the `)` closing the parenthesis opened at `opened`.
    fn close(&mut self, opened: usize) -> Result<(), ParseError> {
        match self.peek().kind {
            TokenKind::RParen => {
                self.bump();
                Ok(())
            }
            TokenKind::End => Err(self.error(ParseErrorKind::UnclosedParen { opened })),
            _ => Err(self.expected_operator(Some(opened))),
        }
    }

    fn expected_operator(&self, closing: Option<usize>) -> ParseError {
        let kind = &self.peek().kind;
        let hint = match kind {
            TokenKind::Word(_) | TokenKind::Quoted(_) => {
                " (quote a value that contains spaces, or join terms with `and` / `or`)"
            }
            TokenKind::Colon => " (escape a `:` inside a value as `\\:`, or quote the value)",
            TokenKind::Range(_) => " (escape `<` and `>` inside a value, or quote the value)",
            _ => "",
        };
        self.error(ParseErrorKind::ExpectedOperator {
            closing,
            found: describe(kind),
            hint,
        })
    }

    /// The right-hand side of `field:`.
    fn values(&mut self) -> Result<ValueExpr, ParseError> {
        let token = self.peek().clone();
        if token.kind != TokenKind::LParen {
            return Ok(ValueExpr::Literal(self.literal("`:`")?));
        }
        self.bump();
        self.enter(token.column)?;
        let list = self.value_or("`(`")?;
        self.close(token.column)?;
        self.leave();
        Ok(list)
    }

    fn value_or(&mut self, after: &'static str) -> Result<ValueExpr, ParseError> {
        let first = self.value_and(after)?;
        let mut items = vec![first];
        while self.peek().kind == TokenKind::Or {
            self.bump();
            items.push(self.value_and("`or`")?);
        }
        Ok(collapse(items, ValueExpr::Or))
    }

    fn value_and(&mut self, after: &'static str) -> Result<ValueExpr, ParseError> {
        let first = self.value_not(after)?;
        let mut items = vec![first];
        while self.peek().kind == TokenKind::And {
            self.bump();
            items.push(self.value_not("`and`")?);
        }
        Ok(collapse(items, ValueExpr::And))
    }

    fn value_not(&mut self, after: &'static str) -> Result<ValueExpr, ParseError> {
        let token = self.peek().clone();
        match token.kind {
            TokenKind::Not => {
                self.bump();
                self.enter(token.column)?;
                let inner = self.value_not("`not`")?;
                self.leave();
                Ok(ValueExpr::Not(Box::new(inner)))
            }
            TokenKind::LParen => {
                self.bump();
                self.enter(token.column)?;
                let inner = self.value_or("`(`")?;
                self.close(token.column)?;
                self.leave();
                Ok(inner)
            }
            _ => Ok(ValueExpr::Literal(self.literal(after)?)),
        }
    }

    /// A single value: a quoted string or an unquoted word.
    fn literal(&mut self, after: &'static str) -> Result<Literal, ParseError> {
        match &self.peek().kind {
            TokenKind::Quoted(text) => {
                let lit = Literal::Quoted(text.clone());
                self.bump();
                Ok(lit)
            }
            TokenKind::Word(parts) => {
                let lit = Literal::Unquoted(parts.clone());
                self.bump();
                Ok(lit)
            }
            kind => Err(self.error(ParseErrorKind::ExpectedValue {
                after,
                found: describe(kind),
            })),
        }
    }
}

/// Wraps two or more operands with `wrap`; returns a single operand as it is.
fn collapse<T>(mut items: Vec<T>, wrap: fn(Vec<T>) -> T) -> T {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    wrap(items)
}

/// Checks a word used as a field name; `next` is the token after it.
fn field_name(parts: &[Part], column: usize, next: &TokenKind) -> Result<String, ParseError> {
    let as_written = || Literal::Unquoted(parts.to_vec()).to_string();
    if !matches!(next, TokenKind::Colon | TokenKind::Range(_)) {
        let value = as_written();
        return Err(ParseError::new(column, ParseErrorKind::FreeText { value }));
    }
    match parts {
        [Part::Text(text)] => Ok(text.clone()),
        _ => {
            let field = as_written();
            Err(ParseError::new(
                column,
                ParseErrorKind::WildcardField { field },
            ))
        }
    }
}

/// How a range operator is quoted in "after …" messages.
fn quoted_op(op: RangeOp) -> &'static str {
    match op {
        RangeOp::Lt => "`<`",
        RangeOp::Le => "`<=`",
        RangeOp::Gt => "`>`",
        RangeOp::Ge => "`>=`",
    }
}

/// Describes a token for "found …" in messages.
fn describe(kind: &TokenKind) -> String {
    match kind {
        TokenKind::LParen => "`(`".into(),
        TokenKind::RParen => "`)`".into(),
        TokenKind::Colon => "`:`".into(),
        TokenKind::Range(op) => format!("`{op}`"),
        TokenKind::And => "keyword `and` (quote it to match the word: \"and\")".into(),
        TokenKind::Or => "keyword `or` (quote it to match the word: \"or\")".into(),
        TokenKind::Not => "keyword `not` (quote it to match the word: \"not\")".into(),
        TokenKind::Quoted(_) | TokenKind::Word(_) => format!("value `{}`", describe_value(kind)),
        TokenKind::End => "the end of the query".into(),
    }
}

/// A value token as written (normalised).
fn describe_value(kind: &TokenKind) -> String {
    match kind {
        TokenKind::Quoted(text) => Literal::Quoted(text.clone()).to_string(),
        TokenKind::Word(parts) => Literal::Unquoted(parts.clone()).to_string(),
        _ => String::new(),
    }
}
