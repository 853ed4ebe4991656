//! The conditions a shop owner must hear about, pushed to the admin chats
//! with hysteresis: one message when a condition starts, one when it clears
//! (through the alert outbox, so the alert pusher sends them). The same
//! conditions as `deploy/prometheus/alerts.yml`, judged from the database,
//! for a shop that runs no Prometheus.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::clock::{Millis, millis};
use crate::domain::AlertKind;
use crate::runtime::{Loop, Pace, Runtime};
use crate::store::{IncidentFacts, Store, StoreError};

/// How often the conditions are judged.
pub const EVERY: Duration = Duration::from_secs(30);
/// The window of the delivery ratio.
const RECENT: Duration = Duration::from_secs(10 * 60);
/// Fewer finished purchases than this in the window: too few to judge.
const MIN_FINISHED: i64 = 5;
/// The poller is stuck when its lease ran out this long ago while orders wait.
const POLLER_SILENCE: Duration = Duration::from_secs(120);

/// A condition, by name: `Some(text)` while it holds.
pub fn judge(facts: &IncidentFacts, now: Millis) -> Vec<(&'static str, Option<String>)> {
    let finished = facts.delivered_recently + facts.failed_recently;
    // Fewer than 99 % delivered, with enough traffic to say so.
    let degraded = (finished >= MIN_FINISHED
        && facts.delivered_recently * 100 < finished * 99)
        .then(|| {
            format!(
                "Deliveries are failing: {} of the {finished} purchases finished in the last 10 minutes were refunded or need a person.",
                facts.failed_recently
            )
        });
    let dead = (facts.dead_letters > 0).then(|| {
        format!(
            "{} purchase(s) need a person: see /stalled.",
            facts.dead_letters
        )
    });
    let stalled = (facts.stalled > 0).then(|| {
        format!(
            "{} purchase(s) are past the stall threshold: see /stalled.",
            facts.stalled
        )
    });
    let balance = (facts.held_for_balance > 0).then(|| {
        format!(
            "The supplier balance is too low: {} purchase(s) wait for a top-up, then are refunded.",
            facts.held_for_balance
        )
    });
    let auth = (facts.held_for_auth > 0).then(|| {
        format!(
            "The supplier refuses the API key: {} purchase(s) wait. Check FOXRELOAD_API_KEY and the key's IP allowlist.",
            facts.held_for_auth
        )
    });
    let stuck = facts.waiting_supplier > 0
        && facts
            .poller_lease_expires_at
            .is_none_or(|at| now.saturating_sub(at) > millis(POLLER_SILENCE));
    let poller = stuck.then(|| {
        format!(
            "No process is watching the {} paid supplier order(s): is foxbot running?",
            facts.waiting_supplier
        )
    });
    vec![
        ("delivery_degraded", degraded),
        ("dead_letters", dead),
        ("stalled", stalled),
        ("balance_low", balance),
        ("supplier_auth", auth),
        ("poller_stopped", poller),
    ]
}

/// Judges every condition once; announces those that started or cleared.
/// Returns how many announcements were made.
pub async fn evaluate(store: &Store, now: Millis) -> Result<usize, StoreError> {
    let facts = store
        .incident_facts(now.saturating_sub(millis(RECENT)))
        .await?;
    let mut announced = 0;
    for (name, holds) in judge(&facts, now) {
        match holds {
            Some(text) => {
                if store.open_incident(name, &text, now).await? {
                    let key = format!("incident:{name}:{now}");
                    store
                        .raise_alert(AlertKind::Incident, None, Some(&key), &text, now)
                        .await?;
                    announced += 1;
                }
            }
            None => {
                if store.close_incident(name, now).await? {
                    let key = format!("recovered:{name}:{now}");
                    let text = format!("Recovered: {}", name.replace('_', " "));
                    store
                        .raise_alert(AlertKind::Recovered, None, Some(&key), &text, now)
                        .await?;
                    announced += 1;
                }
            }
        }
    }
    Ok(announced)
}

/// How often the supplier balance is read for the balance gauge (the
/// `SupplierBalanceLow` rule) and for pre-checkout: one request in this long
/// is nothing. With the step's own period it stays within
/// `intake::BALANCE_FRESH_FOR` (5 minutes), or pre-checkout would find it
/// stale for part of every cycle.
const BALANCE_EVERY: Duration = Duration::from_secs(4 * 60 + 30);

/// Judges the conditions every [`EVERY`], in one process at a time, and
/// reads the supplier balance every [`BALANCE_EVERY`] for `/metrics`.
pub fn spawn(rt: &Runtime, supplier: crate::foxreload::FoxReload) -> JoinHandle<()> {
    let (store, clock) = (rt.store().clone(), rt.clock().clone());
    let balance_read_at = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    rt.spawn(
        Loop::single_role("incidents", EVERY).on_timer(),
        move |_| {
            let (store, now) = (store.clone(), clock.now_ms());
            let (supplier, read_at) = (supplier.clone(), balance_read_at.clone());
            async move {
                let last = read_at.load(std::sync::atomic::Ordering::Relaxed);
                if now.saturating_sub(last) >= millis(BALANCE_EVERY) {
                    read_at.store(now, std::sync::atomic::Ordering::Relaxed);
                    // Sets the gauge; a failure shows in the request metrics.
                    // Kept for pre-checkout, which may not call the supplier.
                    if let Ok(balances) = supplier.balances().await {
                        for b in balances {
                            store
                                .record_supplier_balance(&b.currency, b.amount, now)
                                .await?;
                        }
                    }
                }
                // Judged once a turn, however much was announced.
                evaluate(&store, now).await.map(|_| Pace::Idle)
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(facts: &IncidentFacts, name: &str) -> bool {
        judge(facts, 1_000_000)
            .into_iter()
            .any(|(n, h)| n == name && h.is_some())
    }

    #[test]
    fn a_quiet_shop_has_no_incident() {
        let quiet = IncidentFacts::default();
        assert!(judge(&quiet, 1_000_000).iter().all(|(_, h)| h.is_none()));
    }

    #[test]
    fn delivery_is_degraded_below_99_percent_with_enough_traffic() {
        let mut f = IncidentFacts {
            delivered_recently: 99,
            failed_recently: 1,
            ..Default::default()
        };
        assert!(!holds(&f, "delivery_degraded"), "99 % is fine");
        f.delivered_recently = 98;
        f.failed_recently = 2;
        assert!(holds(&f, "delivery_degraded"));
        // One failure out of two is not enough traffic to page anyone.
        f.delivered_recently = 1;
        f.failed_recently = 1;
        assert!(!holds(&f, "delivery_degraded"));
    }

    #[test]
    fn a_poller_that_stopped_with_orders_waiting_is_an_incident() {
        let now = 1_000_000;
        let mut f = IncidentFacts {
            waiting_supplier: 3,
            poller_lease_expires_at: Some(now - 10_000),
            ..Default::default()
        };
        assert!(
            !holds(&f, "poller_stopped"),
            "just expired: another takes it"
        );
        f.poller_lease_expires_at = Some(now - 200_000);
        assert!(holds(&f, "poller_stopped"));
        f.poller_lease_expires_at = None;
        assert!(holds(&f, "poller_stopped"));
        f.waiting_supplier = 0;
        assert!(!holds(&f, "poller_stopped"), "nothing to watch");
    }
}
