//! Delivery: the codes to the buyer exactly once under a `delivery_log`
//! row, re-sent once (flagged) only when a send's outcome is unknown;
//! Telegram's 429 waits, a block is recorded, long deliveries split.
//! A scripted notifier stands in for Telegram; manual clock; both engines.

use std::sync::Arc;
use std::time::Duration;

use foxbot::clock::{Clock, ManualClock};
use foxbot::delivery::{Deliverer, DeliveryConfig, SendError};
use foxbot::domain::{Code, EventKind, Language, PurchaseState};
use foxbot::store::{DeliveryMove, DeliveryState, Purchase, Store, Transition};

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
);

struct Setup {
    store: Store,
    clock: Arc<ManualClock>,
    notifier: Arc<FakeNotifier>,
    deliverer: Deliverer,
}

fn config(instance: &str) -> DeliveryConfig {
    DeliveryConfig {
        lease: Duration::from_secs(60),
        retry: Duration::from_secs(2),
        idle: Duration::from_millis(20),
        instance_id: instance.to_owned(),
    }
}

fn setup(db: &TestDb) -> Setup {
    let clock = ManualClock::starting_now();
    let notifier = Arc::new(FakeNotifier::default());
    let deliverer = Deliverer::new(
        db.store.clone(),
        notifier.clone(),
        clock.clone(),
        config("d"),
    );
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
    let mut np = new_purchase(77, "product_steam_10", 1, &[]);
    np.language = language;
    let now = s.clock.now_ms();
    let id = s.store.insert_purchase(&np, now).await.unwrap();
    let p = s.store.purchase(id).await.unwrap().unwrap();
    // ordering → on_hold → delivering: both moves are in the state table.
    let held = Transition::of(&p, PurchaseState::OnHold, EventKind::OnHold);
    assert!(s.store.transition(&held, now).await.unwrap().applied());
    let mut p = p;
    p.state = PurchaseState::OnHold;
    let done = Transition::of(&p, PurchaseState::Delivering, EventKind::OrderCompleted);
    let mut tx = s.store.begin().await.unwrap();
    assert!(tx.transition(&done, now).await.unwrap().applied());
    tx.store_codes(id, codes, now).await.unwrap();
    tx.commit().await.unwrap();
    id
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
        config("e"),
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
    let d = tx.claim_delivery(id, 1, s.clock.now_ms()).await.unwrap();
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
            let away = Transition::of(&p, PurchaseState::DeadLetter, EventKind::DeadLetter);
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
