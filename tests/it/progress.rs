//! A buyer is never left guessing (issue #15): the progress message they
//! got at payment says what is really happening, in their words — a hold
//! with the time left and then a refund that says why, an order that takes
//! longer than usual, one a person took over (and how to reach them). The
//! real app, the simulator and the fake Bot API; both engines.
//! (A partial delivery's "3 of 5" is shown by
//! `delivery::a_short_order_alerts_the_admins_whose_confirmed_reorder_orders_the_rest_once`.)

use std::time::Duration;

use foxbot::domain::{Money, PurchaseState};
use foxbot::foxreload::sim::{OrderOutcome, SimOptions};
use foxbot::store::Purchase;

use crate::bot::{asha, buy_to_invoice};
use crate::support::app::{TestApp, WAIT};
use crate::support::bot_api::{SentMessage, TgUser};
use crate::support::{TestDb, wait_for};

on_both_engines!(
    a_held_purchase_tells_the_buyer_the_time_left_then_refunds_saying_why,
    a_hold_lifted_by_a_top_up_goes_back_to_work_and_delivers,
    a_stalled_purchase_says_it_takes_longer_than_usual_then_points_to_support,
);

const STEAM: &str = "product_steam_10";

/// `buyer` buys one Steam Wallet card and pays: the purchase row.
async fn buy_one(app: &TestApp, db: &TestDb, buyer: &TgUser) -> Purchase {
    buy_to_invoice(app, buyer, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().expect("an invoice");
    let charge = app
        .api
        .checkout(buyer, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    wait_for("the purchase row", WAIT, || async {
        db.store.purchase_by_charge(&charge).await.ok().flatten()
    })
    .await
}

async fn wait_for_state(db: &TestDb, id: i64, state: PurchaseState) {
    wait_for(&format!("purchase {id} in {state}"), WAIT, || async {
        db.store
            .purchase(id)
            .await
            .ok()
            .flatten()
            .filter(|p| p.state == state)
    })
    .await;
}

/// Every text the bot put in `chat`'s progress message, in order: the
/// edits as sent (what the buyer saw at each step, even if edited since).
fn progress_edits(app: &TestApp, chat: i64) -> Vec<String> {
    app.api
        .calls("editMessageText")
        .iter()
        .filter(|c| c.body["chat_id"].as_i64() == Some(chat))
        .filter_map(|c| c.body["text"].as_str().map(str::to_owned))
        .collect()
}

async fn wait_for_edit(app: &TestApp, chat: i64, needle: &str) -> String {
    app.api
        .wait(&format!("a progress edit saying {needle:?}"), WAIT, |api| {
            api.calls("editMessageText")
                .iter()
                .filter(|c| c.body["chat_id"].as_i64() == Some(chat))
                .filter_map(|c| c.body["text"].as_str())
                .find(|t| t.contains(needle))
                .map(str::to_owned)
        })
        .await
}

fn has(m: &SentMessage, needle: &str) -> bool {
    m.text.as_deref().is_some_and(|t| t.contains(needle))
}

/// Nothing the buyer was shown names an internal part.
fn assert_no_internal_words(app: &TestApp, chat: i64) {
    let mut seen: Vec<String> = app
        .api
        .sent_messages(chat)
        .into_iter()
        .filter_map(|m| m.text)
        .collect();
    seen.extend(progress_edits(app, chat));
    for text in seen {
        let lower = text.to_lowercase();
        for word in [
            "supplier",
            "dead letter",
            "dead_letter",
            "on_hold",
            "सप्लायर",
        ] {
            assert!(!lower.contains(word), "{word:?} shown to the buyer: {text}");
        }
    }
}

/// The supplier's balance runs dry after the shop last read it: the
/// purchase waits for a top-up. The buyer reads that the shop is
/// restocking and how long before an automatic refund; when the wait runs
/// out the Stars go back, and both the progress message and the refund
/// notice say why, in the buyer's words.
async fn a_held_purchase_tells_the_buyer_the_time_left_then_refunds_saying_why(db: &TestDb) {
    let app = TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("BALANCE_WAIT_SECS".to_owned(), "8".to_owned());
    })
    .await;
    // Pre-checkout trusts the balance read at start; the account is then
    // emptied, so the order is refused for want of balance.
    wait_for("the stored supplier balance", WAIT, || async {
        db.store.supplier_balance("USD").await.unwrap()
    })
    .await;
    app.sim().set_balance(Money::parse("0").unwrap());
    let buyer = asha();
    let p = buy_one(&app, db, &buyer).await;

    let held = wait_for_edit(&app, buyer.id, "restocking").await;
    assert!(held.contains(&format!("Order #{}", p.id)), "{held}");
    assert!(
        held.contains("If that takes more than 1 minute, your Stars are refunded automatically"),
        "{held}"
    );
    let refund = app
        .api
        .wait("the refund", WAIT, |api| api.refunds().pop())
        .await;
    assert_eq!(i64::from(refund.amount), p.stars);
    wait_for_state(db, p.id, PurchaseState::Refunded).await;
    let why = "the shop could not restock this product in time";
    let progress = app
        .api
        .wait_for_message(buyer.id, |m| has(m, "↩️ Your Stars for order #"), WAIT)
        .await;
    assert!(has(&progress, &format!("order #{}", p.id)), "{progress:?}");
    assert!(
        has(&progress, &format!("were refunded: {why}")),
        "{progress:?}"
    );
    let notice = app
        .api
        .wait_for_message(buyer.id, |m| has(m, "have been refunded"), WAIT)
        .await;
    assert!(has(&notice, why), "{notice:?}");
    // Nothing was ever paid at the supplier.
    assert!(app.sim().orders().iter().all(|o| o.status != "completed"));
    assert_no_internal_words(&app, buyer.id);
    app.stop().await;
}

/// The shop tops up while the buyer waits: the message goes from
/// "restocking" back to "ordering it now", then to delivered.
async fn a_hold_lifted_by_a_top_up_goes_back_to_work_and_delivers(db: &TestDb) {
    let app = TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("BALANCE_WAIT_SECS".to_owned(), "600".to_owned());
    })
    .await;
    wait_for("the stored supplier balance", WAIT, || async {
        db.store.supplier_balance("USD").await.unwrap()
    })
    .await;
    let full = app.sim().balance();
    app.sim().set_balance(Money::parse("0").unwrap());
    let buyer = asha();
    let p = buy_one(&app, db, &buyer).await;
    let held = wait_for_edit(&app, buyer.id, "restocking").await;
    assert!(held.contains("more than 10 minutes"), "{held}");
    app.sim().set_balance(full);
    wait_for_state(db, p.id, PurchaseState::Delivered).await;
    app.api
        .wait_for_message(buyer.id, |m| has(m, "is delivered"), WAIT)
        .await;
    let edits = progress_edits(&app, buyer.id);
    let at = |needle: &str| edits.iter().position(|e| e.contains(needle));
    let (held, resumed) = (at("restocking"), at("Ordering it now"));
    assert!(
        held.is_some() && resumed.is_some() && held < resumed,
        "held, then back to work: {edits:#?}"
    );
    assert_no_internal_words(&app, buyer.id);
    app.stop().await;
}

/// An order the supplier sits on: past `STALL_ALERT_SECS` the buyer reads
/// that it takes longer than usual and the shop is watching; once it is
/// handed to a person, the message says so and points to /support — in
/// Hindi for a Hindi buyer.
async fn a_stalled_purchase_says_it_takes_longer_than_usual_then_points_to_support(db: &TestDb) {
    let app = TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("STALL_ALERT_SECS".to_owned(), "1".to_owned());
        s.insert("STALL_DEAD_SECS".to_owned(), "4".to_owned());
    })
    .await;
    app.sim()
        .set_product_outcome(STEAM, OrderOutcome::stall(Duration::from_millis(300)));
    let buyer = asha();
    let p = buy_one(&app, db, &buyer).await;
    let slow = wait_for_edit(&app, buyer.id, "taking longer than usual").await;
    assert!(slow.contains(&format!("Order #{}", p.id)), "{slow}");
    assert!(slow.contains("The shop is keeping an eye on it"), "{slow}");

    wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    let handed = app
        .api
        .wait_for_message(buyer.id, |m| has(m, "/support"), WAIT)
        .await;
    assert!(
        has(&handed, "a person from the shop is now looking at it"),
        "{handed:?}"
    );
    assert!(has(&handed, &format!("Order #{}", p.id)), "{handed:?}");
    assert_no_internal_words(&app, buyer.id);

    // The same, in Hindi.
    let ravi = TgUser::new(1202, "Ravi").with_language("hi");
    buy_to_invoice(&app, &ravi, "Gift cards", "Steam Wallet", "× 1").await;
    let invoice = app.api.invoices().pop().expect("an invoice");
    app.api
        .checkout(&ravi, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    wait_for_edit(&app, ravi.id, "सामान्य से ज़्यादा समय लग रहा है").await;
    app.api
        .wait_for_message(
            ravi.id,
            |m| has(m, "/support") && has(m, "दुकान का एक व्यक्ति"),
            WAIT,
        )
        .await;
    assert_no_internal_words(&app, ravi.id);
    app.stop().await;
}
