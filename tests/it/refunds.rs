//! Refunds: the Stars back exactly once, under a `refunds` row claimed
//! before `refundStarPayment`; retried until confirmed; "already refunded"
//! finishes it; the buyer told in their language; nothing refunded for a
//! purchase not paid in Stars. Scripted Telegram, manual clock, both engines.

use std::sync::Arc;
use std::time::Duration;

use foxbot::clock::{Clock, ManualClock};
use foxbot::delivery::refund::{RefundConfig, RefundError, Refunder};
use foxbot::domain::{EventKind, Language, PurchaseSource, PurchaseState};
use foxbot::store::{Change, Purchase, RefundState, Store, Transition};

use crate::support::TestDb;
use crate::support::db::new_purchase;
use crate::support::notifier::{FakeNotifier, FakePayments};

on_both_engines!(
    a_failed_order_refunds_the_stars_once_and_tells_the_buyer,
    two_workers_racing_call_refund_once,
    an_already_refunded_answer_finishes_a_refund_whose_reply_was_lost,
    a_refund_is_retried_with_backoff_until_confirmed,
    a_purchase_not_paid_in_stars_is_cancelled_with_an_alert,
    a_refused_refund_goes_to_a_person,
    a_refund_stays_recorded_when_the_purchase_moved_on_meanwhile,
);

struct Setup {
    store: Store,
    clock: Arc<ManualClock>,
    notifier: Arc<FakeNotifier>,
    payments: Arc<FakePayments>,
    refunder: Refunder,
}

fn config() -> RefundConfig {
    RefundConfig {
        lease: Duration::from_secs(60),
        retry: Duration::from_secs(5),
        max_retry: Duration::from_secs(300),
        idle: Duration::from_millis(20),
    }
}

fn setup(db: &TestDb) -> Setup {
    let clock = ManualClock::starting_now();
    let notifier = Arc::new(FakeNotifier::default());
    let payments = Arc::new(FakePayments::default());
    let refunder = Refunder::new(
        db.store.clone(),
        payments.clone(),
        notifier.clone(),
        clock.clone(),
        config(),
    );
    Setup {
        store: db.store.clone(),
        clock,
        notifier,
        payments,
        refunder,
    }
}

impl Setup {
    async fn purchase(&self, id: i64) -> Purchase {
        self.store.purchase(id).await.unwrap().unwrap()
    }

    async fn run(&self) {
        for _ in 0..20 {
            if self.refunder.refund_once("r/w0").await.unwrap() == 0 {
                return;
            }
        }
        panic!("refunds never ran out of due work");
    }

    /// A purchase paid with 50 Stars (charge `charge-<n>`) that the engine
    /// sent to refund.
    async fn refunding(&self, n: i64, source: PurchaseSource, language: Language) -> i64 {
        let mut np = new_purchase(500 + n, "product_psn_pin", 1, &[]);
        np.source = source;
        np.language = language;
        np.sale.stars = 50;
        np.telegram_charge_id = (source == PurchaseSource::Telegram).then(|| format!("charge-{n}"));
        let now = self.clock.now_ms();
        let id = self.store.insert_purchase(&np, now).await.unwrap();
        let p = self.purchase(id).await;
        let t = Transition::by_hand(&p, PurchaseState::Refunding, EventKind::RefundNeeded).set(
            Change::LastError(Some("the supplier order failed".to_owned())),
        );
        assert!(self.store.transition(&t, now).await.unwrap().applied());
        id
    }
}

async fn a_failed_order_refunds_the_stars_once_and_tells_the_buyer(db: &TestDb) {
    let s = setup(db);
    let id = s.refunding(1, PurchaseSource::Telegram, Language::Hi).await;
    s.run().await;
    let calls = s.payments.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0.0, 501);
    assert_eq!(calls[0].1, "charge-1");
    assert_eq!(s.purchase(id).await.state, PurchaseState::Refunded);
    let refund = s.store.refund_of(id).await.unwrap().unwrap();
    assert_eq!(refund.state, RefundState::Confirmed);
    assert_eq!(refund.stars, 50);
    let told = s.notifier.asked();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].chat_id, 501);
    assert!(
        told[0].html.contains("50 Stars रिफ़ंड कर दिए गए"),
        "{}",
        told[0].html
    );
    s.run().await;
    assert_eq!(s.payments.calls().len(), 1, "never again");
}

async fn two_workers_racing_call_refund_once(db: &TestDb) {
    let s = setup(db);
    let ids = [
        s.refunding(1, PurchaseSource::Telegram, Language::En).await,
        s.refunding(2, PurchaseSource::Telegram, Language::En).await,
    ];
    let other = Refunder::new(
        db.another_store().await,
        s.payments.clone(),
        s.notifier.clone(),
        s.clock.clone(),
        config(),
    );
    for _ in 0..4 {
        let (a, b) = tokio::join!(s.refunder.refund_once("r/w0"), other.refund_once("q/w0"));
        a.unwrap();
        b.unwrap();
    }
    assert_eq!(s.payments.calls().len(), 2, "one call per purchase");
    for id in ids {
        assert_eq!(s.purchase(id).await.state, PurchaseState::Refunded);
    }
}

async fn an_already_refunded_answer_finishes_a_refund_whose_reply_was_lost(db: &TestDb) {
    let s = setup(db);
    let id = s.refunding(1, PurchaseSource::Telegram, Language::En).await;
    // The refund went through, but its reply was lost.
    s.payments
        .push(Err(RefundError::Transient("timed out".to_owned())));
    s.payments.push(Err(RefundError::AlreadyRefunded));
    s.run().await;
    assert_eq!(s.purchase(id).await.state, PurchaseState::Refunding);
    s.clock.advance(Duration::from_secs(60));
    s.run().await;
    assert_eq!(s.payments.calls().len(), 2);
    assert_eq!(s.purchase(id).await.state, PurchaseState::Refunded);
    let refund = s.store.refund_of(id).await.unwrap().unwrap();
    assert_eq!(refund.state, RefundState::Confirmed);
    assert_eq!(refund.tries, 2);
}

async fn a_refund_is_retried_with_backoff_until_confirmed(db: &TestDb) {
    let s = setup(db);
    let id = s.refunding(1, PurchaseSource::Telegram, Language::En).await;
    for _ in 0..3 {
        s.payments
            .push(Err(RefundError::Transient("502 Bad Gateway".to_owned())));
    }
    let mut waits = Vec::new();
    for _ in 0..3 {
        s.run().await;
        let p = s.purchase(id).await;
        assert_eq!(p.state, PurchaseState::Refunding);
        let wait = p.next_action_at - s.clock.now_ms();
        waits.push(wait);
        s.clock.advance(Duration::from_millis(wait as u64));
    }
    assert!(
        waits[0] >= 5_000 && waits[1] > waits[0] && waits[2] > waits[1],
        "{waits:?}"
    );
    s.run().await;
    assert_eq!(s.purchase(id).await.state, PurchaseState::Refunded);
    assert_eq!(s.payments.calls().len(), 4);
}

async fn a_purchase_not_paid_in_stars_is_cancelled_with_an_alert(db: &TestDb) {
    let s = setup(db);
    let id = s.refunding(1, PurchaseSource::Manual, Language::En).await;
    s.run().await;
    assert!(s.payments.calls().is_empty());
    assert_eq!(s.purchase(id).await.state, PurchaseState::Cancelled);
    let alerts = s.store.alerts_of(id).await.unwrap();
    assert_eq!(alerts.len(), 1);
    let text = crate::support::alert_text(&alerts[0], Language::En);
    assert!(text.contains("not paid in Stars"), "{text}");
}

async fn a_refused_refund_goes_to_a_person(db: &TestDb) {
    let s = setup(db);
    let id = s.refunding(1, PurchaseSource::Telegram, Language::En).await;
    s.payments
        .push(Err(RefundError::Rejected("CHARGE_NOT_FOUND".to_owned())));
    s.run().await;
    let p = s.purchase(id).await;
    assert_eq!(p.state, PurchaseState::DeadLetter);
    assert!(p.last_error.unwrap().contains("CHARGE_NOT_FOUND"));
    assert_eq!(s.store.alerts_of(id).await.unwrap()[0].kind, "dead_letter");
}

/// Telegram returned the Stars; while it answered, someone else moved the
/// purchase. Closing as refunded loses its race, but the confirmed refund
/// must stay recorded (a person looking at it must not refund again).
async fn a_refund_stays_recorded_when_the_purchase_moved_on_meanwhile(db: &TestDb) {
    let s = setup(db);
    let id = s.refunding(1, PurchaseSource::Telegram, Language::En).await;
    let (store, now) = (s.store.clone(), s.clock.now_ms());
    s.payments.meanwhile(Box::new(move || {
        Box::pin(async move {
            let p = store.purchase(id).await.unwrap().unwrap();
            let away = Transition::by_hand(&p, PurchaseState::DeadLetter, EventKind::DeadLetter);
            assert!(store.transition(&away, now).await.unwrap().applied());
        })
    }));
    s.run().await;
    assert_eq!(s.payments.refunded().get("charge-1"), Some(&1));
    assert_eq!(s.purchase(id).await.state, PurchaseState::DeadLetter);
    let refund = s.store.refund_of(id).await.unwrap().unwrap();
    assert_eq!(refund.state, RefundState::Confirmed);
}
