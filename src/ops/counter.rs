//! The business figures, counted from the event stream by one process at a
//! time (a lease), so that each event is counted once across replicas:
//! orders created, completed, failed, stalled; ambiguous creates and how
//! they ended; deliveries, refunds, dead letters, supplier spend. The
//! metric names are in [`crate::telemetry::metrics`].

use metrics::{counter, histogram};
use tokio::task::JoinHandle;

use crate::domain::EventKind;
use crate::runtime::{Loop, Pace, Runtime};
use crate::store::{Event, EventCursor, Store};
use crate::telemetry::metrics::{
    AMBIGUOUS_CREATES, AMBIGUOUS_RESOLVED, DEAD_LETTERS, DELIVERIES, DELIVERY_SECONDS,
    ORDERS_COMPLETED, ORDERS_CREATED, ORDERS_FAILED, ORDERS_STALLED, PAYMENTS, REFUNDS,
    SUPPLIER_SPEND,
};

/// Counts what one event says happened.
async fn count(store: &Store, event: &Event) {
    let Ok(kind) = EventKind::parse(&event.kind) else {
        return;
    };
    let from = event.from_state.as_deref();
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap_or_default();
    match kind {
        EventKind::OrderLinked => {
            counter!(ORDERS_CREATED).increment(1);
            if from == Some("reconciling") {
                counter!(AMBIGUOUS_RESOLVED, "resolution" => "found").increment(1);
            }
        }
        EventKind::CreateAmbiguous => counter!(AMBIGUOUS_CREATES).increment(1),
        EventKind::CreateAbsent => {
            counter!(AMBIGUOUS_RESOLVED, "resolution" => "absent").increment(1);
        }
        EventKind::OrderCompleted => counter!(ORDERS_COMPLETED).increment(1),
        EventKind::OrderPaid => {
            use rust_decimal::prelude::ToPrimitive;
            if let Some(id) = event.purchase_id
                && let Ok(Some(p)) = store.purchase(id).await
                && let Some(cost) = p.order_price.and_then(|m| m.times(p.quantity.get()))
                && let Some(cents) = (cost.decimal() * rust_decimal::Decimal::ONE_HUNDRED)
                    .round()
                    .to_u64()
            {
                counter!(SUPPLIER_SPEND).increment(cents);
            }
        }
        EventKind::RefundNeeded => counter!(ORDERS_FAILED).increment(1),
        EventKind::StallAlerted => counter!(ORDERS_STALLED).increment(1),
        EventKind::DeadLetter => {
            counter!(DEAD_LETTERS).increment(1);
            if from == Some("reconciling") {
                counter!(AMBIGUOUS_RESOLVED, "resolution" => "undecidable").increment(1);
            }
        }
        EventKind::Refunded => counter!(REFUNDS).increment(1),
        EventKind::PaymentRecorded => counter!(PAYMENTS).increment(1),
        EventKind::Delivered => {
            let outcome = if detail["blocked"].as_bool() == Some(true) {
                "blocked"
            } else if detail["resent"].as_bool() == Some(true) {
                "resent"
            } else {
                "sent"
            };
            counter!(DELIVERIES, "outcome" => outcome).increment(1);
            if let Some(id) = event.purchase_id
                && let Ok(events) = store.events_of(id).await
                && let Some(done) = events
                    .iter()
                    .rev()
                    .find(|e| e.kind == EventKind::OrderCompleted.as_str())
            {
                let secs = event.at.saturating_sub(done.at) as f64 / 1000.0;
                histogram!(DELIVERY_SECONDS).record(secs.max(0.0));
            }
        }
        _ => {}
    }
}

const KINDS: &[EventKind] = &[
    EventKind::OrderLinked,
    EventKind::OrderPaid,
    EventKind::CreateAmbiguous,
    EventKind::CreateAbsent,
    EventKind::OrderCompleted,
    EventKind::RefundNeeded,
    EventKind::StallAlerted,
    EventKind::DeadLetter,
    EventKind::Refunded,
    EventKind::PaymentRecorded,
    EventKind::Delivered,
];

/// The event-stream counter, held by one process at a time.
pub fn spawn(rt: &Runtime) -> JoinHandle<()> {
    let store = rt.store().clone();
    let clock = rt.clock().clone();
    let cursor = EventCursor::new(store.clone(), "metrics", KINDS);
    let spec = Loop::single_role("metrics", std::time::Duration::from_secs(2));
    rt.spawn(spec, move |_| {
        let (store, cursor, now) = (store.clone(), cursor.clone(), clock.now_ms());
        async move { step(&store, &cursor, now).await.map(Pace::worked) }
    })
}

async fn step(
    store: &Store,
    cursor: &EventCursor,
    now: i64,
) -> Result<usize, crate::store::StoreError> {
    let from = cursor.position().await?;
    let events = cursor.next(200, now).await?;
    let Some(last) = events.last().map(|e| e.id) else {
        return Ok(0);
    };
    for e in &events {
        count(store, e).await;
    }
    let _ = cursor.ack(from, last, now).await?;
    Ok(events.len())
}
