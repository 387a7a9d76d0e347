//! A clean-room engine for the subset of Elastic's Kibana Query Language (KQL) that detection
//! rules use, written from Kibana's public documentation.
//!
//! # Pipeline
//!
//! `text` → lexer (tokens with 1-based columns) → [`parse`] ([`Ast`], or a
//! [`ParseError`] naming the column and what was expected) → [`Query::from_ast`] (resolves each
//! field in a caller-built [`Schema`], parses every value to its field's type: a
//! [`KqlError`] names the field and the value) → [`Query::matches`] on each event.
//!
//! # Evaluation design
//!
//! Compile once, evaluate per event without allocating:
//!
//! - The compiled query is a tree of `and` / `or` / `not` nodes over leaf tests. Each leaf
//!   holds a [`FieldId`] (the field's index in the schema, resolved at compile time: no string
//!   hashing per event) and a predicate whose operand is already parsed: a `Box<str>` for
//!   keywords, an `i64`, a network as a `(base, mask)` pair of `u128`, or a wildcard pattern
//!   pre-split at its `*`s (prefix, middle pieces, suffix; matched with `strip_prefix`,
//!   `strip_suffix` and leftmost `find`, no backtracking).
//! - The event is seen through [`Document`], which the caller implements on its own event
//!   type: `any_value(field, test)` runs `test` on the field's values (borrowed as [`Value`])
//!   until one passes. A single-valued field is simply a field with one value, so arrays
//!   (`event.category: ["process"]`) need nothing special: a leaf matches if ANY value does.
//! - `and` and `or` short-circuit. The only dynamic dispatch is one `&mut dyn FnMut` per leaf.
//!
//! # Syntax and semantics
//!
//! - `field:value`: keyword fields match exactly and case-sensitively; `"a b"` is a literal
//!   phrase (a `*` inside quotes is a plain character); an unquoted value may use `*`
//!   wildcards (keyword fields only), matched against the whole value. `field:*` tests that the
//!   field has any value, the empty string included.
//! - Unquoted values end at whitespace or one of `():<>"{}`; a backslash escapes whitespace
//!   and `\():<>"*{}`, and nothing else (so `C:\Windows` must be quoted as `"C:\\Windows"`).
//!   Inside quotes the only escapes are `\"` and `\\`.
//! - `and`, `or`, `not` in any case; precedence `not` > `and` > `or`; parentheses group.
//!   To match the word `and` itself, quote it.
//! - `field:(a or b)`, `field:(a and b)` (useful on multi-valued fields),
//!   `field:(a and not b)`: each value is a test on that field.
//! - `field < v`, `<=`, `>`, `>=`: integers numerically, IP addresses in address order,
//!   keywords and date strings lexically (UTF-8 bytes).
//! - IP fields take an address or a CIDR (`10.0.0.0/8`, `fc00::/7`). Like Elasticsearch,
//!   IPv4 lives inside IPv6 as IPv4-mapped addresses, so `::ffff:10.1.2.3` is in
//!   `10.0.0.0/8` and `10.1.2.3` is in `::ffff:10.0.0.0/104`.
//! - A field not in the schema, or a value its type cannot hold, is a compile-time error.
//!
//! # Deliberate differences from Kibana
//!
//! - No free-text search: a value without a field (`PSEXESVC.exe`) is an error asking for
//!   `field:value`, because a sensor's events have no "all fields" to search.
//! - Whitespace never joins values: `field:a b` is an error (Kibana reads it as a match query
//!   for `a b`, which on keyword fields behaves differently from the terms query its docs
//!   describe); quote the phrase or write `field:(a or b)`.
//! - An empty query is an error, not "match everything": a rule with no condition is a bug.
//! - Not supported: nested-field queries `{…}` (an error), wildcards in field names (an
//!   error), text fields and analyzers (every string field is a keyword), date math
//!   (`now-1d`).

mod ast;
mod compile;
mod error;
mod eval;
mod lexer;
mod parser;
mod schema;
mod value;

#[cfg(test)]
mod tests;

pub use self::ast::{Ast, Literal, Part, RangeOp, ValueExpr};
pub use self::compile::Query;
pub use self::error::{KqlError, ParseError, ParseErrorKind};
pub use self::parser::{MAX_DEPTH, parse};
pub use self::schema::{FieldDef, FieldId, FieldType, Schema};
pub use self::value::{Document, Value};
