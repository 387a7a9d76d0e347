//! Errors: `ParseError` for malformed text (with a 1-based column), `KqlError` for a query that
//! parses but does not fit the schema.

use super::schema::FieldType;

/// A malformed query. `column` is the 1-based character (not byte) position where parsing
/// stopped; the message says what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {kind}")]
pub struct ParseError {
    /// 1-based character offset into the query.
    pub column: usize,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub(super) fn new(column: usize, kind: ParseErrorKind) -> Self {
        Self { column, kind }
    }
}

/// What made a query malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// Nothing but whitespace.
    #[error("empty query: expected a `field:value` expression")]
    Empty,
    /// A `"` with no closing `"`.
    #[error("unterminated quoted string starting at column {start}: expected a closing `\"`")]
    UnterminatedString {
        /// Column of the opening quote.
        start: usize,
    },
    /// `\x` in an unquoted value where `x` is not a special character.
    #[error(
        "invalid escape `\\{ch}`: only whitespace and `\\():<>\"*{{}}` can be escaped in an \
         unquoted value"
    )]
    InvalidEscape {
        /// The character after the backslash.
        ch: char,
    },
    /// `\x` inside quotes where `x` is neither `"` nor `\`.
    #[error(
        "invalid escape `\\{ch}` in a quoted string: only `\\\"` and `\\\\` are escapes \
         (write `\\\\` for a backslash)"
    )]
    InvalidQuotedEscape {
        /// The character after the backslash.
        ch: char,
    },
    /// A backslash at the very end of the query.
    #[error("`\\` at the end of the query has nothing to escape")]
    DanglingEscape,
    /// `{` or `}` (KQL's nested-field syntax), unsupported here.
    #[error("`{ch}` is not supported (nested field queries); escape it as `\\{ch}` in a value")]
    ReservedChar {
        /// The character.
        ch: char,
    },
    /// An operator or parenthesis with no expression after it.
    #[error("expected a `field:value` expression after {after}, found {found}")]
    ExpectedExpression {
        /// What came before, as written (`` `and` ``, `` `(` `` …).
        after: &'static str,
        /// What was found instead.
        found: String,
    },
    /// `field:`, `field >=`, `(`, `or` … inside a value list with no value after it.
    #[error("expected a value after {after}, found {found}")]
    ExpectedValue {
        /// What came before, as written.
        after: &'static str,
        /// What was found instead.
        found: String,
    },
    /// A value with no field: free-text search, which the sensor does not support.
    #[error(
        "`{value}` has no field: free-text search is not supported, write `field:value` or \
         `field >= value`"
    )]
    FreeText {
        /// The value as written.
        value: String,
    },
    /// `"field":value`.
    #[error("field name {value} must not be quoted; escape special characters with `\\` instead")]
    QuotedField {
        /// The quoted name as written.
        value: String,
    },
    /// `field*:value`.
    #[error("wildcards in field names are not supported (`{field}`)")]
    WildcardField {
        /// The field as written.
        field: String,
    },
    /// `field > a*`.
    #[error("a range bound cannot contain a wildcard (`{value}`)")]
    WildcardInRange {
        /// The value as written.
        value: String,
    },
    /// An expression followed by something that is not `and`, `or`, `)` or the end.
    #[error("{}", expected_operator(*.closing, .found, .hint))]
    ExpectedOperator {
        /// Column of the `(` being closed, if inside parentheses.
        closing: Option<usize>,
        /// What was found instead.
        found: String,
        /// Extra advice for common mistakes, possibly empty.
        hint: &'static str,
    },
    /// A `)` with no `(` open.
    #[error("unbalanced `)`: no parenthesis is open")]
    UnexpectedCloseParen,
    /// The query ended inside parentheses.
    #[error("unbalanced parenthesis opened at column {opened}: expected `)`")]
    UnclosedParen {
        /// Column of the `(`.
        opened: usize,
    },
    /// Parentheses or `not` nested deeper than the parser accepts.
    #[error("query nested deeper than {limit} levels of parentheses and `not`")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
}

fn expected_operator(closing: Option<usize>, found: &str, hint: &str) -> String {
    match closing {
        None => format!("expected `and`, `or` or the end of the query, found {found}{hint}"),
        Some(col) => format!(
            "expected `and`, `or` or `)` closing the parenthesis opened at column {col}, \
             found {found}{hint}"
        ),
    }
}

/// A query that cannot be compiled: malformed, or not matching the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KqlError {
    /// The text is not a valid query.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The query names a field the schema does not have.
    #[error("unknown field `{field}`: it is not in the schema")]
    UnknownField {
        /// The field path.
        field: String,
    },
    /// A value that does not parse as the field's type.
    #[error("field `{field}` ({ty}): `{value}` is not {expected}")]
    InvalidValue {
        /// The field path.
        field: String,
        /// The field's type.
        ty: FieldType,
        /// The value as written in the query.
        value: String,
        /// What the type needs, e.g. "an IP address or CIDR".
        expected: &'static str,
    },
    /// A wildcard value on a field that is not a keyword.
    #[error("field `{field}` ({ty}): wildcard `{value}` is only supported on keyword fields")]
    WildcardNotSupported {
        /// The field path.
        field: String,
        /// The field's type.
        ty: FieldType,
        /// The value as written in the query.
        value: String,
    },
    /// A range on a field whose type has no order (boolean).
    #[error("field `{field}` ({ty}): range comparisons are not supported on {ty} fields")]
    RangeNotSupported {
        /// The field path.
        field: String,
        /// The field's type.
        ty: FieldType,
    },
}
