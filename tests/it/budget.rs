//! Several processes, one supplier key: the budget kept in PostgreSQL holds
//! the key's limit for all of them together, and one process's 429 pauses
//! every one. (SQLite has one process per key: nothing to share.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use foxbot::domain::{Note, ProductId, Quantity};
use foxbot::foxreload::sim::{Endpoint, Fault, SimOptions, Simulator};
use foxbot::foxreload::{Budget, ClientOptions, FoxReload, NewOrder};
use foxbot::store::SharedBudget;

use crate::support::TestDb;

const RATE: u32 = 20;
const WINDOW: Duration = Duration::from_secs(2);

async fn simulator() -> Simulator {
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            api_key: "sim-key".to_owned(),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    // The supplier enforces the key's limit itself.
    sim.set_rate_limit(Some((RATE, WINDOW)));
    sim
}

/// One process's client: its own budget, sharing through `db` if asked.
fn process(sim: &Simulator, db: &TestDb, share: bool) -> FoxReload {
    let budget = Arc::new(Budget::per_window(RATE, WINDOW));
    if share {
        let shared = SharedBudget::new(db.store.clone(), RATE, budget.window()).unwrap();
        budget.share_with(Arc::new(shared));
    }
    FoxReload::new(
        ClientOptions {
            base_url: sim.base_url().parse().unwrap(),
            api_key: "sim-key".to_owned().into(),
            timeout: Duration::from_secs(5),
            mock_orders: false,
        },
        budget,
    )
    .unwrap()
}

/// Each of three processes makes 10 writes and 20 reads at once.
async fn hammer(clients: &[FoxReload]) -> usize {
    let product = ProductId::parse("product_steam_10").unwrap();
    let mut tasks = Vec::new();
    for client in clients {
        for i in 0..30 {
            let client = client.clone();
            let product = product.clone();
            tasks.push(tokio::spawn(async move {
                if i % 3 == 0 {
                    let slot = client.write_slot().await;
                    let order = NewOrder {
                        item: &product,
                        quantity: Quantity::new(1).unwrap(),
                        note: &Note::default(),
                        total_price: None,
                    };
                    client.create_order(&order, slot).await.is_ok()
                } else {
                    client.balances().await.is_ok()
                }
            }));
        }
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            ok += 1;
        }
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_sharing_the_budget_stay_under_the_keys_limit() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let sim = simulator().await;
    let clients: Vec<FoxReload> = (0..3).map(|_| process(&sim, &db, true)).collect();
    let started = Instant::now();
    let ok = hammer(&clients).await;
    let took = started.elapsed();
    assert_eq!(ok, 90, "every call went through");
    assert_eq!(sim.rate_limited_count(), 0, "the supplier never said 429");
    // 90 calls at 20 per 2 s: at least four full windows.
    assert!(took >= WINDOW * 4 - Duration::from_millis(200), "{took:?}");

    // The same three without sharing (each its own 20 per 2 s) overrun
    // the key: the control that shows the test can fail.
    let sim = simulator().await;
    let clients: Vec<FoxReload> = (0..3).map(|_| process(&sim, &db, false)).collect();
    hammer(&clients).await;
    assert!(sim.rate_limited_count() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_seen_by_one_process_pauses_the_others() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let sim = simulator().await;
    let a = process(&sim, &db, true);
    let b = process(&sim, &db, true);
    sim.push_fault(
        Endpoint::Balances,
        Fault::RateLimited {
            retry_after_secs: 2,
        },
    );
    let refused_at = Instant::now();
    assert!(a.balances().await.is_err(), "the 429 reaches A");
    // Let A's pause reach the database.
    tokio::time::sleep(Duration::from_millis(200)).await;
    b.balances().await.unwrap();
    assert!(
        refused_at.elapsed() >= Duration::from_millis(1900),
        "B waited out A's Retry-After: {:?}",
        refused_at.elapsed()
    );
}
