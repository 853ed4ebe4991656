//! The payment edges: one invoice paid twice at once, pre-checkout and the
//! supplier balance, and the sweep of `getStarTransactions`.

use std::sync::Arc;

use crate::support::TestDb;
use crate::support::app::{TestApp, WAIT};
use crate::support::bot_api::TgUser;
use foxbot::clock::Clock;
use foxbot::domain::{Language, Money, Note, ProductId, Quantity, RefundReason, Sale, UserId};
use foxbot::intake::admission::admit;
use foxbot::store::{NewCheckout, PaymentOutcome, StarPayment};

on_both_engines!(
    two_charges_of_one_invoice_recorded_at_once_make_one_order_and_one_refund,
    one_charge_recorded_at_once_by_two_replicas_is_one_purchase,
    pre_checkout_refuses_in_the_buyers_language_what_the_supplier_balance_cannot_cover,
    the_sweep_reads_past_1000_transactions_listed_newest_first,
    the_sweep_reads_past_1000_transactions_listed_oldest_first,
    a_payment_no_invoice_explains_is_told_once_and_refunded_once_by_an_admin,
    in_flight_counts_what_the_balance_read_does_not_show_as_spent,
);

fn now() -> i64 {
    foxbot::clock::SystemClock.now_ms()
}

fn checkout_for(user: i64) -> NewCheckout {
    NewCheckout {
        user_id: UserId(user),
        chat_id: user,
        language: Language::En,
        sale: Sale {
            product_id: ProductId::parse("product_steam_10").unwrap(),
            product_name: "Steam Wallet 10".to_owned(),
            quantity: Quantity::new(1).unwrap(),
            note: Note::default(),
            unit_price: Some(Money::parse("9.20").unwrap()),
            currency: "USD".to_owned(),
            stars: 1012,
        },
    }
}

fn charge(user: i64, payload: &str, charge_id: &str) -> StarPayment {
    StarPayment {
        user_id: UserId(user),
        chat_id: user,
        language: Language::En,
        payload: payload.to_owned(),
        currency: "XTR".to_owned(),
        total_amount: 1012,
        charge_id: charge_id.to_owned(),
    }
}

/// Two replicas each handle one of two charges of the same invoice, at the
/// same instant, on their own connections: exactly one purchase orders, the
/// other charge is refunded as paid twice. Repeated, as a race must be.
/// Records `charges` of one fresh invoice at the same instant, one task
/// (one connection) each; returns what each recording did.
async fn race(db: &TestDb, user: i64, charges: [String; 2]) -> (String, Vec<PaymentOutcome>) {
    let checkout = db
        .store
        .open_checkout(&checkout_for(user), now())
        .await
        .unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(2));
    let tasks: Vec<_> = charges
        .into_iter()
        .map(|charge_id| {
            let (store, start) = (db.store.clone(), start.clone());
            let pay = charge(user, &checkout.payload, &charge_id);
            tokio::spawn(async move {
                start.wait().await;
                store.record_payment(&pay, admit, now()).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().expect("recorded"));
    }
    (checkout.payload, outcomes)
}

async fn two_charges_of_one_invoice_recorded_at_once_make_one_order_and_one_refund(db: &TestDb) {
    for round in 0..12 {
        let user = 5000 + round;
        let charges = [format!("stx-{round}-a"), format!("stx-{round}-b")];
        let (payload, outcomes) = race(db, user, charges).await;
        let ordered = outcomes
            .iter()
            .filter(|o| matches!(o, PaymentOutcome::Ordered(_)))
            .count();
        let refunded = outcomes
            .iter()
            .filter(|o| matches!(o, PaymentOutcome::Refunding(_, RefundReason::PaidTwice)))
            .count();
        assert_eq!((ordered, refunded), (1, 1), "round {round}: {outcomes:?}");
        let stored = db
            .store
            .checkout_by_payload(&payload)
            .await
            .unwrap()
            .unwrap();
        let winner = outcomes.iter().find_map(|o| match o {
            PaymentOutcome::Ordered(id) => Some(*id),
            _ => None,
        });
        assert_eq!(stored.purchase_id, winner, "round {round}");
    }
}

/// Telegram gave the same update to two replicas: both record the one
/// charge at the same instant; one purchase, the other sees a duplicate
/// (never an error that would leave the update unhandled).
async fn one_charge_recorded_at_once_by_two_replicas_is_one_purchase(db: &TestDb) {
    for round in 0..12 {
        let user = 6000 + round;
        let id = format!("stx-same-{round}");
        let (_, outcomes) = race(db, user, [id.clone(), id.clone()]).await;
        let ordered: Vec<i64> = outcomes
            .iter()
            .filter_map(|o| match o {
                PaymentOutcome::Ordered(id) => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(ordered.len(), 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes.contains(&PaymentOutcome::Duplicate(ordered[0])),
            "round {round}: {outcomes:?}"
        );
    }
}

/// The supplier holds 10.00 USD; a Steam Wallet costs 9.20 wholesale. The
/// first buyer's pre-checkout is accepted; the second's, with the first
/// purchase's 9.20 counted as spent, is refused before any Star is taken,
/// in Hindi for a Hindi buyer. No supplier call is made at pre-checkout:
/// the balance is the one the incident watcher read and stored.
async fn pre_checkout_refuses_in_the_buyers_language_what_the_supplier_balance_cannot_cover(
    db: &TestDb,
) {
    let options = foxbot::foxreload::sim::SimOptions {
        balance: Money::parse("10.00").unwrap(),
        ..Default::default()
    };
    let app = TestApp::spawn_with(db, options, |_| {}).await;
    crate::support::wait_for("the stored supplier balance", WAIT, || async {
        db.store.supplier_balance("USD").await.unwrap()
    })
    .await;
    let asha = TgUser::new(1101, "Asha").with_language("en");
    crate::bot::buy_to_invoice(&app, &asha, "Gift cards", "Steam Wallet", "× 1").await;
    let first = app.api.invoices().pop().unwrap();
    app.api
        .checkout(&asha, &first.payload, first.total_amount, WAIT)
        .await
        .expect("10.00 covers one 9.20 purchase");

    let ravi = TgUser::new(1102, "Ravi").with_language("hi");
    crate::bot::buy_to_invoice(&app, &ravi, "Gift cards", "Steam Wallet", "× 1").await;
    let second = app.api.invoices().pop().unwrap();
    let refused = app
        .api
        .checkout(&ravi, &second.payload, second.total_amount, WAIT)
        .await
        .expect_err("10.00 does not cover 9.20 in flight plus 9.20");
    let text = refused.error_message.unwrap_or_default();
    assert!(text.contains("स्टॉक फिर से भरा जा रहा है"), "{text}");
    // Nothing taken, nothing recorded for the second buyer.
    assert!(
        db.store
            .checkout_by_payload(&second.payload)
            .await
            .unwrap()
            .unwrap()
            .purchase_id
            .is_none()
    );
    crate::bot::wait_for_codes(&app, &asha).await;
    assert_eq!(app.sim().orders().len(), 1);
    app.stop().await;
}

// ---- the sweep of getStarTransactions ----------------------------------

/// Stands in for 1,049 earlier sales: purchases (delivered) that carry
/// these charge ids, written straight to the table.
async fn known_sales(db: &TestDb, user: i64, charges: &[String]) {
    let now = now();
    let mut sql = format!(
        "INSERT INTO customers (user_id, chat_id, language, created_at, updated_at) \
         VALUES ({user}, {user}, 'en', {now}, {now}) ON CONFLICT (user_id) DO NOTHING; \
         INSERT INTO purchases (client_ref, user_id, chat_id, product_id, product_name, \
             quantity, note, signature, currency, stars, source, telegram_charge_id, state, \
             next_action_at, created_at, updated_at, state_since) VALUES "
    );
    for (i, charge) in charges.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "('known-{charge}', {user}, {user}, 'product_steam_10', 'Steam Wallet', 1, '{{}}', \
              'sig-{charge}', 'USD', 1012, 'telegram', '{charge}', 'delivered', {now}, {now}, \
              {now}, {now})"
        ));
    }
    match db.store.backend() {
        foxbot::store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url_text).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        foxbot::store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url_text).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

/// The offsets of the `getStarTransactions` calls made so far.
fn sweep_offsets(app: &TestApp) -> Vec<i64> {
    app.api
        .calls("getStarTransactions")
        .iter()
        .map(|c| c.body.get("offset").and_then(|o| o.as_i64()).unwrap_or(0))
        .collect()
}

/// 1,051 transactions five seconds apart: a payment whose update was lost
/// is the oldest, another the newest, 1,049 known sales between them.
/// Telegram lists them in `newest_first` order or the other; the sweep
/// finds both lost payments (each bought once), and afterwards reads only
/// from its mark: a page or two per sweep, not the whole list again.
async fn the_sweep_finds_lost_payments_among_1051_transactions_in_either_order(
    db: &TestDb,
    newest_first: bool,
) {
    let app = TestApp::spawn(db).await;
    app.api.set_transactions_newest_first(newest_first);
    // No sweep gets through while the history is laid down.
    app.api
        .fault("getStarTransactions")
        .always()
        .error(500, "Internal Server Error");
    let asha = TgUser::new(1201, "Asha").with_language("en");
    crate::bot::buy_to_invoice(&app, &asha, "Gift cards", "Steam Wallet", "× 1").await;
    let oldest = app.api.invoices().pop().unwrap();
    crate::bot::buy_to_invoice(&app, &asha, "Gift cards", "Google Play", "× 1").await;
    let newest = app.api.invoices().pop().unwrap();
    let others = TgUser::new(1202, "Many").with_language("en");
    let known: Vec<String> = (0..1049).map(|_| app.api.new_charge_id()).collect();
    known_sales(db, others.id, &known).await;

    let first_lost = app.api.new_charge_id();
    app.api
        .record_star_payment(&asha, &oldest.payload, oldest.total_amount, &first_lost);
    for charge in &known {
        app.api.advance(std::time::Duration::from_secs(5));
        app.api
            .record_star_payment(&others, "an-earlier-sale", 1012, charge);
    }
    app.api.advance(std::time::Duration::from_secs(5));
    let last_lost = app.api.new_charge_id();
    app.api
        .record_star_payment(&asha, &newest.payload, newest.total_amount, &last_lost);
    app.api.clear_faults();

    for charge in [&first_lost, &last_lost] {
        crate::support::wait_for("the lost payment recorded", WAIT, || async {
            db.store.purchase_by_charge(charge).await.unwrap()
        })
        .await;
    }
    app.api
        .wait("both lost payments bought", WAIT, |_| {
            (app.sim().orders().len() == 2).then_some(())
        })
        .await;

    // Three more sweeps (each starts at offset 0) after the mark is set.
    let before = app.api.calls("getStarTransactions").len();
    app.api
        .wait("three more sweeps", WAIT, |_| {
            let later = sweep_offsets(&app).split_off(before);
            (later.iter().filter(|o| **o == 0).count() >= 4).then_some(())
        })
        .await;
    let later = sweep_offsets(&app).split_off(before);
    let starts: Vec<usize> = later
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == 0)
        .map(|(i, _)| i)
        .collect();
    for pair in starts.windows(2) {
        let calls = &later[pair[0]..pair[1]];
        assert!(
            calls.len() <= 3,
            "a sweep after the mark read {} pages: offsets {calls:?}",
            calls.len()
        );
    }
    assert_eq!(app.sim().orders().len(), 2, "each lost payment bought once");
    assert!(app.api.refunds().is_empty());
    app.stop().await;
}

async fn the_sweep_reads_past_1000_transactions_listed_newest_first(db: &TestDb) {
    the_sweep_finds_lost_payments_among_1051_transactions_in_either_order(db, true).await;
}

async fn the_sweep_reads_past_1000_transactions_listed_oldest_first(db: &TestDb) {
    the_sweep_finds_lost_payments_among_1051_transactions_in_either_order(db, false).await;
}

fn texts_with(app: &TestApp, chat: i64, needle: &str) -> Vec<crate::support::bot_api::SentMessage> {
    app.api
        .sent_messages(chat)
        .into_iter()
        .filter(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
        .collect()
}

/// A payment whose update was lost and whose payload names no invoice of
/// ours: recorded once as its own row, the admins alerted once with a
/// refund button, the buyer told once, however many sweeps see it again.
/// Only an admin's confirmed press refunds it, and only once.
async fn a_payment_no_invoice_explains_is_told_once_and_refunded_once_by_an_admin(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = TgUser::new(crate::support::app::ADMIN, "Owner").with_language("en");
    app.api.open_chat(&admin);
    let buyer = TgUser::new(1301, "Kiran").with_language("en");
    app.api.open_chat(&buyer);
    let charge = app.api.new_charge_id();
    app.api
        .record_star_payment(&buyer, "not-an-invoice-of-ours", 50, &charge);

    let alert = app
        .api
        .wait_for_message(
            admin.id,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("Unknown payment"))
            },
            WAIT,
        )
        .await;
    assert!(
        alert.text.as_deref().unwrap().contains("50 Stars"),
        "{alert:?}"
    );
    // Several more sweeps see the same charge.
    let before = app.api.calls("getStarTransactions").len();
    app.api
        .wait("four more sweeps", WAIT, |api| {
            (api.calls("getStarTransactions").len() >= before + 4).then_some(())
        })
        .await;
    assert_eq!(texts_with(&app, buyer.id, "cannot match").len(), 1);
    assert_eq!(texts_with(&app, admin.id, "Unknown payment").len(), 1);

    // Not an admin: the same button data from the buyer does nothing.
    let data = alert.callback_data("Refund").expect("a refund button");
    let orphan: String = data.chars().filter(char::is_ascii_digit).collect();
    let minute = chrono::Utc::now().timestamp() / 60;
    let forged = app
        .api
        .callback(&buyer, 1, &format!("ory:{orphan}:{minute}"));
    app.api
        .wait("the forged press answered", WAIT, |api| {
            api.callback_answers()
                .iter()
                .any(|a| a.query_id == forged)
                .then_some(())
        })
        .await;
    let id: i64 = orphan.parse().unwrap();
    let row = db
        .store
        .orphan_charge(id)
        .await
        .unwrap()
        .expect("its own row");
    assert_eq!((row.charge_id.as_str(), row.stars), (charge.as_str(), 50));
    assert_eq!(
        row.refund_purchase_id, None,
        "a buyer's press refunds nothing"
    );
    assert!(app.api.refunds().is_empty());

    // The admin asks, then confirms.
    app.press(&admin, &alert, "Refund").await;
    let confirm = app
        .api
        .wait_for_message(admin.id, |m| m.callback_data("Yes, refund").is_some(), WAIT)
        .await;
    app.api.press(&admin, &confirm, "Yes, refund");
    let refund = app.api.wait_for_refund(&charge, WAIT).await;
    assert_eq!((refund.user_id, refund.amount), (buyer.id, 50));
    app.api
        .wait_for_message(
            buyer.id,
            |m| m.text.as_deref().is_some_and(|t| t.contains("refunded")),
            WAIT,
        )
        .await;
    // Pressed again (a second replica, a double tap): still one refund.
    let confirmed = confirm.callback_data("Yes, refund").unwrap();
    let again = app.api.callback(&admin, confirm.message_id, &confirmed);
    app.api
        .wait_for_message(
            admin.id,
            |m| {
                m.text
                    .as_deref()
                    .is_some_and(|t| t.contains("already being refunded"))
            },
            WAIT,
        )
        .await;
    assert!(
        app.api
            .callback_answers()
            .iter()
            .any(|a| a.query_id == again)
    );
    let before = app.api.calls("getStarTransactions").len();
    app.api
        .wait("two more sweeps", WAIT, |api| {
            (api.calls("getStarTransactions").len() >= before + 2).then_some(())
        })
        .await;
    assert_eq!(app.api.refunds().len(), 1);
    assert_eq!(texts_with(&app, buyer.id, "cannot match").len(), 1);
    assert!(app.sim().orders().is_empty());
    app.stop().await;
}

// ---- what is in flight -------------------------------------------------

async fn exec(db: &TestDb, sql: String) {
    match db.store.backend() {
        foxbot::store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url_text).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        foxbot::store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url_text).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

/// In flight, against a balance read at `read_at`: what buyers paid for
/// and the supplier was not paid for yet, plus what was paid there after
/// the read; never what was paid there before it, nor what is refunded.
async fn in_flight_counts_what_the_balance_read_does_not_show_as_spent(db: &TestDb) {
    let read_at = 1_000_000;
    // (state, pay_sent_at, unit price, quantity, counted)
    let cases: [(&str, Option<i64>, &str, i64, bool); 11] = [
        ("ordering", None, "1.00", 1, true),
        ("submitting", None, "2.00", 1, true),
        ("reconciling", None, "4.00", 1, true),
        ("ordered", None, "8.00", 1, true),
        ("on_hold", None, "16.00", 1, true),
        ("paying", None, "32.00", 1, true),
        ("paying", Some(read_at - 1), "64.00", 1, false),
        ("waiting_supplier", Some(read_at + 1), "0.25", 2, true),
        ("delivered", Some(read_at - 1), "128.00", 1, false),
        ("refunded", Some(read_at + 1), "256.00", 1, false),
        ("refunding", None, "512.00", 1, false),
    ];
    let mut expected = rust_decimal::Decimal::ZERO;
    for (i, (state, sent, price, quantity, counted)) in cases.iter().enumerate() {
        let mut c = checkout_for(7000 + i as i64);
        c.sale.unit_price = Some(Money::parse(price).unwrap());
        c.sale.quantity = Quantity::new(*quantity).unwrap();
        let checkout = db.store.open_checkout(&c, now()).await.unwrap();
        let pay = charge(
            7000 + i as i64,
            &checkout.payload,
            &format!("stx-flight-{i}"),
        );
        let PaymentOutcome::Ordered(id) =
            db.store.record_payment(&pay, admit, now()).await.unwrap()
        else {
            panic!("not ordered")
        };
        let sent = sent.map_or("NULL".to_owned(), |t| t.to_string());
        exec(
            db,
            format!("UPDATE purchases SET state = '{state}', pay_sent_at = {sent} WHERE id = {id}"),
        )
        .await;
        if *counted {
            expected += Money::parse(price)
                .unwrap()
                .times(*quantity)
                .unwrap()
                .decimal();
        }
    }
    let in_flight = db.store.in_flight_cost("usd", read_at).await.unwrap();
    assert_eq!(in_flight, Money::new(expected));
    assert_eq!(in_flight.to_string(), "63.5");
    assert_eq!(
        db.store.in_flight_cost("EUR", read_at).await.unwrap(),
        Money::ZERO
    );
}
