//! The storage primitives on both engines: compare-and-set transitions,
//! claiming under a lease, the one-unresolved-create-per-signature index.

use std::collections::HashSet;

use foxbot::domain::{EventKind, PurchaseState, Signature, Watermark};
use foxbot::store::{AttemptState, Cas, Change, NewAttempt, Transition};

use crate::support::TestDb;

/// The states these tests claim from.
const WORKED: &[PurchaseState] = &[PurchaseState::Ordering, PurchaseState::Submitting];
use crate::support::db::{new_purchase, now};

on_both_engines!(
    a_stale_compare_and_set_changes_nothing,
    a_transition_from_a_state_the_row_left_changes_nothing,
    two_concurrent_claimers_never_get_the_same_purchase,
    an_expired_lease_is_taken_over_and_the_old_holder_can_no_longer_write,
    a_second_unresolved_create_with_the_same_signature_is_refused,
    a_telegram_charge_is_recorded_once,
    a_single_role_lease_has_one_holder_until_it_expires,
    migrating_again_changes_nothing,
    a_claim_takes_only_the_states_asked_for,
    listings_filter_by_state_and_user_in_the_order_asked,
);

async fn a_stale_compare_and_set_changes_nothing(db: &TestDb) {
    let s = &db.store;
    let t0 = now();
    let id = s
        .insert_purchase(&new_purchase(1, "p1", 1, &[]), t0)
        .await
        .unwrap();
    let first = s
        .claim_due("w1", WORKED, t0, 10_000, 10)
        .await
        .unwrap()
        .purchases;
    assert_eq!(first.len(), 1);
    let stale = first[0].clone();
    // The lease expires and another worker takes the purchase over.
    let second = s
        .claim_due("w2", WORKED, t0 + 10_001, 10_000, 10)
        .await
        .unwrap()
        .purchases;
    assert_eq!(second[0].fence, stale.fence + 1);

    let events_before = s.events_of(id).await.unwrap().len();
    let late = Transition::by_hand(&stale, PurchaseState::Submitting, EventKind::Reschedule)
        .set(Change::NextActionAt(t0 + 99));
    assert_eq!(
        s.transition(&late, t0 + 10_002).await.unwrap(),
        Cas::LostRace
    );

    let row = s.purchase(id).await.unwrap().unwrap();
    assert_eq!(row.state, PurchaseState::Ordering);
    assert_eq!(row.lease_owner.as_deref(), Some("w2"));
    assert_ne!(row.next_action_at, t0 + 99);
    assert_eq!(
        s.events_of(id).await.unwrap().len(),
        events_before,
        "no event for a lost race"
    );

    // The current holder's transition applies and is logged.
    let current = Transition::by_hand(&second[0], PurchaseState::Submitting, EventKind::Reschedule);
    assert_eq!(
        s.transition(&current, t0 + 10_003).await.unwrap(),
        Cas::Applied
    );
    let events = s.events_of(id).await.unwrap();
    assert_eq!(events.len(), events_before + 1);
    assert_eq!(
        events.last().unwrap().to_state.as_deref(),
        Some("submitting")
    );
}

async fn a_transition_from_a_state_the_row_left_changes_nothing(db: &TestDb) {
    let s = &db.store;
    let t0 = now();
    let id = s
        .insert_purchase(&new_purchase(1, "p1", 1, &[]), t0)
        .await
        .unwrap();
    let p = s
        .claim_due("w1", WORKED, t0, 10_000, 1)
        .await
        .unwrap()
        .purchases
        .remove(0);
    let to_submitting = Transition::by_hand(&p, PurchaseState::Submitting, EventKind::Reschedule);
    assert!(s.transition(&to_submitting, t0).await.unwrap().applied());
    // Replaying the same transition (same from-state) must lose.
    assert_eq!(
        s.transition(&to_submitting, t0).await.unwrap(),
        Cas::LostRace
    );
    assert_eq!(
        s.purchase(id).await.unwrap().unwrap().state,
        PurchaseState::Submitting
    );
}

async fn two_concurrent_claimers_never_get_the_same_purchase(db: &TestDb) {
    let t0 = now();
    const N: usize = 120;
    for i in 0..N {
        db.store
            .insert_purchase(&new_purchase(1 + (i as i64 % 7), "p1", 1, &[]), t0)
            .await
            .unwrap();
    }
    // Four claimers, each on its own connection pool, as separate processes.
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = db.another_store().await;
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_due(&format!("w{w}"), WORKED, t0, 60_000, 3)
                    .await
                    .unwrap()
                    .purchases;
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|p| p.id));
                tokio::task::yield_now().await;
            }
            mine
        }));
    }
    let mut all = Vec::new();
    let mut per_worker = Vec::new();
    for t in tasks {
        let got = t.await.unwrap();
        per_worker.push(got.len());
        all.extend(got);
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "a purchase was claimed twice: {per_worker:?}"
    );
    assert_eq!(all.len(), N, "every due purchase is claimed once");
}

async fn an_expired_lease_is_taken_over_and_the_old_holder_can_no_longer_write(db: &TestDb) {
    let s = &db.store;
    let t0 = now();
    s.insert_purchase(&new_purchase(1, "p1", 1, &[]), t0)
        .await
        .unwrap();
    let held = s
        .claim_due("w1", WORKED, t0, 1_000, 5)
        .await
        .unwrap()
        .purchases
        .remove(0);
    assert!(
        s.claim_due("w2", WORKED, t0 + 999, 1_000, 5)
            .await
            .unwrap()
            .purchases
            .is_empty(),
        "lease still live"
    );
    let taken = s
        .claim_due("w2", WORKED, t0 + 1_000, 1_000, 5)
        .await
        .unwrap()
        .purchases;
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].lease_owner.as_deref(), Some("w2"));
    let old = Transition::by_hand(&held, PurchaseState::DeadLetter, EventKind::Reschedule);
    assert_eq!(s.transition(&old, t0 + 1_001).await.unwrap(), Cas::LostRace);

    // Releasing lets anyone claim it when due, not before.
    let release = Transition::by_hand(&taken[0], PurchaseState::Ordering, EventKind::Reschedule)
        .set(Change::NextActionAt(t0 + 5_000))
        .set(Change::ReleaseLease);
    assert!(s.transition(&release, t0 + 1_002).await.unwrap().applied());
    assert!(
        s.claim_due("w3", WORKED, t0 + 4_999, 1_000, 5)
            .await
            .unwrap()
            .purchases
            .is_empty()
    );
    assert_eq!(
        s.claim_due("w3", WORKED, t0 + 5_000, 1_000, 5)
            .await
            .unwrap()
            .purchases
            .len(),
        1
    );
}

async fn a_second_unresolved_create_with_the_same_signature_is_refused(db: &TestDb) {
    let s = &db.store;
    let t0 = now();
    let a = s
        .insert_purchase(&new_purchase(1, "p1", 2, &["player_id=7"]), t0)
        .await
        .unwrap();
    let b = s
        .insert_purchase(&new_purchase(2, "p1", 2, &["player_id=7"]), t0)
        .await
        .unwrap();
    let c = s
        .insert_purchase(&new_purchase(3, "p1", 2, &["player_id=8"]), t0)
        .await
        .unwrap();
    let pa = s.purchase(a).await.unwrap().unwrap();
    let pc = s.purchase(c).await.unwrap().unwrap();
    let sig = pa.signature.clone();
    assert_eq!(sig, s.purchase(b).await.unwrap().unwrap().signature);

    let attempt = |purchase_id: i64, signature: Signature| NewAttempt {
        purchase_id,
        signature,
        watermark: Watermark::Empty,
        reach_by: 0,
        started_at: t0,
    };
    let mut tx = s.begin().await.unwrap();
    let first = tx.insert_attempt(&attempt(a, sig.clone())).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = s.begin().await.unwrap();
    let refused = tx.insert_attempt(&attempt(b, sig.clone())).await;
    assert!(
        matches!(refused, Err(ref e) if e.is_conflict()),
        "{refused:?}"
    );
    drop(tx);

    // Another signature is not held up.
    let mut tx = s.begin().await.unwrap();
    tx.insert_attempt(&attempt(c, pc.signature.clone()))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // `unknown` still holds the lock; a resolved attempt releases it.
    let mut tx = s.begin().await.unwrap();
    let moved = tx
        .resolve_attempt(
            first,
            &[AttemptState::Submitting],
            AttemptState::Unknown,
            None,
            "timeout",
            t0,
        )
        .await
        .unwrap();
    assert!(moved.applied());
    tx.commit().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    assert!(tx.insert_attempt(&attempt(b, sig.clone())).await.is_err());
    drop(tx);

    let mut tx = s.begin().await.unwrap();
    let resolved = tx
        .resolve_attempt(
            first,
            &[AttemptState::Unknown],
            AttemptState::Absent,
            None,
            "two clean scans",
            t0,
        )
        .await
        .unwrap();
    assert!(resolved.applied());
    // A stale resolution from `submitting` loses.
    let stale = tx
        .resolve_attempt(
            first,
            &[AttemptState::Submitting],
            AttemptState::Created,
            None,
            "late",
            t0,
        )
        .await
        .unwrap();
    assert_eq!(stale, Cas::LostRace);
    tx.insert_attempt(&attempt(b, sig.clone())).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        s.unresolved_attempt(&sig)
            .await
            .unwrap()
            .unwrap()
            .purchase_id,
        b
    );
}

async fn a_telegram_charge_is_recorded_once(db: &TestDb) {
    let s = &db.store;
    let t0 = now();
    let mut p = new_purchase(1, "p1", 1, &[]);
    p.source = foxbot::domain::PurchaseSource::Telegram;
    p.sale.stars = 150;
    p.telegram_charge_id = Some("charge-1".to_owned());
    let id = s.insert_purchase(&p, t0).await.unwrap();
    let mut again = p.clone();
    again.client_ref = foxbot::domain::ClientRef::generate();
    let err = s.insert_purchase(&again, t0).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(
        s.purchase_by_charge("charge-1").await.unwrap().unwrap().id,
        id
    );
    let counts = s.state_counts().await.unwrap();
    assert_eq!(counts, vec![(PurchaseState::Ordering, 1)]);
}

async fn a_single_role_lease_has_one_holder_until_it_expires(db: &TestDb) {
    let s = &db.store;
    let t0 = now();
    assert!(s.hold_lease("poller", "a", t0, 1_000).await.unwrap());
    assert!(!s.hold_lease("poller", "b", t0 + 500, 1_000).await.unwrap());
    assert!(
        s.hold_lease("poller", "a", t0 + 900, 1_000).await.unwrap(),
        "renewal"
    );
    assert!(
        !s.hold_lease("poller", "b", t0 + 1_899, 1_000)
            .await
            .unwrap()
    );
    assert!(
        s.hold_lease("poller", "b", t0 + 1_900, 1_000)
            .await
            .unwrap(),
        "expired: taken over"
    );
    assert!(
        !s.hold_lease("poller", "a", t0 + 1_901, 1_000)
            .await
            .unwrap()
    );
    s.drop_lease("poller", "b").await.unwrap();
    assert!(
        s.hold_lease("poller", "a", t0 + 1_902, 1_000)
            .await
            .unwrap()
    );
}

async fn migrating_again_changes_nothing(db: &TestDb) {
    db.store.migrate().await.unwrap();
    let t0 = now();
    let id = db
        .store
        .insert_purchase(&new_purchase(1, "p1", 1, &[]), t0)
        .await
        .unwrap();
    db.store.migrate().await.unwrap();
    assert!(db.store.purchase(id).await.unwrap().is_some());
}

async fn a_claim_takes_only_the_states_asked_for(db: &TestDb) {
    let s = &db.store;
    let t0 = now();
    let id = s
        .insert_purchase(&new_purchase(1, "p1", 1, &[]), t0)
        .await
        .unwrap();
    let p = s
        .claim_due("w1", WORKED, t0, 1_000, 1)
        .await
        .unwrap()
        .purchases
        .remove(0);
    // ordering → on_hold → delivering, both allowed moves.
    let held = Transition::by_hand(&p, PurchaseState::OnHold, EventKind::OnHold);
    assert!(s.transition(&held, t0).await.unwrap().applied());
    let mut p = p;
    p.state = PurchaseState::OnHold;
    let handed_on = Transition::by_hand(&p, PurchaseState::Delivering, EventKind::OrderCompleted)
        .set(Change::NextActionAt(t0))
        .set(Change::ReleaseLease);
    assert!(s.transition(&handed_on, t0).await.unwrap().applied());
    let engine = foxbot::engine::ENGINE_STATES;
    assert!(
        s.claim_due("w2", engine, t0 + 5_000, 1_000, 9)
            .await
            .unwrap()
            .purchases
            .is_empty()
    );
    let delivery = s
        .claim_due("d1", &[PurchaseState::Delivering], t0, 1_000, 9)
        .await
        .unwrap()
        .purchases;
    assert_eq!(delivery.len(), 1);
    assert_eq!(delivery[0].id, id);
    assert_eq!(s.next_due_at(engine).await.unwrap(), None);
}

async fn listings_filter_by_state_and_user_in_the_order_asked(db: &TestDb) {
    use foxbot::store::PurchaseFilter;
    let s = &db.store;
    let t0 = now();
    let mut ids = Vec::new();
    for user in [1, 2, 1] {
        ids.push(
            s.insert_purchase(&new_purchase(user, "p1", 1, &[]), t0)
                .await
                .unwrap(),
        );
    }
    let list = |filter: PurchaseFilter| async move {
        s.purchases(&filter)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>()
    };
    let all = PurchaseFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        list(all.clone()).await,
        [ids[2], ids[1], ids[0]],
        "newest first"
    );
    let oldest = PurchaseFilter {
        oldest_first: true,
        limit: 2,
        ..Default::default()
    };
    assert_eq!(list(oldest).await, [ids[0], ids[1]]);
    let mine = PurchaseFilter {
        user_id: Some(foxbot::domain::UserId(1)),
        ..all.clone()
    };
    assert_eq!(list(mine).await, [ids[2], ids[0]]);
    let done = PurchaseFilter {
        states: vec![PurchaseState::Delivered],
        ..all
    };
    assert!(list(done).await.is_empty());
}
