//! The payment edges: one invoice paid twice at once, pre-checkout and the
//! supplier balance, and the sweep of `getStarTransactions`.

use std::sync::Arc;

use crate::support::TestDb;
use crate::support::app::{TestApp, WAIT};
use crate::support::bot_api::TgUser;
use foxbot::clock::Clock;
use foxbot::domain::{Language, Money, Note, ProductId, Quantity, RefundReason, UserId};
use foxbot::store::{NewCheckout, PaymentOutcome, StarPayment};

on_both_engines!(
    two_charges_of_one_invoice_recorded_at_once_make_one_order_and_one_refund,
    one_charge_recorded_at_once_by_two_replicas_is_one_purchase,
    pre_checkout_refuses_in_the_buyers_language_what_the_supplier_balance_cannot_cover,
);

fn now() -> i64 {
    foxbot::clock::SystemClock.now_ms()
}

fn checkout_for(user: i64) -> NewCheckout {
    NewCheckout {
        user_id: UserId(user),
        chat_id: user,
        language: Language::En,
        product_id: ProductId::parse("product_steam_10").unwrap(),
        product_name: "Steam Wallet 10".to_owned(),
        quantity: Quantity::new(1).unwrap(),
        note: Note::default(),
        unit_price: Some(Money::parse("9.20").unwrap()),
        currency: "USD".to_owned(),
        stars: 1012,
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
                store.record_payment(&pay, now()).await
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
