//! The supplier's JSON, as typed values. Tolerant by contract: unknown
//! fields are ignored, missing optional fields are absent, money is exact,
//! unknown statuses are kept (and are not terminal).

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::domain::{Money, Note, ProductId, SupplierOrderId};

/// Accepts an integer as a JSON number or a numeric string; null is absent.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        I(i64),
        S(String),
    }
    match Option::<Num>::deserialize(d)? {
        None => Ok(None),
        Some(Num::I(n)) => Ok(Some(n)),
        Some(Num::S(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expected a whole number")),
    }
}

/// A list that may be null or missing.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    pub id: String,
    #[serde(default)]
    pub slug: Option<String>,
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<String>,
}

/// A cursor page (categories).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct CursorPage<T> {
    #[serde(deserialize_with = "null_as_empty")]
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// An offset page (products, orders).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct OffsetPage<T> {
    #[serde(deserialize_with = "null_as_empty")]
    pub items: Vec<T>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub total: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub category_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Null: the price is only known at order time.
    #[serde(default)]
    pub price: Option<Money>,
    #[serde(default)]
    pub currency: Option<String>,
    /// Stock; null means unknown.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub quantity: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub order_min_quantity: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub order_max_quantity: Option<i64>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub required_note_fields: Vec<String>,
    #[serde(default)]
    pub note_field_types: Option<Value>,
    #[serde(default)]
    pub note_field_options: Option<Value>,
}

/// An order's status. Forward only; `Other` is a status we do not know,
/// which is never treated as final.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Active,
    Paid,
    Processing,
    Completed,
    Cancelled,
    Failed,
    Other(String),
}

impl OrderStatus {
    pub fn parse(text: &str) -> Self {
        match text {
            "active" => OrderStatus::Active,
            "paid" => OrderStatus::Paid,
            "processing" => OrderStatus::Processing,
            "completed" => OrderStatus::Completed,
            "cancelled" | "canceled" => OrderStatus::Cancelled,
            "failed" => OrderStatus::Failed,
            other => OrderStatus::Other(other.chars().take(40).collect()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::Active => "active",
            OrderStatus::Paid => "paid",
            OrderStatus::Processing => "processing",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Failed => "failed",
            OrderStatus::Other(s) => s,
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            OrderStatus::Completed | OrderStatus::Cancelled | OrderStatus::Failed
        )
    }

    /// The supplier has taken (or may have taken) the money for it.
    pub fn is_paid_or_later(&self) -> bool {
        matches!(
            self,
            OrderStatus::Paid | OrderStatus::Processing | OrderStatus::Completed
        )
    }
}

impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(OrderStatus::parse(&String::deserialize(d)?))
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One delivered code, verbatim: a string, or an object such as
/// `{code, pin}`. Its `Debug` never shows the value, so a code cannot reach
/// a log line by accident.
#[derive(Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Code(pub Value);

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(<redacted>)")
    }
}

impl Code {
    /// Human-readable text of the code, for the buyer's message only.
    pub fn render(&self) -> String {
        fn scalar(v: &Value) -> String {
            match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            }
        }
        match &self.0 {
            Value::Object(fields) => fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", scalar(v)))
                .collect::<Vec<_>>()
                .join(", "),
            Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
            other => scalar(other),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    pub item_id: String,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub note: Option<Value>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub external_data: Vec<Code>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: SupplierOrderId,
    pub status: OrderStatus,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    #[serde(default)]
    pub payment_expires_at: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub items: Vec<OrderItem>,
    #[serde(default)]
    pub total_price: Option<Money>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub is_mock: Option<bool>,
}

impl Order {
    /// Whether this order is the single line `(item, quantity, note)`; an
    /// order echoing no note only matches an empty note.
    pub fn matches(&self, item: &ProductId, quantity: i64, note: &Note) -> bool {
        let [line] = self.items.as_slice() else {
            return false;
        };
        if line.item_id != item.as_str() || line.quantity != Some(quantity) {
            return false;
        }
        match &line.note {
            None | Some(Value::Null) => note.is_empty(),
            Some(v) => Note::from_json(v).as_ref() == Some(note),
        }
    }

    /// Whether this order can be the supplier's answer to our request for
    /// `(item, quantity, note)`: a reply may leave the note out.
    pub fn answers(&self, item: &ProductId, quantity: i64, note: &Note) -> bool {
        let [line] = self.items.as_slice() else {
            return false;
        };
        line.item_id == item.as_str()
            && line.quantity == Some(quantity)
            && match &line.note {
                None | Some(Value::Null) => true,
                Some(v) => Note::from_json(v).as_ref() == Some(note),
            }
    }

    /// Same item and quantity, but the supplier echoed no usable note: such
    /// an order can be neither claimed nor ruled out.
    pub fn maybe_matches(&self, item: &ProductId, quantity: i64, note: &Note) -> bool {
        let [line] = self.items.as_slice() else {
            return false;
        };
        line.item_id == item.as_str()
            && line.quantity == Some(quantity)
            && !note.is_empty()
            && line
                .note
                .as_ref()
                .is_none_or(|v| Note::from_json(v).is_none())
    }

    /// Every code of the order, in item order.
    pub fn codes(&self) -> Vec<Code> {
        self.items
            .iter()
            .flat_map(|i| i.external_data.iter().cloned())
            .collect()
    }

    /// Per-item error texts, for admins.
    pub fn errors(&self) -> Vec<String> {
        self.items.iter().filter_map(|i| i.error.clone()).collect()
    }
}

/// A page of order history, from either reply shape.
#[derive(Debug, Clone)]
pub struct OrderPage {
    pub items: Vec<Order>,
    pub total: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    pub currency: String,
    #[serde(alias = "available", alias = "balance")]
    pub amount: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_tolerate_nulls_strings_and_unknown_fields() {
        let p: Product = serde_json::from_str(
            r#"{"id":"product_1","name":"X","price":null,"quantity":"7",
                "requiredNoteFields":null,"futureField":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(p.price, None);
        assert_eq!(p.quantity, Some(7));
        assert!(p.required_note_fields.is_empty());
    }

    #[test]
    fn an_unknown_status_is_kept_and_not_terminal() {
        let o: Order =
            serde_json::from_str(r#"{"id":"o-1","status":"on_review","items":[]}"#).unwrap();
        assert_eq!(o.status, OrderStatus::Other("on_review".into()));
        assert!(!o.status.is_terminal());
    }

    #[test]
    fn codes_are_kept_verbatim_rendered_readably_and_never_debug_printed() {
        let o: Order = serde_json::from_str(
            r#"{"id":"o-1","status":"completed","items":[{"itemId":"p","quantity":2,
                "externalData":["AAAA-1111",{"code":"BBBB","pin":"42"}]}]}"#,
        )
        .unwrap();
        let codes = o.codes();
        assert_eq!(codes[0].render(), "AAAA-1111");
        assert_eq!(codes[1].render(), "code: BBBB, pin: 42");
        let debug = format!("{o:?}");
        assert!(
            !debug.contains("AAAA") && !debug.contains("BBBB"),
            "{debug}"
        );
    }

    #[test]
    fn balances_accept_each_field_name() {
        for field in ["amount", "available", "balance"] {
            let json = format!(r#"[{{"currency":"USD","{field}":"12.50"}}]"#);
            let b: Vec<Balance> = serde_json::from_str(&json).unwrap();
            assert_eq!(b[0].amount, Money::parse("12.50").unwrap());
        }
    }

    #[test]
    fn matching_uses_item_quantity_and_note() {
        let o: Order = serde_json::from_str(
            r#"{"id":"o-1","status":"active","items":[{"itemId":"product_1","quantity":2,
                "note":{"player_id":77}}]}"#,
        )
        .unwrap();
        let item = ProductId::parse("product_1").unwrap();
        let note = Note::from_pairs(["player_id=77"]).unwrap();
        assert!(o.matches(&item, 2, &note));
        assert!(!o.matches(&item, 1, &note));
        assert!(!o.matches(&item, 2, &Note::default()));
        assert!(!o.maybe_matches(&item, 2, &note));
        let bare: Order = serde_json::from_str(
            r#"{"id":"o-2","status":"active","items":[{"itemId":"product_1","quantity":2}]}"#,
        )
        .unwrap();
        assert!(!bare.matches(&item, 2, &note));
        assert!(bare.maybe_matches(&item, 2, &note));
        assert!(
            bare.answers(&item, 2, &note),
            "a reply may leave the note out"
        );
        assert!(!o.answers(&item, 2, &Note::from_pairs(["player_id=78"]).unwrap()));
    }
}
