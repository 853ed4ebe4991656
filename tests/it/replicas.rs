//! Several replicas on one PostgreSQL database: three `foxbot run`
//! processes in webhook mode share the work and the supplier key; one is
//! killed (SIGKILL) mid-run. Every purchase still ends delivered or
//! refunded, exactly once, and the supplier (which enforces the key's
//! 100 requests in any 60 s itself) never had to refuse a request.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use foxbot::domain::{Money, PurchaseSource, PurchaseState, Sale};
use foxbot::foxreload::sim::{OrderOutcome, SimOptions, Simulator};
use foxbot::store::NewPurchase;
use serde_json::json;

use crate::support::app::{SIM_KEY, TOKEN, settings};
use crate::support::bot_api::{FakeBotApi, TgUser};
use crate::support::db::new_purchase;
use crate::support::{KillOnDrop, TempDir, TestDb, foxbot, wait_for};

const PURCHASES: i64 = 30;
const SECRET: &str = "replica-secret-shared-by-every-replica";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_one_killed_deliver_every_purchase_once_under_one_budget() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let api = FakeBotApi::start(TOKEN).await;
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            api_key: SIM_KEY.to_owned(),
            default_outcome: OrderOutcome::complete(Duration::from_secs(2)),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    sim.set_rate_limit(Some((100, Duration::from_secs(60))));
    // Every fifth order fails at the supplier: refunded.
    for n in 0..PURCHASES {
        sim.push_outcome(if n % 5 == 4 {
            OrderOutcome::fail(Duration::from_millis(500))
        } else {
            OrderOutcome::complete(Duration::from_millis(500 + 100 * (n as u64 % 10)))
        });
    }

    let dir = TempDir::new();
    let mut replicas = Vec::new();
    let mut ports = Vec::new();
    for r in 0..3 {
        let port = free_port();
        ports.push(port);
        let mut cmd = foxbot(dir.path());
        for (k, v) in settings(&db, &api, Some(&sim)) {
            cmd.env(k, v);
        }
        let log = std::fs::File::create(dir.path().join(format!("r{r}.log"))).unwrap();
        let child = cmd
            .arg("run")
            .env("INSTANCE_ID", format!("replica-{r}"))
            .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("WEBHOOK_URL", "https://shop.example/telegram")
            .env("WEBHOOK_SECRET", SECRET)
            .env("FOXRELOAD_RATE_PER_MIN", "100")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a replica");
        replicas.push(KillOnDrop(child));
    }
    let client = reqwest::Client::new();
    for port in &ports {
        wait_for("a replica to be ready", Duration::from_secs(30), || async {
            let url = format!("http://127.0.0.1:{port}/healthz");
            client
                .get(url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .await;
    }

    // Paid purchases, as the payment handler records them.
    let mut charges = HashMap::new();
    for n in 0..PURCHASES {
        let user = TgUser::new(3000 + n, "Buyer").with_language("en");
        let charge = api.new_charge_id();
        api.record_star_payment(&user, "replica-test", 920, &charge);
        let manual = new_purchase(user.id, "product_steam_10", 1, &[]);
        let p = NewPurchase {
            source: PurchaseSource::Telegram,
            telegram_charge_id: Some(charge.clone()),
            sale: Sale {
                stars: 920,
                unit_price: Some(Money::parse("9.20").unwrap()),
                ..manual.sale
            },
            ..manual
        };
        let id = db
            .store
            .insert_purchase(&p, crate::support::db::now())
            .await
            .unwrap();
        charges.insert(id, (user, charge));
    }

    // Once some are done, one replica dies mid-run.
    wait_for("the first deliveries", Duration::from_secs(60), || async {
        let done = db
            .store
            .state_counts()
            .await
            .ok()?
            .into_iter()
            .filter(|(s, _)| *s == PurchaseState::Delivered)
            .map(|(_, n)| n)
            .sum::<i64>();
        (done >= 5).then_some(())
    })
    .await;
    let killed_at = Instant::now();
    drop(replicas.remove(0));

    // Webhook updates reach the survivors, with the secret.
    let user = TgUser::new(3999, "Late").with_language("en");
    api.open_chat(&user);
    let update = json!({
        "update_id": 77,
        "message": {
            "message_id": 1, "date": 1_764_000_000,
            "chat": { "id": user.id, "type": "private", "first_name": "Late" },
            "from": { "id": user.id, "is_bot": false, "first_name": "Late" },
            "text": "/help"
        }
    });
    let status = client
        .post(format!("http://127.0.0.1:{}/telegram", ports[1]))
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .json(&update)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success());

    let finals = wait_for(
        "every purchase to end",
        Duration::from_secs(150),
        || async {
            let counts = db.store.state_counts().await.ok()?;
            let done: i64 = counts
                .iter()
                .filter(|(s, _)| matches!(s, PurchaseState::Delivered | PurchaseState::Refunded))
                .map(|(_, n)| *n)
                .sum();
            (done == PURCHASES).then_some(counts)
        },
    )
    .await;
    eprintln!(
        "all {PURCHASES} ended {:?} after the kill: {finals:?}",
        killed_at.elapsed()
    );
    api.wait_for_message(user.id, |m| m.text.is_some(), Duration::from_secs(10))
        .await;

    // The key's limit held for the three together, in every 60 s window:
    // the supplier enforces it and never had to say 429.
    assert_eq!(sim.rate_limited_count(), 0);
    // Exactly one paid supplier order per purchase (the failed ones were
    // paid, then failed at the supplier), across the kill.
    let paid = sim.orders().iter().filter(|o| o.paid).count() as i64;
    assert_eq!(paid, PURCHASES, "paid supplier orders");
    // Each buyer got their codes once, or their Stars back once.
    let refunds = api.refunds();
    for (id, (user, charge)) in &charges {
        let p = db.store.purchase(*id).await.unwrap().unwrap();
        let messages = api
            .sent_messages(user.id)
            .into_iter()
            .filter(|m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("Your order #"))
            })
            .count();
        let refunded = refunds.iter().filter(|r| &r.charge_id == charge).count();
        match p.state {
            PurchaseState::Delivered => {
                assert_eq!(refunded, 0, "#{id} delivered and refunded");
                // A flagged re-send after an unknown outcome is allowed.
                assert!(
                    (1..=2).contains(&messages),
                    "#{id}: {messages} code messages"
                );
            }
            PurchaseState::Refunded => {
                assert_eq!(refunded, 1, "#{id} refunded {refunded} times");
                assert_eq!(messages, 0, "#{id} refunded but codes sent");
            }
            other => panic!("#{id} ended {other}"),
        }
    }
}
