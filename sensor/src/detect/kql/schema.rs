//! The fields a query may name, their types, and the small integer ids evaluation uses.

use std::collections::BTreeMap;
use std::fmt::{self, Display, Formatter};

/// The type of a field, which decides how query values are parsed and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Exact, case-sensitive string; the only type that takes `*` wildcards. Ranges compare
    /// strings by their UTF-8 bytes.
    Keyword,
    /// IPv4 or IPv6 address; query values may be an address or a CIDR network.
    Ip,
    /// Signed 64-bit integer (Elastic's `long`, `integer`, `short` and `byte`).
    Long,
    /// `true` or `false`.
    Boolean,
    /// A timestamp. Kept simple: string events compare as strings, so the caller must give
    /// one fixed RFC 3339 UTC format (lexical order is then time order); integer events (for
    /// example nanoseconds since the epoch) compare numerically with integer query values.
    Date,
}

impl FieldType {
    /// The Elastic mapping name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyword => "keyword",
            Self::Ip => "ip",
            Self::Long => "long",
            Self::Boolean => "boolean",
            Self::Date => "date",
        }
    }
}

impl Display for FieldType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies a field of a [`Schema`]: its index, in the order the fields were added. A
/// [`super::Document`] uses it to find the field's values without hashing its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId(usize);

impl FieldId {
    /// The field's index in its schema (0 for the first field added).
    pub fn index(self) -> usize {
        self.0
    }
}

/// One field of a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// Dotted path, as queries write it (`source.ip`).
    pub name: String,
    /// The type of every value of the field.
    pub ty: FieldType,
    /// True if a document may hold several values (an array such as `event.category`).
    /// Evaluation treats every field alike — a test matches if any value matches — so this
    /// is information for the [`super::Document`] implementation and for tooling.
    pub multi_valued: bool,
}

/// The fields queries may reference. Built once by the caller:
///
/// ```text
/// let schema = Schema::new()
///     .field("source.ip", FieldType::Ip)
///     .multi_field("event.category", FieldType::Keyword);
/// assert_eq!(schema.id("event.category").map(|id| id.index()), Some(1));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    fields: Vec<FieldDef>,
    by_name: BTreeMap<String, FieldId>,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a single-valued field (builder style). See [`Schema::add`].
    #[must_use]
    pub fn field(mut self, name: &str, ty: FieldType) -> Self {
        self.add(name, ty, false);
        self
    }

    /// Adds a multi-valued field (builder style). See [`Schema::add`].
    #[must_use]
    pub fn multi_field(mut self, name: &str, ty: FieldType) -> Self {
        self.add(name, ty, true);
        self
    }

    /// Adds a field and returns its id. Adding a name again replaces its type and flag and
    /// keeps its id.
    pub fn add(&mut self, name: &str, ty: FieldType, multi_valued: bool) -> FieldId {
        let def = FieldDef {
            name: name.to_owned(),
            ty,
            multi_valued,
        };
        if let Some(&id) = self.by_name.get(name) {
            self.fields[id.0] = def;
            return id;
        }
        let id = FieldId(self.fields.len());
        self.fields.push(def);
        self.by_name.insert(name.to_owned(), id);
        id
    }

    /// The id of a field, by its dotted path.
    pub fn id(&self, name: &str) -> Option<FieldId> {
        self.by_name.get(name).copied()
    }

    /// The definition of a field; `None` for an id from another schema that is out of range.
    pub fn get(&self, id: FieldId) -> Option<&FieldDef> {
        self.fields.get(id.0)
    }

    /// Every field, in id order.
    pub fn fields(&self) -> impl Iterator<Item = (FieldId, &FieldDef)> {
        self.fields
            .iter()
            .enumerate()
            .map(|(i, def)| (FieldId(i), def))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True if the schema has no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}
