//! The ordering engine against the supplier simulator, step by step on a
//! manual clock: every fault class, every transition, and the guarantees
//! (one paid order per purchase, nothing left waiting silently) after each.

use std::time::Duration;

use foxbot::domain::{EventKind, HoldReason, Money, PurchaseState, Watermark};
use std::sync::Arc;

use foxbot::engine::Engine;
use foxbot::foxreload::sim::{Endpoint, Fault, LedgerEntry, OrderOutcome, SimOptions};
use foxbot::foxreload::{Budget, ClientOptions, FoxReload, OrderStatus};
use foxbot::store::{AttemptState, Change, NewAttempt, Transition};

use crate::support::TestDb;
use crate::support::db::new_purchase;
use crate::support::rig::{CLIENT_TIMEOUT, Rig, check_guarantees, test_config};

const STEAM: &str = "product_steam_10"; // 9.20, no note
const PUBG: &str = "product_pubg_60"; // 0.99, asks player_id

on_both_engines!(
    a_purchase_is_ordered_paid_once_and_handed_to_delivery,
    a_lost_create_response_never_makes_a_second_order,
    every_ambiguous_create_that_committed_is_found_not_repeated,
    a_create_that_never_landed_is_sent_again_exactly_once,
    a_create_that_lands_after_the_client_gave_up_is_found,
    an_order_that_appears_late_in_the_history_is_found,
    an_order_hidden_past_both_scans_is_never_paid,
    a_rate_limited_create_waits_and_is_sent_once,
    purchases_with_the_same_signature_queue_behind_an_unresolved_create,
    a_crash_after_submitting_is_reconciled_not_resent,
    a_late_reply_noted_on_the_attempt_is_adopted_without_a_new_order,
    an_ambiguous_pay_is_resolved_by_reading_the_order,
    an_order_paid_at_creation_is_not_paid_again,
    a_low_balance_holds_the_purchase_until_a_top_up,
    a_purchase_still_unfunded_at_the_deadline_is_refunded,
    a_price_rise_within_tolerance_is_accepted_and_beyond_it_refunded,
    a_definite_rejection_goes_to_refund,
    a_failed_or_cancelled_supplier_order_is_refunded,
    a_stalled_order_alerts_then_is_dead_lettered,
    the_stall_sweep_never_moves_a_purchase_a_worker_holds,
    a_refused_key_holds_purchases_and_alerts,
    the_poller_watches_every_order_with_one_request,
    the_reconciliation_scan_pages_back_past_newer_orders,
    an_unpaid_order_that_expired_is_replaced_once,
    two_engines_on_one_database_pay_each_purchase_once,
    manual_purchases_are_checked_against_the_catalog,
    manual_purchases_racing_under_one_key_record_one,
    an_undecidable_reconciliation_is_dead_lettered_with_its_evidence,
    a_failed_history_read_is_retried_within_the_scan,
    // Issue #14, hole 5: codes are counted.
    blank_codes_are_never_delivered_and_the_purchase_goes_to_a_person,
    too_few_usable_codes_deliver_what_arrived_and_alert_the_admins_with_the_count,
    the_missing_units_are_reordered_once_linked_and_unpaid_through_the_engine,
);

fn money(s: &str) -> Money {
    Money::parse(s).unwrap()
}

async fn a_purchase_is_ordered_paid_once_and_handed_to_delivery(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let id = rig.buy(STEAM, 2, &[]).await;
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::WaitingSupplier);
    assert_eq!((rig.created(), rig.paid()), (1, 1));
    assert!(p.supplier_order_id.is_some());
    assert_eq!(
        rig.sim.request_count(Endpoint::GetOrder),
        0,
        "the create reply said active: paid on it, without reading the order"
    );

    rig.advance(3);
    let report = rig.poll().await;
    assert_eq!(report.completed, 1);
    assert_eq!(rig.state(id).await, PurchaseState::Delivering);
    assert_eq!(db.store.codes(id).await.unwrap().unwrap().len(), 2);
    let path: Vec<String> = db
        .store
        .events_of(id)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| e.to_state.clone())
        .collect();
    assert_eq!(
        path,
        [
            "ordering",
            "submitting",
            "ordered",
            "paying",
            "waiting_supplier",
            "delivering"
        ]
    );
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn a_lost_create_response_never_makes_a_second_order(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let id = rig.buy(PUBG, 1, &["player_id=77"]).await;
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::Reconciling);
    assert_eq!(rig.created(), 1);

    // Before the settle delay nothing is decided, and nothing is read.
    rig.advance(rig.settle_secs() - 2);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::Reconciling);
    assert_eq!(
        rig.sim.request_count(Endpoint::ListOrders),
        1,
        "only the watermark read"
    );

    rig.advance(2);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!((rig.created(), rig.paid()), (1, 1));
    let attempts = db.store.attempts_of(id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].state, AttemptState::Found);
    rig.run_to_quiescence(5, 10).await;
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn every_ambiguous_create_that_committed_is_found_not_repeated(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let faults = [
        Fault::DropAfterCommit,
        Fault::ServerErrorAfterCommit(502),
        Fault::ResetAfterCommit,
        Fault::MalformedAfterCommit,
        Fault::Park,
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        rig.sim.push_fault(Endpoint::CreateOrder, fault.clone());
        let id = rig.buy(PUBG, 1, &[&format!("player_id={i}")]).await;
        rig.work().await;
        assert_eq!(rig.state(id).await, PurchaseState::Reconciling, "{fault:?}");
        // A parked create commits only now, after the engine gave up on it.
        rig.sim.release_parked();
        rig.advance(rig.settle_secs() + 1);
        rig.work().await;
        assert_eq!(
            rig.state(id).await,
            PurchaseState::WaitingSupplier,
            "{fault:?}"
        );
        assert_eq!((rig.created(), rig.paid()), (i + 1, i + 1), "{fault:?}");
    }
    rig.run_to_quiescence(5, 10).await;
    let report = check_guarantees(&db.store, &rig.sim, true).await;
    assert_eq!((report.ambiguous, report.found, report.absent), (5, 5, 0));
}

async fn a_create_that_never_landed_is_sent_again_exactly_once(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    for fault in [
        Fault::ServerErrorBeforeCommit(503),
        Fault::ResetBeforeCommit,
    ] {
        rig.sim.push_fault(Endpoint::CreateOrder, fault.clone());
        let created_before = rig.created();
        let id = rig.buy(PUBG, 1, &["player_id=5"]).await;
        rig.work().await;
        assert_eq!(rig.state(id).await, PurchaseState::Reconciling, "{fault:?}");
        assert_eq!(rig.created(), created_before, "nothing landed");

        rig.advance(rig.settle_secs() + 1);
        rig.work().await;
        assert_eq!(
            rig.state(id).await,
            PurchaseState::Reconciling,
            "one clean scan is not proof"
        );
        rig.advance(31);
        rig.work().await;
        assert_eq!(
            rig.state(id).await,
            PurchaseState::WaitingSupplier,
            "{fault:?}"
        );
        assert_eq!(rig.created(), created_before + 1, "exactly one new create");
        let states: Vec<AttemptState> = db
            .store
            .attempts_of(id)
            .await
            .unwrap()
            .iter()
            .map(|a| a.state)
            .collect();
        assert_eq!(states, [AttemptState::Absent, AttemptState::Created]);
    }
    rig.run_to_quiescence(5, 10).await;
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn a_create_that_lands_after_the_client_gave_up_is_found(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    // The supplier holds the create and drops the connection unanswered.
    rig.sim.push_fault(Endpoint::CreateOrder, Fault::Park);
    let id = rig.buy(PUBG, 1, &["player_id=9"]).await;
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::Reconciling);
    assert_eq!(rig.created(), 0, "nothing landed yet");
    // It lands as late as a request on the wire still can.
    let c = &rig.config;
    rig.clock
        .advance(c.send_window() + c.supplier_timeout - Duration::from_secs(1));
    assert_eq!(rig.sim.release_parked(), 1);
    assert_eq!(rig.created(), 1);
    rig.advance(rig.settle_secs());
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!((rig.created(), rig.paid()), (1, 1), "found, not made again");
    let attempts = db.store.attempts_of(id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].state, AttemptState::Found);
}

async fn an_order_that_appears_late_in_the_history_is_found(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    // Listed after the first scan (at the settle time), before the second
    // (half a settle delay later).
    rig.sim
        .set_list_lag(Duration::from_secs(rig.settle_secs() + 15));
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let id = rig.buy(PUBG, 1, &["player_id=1"]).await;
    rig.work().await;
    rig.advance(rig.settle_secs() + 1);
    rig.work().await;
    assert_eq!(
        rig.state(id).await,
        PurchaseState::Reconciling,
        "not listed yet"
    );
    rig.advance(31);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!((rig.created(), rig.paid()), (1, 1));
}

async fn an_order_hidden_past_both_scans_is_never_paid(db: &TestDb) {
    // The history lags longer than the settle delay plus the second scan:
    // the lost order is taken for absent and a second one is made. The first
    // must stay unpaid (it expires by itself).
    let options = SimOptions {
        list_lag: Duration::from_secs(300),
        ..SimOptions::default()
    };
    let rig = Rig::with(&db.store, options, test_config("rig")).await;
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let id = rig.buy(PUBG, 1, &["player_id=1"]).await;
    rig.work().await;
    rig.advance(rig.settle_secs() + 1);
    rig.work().await;
    rig.advance(31);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!((rig.created(), rig.paid()), (2, 1));
    let orders = rig.sim.orders();
    assert!(
        !orders[0].paid && orders[1].paid,
        "only the linked order is paid"
    );
    rig.run_to_quiescence(5, 10).await;
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn a_rate_limited_create_waits_and_is_sent_once(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim.push_fault(
        Endpoint::CreateOrder,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::Ordering);
    assert_eq!(rig.created(), 0);
    assert!(p.next_action_at >= rig.now() + 1_000);
    let attempts = db.store.attempts_of(id).await.unwrap();
    assert_eq!(attempts[0].state, AttemptState::NotSent);
    rig.advance(2);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!((rig.created(), rig.paid()), (1, 1));
}

async fn purchases_with_the_same_signature_queue_behind_an_unresolved_create(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let a = rig.buy(PUBG, 1, &["player_id=7"]).await;
    let b = rig.buy(PUBG, 1, &["player_id=7"]).await;
    let other = rig.buy(PUBG, 1, &["player_id=8"]).await;
    rig.work().await;
    assert_eq!(rig.state(a).await, PurchaseState::Reconciling);
    assert_eq!(
        rig.state(b).await,
        PurchaseState::Ordering,
        "queued behind a"
    );
    assert_eq!(
        rig.state(other).await,
        PurchaseState::WaitingSupplier,
        "another signature is not held up"
    );
    assert_eq!(rig.created(), 2);
    for _ in 0..30 {
        rig.advance(3);
        rig.work().await;
        assert!(
            rig.created() <= 3,
            "b must not be sent while a is unresolved"
        );
    }
    rig.advance(rig.settle_secs() + 1);
    rig.work().await;
    assert_eq!(rig.state(a).await, PurchaseState::WaitingSupplier);
    rig.advance(1);
    rig.work().await;
    assert_eq!(rig.state(b).await, PurchaseState::WaitingSupplier);
    let (pa, pb) = (rig.purchase(a).await, rig.purchase(b).await);
    assert_ne!(pa.supplier_order_id, pb.supplier_order_id);
    assert_eq!((rig.created(), rig.paid()), (3, 3));
    rig.run_to_quiescence(5, 10).await;
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn a_crash_after_submitting_is_reconciled_not_resent(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let id = rig.buy(STEAM, 1, &[]).await;
    // A worker claims it, commits `submitting`, and dies before (or while)
    // sending: nobody knows whether the create left.
    let p = db
        .store
        .claim_due(
            "doomed",
            foxbot::engine::ENGINE_STATES,
            rig.now(),
            60_000,
            1,
        )
        .await
        .unwrap()
        .purchases
        .remove(0);
    let mut tx = db.store.begin().await.unwrap();
    let attempt = tx
        .insert_attempt(&NewAttempt {
            purchase_id: id,
            signature: p.signature.clone(),
            watermark: Watermark::Empty,
            reach_by: 0,
            started_at: rig.now(),
        })
        .await
        .unwrap();
    let t = Transition::by_hand(&p, PurchaseState::Submitting, EventKind::CreateSent)
        .set(Change::CurrentAttempt(Some(attempt)))
        .set(Change::CountOrderAttempt);
    assert!(tx.transition(&t, rig.now()).await.unwrap().applied());
    tx.commit().await.unwrap();

    rig.work().await;
    assert_eq!(
        rig.state(id).await,
        PurchaseState::Submitting,
        "the lease is still live"
    );
    rig.advance(61);
    rig.work().await;
    assert_eq!(
        rig.state(id).await,
        PurchaseState::Reconciling,
        "may have been sent: reconcile"
    );
    assert_eq!(rig.created(), 0, "never re-sent blindly");
    rig.advance(31);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!((rig.created(), rig.paid()), (1, 1));
}

async fn a_late_reply_noted_on_the_attempt_is_adopted_without_a_new_order(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::Reconciling);
    // The reply reaches a worker that had lost the purchase: it notes it.
    let order = foxbot::domain::SupplierOrderId::parse(&rig.sim.orders()[0].id).unwrap();
    let noted = db
        .store
        .note_attempt_order(p.current_attempt_id.unwrap(), &order, rig.now())
        .await
        .unwrap();
    assert!(noted.applied());
    let lists = rig.sim.request_count(Endpoint::ListOrders);
    rig.advance(1);
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::WaitingSupplier);
    assert_eq!(p.supplier_order_id, Some(order));
    assert_eq!(
        rig.sim.request_count(Endpoint::ListOrders),
        lists,
        "no scan needed"
    );
    assert_eq!((rig.created(), rig.paid()), (1, 1));
}

async fn an_ambiguous_pay_is_resolved_by_reading_the_order(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    // The pay went through but its reply was lost.
    rig.sim
        .push_fault(Endpoint::PayOrder, Fault::DropAfterCommit);
    let a = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(a).await, PurchaseState::Paying);
    assert_eq!(rig.paid(), 1);
    rig.advance(rig.pay_settle_secs());
    rig.work().await;
    // Read once the pay can no longer land: paid (and by now complete).
    assert!(matches!(
        rig.state(a).await,
        PurchaseState::WaitingSupplier | PurchaseState::Delivering
    ));
    assert_eq!(
        rig.sim.request_count(Endpoint::PayOrder),
        1,
        "read, not paid again"
    );

    // The pay failed before the supplier did anything: read, then pay.
    rig.sim
        .push_fault(Endpoint::PayOrder, Fault::ServerErrorBeforeCommit(500));
    let b = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(b).await, PurchaseState::Paying);
    rig.advance(rig.pay_settle_secs());
    rig.work().await;
    assert!(matches!(
        rig.state(b).await,
        PurchaseState::WaitingSupplier | PurchaseState::Delivering
    ));
    assert_eq!(rig.sim.request_count(Endpoint::PayOrder), 3);
    assert_eq!(rig.paid(), 2);
    rig.run_to_quiescence(5, 10).await;
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn an_order_paid_at_creation_is_not_paid_again(db: &TestDb) {
    let options = SimOptions {
        auto_pay: true,
        ..SimOptions::default()
    };
    let rig = Rig::with(&db.store, options, test_config("rig")).await;
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!(rig.sim.request_count(Endpoint::PayOrder), 0);
    assert_eq!(rig.paid(), 1);
}

async fn a_low_balance_holds_the_purchase_until_a_top_up(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim.set_balance(money("1.00"));
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::OnHold);
    assert_eq!(p.hold_reason, Some(HoldReason::Balance));
    let alerts = db.store.alerts_of(id).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, "low_balance");

    rig.advance(11);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::OnHold, "still too low");
    assert_eq!(rig.created(), 0);

    rig.sim.set_balance(money("100.00"));
    rig.advance(11);
    rig.work().await;
    assert_eq!(
        rig.state(id).await,
        PurchaseState::WaitingSupplier,
        "proceeds by itself"
    );
    assert_eq!((rig.created(), rig.paid()), (1, 1));
    let p = rig.purchase(id).await;
    assert_eq!(p.hold_reason, None);
}

async fn a_purchase_still_unfunded_at_the_deadline_is_refunded(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim.set_balance(money("0"));
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::OnHold);
    rig.advance(3_601);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::Refunding);
    let kinds: Vec<String> = db
        .store
        .alerts_of(id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert!(kinds.contains(&"refund".to_owned()), "{kinds:?}");
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn a_price_rise_within_tolerance_is_accepted_and_beyond_it_refunded(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let a = rig.buy(STEAM, 1, &[]).await; // sold on 9.20
    rig.sim.set_price(STEAM, Some(money("9.60"))); // +4.3%
    rig.work().await;
    let p = rig.purchase(a).await;
    assert_eq!(p.state, PurchaseState::WaitingSupplier);
    assert_eq!(p.order_price, Some(money("9.60")));
    assert_eq!(rig.paid(), 1);

    let b = rig.buy(STEAM, 1, &[]).await; // sold on 9.60
    rig.sim.set_price(STEAM, Some(money("11.00"))); // +14.6%
    rig.work().await;
    assert_eq!(rig.state(b).await, PurchaseState::Refunding);
    assert_eq!((rig.created(), rig.paid()), (1, 1));
}

async fn a_definite_rejection_goes_to_refund(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.sim.set_stock(STEAM, Some(0));
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::Refunding);
    assert!(p.last_error.unwrap().contains("refused"));
    assert_eq!(rig.created(), 0);
    assert_eq!(
        db.store.attempts_of(id).await.unwrap()[0].state,
        AttemptState::Rejected
    );
}

async fn a_failed_or_cancelled_supplier_order_is_refunded(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_outcome(OrderOutcome::fail(Duration::from_secs(2)));
    rig.sim
        .push_outcome(OrderOutcome::cancel(Duration::from_secs(2)));
    let a = rig.buy(STEAM, 1, &[]).await;
    let b = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(a).await, PurchaseState::WaitingSupplier);
    assert_eq!(rig.state(b).await, PurchaseState::WaitingSupplier);
    rig.advance(3);
    let report = rig.poll().await;
    assert_eq!(report.failed, 2);
    assert_eq!(rig.state(a).await, PurchaseState::Refunding);
    assert_eq!(rig.state(b).await, PurchaseState::Refunding);
    let returned = rig
        .sim
        .ledger()
        .iter()
        .filter(|e| matches!(e, LedgerEntry::OrderReturned { .. }))
        .count();
    assert_eq!(returned, 2);
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn a_stalled_order_alerts_then_is_dead_lettered(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_outcome(OrderOutcome::stall(Duration::from_secs(2)));
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    rig.advance(599);
    rig.poll().await;
    assert!(db.store.alerts_of(id).await.unwrap().is_empty());
    rig.advance(2);
    let report = rig.poll().await;
    assert_eq!(report.stalled, 1);
    let alerts = db.store.alerts_of(id).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, "stall");
    rig.advance(60);
    rig.poll().await;
    assert_eq!(
        db.store.alerts_of(id).await.unwrap().len(),
        1,
        "alerted once"
    );
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    rig.advance(3_000);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::DeadLetter);
    check_guarantees(&db.store, &rig.sim, true).await;
}

/// A worker holding a purchase may have just sent its codes or its refund:
/// the sweep waits until the worker lets go (or its lease runs out).
async fn the_stall_sweep_never_moves_a_purchase_a_worker_holds(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let id = rig.buy(STEAM, 1, &[]).await;
    let three_hours = 3 * 3_600_000;
    let held = db
        .store
        .claim_due(
            "slow/w0",
            &[PurchaseState::Ordering],
            rig.now(),
            three_hours,
            10,
        )
        .await
        .unwrap();
    assert_eq!(held.purchases.len(), 1);
    rig.advance(3_700);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::Ordering);
    assert!(db.store.alerts_of(id).await.unwrap().is_empty());
    // The worker died: once its lease runs out, the sweep acts.
    rig.advance(3 * 3_600);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::DeadLetter);
}

async fn a_refused_key_holds_purchases_and_alerts(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let bad = FoxReload::new(
        ClientOptions {
            base_url: rig.sim.base_url().parse().unwrap(),
            api_key: "wrong-key".to_owned().into(),
            timeout: CLIENT_TIMEOUT,
            mock_orders: false,
        },
        Arc::new(Budget::new(60_000)),
    )
    .unwrap();
    let misconfigured = Engine::new(db.store.clone(), bad, rig.clock.clone(), test_config("bad"));
    let id = db
        .store
        .insert_purchase(&new_purchase(1, STEAM, 1, &[]), rig.now())
        .await
        .unwrap();
    while misconfigured.work_once("bad/w0").await.unwrap() > 0 {}
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::OnHold);
    assert_eq!(p.hold_reason, Some(HoldReason::Auth));
    let kinds: Vec<String> = db
        .store
        .alerts_of(id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(kinds, ["supplier_auth"]);
    assert_eq!(rig.created(), 0);
    // The operator fixes the key (the rig's engine has the right one).
    rig.advance(11);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!(rig.paid(), 1);
}

async fn the_poller_watches_every_order_with_one_request(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    for i in 0..20 {
        rig.buy(PUBG, 1, &[&format!("player_id={i}")]).await;
    }
    rig.work().await;
    let lists = rig.sim.request_count(Endpoint::ListOrders);
    let singles = rig.sim.request_count(Endpoint::GetOrder);
    rig.advance(1);
    let report = rig.poll().await;
    assert_eq!(
        (report.watched, report.list_requests, report.single_requests),
        (20, 1, 0)
    );
    assert_eq!(rig.sim.request_count(Endpoint::ListOrders), lists + 1);
    assert_eq!(rig.sim.request_count(Endpoint::GetOrder), singles);
    rig.advance(3);
    let report = rig.poll().await;
    assert_eq!((report.completed, report.list_requests), (20, 1));
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn the_reconciliation_scan_pages_back_past_newer_orders(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let id = rig.buy(PUBG, 1, &["player_id=1"]).await;
    rig.work().await;
    // Another system on the same account orders 120 other things meanwhile.
    let steam = foxbot::domain::ProductId::parse(STEAM).unwrap();
    for _ in 0..120 {
        rig.supplier
            .create_order(
                &foxbot::foxreload::NewOrder {
                    item: &steam,
                    quantity: foxbot::domain::Quantity::new(1).unwrap(),
                    note: &foxbot::domain::Note::default(),
                    total_price: None,
                },
                rig.supplier.write_slot().await,
            )
            .await
            .unwrap();
    }
    let lists = rig.sim.request_count(Endpoint::ListOrders);
    rig.advance(rig.settle_secs() + 1);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert!(
        rig.sim.request_count(Endpoint::ListOrders) - lists >= 3,
        "paged back"
    );
    assert_eq!(rig.paid(), 1);
}

async fn an_unpaid_order_that_expired_is_replaced_once(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim.push_fault(
        Endpoint::PayOrder,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::Ordered);
    let first = p.supplier_order_id.clone().unwrap();
    // Nobody pays within the payment window (15 minutes).
    rig.advance(16 * 60);
    assert_eq!(
        rig.sim.order(first.as_str()).unwrap().status,
        OrderStatus::Cancelled.as_str()
    );
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::WaitingSupplier);
    assert_ne!(p.supplier_order_id, Some(first));
    assert_eq!((rig.created(), rig.paid()), (2, 1));
}

async fn two_engines_on_one_database_pay_each_purchase_once(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let other = rig.another_engine(db.another_store().await, "second");
    for i in 0..24 {
        // Pairs share a signature.
        rig.buy(PUBG, 1, &[&format!("player_id={}", i / 2)]).await;
    }
    rig.sim.set_chaos(
        7,
        0.15,
        vec![
            Fault::DropAfterCommit,
            Fault::ServerErrorAfterCommit(502),
            Fault::ServerErrorBeforeCommit(503),
            Fault::ResetAfterCommit,
        ],
    );
    for _ in 0..80 {
        let (a, b) = tokio::join!(
            async { while rig.engine.work_once("rig/w0").await.unwrap() > 0 {} },
            async { while other.work_once("second/w0").await.unwrap() > 0 {} }
        );
        let _ = (a, b);
        rig.poll().await;
        if crate::support::rig::all_settled(&db.store).await {
            break;
        }
        rig.advance(20);
    }
    let report = check_guarantees(&db.store, &rig.sim, true).await;
    assert_eq!(report.purchases, 24);
    assert_eq!(
        report.delivering + report.refunding + report.dead_letter,
        24
    );
}

async fn manual_purchases_are_checked_against_the_catalog(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let unknown = rig.try_buy("product_nope", 1, &[]).await.unwrap_err();
    assert!(unknown.to_string().contains("no product"), "{unknown}");
    let missing = rig.try_buy(PUBG, 1, &[]).await.unwrap_err();
    assert!(missing.to_string().contains("player_id"), "{missing}");
    let extra = rig.try_buy(STEAM, 1, &["player_id=1"]).await.unwrap_err();
    assert!(extra.to_string().contains("does not ask"), "{extra}");
    let server = rig
        .try_buy("product_ff_100", 1, &["player_id=1", "server=mars"])
        .await
        .unwrap_err();
    assert!(server.to_string().contains("one of"), "{server}");
    let many = rig.try_buy(STEAM, 999, &[]).await.unwrap_err();
    assert!(many.to_string().contains("at a time"), "{many}");
    // Priced as the catalog sync prices: no price, not for sale.
    let unpriced = rig.try_buy("product_xbox_15", 1, &[]).await.unwrap_err();
    assert!(unpriced.to_string().contains("no price"), "{unpriced}");
    assert!(
        db.store.state_counts().await.unwrap().is_empty(),
        "nothing recorded"
    );
}

async fn manual_purchases_racing_under_one_key_record_one(db: &TestDb) {
    use foxbot::intake::manual::{ManualError, ManualPurchase, Recorded, record_once};
    const RUNS: usize = 8;
    let rig = Rig::new(&db.store).await;
    let stores = [db.store.clone(), db.another_store().await];
    let pricing = foxbot::catalog::CatalogConfig {
        categories: Vec::new(),
        markup_percent: rust_decimal::Decimal::new(20, 0),
        stars_per_usd: rust_decimal::Decimal::new(77, 0),
        max_age: foxbot::catalog::DEFAULT_MAX_AGE,
        sync_every: foxbot::catalog::DEFAULT_SYNC_EVERY,
    };
    let key = foxbot::intake::manual::IdempotencyKey::parse("case-9").unwrap();
    let req = ManualPurchase {
        user: foxbot::domain::UserId(4242),
        product: foxbot::domain::ProductId::parse(PUBG).unwrap(),
        quantity: foxbot::domain::Quantity::new(3).unwrap(),
        note: foxbot::domain::Note::from_pairs(["player_id=3"]).unwrap(),
    };
    // Slow supplier reads: every caller looks the key up before any writes.
    for _ in 0..RUNS {
        rig.sim.push_fault(
            Endpoint::Product,
            Fault::DelayBeforeCommit(Duration::from_millis(500)),
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..RUNS {
        let (store, supplier) = (stores[n % 2].clone(), rig.supplier.clone());
        let (pricing, req, key, now) = (pricing.clone(), req.clone(), key.clone(), rig.now());
        tasks.spawn(async move {
            record_once(&store, &supplier, &pricing, &req, Some(&key), now).await
        });
    }
    let outcomes: Vec<Recorded> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rig.sim.request_count(Endpoint::Product), RUNS as u64);
    let ids: Vec<i64> = outcomes.iter().map(|r| r.id()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{outcomes:?}");
    let new = outcomes
        .iter()
        .filter(|r| matches!(r, Recorded::New(_)))
        .count();
    assert_eq!(new, 1, "{outcomes:?}");
    assert_eq!(
        db.store.state_counts().await.unwrap(),
        vec![(PurchaseState::Ordering, 1)]
    );

    // The same key for another quantity: refused, nothing recorded.
    let more = ManualPurchase {
        quantity: foxbot::domain::Quantity::new(4).unwrap(),
        ..req.clone()
    };
    let err = record_once(
        &db.store,
        &rig.supplier,
        &pricing,
        &more,
        Some(&key),
        rig.now(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ManualError::KeyReused { purchase, .. } if purchase == ids[0]),
        "{err}"
    );
    // The purchase it made goes on like any other.
    rig.work().await;
    assert_eq!(rig.state(ids[0]).await, PurchaseState::WaitingSupplier);
    assert_eq!((rig.created(), rig.paid()), (1, 1));
    check_guarantees(&db.store, &rig.sim, false).await;
}

async fn an_undecidable_reconciliation_is_dead_lettered_with_its_evidence(db: &TestDb) {
    // The scan may read one page only, and more than a page of other orders
    // arrive after the lost create: the history cannot be read back to the
    // attempt's start, so neither "found" nor "absent" can be proven.
    let config = foxbot::engine::EngineConfig {
        reconcile_max_pages: 1,
        ..test_config("rig")
    };
    let rig = Rig::with(&db.store, SimOptions::default(), config).await;
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let id = rig.buy(PUBG, 1, &["player_id=1"]).await;
    rig.work().await;
    let steam = foxbot::domain::ProductId::parse(STEAM).unwrap();
    for _ in 0..60 {
        rig.supplier
            .create_order(
                &foxbot::foxreload::NewOrder {
                    item: &steam,
                    quantity: foxbot::domain::Quantity::new(1).unwrap(),
                    note: &foxbot::domain::Note::default(),
                    total_price: None,
                },
                rig.supplier.write_slot().await,
            )
            .await
            .unwrap();
    }
    rig.advance(rig.settle_secs() + 1);
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::DeadLetter);
    assert!(p.last_error.unwrap().contains("may or may not exist"));
    let attempts = db.store.attempts_of(id).await.unwrap();
    assert_eq!(
        attempts[0].state,
        AttemptState::Abandoned,
        "the signature is released"
    );
    let events = db.store.events_of(id).await.unwrap();
    let dead = events.iter().find(|e| e.kind == "dead_letter").unwrap();
    let detail: serde_json::Value = serde_json::from_str(&dead.detail).unwrap();
    assert_eq!(detail["evidence"]["pages"], 1);
    assert_eq!(detail["evidence"]["bounded"], false);
    let alerts = db.store.alerts_of(id).await.unwrap();
    assert_eq!(alerts[0].kind, "dead_letter");
    assert_eq!(rig.paid(), 0, "nothing is paid while in doubt");
    check_guarantees(&db.store, &rig.sim, true).await;
}

async fn a_failed_history_read_is_retried_within_the_scan(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::Reconciling);
    // Reads change nothing: two failures in a row are tried again at once.
    rig.sim
        .push_fault(Endpoint::ListOrders, Fault::ServerErrorBeforeCommit(503));
    rig.sim
        .push_fault(Endpoint::ListOrders, Fault::ResetBeforeCommit);
    let lists = rig.sim.request_count(Endpoint::ListOrders);
    rig.advance(rig.settle_secs() + 1);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!(rig.sim.request_count(Endpoint::ListOrders), lists + 3);
    assert_eq!((rig.created(), rig.paid()), (1, 1));
}

// ---------------------------------------------------------------------------
// Issue #14, hole 5: codes are counted
// ---------------------------------------------------------------------------

/// A completed order whose every code is blank (`""`, whitespace, `null`,
/// `{}`, `{"code":" "}`): read once more, then a person looks. Never
/// `delivering`, nothing stored as the codes.
async fn blank_codes_are_never_delivered_and_the_purchase_goes_to_a_person(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_outcome(OrderOutcome::blank_codes(Duration::from_secs(1), 0));
    let id = rig.buy(STEAM, 5, &[]).await;
    rig.work().await;
    rig.advance(3);
    rig.poll().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::WaitingSupplier, "read once more");
    assert_eq!(p.empty_reads, 1);
    rig.advance(10);
    rig.poll().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::DeadLetter);
    assert!(
        db.store.codes(id).await.unwrap().is_none(),
        "no blank code is stored as delivered"
    );
    let alerts = db.store.alerts_of(id).await.unwrap();
    assert!(alerts.iter().any(|a| a.kind == "dead_letter"), "{alerts:?}");
    let stalled =
        foxbot::ops::reports::stalled(&rig.store, rig.engine.stall_alert(), rig.now(), 50)
            .await
            .unwrap();
    assert!(
        stalled.purchases.iter().any(|s| s.id == id),
        "visible in /stalled"
    );
    let events = db.store.events_of(id).await.unwrap();
    let dead = events.iter().find(|e| e.kind == "dead_letter").unwrap();
    let detail: serde_json::Value = serde_json::from_str(&dead.detail).unwrap();
    assert_eq!(detail["evidence"]["ordered"], 5);
    assert_eq!(detail["evidence"]["usable_codes"], 0);
    check_guarantees(&db.store, &rig.sim, true).await;
}

/// 3 usable codes of 5, the rest blank and no item error: read once more
/// (they may still be filled in), then the 3 go to delivery and the admins
/// hear exactly how many arrived.
async fn too_few_usable_codes_deliver_what_arrived_and_alert_the_admins_with_the_count(
    db: &TestDb,
) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_outcome(OrderOutcome::blank_codes(Duration::from_secs(1), 3));
    let id = rig.buy(STEAM, 5, &[]).await;
    rig.work().await;
    rig.advance(3);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    rig.advance(10);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::Delivering);
    let codes = db.store.codes(id).await.unwrap().unwrap();
    assert_eq!(codes.len(), 3, "only the usable codes");
    assert!(codes.iter().all(|c| c.is_usable()));
    let alerts = db.store.alerts_of(id).await.unwrap();
    let partial: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind == "partial_delivery")
        .collect();
    assert_eq!(partial.len(), 1, "{alerts:?}");
    let text = crate::support::alert_text(partial[0], foxbot::domain::Language::En);
    assert!(text.contains("only 3 of 5 codes arrived"), "{text}");
    let events = db.store.events_of(id).await.unwrap();
    let done = events.iter().find(|e| e.kind == "order_completed").unwrap();
    let detail: serde_json::Value = serde_json::from_str(&done.detail).unwrap();
    assert_eq!(
        (detail["arrived"].as_i64(), detail["ordered"].as_i64()),
        (Some(3), Some(5))
    );
    check_guarantees(&db.store, &rig.sim, true).await;
}

/// The admins' re-order: a new purchase of the missing units, linked to the
/// first, paid by no one (not in Stars), ordered by the normal engine;
/// pressed twice at once, it is made once.
async fn the_missing_units_are_reordered_once_linked_and_unpaid_through_the_engine(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_outcome(OrderOutcome::partial(Duration::from_secs(1)));
    let id = rig.buy(STEAM, 4, &[]).await;
    rig.work().await;
    rig.advance(3);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::Delivering);
    let admin = foxbot::domain::UserId(9000);
    // Not before the codes that arrived went out.
    assert_eq!(
        rig.engine.reorder_missing(admin, id).await.unwrap(),
        foxbot::engine::reorder::Outcome::Refused(foxbot::engine::reorder::Refusal::NotDelivered(
            PurchaseState::Delivering
        ))
    );
    let p = rig.purchase(id).await;
    let delivered = Transition::by_hand(&p, PurchaseState::Delivered, EventKind::Delivered);
    assert!(
        db.store
            .transition(&delivered, rig.now())
            .await
            .unwrap()
            .applied()
    );

    let (a, b) = tokio::join!(
        rig.engine.reorder_missing(admin, id),
        rig.engine.reorder_missing(admin, id)
    );
    use foxbot::engine::reorder::{Outcome, Refusal};
    let outcomes = [a.unwrap(), b.unwrap()];
    let child = outcomes
        .iter()
        .find_map(|o| match o {
            Outcome::Ordered { child, missing } => {
                assert_eq!(*missing, 2);
                Some(*child)
            }
            _ => None,
        })
        .expect("one press re-orders");
    assert!(
        outcomes.contains(&Outcome::Refused(Refusal::Already(child))),
        "{outcomes:?}"
    );
    assert_eq!(
        rig.engine.reorder_missing(admin, id).await.unwrap(),
        Outcome::Refused(Refusal::Already(child))
    );
    assert_eq!(db.store.reorder_of(id).await.unwrap(), Some(child));
    assert_eq!(db.store.reorder_parent(child).await.unwrap(), Some(id));
    let c = rig.purchase(child).await;
    assert_eq!(c.source, foxbot::domain::PurchaseSource::Reorder);
    assert_eq!((c.stars, c.telegram_charge_id.clone()), (0, None));
    assert_eq!(c.quantity.get(), 2);
    assert_eq!((c.user_id, c.chat_id), (p.user_id, p.chat_id));
    let admin_events: Vec<_> = db
        .store
        .events_of(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "admin_action")
        .collect();
    assert_eq!(admin_events.len(), 1, "one re-order recorded");
    assert_eq!(admin_events[0].actor.as_deref(), Some("admin:9000"));
    // Re-ordered, the delivery will be whole: refunding the whole charge
    // as well would pay twice.
    use foxbot::engine::admin::{Action, Refusal as AdminRefusal};
    let preview = rig
        .engine
        .admin_preview(Action::Refund, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(preview.plan, Err(AdminRefusal::DeliveredInFull));

    rig.run_to_quiescence(1, 30).await;
    assert_eq!(rig.state(child).await, PurchaseState::Delivering);
    assert_eq!(db.store.codes(child).await.unwrap().unwrap().len(), 2);
    let quantities: Vec<i64> = rig
        .sim
        .ledger()
        .iter()
        .filter_map(|e| match e {
            LedgerEntry::OrderCreated { quantity, .. } => Some(*quantity),
            _ => None,
        })
        .collect();
    assert_eq!(quantities, [4, 2], "one more order, for the missing units");
    assert_eq!(rig.paid(), 2);
    check_guarantees(&db.store, &rig.sim, true).await;
}
