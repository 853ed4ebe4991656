//! The typed FoxReload client: one HTTP client, one budget, no retries.
//!
//! Every call makes exactly one request. A supplier write (create, pay) is
//! never retried here: whether it may be sent again is the engine's decision,
//! after it has found out what the first one did.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::budget::Budget;
use super::error::{RejectCode, Rejection, SupplierError};
use super::model::{
    Balance, Category, CursorPage, OffsetPage, Order, OrderPage, OrderStatus, Product,
};
use crate::clock::{Millis, SharedClock};
use crate::domain::{Money, Note, Priority, ProductId, Quantity, SupplierOrderId};

/// Replies larger than this are refused unread (a hostile or broken peer).
const MAX_BODY: usize = 4 * 1024 * 1024;
/// A 429 without a usable `Retry-After` pauses this long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: Url,
    pub api_key: SecretString,
    pub timeout: Duration,
    pub mock_orders: bool,
}

/// One order line to create.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub item: &'a ProductId,
    pub quantity: Quantity,
    pub note: &'a Note,
    /// When set, the supplier refuses the order if its price differs.
    pub total_price: Option<Money>,
}

/// A supplier write's turn in the budget. Take it *before* committing the
/// intent to write, so that a committed write never waits in the budget (a
/// 429 pause can last an hour, long after the lease that guards it).
#[must_use = "a write slot is spent when it is taken"]
pub struct WriteSlot {
    send_by: Option<(Millis, SharedClock)>,
}

impl WriteSlot {
    /// The write must leave by `at` (on `clock`), or not at all: the client
    /// checks right before sending, and past it sends nothing.
    pub fn send_by(mut self, at: Millis, clock: SharedClock) -> Self {
        self.send_by = Some((at, clock));
        self
    }

    fn too_late(&self) -> bool {
        self.send_by
            .as_ref()
            .is_some_and(|(at, clock)| clock.now_ms() > *at)
    }
}

#[derive(Clone)]
pub struct FoxReload {
    http: reqwest::Client,
    base: Url,
    key: SecretString,
    mock_orders: bool,
    budget: Arc<Budget>,
    /// When the supplier last answered anything (Unix ms; 0: never), for
    /// `/readyz`.
    answered_at: Arc<std::sync::atomic::AtomicI64>,
}

impl std::fmt::Debug for FoxReload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoxReload")
            .field("base", &self.base.as_str())
            .finish()
    }
}

/// Whether a failed request may have changed something at the supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// A request about to be sent: a read takes its turn in the budget when
/// sent; a write brings the slot it took earlier.
enum Call {
    Read,
    Write(WriteSlot),
}

impl FoxReload {
    pub fn new(options: ClientOptions, budget: Arc<Budget>) -> Result<Self, SupplierError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            // A connect that fails is known not to have sent anything; keep
            // it distinct from a timeout after sending.
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("foxbot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SupplierError::RetryLater {
                reason: format!("cannot build the HTTP client: {e}"),
                retry_after: None,
            })?;
        let mut base = options.base_url;
        // Joining relative paths needs a base that ends in '/'.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(FoxReload {
            http,
            base,
            key: options.api_key,
            mock_orders: options.mock_orders,
            budget,
            answered_at: Arc::new(std::sync::atomic::AtomicI64::new(0)),
        })
    }

    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// When the supplier last answered a request (any status), Unix ms;
    /// `None` if it has not yet.
    pub fn last_answer_ms(&self) -> Option<i64> {
        let at = self.answered_at.load(std::sync::atomic::Ordering::Relaxed);
        (at > 0).then_some(at)
    }

    // ---- reads -------------------------------------------------------------

    /// One page of categories.
    pub async fn categories(
        &self,
        cursor: Option<&str>,
    ) -> Result<CursorPage<Category>, SupplierError> {
        let mut query = vec![("limit", "100".to_owned())];
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        self.get("api/categories/", &query).await
    }

    /// One page of a category's products (`limit` 1–200).
    pub async fn products(
        &self,
        category: &str,
        limit: u32,
        offset: u32,
    ) -> Result<OffsetPage<Product>, SupplierError> {
        let query = [
            ("category_id_or_slug", category.to_owned()),
            ("limit", limit.clamp(1, 200).to_string()),
            ("offset", offset.to_string()),
        ];
        self.get("api/products/", &query).await
    }

    /// One page of a category's products as raw rows, so that one row the
    /// model cannot read does not cost the whole page (the catalog sync
    /// skips it and sells the rest).
    pub async fn product_rows(
        &self,
        category: &str,
        limit: u32,
        offset: u32,
    ) -> Result<OffsetPage<serde_json::Value>, SupplierError> {
        let query = [
            ("category_id_or_slug", category.to_owned()),
            ("limit", limit.clamp(1, 200).to_string()),
            ("offset", offset.to_string()),
        ];
        self.get("api/products/", &query).await
    }

    pub async fn product(&self, id: &ProductId) -> Result<Product, SupplierError> {
        self.get(&format!("api/products/{}", id.as_str()), &[])
            .await
    }

    pub async fn order(&self, id: &SupplierOrderId) -> Result<Order, SupplierError> {
        self.get(&format!("api/orders/{}", id.as_str()), &[]).await
    }

    /// One page of order history, newest first. An empty `statuses` asks for
    /// every status.
    pub async fn orders(
        &self,
        statuses: &[OrderStatus],
        limit: u32,
        offset: u32,
    ) -> Result<OrderPage, SupplierError> {
        let mut query = vec![
            ("limit", limit.clamp(1, 100).to_string()),
            ("offset", offset.to_string()),
        ];
        if !statuses.is_empty() {
            let list: Vec<&str> = statuses.iter().map(OrderStatus::as_str).collect();
            query.push(("statuses", list.join(",")));
        }
        let body = self
            .send(Call::Read, Method::GET, "api/orders/", &query, None)
            .await?;
        parse_order_page(&body).map_err(|e| read_garbage("order history", &e))
    }

    pub async fn balances(&self) -> Result<Vec<Balance>, SupplierError> {
        let balances: Vec<Balance> = self.get("api/access/me/balances/", &[]).await?;
        for b in &balances {
            crate::telemetry::metrics::supplier_balance(&b.currency, b.amount.decimal());
        }
        Ok(balances)
    }

    /// The balance in `currency`, or zero if the account has none in it.
    pub async fn balance(&self, currency: &str) -> Result<Money, SupplierError> {
        Ok(self
            .balances()
            .await?
            .into_iter()
            .find(|b| b.currency.eq_ignore_ascii_case(currency))
            .map(|b| b.amount)
            .unwrap_or(Money::ZERO))
    }

    // ---- writes ------------------------------------------------------------

    /// Waits for a write's turn in the budget (writes go before reads).
    pub async fn write_slot(&self) -> WriteSlot {
        self.budget.acquire(Priority::Write).await;
        WriteSlot { send_by: None }
    }

    /// `POST /api/orders/`. Sent once. An error that leaves its outcome open
    /// is [`SupplierError::Ambiguous`]: the order may exist.
    pub async fn create_order(
        &self,
        order: &NewOrder<'_>,
        slot: WriteSlot,
    ) -> Result<Order, SupplierError> {
        let mut line = json!({
            "itemId": order.item.as_str(),
            "quantity": order.quantity.get(),
        });
        if !order.note.is_empty() {
            line["note"] = json!(order.note.fields());
        }
        let mut body = json!({ "items": [line] });
        if let Some(total) = order.total_price {
            body["totalPrice"] = json!(total.to_string());
        }
        if self.mock_orders {
            body["isMock"] = json!(true);
        }
        let reply = self
            .send(
                Call::Write(slot),
                Method::POST,
                "api/orders/",
                &[],
                Some(body),
            )
            .await?;
        parse_write(&reply, "create order")
    }

    /// `POST /api/orders/{id}/pay` from the account balance. Sent once.
    pub async fn pay_order(
        &self,
        id: &SupplierOrderId,
        slot: WriteSlot,
    ) -> Result<Order, SupplierError> {
        let reply = self
            .send(
                Call::Write(slot),
                Method::POST,
                &format!("api/orders/{}/pay", id.as_str()),
                &[],
                Some(json!({ "paymentProvider": null })),
            )
            .await?;
        parse_write(&reply, "pay order")
    }

    // ---- plumbing ------------------------------------------------------------

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, SupplierError> {
        let body = self
            .send(Call::Read, Method::GET, path, query, None)
            .await?;
        serde_json::from_slice(&body).map_err(|e| read_garbage(path, &e))
    }

    /// Sends one request under the budget and returns a 2xx body; every
    /// other outcome becomes exactly one [`SupplierError`] class. Counted
    /// and timed by endpoint and outcome.
    async fn send(
        &self,
        call: Call,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<serde_json::Value>,
    ) -> Result<Vec<u8>, SupplierError> {
        let endpoint = endpoint_label(&method, path);
        let started = std::time::Instant::now();
        let result = self.send_once(call, method, path, query, body).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(SupplierError::Rejected(r)) if matches!(r.status, 401 | 403) => "auth",
            Err(SupplierError::Rejected(_)) => "rejected",
            Err(SupplierError::Ambiguous(_)) => "ambiguous",
            Err(SupplierError::RetryLater { reason, .. }) if reason.contains("(429)") => {
                "rate_limited"
            }
            Err(SupplierError::RetryLater { .. }) => "unavailable",
        };
        crate::telemetry::metrics::supplier_request(endpoint, outcome, started.elapsed());
        crate::telemetry::metrics::budget(
            self.budget.used_in_window(),
            self.budget.rate(),
            self.budget.writes_waiting(),
        );
        result
    }

    async fn send_once(
        &self,
        call: Call,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<serde_json::Value>,
    ) -> Result<Vec<u8>, SupplierError> {
        let url = self.base.join(path).map_err(|e| {
            SupplierError::Rejected(Rejection {
                status: 0,
                code: RejectCode::Invalid,
                detail: format!("bad request path: {e}"),
            })
        })?;
        let kind = self.take_turn(call).await?;
        let mut request = self
            .http
            .request(method, url)
            .header("X-API-Key", self.key.expose_secret())
            .header("X-Currency", "usd")
            .header("Accept", "application/json")
            .query(query);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Err(transport_error(kind, &e)),
        };
        let status = response.status();
        self.answered_at.store(
            crate::clock::Clock::now_ms(&crate::clock::SystemClock),
            std::sync::atomic::Ordering::Relaxed,
        );
        let retry_after = retry_after(response.headers());
        let body = read_body(response).await;

        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after
                .unwrap_or(DEFAULT_RETRY_AFTER)
                .min(Duration::from_secs(3600));
            self.budget.pause(wait);
            return Err(SupplierError::RetryLater {
                reason: "rate limited (429)".to_owned(),
                retry_after: Some(wait),
            });
        }
        classify(kind, status, retry_after, body)
    }

    /// A read takes its turn in the budget now. A write took its turn
    /// before its intent was committed; it goes now, or never.
    async fn take_turn(&self, call: Call) -> Result<Kind, SupplierError> {
        match call {
            Call::Read => {
                self.budget.acquire(Priority::Read).await;
                Ok(Kind::Read)
            }
            Call::Write(slot) if slot.too_late() => Err(SupplierError::RetryLater {
                reason: "not sent: its send-by instant had passed".to_owned(),
                retry_after: None,
            }),
            Call::Write(_) => Ok(Kind::Write),
        }
    }
}

/// A `Retry-After` given in seconds.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The class of a reply other than a 429: its body on a 2xx, else exactly
/// one [`SupplierError`], where only a write can be ambiguous.
fn classify(
    kind: Kind,
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Result<Vec<u8>, String>,
) -> Result<Vec<u8>, SupplierError> {
    if status.is_success() {
        return body.map_err(|why| match kind {
            Kind::Write => {
                SupplierError::Ambiguous(format!("{status} with an unreadable body: {why}"))
            }
            Kind::Read => SupplierError::RetryLater {
                reason: format!("{status} with an unreadable body: {why}"),
                retry_after: None,
            },
        });
    }
    // 5xx and 408 may come after the supplier did the work.
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        let reason = format!("supplier answered {status}");
        return Err(match kind {
            Kind::Write => SupplierError::Ambiguous(reason),
            Kind::Read => SupplierError::RetryLater {
                reason,
                retry_after,
            },
        });
    }
    let body = body.unwrap_or_default();
    Err(SupplierError::Rejected(Rejection::from_reply(
        status.as_u16(),
        &body,
    )))
}

/// The endpoint a request is for, as a metric label (never the raw path:
/// it carries ids).
fn endpoint_label(method: &Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "categories"]) => "categories",
        ("GET", ["api", "products"]) => "products",
        ("GET", ["api", "products", _]) => "product",
        ("GET", ["api", "orders"]) => "list_orders",
        ("POST", ["api", "orders"]) => "create_order",
        ("GET", ["api", "orders", _]) => "get_order",
        ("POST", ["api", "orders", _, "pay"]) => "pay_order",
        ("GET", ["api", "access", "me", "balances"]) => "balances",
        _ => "other",
    }
}

/// A transport failure: for a write, anything past connecting may have
/// reached the supplier.
fn transport_error(kind: Kind, e: &reqwest::Error) -> SupplierError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    if e.is_connect() || kind == Kind::Read {
        return SupplierError::RetryLater {
            reason: format!("supplier {what}"),
            retry_after: None,
        };
    }
    SupplierError::Ambiguous(format!("supplier {what} after the request was sent"))
}

/// Reads at most [`MAX_BODY`] bytes.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err("reply too large".to_owned());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err("reply too large".to_owned());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(if e.is_timeout() {
                    "timed out while reading".to_owned()
                } else {
                    "connection lost while reading".to_owned()
                });
            }
        }
    }
}

fn read_garbage(what: &str, e: &serde_json::Error) -> SupplierError {
    SupplierError::RetryLater {
        reason: format!("unparsable reply to {what}: {}", short(e)),
        retry_after: None,
    }
}

/// A 2xx body of a write that does not parse is not a success and not a
/// failure: the write may have been done.
fn parse_write(body: &[u8], what: &str) -> Result<Order, SupplierError> {
    serde_json::from_slice::<Order>(body)
        .map_err(|e| SupplierError::Ambiguous(format!("unparsable reply to {what}: {}", short(&e))))
}

/// The history reply is a page object or a bare array. Each row is parsed
/// on its own, so one malformed order cannot hide the others.
fn parse_order_page(body: &[u8]) -> Result<OrderPage, serde_json::Error> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let rows: Vec<serde_json::Value> = serde_json::from_slice(body)?;
        return Ok(OrderPage::from_rows(rows, None));
    }
    let page: OffsetPage<serde_json::Value> = serde_json::from_slice(body)?;
    Ok(OrderPage::from_rows(page.items, page.total))
}

/// A serde error without the offending input (it could hold a code).
fn short(e: &serde_json::Error) -> String {
    format!(
        "{:?} at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_history_shapes_parse() {
        let page =
            parse_order_page(br#"{"items":[{"id":"a","status":"paid"}],"total":9}"#).unwrap();
        assert_eq!(page.orders().count(), 1);
        assert_eq!(page.total, Some(9));
        let bare =
            parse_order_page(br#" [{"id":"a","status":"paid"},{"id":"b","status":"x"}]"#).unwrap();
        assert_eq!(bare.orders().count(), 2);
        assert_eq!(bare.total, None);
    }

    #[test]
    fn only_a_write_is_ambiguous_after_a_server_error_or_an_unreadable_reply() {
        let unreadable = || Err("connection lost while reading".to_owned());
        for (status, body) in [
            (StatusCode::INTERNAL_SERVER_ERROR, Ok(Vec::new())),
            (StatusCode::REQUEST_TIMEOUT, Ok(Vec::new())),
            (StatusCode::OK, unreadable()),
        ] {
            assert!(matches!(
                classify(Kind::Write, status, None, body.clone()),
                Err(SupplierError::Ambiguous(_))
            ));
            assert!(matches!(
                classify(Kind::Read, status, None, body),
                Err(SupplierError::RetryLater { .. })
            ));
        }
    }

    #[test]
    fn a_client_error_is_a_rejection_and_a_success_is_its_body() {
        for kind in [Kind::Read, Kind::Write] {
            assert!(matches!(
                classify(kind, StatusCode::BAD_REQUEST, None, Ok(b"{}".to_vec())),
                Err(SupplierError::Rejected(r)) if r.status == 400
            ));
            assert_eq!(
                classify(kind, StatusCode::OK, None, Ok(b"[]".to_vec())).unwrap(),
                b"[]"
            );
        }
    }

    #[test]
    fn an_unparsable_write_reply_is_ambiguous() {
        for body in [&b"{\"id\":"[..], b"<html>", b"{\"status\":\"active\"}", b""] {
            assert!(matches!(
                parse_write(body, "create"),
                Err(SupplierError::Ambiguous(_))
            ));
        }
    }

    #[test]
    fn deeply_nested_bodies_are_refused_without_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_order_page(deep.as_bytes()).is_err());
        // Nesting where an order's items belong: refused.
        let deep_items = format!(
            "{{\"id\":\"a\",\"status\":\"paid\",\"items\":{}1{}}}",
            "[".repeat(50_000),
            "]".repeat(50_000)
        );
        assert!(parse_write(deep_items.as_bytes(), "create").is_err());
        // Nesting in an unknown field is skipped without recursion: no crash.
        let deep_unknown = format!(
            "{{\"id\":\"a\",\"status\":\"paid\",\"x\":{}1{}}}",
            "[".repeat(50_000),
            "]".repeat(50_000)
        );
        let _ = parse_write(deep_unknown.as_bytes(), "create");
    }
}
