//! The conditions a shop owner must hear about, pushed to the admin chats
//! with hysteresis: one message when a condition starts, one when it clears
//! (through the alert outbox, so the alert pusher sends them). The same
//! conditions as `deploy/prometheus/alerts.yml`, judged from the database,
//! for a shop that runs no Prometheus.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::clock::{Millis, millis};
use crate::domain::{AlertKind, Args, Phrase};
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

/// A condition, by name: while it holds, what it is, as a message of the
/// locales (`incident-<name>`, worded in each admin's language).
pub fn judge(facts: &IncidentFacts, now: Millis) -> Vec<(&'static str, Option<Phrase>)> {
    let finished = facts.delivered_recently + facts.failed_recently;
    // Fewer than 99 % delivered, with enough traffic to say so.
    let degraded = (finished >= MIN_FINISHED && facts.delivered_recently * 100 < finished * 99)
        .then(|| {
            Phrase::new("incident-delivery-degraded")
                .num("failed", facts.failed_recently)
                .num("finished", finished)
                .num("minutes", (RECENT.as_secs() / 60) as i64)
        });
    let count = |id: &str, n: i64| (n > 0).then(|| Phrase::new(id).num("count", n));
    let dead = count("incident-dead-letters", facts.dead_letters);
    let stalled = count("incident-stalled", facts.stalled);
    let balance = count("incident-balance-low", facts.held_for_balance);
    let auth = count("incident-supplier-auth", facts.held_for_auth);
    let stuck = facts.waiting_supplier > 0
        && facts
            .poller_lease_expires_at
            .is_none_or(|at| now.saturating_sub(at) > millis(POLLER_SILENCE));
    let poller =
        stuck.then(|| Phrase::new("incident-poller-stopped").num("count", facts.waiting_supplier));
    vec![
        ("delivery_degraded", degraded),
        ("dead_letters", dead),
        ("stalled", stalled),
        ("balance_low", balance),
        ("supplier_auth", auth),
        ("poller_stopped", poller),
    ]
}

/// The short name of a condition, for the message that it cleared.
fn name_phrase(name: &str) -> Phrase {
    Phrase::new(&format!("incident-name-{}", name.replace('_', "-")))
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
            Some(phrase) => {
                let args = Args::new().phrase("condition", phrase);
                if store.open_incident(name, &args.to_json(), now).await? {
                    let key = format!("incident:{name}:{now}");
                    store
                        .raise_alert(AlertKind::Incident, None, Some(&key), &args, now)
                        .await?;
                    announced += 1;
                }
            }
            None => {
                if store.close_incident(name, now).await? {
                    let key = format!("recovered:{name}:{now}");
                    let args = Args::new().phrase("condition", name_phrase(name));
                    store
                        .raise_alert(AlertKind::Recovered, None, Some(&key), &args, now)
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
