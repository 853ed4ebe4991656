//! The shop owner's side: /stalled and its confirmed buttons, /balance,
//! /order, /stats, through the fake Bot API against the real app. Only the
//! ids in ADMIN_IDS get any of it.

use std::time::Duration;

use foxbot::domain::PurchaseState;
use foxbot::foxreload::sim::{Endpoint, Fault, LedgerEntry, OrderOutcome, SimOptions};
use foxbot::store::AttemptState;
use foxbot::store::Purchase;

use crate::bot::{asha, buy_to_invoice, wait_for_codes};
use crate::support::app::{ADMIN, TestApp, WAIT};
use crate::support::bot_api::{SentMessage, TgUser};
use crate::support::{TestDb, wait_for};

on_both_engines!(
    stalled_lists_a_dead_letter_and_a_confirmed_refund_returns_the_stars_once,
    retrying_a_dead_letter_with_a_linked_order_reads_it_again_and_never_orders_twice,
    retrying_a_dead_letter_whose_create_is_in_doubt_adopts_the_late_order,
    balance_order_and_stats_show_a_delivered_purchase,
    a_partial_delivery_is_refunded_whole_and_a_full_one_is_not_refunded,
    a_non_admin_pressing_an_admin_button_changes_nothing,
    closing_a_dead_letter_tells_the_buyer_in_their_progress_message,
    a_dead_letter_whose_codes_reached_the_buyer_is_refunded_only_anyway_and_leaves_orders_without_codes,
    a_dead_letter_is_not_retried_while_its_refund_is_claimed,
    a_refund_of_a_paid_supplier_order_says_its_wholesale_cost_before_the_confirm,
    a_confirmation_against_other_facts_or_over_a_day_old_shows_the_plan_anew_and_does_nothing,
);

fn owner() -> TgUser {
    TgUser::new(ADMIN, "Owner").with_language("en")
}

/// A shop whose purchases stall fast: alerted after 1 s in a state,
/// dead-lettered after 2 s.
async fn stalling_shop(db: &TestDb) -> TestApp {
    TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("STALL_ALERT_SECS".to_owned(), "1".to_owned());
        s.insert("STALL_DEAD_SECS".to_owned(), "2".to_owned());
    })
    .await
}

/// Asha buys one Steam Wallet card and pays; returns the purchase and the
/// charge id.
async fn buy_steam(app: &TestApp, db: &TestDb, qty: &str) -> (Purchase, String) {
    let user = asha();
    buy_to_invoice(app, &user, "Gift cards", "Steam Wallet", qty).await;
    let invoice = app.api.invoices().pop().expect("an invoice");
    let charge = app
        .api
        .checkout(&user, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    let p = wait_for("the purchase row", WAIT, || async {
        db.store.purchase_by_charge(&charge).await.ok().flatten()
    })
    .await;
    (p, charge)
}

async fn wait_for_state(db: &TestDb, id: i64, state: PurchaseState) -> Purchase {
    wait_for(&format!("purchase {id} in {state}"), WAIT, || async {
        db.store
            .purchase(id)
            .await
            .ok()
            .flatten()
            .filter(|p| p.state == state)
    })
    .await
}

fn contains(m: &SentMessage, needle: &str) -> bool {
    m.text.as_deref().is_some_and(|t| t.contains(needle))
}

/// `who` writes `text`; the first later message containing `needle`.
/// (Alerts reach the admin chat at any time: never "the next message".)
async fn ask(app: &TestApp, who: &TgUser, text: &str, needle: &str) -> SentMessage {
    let before = app.api.sent_messages(who.id).len();
    app.api.text(who, text);
    app.api
        .wait(
            &format!("an answer to {text:?} with {needle:?}"),
            WAIT,
            |api| {
                api.sent_messages(who.id)
                    .into_iter()
                    .skip(before)
                    .find(|m| contains(m, needle))
            },
        )
        .await
}

/// `who` presses the button labelled `label` on `message`; the first
/// message sent after it containing `needle`.
async fn press_for_new(
    app: &TestApp,
    who: &TgUser,
    message: &SentMessage,
    label: &str,
    needle: &str,
) -> SentMessage {
    let before = app.api.sent_messages(who.id).len();
    app.api.press(who, message, label);
    app.api
        .wait(&format!("a message with {needle:?}"), WAIT, |api| {
            api.sent_messages(who.id)
                .into_iter()
                .skip(before)
                .find(|m| contains(m, needle))
        })
        .await
}

/// `who` presses `label` on `message`; `message` as it stands once the
/// press is answered and an edit made its text contain one of `needles`
/// (the confirmation is edited into the result).
async fn press_for_edit(
    app: &TestApp,
    who: &TgUser,
    message: &SentMessage,
    label: &str,
    needles: &[&str],
) -> SentMessage {
    let edits = app.message(who, message.message_id).edits;
    let query = app.api.press(who, message, label);
    app.api
        .wait(
            &format!("{needles:?} after pressing {label:?}"),
            WAIT,
            |api| {
                let answered = api.callback_answers().iter().any(|a| a.query_id == query);
                api.sent_messages(who.id)
                    .into_iter()
                    .find(|m| {
                        m.message_id == message.message_id
                            && m.edits > edits
                            && needles.iter().any(|n| contains(m, n))
                    })
                    .filter(|_| answered)
            },
        )
        .await
}

async fn admin_events(db: &TestDb, id: i64) -> Vec<foxbot::store::Event> {
    db.store
        .events_of(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "admin_action")
        .collect()
}

async fn stalled_lists_a_dead_letter_and_a_confirmed_refund_returns_the_stars_once(db: &TestDb) {
    let app = stalling_shop(db).await;
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::stall(Duration::from_millis(300)),
    );
    let (p, charge) = buy_steam(&app, db, "× 1").await;
    wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    let order = app.sim().orders()[0].id.clone();

    let admin = owner();
    let list = ask(&app, &admin, "/stalled", "Needing attention").await;
    let text = list.text.clone().unwrap();
    assert!(text.contains(&format!("#{}", p.id)), "{text}");
    assert!(text.contains("dead_letter"), "{text}");
    assert!(text.contains(&order), "the supplier order is shown: {text}");
    assert!(text.contains("last error"), "{text}");

    // Asked first, with what it means.
    let confirm = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Refund #{}", p.id),
        &format!("Refund #{}?", p.id),
    )
    .await;
    assert!(
        contains(&confirm, &format!("{} ⭐", p.stars)),
        "{confirm:?}"
    );
    assert!(
        app.api.refunds().is_empty(),
        "nothing before the confirmation"
    );
    assert_eq!(
        db.store.purchase(p.id).await.unwrap().unwrap().state,
        PurchaseState::DeadLetter
    );

    // Confirmed twice: refunded once.
    let done = press_for_edit(&app, &admin, &confirm, "Yes", &["is being refunded"]).await;
    assert!(contains(&done, &format!("admin {ADMIN}")), "{done:?}");
    let again = &["already being refunded", "is finished"];
    press_for_edit(&app, &admin, &confirm, "Yes", again).await;
    let refund = app.api.wait_for_refund(&charge, WAIT).await;
    assert_eq!(i64::from(refund.amount), p.stars);
    wait_for_state(db, p.id, PurchaseState::Refunded).await;
    // Pressed once more after the refund: still one refund. (The text may
    // already say so, if the refund was done before the second press: then
    // Telegram refuses the same edit, so wait for the answer, not an edit.)
    let query = app.api.press(&admin, &confirm, "Yes");
    app.api
        .wait("the answer to the third press", WAIT, |api| {
            api.callback_answers()
                .into_iter()
                .find(|a| a.query_id == query)
        })
        .await;
    let shown = app
        .api
        .wait("the result on the confirmation", WAIT, |api| {
            api.sent_messages(admin.id)
                .into_iter()
                .find(|m| m.message_id == confirm.message_id && contains(m, "is finished"))
        })
        .await;
    assert!(contains(&shown, "is finished"));
    assert_eq!(
        app.api
            .refunds()
            .iter()
            .filter(|r| r.charge_id == charge)
            .count(),
        1
    );
    assert_eq!(app.api.calls("refundStarPayment").len(), 1);

    // Recorded with the admin's id, once.
    let events = admin_events(db, p.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].actor.as_deref(), Some("admin:9000"));
    assert!(
        events[0].detail.contains("\"action\":\"refund\""),
        "{events:?}"
    );
    assert_eq!(events[0].from_state.as_deref(), Some("dead_letter"));
    assert_eq!(events[0].to_state.as_deref(), Some("refunding"));
    // The buyer is told why, in their words.
    app.api
        .wait_for_message(asha().id, |m| contains(m, "the shop refunded it"), WAIT)
        .await;
    app.stop().await;
}

async fn retrying_a_dead_letter_with_a_linked_order_reads_it_again_and_never_orders_twice(
    db: &TestDb,
) {
    let app = stalling_shop(db).await;
    // Still processing when it is dead-lettered (2 s); complete at 7 s.
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::complete(Duration::from_secs(7)),
    );
    let (p, _) = buy_steam(&app, db, "× 1").await;
    let dead = wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    let order = dead.supplier_order_id.clone().expect("a linked order");
    assert_eq!(app.sim().orders().len(), 1);
    wait_for("the supplier to complete the order", WAIT, || async {
        (app.sim().order(order.as_str())?.status == "completed").then_some(())
    })
    .await;

    let admin = owner();
    let list = ask(&app, &admin, "/stalled", "Needing attention").await;
    let confirm = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Retry #{}", p.id),
        "waiting_supplier",
    )
    .await;
    assert!(contains(&confirm, "no new order"), "{confirm:?}");
    press_for_edit(&app, &admin, &confirm, "Yes", &["back at work"]).await;
    wait_for_codes(&app, &asha()).await;
    wait_for_state(db, p.id, PurchaseState::Delivered).await;

    // The same order, paid once; no second create.
    let orders = app.sim().orders();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].id, order.as_str());
    let paid = app
        .sim()
        .ledger()
        .iter()
        .filter(|e| matches!(e, LedgerEntry::OrderPaid { .. }))
        .count();
    assert_eq!(paid, 1);
    let events = admin_events(db, p.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].to_state.as_deref(), Some("waiting_supplier"));
    assert_eq!(events[0].actor.as_deref(), Some("admin:9000"));
    app.stop().await;
}

async fn retrying_a_dead_letter_whose_create_is_in_doubt_adopts_the_late_order(db: &TestDb) {
    // Dead-lettered (3 s) while its create is still settling (5 s).
    let app = TestApp::spawn_with(db, SimOptions::default(), |s| {
        s.insert("STALL_ALERT_SECS".to_owned(), "1".to_owned());
        s.insert("STALL_DEAD_SECS".to_owned(), "3".to_owned());
        s.insert("SETTLE_DELAY_SECS".to_owned(), "5".to_owned());
    })
    .await;
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::complete(Duration::from_millis(300)),
    );
    // The create's connection closes unanswered; the supplier makes the
    // order only later (a request that landed after the client gave up).
    app.sim().push_fault(Endpoint::CreateOrder, Fault::Park);
    let (p, _) = buy_steam(&app, db, "× 1").await;
    wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    let attempts = db.store.attempts_of(p.id).await.unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].state, AttemptState::Abandoned);
    assert_eq!(app.sim().release_parked(), 1);
    assert_eq!(app.sim().orders().len(), 1);
    // Past the settle delay, so the reconciliation reads the history at once.
    let settled = attempts[0].reach_by + 5_000;
    wait_for("the settle delay", WAIT, || async {
        (foxbot::clock::Clock::now_ms(&foxbot::clock::SystemClock) > settled).then_some(())
    })
    .await;

    let admin = owner();
    let list = ask(&app, &admin, "/stalled", "Needing attention").await;
    let confirm = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Retry #{}", p.id),
        "goes to reconciling",
    )
    .await;
    press_for_edit(&app, &admin, &confirm, "Yes", &["back at work"]).await;
    wait_for_codes(&app, &asha()).await;
    let delivered = wait_for_state(db, p.id, PurchaseState::Delivered).await;

    // The order that landed late is the one adopted; none other was made.
    let orders = app.sim().orders();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(
        delivered.supplier_order_id.as_ref().map(|o| o.as_str()),
        Some(orders[0].id.as_str())
    );
    let attempts = db.store.attempts_of(p.id).await.unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].state, AttemptState::Found);
    let events = admin_events(db, p.id).await;
    assert_eq!(events[0].to_state.as_deref(), Some("reconciling"));
    app.stop().await;
}

async fn balance_order_and_stats_show_a_delivered_purchase(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = owner();
    ask(&app, &admin, "/stalled", "Nothing needs attention").await;
    let (p, charge) = buy_steam(&app, db, "× 1").await;
    wait_for_codes(&app, &asha()).await;
    wait_for_state(db, p.id, PurchaseState::Delivered).await;

    let mut balance = app.sim().balance().decimal();
    balance.rescale(2);
    let text = ask(&app, &admin, "/balance", "Supplier balance")
        .await
        .text
        .unwrap();
    assert!(text.contains(&format!("USD: {balance}")), "{text}");
    assert!(text.contains("9.20 USD (1 order)"), "{text}");
    assert!(text.contains("lasts about"), "{text}");

    let timeline = ask(&app, &admin, &format!("/order {}", p.id), "Timeline")
        .await
        .text
        .unwrap();
    assert!(
        timeline.contains(&format!("Purchase #{}", p.id)),
        "{timeline}"
    );
    for step in ["→ ordering", "order_paid", "delivering → delivered"] {
        assert!(timeline.contains(step), "{step}: {timeline}");
    }
    // By `#id`, by charge id, by supplier order id.
    let order = app.sim().orders()[0].id.clone();
    for reference in [format!("#{}", p.id), charge.clone(), order] {
        let view = ask(&app, &admin, &format!("/order {reference}"), "Timeline").await;
        assert!(
            contains(&view, &format!("Purchase #{}", p.id)),
            "{reference}: {view:?}"
        );
    }
    ask(&app, &admin, "/order 987654", "No purchase matches").await;
    ask(&app, &admin, "/order <b>", "Usage").await;
    ask(&app, &admin, "/order", "Usage").await;

    let stats = ask(&app, &admin, "/stats", "Today").await.text.unwrap();
    for line in [
        "Purchases: 1",
        "Delivered: 1",
        &format!("Revenue: {} ⭐", p.stars),
        "Supplier cost: 9.20 USD",
    ] {
        assert!(stats.contains(line), "{line}: {stats}");
    }
    app.stop().await;
}

async fn a_partial_delivery_is_refunded_whole_and_a_full_one_is_not_refunded(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    let admin = owner();
    // Delivered in full: the refund is refused.
    let (full, _) = buy_steam(&app, db, "× 1").await;
    wait_for_state(db, full.id, PurchaseState::Delivered).await;
    let view = ask(&app, &admin, &format!("/order {}", full.id), "Timeline").await;
    assert!(
        contains(&view, &format!("Purchase #{}", full.id)),
        "{view:?}"
    );
    assert!(view.buttons().is_empty(), "nothing to do by hand: {view:?}");
    let before = app.api.sent_messages(ADMIN).len();
    app.api
        .callback(&admin, view.message_id, &format!("a:refund:{}", full.id));
    app.api
        .wait("the refusal", WAIT, |api| {
            api.sent_messages(ADMIN)
                .into_iter()
                .skip(before)
                .find(|m| contains(m, "delivered in full"))
        })
        .await;

    // Two ordered, one delivered: the whole payment back, on confirmation.
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::partial(Duration::from_millis(300)),
    );
    let (partial, charge) = buy_steam(&app, db, "× 2").await;
    wait_for_state(db, partial.id, PurchaseState::Delivered).await;
    let view = ask(&app, &admin, &format!("/order {}", partial.id), "Timeline").await;
    assert!(
        contains(&view, &format!("Purchase #{}", partial.id)),
        "{view:?}"
    );
    let confirm = press_for_new(
        &app,
        &admin,
        &view,
        &format!("Refund #{}", partial.id),
        "whole",
    )
    .await;
    assert!(
        contains(&confirm, "codes already sent stay with the buyer"),
        "{confirm:?}"
    );
    press_for_edit(&app, &admin, &confirm, "Yes", &["is being refunded"]).await;
    let refund = app.api.wait_for_refund(&charge, WAIT).await;
    assert_eq!(i64::from(refund.amount), partial.stars);
    wait_for_state(db, partial.id, PurchaseState::Refunded).await;
    assert_eq!(app.api.refunds().len(), 1);
    assert_eq!(app.sim().orders().len(), 2);
    app.stop().await;
}

async fn a_non_admin_pressing_an_admin_button_changes_nothing(db: &TestDb) {
    let app = stalling_shop(db).await;
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::stall(Duration::from_millis(300)),
    );
    let (p, _) = buy_steam(&app, db, "× 1").await;
    wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    let events_before = db.store.events_of(p.id).await.unwrap().len();
    let fence_before = db.store.purchase(p.id).await.unwrap().unwrap().fence;

    let mallory = TgUser::new(666, "Mallory").with_language("en");
    let menu = app.say(&mallory, "/orders").await;
    let sent_before = app.api.sent_messages(mallory.id).len();
    for action in ["refund", "retry", "close", "recheck"] {
        for prefix in ["a", "ay"] {
            let data = format!("{prefix}:{action}:{}", p.id);
            let query = app.api.callback(&mallory, menu.message_id, &data);
            let answer = app
                .api
                .wait("the answer to an admin button", WAIT, |api| {
                    api.callback_answers()
                        .into_iter()
                        .find(|a| a.query_id == query)
                })
                .await;
            assert!(
                answer.text.unwrap_or_default().contains("expired"),
                "{data}"
            );
        }
    }
    // Nothing moved, nothing was refunded, nothing was said or recorded.
    let after = db.store.purchase(p.id).await.unwrap().unwrap();
    assert_eq!(after.state, PurchaseState::DeadLetter);
    assert_eq!(after.fence, fence_before);
    assert!(app.api.refunds().is_empty());
    assert!(admin_events(db, p.id).await.is_empty());
    assert_eq!(db.store.events_of(p.id).await.unwrap().len(), events_before);
    assert_eq!(app.api.sent_messages(mallory.id).len(), sent_before);
    // And the commands answer as unknown ones.
    let unknown = app.say(&mallory, "/frobnicate").await.text.unwrap();
    let stalled = app.say(&mallory, "/stalled").await.text.unwrap();
    assert_eq!(stalled, unknown);
    app.stop().await;
}

async fn closing_a_dead_letter_tells_the_buyer_in_their_progress_message(db: &TestDb) {
    let app = stalling_shop(db).await;
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::stall(Duration::from_millis(300)),
    );
    let (p, _) = buy_steam(&app, db, "× 1").await;
    wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    let buyer = asha();
    // The buyer's progress message says the shop is on it.
    app.api
        .wait_for_message(buyer.id, |m| contains(m, "taking longer"), WAIT)
        .await;

    let admin = owner();
    let list = ask(&app, &admin, "/stalled", "Needing attention").await;
    let confirm = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Close #{}", p.id),
        &format!("Close #{}", p.id),
    )
    .await;
    press_for_edit(&app, &admin, &confirm, "Yes", &["is closed"]).await;
    wait_for_state(db, p.id, PurchaseState::Cancelled).await;
    // The same message, edited: settled by the shop, nothing refunded.
    let progress = app
        .api
        .wait_for_message(buyer.id, |m| contains(m, "was cancelled"), WAIT)
        .await;
    assert!(progress.edits >= 2, "{progress:?}");
    assert!(app.api.refunds().is_empty());
    app.stop().await;
}

/// The callback data of `message`'s button `label`.
fn data_of(message: &SentMessage, label: &str) -> String {
    message
        .callback_data(label)
        .unwrap_or_else(|| panic!("no button {label:?}: {:?}", message.buttons()))
}

/// Messages to `user` containing `needle`.
fn count(app: &TestApp, user: i64, needle: &str) -> usize {
    app.api
        .sent_messages(user)
        .iter()
        .filter(|m| contains(m, needle))
        .count()
}

/// The buyer opens purchase `id` from `/orders`; the first message the
/// view sends that contains `needle`.
async fn view_order(app: &TestApp, buyer: &TgUser, id: i64, needle: &str) -> SentMessage {
    let menu = app.say(buyer, "/orders").await;
    let before = app.api.sent_messages(buyer.id).len();
    app.api.callback(buyer, menu.message_id, &format!("o:{id}"));
    app.api
        .wait(&format!("the view of #{id} with {needle:?}"), WAIT, |api| {
            api.sent_messages(buyer.id)
                .into_iter()
                .skip(before)
                .find(|m| contains(m, needle))
        })
        .await
}

async fn a_dead_letter_whose_codes_reached_the_buyer_is_refunded_only_anyway_and_leaves_orders_without_codes(
    db: &TestDb,
) {
    let app = TestApp::spawn(db).await;
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::complete(Duration::from_secs(2)),
    );
    let buyer = asha();
    let (p, charge) = buy_steam(&app, db, "× 1").await;
    // Once the progress message is out, the codes are the next message to
    // the buyer: it arrives, but its reply is lost, twice.
    app.api
        .wait_for_message(buyer.id, |m| contains(m, &format!("Order #{}", p.id)), WAIT)
        .await;
    app.api
        .fault("sendMessage")
        .chat(buyer.id)
        .times(2)
        .lose_reply();
    wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    assert!(
        count(&app, buyer.id, "Your order #") >= 1,
        "the codes arrived"
    );
    let delivery = db.store.delivery_of(p.id).await.unwrap().expect("claimed");
    assert!(!delivery.state.is_final(), "{delivery:?}");
    // The buyer can view them in /orders.
    view_order(&app, &buyer, p.id, "Your order #").await;

    // A plain refund is refused as delivered, and offers the explicit one.
    let admin = owner();
    let list = ask(&app, &admin, "/stalled", "Needing attention").await;
    let refused = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Refund #{}", p.id),
        "counts as delivered",
    )
    .await;
    assert!(app.api.refunds().is_empty());
    let confirm = press_for_new(
        &app,
        &admin,
        &refused,
        &format!("Refund #{} anyway", p.id),
        &format!("Refund #{} anyway?", p.id),
    )
    .await;
    assert!(
        contains(&confirm, "hidden from their /orders"),
        "{confirm:?}"
    );
    assert!(
        contains(&confirm, &format!("{} Stars", p.stars)),
        "{confirm:?}"
    );
    assert!(
        app.api.refunds().is_empty(),
        "nothing before the confirmation"
    );
    press_for_edit(&app, &admin, &confirm, "Yes", &["refunded anyway"]).await;
    let refund = app.api.wait_for_refund(&charge, WAIT).await;
    assert_eq!(i64::from(refund.amount), p.stars);
    wait_for_state(db, p.id, PurchaseState::Refunded).await;

    // /orders shows the purchase, refunded, without its codes.
    let shown = count(&app, buyer.id, "Your order #");
    let view = view_order(&app, &buyer, p.id, &format!("Order #{}:", p.id)).await;
    assert!(contains(&view, "refunded"), "{view:?}");
    assert_eq!(
        count(&app, buyer.id, "Your order #"),
        shown,
        "no codes shown"
    );
    assert!(db.store.viewable_codes(p.id).await.unwrap().is_none());

    // Recorded in the timeline, naming the admin.
    let events = admin_events(db, p.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].actor.as_deref(), Some("admin:9000"));
    assert!(
        events[0].detail.contains("\"action\":\"refund_anyway\"")
            && events[0].detail.contains("\"codes_withdrawn\":true"),
        "{events:?}"
    );
    assert_eq!(app.api.calls("refundStarPayment").len(), 1);
    app.stop().await;
}

async fn a_dead_letter_is_not_retried_while_its_refund_is_claimed(db: &TestDb) {
    let app = stalling_shop(db).await;
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::stall(Duration::from_millis(300)),
    );
    let (p, _) = buy_steam(&app, db, "× 1").await;
    wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    // Telegram refuses the refund: claimed, then a dead letter again.
    app.api
        .fault("refundStarPayment")
        .error(400, "Bad Request: CHARGE_NOT_FOUND");
    let admin = owner();
    let list = ask(&app, &admin, "/stalled", "Needing attention").await;
    // A retry asked for before the refund, and confirmed only after it.
    let retry = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Retry #{}", p.id),
        "waiting_supplier",
    )
    .await;
    let confirm = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Refund #{}", p.id),
        &format!("Refund #{}?", p.id),
    )
    .await;
    press_for_edit(&app, &admin, &confirm, "Yes", &["is being refunded"]).await;
    wait_for("a claimed refund on a dead letter", WAIT, || async {
        let refund = db.store.refund_of(p.id).await.ok().flatten()?;
        let p = db.store.purchase(p.id).await.ok().flatten()?;
        (p.state == PurchaseState::DeadLetter).then_some(refund)
    })
    .await;
    let fence = db.store.purchase(p.id).await.unwrap().unwrap().fence;

    let list = ask(&app, &admin, "/stalled", "Needing attention").await;
    let refused = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Retry #{}", p.id),
        "is claimed or already done",
    )
    .await;
    assert!(
        refused.buttons().is_empty(),
        "nothing to confirm: {refused:?}"
    );
    // The retry confirmed on what the admin saw before: refused all the same.
    press_for_edit(&app, &admin, &retry, "Yes", &["is claimed or already done"]).await;
    let after = db.store.purchase(p.id).await.unwrap().unwrap();
    assert_eq!(after.state, PurchaseState::DeadLetter);
    assert_eq!(after.fence, fence);
    assert_eq!(app.sim().orders().len(), 1);
    assert_eq!(admin_events(db, p.id).await.len(), 1, "the refund only");
    app.stop().await;
}

async fn a_refund_of_a_paid_supplier_order_says_its_wholesale_cost_before_the_confirm(db: &TestDb) {
    let app = TestApp::spawn(db).await;
    // Paid, then processing for as long as the test runs.
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::stall(Duration::from_millis(300)),
    );
    let (p, charge) = buy_steam(&app, db, "× 2").await;
    wait_for_state(db, p.id, PurchaseState::WaitingSupplier).await;
    let order = app.sim().orders()[0].clone();
    assert!(order.paid, "{order:?}");

    let admin = owner();
    let view = ask(&app, &admin, &format!("/order {}", p.id), "Timeline").await;
    let confirm = press_for_new(
        &app,
        &admin,
        &view,
        &format!("Refund #{}", p.id),
        &format!("Refund #{}?", p.id),
    )
    .await;
    let mut wholesale = order.total.decimal();
    wholesale.rescale(2);
    assert!(
        contains(
            &confirm,
            &format!("The supplier was paid for this order: {wholesale} USD at wholesale")
        ),
        "{confirm:?}"
    );
    assert!(app.api.refunds().is_empty());
    let done = press_for_edit(&app, &admin, &confirm, "Yes", &["is being refunded"]).await;
    assert!(contains(&done, &format!("admin {ADMIN}")), "{done:?}");
    app.api.wait_for_refund(&charge, WAIT).await;
    wait_for_state(db, p.id, PurchaseState::Refunded).await;
    let events = admin_events(db, p.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].detail.contains("\"supplier_paid\":\"yes\"")
            && events[0]
                .detail
                .contains(&format!("\"wholesale\":\"{}\"", order.total)),
        "{events:?}"
    );
    app.stop().await;
}

async fn a_confirmation_against_other_facts_or_over_a_day_old_shows_the_plan_anew_and_does_nothing(
    db: &TestDb,
) {
    let app = stalling_shop(db).await;
    app.sim().set_product_outcome(
        "product_steam_10",
        OrderOutcome::stall(Duration::from_millis(300)),
    );
    let (p, charge) = buy_steam(&app, db, "× 1").await;
    wait_for_state(db, p.id, PurchaseState::DeadLetter).await;
    let admin = owner();
    let list = ask(&app, &admin, "/stalled", "Needing attention").await;
    let confirm = press_for_new(
        &app,
        &admin,
        &list,
        &format!("Refund #{}", p.id),
        &format!("Refund #{}?", p.id),
    )
    .await;
    let yes = confirm
        .buttons()
        .into_iter()
        .find(|b| b.text.starts_with("✅"))
        .expect("a confirm button")
        .text;
    let data = data_of(&confirm, &yes);
    // ay:refund:<id>:<fence>:<fingerprint>:<minute>
    let fields: Vec<&str> = data.split(':').collect();
    assert_eq!(fields.len(), 6, "{data}");
    assert!(data.len() <= 64, "{data}");
    let with = |i: usize, value: String| {
        let mut f: Vec<String> = fields.iter().map(|s| (*s).to_owned()).collect();
        f[i] = value;
        f.join(":")
    };
    let fence: i64 = fields[3].parse().unwrap();
    let minute: i64 = fields[5].parse().unwrap();
    let print = u32::from_str_radix(fields[4], 16).unwrap();
    // Each answer differs from the one before (Telegram refuses an edit
    // that changes nothing).
    let stale = [
        // Another plan was seen (its fingerprint).
        (with(4, format!("{:08x}", print ^ 1)), "Things changed"),
        // Made 25 hours ago.
        (
            with(5, (minute - 25 * 60).to_string()),
            "more than a day old",
        ),
        // Seen at another fence.
        (with(3, (fence + 1).to_string()), "Things changed"),
    ];
    for (forged, needle) in stale {
        let edits = app.message(&admin, confirm.message_id).edits;
        let query = app.api.callback(&admin, confirm.message_id, &forged);
        let shown = app
            .api
            .wait(&format!("{needle:?} after {forged}"), WAIT, |api| {
                let answered = api.callback_answers().iter().any(|a| a.query_id == query);
                api.sent_messages(admin.id)
                    .into_iter()
                    .find(|m| {
                        m.message_id == confirm.message_id && m.edits > edits && contains(m, needle)
                    })
                    .filter(|_| answered)
            })
            .await;
        // Nothing was done; the plan is shown again, with a fresh button.
        assert!(contains(&shown, &format!("Refund #{}?", p.id)), "{shown:?}");
        assert_ne!(data_of(&shown, &yes), forged);
        assert!(app.api.refunds().is_empty(), "{forged}");
        assert_eq!(
            db.store.purchase(p.id).await.unwrap().unwrap().state,
            PurchaseState::DeadLetter
        );
        assert!(admin_events(db, p.id).await.is_empty(), "{forged}");
    }
    // The fresh button acts.
    let shown = app.message(&admin, confirm.message_id);
    press_for_edit(&app, &admin, &shown, &yes, &["is being refunded"]).await;
    app.api.wait_for_refund(&charge, WAIT).await;
    assert_eq!(admin_events(db, p.id).await.len(), 1);
    app.stop().await;
}
