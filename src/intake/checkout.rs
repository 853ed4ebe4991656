//! The one check every way in makes: a request (product, quantity, note
//! fields) checked against the product as the shop knows it becomes an
//! [`Offer`], which the bot turns into an invoice (or, in demo mode, a
//! purchase) and `foxbot purchase` into a purchase row. Nothing is written
//! unless every check passes.

use std::time::Duration;

use crate::clock::Millis;
use crate::domain::{Hidden, Note, Quantity, Sale};
use crate::store::{CatalogProduct, NoteField, Unavailable};

/// Longest value a buyer may give for one note field.
pub const MAX_NOTE_VALUE: usize = 100;

/// A request that passed every check, priced.
#[derive(Debug, Clone)]
pub struct Offer {
    pub product: CatalogProduct,
    pub quantity: Quantity,
    pub note: Note,
    /// The invoice total in Stars.
    pub stars: i64,
}

impl Offer {
    /// What is sold, at the invoice total: a checkout offers it, and its
    /// payment records it.
    pub fn sale(&self) -> Sale {
        Sale {
            product_id: self.product.id.clone(),
            product_name: self.product.name.clone(),
            quantity: self.quantity,
            note: self.note.clone(),
            unit_price: self.product.wholesale,
            currency: self.product.currency.clone(),
            stars: self.stars,
        }
    }

    /// The purchase this offer becomes once paid outside Telegram (a
    /// manual order, a demo): no Stars, no charge.
    pub fn unpaid_purchase(
        &self,
        user: crate::domain::UserId,
        chat_id: i64,
        language: crate::domain::Language,
        source: crate::domain::PurchaseSource,
    ) -> crate::store::NewPurchase {
        crate::store::NewPurchase {
            client_ref: crate::domain::ClientRef::generate(),
            user_id: user,
            chat_id,
            language,
            sale: Sale {
                stars: 0,
                ..self.sale()
            },
            source,
            telegram_charge_id: None,
        }
    }
}

/// Why a request cannot be sold. Each says what to do instead. The bot
/// words them in the buyer's language (`bot::customer::explain`); this
/// text is `foxbot purchase`'s, after "cannot buy <product>: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("not for sale now ({0})")]
    Unavailable(Unavailable),
    #[error("it can be bought {min} to {max} at a time")]
    Quantity { min: i64, max: i64 },
    #[error("only {0} left in stock")]
    Stock(i64),
    #[error("it needs --note {0}=…")]
    MissingNote(String),
    #[error("it does not ask for --note {0}")]
    UnknownNote(String),
    #[error("--note {field} is not valid ({problem})")]
    BadNote { field: String, problem: NoteProblem },
    #[error("the total is too large")]
    TooLarge,
}

/// What is wrong with one note value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteProblem {
    #[error("empty")]
    Empty,
    #[error("longer than {MAX_NOTE_VALUE} characters")]
    TooLong,
    #[error("contains control characters")]
    Control,
    /// A character nobody can see (named by its code point, never shown).
    #[error("contains an invisible character ({})", .0.code())]
    Hidden(Hidden),
    #[error("must be one of: {}", .0.join(", "))]
    NotAnOption(Vec<String>),
    #[error("not an e-mail address")]
    NotEmail,
    #[error("not a number")]
    NotNumber,
}

/// Checks a buyer's value for one note field, by its declared type and
/// options; returns it trimmed.
pub fn note_value(field: &NoteField, raw: &str) -> Result<String, NoteProblem> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(NoteProblem::Empty);
    }
    if value.chars().count() > MAX_NOTE_VALUE {
        return Err(NoteProblem::TooLong);
    }
    if value.chars().any(char::is_control) {
        return Err(NoteProblem::Control);
    }
    if let Some(hidden) = Hidden::find(value) {
        return Err(NoteProblem::Hidden(hidden));
    }
    if !field.options.is_empty() {
        return match field.options.iter().find(|o| o.eq_ignore_ascii_case(value)) {
            Some(option) => Ok(option.clone()),
            None => Err(NoteProblem::NotAnOption(field.options.clone())),
        };
    }
    match field.kind.to_ascii_lowercase().as_str() {
        "email" | "e-mail" => {
            let ok = value.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.contains(char::is_whitespace)
            });
            if ok {
                Ok(value.to_owned())
            } else {
                Err(NoteProblem::NotEmail)
            }
        }
        "number" | "integer" | "int" | "numeric" => {
            if value.chars().all(|c| c.is_ascii_digit()) {
                Ok(value.to_owned())
            } else {
                Err(NoteProblem::NotNumber)
            }
        }
        _ => Ok(value.to_owned()),
    }
}

/// Checks a request against `product` at `now`: sellable (listed, fresh,
/// priced, in stock), the quantity within its limits and stock, exactly
/// the note fields it asks for, each valid.
pub fn check(
    product: &CatalogProduct,
    quantity: i64,
    note: &Note,
    now: Millis,
    max_age: Duration,
) -> Result<Offer, IntakeError> {
    product
        .sellable(now, max_age)
        .map_err(IntakeError::Unavailable)?;
    let min = product.min_qty.max(1);
    let max = product.max_qty.unwrap_or(Quantity::MAX).min(Quantity::MAX);
    if quantity < min || quantity > max {
        return Err(IntakeError::Quantity { min, max });
    }
    if let Some(stock) = product.stock
        && quantity > stock
    {
        return Err(IntakeError::Stock(stock));
    }
    let mut values = std::collections::BTreeMap::new();
    for field in &product.note_fields {
        let Some(value) = note.fields().get(&field.name) else {
            return Err(IntakeError::MissingNote(field.name.clone()));
        };
        let value = note_value(field, value).map_err(|problem| IntakeError::BadNote {
            field: field.name.clone(),
            problem,
        })?;
        values.insert(field.name.clone(), value);
    }
    if let Some(extra) = note
        .fields()
        .keys()
        .find(|k| !product.note_fields.iter().any(|f| &f.name == *k))
    {
        return Err(IntakeError::UnknownNote(extra.clone()));
    }
    let unit = product
        .stars
        .ok_or(IntakeError::Unavailable(Unavailable::NoPrice))?;
    let stars = unit
        .get()
        .checked_mul(quantity)
        .filter(|s| *s <= crate::domain::Stars::MAX)
        .ok_or(IntakeError::TooLarge)?;
    // The values as checked (an option in the supplier's spelling) are the
    // ones the supplier gets. Every name and value was just checked, so
    // this cannot fail; if it did, the note as given is still valid.
    let note = Note::new(values).unwrap_or_else(|_| note.clone());
    Ok(Offer {
        product: product.clone(),
        quantity: Quantity::new(quantity).map_err(|_| IntakeError::Quantity { min, max })?,
        note,
        stars,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Money, ProductId, Stars};
    use std::collections::BTreeMap;

    const HOUR: Duration = Duration::from_secs(3600);

    fn product() -> CatalogProduct {
        CatalogProduct {
            id: ProductId::parse("product_ff_100").unwrap(),
            name: "Free Fire 100".to_owned(),
            description: None,
            category: None,
            wholesale: Some(Money::parse("1.05").unwrap()),
            currency: "USD".to_owned(),
            stars: Some(Stars::new(98).unwrap()),
            stock: Some(5),
            min_qty: 1,
            max_qty: Some(10),
            note_fields: vec![
                NoteField {
                    name: "player_id".to_owned(),
                    kind: "string".to_owned(),
                    options: vec![],
                },
                NoteField {
                    name: "server".to_owned(),
                    kind: "select".to_owned(),
                    options: vec!["sg".to_owned(), "in".to_owned()],
                },
            ],
            active: true,
            synced_ok: true,
            refreshed_at: 1_000,
        }
    }

    fn note(pairs: &[(&str, &str)]) -> Note {
        Note::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        )
        .unwrap()
    }

    #[test]
    fn a_valid_request_is_priced_exactly() {
        let offer = check(
            &product(),
            3,
            &note(&[("player_id", "51"), ("server", "in")]),
            2_000,
            HOUR,
        )
        .unwrap();
        assert_eq!(offer.stars, 294);
        assert_eq!(offer.quantity.get(), 3);
    }

    #[test]
    fn the_offer_carries_the_note_as_checked() {
        let offer = check(
            &product(),
            1,
            &note(&[("player_id", " 51 "), ("server", "IN")]),
            2_000,
            HOUR,
        )
        .unwrap();
        assert_eq!(offer.note, note(&[("player_id", "51"), ("server", "in")]));
    }

    #[test]
    fn every_bad_request_says_why() {
        let ok = note(&[("player_id", "51"), ("server", "in")]);
        let p = product();
        assert_eq!(
            check(&p, 0, &ok, 2_000, HOUR).unwrap_err(),
            IntakeError::Quantity { min: 1, max: 10 }
        );
        assert_eq!(
            check(&p, 6, &ok, 2_000, HOUR).unwrap_err(),
            IntakeError::Stock(5)
        );
        assert_eq!(
            check(&p, 1, &note(&[("server", "in")]), 2_000, HOUR).unwrap_err(),
            IntakeError::MissingNote("player_id".to_owned())
        );
        assert!(matches!(
            check(
                &p,
                1,
                &note(&[("player_id", "5"), ("server", "eu")]),
                2_000,
                HOUR
            ),
            Err(IntakeError::BadNote { .. })
        ));
        assert_eq!(
            check(
                &p,
                1,
                &note(&[("player_id", "5"), ("server", "in"), ("zone", "x")]),
                2_000,
                HOUR
            )
            .unwrap_err(),
            IntakeError::UnknownNote("zone".to_owned())
        );
        // Old rows are never sold.
        assert_eq!(
            check(&p, 1, &ok, 1_000 + 2 * 3_600_000, HOUR).unwrap_err(),
            IntakeError::Unavailable(Unavailable::Stale)
        );
    }

    #[test]
    fn every_refusal_reads_well_after_cannot_buy() {
        let texts = [
            IntakeError::Unavailable(Unavailable::NoPrice).to_string(),
            IntakeError::Quantity { min: 1, max: 10 }.to_string(),
            IntakeError::Stock(5).to_string(),
            IntakeError::MissingNote("player_id".to_owned()).to_string(),
            IntakeError::UnknownNote("zone".to_owned()).to_string(),
            IntakeError::BadNote {
                field: "server".to_owned(),
                problem: NoteProblem::NotAnOption(vec!["sg".to_owned(), "in".to_owned()]),
            }
            .to_string(),
            IntakeError::TooLarge.to_string(),
        ];
        assert_eq!(
            texts,
            [
                "not for sale now (no price)",
                "it can be bought 1 to 10 at a time",
                "only 5 left in stock",
                "it needs --note player_id=…",
                "it does not ask for --note zone",
                "--note server is not valid (must be one of: sg, in)",
                "the total is too large",
            ]
        );
    }

    #[test]
    fn note_values_are_checked_by_type() {
        let field = |kind: &str| NoteField {
            name: "f".to_owned(),
            kind: kind.to_owned(),
            options: vec![],
        };
        assert_eq!(note_value(&field("string"), "  abc "), Ok("abc".to_owned()));
        assert_eq!(note_value(&field("string"), "   "), Err(NoteProblem::Empty));
        assert_eq!(
            note_value(&field("string"), &"x".repeat(101)),
            Err(NoteProblem::TooLong)
        );
        assert_eq!(
            note_value(&field("string"), "a\u{0}b"),
            Err(NoteProblem::Control)
        );
        assert_eq!(
            note_value(&field("string"), "51\u{200B}23"),
            Err(NoteProblem::Hidden(Hidden::ZeroWidth('\u{200B}')))
        );
        assert_eq!(
            note_value(&field("number"), "\u{202E}321"),
            Err(NoteProblem::Hidden(Hidden::Bidi('\u{202E}')))
        );
        assert_eq!(
            note_value(&field("string"), "\u{2067}5123\u{2069}"),
            Err(NoteProblem::Hidden(Hidden::Bidi('\u{2067}')))
        );
        assert_eq!(
            note_value(&field("string"), "\u{FEFF}5123"),
            Err(NoteProblem::Hidden(Hidden::ZeroWidth('\u{FEFF}')))
        );
        // Devanagari and other visible scripts pass.
        assert_eq!(note_value(&field("string"), "आशा"), Ok("आशा".to_owned()));
        assert_eq!(
            note_value(&field("email"), "a@b.co"),
            Ok("a@b.co".to_owned())
        );
        assert_eq!(
            note_value(&field("email"), "a@b"),
            Err(NoteProblem::NotEmail)
        );
        assert_eq!(note_value(&field("number"), "123"), Ok("123".to_owned()));
        assert_eq!(
            note_value(&field("number"), "12a"),
            Err(NoteProblem::NotNumber)
        );
        let select = NoteField {
            options: vec!["SG".to_owned()],
            ..field("select")
        };
        assert_eq!(note_value(&select, "sg"), Ok("SG".to_owned()));
    }
}
