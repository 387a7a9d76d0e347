//! The syntax tree of a parsed query, and its normalised text form.
//!
//! `Display` prints a canonical query: keywords in lower case, one space around `and`/`or`, no
//! space around `:`, one space around range operators, parentheses only where the tree needs
//! them, and every special character of an unquoted value escaped. Parsing that text gives back
//! an equal tree (the fuzz target checks this).

use std::collections::BTreeSet;
use std::fmt::{self, Display, Formatter, Write as _};

/// A parsed KQL query.
///
/// `Or` and `And` hold two or more operands, in source order; a parenthesised group of the same
/// operator stays a nested node, so that printing and parsing again gives an equal tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ast {
    /// `a or b or …`
    Or(Vec<Ast>),
    /// `a and b and …`
    And(Vec<Ast>),
    /// `not a`
    Not(Box<Ast>),
    /// `field:value` or `field:(value list)`.
    Match {
        /// Dotted field path, unescaped.
        field: String,
        /// The value, or the boolean expression of values.
        value: ValueExpr,
    },
    /// `field < value`, `field <= value`, `field > value`, `field >= value`.
    Range {
        /// Dotted field path, unescaped.
        field: String,
        /// The comparison.
        op: RangeOp,
        /// The bound; never contains a wildcard.
        value: Literal,
    },
}

/// The right-hand side of `field:…`: one value, or a boolean expression of values in
/// parentheses (`field:(a or b)`, `field:(a and not b)`), each tested against the same field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueExpr {
    /// `a or b or …`
    Or(Vec<ValueExpr>),
    /// `a and b and …`
    And(Vec<ValueExpr>),
    /// `not a`
    Not(Box<ValueExpr>),
    /// A single value.
    Literal(Literal),
}

/// One value as written in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// `"…"`: taken literally; a `*` inside quotes is a plain character.
    Quoted(String),
    /// An unquoted value: text with escapes resolved, and the positions of unescaped `*`
    /// wildcards. Never empty; never two `Wildcard`s in a row; never two `Text`s in a row.
    Unquoted(Vec<Part>),
}

/// A piece of an unquoted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (escapes already resolved).
    Text(String),
    /// An unescaped `*`: any run of characters, including none.
    Wildcard,
}

/// A range comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl RangeOp {
    /// The operator as written in a query.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

impl Ast {
    /// The distinct field paths the query references, sorted.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = BTreeSet::new();
        self.collect_fields(&mut out);
        out.into_iter().collect()
    }

    fn collect_fields<'a>(&'a self, out: &mut BTreeSet<&'a str>) {
        match self {
            Self::Or(nodes) | Self::And(nodes) => {
                nodes.iter().for_each(|n| n.collect_fields(out));
            }
            Self::Not(inner) => inner.collect_fields(out),
            Self::Match { field, .. } | Self::Range { field, .. } => {
                out.insert(field);
            }
        }
    }
}

impl Literal {
    /// True for an unquoted value made only of wildcards (`*`): the existence test.
    pub fn is_exists(&self) -> bool {
        matches!(self, Self::Unquoted(parts) if parts.iter().all(|p| *p == Part::Wildcard))
    }

    /// True if the value has an unescaped wildcard.
    pub fn has_wildcard(&self) -> bool {
        matches!(self, Self::Unquoted(parts) if parts.contains(&Part::Wildcard))
    }
}

/// Characters that end an unquoted word, besides whitespace.
pub(super) fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ':' | '<' | '>' | '"' | '{' | '}')
}

/// Characters a backslash may escape in an unquoted word.
pub(super) fn escapable(c: char) -> bool {
    ends_word(c) || matches!(c, '\\' | '*')
}

/// Writes unquoted text with every special character escaped.
fn write_escaped(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    for c in text.chars() {
        if escapable(c) {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    Ok(())
}

/// Precedence levels for deciding where `Display` needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Or,
    And,
    Not,
}

/// An operand needs parentheses when it binds no tighter than its parent operator; the only
/// exception is `not` under `not`, which reads fine as `not not a`.
fn needs_parens(child: Level, parent: Level) -> bool {
    if parent == Level::Not {
        child < parent
    } else {
        child <= parent
    }
}

impl Ast {
    fn level(&self) -> Level {
        match self {
            Self::Or(_) => Level::Or,
            Self::And(_) => Level::And,
            Self::Not(_) | Self::Match { .. } | Self::Range { .. } => Level::Not,
        }
    }

    /// Writes `self` as an operand of an operator of level `parent`.
    fn fmt_operand(&self, f: &mut Formatter<'_>, parent: Level) -> fmt::Result {
        if needs_parens(self.level(), parent) {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl ValueExpr {
    fn level(&self) -> Level {
        match self {
            Self::Or(_) => Level::Or,
            Self::And(_) => Level::And,
            Self::Not(_) | Self::Literal(_) => Level::Not,
        }
    }

    fn fmt_operand(&self, f: &mut Formatter<'_>, parent: Level) -> fmt::Result {
        if needs_parens(self.level(), parent) {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

/// Writes `items` joined by ` sep `, each as an operand of `level`.
fn join<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    sep: &str,
    level: Level,
    item: fn(&T, &mut Formatter<'_>, Level) -> fmt::Result,
) -> fmt::Result {
    for (i, node) in items.iter().enumerate() {
        if i > 0 {
            write!(f, " {sep} ")?;
        }
        item(node, f, level)?;
    }
    Ok(())
}

impl Display for Ast {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Or(nodes) => join(f, nodes, "or", Level::Or, Self::fmt_operand),
            Self::And(nodes) => join(f, nodes, "and", Level::And, Self::fmt_operand),
            Self::Not(inner) => {
                f.write_str("not ")?;
                inner.fmt_operand(f, Level::Not)
            }
            Self::Match { field, value } => {
                write_escaped(f, field)?;
                match value {
                    ValueExpr::Literal(lit) => write!(f, ":{lit}"),
                    list => write!(f, ":({list})"),
                }
            }
            Self::Range { field, op, value } => {
                write_escaped(f, field)?;
                write!(f, " {} {value}", op.as_str())
            }
        }
    }
}

impl Display for ValueExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Or(items) => join(f, items, "or", Level::Or, Self::fmt_operand),
            Self::And(items) => join(f, items, "and", Level::And, Self::fmt_operand),
            Self::Not(inner) => {
                f.write_str("not ")?;
                inner.fmt_operand(f, Level::Not)
            }
            Self::Literal(lit) => lit.fmt(f),
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Quoted(text) => {
                f.write_char('"')?;
                for c in text.chars() {
                    if matches!(c, '"' | '\\') {
                        f.write_char('\\')?;
                    }
                    f.write_char(c)?;
                }
                f.write_char('"')
            }
            Self::Unquoted(parts) => parts.iter().try_for_each(|part| match part {
                Part::Text(text) => write_escaped(f, text),
                Part::Wildcard => f.write_char('*'),
            }),
        }
    }
}

impl Display for RangeOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
