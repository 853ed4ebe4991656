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

/// Text that may arrive as a JSON string or number; anything else is absent.
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
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

/// Codes are ours once received: the store keeps them as a domain value.
pub use crate::domain::Code;

impl Code {
    /// Whether a buyer can use this element: `null`, `""`, whitespace,
    /// `{}`, `[]` and an object or list with no non-blank value (such as
    /// `{"code": " "}` or `{"pin": ""}`) are not codes. A number is. What
    /// is usable is kept verbatim; this only decides what counts.
    pub fn is_usable(&self) -> bool {
        fn scalar(v: &Value) -> bool {
            match v {
                Value::String(s) => !s.trim().is_empty(),
                Value::Number(_) => true,
                _ => false,
            }
        }
        match &self.0 {
            Value::Object(fields) => fields.values().any(scalar),
            Value::Array(items) => items.iter().any(scalar),
            other => scalar(other),
        }
    }
}

/// How many usable codes an order's items brought against what they
/// ordered. Completion needs, per item, as many usable codes as its
/// quantity: extra codes on one item never make up for another's missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    /// Every usable code, verbatim, in item order.
    pub codes: Vec<Code>,
    /// Units ordered, over every item.
    pub ordered: i64,
    /// Units covered by a usable code (each item counted up to its quantity).
    pub arrived: i64,
    /// Some item without all its codes says why (`items[].error`).
    pub explained: bool,
}

impl Tally {
    pub fn missing(&self) -> i64 {
        self.ordered.saturating_sub(self.arrived)
    }

    /// Every unit has its code.
    pub fn complete(&self) -> bool {
        self.ordered > 0 && self.arrived >= self.ordered
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
    /// RFC 3339 by the contract; a number (Unix time) is kept as its text.
    #[serde(default, deserialize_with = "lenient_text")]
    pub created_at: Option<String>,
    #[serde(default)]
    pub is_mock: Option<bool>,
}

/// How a supplier order compares with the single line `(item, quantity,
/// note)` we would have asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likeness {
    /// Every field is shown and equal: it may be ours.
    Same,
    /// A field it shows differs: it is not ours.
    Different,
    /// It shows too little to tell (a summary without items, quantity or
    /// note), or more than we sent (a note with extra fields). Never a
    /// reason to conclude either way.
    Unknown,
}

impl Order {
    /// Compares this order with `(item, quantity, note)`. What the order does
    /// not show is never taken as a difference: a list row may be a summary.
    pub fn likeness(&self, item: &ProductId, quantity: i64, note: &Note) -> Likeness {
        let line = match self.items.as_slice() {
            [] => return Likeness::Unknown,
            [line] => line,
            // We only ever create single-line orders.
            _ => return Likeness::Different,
        };
        if line.item_id != item.as_str() || line.quantity.is_some_and(|q| q != quantity) {
            return Likeness::Different;
        }
        let note_likeness = note_likeness(line.note.as_ref(), note);
        match (line.quantity, note_likeness) {
            (_, Likeness::Different) => Likeness::Different,
            (Some(_), Likeness::Same) => Likeness::Same,
            _ => Likeness::Unknown,
        }
    }

    /// Whether this order can be the supplier's answer to our request for
    /// `(item, quantity, note)`: a reply may leave the note out, but must
    /// show the item and quantity.
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

    /// Every item that did not fail carries at least one usable code. A
    /// list row that leaves the codes out does not have them all.
    pub fn has_all_codes(&self) -> bool {
        !self.items.is_empty()
            && self
                .items
                .iter()
                .filter(|i| i.error.is_none())
                .all(|i| i.external_data.iter().any(Code::is_usable))
    }

    /// Every usable code of the order, in item order (blank elements are
    /// left out: see [`Code::is_usable`]).
    pub fn codes(&self) -> Vec<Code> {
        self.items
            .iter()
            .flat_map(|i| i.external_data.iter().filter(|c| c.is_usable()).cloned())
            .collect()
    }

    /// Counts usable codes per item against its quantity. An item that
    /// does not show its quantity is taken at `quantity` when it is the
    /// order's only line (we create single-line orders of the purchase's
    /// quantity), else at one unit.
    pub fn tally(&self, quantity: i64) -> Tally {
        let single = self.items.len() == 1;
        let mut tally = Tally {
            codes: Vec::new(),
            ordered: 0,
            arrived: 0,
            explained: false,
        };
        for item in &self.items {
            let wanted = item
                .quantity
                .unwrap_or(if single { quantity } else { 1 })
                .max(1);
            let usable: Vec<Code> = item
                .external_data
                .iter()
                .filter(|c| c.is_usable())
                .cloned()
                .collect();
            let got = i64::try_from(usable.len()).unwrap_or(i64::MAX);
            tally.ordered = tally.ordered.saturating_add(wanted);
            tally.arrived = tally.arrived.saturating_add(got.min(wanted));
            if got < wanted && item.error.is_some() {
                tally.explained = true;
            }
            tally.codes.extend(usable);
        }
        tally
    }

    /// Per-item error texts, for admins.
    pub fn errors(&self) -> Vec<String> {
        self.items.iter().filter_map(|i| i.error.clone()).collect()
    }
}

/// How the note an order shows compares with ours. A value the supplier
/// sent as a number compares by its text.
fn note_likeness(shown: Option<&Value>, ours: &Note) -> Likeness {
    let fields = match shown {
        None | Some(Value::Null) if ours.is_empty() => return Likeness::Same,
        None | Some(Value::Null) => return Likeness::Unknown,
        Some(Value::Object(fields)) => fields,
        Some(_) => return Likeness::Unknown,
    };
    let mut unknown = false;
    for (key, value) in ours.fields() {
        match fields.get(key).map(scalar_text) {
            Some(Some(text)) if text.trim() == value.as_str() => {}
            Some(Some(_)) => return Likeness::Different,
            // Missing or not a plain value: cannot be compared.
            _ => unknown = true,
        }
    }
    if unknown || fields.len() != ours.fields().len() {
        return Likeness::Unknown;
    }
    Likeness::Same
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A history row that is not a readable order (a wrong type somewhere, a
/// missing status). It still says something: its `id`, when it has one,
/// can be read alone.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableRow {
    pub id: Option<SupplierOrderId>,
    pub problem: String,
}

/// A page of order history, from either reply shape. Rows are parsed one
/// by one: one malformed order does not make the page unreadable.
#[derive(Debug, Clone)]
pub struct OrderPage {
    /// Every row, in page order (newest first).
    pub rows: Vec<HistoryRow>,
    /// The history's size, when the reply is a page object that says it.
    pub total: Option<i64>,
}

/// One row of the order history.
#[derive(Debug, Clone)]
pub enum HistoryRow {
    Order(Box<Order>),
    Unreadable(UnreadableRow),
}

impl HistoryRow {
    pub fn id(&self) -> Option<&SupplierOrderId> {
        match self {
            HistoryRow::Order(o) => Some(&o.id),
            HistoryRow::Unreadable(u) => u.id.as_ref(),
        }
    }

    pub fn order(&self) -> Option<&Order> {
        match self {
            HistoryRow::Order(o) => Some(o),
            HistoryRow::Unreadable(_) => None,
        }
    }
}

impl OrderPage {
    /// The rows that parsed as orders, in page order.
    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.rows.iter().filter_map(HistoryRow::order)
    }

    /// Parses each row on its own.
    pub fn from_rows(rows: Vec<Value>, total: Option<i64>) -> Self {
        let mut page = OrderPage {
            rows: Vec::with_capacity(rows.len()),
            total,
        };
        for row in rows {
            let id = row
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| SupplierOrderId::parse(id).ok());
            page.rows.push(match serde_json::from_value::<Order>(row) {
                Ok(order) => HistoryRow::Order(Box::new(order)),
                Err(e) => HistoryRow::Unreadable(UnreadableRow {
                    id,
                    // The classification only: the text could quote a code.
                    problem: format!("{:?} error at column {}", e.classify(), e.column()),
                }),
            });
        }
        page
    }
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

    fn order(json: &str) -> Order {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn likeness_uses_item_quantity_and_note() {
        let item = ProductId::parse("product_1").unwrap();
        let note = Note::from_pairs(["player_id=77"]).unwrap();
        let full = order(
            r#"{"id":"o-1","status":"active","items":[{"itemId":"product_1","quantity":2,
                "note":{"player_id":77}}]}"#,
        );
        assert_eq!(full.likeness(&item, 2, &note), Likeness::Same);
        assert_eq!(full.likeness(&item, 1, &note), Likeness::Different);
        let other = Note::from_pairs(["player_id=78"]).unwrap();
        assert_eq!(full.likeness(&item, 2, &other), Likeness::Different);
        assert!(!full.answers(&item, 2, &other));

        let bare = order(
            r#"{"id":"o-2","status":"active","items":[{"itemId":"product_1","quantity":2}]}"#,
        );
        assert_eq!(bare.likeness(&item, 2, &note), Likeness::Unknown);
        assert_eq!(bare.likeness(&item, 2, &Note::default()), Likeness::Same);
        assert!(
            bare.answers(&item, 2, &note),
            "a reply may leave the note out"
        );
    }

    #[test]
    fn a_summary_row_is_never_judged_not_ours() {
        let item = ProductId::parse("product_1").unwrap();
        let note = Note::from_pairs(["player_id=77"]).unwrap();
        for json in [
            // No items at all.
            r#"{"id":"o","status":"paid"}"#,
            // Items without quantity or note.
            r#"{"id":"o","status":"paid","items":[{"itemId":"product_1"}]}"#,
            // A note with a field more than we sent.
            r#"{"id":"o","status":"paid","items":[{"itemId":"product_1","quantity":2,
                "note":{"player_id":"77","region":"eu"}}]}"#,
            // A note value that is not a plain value.
            r#"{"id":"o","status":"paid","items":[{"itemId":"product_1","quantity":2,
                "note":{"player_id":{"v":77}}}]}"#,
        ] {
            assert_eq!(
                order(json).likeness(&item, 2, &note),
                Likeness::Unknown,
                "{json}"
            );
        }
        // What a row does show still rules it out.
        let other_item = order(r#"{"id":"o","status":"paid","items":[{"itemId":"product_9"}]}"#);
        assert_eq!(other_item.likeness(&item, 2, &note), Likeness::Different);
        let two_lines = order(
            r#"{"id":"o","status":"paid","items":[{"itemId":"product_1"},{"itemId":"product_1"}]}"#,
        );
        assert_eq!(two_lines.likeness(&item, 2, &note), Likeness::Different);
    }

    #[test]
    fn codes_are_complete_only_when_every_item_that_did_not_fail_has_some() {
        let summary =
            order(r#"{"id":"o","status":"completed","items":[{"itemId":"p","quantity":1}]}"#);
        assert!(!summary.has_all_codes());
        assert!(!order(r#"{"id":"o","status":"completed"}"#).has_all_codes());
        let partial = order(
            r#"{"id":"o","status":"completed","items":[{"itemId":"p","externalData":["A"]},
                {"itemId":"q","error":"out of stock"}]}"#,
        );
        assert!(partial.has_all_codes());
    }

    #[test]
    fn blank_null_and_empty_elements_are_not_codes() {
        for json in [
            r#""""#,
            r#""   ""#,
            r#"" \t\n ""#,
            "null",
            "{}",
            "[]",
            "false",
            r#"{"code":" "}"#,
            r#"{"pin":""}"#,
            r#"{"code":null,"pin":"  "}"#,
            r#"{"code":{}}"#,
            r#"["", null]"#,
        ] {
            let code = Code(serde_json::from_str(json).unwrap());
            assert!(!code.is_usable(), "{json}");
        }
        for json in [
            r#""AAAA-1111""#,
            "12345",
            r#"{"code":"BBBB","pin":""}"#,
            r#"{"serial":"S-1"}"#,
            r#""https://redeem.example/x""#,
        ] {
            let code = Code(serde_json::from_str(json).unwrap());
            assert!(code.is_usable(), "{json}");
        }
    }

    #[test]
    fn codes_are_counted_per_item_against_its_quantity() {
        let blanks = order(
            r#"{"id":"o","status":"completed","items":[{"itemId":"p","quantity":3,
                "externalData":[""," ",null]}]}"#,
        );
        let t = blanks.tally(3);
        assert_eq!((t.arrived, t.ordered, t.codes.len()), (0, 3, 0));
        assert!(!t.complete() && !t.explained);
        assert!(blanks.codes().is_empty(), "blanks are never handed out");

        let short = order(
            r#"{"id":"o","status":"completed","items":[{"itemId":"p","quantity":5,
                "externalData":["A",{"code":"B","pin":"1"},"C",{},{"pin":""}]}]}"#,
        );
        let t = short.tally(5);
        assert_eq!((t.arrived, t.ordered, t.missing()), (3, 5, 2));
        // Kept verbatim, in order.
        assert_eq!(t.codes[1].render(), "code: B, pin: 1");

        // Extra codes on one item never make up for another's missing.
        let lopsided = order(
            r#"{"id":"o","status":"completed","items":[
                {"itemId":"p","quantity":1,"externalData":["A","B"]},
                {"itemId":"q","quantity":1,"externalData":[""],"error":"out of stock"}]}"#,
        );
        let t = lopsided.tally(2);
        assert_eq!((t.arrived, t.ordered), (1, 2));
        assert!(t.explained);

        // A line that does not show its quantity is taken at the purchase's.
        let bare = order(
            r#"{"id":"o","status":"completed","items":[{"itemId":"p","externalData":["A"]}]}"#,
        );
        assert!(!bare.tally(2).complete());
        assert!(bare.tally(1).complete());
    }

    #[test]
    fn one_malformed_row_leaves_the_rest_of_the_page_readable() {
        let rows: Vec<Value> = serde_json::from_str(
            r#"[{"id":"good-1","status":"paid","createdAt":1700000000},
                {"id":"bad-1","status":7,"createdAt":1700000000},
                {"status":"paid"},
                {"id":"good-2","status":"active"}]"#,
        )
        .unwrap();
        let page = OrderPage::from_rows(rows, None);
        assert_eq!(page.rows.len(), 4);
        let ids: Vec<&str> = page.orders().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["good-1", "good-2"]);
        let ids: Vec<Option<&str>> = page
            .rows
            .iter()
            .map(|r| r.id().map(|i| i.as_str()))
            .collect();
        assert_eq!(ids, [Some("good-1"), Some("bad-1"), None, Some("good-2")]);
        assert!(matches!(page.rows[1], HistoryRow::Unreadable(_)));
    }
}
