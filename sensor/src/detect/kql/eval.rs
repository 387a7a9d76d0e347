//! The compiled form of a query and its evaluation.
//!
//! A [`Node`] tree mirrors the boolean structure of the query; each leaf is a field id and a
//! [`Pred`] whose operand was parsed once at compile time (an integer, an IP network as two
//! `u128`, a wildcard pattern split at its `*`s). Evaluation walks the tree with
//! short-circuit `and`/`or` and asks the [`Document`] whether any value of the leaf's field
//! satisfies the predicate. Nothing here allocates.

use std::cmp::Ordering;
use std::net::IpAddr;

use super::ast::{Part, RangeOp};
use super::schema::FieldId;
use super::value::{Document, Value};

/// A compiled boolean expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    /// True if some value of the field satisfies the predicate.
    Test(FieldId, Pred),
}

impl Node {
    pub(super) fn eval<D: Document + ?Sized>(&self, doc: &D) -> bool {
        match self {
            Self::And(nodes) => nodes.iter().all(|n| n.eval(doc)),
            Self::Or(nodes) => nodes.iter().any(|n| n.eval(doc)),
            Self::Not(inner) => !inner.eval(doc),
            Self::Test(field, pred) => doc.any_value(*field, &mut |value| pred.matches(value)),
        }
    }
}

/// A test on one value of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pred {
    /// `field:*`: any value at all.
    Exists,
    /// Equal to the operand.
    Eq(Scalar),
    /// Compares to the operand as `value OP operand`.
    Range(RangeOp, Scalar),
    /// An IP address inside the network.
    Net(Net),
    /// A boolean equal to the operand.
    Bool(bool),
    /// A string matching the pattern.
    Wildcard(Wildcard),
}

impl Pred {
    fn matches(&self, value: Value<'_>) -> bool {
        match self {
            Self::Exists => true,
            // Equality first compares lengths, so most mismatches cost no `memcmp`.
            Self::Eq(Scalar::Str(want)) => matches!(value, Value::Str(v) if v == &**want),
            Self::Eq(operand) => operand.compare(value) == Some(Ordering::Equal),
            Self::Range(op, operand) => operand.compare(value).is_some_and(|o| accepts(*op, o)),
            Self::Net(net) => ip_of(value).is_some_and(|ip| net.contains(ip)),
            Self::Bool(want) => bool_of(value) == Some(*want),
            Self::Wildcard(pattern) => matches!(value, Value::Str(s) if pattern.matches(s)),
        }
    }
}

/// True if `value OP operand`, given `value.cmp(operand)`.
fn accepts(op: RangeOp, ordering: Ordering) -> bool {
    match op {
        RangeOp::Lt => ordering == Ordering::Less,
        RangeOp::Le => ordering != Ordering::Greater,
        RangeOp::Gt => ordering == Ordering::Greater,
        RangeOp::Ge => ordering != Ordering::Less,
    }
}

/// A pre-parsed operand of an equality or range test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scalar {
    /// Keyword: compared as UTF-8 bytes.
    Str(Box<str>),
    /// Long.
    Int(i64),
    /// IP address, as its IPv6 (IPv4-mapped) number.
    Ip(u128),
    /// Date: the text, and its integer value if it is one.
    Date { text: Box<str>, int: Option<i64> },
}

impl Scalar {
    /// `value.cmp(self)`, or `None` if the value cannot be compared with the operand.
    fn compare(&self, value: Value<'_>) -> Option<Ordering> {
        match (self, value) {
            (Self::Str(s), Value::Str(v)) => Some(v.cmp(s)),
            (Self::Int(i), v) => int_of(v).map(|v| v.cmp(i)),
            (Self::Ip(ip), v) => ip_of(v).map(|v| v.cmp(ip)),
            (Self::Date { text, .. }, Value::Str(v)) => Some(v.cmp(text)),
            (Self::Date { int: Some(i), .. }, Value::Int(v)) => Some(v.cmp(i)),
            _ => None,
        }
    }
}

fn int_of(value: Value<'_>) -> Option<i64> {
    match value {
        Value::Int(i) => Some(i),
        Value::Str(s) => s.parse().ok(),
        Value::Ip(_) | Value::Bool(_) => None,
    }
}

fn ip_of(value: Value<'_>) -> Option<u128> {
    match value {
        Value::Ip(ip) => Some(ip_number(ip)),
        Value::Str(s) => s.parse().ok().map(ip_number),
        Value::Int(_) | Value::Bool(_) => None,
    }
}

fn bool_of(value: Value<'_>) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b),
        Value::Str("true") => Some(true),
        Value::Str("false") => Some(false),
        Value::Str(_) | Value::Ip(_) | Value::Int(_) => None,
    }
}

/// An address as one number in the IPv6 space, IPv4 as IPv4-mapped (`::ffff:a.b.c.d`), the
/// way Elasticsearch indexes `ip` fields: `10.1.2.3` and `::ffff:10.1.2.3` are the same
/// address, and a v4 network and its mapped v6 form contain the same addresses.
pub(super) fn ip_number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// A network in the IPv6 number space of [`ip_number`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Net {
    base: u128,
    mask: u128,
}

impl Net {
    /// The network of `ip`/`prefix` (bits past the prefix are ignored); `prefix` counts in
    /// the address's own family (at most 32 for IPv4, 128 for IPv6).
    pub(super) fn new(ip: IpAddr, prefix: u8) -> Self {
        let prefix = match ip {
            IpAddr::V4(_) => u32::from(prefix.min(32)) + 96,
            IpAddr::V6(_) => u32::from(prefix.min(128)),
        };
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        Self {
            base: ip_number(ip) & mask,
            mask,
        }
    }

    fn contains(self, ip: u128) -> bool {
        ip & self.mask == self.base
    }
}

/// A `*` pattern: the text before the first `*`, the pieces between `*`s, and the text after
/// the last `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Wildcard {
    prefix: Box<str>,
    middles: Box<[Box<str>]>,
    suffix: Box<str>,
}

impl Wildcard {
    /// Builds the pattern from the parts of an unquoted value with at least one wildcard.
    pub(super) fn new(parts: &[Part]) -> Self {
        let mut pieces = vec![String::new()];
        for part in parts {
            match part {
                Part::Text(text) => {
                    if let Some(last) = pieces.last_mut() {
                        last.push_str(text);
                    }
                }
                Part::Wildcard => pieces.push(String::new()),
            }
        }
        let suffix = if pieces.len() > 1 {
            pieces.pop().unwrap_or_default()
        } else {
            String::new()
        };
        let mut pieces = pieces.into_iter();
        let prefix = pieces.next().unwrap_or_default();
        Self {
            prefix: prefix.into(),
            middles: pieces.filter(|p| !p.is_empty()).map(Into::into).collect(),
            suffix: suffix.into(),
        }
    }

    /// True if the whole of `value` matches: the prefix at the start, the suffix at the end
    /// (not overlapping the prefix), and each middle piece in order in between. Taking the
    /// leftmost occurrence of each middle piece is optimal, so no backtracking is needed.
    pub(super) fn matches(&self, value: &str) -> bool {
        let (bytes, prefix, suffix) = (
            value.as_bytes(),
            self.prefix.as_bytes(),
            self.suffix.as_bytes(),
        );
        // Empty pieces are skipped rather than compared: a zero-length `memcmp` on an empty
        // `Box<str>` (a dangling pointer) measured 40 times slower than a short real one.
        if bytes.len() < prefix.len() + suffix.len()
            || !prefix.is_empty() && !bytes.starts_with(prefix)
            || !suffix.is_empty() && !bytes.ends_with(suffix)
        {
            return false;
        }
        // Both cuts fall on character boundaries: prefix and suffix are whole UTF-8 strings.
        let Some(mut rest) = value.get(prefix.len()..value.len() - suffix.len()) else {
            return false;
        };
        for piece in &self.middles {
            match rest.find(&**piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}
