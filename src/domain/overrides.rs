//! Per-language product names and descriptions (`CATALOG_OVERRIDES`): the
//! supplier's names are English, and a shop may word them for its buyers.
//! Parsed once at start from TOML; a lookup at each place a name is shown.
//!
//! ```toml
//! [product_steam_10]
//! name.hi = "स्टीम वॉलेट ₹1000"
//! description.hi = "Steam पर गेम ख़रीदने के लिए वॉलेट कोड"
//! ```

use std::collections::HashMap;

use super::{InvalidValue, Language, ProductId, invalid};

/// Texts kept from the file are at most these long (as the catalog's own).
const MAX_NAME: usize = 256;
const MAX_DESCRIPTION: usize = 4096;

/// Which text of a product a line overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Name,
    Description,
}

impl Field {
    fn parse(key: &str) -> Option<Field> {
        match key {
            "name" => Some(Field::Name),
            "description" => Some(Field::Description),
            _ => None,
        }
    }

    fn max(self) -> usize {
        match self {
            Field::Name => MAX_NAME,
            Field::Description => MAX_DESCRIPTION,
        }
    }
}

/// The shop's own words for products, per language. Empty when no file is
/// configured: every lookup then answers `None` (show the catalog's text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogOverrides {
    texts: HashMap<(ProductId, Field, Language), String>,
}

impl CatalogOverrides {
    /// Parses the file's text. A refusal names where in the file and what
    /// is wrong, on one line.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let doc = toml_edit::Document::parse(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text.get(..s.start).unwrap_or(text).matches('\n').count() + 1);
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            let message = e.message().lines().next().unwrap_or("").trim().to_owned();
            invalid(
                "catalog overrides",
                format!("{at}not valid TOML ({message})"),
            )
        })?;
        let mut texts = HashMap::new();
        for (product, item) in doc.as_table().iter() {
            let id = ProductId::parse(product)
                .map_err(|e| invalid("catalog overrides", format!("[{product}]: {}", e.problem)))?;
            let Some(fields) = item.as_table_like() else {
                return Err(at(
                    product,
                    "",
                    "expected a table of name.<language> and description.<language>",
                ));
            };
            for (key, value) in fields.iter() {
                let field = Field::parse(key).ok_or_else(|| {
                    at(product, key, "unknown key (expected name or description)")
                })?;
                let Some(langs) = value.as_table_like() else {
                    return Err(at(product, key, "expected <key>.<language> = \"text\""));
                };
                for (code, text) in langs.iter() {
                    let lang =
                        language(code).ok_or_else(|| at(product, key, &unknown_language(code)))?;
                    let text = checked_text(text.as_str(), field)
                        .map_err(|problem| at(product, &format!("{key}.{code}"), problem))?;
                    texts.insert((id.clone(), field, lang), text);
                }
            }
        }
        Ok(CatalogOverrides { texts })
    }

    /// The shop's name for `product` in `lang`, if it gave one.
    pub fn name(&self, product: &ProductId, lang: Language) -> Option<&str> {
        self.get(product, Field::Name, lang)
    }

    /// The shop's description of `product` in `lang`, if it gave one.
    pub fn description(&self, product: &ProductId, lang: Language) -> Option<&str> {
        self.get(product, Field::Description, lang)
    }

    /// How many texts the file gave.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    fn get(&self, product: &ProductId, field: Field, lang: Language) -> Option<&str> {
        self.texts
            .get(&(product.clone(), field, lang))
            .map(String::as_str)
    }
}

/// A language the bot speaks, by its code exactly ("hi", "en").
fn language(code: &str) -> Option<Language> {
    Language::ALL.into_iter().find(|l| l.code() == code)
}

fn unknown_language(code: &str) -> String {
    let known: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
    format!(
        "unknown language {code:?} (expected {})",
        known.join(" or ")
    )
}

/// A text as the buyer will read it: a non-empty string of printable
/// characters (a description may have line breaks), not over its length.
fn checked_text(text: Option<&str>, field: Field) -> Result<String, &'static str> {
    let text = text.ok_or("expected a quoted text")?.trim();
    if text.is_empty() {
        return Err("is empty");
    }
    if text.chars().count() > field.max() {
        return Err(match field {
            Field::Name => "is longer than 256 characters",
            Field::Description => "is longer than 4096 characters",
        });
    }
    let allowed = |c: char| !c.is_control() || (field == Field::Description && c == '\n');
    if !text.chars().all(allowed) {
        return Err("contains control characters");
    }
    Ok(text.to_owned())
}

fn at(product: &str, key: &str, problem: &str) -> InvalidValue {
    let key = if key.is_empty() {
        String::new()
    } else {
        format!(" {key}")
    };
    invalid("catalog overrides", format!("[{product}]{key}: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steam() -> ProductId {
        ProductId::parse("product_steam_10").unwrap()
    }

    #[test]
    fn a_buyer_reads_the_name_given_for_their_language_and_only_that() {
        let o = CatalogOverrides::parse(
            "[product_steam_10]\nname.hi = \"स्टीम वॉलेट\"\ndescription.hi = \"कोड\"\n\n\
             [\"other.id\"]\nname = { en = \"Other\" }\n",
        )
        .unwrap();
        assert_eq!(o.name(&steam(), Language::Hi), Some("स्टीम वॉलेट"));
        assert_eq!(o.description(&steam(), Language::Hi), Some("कोड"));
        assert_eq!(o.name(&steam(), Language::En), None);
        let other = ProductId::parse("other.id").unwrap();
        assert_eq!(o.name(&other, Language::En), Some("Other"));
        assert_eq!(o.len(), 3);
        assert!(CatalogOverrides::parse("").unwrap().is_empty());
    }

    #[test]
    fn a_malformed_file_is_refused_on_one_line_saying_where() {
        for (text, says) in [
            (
                "[product_steam_10\nname.hi = \"x\"",
                "line 1: not valid TOML",
            ),
            (
                "[p]\nname.fr = \"x\"",
                "[p] name: unknown language \"fr\" (expected en or hi)",
            ),
            ("[p]\ntitle.hi = \"x\"", "[p] title: unknown key"),
            ("[p]\nname.hi = 3", "[p] name.hi: expected a quoted text"),
            ("[p]\nname.hi = \"  \"", "[p] name.hi: is empty"),
            ("[p]\nname = \"x\"", "[p] name: expected <key>.<language>"),
            ("p = 1", "[p]: expected a table"),
            ("[\"a b\"]\nname.hi = \"x\"", "[a b]: only letters"),
            (
                "[p]\nname.hi = \"a\\u0007b\"",
                "[p] name.hi: contains control characters",
            ),
        ] {
            let err = CatalogOverrides::parse(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        let long = format!("[p]\nname.hi = \"{}\"", "x".repeat(257));
        assert!(CatalogOverrides::parse(&long).is_err());
        let lines = "[p]\ndescription.hi = \"\"\"one\ntwo\"\"\"";
        assert!(CatalogOverrides::parse(lines).is_ok());
    }
}
