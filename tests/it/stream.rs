//! The event stream: each consumer reads the events it asked for, in
//! order, once across restarts (its position is in the database), never
//! moves backwards, and is woken when something is written. Both engines.

use std::time::{Duration, Instant};

use foxbot::domain::{EventKind, PurchaseState};
use foxbot::store::{EventCursor, Store, Transition};

use crate::support::TestDb;
use crate::support::db::{new_purchase, now};

on_both_engines!(
    each_consumer_gets_each_event_once_across_restarts,
    a_stale_ack_never_moves_a_consumer_backwards,
    a_waiting_consumer_is_woken_by_a_new_event,
);

/// Reads far enough in the future that PostgreSQL's settle time has passed.
fn later() -> i64 {
    now() + 60_000
}

/// A purchase moved to `dead_letter`: one `created` and one `dead_letter`
/// event.
async fn dead_lettered(store: &Store, user: i64) -> i64 {
    let id = store
        .insert_purchase(&new_purchase(user, "p1", 1, &[]), now())
        .await
        .unwrap();
    let p = store.purchase(id).await.unwrap().unwrap();
    let t = Transition::by_hand(&p, PurchaseState::DeadLetter, EventKind::DeadLetter);
    assert!(store.transition(&t, now()).await.unwrap().applied());
    id
}

async fn drain(cursor: &EventCursor) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    loop {
        let batch = cursor.next(2, later()).await.unwrap();
        let Some(last) = batch.last() else {
            return seen;
        };
        let from = cursor.position().await.unwrap();
        assert!(cursor.ack(from, last.id, now()).await.unwrap().applied());
        seen.extend(
            batch
                .iter()
                .map(|e| (e.purchase_id.unwrap(), e.kind.clone())),
        );
    }
}

async fn each_consumer_gets_each_event_once_across_restarts(db: &TestDb) {
    let a = dead_lettered(&db.store, 1).await;
    let b = dead_lettered(&db.store, 2).await;
    let alerts = EventCursor::new(db.store.clone(), "alerts", &[EventKind::DeadLetter]);
    assert_eq!(
        drain(&alerts).await,
        [(a, "dead_letter".to_owned()), (b, "dead_letter".to_owned())],
        "only the kinds asked for, in order"
    );
    // A restart: a new cursor with the same name, on another connection.
    let again = EventCursor::new(db.another_store().await, "alerts", &[EventKind::DeadLetter]);
    assert!(drain(&again).await.is_empty(), "nothing twice");
    let c = dead_lettered(&db.store, 3).await;
    assert_eq!(drain(&again).await, [(c, "dead_letter".to_owned())]);

    // Another consumer keeps its own position: it sees everything.
    let metrics = EventCursor::new(
        db.store.clone(),
        "metrics",
        &[EventKind::Created, EventKind::DeadLetter],
    );
    assert_eq!(drain(&metrics).await.len(), 6);
}

async fn a_stale_ack_never_moves_a_consumer_backwards(db: &TestDb) {
    let s = &db.store;
    assert!(
        s.advance_consumer("c", 0, 5, now())
            .await
            .unwrap()
            .applied()
    );
    assert!(
        !s.advance_consumer("c", 0, 3, now())
            .await
            .unwrap()
            .applied()
    );
    assert!(
        !s.advance_consumer("c", 5, 4, now())
            .await
            .unwrap()
            .applied()
    );
    assert!(
        !s.advance_consumer("c", 2, 9, now())
            .await
            .unwrap()
            .applied()
    );
    assert_eq!(s.consumer_position("c").await.unwrap(), 5);
    assert!(
        s.advance_consumer("c", 5, 9, now())
            .await
            .unwrap()
            .applied()
    );
    assert_eq!(s.consumer_position("c").await.unwrap(), 9);
}

async fn a_waiting_consumer_is_woken_by_a_new_event(db: &TestDb) {
    let cursor = EventCursor::new(db.another_store().await, "waiter", &[EventKind::Created]);
    let started = Instant::now();
    let waiting = tokio::spawn(async move { cursor.wait(Duration::from_secs(60)).await });
    // Write until the waiter wakes (it may start listening after the
    // first write); it must wake long before its 60 s timeout.
    let mut user = 100;
    while !waiting.is_finished() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the consumer was not woken"
        );
        user += 1;
        db.store
            .insert_purchase(&new_purchase(user, "p1", 1, &[]), now())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    waiting.await.unwrap();
}
