//! What the supplier does with a request, as `foxreload-api.md` states it:
//! the catalog, orders and their life cycle, the balance, and the ledger of
//! everything that moved money. Pure and synchronous: the server calls it
//! under a lock with the clock's time, so a request's effect is atomic.
//!
//! Order statuses are computed lazily from the clock: every call first
//! [settles](Supplier::settle) the orders that are still moving, so a test
//! that advances a `ManualClock` and then reads sees the right status, and
//! money returned by a failed order is back in the balance before anything
//! can observe the balance.

use std::collections::{HashMap, VecDeque};

use chrono::{SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::{Catalog, CodeStyle, Product, ProductView, money_text};
use super::http::{Request, Response};
use super::rng::SplitMix64;
use super::{Endpoint, LedgerEntry, OrderOutcome, OutcomeKind, SimOrder};
use crate::clock::{Millis, millis};
use crate::domain::Money;

/// The contract's limit on items per order.
const MAX_ITEMS: usize = 10;

/// An error answer or a success answer; both are answers.
type Reply = Result<Response, Response>;

fn not_found(detail: String) -> Response {
    Response::error(404, "NOT_FOUND", detail)
}

fn unprocessable(detail: impl Into<String>) -> Response {
    Response::detail(422, detail)
}

/// Where an order stands. Declared in life-cycle order, so a move is
/// forward exactly when the new status compares greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Active,
    Paid,
    Processing,
    Completed,
    Cancelled,
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paid => "paid",
            Status::Processing => "processing",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::Failed => "failed",
        }
    }

    fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Cancelled | Status::Failed)
    }
}

#[derive(Debug, Clone)]
struct Item {
    item_id: String,
    quantity: i64,
    /// The note exactly as sent; `None` if the request had none (or null).
    note: Option<Value>,
    codes: CodeStyle,
    external_data: Vec<Value>,
    error: Option<String>,
}

#[derive(Debug, Clone)]
struct Order {
    id: String,
    items: Vec<Item>,
    total: Money,
    is_mock: bool,
    created_at: Millis,
    expires_at: Millis,
    /// Decided at creation, applied from payment on.
    outcome: OrderOutcome,
    paid_at: Option<Millis>,
    status: Status,
    cancel_reason: Option<&'static str>,
}

/// Moves `order` forward to where the clock says it is. Returns the money to
/// give back (and when it was given back) if a paid order just failed or was
/// cancelled.
fn advance(order: &mut Order, now: Millis) -> Option<(Money, Millis)> {
    if order.status.is_terminal() {
        return None;
    }
    let Some(paid_at) = order.paid_at else {
        if now >= order.expires_at {
            order.status = Status::Cancelled;
            order.cancel_reason = Some("payment_expiration");
        }
        return None;
    };
    let after = millis(order.outcome.after);
    let processing_at = paid_at.saturating_add(after / 3);
    let done_at = paid_at.saturating_add(after);
    let target = if now >= done_at {
        match order.outcome.kind {
            OutcomeKind::Complete => Status::Completed,
            OutcomeKind::Fail => Status::Failed,
            OutcomeKind::Cancel => Status::Cancelled,
            OutcomeKind::Stall => Status::Processing,
            OutcomeKind::CompleteWithoutCodes
            | OutcomeKind::Partial
            | OutcomeKind::BlankCodes { .. } => Status::Completed,
        }
    } else if now >= processing_at {
        Status::Processing
    } else {
        Status::Paid
    };
    // A clock set backwards never moves an order back.
    if target <= order.status {
        return None;
    }
    order.status = target;
    match target {
        Status::Completed => {
            match order.outcome.kind {
                OutcomeKind::CompleteWithoutCodes => {}
                OutcomeKind::Partial => deliver_partly(order),
                OutcomeKind::BlankCodes { usable } => deliver_blanks(order, usable),
                _ => deliver(order),
            }
            None
        }
        Status::Failed => {
            for item in &mut order.items {
                item.error = Some("the provider declined the top-up".to_owned());
            }
            Some((order.total, done_at))
        }
        Status::Cancelled => {
            order.cancel_reason = Some("payment_failure");
            Some((order.total, done_at))
        }
        _ => None,
    }
}

/// One code per unit, the same every time for the same order id.
fn deliver(order: &mut Order) {
    let mut rng = SplitMix64::from_text(&order.id);
    for item in &mut order.items {
        item.external_data = (0..item.quantity)
            .map(|_| match item.codes {
                CodeStyle::Text => Value::String(format!("FOX-{}", rng.code(3))),
                CodeStyle::CodeAndPin => serde_json::json!({
                    "code": rng.code(4),
                    "pin": rng.digits(4),
                }),
            })
            .collect();
    }
}

/// Codes for half the units of each item (at least one); the rest failed.
fn deliver_partly(order: &mut Order) {
    deliver(order);
    for item in &mut order.items {
        let keep = (item.external_data.len() / 2).max(1);
        let missing = item.external_data.len().saturating_sub(keep);
        item.external_data.truncate(keep);
        if missing > 0 {
            item.error = Some(format!("{missing} unit(s) could not be delivered"));
        }
    }
}

/// `usable` codes per item (at most its quantity); every other unit gets
/// an element that is not a code, and no item says why.
fn deliver_blanks(order: &mut Order, usable: u32) {
    deliver(order);
    let blanks = [
        Value::String(String::new()),
        Value::String("   ".to_owned()),
        Value::Null,
        serde_json::json!({}),
        serde_json::json!({ "code": " " }),
        serde_json::json!({ "pin": "" }),
    ];
    for item in &mut order.items {
        for (n, code) in item.external_data.iter_mut().enumerate() {
            if n >= usable as usize {
                *code = blanks[n % blanks.len()].clone();
            }
        }
    }
}

fn rfc3339(at: Millis) -> String {
    chrono::DateTime::<Utc>::from_timestamp_millis(at)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

fn add(a: Money, b: Money) -> Money {
    // Saturates: only an absurd scripted balance could overflow 28 digits.
    Money::new(a.decimal().checked_add(b.decimal()).unwrap_or(Decimal::MAX))
}

fn sub(a: Money, b: Money) -> Money {
    Money::new(a.decimal().checked_sub(b.decimal()).unwrap_or(Decimal::MIN))
}

/// An order as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderView<'a> {
    id: &'a str,
    status: &'static str,
    cancel_reason: Option<&'static str>,
    payment_expires_at: String,
    created_at: String,
    total_price: String,
    currency: &'static str,
    is_mock: bool,
    items: Vec<ItemView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemView<'a> {
    item_id: &'a str,
    quantity: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a Value>,
    external_data: &'a [Value],
    error: Option<&'a str>,
}

impl<'a> From<&'a Order> for OrderView<'a> {
    fn from(o: &'a Order) -> Self {
        OrderView {
            id: &o.id,
            status: o.status.as_str(),
            cancel_reason: o.cancel_reason,
            payment_expires_at: rfc3339(o.expires_at),
            created_at: rfc3339(o.created_at),
            total_price: money_text(o.total),
            currency: "USD",
            is_mock: o.is_mock,
            items: o
                .items
                .iter()
                .map(|i| ItemView {
                    item_id: &i.item_id,
                    quantity: i.quantity,
                    note: i.note.as_ref(),
                    external_data: &i.external_data,
                    error: i.error.as_deref(),
                })
                .collect(),
        }
    }
}

impl From<&Order> for SimOrder {
    fn from(o: &Order) -> Self {
        let first = o.items.first();
        SimOrder {
            id: o.id.clone(),
            item_id: first.map(|i| i.item_id.clone()).unwrap_or_default(),
            quantity: first.map_or(0, |i| i.quantity),
            note: first.and_then(|i| i.note.clone()).unwrap_or(Value::Null),
            status: o.status.as_str().to_owned(),
            total: o.total,
            paid: o.paid_at.is_some(),
            created_at: o.created_at,
            paid_at: o.paid_at,
            finishes_at: match (o.paid_at, o.outcome.kind) {
                (_, OutcomeKind::Stall) | (None, _) => None,
                (Some(at), _) => Some(at.saturating_add(millis(o.outcome.after))),
            },
            codes: o
                .items
                .iter()
                .flat_map(|i| i.external_data.iter().cloned())
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOrderBody {
    items: Vec<ItemBody>,
    #[serde(default)]
    total_price: Option<Money>,
    #[serde(default)]
    is_mock: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemBody {
    item_id: String,
    quantity: i64,
    #[serde(default)]
    note: Option<Value>,
}

/// How rows of `GET /api/orders/` leave fields out, as list endpoints that
/// return summaries do. `GET /api/orders/{id}` always shows the whole order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListShape {
    /// Items carry no `externalData` (the codes).
    pub omit_codes: bool,
    /// Items carry neither `quantity` nor `note`.
    pub omit_quantity_and_note: bool,
    /// Rows carry no `items` at all.
    pub omit_items: bool,
    /// Notes carry one field more than was ordered (`"region": "global"`).
    pub extra_note_field: bool,
    /// The first page starts with a row that does not parse as an order.
    pub junk_row: bool,
}

impl ListShape {
    fn row(&self, view: &OrderView<'_>) -> Value {
        let mut row = serde_json::to_value(view).unwrap_or(Value::Null);
        let Some(fields) = row.as_object_mut() else {
            return row;
        };
        if self.omit_items {
            fields.remove("items");
            return row;
        }
        if let Some(Value::Array(items)) = fields.get_mut("items") {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                if self.omit_codes {
                    item.remove("externalData");
                }
                if self.omit_quantity_and_note {
                    item.remove("quantity");
                    item.remove("note");
                }
                if self.extra_note_field
                    && let Some(Value::Object(note)) = item.get_mut("note")
                {
                    note.insert("region".to_owned(), Value::from("global"));
                }
            }
        }
        row
    }
}

/// The supplier's whole state.
#[derive(Debug)]
pub(super) struct Supplier {
    pub balance: Money,
    pub default_outcome: OrderOutcome,
    pub payment_window: Millis,
    pub list_lag: Millis,
    pub auto_pay: bool,
    pub bare_list: bool,
    pub list_shape: ListShape,
    /// The most rows one history page holds.
    pub page_cap: i64,
    pub balance_field: &'static str,
    pub catalog: Catalog,
    /// Outcomes for the next created orders, first in first out.
    pub outcomes: VecDeque<OrderOutcome>,
    pub product_outcomes: HashMap<String, OrderOutcome>,
    /// Every order ever created, in creation order.
    orders: Vec<Order>,
    by_id: HashMap<String, usize>,
    /// Indexes of orders not yet terminal, the only ones settling touches.
    live: Vec<usize>,
    ledger: Vec<LedgerEntry>,
}

impl Supplier {
    pub fn new(balance: Money, default_outcome: OrderOutcome) -> Self {
        Supplier {
            balance,
            default_outcome,
            payment_window: 15 * 60 * 1000,
            list_lag: 0,
            auto_pay: false,
            bare_list: false,
            list_shape: ListShape::default(),
            page_cap: 100,
            balance_field: "amount",
            catalog: Catalog::seeded(),
            outcomes: VecDeque::new(),
            product_outcomes: HashMap::new(),
            orders: Vec::new(),
            by_id: HashMap::new(),
            live: Vec::new(),
            ledger: Vec::new(),
        }
    }

    /// Brings every moving order up to `now`, returning the money of paid
    /// orders that failed or were cancelled.
    pub fn settle(&mut self, now: Millis) {
        let orders = &mut self.orders;
        let mut returned = Vec::new();
        self.live.retain(|&index| {
            let order = &mut orders[index];
            if let Some(back) = advance(order, now) {
                returned.push((index, back));
            }
            !order.status.is_terminal()
        });
        // The ledger reads in time order even when one settle catches up on
        // several returns.
        returned.sort_by_key(|(index, (_, at))| (*at, *index));
        for (index, (amount, at)) in returned {
            self.balance = add(self.balance, amount);
            self.ledger.push(LedgerEntry::OrderReturned {
                order_id: self.orders[index].id.clone(),
                amount,
                at,
            });
        }
    }

    pub fn set_balance(&mut self, amount: Money, now: Millis) {
        self.settle(now);
        self.balance = amount;
        self.ledger
            .push(LedgerEntry::BalanceSet { amount, at: now });
    }

    pub fn ledger(&mut self, now: Millis) -> Vec<LedgerEntry> {
        self.settle(now);
        self.ledger.clone()
    }

    pub fn orders(&mut self, now: Millis) -> Vec<SimOrder> {
        self.settle(now);
        self.orders.iter().map(SimOrder::from).collect()
    }

    pub fn order(&mut self, id: &str, now: Millis) -> Option<SimOrder> {
        self.settle(now);
        let index = *self.by_id.get(id)?;
        Some(SimOrder::from(&self.orders[index]))
    }

    /// Answers one API request (already authenticated) at `now`.
    pub fn handle(
        &mut self,
        endpoint: Endpoint,
        id: Option<&str>,
        request: &Request,
        now: Millis,
    ) -> Response {
        self.settle(now);
        let id = id.unwrap_or_default();
        let reply = match endpoint {
            Endpoint::Categories => self.categories(request),
            Endpoint::Products => self.products(request),
            Endpoint::Product => self.product(id),
            Endpoint::CreateOrder => self.create_order(&request.body, now),
            Endpoint::PayOrder => self.pay_order(id, &request.body, now),
            Endpoint::GetOrder => self.get_order(id),
            Endpoint::ListOrders => self.list_orders(request, now),
            Endpoint::Balances => Ok(self.balances()),
        };
        reply.unwrap_or_else(|error| error)
    }

    fn categories(&self, request: &Request) -> Reply {
        let limit = int_param(request, "limit", 50, 1, 200)?;
        let start = match request.query("cursor").filter(|c| !c.is_empty()) {
            None => 0,
            Some(cursor) => cursor
                .strip_prefix("cur_")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| unprocessable("invalid cursor"))?,
        };
        let with_stock_only = bool_param(request, "withStockOnly")?;
        // An unknown parent simply has no children.
        let parent = request
            .query("parent_id_or_slug")
            .filter(|p| !p.is_empty())
            .map(|p| self.catalog.category(p).map_or(p, |c| c.id.as_str()));
        let matching: Vec<_> = self
            .catalog
            .categories
            .iter()
            .filter(|c| parent.is_none_or(|p| c.parent_id.as_deref() == Some(p)))
            .filter(|c| {
                !with_stock_only
                    || self
                        .catalog
                        .products
                        .iter()
                        .any(|p| p.category_id == c.id && p.in_stock())
            })
            .collect();
        let limit = to_usize(limit);
        let items: Vec<_> = matching.iter().skip(start).take(limit).collect();
        let end = start.saturating_add(limit);
        let next_cursor = (end < matching.len()).then(|| format!("cur_{end}"));
        Ok(Response::json(
            200,
            &serde_json::json!({ "items": items, "limit": limit, "nextCursor": next_cursor }),
        ))
    }

    fn products(&self, request: &Request) -> Reply {
        let limit = int_param(request, "limit", 50, 1, 200)?;
        let offset = int_param(request, "offset", 0, 0, i64::MAX)?;
        // Unknown category: 404 (rather than an empty page), so a typo in
        // CATALOG_CATEGORIES is loud.
        let category = match request
            .query("category_id_or_slug")
            .filter(|c| !c.is_empty())
        {
            None => None,
            Some(c) => Some(
                self.catalog
                    .category(c)
                    .ok_or_else(|| not_found(format!("category {c:?} not found")))?
                    .id
                    .as_str(),
            ),
        };
        let matching: Vec<&Product> = self
            .catalog
            .products
            .iter()
            .filter(|p| category.is_none_or(|c| p.category_id == c))
            .collect();
        let items: Vec<ProductView> = matching
            .iter()
            .skip(to_usize(offset))
            .take(to_usize(limit))
            .map(|p| ProductView::from(*p))
            .collect();
        Ok(Response::json(
            200,
            &serde_json::json!({
                "items": items, "limit": limit, "offset": offset, "total": matching.len(),
            }),
        ))
    }

    fn product(&self, id: &str) -> Reply {
        let product = self
            .catalog
            .product(id)
            .ok_or_else(|| not_found(format!("product {id:?} not found")))?;
        Ok(Response::json(200, &ProductView::from(product)))
    }

    fn create_order(&mut self, body: &[u8], now: Millis) -> Reply {
        let body: CreateOrderBody = serde_json::from_slice(body)
            .map_err(|e| unprocessable(format!("invalid order: {e}")))?;
        if body.items.is_empty() || body.items.len() > MAX_ITEMS {
            return Err(unprocessable(format!(
                "an order has 1 to {MAX_ITEMS} items, not {}",
                body.items.len()
            )));
        }
        let mut total = Money::ZERO;
        let mut items = Vec::with_capacity(body.items.len());
        for item in body.items {
            let product = self
                .catalog
                .product(&item.item_id)
                .ok_or_else(|| not_found(format!("product {:?} not found", item.item_id)))?;
            if !(product.min_quantity..=product.max_quantity).contains(&item.quantity) {
                return Err(unprocessable(format!(
                    "quantity of {} must be from {} to {}",
                    product.id, product.min_quantity, product.max_quantity
                )));
            }
            check_note(product, item.note.as_ref()).map_err(unprocessable)?;
            // Not in the contract's table; a supplier surely refuses it, and
            // an unknown code is what a client must cope with anyway.
            if let Some(stock) = product.stock
                && stock < item.quantity
            {
                return Err(Response::error(
                    400,
                    "OUT_OF_STOCK",
                    format!("only {stock} of {} in stock", product.id),
                ));
            }
            let line = product
                .price
                .times(item.quantity)
                .ok_or_else(|| unprocessable("total out of range"))?;
            total = add(total, line);
            items.push(Item {
                item_id: item.item_id,
                quantity: item.quantity,
                note: item.note.filter(|n| !n.is_null()),
                codes: product.codes,
                external_data: Vec::new(),
                error: None,
            });
        }
        if let Some(offered) = body.total_price
            && offered != total
        {
            return Err(Response::error(
                400,
                "OFFER_PRICE_NOT_MATCHED",
                format!(
                    "the offered total {} does not match the current total {}",
                    money_text(offered),
                    money_text(total)
                ),
            ));
        }
        if self.balance < total {
            return Err(balance_not_enough(self.balance, total));
        }

        let outcome = self
            .outcomes
            .pop_front()
            .or_else(|| self.product_outcomes.get(&items[0].item_id).copied())
            .unwrap_or(self.default_outcome);
        let order = Order {
            id: uuid::Uuid::new_v4().to_string(),
            items,
            total,
            is_mock: body.is_mock.unwrap_or(false),
            created_at: now,
            expires_at: now.saturating_add(self.payment_window),
            outcome,
            paid_at: None,
            status: Status::Active,
            cancel_reason: None,
        };
        let first = &order.items[0];
        self.ledger.push(LedgerEntry::OrderCreated {
            order_id: order.id.clone(),
            item_id: first.item_id.clone(),
            quantity: first.quantity,
            note: first.note.clone().unwrap_or(Value::Null),
            total,
            at: now,
        });
        let index = self.orders.len();
        self.by_id.insert(order.id.clone(), index);
        self.orders.push(order);
        self.live.push(index);
        if self.auto_pay {
            self.pay(index, now);
        }
        self.settle(now);
        Ok(Response::json(201, &OrderView::from(&self.orders[index])))
    }

    fn pay_order(&mut self, id: &str, body: &[u8], now: Millis) -> Reply {
        let body: Value = serde_json::from_slice(body)
            .map_err(|e| unprocessable(format!("invalid payment: {e}")))?;
        let Value::Object(fields) = body else {
            return Err(unprocessable("the payment must be a JSON object"));
        };
        if fields.get("paymentProvider").is_some_and(|p| !p.is_null()) {
            return Err(unprocessable(
                "only paymentProvider null (the account balance) is available",
            ));
        }
        let index = *self
            .by_id
            .get(id)
            .ok_or_else(|| not_found(format!("order {id:?} not found")))?;
        let order = &self.orders[index];
        if order.status != Status::Active {
            return Err(Response::error(
                400,
                "ORDER_PAYMENT_NOT_POSSIBLE",
                format!("the order is {}", order.status.as_str()),
            ));
        }
        if self.balance < order.total {
            return Err(balance_not_enough(self.balance, order.total));
        }
        self.pay(index, now);
        self.settle(now);
        Ok(Response::json(200, &OrderView::from(&self.orders[index])))
    }

    /// Debits an active order's total, exactly once: only called on an
    /// `active` order, which this makes `paid`.
    fn pay(&mut self, index: usize, now: Millis) {
        let order = &mut self.orders[index];
        self.balance = sub(self.balance, order.total);
        order.paid_at = Some(now);
        order.status = Status::Paid;
        self.ledger.push(LedgerEntry::OrderPaid {
            order_id: order.id.clone(),
            amount: order.total,
            at: now,
        });
    }

    fn get_order(&self, id: &str) -> Reply {
        let index = *self
            .by_id
            .get(id)
            .ok_or_else(|| not_found(format!("order {id:?} not found")))?;
        Ok(Response::json(200, &OrderView::from(&self.orders[index])))
    }

    /// Another order's answer than `not`'s, for [`Fault::ReplyWithAnotherOrder`].
    ///
    /// [`Fault::ReplyWithAnotherOrder`]: super::Fault::ReplyWithAnotherOrder
    pub fn other_order(&self, not: Option<&str>) -> Option<Response> {
        self.orders
            .iter()
            .find(|o| Some(o.id.as_str()) != not)
            .map(|o| Response::json(200, &OrderView::from(o)))
    }

    fn list_orders(&self, request: &Request, now: Millis) -> Reply {
        let limit = int_param(request, "limit", 50, 1, 100)?.min(self.page_cap);
        let offset = int_param(request, "offset", 0, 0, i64::MAX)?;
        // `statuses=a,b`; a repeated parameter is accepted too.
        let statuses: Vec<&str> = request
            .query
            .iter()
            .filter(|(name, _)| name == "statuses")
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let mut visible: Vec<(usize, &Order)> = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                self.list_lag == 0 || now.saturating_sub(o.created_at) >= self.list_lag
            })
            .filter(|(_, o)| statuses.is_empty() || statuses.contains(&o.status.as_str()))
            .collect();
        visible.sort_by(|(ia, a), (ib, b)| b.created_at.cmp(&a.created_at).then(ib.cmp(ia)));
        let total = visible.len();
        let mut items: Vec<Value> = visible
            .into_iter()
            .skip(to_usize(offset))
            .take(to_usize(limit))
            .map(|(_, o)| self.list_shape.row(&OrderView::from(o)))
            .collect();
        if offset == 0 && self.list_shape.junk_row {
            // A row no client can read as an order (a numeric status, a
            // numeric `createdAt`), of an order `GET /api/orders/{id}` does
            // not know. It is not counted in `total`.
            items.insert(
                0,
                serde_json::json!({ "id": "junk-row", "status": 7, "createdAt": 1_700_000_000 }),
            );
        }
        if self.bare_list {
            return Ok(Response::json(200, &items));
        }
        Ok(Response::json(
            200,
            &serde_json::json!({ "items": items, "limit": limit, "offset": offset, "total": total }),
        ))
    }

    fn balances(&self) -> Response {
        let mut entry = serde_json::Map::new();
        entry.insert("currency".to_owned(), Value::from("USD"));
        entry.insert(
            self.balance_field.to_owned(),
            Value::from(money_text(self.balance)),
        );
        Response::json(200, &[Value::Object(entry)])
    }
}

fn balance_not_enough(balance: Money, total: Money) -> Response {
    Response::error(
        400,
        "BALANCE_NOT_ENOUGH",
        format!(
            "the balance {} is below the total {}",
            money_text(balance),
            money_text(total)
        ),
    )
}

/// Every required field present with a non-empty string or a number, and
/// values with listed options among those options.
fn check_note(product: &Product, note: Option<&Value>) -> Result<(), String> {
    let fields = match note {
        None | Some(Value::Null) => None,
        Some(Value::Object(fields)) => Some(fields),
        Some(_) => return Err("note must be a JSON object".to_owned()),
    };
    for name in product.required_note_fields.iter().flatten() {
        match fields.and_then(|f| f.get(name)) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            Some(Value::Number(_)) => {}
            _ => {
                return Err(format!(
                    "note field {name:?} is required for {}",
                    product.id
                ));
            }
        }
    }
    for (name, value) in fields.into_iter().flatten() {
        let Some(options) = product
            .note_field_options
            .get(name)
            .and_then(Value::as_array)
        else {
            continue;
        };
        if !options.contains(value) {
            return Err(format!("note field {name:?} must be one of {options:?}"));
        }
    }
    Ok(())
}

fn int_param(
    request: &Request,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, Response> {
    match request.query(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(unprocessable(format!(
                "{name} must be a whole number from {min} to {max}"
            ))),
        },
    }
}

fn bool_param(request: &Request, name: &str) -> Result<bool, Response> {
    match request.query(name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(unprocessable(format!("{name} must be true or false"))),
    }
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn order(outcome: OrderOutcome) -> Order {
        Order {
            id: "o-1".to_owned(),
            items: vec![Item {
                item_id: "product_steam_10".to_owned(),
                quantity: 3,
                note: None,
                codes: CodeStyle::Text,
                external_data: Vec::new(),
                error: None,
            }],
            total: Money::new(Decimal::new(2760, 2)),
            is_mock: false,
            created_at: 0,
            expires_at: 900_000,
            outcome,
            paid_at: None,
            status: Status::Active,
            cancel_reason: None,
        }
    }

    #[test]
    fn a_paid_order_moves_forward_only_and_completes_with_a_code_per_unit() {
        let mut o = order(OrderOutcome {
            kind: OutcomeKind::Complete,
            after: Duration::from_secs(3),
        });
        o.paid_at = Some(1_000);
        o.status = Status::Paid;
        assert_eq!(advance(&mut o, 1_999), None);
        assert_eq!(o.status, Status::Paid);
        advance(&mut o, 2_000);
        assert_eq!(o.status, Status::Processing);
        advance(&mut o, 4_000);
        assert_eq!(o.status, Status::Completed);
        assert_eq!(o.items[0].external_data.len(), 3);
        let codes = o.items[0].external_data.clone();
        advance(&mut o, 0);
        assert_eq!(
            o.status,
            Status::Completed,
            "a clock set back moves nothing"
        );
        assert_eq!(o.items[0].external_data, codes);
    }

    #[test]
    fn blank_codes_complete_with_only_the_usable_codes_asked_for() {
        let mut o = order(OrderOutcome::blank_codes(Duration::from_secs(1), 1));
        o.paid_at = Some(0);
        o.status = Status::Paid;
        advance(&mut o, 10_000);
        assert_eq!(o.status, Status::Completed);
        let codes: Vec<crate::domain::Code> = o.items[0]
            .external_data
            .iter()
            .cloned()
            .map(crate::domain::Code)
            .collect();
        assert_eq!(codes.len(), 3, "an element per unit");
        assert_eq!(codes.iter().filter(|c| c.is_usable()).count(), 1);
        assert!(o.items[0].error.is_none(), "and no reason given");
    }

    #[test]
    fn failures_return_the_money_at_the_time_they_happened() {
        let mut o = order(OrderOutcome {
            kind: OutcomeKind::Fail,
            after: Duration::from_secs(6),
        });
        o.paid_at = Some(1_000);
        o.status = Status::Paid;
        assert_eq!(advance(&mut o, 60_000), Some((o.total, 7_000)));
        assert_eq!(o.status, Status::Failed);
        assert!(o.items[0].error.is_some());
        assert_eq!(advance(&mut o, 70_000), None, "returned once");
    }

    #[test]
    fn hostile_totals_are_refused_without_a_panic() {
        let mut supplier = Supplier::new(
            Money::new(Decimal::new(1000, 0)),
            OrderOutcome {
                kind: OutcomeKind::Complete,
                after: Duration::from_secs(2),
            },
        );
        for total in [
            "\"1e-400\"",
            "\"9e99999999999\"",
            "1e400",
            "-1e-28",
            "\"79228162514264337593543950336\"",
            "\"-0\"",
            "[]",
            "{}",
            "true",
            "\"\"",
            "1E+999999999999999999999",
        ] {
            let body = format!(
                r#"{{"items":[{{"itemId":"product_steam_10","quantity":1}}],"totalPrice":{total}}}"#
            );
            let request = Request {
                method: "POST".to_owned(),
                path: "/api/orders/".to_owned(),
                query: Vec::new(),
                headers: Vec::new(),
                body: body.into_bytes(),
                keep_alive: true,
            };
            let response = supplier.handle(Endpoint::CreateOrder, None, &request, 0);
            assert!(
                matches!(response.status, 400 | 422),
                "{total}: {}",
                response.status
            );
        }
        assert!(supplier.orders(0).is_empty());
    }

    #[test]
    fn unpaid_orders_expire_and_stalls_never_finish() {
        let mut o = order(OrderOutcome {
            kind: OutcomeKind::Stall,
            after: Duration::from_secs(1),
        });
        advance(&mut o, 899_999);
        assert_eq!(o.status, Status::Active);
        advance(&mut o, 900_000);
        assert_eq!(o.status, Status::Cancelled);
        assert_eq!(o.cancel_reason, Some("payment_expiration"));

        let mut s = order(o.outcome);
        s.paid_at = Some(0);
        s.status = Status::Paid;
        advance(&mut s, i64::MAX);
        assert_eq!(s.status, Status::Processing);
    }
}
