//! The simulator's catalog: a few categories and products seeded to exercise
//! every tolerance rule of the contract (a price as a JSON number, a null
//! price, null stock, required note fields with options, codes as objects).

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::domain::Money;

/// A category as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Category {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub parent_id: Option<String>,
}

/// How a product's delivered codes look in `items[].externalData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CodeStyle {
    /// `"FOX-XXXX-XXXX-XXXX"`
    Text,
    /// `{"code": "...", "pin": "..."}`
    CodeAndPin,
}

/// A product, with what the simulator knows but does not always show.
#[derive(Debug, Clone)]
pub(super) struct Product {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub category_id: String,
    pub description: String,
    /// The price charged at order time.
    pub price: Money,
    /// False: the catalog shows `price: null` (the price is only known at
    /// order time), yet orders are still charged `price`.
    pub price_listed: bool,
    /// Shows the price as a JSON number instead of a string.
    pub price_as_number: bool,
    /// Stock; `None` is unknown (shown as null, never refused for stock).
    pub stock: Option<i64>,
    pub min_quantity: i64,
    pub max_quantity: i64,
    pub required_note_fields: Option<Vec<String>>,
    pub note_field_types: Value,
    pub note_field_options: Value,
    pub codes: CodeStyle,
}

impl Product {
    /// A plain product for ids a test scripts that are not seeded.
    pub fn plain(id: &str) -> Self {
        Product {
            id: id.to_owned(),
            name: id.to_owned(),
            slug: id.replace('_', "-"),
            category_id: GIFT_CARDS.to_owned(),
            description: "Added by a test script.".to_owned(),
            price: money(100, 2),
            price_listed: true,
            price_as_number: false,
            stock: None,
            min_quantity: 1,
            max_quantity: 10,
            required_note_fields: None,
            note_field_types: Value::Null,
            note_field_options: Value::Null,
            codes: CodeStyle::Text,
        }
    }

    pub fn in_stock(&self) -> bool {
        self.stock.is_none_or(|n| n > 0)
    }
}

/// The product as `GET /api/products/…` shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProductView<'a> {
    id: &'a str,
    name: &'a str,
    slug: &'a str,
    category_id: &'a str,
    description: &'a str,
    price: PriceView,
    currency: &'static str,
    quantity: Option<i64>,
    order_min_quantity: i64,
    order_max_quantity: i64,
    required_note_fields: Option<&'a [String]>,
    note_field_types: &'a Value,
    note_field_options: &'a Value,
}

impl<'a> From<&'a Product> for ProductView<'a> {
    fn from(p: &'a Product) -> Self {
        ProductView {
            id: &p.id,
            name: &p.name,
            slug: &p.slug,
            category_id: &p.category_id,
            description: &p.description,
            price: match (p.price_listed, p.price_as_number) {
                (false, _) => PriceView::Null,
                (true, false) => PriceView::Text(p.price),
                (true, true) => PriceView::Number(p.price),
            },
            currency: "USD",
            quantity: p.stock,
            order_min_quantity: p.min_quantity,
            order_max_quantity: p.max_quantity,
            required_note_fields: p.required_note_fields.as_deref(),
            note_field_types: &p.note_field_types,
            note_field_options: &p.note_field_options,
        }
    }
}

/// A price as a string, as an exact JSON number, or null.
enum PriceView {
    Null,
    Text(Money),
    Number(Money),
}

impl Serialize for PriceView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PriceView::Null => s.serialize_none(),
            PriceView::Text(m) => s.serialize_str(&money_text(*m)),
            // A raw JSON literal, so the number never passes through f64.
            PriceView::Number(m) => serde_json::value::RawValue::from_string(money_text(*m))
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
        }
    }
}

/// Money as the supplier writes it: at least two decimals ("9.20", "1000.00").
pub(super) fn money_text(m: Money) -> String {
    let mut d = m.decimal();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

fn money(units: i64, scale: u32) -> Money {
    Money::new(Decimal::new(units, scale))
}

const GIFT_CARDS: &str = "cat_gift_cards";
const GAME_TOP_UPS: &str = "cat_game_top_ups";

/// Categories and products.
#[derive(Debug, Clone)]
pub(super) struct Catalog {
    pub categories: Vec<Category>,
    pub products: Vec<Product>,
}

impl Catalog {
    pub fn category(&self, id_or_slug: &str) -> Option<&Category> {
        self.categories
            .iter()
            .find(|c| c.id == id_or_slug || c.slug == id_or_slug)
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// The product with that id, added as [`Product::plain`] if unknown.
    pub fn product_or_insert(&mut self, id: &str) -> &mut Product {
        let index = match self.products.iter().position(|p| p.id == id) {
            Some(i) => i,
            None => {
                self.products.push(Product::plain(id));
                self.products.len() - 1
            }
        };
        &mut self.products[index]
    }

    pub fn seeded() -> Self {
        let category = |id: &str, slug: &str, name: &str| Category {
            id: id.to_owned(),
            slug: slug.to_owned(),
            name: name.to_owned(),
            parent_id: None,
        };
        let product = |id: &str, name: &str, category_id: &str, price: Money| Product {
            name: name.to_owned(),
            category_id: category_id.to_owned(),
            description: format!("{name}, delivered as a code."),
            price,
            ..Product::plain(id)
        };
        let fields = |names: &[&str]| Some(names.iter().map(|n| (*n).to_owned()).collect());
        Catalog {
            categories: vec![
                category(GIFT_CARDS, "gift-cards", "Gift cards"),
                category(GAME_TOP_UPS, "game-top-ups", "Game top-ups"),
            ],
            products: vec![
                Product {
                    stock: Some(250),
                    ..product(
                        "product_steam_10",
                        "Steam Wallet $10",
                        GIFT_CARDS,
                        money(920, 2),
                    )
                },
                Product {
                    required_note_fields: Some(Vec::new()),
                    ..product(
                        "product_gplay_25",
                        "Google Play $25",
                        GIFT_CARDS,
                        money(2375, 2),
                    )
                },
                Product {
                    price_as_number: true,
                    stock: Some(1000),
                    max_quantity: 50,
                    required_note_fields: fields(&["player_id"]),
                    note_field_types: json!({ "player_id": "string" }),
                    ..product(
                        "product_pubg_60",
                        "PUBG Mobile 60 UC",
                        GAME_TOP_UPS,
                        money(99, 2),
                    )
                },
                Product {
                    stock: Some(500),
                    required_note_fields: fields(&["player_id", "server"]),
                    note_field_types: json!({ "player_id": "string", "server": "select" }),
                    note_field_options: json!({ "server": ["sg", "br", "in", "me"] }),
                    ..product(
                        "product_ff_100",
                        "Free Fire 100 Diamonds",
                        GAME_TOP_UPS,
                        money(105, 2),
                    )
                },
                Product {
                    price_listed: false,
                    ..product(
                        "product_xbox_15",
                        "Xbox Gift Card $15",
                        GIFT_CARDS,
                        money(1310, 2),
                    )
                },
                Product {
                    stock: Some(40),
                    codes: CodeStyle::CodeAndPin,
                    ..product(
                        "product_psn_pin",
                        "PlayStation Store $20",
                        GIFT_CARDS,
                        money(1840, 2),
                    )
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_shown_as_strings_numbers_or_null_without_floats() {
        let catalog = Catalog::seeded();
        let show = |id: &str| {
            let p = catalog.product(id).unwrap();
            serde_json::to_string(&ProductView::from(p)).unwrap()
        };
        assert!(show("product_steam_10").contains("\"price\":\"9.20\""));
        assert!(show("product_pubg_60").contains("\"price\":0.99,"));
        assert!(show("product_xbox_15").contains("\"price\":null"));
        assert_eq!(money_text(money(1000, 0)), "1000.00");
        assert_eq!(money_text(money(12345, 3)), "12.345");
    }
}
