//! What a supplier order asks for: the quantity, the buyer's note (which
//! refuses hidden characters) and the signature of product, quantity and note.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::ids::check_identifier;
use super::{InvalidValue, ProductId, invalid};

/// How many units of a product one purchase asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    pub const MAX: i64 = 1_000;

    pub fn new(n: i64) -> Result<Self, InvalidValue> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Quantity(n))
        } else {
            Err(invalid(
                "quantity",
                format!("{n} is outside 1..={}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A character a person cannot see that would still reach the supplier
/// inside a note value: a player id pasted with a zero-width space, or a
/// direction mark that shows `123` while it holds `321`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Zero-width space, joiner, non-joiner, word joiner, byte-order mark.
    ZeroWidth(char),
    /// A bidirectional mark, embedding, override or isolate.
    Bidi(char),
}

impl Hidden {
    /// The first hidden character in `text`, if any.
    pub fn find(text: &str) -> Option<Hidden> {
        text.chars().find_map(|c| match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' => {
                Some(Hidden::ZeroWidth(c))
            }
            '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => Some(Hidden::Bidi(c)),
            _ => None,
        })
    }

    /// The character as `U+200B`, to name it without showing it.
    pub fn code(self) -> String {
        let (Hidden::ZeroWidth(c) | Hidden::Bidi(c)) = self;
        format!("U+{:04X}", u32::from(c))
    }
}

/// The buyer's data for a product (player id, account e-mail…), kept in a
/// canonical form so that equal notes compare and serialise equally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Note(BTreeMap<String, String>);

impl Note {
    const MAX_FIELDS: usize = 16;
    const MAX_VALUE: usize = 256;

    pub fn new(fields: BTreeMap<String, String>) -> Result<Self, InvalidValue> {
        if fields.len() > Self::MAX_FIELDS {
            return Err(invalid("note", "too many fields"));
        }
        let mut clean = BTreeMap::new();
        for (key, value) in fields {
            check_identifier("note field name", &key)?;
            let value = value.trim().to_owned();
            if value.is_empty() {
                return Err(invalid("note", format!("{key} is empty")));
            }
            if let Some(hidden) = Hidden::find(&value) {
                return Err(invalid(
                    "note",
                    format!("{key} holds an invisible character ({})", hidden.code()),
                ));
            }
            if value.chars().count() > Self::MAX_VALUE || value.chars().any(char::is_control) {
                return Err(invalid(
                    "note",
                    format!(
                        "{key} must be one line of at most {} characters",
                        Self::MAX_VALUE
                    ),
                ));
            }
            clean.insert(key, value);
        }
        Ok(Note(clean))
    }

    /// `k=v` pairs as typed on a command line.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Self, InvalidValue> {
        let mut fields = BTreeMap::new();
        for pair in pairs {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| invalid("note", format!("expected key=value, got {pair:?}")))?;
            if fields.insert(k.trim().to_owned(), v.to_owned()).is_some() {
                return Err(invalid("note", format!("{} given twice", k.trim())));
            }
        }
        Note::new(fields)
    }

    /// Reads a note back from the supplier, whose values may be numbers.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        let object = value.as_object()?;
        let mut fields = BTreeMap::new();
        for (k, v) in object {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            fields.insert(k.clone(), text);
        }
        Note::new(fields).ok()
    }

    pub fn parse_canonical(text: &str) -> Result<Self, InvalidValue> {
        let fields: BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|_| invalid("note", "stored note is not a JSON object of strings"))?;
        Note::new(fields)
    }

    pub fn canonical(&self) -> String {
        // A BTreeMap of strings always serialises; keys come out sorted.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The names in `required` that this note lacks.
    pub fn missing<'a>(&self, required: &'a [String]) -> Vec<&'a str> {
        required
            .iter()
            .filter(|name| !self.0.contains_key(name.as_str()))
            .map(String::as_str)
            .collect()
    }
}

/// What makes two supplier orders interchangeable: (item, quantity, note).
/// At most one create per signature may be unresolved at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature(String);

impl Signature {
    pub fn of(product: &ProductId, quantity: Quantity, note: &Note) -> Self {
        Signature(format!("{}|{}|{}", product, quantity, note.canonical()))
    }

    pub fn from_stored(text: String) -> Self {
        Signature(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_notes_give_equal_signatures_whatever_the_order() {
        let product = ProductId::parse("product_1").unwrap();
        let q = Quantity::new(2).unwrap();
        let a = Note::from_pairs(["zone=2", "player_id=77"]).unwrap();
        let b = Note::from_pairs(["player_id=77", "zone=2"]).unwrap();
        assert_eq!(
            Signature::of(&product, q, &a),
            Signature::of(&product, q, &b)
        );
        let c = Note::from_pairs(["player_id=78", "zone=2"]).unwrap();
        assert_ne!(
            Signature::of(&product, q, &a),
            Signature::of(&product, q, &c)
        );
    }

    #[test]
    fn notes_from_the_supplier_accept_numbers_and_refuse_nesting() {
        let n = Note::from_json(&serde_json::json!({"player_id": 77})).unwrap();
        assert_eq!(n, Note::from_pairs(["player_id=77"]).unwrap());
        assert!(Note::from_json(&serde_json::json!({"a": {"b": 1}})).is_none());
    }
}
