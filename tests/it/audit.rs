//! The ledger audit over a real run: the app sells through the fake Bot API
//! and the simulator, the audit reads all three (Telegram's star
//! transactions, the supplier's order history, our tables) and finds every
//! charge and debit accounted for; then anomalies seeded behind the shop's
//! back are found, by the library, by `/audit` and by `foxbot audit`.

use std::time::Duration;

use foxbot::domain::{Money, Note, ProductId, Quantity};
use foxbot::foxreload::NewOrder;
use foxbot::ops::audit::{self, AnomalyKind, Outcome, Report, Sources, StarLedger};
use rust_decimal::Decimal;

use crate::support::app::{ADMIN, SIM_KEY, TOKEN, TestApp, WAIT};
use crate::support::bot_api::TgUser;
use crate::support::{TempDir, TestDb, foxbot};

on_both_engines!(
    a_real_run_audits_clean_and_seeded_anomalies_are_found,
    the_audit_command_exits_non_zero_only_when_there_is_an_anomaly,
    the_background_audit_sets_the_anomaly_gauge_on_its_own,
);

fn admin() -> TgUser {
    TgUser::new(ADMIN, "Admin").with_language("en")
}

/// The audit as `/audit` runs it, through the library.
async fn audit_now(db: &TestDb, app: &TestApp) -> Report {
    let telegram = foxbot::bot::telegram::Telegram::connect(
        &TOKEN.to_owned().into(),
        app.api.url().parse().unwrap(),
    );
    let supplier = crate::support::rig::client(&app.sim().base_url(), Duration::from_secs(3), 600);
    let sources = Sources {
        store: &db.store,
        supplier: &supplier,
        stars: Some(&telegram as &dyn StarLedger),
        stars_per_usd: Decimal::new(100, 0),
    };
    let now = foxbot::clock::Clock::now_ms(&foxbot::clock::SystemClock);
    audit::run(&sources, audit::DEFAULT_SINCE, now)
        .await
        .expect("the audit runs")
}

/// One Steam Wallet bought and paid in Stars, delivered (the codes sent
/// and the purchase recorded as delivered).
async fn one_delivered_purchase(db: &TestDb, app: &TestApp) {
    let user = crate::bot::asha();
    crate::bot::buy_to_invoice(app, &user, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().unwrap();
    app.api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    crate::bot::wait_for_codes(app, &user).await;
    crate::support::wait_for("the purchase recorded as delivered", WAIT, || async {
        let counts = db.store.state_counts().await.ok()?;
        counts
            .iter()
            .any(|(s, n)| *s == foxbot::domain::PurchaseState::Delivered && *n == 1)
            .then_some(())
    })
    .await;
}

/// Behind the shop's back: a supplier order created and paid on the
/// account, and Stars taken for an invoice the shop never sent.
async fn seed_anomalies(app: &TestApp) -> (String, String) {
    let order = stray_paid_order(app).await;
    let stray = TgUser::new(4242, "Stray").with_language("en");
    let charge = app.api.new_charge_id();
    app.api
        .record_star_payment(&stray, "no-such-invoice", 77, &charge);
    (order, charge)
}

/// A supplier order created and paid on the shop's account by someone else.
async fn stray_paid_order(app: &TestApp) -> String {
    let supplier = crate::support::rig::client(&app.sim().base_url(), Duration::from_secs(3), 600);
    let item = ProductId::parse("product_steam_10").unwrap();
    let note = Note::default();
    let order = supplier
        .create_order(
            &NewOrder {
                item: &item,
                quantity: Quantity::new(1).unwrap(),
                note: &note,
                total_price: None,
            },
            supplier.write_slot().await,
        )
        .await
        .expect("create");
    supplier
        .pay_order(&order.id, supplier.write_slot().await)
        .await
        .expect("pay");
    order.id.as_str().to_owned()
}

fn kinds(report: &Report) -> Vec<AnomalyKind> {
    report.anomalies.iter().map(|a| a.kind).collect()
}

async fn a_real_run_audits_clean_and_seeded_anomalies_are_found(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    one_delivered_purchase(db, &app).await;

    let report = audit_now(db, &app).await;
    assert!(report.anomalies.is_empty(), "{:#?}", report.anomalies);
    let (charges, debits) = (report.totals.charges, report.totals.debits);
    assert_eq!((charges.total, charges.delivered), (1, 1), "{report:#?}");
    assert_eq!((debits.total, debits.delivered), (1, 1), "{report:#?}");
    // 9.20 USD × 1.10 × 100 Stars/USD = 1012 Stars; 9.20 USD to the supplier.
    assert_eq!(report.totals.stars_net, 1012);
    assert_eq!(report.totals.spend["USD"], Money::parse("9.20").unwrap());
    assert_eq!(
        report.totals.margin_usd,
        Some(Money::parse("0.92").unwrap())
    );
    assert!(!report.gaps.history_incomplete && !report.gaps.stars_incomplete);

    let (order, charge) = seed_anomalies(&app).await;
    let report = audit_now(db, &app).await;
    assert_eq!(
        kinds(&report),
        [
            AnomalyKind::ChargeWithoutPurchase,
            AnomalyKind::UnlinkedPaidOrder
        ],
        "{:#?}",
        report.anomalies
    );
    assert_eq!(report.anomalies[0].charge.as_deref(), Some(charge.as_str()));
    assert_eq!(report.anomalies[1].order.as_deref(), Some(order.as_str()));
    let stray = report.debits.iter().find(|d| d.order == order).unwrap();
    assert_eq!(
        stray.outcome,
        Outcome::Anomaly {
            kind: AnomalyKind::UnlinkedPaidOrder
        }
    );
    // The delivered purchase is still delivered, once.
    assert_eq!(report.totals.charges.delivered, 1);
    assert_eq!(report.totals.stars_net, 1012 + 77);

    // An admin asks the bot, and reads the same findings in its words.
    let admin = admin();
    app.api.open_chat(&admin);
    app.api.text(&admin, "/audit");
    let reply = app
        .api
        .wait_for_message(
            ADMIN,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("Ledger audit,"))
            },
            WAIT,
        )
        .await;
    let text = reply.text.unwrap_or_default();
    assert!(text.contains("2 anomalies"), "{text}");
    assert!(
        text.contains(&format!(
            "Supplier order {order} was paid and belongs to no purchase"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("Telegram charge {charge} has no purchase")),
        "{text}"
    );
    // Nobody else can run it.
    let asha = crate::bot::asha();
    let answer = app.say(&asha, "/audit").await;
    assert!(
        !answer.text.unwrap_or_default().contains("Ledger audit"),
        "a customer must not see the audit"
    );
    app.stop().await;
}

/// Runs `foxbot audit` against the app's database, Telegram and supplier;
/// returns (exit code, stdout).
async fn run_cli(db: &TestDb, app: &TestApp, args: &[&str]) -> (i32, String) {
    let dir = TempDir::new();
    let mut cmd = foxbot(dir.path());
    cmd.arg("audit")
        .args(args)
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", app.api.url())
        .env("DATABASE_URL", &db.url_text)
        .env("FOXRELOAD_API_KEY", SIM_KEY)
        .env("FOXRELOAD_BASE_URL", app.sim().base_url())
        .env("STARS_PER_USD", "100");
    let out = tokio::task::spawn_blocking(move || {
        let out = cmd.output().expect("run foxbot audit");
        drop(dir);
        out
    })
    .await
    .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(TOKEN),
        "the token never reaches the output"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn the_audit_command_exits_non_zero_only_when_there_is_an_anomaly(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    one_delivered_purchase(db, &app).await;
    let (code, out) = run_cli(db, &app, &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No anomalies"), "{out}");
    assert!(out.contains("Star charges: 1 — delivered 1"), "{out}");

    let (order, _) = seed_anomalies(&app).await;
    let (code, out) = run_cli(db, &app, &["--since", "2d", "--format", "json"]).await;
    assert_eq!(code, 3, "anomalies give exit code 3: {out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    let found: Vec<&str> = json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(
        found,
        ["charge_without_purchase", "unlinked_paid_order"],
        "{out}"
    );
    assert_eq!(json["anomalies"][1]["order"], order.as_str());

    // A period that is not one is refused before anything is read.
    let (code, _) = run_cli(db, &app, &["--since", "soon"]).await;
    assert_eq!(code, 2);
    app.stop().await;
}

async fn the_background_audit_sets_the_anomaly_gauge_on_its_own(db: &TestDb) {
    let app = TestApp::spawn_with(db, foxbot::foxreload::sim::SimOptions::default(), |s| {
        s.insert("AUDIT_EVERY_SECS".to_owned(), "0.5".to_owned());
    })
    .await;
    // Three orders paid behind the shop's back (a count no other test
    // makes: the recorder is the process's).
    for _ in 0..3 {
        stray_paid_order(&app).await;
    }
    crate::support::wait_for("the background audit to count them", WAIT, || async {
        let body = foxbot::telemetry::metrics::handle().render();
        body.lines()
            .any(|l| l == "foxbot_ledger_anomalies 3")
            .then_some(())
    })
    .await;
    app.stop().await;
}

/// A demo database has nothing to audit: without the supplier key, or with
/// it on a database a demo shop recorded, `foxbot audit` stops with one
/// line naming FOXRELOAD_API_KEY (exit 2), and reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_database_is_not_audited() {
    let db = TestDb::sqlite().await;
    db.store
        .claim_mode(foxbot::domain::ShopMode::Demo, crate::support::db::now())
        .await
        .unwrap();
    for with_key in [false, true] {
        let dir = TempDir::new();
        let mut cmd = foxbot(dir.path());
        cmd.arg("audit")
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", "http://127.0.0.1:9")
            .env("DATABASE_URL", &db.url_text)
            .env("FOXRELOAD_BASE_URL", "http://127.0.0.1:9");
        if with_key {
            cmd.env("FOXRELOAD_API_KEY", SIM_KEY);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(out.status.code(), Some(2), "with key {with_key}: {err}");
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains("FOXRELOAD_API_KEY"), "{err}");
        assert!(out.stdout.is_empty(), "no report");
    }
}
