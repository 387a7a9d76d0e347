//! What a query is evaluated against: the caller's event, seen through [`Document`].

use std::net::IpAddr;

use super::schema::FieldId;

/// One value of a field of an event, borrowed from the event.
///
/// Give each field the variant of its [`super::FieldType`]: `Str` for keyword and date, `Ip`
/// for ip, `Int` for long (and for date as an integer), `Bool` for boolean. As a convenience
/// `Str` is also accepted for ip, long and boolean fields and parsed at evaluation (without
/// allocating); a value that does not parse, or of any other mismatched variant, matches no
/// value test (it still counts for `field:*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value<'a> {
    /// A string (keyword, date).
    Str(&'a str),
    /// An IP address; IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) match IPv4 networks.
    Ip(IpAddr),
    /// An integer (long, date).
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// An event as a query sees it: for each field id, zero or more values.
///
/// Implement it on the event type itself (a `match` on the id, borrowing the event's own
/// storage) so that evaluation allocates nothing:
///
/// ```text
/// impl Document for AuthEvent {
///     fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
///         match field {
///             f if f == self.ids.source_ip => self.source_ip.is_some_and(|ip| test(Value::Ip(ip))),
///             f if f == self.ids.category => self.categories.iter().any(|c| test(Value::Str(c))),
///             _ => false,
///         }
///     }
/// }
/// ```
pub trait Document {
    /// Calls `test` on the values of `field`, in any order, and returns true as soon as one
    /// call returns true; returns false if none does or the field has no value. A missing
    /// field and an empty array are the same: no value.
    fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool;
}

impl<D: Document + ?Sized> Document for &D {
    fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        (**self).any_value(field, test)
    }
}
