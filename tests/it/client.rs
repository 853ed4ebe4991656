//! The FoxReload client against the simulator: every endpoint, every fault
//! class landing in the right error class, and hostile replies refused
//! without panics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use foxbot::domain::{Money, Note, ProductId, Quantity, SupplierOrderId};
use foxbot::foxreload::sim::{Endpoint, Fault, SimOptions, Simulator};
use foxbot::foxreload::{
    Budget, ClientOptions, FoxReload, NewOrder, OrderStatus, RejectCode, SupplierError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::rig::KEY;

/// Ordinary calls: long enough that none runs out on a loaded machine.
const PATIENT: Duration = Duration::from_secs(30);
/// Calls meant to time out, against a delay far longer still ([`STALL`]):
/// however late this timer fires, the answer comes later.
const IMPATIENT: Duration = Duration::from_secs(1);
const STALL: Duration = Duration::from_secs(120);

async fn sim(options: SimOptions) -> Simulator {
    let options = SimOptions {
        api_key: KEY.to_owned(),
        ..options
    };
    Simulator::start("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap()
}

fn client_for(base: &str, key: &str) -> FoxReload {
    client_with(base, key, PATIENT)
}

fn client_with(base: &str, key: &str, timeout: Duration) -> FoxReload {
    FoxReload::new(
        ClientOptions {
            base_url: base.parse().unwrap(),
            api_key: key.to_owned().into(),
            timeout,
            mock_orders: false,
        },
        Arc::new(Budget::new(60_000)),
    )
    .unwrap()
}

fn steam() -> ProductId {
    ProductId::parse("product_steam_10").unwrap()
}

fn order_of(item: &ProductId) -> NewOrder<'_> {
    static EMPTY: std::sync::OnceLock<Note> = std::sync::OnceLock::new();
    NewOrder {
        item,
        quantity: Quantity::new(1).unwrap(),
        note: EMPTY.get_or_init(Note::default),
        total_price: None,
    }
}

fn is_ambiguous(r: &Result<impl std::fmt::Debug, SupplierError>) -> bool {
    matches!(r, Err(SupplierError::Ambiguous(_)))
}

fn is_retry_later(r: &Result<impl std::fmt::Debug, SupplierError>) -> bool {
    matches!(r, Err(SupplierError::RetryLater { .. }))
}

fn rejected_with<T: std::fmt::Debug>(r: &Result<T, SupplierError>) -> RejectCode {
    match r {
        Err(SupplierError::Rejected(rej)) => rej.code.clone(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn every_endpoint_reads_the_simulated_catalog_and_orders() {
    let s = sim(SimOptions::default()).await;
    let c = client_for(&s.base_url(), KEY);

    let cats = c.categories(None).await.unwrap();
    let slugs: Vec<String> = cats.items.iter().filter_map(|c| c.slug.clone()).collect();
    assert!(slugs.contains(&"gift-cards".to_owned()), "{slugs:?}");

    let products = c.products("game-top-ups", 200, 0).await.unwrap();
    let pubg = products
        .items
        .iter()
        .find(|p| p.id.as_str() == "product_pubg_60")
        .expect("pubg listed");
    assert_eq!(
        pubg.price,
        Some(Money::parse("0.99").unwrap()),
        "a JSON number, exactly"
    );
    assert_eq!(pubg.required_note_fields, ["player_id"]);
    let xbox = c
        .product(&ProductId::parse("product_xbox_15").unwrap())
        .await
        .unwrap();
    assert_eq!(xbox.price, None, "price known only at order time");

    let order = c
        .create_order(&order_of(&steam()), c.write_slot().await)
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Active);
    let paid = c.pay_order(&order.id, c.write_slot().await).await.unwrap();
    assert!(paid.status.is_paid_or_later());
    let again = c.order(&order.id).await.unwrap();
    assert_eq!(again.id, order.id);
    let history = c
        .orders(&[OrderStatus::Paid, OrderStatus::Processing], 50, 0)
        .await
        .unwrap();
    assert_eq!(history.rows.len(), 1);
    assert_eq!(history.total, Some(1));
    let balance = c.balance("USD").await.unwrap();
    assert_eq!(balance, Money::parse("990.80").unwrap());
}

#[tokio::test]
async fn history_and_balances_parse_in_every_documented_shape() {
    for field in ["amount", "available", "balance"] {
        let s = sim(SimOptions {
            bare_list: true,
            balance_field: field,
            ..SimOptions::default()
        })
        .await;
        let c = client_for(&s.base_url(), KEY);
        c.create_order(&order_of(&steam()), c.write_slot().await)
            .await
            .unwrap();
        let history = c.orders(&[], 50, 0).await.unwrap();
        assert_eq!((history.rows.len(), history.total), (1, None), "bare array");
        assert_eq!(
            c.balance("usd").await.unwrap(),
            Money::parse("1000").unwrap(),
            "{field}"
        );
    }
}

#[tokio::test]
async fn every_write_fault_lands_in_the_right_class() {
    let s = sim(SimOptions::default()).await;
    let c = client_for(&s.base_url(), KEY);
    let impatient = client_with(&s.base_url(), KEY, IMPATIENT);
    let ambiguous = [
        Fault::DropAfterCommit,
        Fault::Park,
        Fault::DelayAfterCommit(STALL),
        Fault::DelayBeforeCommit(STALL),
        Fault::ServerErrorBeforeCommit(503),
        Fault::ServerErrorAfterCommit(500),
        Fault::ResetBeforeCommit,
        Fault::ResetAfterCommit,
        Fault::MalformedAfterCommit,
    ];
    for fault in ambiguous {
        // Only a delay needs the client to time out.
        let c = match fault {
            Fault::DelayAfterCommit(_) | Fault::DelayBeforeCommit(_) => &impatient,
            _ => &c,
        };
        s.push_fault(Endpoint::CreateOrder, fault.clone());
        let r = c
            .create_order(&order_of(&steam()), c.write_slot().await)
            .await;
        assert!(is_ambiguous(&r), "create under {fault:?}: {r:?}");
    }
    // Pay faults are just as ambiguous.
    let order = c
        .create_order(&order_of(&steam()), c.write_slot().await)
        .await
        .unwrap();
    s.push_fault(Endpoint::PayOrder, Fault::ResetAfterCommit);
    assert!(is_ambiguous(
        &c.pay_order(&order.id, c.write_slot().await).await
    ));
    assert_eq!(
        rejected_with(&c.pay_order(&order.id, c.write_slot().await).await),
        RejectCode::OrderPaymentNotPossible,
        "the first pay went through"
    );

    s.push_fault(
        Endpoint::CreateOrder,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    match c
        .create_order(&order_of(&steam()), c.write_slot().await)
        .await
    {
        Err(SupplierError::RetryLater { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(1)))
        }
        other => panic!("429 must be retry-later: {other:?}"),
    }
}

#[tokio::test]
async fn definite_refusals_are_rejections_with_their_codes() {
    let s = sim(SimOptions::default()).await;
    let c = client_for(&s.base_url(), KEY);
    s.set_balance(Money::parse("1").unwrap());
    assert_eq!(
        rejected_with(
            &c.create_order(&order_of(&steam()), c.write_slot().await)
                .await
        ),
        RejectCode::BalanceNotEnough
    );
    s.set_balance(Money::parse("100").unwrap());
    let item = steam();
    let mut priced = order_of(&item);
    priced.total_price = Some(Money::parse("1.00").unwrap());
    assert_eq!(
        rejected_with(&c.create_order(&priced, c.write_slot().await).await),
        RejectCode::OfferPriceNotMatched
    );
    let nothing = ProductId::parse("product_nope").unwrap();
    assert_eq!(
        rejected_with(
            &c.create_order(&order_of(&nothing), c.write_slot().await)
                .await
        ),
        RejectCode::NotFound
    );
    let pubg = ProductId::parse("product_pubg_60").unwrap();
    assert_eq!(
        rejected_with(&c.create_order(&order_of(&pubg), c.write_slot().await).await),
        RejectCode::Invalid,
        "missing note field"
    );
    let unknown = SupplierOrderId::parse("no-such-order").unwrap();
    assert_eq!(
        rejected_with(&c.order(&unknown).await),
        RejectCode::NotFound
    );
    assert_eq!(
        rejected_with(&c.pay_order(&unknown, c.write_slot().await).await),
        RejectCode::NotFound
    );
    let wrong_key = client_for(&s.base_url(), "nope");
    assert_eq!(
        rejected_with(&wrong_key.balances().await),
        RejectCode::Unauthorized
    );
    assert_eq!(
        rejected_with(
            &wrong_key
                .create_order(&order_of(&steam()), wrong_key.write_slot().await)
                .await
        ),
        RejectCode::Unauthorized
    );
    assert!(s.orders().is_empty(), "no refusal made an order");
}

#[tokio::test]
async fn read_failures_are_retry_later_never_ambiguous() {
    let s = sim(SimOptions::default()).await;
    let patient = client_for(&s.base_url(), KEY);
    let impatient = client_with(&s.base_url(), KEY, IMPATIENT);
    for fault in [
        Fault::ServerErrorBeforeCommit(502),
        Fault::ResetBeforeCommit,
        Fault::DropAfterCommit,
        Fault::MalformedAfterCommit,
        Fault::DelayAfterCommit(STALL),
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    ] {
        let c = match fault {
            Fault::DelayAfterCommit(_) => &impatient,
            _ => &patient,
        };
        s.push_fault(Endpoint::ListOrders, fault.clone());
        let r = c.orders(&[], 50, 0).await;
        assert!(is_retry_later(&r), "history read under {fault:?}: {r:?}");
        s.push_fault(Endpoint::Product, fault.clone());
        let r = c.product(&steam()).await;
        assert!(is_retry_later(&r), "product read under {fault:?}: {r:?}");
    }
}

#[tokio::test]
async fn a_write_that_never_connected_is_retry_later() {
    // A port bound but never listened on: connecting is refused, and no
    // other test can take the port while this socket holds it.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = reserved.local_addr().unwrap();
    let c = client_for(&format!("http://{addr}"), KEY);
    let r = c
        .create_order(&order_of(&steam()), c.write_slot().await)
        .await;
    assert!(is_retry_later(&r), "{r:?}");
    drop(reserved);
}

#[tokio::test]
async fn a_429_pauses_every_caller_for_its_retry_after() {
    let s = sim(SimOptions::default()).await;
    let c = client_for(&s.base_url(), KEY);
    s.push_fault(
        Endpoint::Balances,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    // Taken before the 429: the pause starts when its reply arrives, later
    // than this, so the bound below holds exactly, whatever the load.
    let started = Instant::now();
    assert!(is_retry_later(&c.balances().await));
    // Another caller (a write, even) waits out the pause.
    c.create_order(&order_of(&steam()), c.write_slot().await)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// Serves one canned reply per connection, whatever is asked.
async fn hostile_server(reply: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(&reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn http(status: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[tokio::test]
async fn hostile_replies_are_refused_cleanly() {
    let huge = {
        let mut b = b"{\"id\":\"a\",\"status\":\"active\",\"x\":\"".to_vec();
        b.extend(std::iter::repeat_n(b'A', 6 * 1024 * 1024));
        b.extend_from_slice(b"\"}");
        b
    };
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000)).into_bytes();
    let wrong_types = br#"{"id": 5, "status": ["active"], "items": "none"}"#.to_vec();
    let bad_money = br#"{"id":"a","status":"active","totalPrice":"1,5"}"#.to_vec();
    let lying_length = b"HTTP/1.1 201 Created\r\nContent-Length: 5000\r\n\r\n{\"id\":".to_vec();
    for (name, reply) in [
        ("huge", http("201 Created", &huge)),
        ("deep", http("201 Created", &deep)),
        ("wrong types", http("201 Created", &wrong_types)),
        ("bad money", http("201 Created", &bad_money)),
        ("lying length", lying_length),
        ("not http", b"SSH-2.0-OpenSSH\r\n".to_vec()),
    ] {
        let base = hostile_server(reply).await;
        let c = client_for(&base, KEY);
        let write = c
            .create_order(&order_of(&steam()), c.write_slot().await)
            .await;
        assert!(
            is_ambiguous(&write),
            "{name}: a write's unreadable 2xx is ambiguous: {write:?}"
        );
        let read = c.order(&SupplierOrderId::parse("a").unwrap()).await;
        assert!(is_retry_later(&read), "{name}: {read:?}");
    }
    // Garbage in an error reply still classifies by status.
    let base = hostile_server(http("400 Bad Request", &deep_json_error())).await;
    let c = client_for(&base, KEY);
    assert_eq!(
        rejected_with(
            &c.create_order(&order_of(&steam()), c.write_slot().await)
                .await
        ),
        RejectCode::Invalid
    );
}

fn deep_json_error() -> Vec<u8> {
    format!(
        "{{\"code\":{}\"X\"{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    )
    .into_bytes()
}
