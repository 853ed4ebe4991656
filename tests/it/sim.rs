//! The FoxReload simulator serves the contract of `foxreload-api.md`, moves
//! orders with its clock, injects exact faults and keeps an honest ledger.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use foxbot::clock::ManualClock;
use foxbot::domain::Money;
use foxbot::foxreload::sim::{Endpoint, Fault, LedgerEntry, OrderOutcome, SimOptions, Simulator};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::wait_for;

const KEY: &str = "sim-key";
/// 2026-01-01T00:00:00Z, so timestamps look real.
const T0: i64 = 1_767_225_600_000;

struct Sim {
    sim: Simulator,
    clock: Arc<ManualClock>,
    http: Client,
}

async fn start() -> Sim {
    start_with(|_| {}).await
}

async fn start_with(configure: impl FnOnce(&mut SimOptions)) -> Sim {
    let clock = ManualClock::new(T0);
    let mut options = SimOptions {
        clock: clock.clone(),
        ..SimOptions::default()
    };
    configure(&mut options);
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), options)
        .await
        .expect("simulator starts");
    Sim {
        sim,
        clock,
        http: client(Duration::from_secs(10)),
    }
}

fn client(timeout: Duration) -> Client {
    Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("http client")
}

fn usd(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

impl Sim {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .header("X-API-Key", KEY)
            .send()
            .await
            .expect("GET answered");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("X-API-Key", KEY)
            .json(body)
            .send()
            .await
            .expect("POST answered");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// Creates an order and returns it, asserting 201.
    async fn create(&self, item: &str, quantity: i64, note: Option<Value>) -> Value {
        let mut line = json!({ "itemId": item, "quantity": quantity });
        if let Some(note) = note {
            line["note"] = note;
        }
        let (status, order) = self.post("/api/orders/", &json!({ "items": [line] })).await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        order
    }

    async fn pay(&self, id: &Value) -> (StatusCode, Value) {
        let id = id.as_str().expect("order id is a string");
        self.post(
            &format!("/api/orders/{id}/pay"),
            &json!({ "paymentProvider": null }),
        )
        .await
    }

    async fn status_of(&self, id: &Value) -> String {
        let (status, order) = self
            .get(&format!("/api/orders/{}", id.as_str().unwrap()))
            .await;
        assert_eq!(status, StatusCode::OK);
        order["status"].as_str().unwrap().to_owned()
    }

    fn create_request(&self, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/api/orders/"))
            .header("X-API-Key", KEY)
            .json(body)
    }
}

fn steam(quantity: i64) -> Value {
    json!({ "items": [{ "itemId": "product_steam_10", "quantity": quantity }] })
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// Whether the connection was reset (RST), as opposed to closed (FIN).
fn was_reset(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = e.source();
    }
    false
}

/// Sends raw bytes on a fresh connection and returns everything answered
/// until the server closes (or 5 s pass).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may refuse and close before all is written.
    let _ = stream.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends a create for one Steam card on a fresh connection and leaves the
/// connection open for its answer.
async fn send_create(addr: SocketAddr) -> TcpStream {
    let body = steam(1).to_string();
    let head = format!(
        "POST /api/orders/ HTTP/1.1\r\nHost: sim\r\nX-API-Key: {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .await
        .expect("request sent");
    stream
}

/// Everything answered on `stream` until the server closes it.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .expect("read the answer");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn catalog_reads_page_and_show_prices_as_the_contract_allows() {
    let s = start().await;

    let (status, page) = s.get("/api/categories/?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["limit"], 1);
    assert_eq!(page["items"][0]["slug"], "gift-cards");
    assert_eq!(page["items"][0]["parentId"], Value::Null);
    let cursor = page["nextCursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let (_, page) = s
        .get(&format!("/api/categories?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(page["items"][0]["slug"], "game-top-ups");
    assert_eq!(page["nextCursor"], Value::Null);
    let (_, children) = s.get("/api/categories/?parent_id_or_slug=gift-cards").await;
    assert_eq!(children["items"], json!([]));

    let (status, page) = s
        .get("/api/products/?category_id_or_slug=game-top-ups")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 2);
    let pubg = &page["items"][0];
    assert_eq!(pubg["id"], "product_pubg_60");
    assert!(pubg["price"].is_number(), "one price is a JSON number");
    assert_eq!(pubg["requiredNoteFields"], json!(["player_id"]));
    assert_eq!(page["items"][1]["noteFieldOptions"]["server"][0], "sg");
    // Exact, not a float's rendering.
    let text = s
        .http
        .get(s.url("/api/products/product_pubg_60"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("\"price\":0.99,"), "{text}");

    let (_, page) = s
        .get("/api/products?category_id_or_slug=cat_gift_cards&limit=2&offset=1")
        .await;
    assert_eq!(
        (page["total"].clone(), page["offset"].clone()),
        (json!(4), json!(1))
    );
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["product_gplay_25", "product_xbox_15"]);
    for field in [
        "id",
        "name",
        "slug",
        "categoryId",
        "description",
        "price",
        "currency",
        "quantity",
        "orderMinQuantity",
        "orderMaxQuantity",
        "requiredNoteFields",
        "noteFieldTypes",
        "noteFieldOptions",
    ] {
        assert!(page["items"][0].get(field).is_some(), "{field} missing");
    }
    for bad in ["limit=0", "limit=201", "limit=ten", "offset=-1"] {
        let (status, body) = s
            .get(&format!(
                "/api/products/?category_id_or_slug=gift-cards&{bad}"
            ))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(body["detail"].is_string());
    }
    let (status, body) = s.get("/api/products/?category_id_or_slug=nope").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "NOT_FOUND"));

    let (status, xbox) = s.get("/api/products/product_xbox_15/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(xbox["price"], Value::Null, "price known only at order time");
    assert_eq!(xbox["quantity"], Value::Null);
    let (status, body) = s.get("/api/products/product_nope").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (status, body) = s.get("/api/nothing/here").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let status = s
        .http
        .delete(s.url("/api/orders/"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    for id in [
        "product_steam_10",
        "product_gplay_25",
        "product_xbox_15",
        "product_psn_pin",
    ] {
        s.sim.set_stock(id, Some(0));
    }
    let (_, page) = s.get("/api/categories/?withStockOnly=true").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["slug"], "game-top-ups");
    assert_eq!(s.sim.request_count(Endpoint::Categories), 4);
    assert_eq!(s.sim.request_count(Endpoint::Product), 3);
}

#[tokio::test]
async fn requests_without_the_right_key_get_401_and_change_nothing() {
    let s = start().await;
    for key in [None, Some("wrong-key")] {
        let mut request = s.http.post(s.url("/api/orders/")).json(&steam(1));
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert!(body["detail"].is_string());
    }
    assert!(s.sim.orders().is_empty());
    assert!(s.sim.ledger().is_empty());
    assert_eq!(s.sim.request_count(Endpoint::CreateOrder), 2);
}

#[tokio::test]
async fn creating_does_not_debit_and_paying_debits_exactly_once() {
    let s = start().await;
    let note = json!({ "player_id": 12345, "server": "sg", "extra": [1, {"a": null}] });
    let (status, order) = s
        .post(
            "/api/orders/",
            &json!({
                "items": [{ "itemId": "product_ff_100", "quantity": 2, "note": note }],
                "isMock": true,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(order["status"], "active");
    assert!(uuid::Uuid::parse_str(order["id"].as_str().unwrap()).is_ok());
    assert_eq!(order["totalPrice"], "2.10");
    assert_eq!(order["currency"], "USD");
    assert_eq!(order["isMock"], true);
    assert_eq!(order["cancelReason"], Value::Null);
    assert_eq!(order["items"][0]["itemId"], "product_ff_100");
    assert_eq!(order["items"][0]["quantity"], 2);
    assert_eq!(
        order["items"][0]["note"], note,
        "the note is echoed as sent"
    );
    assert_eq!(order["items"][0]["externalData"], json!([]));
    assert_eq!(order["items"][0]["error"], Value::Null);
    let time = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(order[field].as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    assert_eq!(time("createdAt"), T0);
    assert_eq!(time("paymentExpiresAt"), T0 + 15 * 60 * 1000);
    assert_eq!(s.sim.balance(), usd("1000"), "creating does not debit");

    let (status, paid) = s.pay(&order["id"]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(paid["status"], "paid");
    assert_eq!(s.sim.balance(), usd("997.90"));

    let (status, again) = s.pay(&order["id"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&again), "ORDER_PAYMENT_NOT_POSSIBLE");
    assert_eq!(s.sim.balance(), usd("997.90"));

    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(
        s.sim.ledger(),
        vec![
            LedgerEntry::OrderCreated {
                order_id: id.clone(),
                item_id: "product_ff_100".to_owned(),
                quantity: 2,
                note: note.clone(),
                total: usd("2.10"),
                at: T0,
            },
            LedgerEntry::OrderPaid {
                order_id: id.clone(),
                amount: usd("2.10"),
                at: T0,
            },
        ]
    );
    let sim_order = s.sim.order(&id).unwrap();
    assert!(sim_order.paid);
    assert_eq!(sim_order.note, note);

    let (status, body) = s.pay(&json!("6d0c8a52-0000-4000-8000-000000000000")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let other = s.create("product_steam_10", 1, None).await;
    let (status, _) = s
        .post(
            &format!("/api/orders/{}/pay", other["id"].as_str().unwrap()),
            &json!({ "paymentProvider": "card" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!s.sim.order(other["id"].as_str().unwrap()).unwrap().paid);
}

#[tokio::test]
async fn paid_orders_complete_with_one_code_per_unit_as_the_clock_moves() {
    let s = start_with(|o| o.default_outcome = OrderOutcome::complete(secs(30))).await;
    let order = s
        .create(
            "product_pubg_60",
            3,
            Some(json!({ "player_id": "5551234" })),
        )
        .await;
    let id = order["id"].clone();
    s.pay(&id).await;
    assert_eq!(s.status_of(&id).await, "paid");
    s.clock.advance(secs(10));
    assert_eq!(s.status_of(&id).await, "processing");
    s.clock.advance(secs(19));
    assert_eq!(s.status_of(&id).await, "processing");
    s.clock.advance(secs(1));
    let (_, done) = s
        .get(&format!("/api/orders/{}", id.as_str().unwrap()))
        .await;
    assert_eq!(done["status"], "completed");
    let codes = done["items"][0]["externalData"].as_array().unwrap().clone();
    assert_eq!(codes.len(), 3);
    for c in &codes {
        let text = c.as_str().expect("codes are strings");
        assert!(text.starts_with("FOX-") && text.len() == 18, "{text}");
    }
    assert_ne!(codes[0], codes[1]);
    let (_, again) = s
        .get(&format!("/api/orders/{}", id.as_str().unwrap()))
        .await;
    assert_eq!(
        again["items"][0]["externalData"],
        json!(codes),
        "codes are stable"
    );
    assert_eq!(s.sim.order(id.as_str().unwrap()).unwrap().codes, codes);

    let psn = s.create("product_psn_pin", 2, None).await;
    s.pay(&psn["id"]).await;
    s.clock.advance(secs(30));
    let (_, done) = s
        .get(&format!("/api/orders/{}", psn["id"].as_str().unwrap()))
        .await;
    assert_eq!(done["status"], "completed");
    let codes = done["items"][0]["externalData"].as_array().unwrap();
    assert_eq!(codes.len(), 2);
    assert!(codes[0]["code"].is_string() && codes[0]["pin"].is_string());
    // 1000 - 3 × 0.99 - 2 × 18.40
    assert_eq!(s.sim.balance(), usd("960.23"));
}

#[tokio::test]
async fn failed_and_cancelled_orders_give_the_money_back_once() {
    let s = start().await;
    s.sim.push_outcome(OrderOutcome::fail(secs(6)));
    s.sim.push_outcome(OrderOutcome::cancel(secs(6)));
    let failing = s.create("product_steam_10", 1, None).await;
    let cancelling = s.create("product_gplay_25", 1, None).await;
    s.pay(&failing["id"]).await;
    s.pay(&cancelling["id"]).await;
    assert_eq!(s.sim.balance(), usd("967.05"));

    s.clock.advance(secs(6));
    let (_, failed) = s
        .get(&format!("/api/orders/{}", failing["id"].as_str().unwrap()))
        .await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["items"][0]["error"].is_string());
    let (_, cancelled) = s
        .get(&format!(
            "/api/orders/{}",
            cancelling["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelReason"], "payment_failure");
    assert_eq!(s.sim.balance(), usd("1000"));

    s.clock.advance(secs(600));
    s.get(&format!("/api/orders/{}", failing["id"].as_str().unwrap()))
        .await;
    assert_eq!(s.sim.balance(), usd("1000"), "returned once");
    let returns: Vec<_> = s
        .sim
        .ledger()
        .into_iter()
        .filter(|e| matches!(e, LedgerEntry::OrderReturned { .. }))
        .collect();
    assert_eq!(
        returns,
        vec![
            LedgerEntry::OrderReturned {
                order_id: failing["id"].as_str().unwrap().to_owned(),
                amount: usd("9.20"),
                at: T0 + 6_000,
            },
            LedgerEntry::OrderReturned {
                order_id: cancelling["id"].as_str().unwrap().to_owned(),
                amount: usd("23.75"),
                at: T0 + 6_000,
            },
        ]
    );
}

#[tokio::test]
async fn a_stalled_order_stays_processing() {
    let s = start().await;
    s.sim
        .set_product_outcome("product_steam_10", OrderOutcome::stall(secs(3)));
    let order = s.create("product_steam_10", 1, None).await;
    s.pay(&order["id"]).await;
    s.clock.advance(secs(3600));
    assert_eq!(s.status_of(&order["id"]).await, "processing");
    // Other products keep the default outcome.
    let other = s.create("product_gplay_25", 1, None).await;
    s.pay(&other["id"]).await;
    s.clock.advance(secs(2));
    assert_eq!(s.status_of(&other["id"]).await, "completed");
    assert_eq!(s.status_of(&order["id"]).await, "processing");
}

#[tokio::test]
async fn unpaid_orders_expire_and_then_cannot_be_paid() {
    let s = start_with(|o| o.payment_window = secs(60)).await;
    let order = s.create("product_steam_10", 1, None).await;
    s.clock.advance(secs(59));
    assert_eq!(s.status_of(&order["id"]).await, "active");
    s.clock.advance(secs(1));
    let (_, expired) = s
        .get(&format!("/api/orders/{}", order["id"].as_str().unwrap()))
        .await;
    assert_eq!(expired["status"], "cancelled");
    assert_eq!(expired["cancelReason"], "payment_expiration");
    let (status, body) = s.pay(&order["id"]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "ORDER_PAYMENT_NOT_POSSIBLE")
    );
    assert_eq!(s.sim.balance(), usd("1000"));
    assert!(
        !s.sim
            .ledger()
            .iter()
            .any(|e| matches!(e, LedgerEntry::OrderPaid { .. }))
    );

    // Paying is refused the moment the window closes, even if nobody read
    // the order in between.
    let late = s.create("product_steam_10", 1, None).await;
    s.clock.advance(secs(60));
    let (_, body) = s.pay(&late["id"]).await;
    assert_eq!(code(&body), "ORDER_PAYMENT_NOT_POSSIBLE");
}

#[tokio::test]
async fn invalid_orders_are_refused_and_create_nothing() {
    let s = start().await;
    s.sim.set_stock("product_steam_10", Some(1));
    let eleven: Vec<Value> = (0..11)
        .map(|_| json!({ "itemId": "product_gplay_25", "quantity": 1 }))
        .collect();
    let pubg = |note: Value| json!({ "items": [{ "itemId": "product_pubg_60", "quantity": 1, "note": note }] });
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({ "items": [] }), StatusCode::UNPROCESSABLE_ENTITY, ""),
        (
            json!({ "items": eleven }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, ""),
        (json!([1, 2]), StatusCode::UNPROCESSABLE_ENTITY, ""),
        (
            json!({ "items": [{ "itemId": "product_gplay_25", "quantity": "1" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            json!({ "items": [{ "itemId": "product_gplay_25", "quantity": 1.5 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            json!({ "items": [{ "itemId": "product_gplay_25", "quantity": 0 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            json!({ "items": [{ "itemId": "product_gplay_25", "quantity": 11 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            json!({ "items": [{ "itemId": "product_nope", "quantity": 1 }] }),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            json!({ "items": [{ "itemId": "product_pubg_60", "quantity": 1 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            pubg(json!({ "player_id": "  " })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            pubg(json!({ "playerId": "1" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (pubg(json!(["1"])), StatusCode::UNPROCESSABLE_ENTITY, ""),
        (
            json!({ "items": [{ "itemId": "product_ff_100", "quantity": 1,
                "note": { "player_id": "1", "server": "mars" } }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            json!({ "items": [{ "itemId": "product_steam_10", "quantity": 2 }] }),
            StatusCode::BAD_REQUEST,
            "OUT_OF_STOCK",
        ),
        (
            json!({ "items": [{ "itemId": "product_gplay_25", "quantity": 1 }], "totalPrice": "abc" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
    ];
    for (body, want, want_code) in cases {
        let (status, answer) = s.post("/api/orders/", &body).await;
        assert_eq!(status, want, "{body} → {answer}");
        assert!(answer["detail"].is_string(), "{answer}");
        assert_eq!(code(&answer), want_code, "{body} → {answer}");
    }
    let response = s
        .http
        .post(s.url("/api/orders/"))
        .header("X-API-Key", KEY)
        .header("Content-Type", "application/json")
        .body("{\"items\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(s.sim.orders().is_empty());
    assert!(s.sim.ledger().is_empty());
}

#[tokio::test]
async fn a_changed_price_is_refused_with_offer_price_not_matched() {
    let s = start().await;
    let mut body = steam(2);
    body["totalPrice"] = json!("18.40");
    assert_eq!(s.post("/api/orders/", &body).await.0, StatusCode::CREATED);
    body["totalPrice"] = json!(18.4);
    assert_eq!(s.post("/api/orders/", &body).await.0, StatusCode::CREATED);

    s.sim.set_price("product_steam_10", Some(usd("9.50")));
    body["totalPrice"] = json!("18.40");
    let (status, answer) = s.post("/api/orders/", &body).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "OFFER_PRICE_NOT_MATCHED")
    );
    assert_eq!(s.sim.orders().len(), 2, "a refused offer creates nothing");
    let fresh = s.create("product_steam_10", 2, None).await;
    assert_eq!(fresh["totalPrice"], "19.00");
    let (_, product) = s.get("/api/products/product_steam_10").await;
    assert_eq!(product["price"], "9.50");

    // A null catalog price is still a price at order time.
    let xbox = s.create("product_xbox_15", 1, None).await;
    assert_eq!(xbox["totalPrice"], "13.10");
    s.sim.set_price("product_gplay_25", None);
    let (_, product) = s.get("/api/products/product_gplay_25").await;
    assert_eq!(product["price"], Value::Null);
    let gplay = s.create("product_gplay_25", 1, None).await;
    assert_eq!(gplay["totalPrice"], "23.75");
}

#[tokio::test]
async fn too_little_balance_refuses_create_and_pay() {
    let s = start_with(|o| o.balance = usd("10")).await;
    let (status, answer) = s.post("/api/orders/", &steam(2)).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "BALANCE_NOT_ENOUGH")
    );
    assert!(s.sim.orders().is_empty(), "nothing created");

    let first = s.create("product_steam_10", 1, None).await;
    let second = s.create("product_steam_10", 1, None).await;
    assert_eq!(s.pay(&first["id"]).await.0, StatusCode::OK);
    assert_eq!(s.sim.balance(), usd("0.80"));
    let (status, answer) = s.pay(&second["id"]).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "BALANCE_NOT_ENOUGH")
    );
    assert_eq!(s.status_of(&second["id"]).await, "active");
    assert_eq!(s.sim.balance(), usd("0.80"));

    s.sim.set_balance(usd("100"));
    assert_eq!(s.pay(&second["id"]).await.0, StatusCode::OK);
    assert_eq!(s.sim.balance(), usd("90.80"));
    assert!(s.sim.ledger().contains(&LedgerEntry::BalanceSet {
        amount: usd("100"),
        at: T0
    }));
}

#[tokio::test]
async fn auto_pay_accounts_answer_paid_at_creation() {
    let s = start_with(|o| o.auto_pay = true).await;
    let order = s.create("product_steam_10", 1, None).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(s.sim.balance(), usd("990.80"));
    let (_, again) = s.pay(&order["id"]).await;
    assert_eq!(code(&again), "ORDER_PAYMENT_NOT_POSSIBLE");
    assert_eq!(s.sim.balance(), usd("990.80"));
    assert!(matches!(
        s.sim.ledger()[..],
        [
            LedgerEntry::OrderCreated { .. },
            LedgerEntry::OrderPaid { .. }
        ]
    ));

    s.sim.set_auto_pay(false);
    let order = s.create("product_steam_10", 1, None).await;
    assert_eq!(order["status"], "active");
}

#[tokio::test]
async fn the_order_list_is_newest_first_filtered_and_paged() {
    let s = start().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let order = s.create("product_steam_10", 1, None).await;
        ids.push(order["id"].as_str().unwrap().to_owned());
        s.clock.advance(secs(1));
    }
    // Two orders in the same millisecond: the later one is newer.
    let same_ms = s.create("product_gplay_25", 1, None).await;
    ids.push(same_ms["id"].as_str().unwrap().to_owned());
    let last = s.create("product_gplay_25", 1, None).await;
    ids.push(last["id"].as_str().unwrap().to_owned());
    s.pay(&json!(ids[0])).await;
    s.pay(&json!(ids[1])).await;

    let listed = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, page) = s.get("/api/orders/?limit=3&offset=0").await;
    assert_eq!(page["total"], 7);
    assert_eq!(
        (page["limit"].clone(), page["offset"].clone()),
        (json!(3), json!(0))
    );
    assert_eq!(
        listed(&page),
        [ids[6].clone(), ids[5].clone(), ids[4].clone()]
    );
    let (_, page) = s.get("/api/orders?limit=3&offset=6").await;
    assert_eq!(listed(&page), [ids[0].clone()]);
    let (_, page) = s.get("/api/orders/?statuses=paid").await;
    assert_eq!(listed(&page), [ids[1].clone(), ids[0].clone()]);
    assert_eq!(page["total"], 2);
    let (_, page) = s.get("/api/orders/?statuses=active%2Cpaid&limit=50").await;
    assert_eq!(page["total"], 7);
    let (_, page) = s.get("/api/orders/?statuses=completed").await;
    assert_eq!(page["total"], 0);
    // Status is computed at read time.
    s.clock.advance(secs(2));
    let (_, page) = s.get("/api/orders/?statuses=completed,processing").await;
    assert_eq!(listed(&page), [ids[1].clone(), ids[0].clone()]);
    for bad in ["limit=101", "limit=0", "offset=x"] {
        let (status, _) = s.get(&format!("/api/orders/?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(s.sim.request_count(Endpoint::ListOrders), 9);
}

#[tokio::test]
async fn new_orders_reach_the_list_only_after_the_lag() {
    let s = start_with(|o| o.list_lag = secs(30)).await;
    let order = s.create("product_steam_10", 1, None).await;
    assert_eq!(
        s.status_of(&order["id"]).await,
        "active",
        "GET by id sees it"
    );
    let total = |page: Value| page["total"].as_u64().unwrap();
    assert_eq!(total(s.get("/api/orders/").await.1), 0);
    s.clock.advance(secs(29));
    assert_eq!(total(s.get("/api/orders/").await.1), 0);
    s.clock.advance(secs(1));
    assert_eq!(total(s.get("/api/orders/").await.1), 1);
    s.sim.set_list_lag(Duration::ZERO);
    s.create("product_steam_10", 1, None).await;
    assert_eq!(total(s.get("/api/orders/").await.1), 2);
}

#[tokio::test]
async fn bare_list_mode_answers_an_array() {
    let s = start_with(|o| o.bare_list = true).await;
    let a = s.create("product_steam_10", 1, None).await;
    s.clock.advance(secs(1));
    let b = s.create("product_steam_10", 1, None).await;
    let (status, list) = s.get("/api/orders/?limit=1&offset=1").await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().expect("a bare array");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], a["id"]);
    let (_, list) = s.get("/api/orders/").await;
    assert_eq!(list[0]["id"], b["id"]);
}

#[tokio::test]
async fn balances_name_the_field_as_configured() {
    let s = start().await;
    let (status, balances) = s.get("/api/access/me/balances/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        balances,
        json!([{ "currency": "USD", "amount": "1000.00" }])
    );
    let s = start_with(|o| o.balance_field = "available").await;
    s.sim.set_balance(usd("12.5"));
    let (_, balances) = s.get("/api/access/me/balances").await;
    assert_eq!(
        balances,
        json!([{ "currency": "USD", "available": "12.50" }])
    );
}

#[tokio::test]
async fn a_dropped_create_response_still_creates_the_order() {
    let s = start().await;
    s.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let error = s.create_request(&steam(1)).send().await.unwrap_err();
    assert!(!error.is_timeout() && !was_reset(&error), "{error:?}");
    let orders = s.sim.orders();
    assert_eq!(orders.len(), 1, "the supplier committed");
    assert_eq!(orders[0].status, "active");
    assert!(matches!(
        s.sim.ledger()[..],
        [LedgerEntry::OrderCreated { .. }]
    ));
    assert_eq!(s.sim.request_count(Endpoint::CreateOrder), 1);
    // The fault is spent.
    s.create("product_steam_10", 1, None).await;
    assert_eq!(s.sim.orders().len(), 2);
}

#[tokio::test]
async fn server_errors_before_commit_do_nothing_and_after_commit_do_everything() {
    let s = start().await;
    s.sim
        .push_fault(Endpoint::CreateOrder, Fault::ServerErrorBeforeCommit(503));
    let response = s.create_request(&steam(1)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(s.sim.orders().is_empty());
    assert!(s.sim.ledger().is_empty());

    let order = s.create("product_steam_10", 1, None).await;
    s.sim
        .push_fault(Endpoint::PayOrder, Fault::ServerErrorAfterCommit(500));
    let (status, _) = s.pay(&order["id"]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(s.sim.balance(), usd("990.80"), "paid despite the 500");
    let (_, again) = s.pay(&order["id"]).await;
    assert_eq!(code(&again), "ORDER_PAYMENT_NOT_POSSIBLE");
    assert_eq!(s.sim.balance(), usd("990.80"));
}

#[tokio::test]
async fn resets_before_commit_do_nothing_and_after_commit_keep_the_order() {
    let s = start().await;
    s.sim
        .push_fault(Endpoint::CreateOrder, Fault::ResetBeforeCommit);
    let error = s.create_request(&steam(1)).send().await.unwrap_err();
    assert!(was_reset(&error), "{error:?}");
    assert!(s.sim.orders().is_empty());

    s.sim
        .push_fault(Endpoint::CreateOrder, Fault::ResetAfterCommit);
    let error = s.create_request(&steam(1)).send().await.unwrap_err();
    assert!(was_reset(&error), "{error:?}");
    assert_eq!(s.sim.orders().len(), 1);
    assert_eq!(s.sim.request_count(Endpoint::CreateOrder), 2);
}

#[tokio::test]
async fn a_malformed_success_body_follows_a_real_commit() {
    let s = start().await;
    s.sim
        .push_fault(Endpoint::CreateOrder, Fault::MalformedAfterCommit);
    let response = s.create_request(&steam(1)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(s.sim.orders().len(), 1);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_and_do_nothing() {
    let s = start().await;
    s.sim.push_fault(
        Endpoint::CreateOrder,
        Fault::RateLimited {
            retry_after_secs: 7,
        },
    );
    let response = s.create_request(&steam(1)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
    assert!(s.sim.orders().is_empty());
    s.create("product_steam_10", 1, None).await;
    assert_eq!(s.sim.orders().len(), 1);
}

// The delay tests run on this test's single thread, as the simulator does:
// between two awaits of the test the simulator cannot move, so what the test
// sees right after a `wait_for` is the simulator's state at that moment,
// however loaded the machine (no real-time timeout races the server).

#[tokio::test]
async fn a_create_delayed_before_commit_lands_later_then_is_answered() {
    let s = start().await;
    s.sim
        .push_fault(Endpoint::CreateOrder, Fault::DelayBeforeCommit(secs(1)));
    let mut stream = send_create(s.sim.addr()).await;
    wait_for("the create to arrive", secs(10), || async {
        (s.sim.request_count(Endpoint::CreateOrder) == 1).then_some(())
    })
    .await;
    assert!(s.sim.orders().is_empty(), "not committed during the delay");
    wait_for("the delayed create to land", secs(10), || async {
        (s.sim.orders().len() == 1).then_some(())
    })
    .await;
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");
    assert!(answer.contains(&s.sim.orders()[0].id), "{answer}");
}

#[tokio::test]
async fn a_delayed_answer_comes_after_the_order_exists() {
    let s = start().await;
    s.sim
        .push_fault(Endpoint::CreateOrder, Fault::DelayAfterCommit(secs(60)));
    let stream = send_create(s.sim.addr()).await;
    wait_for("the order to be committed", secs(10), || async {
        (s.sim.orders().len() == 1).then_some(())
    })
    .await;
    let stream = stream.into_std().expect("a std stream");
    let mut byte = [0u8; 1];
    let unanswered = stream.peek(&mut byte).map_err(|e| e.kind());
    assert_eq!(
        unanswered,
        Err(std::io::ErrorKind::WouldBlock),
        "committed, not answered yet"
    );
    // Shutting down abandons the delayed answer: the connection just closes.
    s.sim.shutdown();
    let mut stream = TcpStream::from_std(stream).expect("a tokio stream");
    assert_eq!(read_answer(&mut stream).await, "");
    assert_eq!(s.sim.orders().len(), 1);
}

#[tokio::test]
async fn a_parked_create_goes_unanswered_and_lands_only_when_released() {
    let s = start().await;
    s.sim.push_fault(Endpoint::CreateOrder, Fault::Park);
    let error = s.create_request(&steam(1)).send().await.unwrap_err();
    assert!(!error.is_timeout() && !was_reset(&error), "{error:?}");
    assert!(s.sim.orders().is_empty(), "held, not done");
    assert_eq!(s.sim.request_count(Endpoint::CreateOrder), 1);

    s.clock.advance(secs(20));
    assert_eq!(s.sim.release_parked(), 1);
    let orders = s.sim.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].created_at, T0 + 20_000, "made when released");
    assert!(matches!(
        s.sim.ledger()[..],
        [LedgerEntry::OrderCreated { .. }]
    ));
    assert_eq!(s.sim.release_parked(), 0, "released once");
    // The fault is spent.
    s.create("product_steam_10", 1, None).await;
    assert_eq!(s.sim.orders().len(), 2);
}

#[tokio::test]
async fn faults_apply_per_endpoint_in_order() {
    let s = start().await;
    s.sim
        .push_fault(Endpoint::Product, Fault::ServerErrorBeforeCommit(502));
    s.sim.push_fault(
        Endpoint::Product,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    assert_eq!(s.get("/api/categories/").await.0, StatusCode::OK);
    let statuses = {
        let mut out = Vec::new();
        for _ in 0..3 {
            let response = s
                .http
                .get(s.url("/api/products/product_steam_10"))
                .header("X-API-Key", KEY)
                .send()
                .await
                .unwrap();
            out.push(response.status().as_u16());
        }
        out
    };
    assert_eq!(statuses, [502, 429, 200]);
    assert_eq!(s.sim.request_count(Endpoint::Product), 3);
    assert_eq!(s.sim.request_count(Endpoint::Categories), 1);
}

#[tokio::test]
async fn chaos_replays_the_same_faults_for_the_same_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let s = start().await;
        s.sim.set_chaos(
            seed,
            0.5,
            vec![
                Fault::ServerErrorBeforeCommit(503),
                Fault::RateLimited {
                    retry_after_secs: 1,
                },
            ],
        );
        let mut out = Vec::new();
        for _ in 0..40 {
            let response = s
                .http
                .get(s.url("/api/products/product_steam_10"))
                .header("X-API-Key", KEY)
                .send()
                .await
                .unwrap();
            out.push(response.status().as_u16());
        }
        s.sim.set_chaos(seed, 0.0, vec![Fault::ResetBeforeCommit]);
        assert_eq!(
            s.get("/api/products/product_steam_10").await.0,
            StatusCode::OK
        );
        out
    }
    let first = run(42).await;
    assert_eq!(first, run(42).await);
    assert_ne!(first, run(43).await);
    for status in [200, 503, 429] {
        assert!(first.contains(&status), "{first:?} lacks {status}");
    }
}

#[tokio::test]
async fn hostile_input_never_takes_the_simulator_down() {
    let s = start().await;
    let addr = s.sim.addr();
    let huge_header = [
        b"GET /api/categories/ HTTP/1.1\r\nX-Junk: ".to_vec(),
        vec![b'a'; 20 * 1024],
        b"\r\n\r\n".to_vec(),
    ]
    .concat();
    assert!(raw(addr, &huge_header).await.starts_with("HTTP/1.1 431 "));
    let too_long =
        b"POST /api/orders/ HTTP/1.1\r\nX-API-Key: sim-key\r\nContent-Length: 2097152\r\n\r\n";
    assert!(raw(addr, too_long).await.starts_with("HTTP/1.1 413 "));
    assert!(
        raw(addr, b"\x00\x01\x02 garbage\r\n\r\n")
            .await
            .starts_with("HTTP/1.1 400 ")
    );
    assert!(
        raw(addr, b"GET /api/\xff\xfe HTTP/1.1\r\n\r\n")
            .await
            .starts_with("HTTP/1.1 400 ")
    );
    let body = b"{\"items\":[{\"itemId\":\"\xff\xfe\xfd\",\"quantity\":1}]}";
    let bad_utf8 = [
        format!(
            "POST /api/orders/ HTTP/1.1\r\nX-API-Key: sim-key\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes(),
        body.to_vec(),
    ]
    .concat();
    let answer = raw(addr, &bad_utf8).await;
    assert!(answer.starts_with("HTTP/1.1 422 "), "{answer}");

    let deep = "[".repeat(100_000);
    let nested_bodies = [
        deep.clone(),
        format!(
            "{{\"items\":[{{\"itemId\":\"product_steam_10\",\"quantity\":1,\"note\":{deep}}}]}}"
        ),
        format!("{{\"junk\":{deep}, \"items\": []}}"),
        "{\"items\":[{\"itemId\":{\"$gt\":\"\"},\"quantity\":1e308}]}".to_owned(),
        "{\"items\":[{\"itemId\":\"product_steam_10\",\"quantity\":99999999999999999999999}]}"
            .to_owned(),
        "{\"items\":[{\"itemId\":\"product_steam_10\",\"quantity\":1}],\"totalPrice\":1e400}"
            .to_owned(),
    ];
    for body in nested_bodies {
        let response = s
            .http
            .post(s.url("/api/orders/"))
            .header("X-API-Key", KEY)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            &body[..body.len().min(80)]
        );
    }
    let response = s
        .http
        .post(s.url("/api/orders/x/pay"))
        .header("X-API-Key", KEY)
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Keep-alive: two requests on one connection, both answered.
    let two = b"GET /api/products/product_steam_10 HTTP/1.1\r\nX-API-Key: sim-key\r\n\r\n\
GET /api/products/product_nope HTTP/1.1\r\nX-API-Key: sim-key\r\nConnection: close\r\n\r\n";
    let answer = raw(addr, two).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 2, "{answer}");
    assert!(answer.contains("HTTP/1.1 404 Not Found"));

    assert_eq!(s.get("/api/categories/").await.0, StatusCode::OK);
    assert!(s.sim.orders().is_empty());
}

#[tokio::test]
async fn control_endpoints_show_the_ledger_and_set_the_balance() {
    let s = start().await;
    let response = s
        .http
        .post(s.url("/_sim/balance"))
        .json(&json!({ "amount": "100" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(s.sim.balance(), usd("100"));
    let response = s
        .http
        .post(s.url("/_sim/balance"))
        .json(&json!({ "amount": "lots" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let order = s.create("product_steam_10", 1, None).await;
    let ledger: Value = s
        .http
        .get(s.url("/_sim/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger[0]["kind"], "balance_set");
    assert_eq!(ledger[0]["amount"], "100");
    assert_eq!(ledger[1]["kind"], "order_created");
    let orders: Value = s
        .http
        .get(s.url("/_sim/orders/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders[0]["id"], order["id"]);
    assert_eq!(orders[0]["status"], "active");
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let s = start().await;
    assert_eq!(s.get("/api/categories/").await.0, StatusCode::OK);
    s.sim.shutdown();
    let fresh = client(secs(2));
    wait_for("the simulator to stop answering", secs(5), || async {
        fresh
            .get(s.url("/api/categories/"))
            .header("X-API-Key", KEY)
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
}
