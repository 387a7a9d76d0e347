//! One line of `journalctl -o json`: a JSON object of the entry's fields. A value is a string;
//! an array of numbers for a value that is not text (its bytes); an array of those for a field
//! the entry holds more than once; or null for a value journalctl left out (over its size
//! limit without `--all`).
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The fields of one entry, repeated fields once per value, in the order of the line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct JsonEntry {
    pub fields: Vec<(String, Vec<u8>)>,
}

impl JsonEntry {
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|(name, value)| (name.as_bytes(), value.as_slice()))
    }
}

impl<'de> Deserialize<'de> for JsonEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = JsonEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a journal entry (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonEntry, A::Error> {
        let mut fields = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let Values(values) = map.next_value()?;
            fields.extend(values.into_iter().map(|v| (name.clone(), v)));
        }
        Ok(JsonEntry { fields })
    }
}

/// A field's values.
struct Values(Vec<Vec<u8>>);

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValuesVisitor)
    }
}

struct ValuesVisitor;

impl<'de> Visitor<'de> for ValuesVisitor {
    type Value = Values;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, an array of bytes, an array of values, or null")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Values, E> {
        Ok(Values(vec![v.as_bytes().to_vec()]))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Values, E> {
        Ok(Values(vec![v.into_bytes()]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Values, E> {
        Ok(Values(vec![v.to_string().into_bytes()]))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Values, E> {
        Ok(Values(vec![v.to_string().into_bytes()]))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Values, E> {
        Ok(Values(Vec::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Values, A::Error> {
        let (mut bytes, mut values) = (Vec::new(), Vec::new());
        while let Some(element) = seq.next_element::<Element>()? {
            match element {
                Element::Byte(b) => bytes.push(b),
                Element::Value(v) => values.push(v),
                Element::Null => {}
            }
        }
        match (bytes.is_empty(), values.is_empty()) {
            (true, _) => Ok(Values(values)),
            (false, true) => Ok(Values(vec![bytes])),
            (false, false) => Err(de::Error::custom("an array mixes bytes and values")),
        }
    }
}

/// An element of an array value: a byte of a binary value, or one of several values.
enum Element {
    Byte(u8),
    Value(Vec<u8>),
    Null,
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte (0-255), a string, an array of bytes, or null")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Element, E> {
        u8::try_from(v)
            .map(Element::Byte)
            .map_err(|_| E::custom(format!("{v} is not a byte")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Element, E> {
        u8::try_from(v)
            .map(Element::Byte)
            .map_err(|_| E::custom(format!("{v} is not a byte")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
        Ok(Element::Value(v.as_bytes().to_vec()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
        Ok(Element::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        let mut bytes = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        Ok(Element::Value(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<(String, String)> {
        let entry: JsonEntry = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
        entry
            .fields
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect()
    }

    #[test]
    fn strings_bytes_repeats_and_nulls() {
        let got =
            fields(r#"{"MESSAGE":[104,105,10],"_PID":"7","X":["a",[98],null],"BIG":null,"N":5}"#);
        let want = [
            ("MESSAGE", "hi\n"),
            ("_PID", "7"),
            ("X", "a"),
            ("X", "b"),
            ("N", "5"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn other_shapes_are_errors() {
        for line in [
            r#"[1,2]"#,
            r#"{"A":{"b":1}}"#,
            r#"{"A":[300]}"#,
            r#"{"A":[1,"x"]}"#,
            "{",
        ] {
            assert!(serde_json::from_str::<JsonEntry>(line).is_err(), "{line}");
        }
    }
}
