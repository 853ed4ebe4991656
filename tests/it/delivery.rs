//! Delivery: the codes to the buyer exactly once under a `delivery_log`
//! row, re-sent once (flagged) only when a send's outcome is unknown;
//! Telegram's 429 waits, a block is recorded, long deliveries split.
//! A scripted notifier stands in for Telegram; manual clock; both engines.

use std::sync::Arc;
use std::time::Duration;

use foxbot::clock::{Clock, ManualClock};
use foxbot::delivery::{Deliverer, DeliveryConfig, SendError};
use foxbot::domain::{Code, EventKind, Language, PurchaseState, UserId};
use foxbot::store::{DeliveryMove, DeliveryState, Purchase, RenderedParts, Store, Transition};

use crate::support::TestDb;
use crate::support::db::new_purchase;
use crate::support::notifier::FakeNotifier;

on_both_engines!(
    a_completed_order_is_delivered_in_one_message_and_closed,
    the_same_completed_order_seen_by_two_workers_sends_one_message,
    a_crash_between_send_and_record_resends_once_flagged,
    a_send_whose_outcome_is_unknown_is_resent_once_then_goes_to_a_person,
    a_blocked_buyer_is_recorded_and_the_codes_stay_viewable,
    telegrams_429_delays_the_message_and_never_loses_it,
    a_long_delivery_is_split_and_each_part_sent_once_in_order,
    the_buyer_reads_the_delivery_in_their_language,
    a_resend_that_was_rate_limited_is_still_flagged,
    a_sent_part_stays_recorded_when_the_purchase_moved_on_meanwhile,
    a_resumed_delivery_sends_the_parts_it_started_with,
    // Issue #14, hole 5: codes are counted.
    stored_codes_that_are_all_blank_are_never_sent_as_delivered,
    a_short_delivery_tells_the_buyer_how_many_of_how_many_arrived,
    a_reorders_delivery_names_the_order_it_completes,
    a_short_order_alerts_the_admins_whose_confirmed_reorder_orders_the_rest_once,
);

struct Setup {
    store: Store,
    clock: Arc<ManualClock>,
    notifier: Arc<FakeNotifier>,
    deliverer: Deliverer,
}

fn config() -> DeliveryConfig {
    DeliveryConfig {
        lease: Duration::from_secs(60),
        retry: Duration::from_secs(2),
        idle: Duration::from_millis(20),
    }
}

fn setup(db: &TestDb) -> Setup {
    let clock = ManualClock::starting_now();
    let notifier = Arc::new(FakeNotifier::default());
    let deliverer = Deliverer::new(db.store.clone(), notifier.clone(), clock.clone(), config());
    Setup {
        store: db.store.clone(),
        clock,
        notifier,
        deliverer,
    }
}

impl Setup {
    async fn purchase(&self, id: i64) -> Purchase {
        self.store.purchase(id).await.unwrap().unwrap()
    }

    async fn run(&self) {
        for _ in 0..50 {
            if self.deliverer.deliver_once("d/w0").await.unwrap() == 0 {
                return;
            }
        }
        panic!("delivery never ran out of due work");
    }
}

fn codes(n: usize) -> Vec<Code> {
    (0..n)
        .map(|i| Code(serde_json::Value::String(format!("GIFT-{i:05}-CODE"))))
        .collect()
}

/// A purchase handed to delivery with `codes`, as the engine leaves it.
async fn delivering(s: &Setup, language: Language, codes: &[Code]) -> i64 {
    delivering_of(s, language, 1, codes).await
}

/// [`delivering`] for a purchase of `quantity` units.
async fn delivering_of(s: &Setup, language: Language, quantity: i64, codes: &[Code]) -> i64 {
    delivering_for(s, 77, language, quantity, codes).await
}

/// [`delivering_of`] for buyer `user` (the first purchase of a buyer sets
/// their language).
async fn delivering_for(
    s: &Setup,
    user: i64,
    language: Language,
    quantity: i64,
    codes: &[Code],
) -> i64 {
    let mut np = new_purchase(user, "product_steam_10", quantity, &[]);
    np.language = language;
    let now = s.clock.now_ms();
    let id = s.store.insert_purchase(&np, now).await.unwrap();
    to_delivering(s, id, codes).await;
    id
}

/// Moves purchase `id` (in `ordering`) to `delivering` with `codes`.
async fn to_delivering(s: &Setup, id: i64, codes: &[Code]) {
    let now = s.clock.now_ms();
    let p = s.store.purchase(id).await.unwrap().unwrap();
    // ordering → on_hold → delivering: both moves are in the state table.
    let held = Transition::by_hand(&p, PurchaseState::OnHold, EventKind::OnHold);
    assert!(s.store.transition(&held, now).await.unwrap().applied());
    let mut p = p;
    p.state = PurchaseState::OnHold;
    let done = Transition::by_hand(&p, PurchaseState::Delivering, EventKind::OrderCompleted);
    let mut tx = s.store.begin().await.unwrap();
    assert!(tx.transition(&done, now).await.unwrap().applied());
    tx.store_codes(id, codes, now).await.unwrap();
    tx.commit().await.unwrap();
}

async fn a_completed_order_is_delivered_in_one_message_and_closed(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(2)).await;
    s.run().await;
    let sent = s.notifier.asked();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].chat_id, 77);
    assert!(sent[0].html.contains("<code>GIFT-00000-CODE</code>"));
    assert!(sent[0].html.contains("<code>GIFT-00001-CODE</code>"));
    assert!(!sent[0].html.contains("again"), "not flagged");
    assert_eq!(s.purchase(id).await.state, PurchaseState::Delivered);
    let log = s.store.delivery_of(id).await.unwrap().unwrap();
    assert_eq!(log.state, DeliveryState::Sent);
    assert_eq!(log.message_id, Some(1));
    assert!(!log.resent);
    s.run().await;
    assert_eq!(s.notifier.asked().len(), 1, "never again");
}

async fn the_same_completed_order_seen_by_two_workers_sends_one_message(db: &TestDb) {
    let s = setup(db);
    let ids = [
        delivering(&s, Language::En, &codes(1)).await,
        delivering(&s, Language::En, &codes(1)).await,
        delivering(&s, Language::En, &codes(1)).await,
    ];
    let other = Deliverer::new(
        db.another_store().await,
        s.notifier.clone(),
        s.clock.clone(),
        config(),
    );
    for _ in 0..5 {
        let (a, b) = tokio::join!(s.deliverer.deliver_once("d/w0"), other.deliver_once("e/w0"));
        a.unwrap();
        b.unwrap();
    }
    assert_eq!(s.notifier.asked().len(), ids.len(), "one message per order");
    for id in ids {
        assert_eq!(s.purchase(id).await.state, PurchaseState::Delivered);
    }
}

async fn a_crash_between_send_and_record_resends_once_flagged(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(1)).await;
    // A sender claimed the delivery, marked the part `sending`, sent it,
    // and died before recording the outcome.
    let mut tx = s.store.begin().await.unwrap();
    let p = s.purchase(id).await;
    let parts = foxbot::delivery::message_parts(&p, Language::En, &codes(1));
    let json = serde_json::to_string(&parts).unwrap();
    let rendered = RenderedParts {
        json: &json,
        total: 1,
        language: "en",
    };
    let d = tx
        .claim_delivery(id, &rendered, s.clock.now_ms())
        .await
        .unwrap();
    let sending = DeliveryMove {
        from: DeliveryState::Pending,
        parts_sent: 0,
        to: DeliveryState::Sending,
        new_parts_sent: 0,
        resent: false,
        message_id: None,
        error: None,
    };
    assert!(
        tx.move_delivery(d.id, &sending, s.clock.now_ms())
            .await
            .unwrap()
            .applied()
    );
    tx.commit().await.unwrap();

    s.run().await;
    let sent = s.notifier.asked();
    assert_eq!(sent.len(), 1, "sent again once");
    assert!(
        sent[0].html.contains("Sent again"),
        "and flagged: {}",
        sent[0].html
    );
    let log = s.store.delivery_of(id).await.unwrap().unwrap();
    assert!(log.resent);
    assert_eq!(log.state, DeliveryState::Sent);
    assert_eq!(s.purchase(id).await.state, PurchaseState::Delivered);
}

async fn a_send_whose_outcome_is_unknown_is_resent_once_then_goes_to_a_person(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(1)).await;
    s.notifier
        .push(Err(SendError::Unknown("timed out".to_owned())));
    s.notifier
        .push(Err(SendError::Unknown("timed out".to_owned())));
    s.run().await;
    assert_eq!(s.notifier.asked().len(), 1);
    assert_eq!(
        s.store.delivery_of(id).await.unwrap().unwrap().state,
        DeliveryState::Unknown
    );
    s.clock.advance(Duration::from_secs(3));
    s.run().await;
    let sent = s.notifier.asked();
    assert_eq!(sent.len(), 2);
    assert!(sent[1].html.contains("Sent again"));
    s.clock.advance(Duration::from_secs(3));
    s.run().await;
    assert_eq!(s.notifier.asked().len(), 2, "re-sent once, not more");
    let p = s.purchase(id).await;
    assert_eq!(p.state, PurchaseState::DeadLetter);
    assert!(p.last_error.unwrap().contains("/orders"));
    let alerts = s.store.alerts_of(id).await.unwrap();
    assert_eq!(alerts[0].kind, "dead_letter");
}

async fn a_blocked_buyer_is_recorded_and_the_codes_stay_viewable(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(1)).await;
    s.notifier.push(Err(SendError::Blocked));
    s.run().await;
    assert_eq!(s.purchase(id).await.state, PurchaseState::Delivered);
    let log = s.store.delivery_of(id).await.unwrap().unwrap();
    assert_eq!(log.state, DeliveryState::Blocked);
    assert_eq!(s.store.codes(id).await.unwrap().unwrap().len(), 1);
    let events = s.store.events_of(id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "delivered");
    assert!(last.detail.contains("\"blocked\":true"), "{}", last.detail);
}

async fn telegrams_429_delays_the_message_and_never_loses_it(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(1)).await;
    s.notifier
        .push(Err(SendError::RetryAfter(Duration::from_secs(30))));
    s.run().await;
    assert_eq!(s.notifier.asked().len(), 1, "asked once, refused");
    let p = s.purchase(id).await;
    assert_eq!(p.state, PurchaseState::Delivering);
    assert!(p.next_action_at >= s.clock.now_ms() + 30_000);
    s.clock.advance(Duration::from_secs(29));
    s.run().await;
    assert_eq!(s.notifier.asked().len(), 1, "not before retry_after");
    s.clock.advance(Duration::from_secs(1));
    s.run().await;
    let sent = s.notifier.asked();
    assert_eq!(sent.len(), 2);
    assert!(!sent[1].html.contains("Sent again"), "a 429 sent nothing");
    assert_eq!(s.purchase(id).await.state, PurchaseState::Delivered);
}

async fn a_long_delivery_is_split_and_each_part_sent_once_in_order(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(600)).await;
    // The third part's send fails for a passing reason: nothing is lost or
    // repeated; it goes on from there.
    s.notifier.push(Ok(()));
    s.notifier.push(Ok(()));
    s.notifier
        .push(Err(SendError::NotSent("connection refused".to_owned())));
    s.run().await;
    s.clock.advance(Duration::from_secs(60));
    s.run().await;
    let sent = s.notifier.asked();
    let delivered: Vec<&String> = sent
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != 2)
        .map(|(_, m)| &m.html)
        .collect();
    let total = delivered.len();
    assert!(total >= 3, "{total} parts");
    let mut seen = 0;
    for (n, html) in delivered.iter().enumerate() {
        assert!(html.chars().count() <= 4096);
        assert!(
            html.starts_with(&format!("(part {} of {total})", n + 1)),
            "{html:.40}"
        );
        seen += html.matches("<code>").count();
    }
    assert_eq!(seen, 600, "every code exactly once");
    let log = s.store.delivery_of(id).await.unwrap().unwrap();
    assert_eq!(log.parts_sent, total as i64);
    assert_eq!(log.state, DeliveryState::Sent);
}

async fn the_buyer_reads_the_delivery_in_their_language(db: &TestDb) {
    let s = setup(db);
    delivering(&s, Language::Hi, &codes(1)).await;
    s.run().await;
    let sent = s.notifier.asked();
    assert!(sent[0].html.contains("आपका ऑर्डर"), "{}", sent[0].html);
}

async fn a_resend_that_was_rate_limited_is_still_flagged(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(1)).await;
    s.notifier
        .push(Err(SendError::Unknown("timed out".to_owned())));
    s.notifier
        .push(Err(SendError::RetryAfter(Duration::from_secs(1))));
    s.run().await;
    s.clock.advance(Duration::from_secs(3));
    s.run().await;
    let log = s.store.delivery_of(id).await.unwrap().unwrap();
    assert_eq!(log.state, DeliveryState::Unknown, "still in doubt");
    assert!(!log.resent, "the re-send never left");
    s.clock.advance(Duration::from_secs(3));
    s.run().await;
    let sent = s.notifier.asked();
    assert_eq!(sent.len(), 3);
    assert!(sent[2].html.contains("Sent again"), "{}", sent[2].html);
    assert_eq!(s.purchase(id).await.state, PurchaseState::Delivered);
}

/// The codes reached the chat; while Telegram answered, someone else moved
/// the purchase (here, to a person). Closing as delivered loses its race,
/// but the record that the codes were sent must stay: otherwise a retry by
/// a person would send them as if never sent.
async fn a_sent_part_stays_recorded_when_the_purchase_moved_on_meanwhile(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(1)).await;
    let (store, now) = (s.store.clone(), s.clock.now_ms());
    s.notifier.meanwhile(Box::new(move || {
        Box::pin(async move {
            let p = store.purchase(id).await.unwrap().unwrap();
            let away = Transition::by_hand(&p, PurchaseState::DeadLetter, EventKind::DeadLetter);
            assert!(store.transition(&away, now).await.unwrap().applied());
        })
    }));
    s.run().await;
    assert_eq!(s.notifier.arrived().len(), 1);
    assert_eq!(s.purchase(id).await.state, PurchaseState::DeadLetter);
    let log = s.store.delivery_of(id).await.unwrap().unwrap();
    assert_eq!(log.state, DeliveryState::Sent, "{log:?}");
    assert_eq!(log.message_id, Some(1));
}

// ---------------------------------------------------------------------------
// Issue #14, hole 5: codes are counted
// ---------------------------------------------------------------------------

fn blanks() -> Vec<Code> {
    [
        "\"\"",
        "\"   \"",
        "null",
        "{}",
        r#"{"code":" "}"#,
        r#"{"pin":""}"#,
    ]
    .into_iter()
    .map(|json| Code(serde_json::from_str(json).unwrap()))
    .collect()
}

/// Blank elements stored as codes (by an older version, say) never make a
/// "delivered" above an empty list: a person looks instead.
async fn stored_codes_that_are_all_blank_are_never_sent_as_delivered(db: &TestDb) {
    let s = setup(db);
    let id = delivering_of(&s, Language::En, 6, &blanks()).await;
    s.run().await;
    assert!(s.notifier.asked().is_empty(), "nothing sent");
    assert_eq!(s.purchase(id).await.state, PurchaseState::DeadLetter);
    let alerts = s.store.alerts_of(id).await.unwrap();
    assert!(alerts.iter().any(|a| a.kind == "dead_letter"), "{alerts:?}");
    assert!(s.store.delivery_of(id).await.unwrap().is_none());
}

/// 3 of 5 (and 1 of 5): the buyer reads exactly how many arrived and that
/// the shop is getting the rest, in their language; blanks are not shown.
async fn a_short_delivery_tells_the_buyer_how_many_of_how_many_arrived(db: &TestDb) {
    let s = setup(db);
    let mut three = codes(3);
    three.extend(blanks());
    let ids = [
        delivering_of(&s, Language::En, 5, &three).await,
        delivering_of(&s, Language::En, 5, &codes(1)).await,
        delivering_for(&s, 78, Language::Hi, 5, &codes(3)).await,
        delivering_of(&s, Language::En, 5, &codes(5)).await,
    ];
    s.run().await;
    let asked = s.notifier.asked();
    assert_eq!(asked.len(), 4);
    // In purchase order, whatever order they were sent in.
    let sent: Vec<_> = ids
        .iter()
        .map(|id| {
            asked
                .iter()
                .find(|m| m.html.contains(&format!("#{id}</b>")))
                .expect("each purchase delivered")
        })
        .collect();
    let en = &sent[0].html;
    assert!(
        en.contains("3 of 5 codes have arrived; the shop is getting the rest"),
        "{en}"
    );
    assert_eq!(en.matches("<code>").count(), 3, "no blank lines: {en}");
    assert!(!en.contains("4."), "{en}");
    assert!(
        sent[1].html.contains("1 of 5 codes has arrived"),
        "{}",
        sent[1].html
    );
    assert!(
        sent[2].html.contains("5 में से 3 कोड आ गए हैं"),
        "{}",
        sent[2].html
    );
    assert!(
        !sent[3].html.contains("arrived"),
        "a full delivery says nothing of it"
    );
}

/// A re-order's codes come as their own delivery, naming the order whose
/// missing units they are.
async fn a_reorders_delivery_names_the_order_it_completes(db: &TestDb) {
    let s = setup(db);
    let parent = delivering_of(&s, Language::En, 5, &codes(3)).await;
    s.run().await;
    let p = s.purchase(parent).await;
    let child = new_purchase(77, "product_steam_10", 2, &[]);
    let reordered = s
        .store
        .insert_reorder(
            &child,
            &p,
            "admin:1",
            &serde_json::json!({}),
            s.clock.now_ms(),
        )
        .await
        .unwrap();
    let foxbot::store::Reordered::New(child) = reordered else {
        panic!("{reordered:?}");
    };
    to_delivering(&s, child, &codes(2)).await;
    s.run().await;
    let sent = s.notifier.asked();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1]
            .html
            .contains(&format!("missing from your order #{parent}")),
        "{}",
        sent[1].html
    );
    assert!(!sent[1].html.contains("arrived"), "{}", sent[1].html);
}

/// Through the real app: 1 usable code of 3. The buyer is told "1 of 3";
/// the admins' alert carries the re-order and refund buttons; only an
/// admin's confirmed press re-orders, once however often pressed, and the
/// buyer gets the rest without paying again.
async fn a_short_order_alerts_the_admins_whose_confirmed_reorder_orders_the_rest_once(db: &TestDb) {
    use crate::bot::{asha, buy_to_invoice};
    use crate::support::app::{ADMIN, TestApp, WAIT};
    use crate::support::bot_api::{SentMessage, TgUser};
    use crate::support::wait_for;
    use foxbot::foxreload::sim::OrderOutcome;

    fn has(m: &SentMessage, needle: &str) -> bool {
        m.text.as_deref().is_some_and(|t| t.contains(needle))
    }
    async fn in_state(db: &TestDb, id: i64, state: PurchaseState) {
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

    let app = TestApp::spawn(db).await;
    // The admin has opened the bot (alerts cannot reach a chat never opened).
    let admin = TgUser::new(ADMIN, "Owner").with_language("en");
    app.say(&admin, "/start").await;
    const STEAM: &str = "product_steam_10";
    app.sim().set_product_outcome(
        STEAM,
        OrderOutcome::blank_codes(Duration::from_millis(300), 1),
    );
    let buyer = asha();
    buy_to_invoice(&app, &buyer, "Gift cards", "Steam Wallet", "× 3").await;
    let invoice = app.api.invoices().pop().expect("an invoice");
    let charge = app
        .api
        .checkout(&buyer, &invoice.payload, invoice.total_amount, WAIT)
        .await
        .expect("the pre-checkout is accepted");
    let p = wait_for("the purchase row", WAIT, || async {
        db.store.purchase_by_charge(&charge).await.ok().flatten()
    })
    .await;
    in_state(db, p.id, PurchaseState::Delivered).await;
    // The buyer: the one code, and exactly how many of how many.
    let codes = app
        .api
        .wait_for_message(
            buyer.id,
            |m| has(m, "Your order #") && has(m, "1 of 3 codes has arrived"),
            WAIT,
        )
        .await;
    assert!(has(&codes, "the shop is getting the rest"), "{codes:?}");
    app.api
        .wait_for_message(
            buyer.id,
            |m| has(m, "1 of 3 codes has arrived and is in the message below"),
            WAIT,
        )
        .await;
    // The admins: the count, and the two ways out.
    let alert = app
        .api
        .wait_for_message(ADMIN, |m| has(m, "only 1 of 3 codes arrived"), WAIT)
        .await;
    let reorder = format!("Re-order missing #{}", p.id);
    assert!(alert.callback_data(&reorder).is_some(), "{alert:?}");
    assert!(
        alert.callback_data(&format!("Refund #{}", p.id)).is_some(),
        "{alert:?}"
    );

    // Someone else pressing the re-order (asked or confirmed) changes nothing.
    let mallory = TgUser::new(666, "Mallory").with_language("en");
    let menu = app.say(&mallory, "/orders").await;
    let minute = chrono::Utc::now().timestamp() / 60;
    for data in [format!("ro:{}", p.id), format!("roy:{}:{minute}", p.id)] {
        assert!(foxbot::bot::Callback::parse(&data).is_some(), "{data}");
        let query = app.api.callback(&mallory, menu.message_id, &data);
        let answer = app
            .api
            .wait("the answer to a re-order button", WAIT, |api| {
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
    assert_eq!(db.store.reorder_of(p.id).await.unwrap(), None);

    // The admin presses it: asked first, with what it means.
    app.sim()
        .set_product_outcome(STEAM, OrderOutcome::complete(Duration::from_millis(300)));
    let before = app.api.sent_messages(ADMIN).len();
    app.api.press(&admin, &alert, &reorder);
    let confirm = app
        .api
        .wait("the re-order's confirmation", WAIT, |api| {
            api.sent_messages(ADMIN)
                .into_iter()
                .skip(before)
                .find(|m| has(m, "Re-order the 2 missing codes"))
        })
        .await;
    assert_eq!(db.store.reorder_of(p.id).await.unwrap(), None, "only asked");
    // Confirmed twice: one re-order. The confirmation is edited into the
    // record of what was done, then into "already".
    let mut answers = Vec::new();
    for needle in ["are re-ordered as purchase", "was already re-ordered"] {
        let query = app.api.press(&admin, &confirm, "Yes");
        let edited = app
            .api
            .wait(&format!("{needle:?} after the press"), WAIT, |api| {
                let answered = api.callback_answers().iter().any(|a| a.query_id == query);
                api.sent_messages(ADMIN)
                    .into_iter()
                    .find(|m| m.message_id == confirm.message_id && has(m, needle))
                    .filter(|_| answered)
            })
            .await;
        answers.push(edited.text.unwrap_or_default());
    }
    let child = db
        .store
        .reorder_of(p.id)
        .await
        .unwrap()
        .expect("re-ordered");
    assert!(
        answers[0].contains(&format!("re-ordered as purchase #{child}")),
        "{answers:?}"
    );
    assert!(
        answers[1].contains(&format!("already re-ordered as purchase #{child}")),
        "{answers:?}"
    );
    in_state(db, child, PurchaseState::Delivered).await;
    let rest = app
        .api
        .wait_for_message(
            buyer.id,
            |m| has(m, &format!("missing from your order #{}", p.id)),
            WAIT,
        )
        .await;
    assert_eq!(
        rest.text.unwrap_or_default().matches("FOX-").count(),
        2,
        "the two missing codes"
    );
    let c = db.store.purchase(child).await.unwrap().unwrap();
    assert_eq!((c.stars, c.quantity.get()), (0, 2));
    assert_eq!(app.api.invoices().len(), 1, "the buyer pays nothing more");
    assert!(app.api.refunds().is_empty());
    assert_eq!(
        app.sim().orders().len(),
        2,
        "one re-order, however often pressed"
    );
    app.stop().await;
}

/// Part k of a delivery is the same message however long the delivery
/// takes: the parts are rendered once, when it is claimed, and a resumed
/// delivery sends what was stored, even after the buyer changed language.
async fn a_resumed_delivery_sends_the_parts_it_started_with(db: &TestDb) {
    let s = setup(db);
    let id = delivering(&s, Language::En, &codes(600)).await;
    s.notifier.push(Ok(()));
    s.notifier
        .push(Err(SendError::NotSent("connection refused".to_owned())));
    s.run().await;
    s.store
        .choose_language(UserId(77), Language::Hi, s.clock.now_ms())
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(60));
    s.run().await;
    let sent = s.notifier.asked();
    let delivered: Vec<&String> = sent
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != 1)
        .map(|(_, m)| &m.html)
        .collect();
    let total = delivered.len();
    assert!(total >= 3, "{total} parts");
    let mut seen = 0;
    for (n, html) in delivered.iter().enumerate() {
        assert!(
            html.starts_with(&format!("(part {} of {total})", n + 1)),
            "part {} is not the one the delivery started with: {html:.60}",
            n + 1
        );
        seen += html.matches("<code>").count();
    }
    assert_eq!(seen, 600, "every code exactly once");
    let log = s.store.delivery_of(id).await.unwrap().unwrap();
    assert_eq!(log.state, DeliveryState::Sent);
    assert_eq!(log.parts_language.as_deref(), Some("en"));
}
