//! The money core's second pass: each hole a careful read found, as a
//! sequence that ordered twice or left a paid purchase waiting silently,
//! and now does not. Manual clock, simulator, both engines.

use std::time::Duration;

use foxbot::domain::{Language, PurchaseState, SupplierOrderId, Watermark};
use foxbot::engine::Engine;
use foxbot::foxreload::sim::{Endpoint, Fault, ListShape, OrderOutcome, SimOptions};
use foxbot::foxreload::{Budget, ClientOptions, FoxReload, NewOrder};
use foxbot::store::{AttemptState, NewAttempt, PurchaseFilter};
use std::sync::Arc;

use crate::support::db::new_purchase;
use crate::support::rig::{CLIENT_TIMEOUT, Rig, check_guarantees, test_config};
use crate::support::{TestDb, alert_text, wait_for};

const STEAM: &str = "product_steam_10"; // no note
const PUBG: &str = "product_pubg_60"; // asks player_id

on_both_engines!(
    a_create_waiting_for_the_budget_is_never_sent_after_another_worker_took_over,
    a_write_past_its_send_by_instant_never_reaches_the_supplier,
    history_rows_the_list_cannot_judge_are_read_alone_never_ruled_out,
    a_reply_noted_during_the_scan_wins_over_absence,
    the_watermark_never_moves_back_and_is_read_again_when_old,
    a_lost_link_race_releases_the_signature_lock,
    a_purchase_queued_behind_a_stuck_create_is_alerted_then_dead_lettered,
    a_purchase_nobody_delivers_is_alerted_then_dead_lettered,
    a_hold_deadline_reads_the_linked_order_before_refunding,
    an_ambiguous_pay_is_not_read_before_it_could_have_landed,
    completion_from_a_list_without_codes_reads_the_order_alone,
    the_poller_reads_few_orders_alone_per_cycle,
    a_corrupt_row_is_set_aside_and_the_others_go_on,
    a_worker_that_panics_is_restarted_and_reported,
    an_order_that_stays_active_is_paid_a_bounded_number_of_times,
    an_order_completed_without_codes_is_read_twice_then_goes_to_a_person,
    a_short_bare_page_is_not_taken_for_the_end_of_history,
    a_pay_reply_about_another_order_is_never_acted_on,
    a_partly_delivered_order_delivers_what_arrived_and_alerts_for_the_rest,
);

fn auto_pay() -> SimOptions {
    SimOptions {
        auto_pay: true,
        ..SimOptions::default()
    }
}

/// Hole 1: on main, `submitting` was committed and then the create waited
/// in the budget (a 429 pause) while its lease lapsed; another worker
/// proved it absent and created again; then the first went out.
async fn a_create_waiting_for_the_budget_is_never_sent_after_another_worker_took_over(db: &TestDb) {
    let rig = Rig::with(&db.store, auto_pay(), test_config("a")).await;
    let id = rig.buy(STEAM, 1, &[]).await;
    // A 429 told this process to wait (real time) before its next call.
    rig.supplier.budget().pause(Duration::from_secs(2));
    let a = {
        let engine = rig.engine.clone();
        tokio::spawn(async move { engine.work_once("a/w0").await.unwrap() })
    };
    wait_for(
        "a's create to wait in the budget",
        Duration::from_secs(5),
        || async { (rig.supplier.budget().writes_waiting() == 1).then_some(()) },
    )
    .await;
    assert_eq!(
        rig.state(id).await,
        PurchaseState::Ordering,
        "nothing is committed while the write waits for its turn"
    );

    // a's lease lapses; another process (its own budget) takes over.
    let b = rig.another_engine(db.another_store().await, "b");
    for _ in 0..10 {
        rig.advance(rig.settle_secs() + 1);
        b.work_once("b/w0").await.unwrap();
        if rig.state(id).await == PurchaseState::WaitingSupplier {
            break;
        }
    }
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    a.await.unwrap();

    assert_eq!(rig.created(), 1, "a never sent its create");
    assert_eq!(rig.paid(), 1);
    check_guarantees(&db.store, &rig.sim, false).await;
}

async fn a_write_past_its_send_by_instant_never_reaches_the_supplier(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let item = foxbot::domain::ProductId::parse(STEAM).unwrap();
    let note = foxbot::domain::Note::default();
    let order = NewOrder {
        item: &item,
        quantity: foxbot::domain::Quantity::new(1).unwrap(),
        note: &note,
        total_price: None,
    };
    let slot = rig
        .supplier
        .write_slot()
        .await
        .send_by(rig.now() - 1, rig.clock.clone());
    let outcome = rig.supplier.create_order(&order, slot).await;
    assert!(
        matches!(
            outcome,
            Err(foxbot::foxreload::SupplierError::RetryLater { .. })
        ),
        "{outcome:?}"
    );
    assert_eq!(rig.sim.request_count(Endpoint::CreateOrder), 0);
    let slot = rig
        .supplier
        .write_slot()
        .await
        .send_by(rig.now(), rig.clock.clone());
    rig.supplier.create_order(&order, slot).await.unwrap();
    assert_eq!(rig.created(), 1, "in time, it goes");
    let _ = db;
}

/// Hole 2: on main, a history row without quantity and note (or without
/// items, or with a note carrying one more field) was neither a candidate
/// nor unclear, so the scan said "absent" and a second create went out;
/// on an account that pays at creation, both were paid.
async fn history_rows_the_list_cannot_judge_are_read_alone_never_ruled_out(db: &TestDb) {
    let shapes = [
        ListShape {
            omit_quantity_and_note: true,
            ..ListShape::default()
        },
        ListShape {
            omit_items: true,
            ..ListShape::default()
        },
        ListShape {
            extra_note_field: true,
            ..ListShape::default()
        },
        ListShape {
            junk_row: true,
            omit_quantity_and_note: true,
            ..ListShape::default()
        },
    ];
    let rig = Rig::with(&db.store, auto_pay(), test_config("rig")).await;
    let mut ids = Vec::new();
    for (n, shape) in shapes.iter().enumerate() {
        rig.sim.set_list_shape(*shape);
        rig.sim
            .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
        let id = rig.buy(PUBG, 1, &[&format!("player_id={n}")]).await;
        rig.work().await;
        assert_eq!(rig.state(id).await, PurchaseState::Reconciling);
        let reads = rig.sim.request_count(Endpoint::GetOrder);
        rig.advance(rig.settle_secs() + 1);
        rig.work().await;
        // The direct read shows the whole order: it is ours, adopted.
        assert_eq!(
            rig.state(id).await,
            PurchaseState::WaitingSupplier,
            "{shape:?}"
        );
        assert!(
            rig.sim.request_count(Endpoint::GetOrder) > reads,
            "{shape:?}: the row was read alone"
        );
        assert_eq!(rig.created(), n + 1, "{shape:?}: no second create");
        ids.push(id);
    }
    assert_eq!(rig.paid(), shapes.len());
    check_guarantees(&db.store, &rig.sim, false).await;
}

/// Hole 3: on main, "absent" was written without re-reading the attempt,
/// so a reply noted between the scan and the decision was ignored.
async fn a_reply_noted_during_the_scan_wins_over_absence(db: &TestDb) {
    let s = &db.store;
    let now = crate::support::db::now();
    let id = s
        .insert_purchase(&new_purchase(1, STEAM, 1, &[]), now)
        .await
        .unwrap();
    let p = s.purchase(id).await.unwrap().unwrap();
    let mut tx = s.begin().await.unwrap();
    let attempt = tx
        .insert_attempt(&NewAttempt {
            purchase_id: id,
            signature: p.signature.clone(),
            watermark: Watermark::Empty,
            started_at: now,
            reach_by: now,
        })
        .await
        .unwrap();
    let _ = tx
        .resolve_attempt(
            attempt,
            &[AttemptState::Submitting],
            AttemptState::Unknown,
            None,
            "timeout",
            now,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let order = SupplierOrderId::parse("late-reply").unwrap();
    assert!(
        s.note_attempt_order(attempt, &order, now)
            .await
            .unwrap()
            .applied()
    );

    let mut tx = s.begin().await.unwrap();
    let absent = tx.mark_attempt_absent(attempt, now).await.unwrap();
    tx.commit().await.unwrap();
    assert!(!absent.applied(), "a noted order wins");
    let a = s.attempt(attempt).await.unwrap().unwrap();
    assert_eq!(a.state, AttemptState::Unknown);
    assert_eq!(a.supplier_order_id, Some(order));
}

/// Hole 4: on main, an older observation of the history's head could
/// overwrite a newer one, and a head up to ten minutes old was used.
async fn the_watermark_never_moves_back_and_is_read_again_when_old(db: &TestDb) {
    let s = &db.store;
    assert!(
        s.kv_set_if_newer("test.head", "new", 2_000, "")
            .await
            .unwrap()
    );
    assert!(
        !s.kv_set_if_newer("test.head", "old", 1_000, "")
            .await
            .unwrap()
    );
    assert!(!s.kv_set_if_newer("test.head", "", 3_000, "").await.unwrap());
    assert_eq!(
        s.kv_get("test.head").await.unwrap().as_deref(),
        Some("new"),
        "older, and 'no orders', never overwrite a seen order"
    );

    let rig = Rig::new(&db.store).await;
    rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    let lists = rig.sim.request_count(Endpoint::ListOrders);
    rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(
        rig.sim.request_count(Endpoint::ListOrders),
        lists,
        "a fresh head is reused"
    );
    rig.advance(61); // older than the settle delay
    rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(
        rig.sim.request_count(Endpoint::ListOrders),
        lists + 1,
        "an old head is read again before a create"
    );
}

/// Hole 5: on main, a link that lost to a UNIQUE conflict rolled back and
/// left its attempt unresolved: the signature stayed locked and every
/// purchase queued behind it waited forever.
async fn a_lost_link_race_releases_the_signature_lock(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let a = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    let a_order = rig.purchase(a).await.supplier_order_id.unwrap();
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let b = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    let pb = rig.purchase(b).await;
    assert_eq!(pb.state, PurchaseState::Reconciling);
    // A confused reply names a's order on b's attempt.
    let attempt = pb.current_attempt_id.unwrap();
    let _ = db
        .store
        .note_attempt_order(attempt, &a_order, rig.now())
        .await
        .unwrap();
    rig.work().await;
    assert_eq!(rig.state(b).await, PurchaseState::DeadLetter);
    let att = db.store.attempt(attempt).await.unwrap().unwrap();
    assert_eq!(att.state, AttemptState::Abandoned);
    assert!(
        db.store
            .unresolved_attempt(&pb.signature)
            .await
            .unwrap()
            .is_none()
    );
    let c = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(
        rig.state(c).await,
        PurchaseState::WaitingSupplier,
        "the same signature can be ordered again"
    );
}

/// Hole 6: on main only `waiting_supplier` had a stall clock; a purchase
/// queued behind an unresolved create waited silently forever.
async fn a_purchase_queued_behind_a_stuck_create_is_alerted_then_dead_lettered(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    // A create of another purchase with this signature that nobody works
    // on (its purchase has left the engine): it holds the lock.
    let holder = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    rig.advance(3);
    rig.poll().await;
    assert_eq!(rig.state(holder).await, PurchaseState::Delivering);
    let hp = rig.purchase(holder).await;
    let mut tx = db.store.begin().await.unwrap();
    tx.insert_attempt(&NewAttempt {
        purchase_id: holder,
        signature: hp.signature.clone(),
        watermark: Watermark::Empty,
        started_at: rig.now(),
        reach_by: rig.now(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let queued = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(queued).await, PurchaseState::Ordering);
    for _ in 0..10 {
        rig.advance(60);
        rig.work().await;
        rig.poll().await;
    }
    let alerts = db.store.alerts_of(queued).await.unwrap();
    assert_eq!(alerts.len(), 1, "one alert past STALL_ALERT_SECS");
    assert_eq!(alerts[0].kind, "stall");
    assert!(alert_text(&alerts[0], Language::En).contains("no supplier order could be started"));
    assert_eq!(rig.state(queued).await, PurchaseState::Ordering);
    for _ in 0..50 {
        rig.advance(60);
        rig.work().await;
        rig.poll().await;
    }
    assert_eq!(rig.state(queued).await, PurchaseState::DeadLetter);
    assert_eq!(rig.created(), 1, "never sent behind the lock");
}

/// Hole 6, the states no worker in this suite moves on: nobody is left
/// waiting silently there either.
async fn a_purchase_nobody_delivers_is_alerted_then_dead_lettered(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    rig.advance(3);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::Delivering);
    rig.advance(601);
    let report = rig.poll().await;
    assert_eq!(report.stalled, 1);
    assert_eq!(db.store.alerts_of(id).await.unwrap().len(), 1);
    rig.advance(3_000);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::DeadLetter);
}

/// Hole 7: on main, a hold's deadline refunded without reading the order,
/// though a pay whose reply was lost had paid it.
async fn a_hold_deadline_reads_the_linked_order_before_refunding(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_fault(Endpoint::PayOrder, Fault::DropAfterCommit);
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::Paying);
    assert_eq!(rig.paid(), 1);
    // The key is refused when the order is read back: a hold.
    let bad = FoxReload::new(
        ClientOptions {
            base_url: rig.sim.base_url().parse().unwrap(),
            api_key: "revoked".to_owned().into(),
            timeout: CLIENT_TIMEOUT,
            mock_orders: false,
        },
        Arc::new(Budget::new(60_000)),
    )
    .unwrap();
    let refused = Engine::new(db.store.clone(), bad, rig.clock.clone(), test_config("bad"));
    rig.advance(rig.pay_settle_secs());
    refused.work_once("bad/w0").await.unwrap();
    assert_eq!(rig.state(id).await, PurchaseState::OnHold);
    rig.advance(3_601);
    rig.work().await;
    let state = rig.state(id).await;
    assert!(
        matches!(
            state,
            PurchaseState::WaitingSupplier | PurchaseState::Delivering
        ),
        "a paid order goes on, never to a refund: {state}"
    );
    check_guarantees(&db.store, &rig.sim, false).await;
}

/// Hole 8: on main, an ambiguous pay was read back after one poll
/// interval, before a pay still on its way could have landed.
async fn an_ambiguous_pay_is_not_read_before_it_could_have_landed(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_fault(Endpoint::PayOrder, Fault::ServerErrorAfterCommit(502));
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::Paying);
    let reads = rig.sim.request_count(Endpoint::GetOrder);
    rig.advance(rig.pay_settle_secs() - 1);
    rig.work().await;
    assert_eq!(rig.sim.request_count(Endpoint::GetOrder), reads);
    assert!(
        rig.pay_settle_secs() >= 5 + CLIENT_TIMEOUT.as_secs(),
        "at least the contract's 5 s plus the request timeout"
    );
    rig.advance(1);
    rig.work().await;
    assert_ne!(rig.state(id).await, PurchaseState::Paying);
    assert_eq!(rig.sim.request_count(Endpoint::PayOrder), 1);
}

/// Hole 9: on main, a list row without `externalData` made every completed
/// purchase a dead letter "completed without codes".
async fn completion_from_a_list_without_codes_reads_the_order_alone(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim.set_list_shape(ListShape {
        omit_codes: true,
        ..ListShape::default()
    });
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(rig.buy(PUBG, 1, &[&format!("player_id={n}")]).await);
    }
    rig.work().await;
    rig.advance(3);
    let report = rig.poll().await;
    assert_eq!(report.completed, 3);
    for id in ids {
        assert_eq!(rig.state(id).await, PurchaseState::Delivering);
        assert!(!db.store.codes(id).await.unwrap().unwrap().is_empty());
    }
    check_guarantees(&db.store, &rig.sim, false).await;
}

/// Hole 10: on main, every order the list could not show was read alone in
/// the same cycle, however many.
async fn the_poller_reads_few_orders_alone_per_cycle(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    for _ in 0..10 {
        rig.buy(STEAM, 1, &[]).await;
    }
    rig.work().await;
    // The list lags far behind: it shows none of them.
    rig.sim.set_list_lag(Duration::from_secs(3_600));
    rig.advance(3);
    let first = rig.poll().await;
    assert_eq!(first.watched, 10);
    assert!(first.single_requests <= 4, "{first:?}");
    let mut cycles = 1;
    while rig
        .store
        .state_counts()
        .await
        .unwrap()
        .iter()
        .any(|(s, n)| *s == PurchaseState::WaitingSupplier && *n > 0)
    {
        rig.advance(5);
        let r = rig.poll().await;
        assert!(r.single_requests <= 4, "{r:?}");
        cycles += 1;
        assert!(cycles < 20, "all are read in turn");
    }
}

/// Hole 11: on main, one row that did not read failed every claim or poll
/// that touched it.
async fn a_corrupt_row_is_set_aside_and_the_others_go_on(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let bad = rig.buy(STEAM, 1, &[]).await;
    corrupt_note(db, bad).await;
    let good = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(good).await, PurchaseState::WaitingSupplier);
    let alerts = db.store.alerts_of(bad).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, "corrupt_row");
    rig.work().await;
    assert_eq!(
        db.store.alerts_of(bad).await.unwrap().len(),
        1,
        "reported once"
    );
    let open = db
        .store
        .purchases_for_work(&PurchaseFilter {
            states: vec![],
            user_id: None,
            limit: 10,
            oldest_first: true,
        })
        .await
        .unwrap();
    assert_eq!(open.corrupt.len(), 1);
}

/// Breaks a purchase's stored note, as a bad manual edit would.
async fn corrupt_note(db: &TestDb, id: i64) {
    let sql = "UPDATE purchases SET note = 'not json' WHERE id = $1";
    match db.store.backend() {
        foxbot::store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url_text).await.unwrap();
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
            pool.close().await;
        }
        foxbot::store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url_text).await.unwrap();
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// Hole 11: on main, a worker task that panicked was gone for good.
async fn a_worker_that_panics_is_restarted_and_reported(db: &TestDb) {
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let counted = runs.clone();
    let clock = Arc::new(foxbot::clock::SystemClock);
    let rt = foxbot::runtime::Runtime::new(db.store.clone(), clock, "test", stopped);
    rt.supervise("test/w0".to_owned(), move |_| {
        let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            if n == 0 {
                panic!("a bug in one step");
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        runs.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "restarted once"
    );
    let alerts = db.store.unsent_alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, "worker_panic");
}

/// Hole 6: a supplier that takes pay requests but leaves the order
/// `active` is not paid again and again: after `MAX_PAYS`, a person looks.
async fn an_order_that_stays_active_is_paid_a_bounded_number_of_times(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    for _ in 0..5 {
        rig.sim
            .push_fault(Endpoint::PayOrder, Fault::ServerErrorBeforeCommit(500));
    }
    let id = rig.buy(STEAM, 1, &[]).await;
    for _ in 0..10 {
        rig.work().await;
        rig.advance(rig.pay_settle_secs());
    }
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::DeadLetter);
    assert!(p.last_error.unwrap().contains("stays active"));
    assert_eq!(
        rig.sim.request_count(Endpoint::PayOrder),
        foxbot::engine::MAX_PAYS as u64
    );
    assert_eq!(rig.paid(), 0);
    check_guarantees(&db.store, &rig.sim, true).await;
}

/// Hole 9: a completed order whose direct read shows no codes is read once
/// more before a person is asked; an empty code set is never stored.
async fn an_order_completed_without_codes_is_read_twice_then_goes_to_a_person(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_outcome(OrderOutcome::complete_without_codes(Duration::from_secs(1)));
    let id = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    rig.advance(3);
    rig.poll().await;
    let reads = rig.sim.request_count(Endpoint::GetOrder);
    assert_eq!(
        rig.state(id).await,
        PurchaseState::WaitingSupplier,
        "read once more first"
    );
    assert_eq!(rig.purchase(id).await.empty_reads, 1);
    assert!(db.store.codes(id).await.unwrap().is_none());
    rig.advance(10);
    rig.poll().await;
    assert!(
        rig.sim.request_count(Endpoint::GetOrder) > reads,
        "read alone again"
    );
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::DeadLetter);
    assert!(p.last_error.unwrap().contains("no codes"));
    assert!(
        db.store.codes(id).await.unwrap().is_none(),
        "nothing stored as final"
    );
}

/// Hole 2: a bare-array page shorter than asked may be the server's own
/// page cap, not the end: the scan reads on until an empty page.
async fn a_short_bare_page_is_not_taken_for_the_end_of_history(db: &TestDb) {
    let options = SimOptions {
        bare_list: true,
        auto_pay: true,
        ..SimOptions::default()
    };
    let rig = Rig::with(&db.store, options, test_config("rig")).await;
    // The account's history starts empty; the attempt's watermark is "no
    // orders", so the scan must read to the true end.
    rig.sim.set_page_cap(10);
    rig.sim
        .push_fault(Endpoint::CreateOrder, Fault::DropAfterCommit);
    let id = rig.buy(PUBG, 1, &["player_id=5"]).await;
    rig.work().await;
    // Another system orders 25 other things meanwhile: our order is now
    // on the third page of ten.
    let steam = foxbot::domain::ProductId::parse(STEAM).unwrap();
    for _ in 0..25 {
        let order = NewOrder {
            item: &steam,
            quantity: foxbot::domain::Quantity::new(1).unwrap(),
            note: &foxbot::domain::Note::default(),
            total_price: None,
        };
        rig.supplier
            .create_order(&order, rig.supplier.write_slot().await)
            .await
            .unwrap();
    }
    rig.advance(rig.settle_secs() + 1);
    rig.work().await;
    assert_eq!(rig.state(id).await, PurchaseState::WaitingSupplier);
    assert_eq!(rig.created(), 26, "found, not created again");
}

/// Hole 8: only a reply about the order we paid says anything about it.
async fn a_pay_reply_about_another_order_is_never_acted_on(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    let first = rig.buy(STEAM, 1, &[]).await;
    rig.work().await;
    assert_eq!(rig.state(first).await, PurchaseState::WaitingSupplier);
    // The next pay goes through, but its reply shows the first order.
    rig.sim
        .push_fault(Endpoint::PayOrder, Fault::ReplyWithAnotherOrder);
    let id = rig.buy(STEAM, 2, &[]).await;
    rig.work().await;
    let p = rig.purchase(id).await;
    assert_eq!(p.state, PurchaseState::Paying, "not taken as paid");
    rig.advance(rig.pay_settle_secs());
    rig.work().await;
    assert!(matches!(
        rig.state(id).await,
        PurchaseState::WaitingSupplier | PurchaseState::Delivering
    ));
    assert_eq!(
        rig.sim.request_count(Endpoint::PayOrder),
        2,
        "one pay each; the second read back, not paid again"
    );
    check_guarantees(&db.store, &rig.sim, false).await;
}

/// Issue 8: an order whose items partly carry `error` delivers what
/// arrived and goes to an admin for the rest.
async fn a_partly_delivered_order_delivers_what_arrived_and_alerts_for_the_rest(db: &TestDb) {
    let rig = Rig::new(&db.store).await;
    rig.sim
        .push_outcome(OrderOutcome::partial(Duration::from_secs(1)));
    let id = rig.buy(STEAM, 4, &[]).await;
    rig.work().await;
    rig.advance(3);
    rig.poll().await;
    assert_eq!(rig.state(id).await, PurchaseState::Delivering);
    assert_eq!(db.store.codes(id).await.unwrap().unwrap().len(), 2);
    let alerts = db.store.alerts_of(id).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, "partial_delivery");
    let text = alert_text(&alerts[0], Language::En);
    assert!(text.contains("2 unit(s) could not be delivered"), "{text}");
    check_guarantees(&db.store, &rig.sim, false).await;
}
