//! Running it for real: `/metrics` scraped after a purchase, `/healthz`,
//! `/readyz` failing while the database is down and recovering after.

use crate::bot::{asha, buy_to_invoice, wait_for_codes};
use crate::support::TestDb;
use crate::support::app::{TestApp, WAIT};
use foxbot::foxreload::sim::SimOptions;

on_both_engines!(
    metrics_are_scraped_after_a_purchase,
    an_incident_is_announced_once_and_its_recovery_once,
);

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("the listener answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Ready once the bot takes updates too (it starts in the background).
async fn wait_until_ready(base: &str) {
    crate::support::wait_for("/readyz green at start", WAIT, || async {
        (get(&format!("{base}/readyz")).await.0 == 200).then_some(())
    })
    .await;
}

async fn spawn_with_http(db: &TestDb) -> TestApp {
    TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned());
    })
    .await
}

async fn metrics_are_scraped_after_a_purchase(db: &TestDb) {
    let app = spawn_with_http(db).await;
    let base = format!("http://{}", app.http_addr().expect("HTTP_ADDR is set"));
    assert_eq!(
        get(&format!("{base}/healthz")).await,
        (200, "ok\n".to_owned())
    );
    wait_until_ready(&base).await;

    let user = asha();
    buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    app.api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .unwrap();
    wait_for_codes(&app, &user).await;

    // The event counter catches up on its own schedule.
    let metrics = crate::support::wait_for("the delivery counted", WAIT, || async {
        let (status, body) = get(&format!("{base}/metrics")).await;
        // The recorder is the process's: another test's scrape may set the
        // purchase gauges from its own database in between; look again.
        (status == 200
            && body.contains("foxbot_deliveries_total{outcome=\"sent\"}")
            && body.contains("foxbot_purchases{state=\"delivered\"} 1"))
        .then_some(body)
    })
    .await;
    for name in [
        "foxbot_purchases{state=\"delivered\"} 1",
        "foxbot_supplier_requests_total{endpoint=\"create_order\",outcome=\"ok\"}",
        "foxbot_supplier_requests_total{endpoint=\"pay_order\",outcome=\"ok\"}",
        "foxbot_supplier_request_duration_seconds_bucket{endpoint=\"list_orders\"",
        "foxbot_supplier_budget_limit",
        "foxbot_supplier_balance{currency=\"USD\"}",
        "foxbot_supplier_orders_created_total",
        "foxbot_supplier_orders_completed_total",
        "foxbot_completion_to_delivery_seconds_bucket",
        "foxbot_payments_total",
        "foxbot_worker_last_tick_timestamp_seconds",
        "# TYPE foxbot_deliveries_total counter",
    ] {
        assert!(metrics.contains(name), "no {name} in:\n{metrics}");
    }
    // Counters are never labelled with ids, codes or keys.
    assert!(!metrics.contains("sim-key"));
    assert!(!metrics.contains(&invoice.payload));
    app.stop().await;
}

mod postgres_only {
    use super::*;

    /// PostgreSQL is stopped for this database only: new connections are
    /// refused and the pool's are cut, then let back in.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readyz_fails_while_the_database_is_down_and_recovers() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        let app = spawn_with_http(&db).await;
        let base = format!("http://{}", app.http_addr().unwrap());
        wait_until_ready(&base).await;
        let name = db.pg_name().expect("a PostgreSQL test database").to_owned();
        let mut admin =
            <sqlx::PgConnection as sqlx::Connection>::connect(&crate::support::db::pg_admin_url())
                .await
                .unwrap();
        let set = |allow: bool| format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS {allow}");
        sqlx::query(sqlx::AssertSqlSafe(set(false)))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&name)
            .execute(&mut admin)
            .await
            .unwrap();
        let down = crate::support::wait_for("/readyz to fail", WAIT, || async {
            let (status, body) = get(&format!("{base}/readyz")).await;
            (status == 503).then_some(body)
        })
        .await;
        assert!(down.contains("database"), "{down}");
        // Alive all the same.
        assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
        sqlx::query(sqlx::AssertSqlSafe(set(true)))
            .execute(&mut admin)
            .await
            .unwrap();
        crate::support::wait_for("/readyz to recover", WAIT, || async {
            (get(&format!("{base}/readyz")).await.0 == 200).then_some(())
        })
        .await;
        app.stop().await;
    }
}

/// A dead letter opens the `dead_letters` incident: one message to the
/// admins however often it is judged, and one when it is handled.
async fn an_incident_is_announced_once_and_its_recovery_once(db: &TestDb) {
    use foxbot::domain::{EventKind, PurchaseState};
    use foxbot::ops::incidents::evaluate;
    use foxbot::store::Transition;

    let store = &db.store;
    let now = crate::support::db::now();
    assert_eq!(evaluate(store, now).await.unwrap(), 0, "a quiet shop");
    let id = store
        .insert_purchase(
            &crate::support::db::new_purchase(51, "product_steam_10", 1, &[]),
            now,
        )
        .await
        .unwrap();
    let p = store.purchase(id).await.unwrap().unwrap();
    let t = Transition::by_hand(&p, PurchaseState::DeadLetter, EventKind::DeadLetter);
    assert!(store.transition(&t, now).await.unwrap().applied());

    assert_eq!(evaluate(store, now + 1).await.unwrap(), 1);
    for later in 2..5 {
        assert_eq!(evaluate(store, now + later).await.unwrap(), 0, "once only");
    }
    let alerts = store.unsent_alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, "incident");
    let text = crate::support::alert_text(&alerts[0], foxbot::domain::Language::En);
    assert!(text.contains("1 purchase needs a person"), "{text}");
    assert_eq!(store.open_incidents().await.unwrap(), ["dead_letters"]);

    // A person handles it (here: straight in the database).
    sqlx_close(db, id).await;
    assert_eq!(evaluate(store, now + 10).await.unwrap(), 1);
    assert_eq!(evaluate(store, now + 11).await.unwrap(), 0);
    let alerts = store.unsent_alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[1].kind, "recovered");
    assert!(store.open_incidents().await.unwrap().is_empty());
}

async fn sqlx_close(db: &TestDb, id: i64) {
    let sql = "UPDATE purchases SET state = 'cancelled' WHERE id = $1";
    match &db.url {
        foxbot::config::DatabaseUrl::Sqlite { .. } => {
            let url = db.url_text.replace("sqlite://", "sqlite:");
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
            pool.close().await;
        }
        foxbot::config::DatabaseUrl::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&db.url_text).await.unwrap();
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

mod shutdown {
    use super::*;
    use foxbot::foxreload::sim::OrderOutcome;
    use std::time::Duration;

    /// A clean stop gives back what it holds: no single-role lease and no
    /// purchase lease is left to run out, so another replica takes over at
    /// once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clean_shutdown_gives_back_every_lease() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        let app = TestApp::spawn_with(
            &db,
            SimOptions {
                // Orders stay in flight: the poller holds its lease.
                default_outcome: OrderOutcome::stall(Duration::from_secs(3)),
                ..SimOptions::default()
            },
            |_| {},
        )
        .await;
        let user = asha();
        buy_to_invoice(&app, &user, "Gift cards", "Steam Wallet", "× 1").await;
        let invoice = app.api.invoices().pop().unwrap();
        app.api
            .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
            .await
            .unwrap();
        let pool = sqlx::PgPool::connect(&db.url_text).await.unwrap();
        crate::support::wait_for("the order in flight and leases held", WAIT, || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM purchases WHERE state = 'waiting_supplier'",
            )
            .fetch_one(&pool)
            .await
            .ok()?;
            let leases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leases")
                .fetch_one(&pool)
                .await
                .ok()?;
            (waiting == 1 && leases >= 3).then_some(())
        })
        .await;
        app.stop().await;
        let leases: Vec<String> = sqlx::query_scalar("SELECT name FROM leases")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert!(leases.is_empty(), "leases left behind: {leases:?}");
        let held: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM purchases WHERE lease_owner IS NOT NULL")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(held, 0, "purchases still leased after a clean stop");
        pool.close().await;
    }
}

/// A new replica's first scrape holds every counter and histogram at zero,
/// with its label values, so `rate()` and `absent()` rules read it right
/// (before, a counter appeared only at its first event).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_process_exports_every_metric_at_zero_from_its_first_scrape() {
    use crate::support::app::{SIM_KEY, TOKEN, settings};
    use crate::support::bot_api::FakeBotApi;
    use crate::support::{KillOnDrop, TempDir, foxbot, wait_for};
    use foxbot::foxreload::sim::Simulator;

    let db = TestDb::sqlite().await;
    let api = FakeBotApi::start(TOKEN).await;
    let sim = Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            api_key: SIM_KEY.to_owned(),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let dir = TempDir::new();
    let mut cmd = foxbot(dir.path());
    for (k, v) in settings(&db, &api, Some(&sim)) {
        cmd.env(k, v);
    }
    let _child = cmd
        .arg("run")
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(KillOnDrop)
        .expect("start foxbot run");
    let url = format!("http://127.0.0.1:{port}/metrics");
    let body = wait_for("the first scrape", WAIT, || async {
        let response = reqwest::get(&url).await.ok()?;
        let ok = response.status().is_success();
        let body = response.text().await.ok()?;
        ok.then_some(body)
    })
    .await;
    let known_later = [
        foxbot::telemetry::metrics::SUPPLIER_BALANCE,
        foxbot::telemetry::metrics::TICK,
    ];
    for name in foxbot::telemetry::metrics::ALL {
        if !known_later.contains(name) {
            assert!(
                body.lines().any(|l| l.starts_with(name)),
                "{name} missing from the first scrape:\n{body}"
            );
        }
    }
    for line in [
        "foxbot_deliveries_total{outcome=\"sent\"} 0",
        "foxbot_refunds_total 0",
        "foxbot_dead_letters_total 0",
        "foxbot_completion_to_delivery_seconds_count 0",
    ] {
        assert!(body.lines().any(|l| l == line), "no {line:?} in:\n{body}");
    }
}
