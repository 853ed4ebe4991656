//! Watching paid supplier orders cheaply.
//!
//! The usual pattern polls each order on its own (5 s, ×1.5, up to 30 s):
//! it spends most of the supplier's ~100 calls a minute and still reacts
//! late. Here one process (holding the poller lease) reads the order history
//! newest first: one request covers every order in flight. An order the list
//! cannot show (history lag, or older than the pages read) is fetched on its
//! own, at most every few poll intervals. Orders running too long alert the
//! admins, and past the dead-letter threshold need a person.

use std::collections::HashMap;

use serde_json::json;

use crate::clock::millis;

use super::{Inner, Result};
use crate::domain::{PurchaseState, SupplierOrderId};
use crate::foxreload::{Order, OrderStatus};
use crate::store::{Change, Purchase, PurchaseFilter, Transition};

/// The single-role lease that makes one process the poller.
pub(super) const LEASE: &str = "poller";
const PAGE: u32 = 50;
/// Purchases watched at most per cycle (the oldest wait for the next one).
const MAX_WATCHED: i64 = 2_000;

/// What one cycle did, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub held_lease: bool,
    pub watched: usize,
    pub list_requests: usize,
    pub single_requests: usize,
    pub completed: usize,
    pub failed: usize,
    pub stalled: usize,
}

impl Inner {
    pub(super) async fn poll_once(&self) -> Result<PollReport> {
        let mut report = PollReport::default();
        let now = self.now();
        let ttl = millis((self.cfg.poll_interval * 3).max(std::time::Duration::from_secs(10)));
        if !self
            .store
            .hold_lease(LEASE, &self.cfg.instance_id, now, ttl)
            .await?
        {
            return Ok(report);
        }
        report.held_lease = true;
        let watched = self
            .store
            .purchases(&PurchaseFilter {
                states: vec![PurchaseState::WaitingSupplier],
                user_id: None,
                limit: MAX_WATCHED,
                oldest_first: true,
            })
            .await?;
        report.watched = watched.len();
        if watched.is_empty() {
            return Ok(report);
        }
        let wanted: HashMap<SupplierOrderId, &Purchase> = watched
            .iter()
            .filter_map(|p| p.supplier_order_id.clone().map(|o| (o, p)))
            .collect();

        // One pass over the newest history, enough pages to cover every
        // watched order if they are all recent.
        let mut seen: HashMap<SupplierOrderId, Order> = HashMap::new();
        let max_pages = watched.len() / PAGE as usize + 1;
        let mut offset = 0u32;
        for _ in 0..max_pages {
            let page = match self.read(|| self.supplier.orders(&[], PAGE, offset)).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "poller could not read the order history");
                    break;
                }
            };
            report.list_requests += 1;
            if offset == 0
                && let Some(first) = page.items.first()
            {
                self.remember_head(first.id.as_str()).await;
            }
            let n = page.items.len() as u32;
            for order in page.items {
                if wanted.contains_key(&order.id) {
                    seen.insert(order.id.clone(), order);
                }
            }
            offset += n;
            let end = n == 0 || page.total.map_or(n < PAGE, |t| i64::from(offset) >= t);
            if end || seen.len() == wanted.len() {
                break;
            }
        }

        for p in &watched {
            let Some(order_id) = p.supplier_order_id.clone() else {
                continue;
            };
            let listed = seen.remove(&order_id);
            // The list cannot answer for this order, or shows it long
            // running, or shows it unpaid (a stale snapshot?): ask for it
            // alone, at most every few intervals.
            let needs_single = match &listed {
                None => true,
                Some(o) => {
                    !o.status.is_terminal()
                        && (o.status == OrderStatus::Active || self.is_stalling(p))
                }
            };
            let (order, direct) = if needs_single && self.single_check_due(p) {
                report.single_requests += 1;
                let touch = Transition::of(p, p.state, "checked")
                    .set(Change::LastCheckedAt(self.now()))
                    .quiet();
                let _ = self.store.transition(&touch, self.now()).await?;
                match self.supplier.order(&order_id).await {
                    Ok(o) => (Some(o), true),
                    Err(e) => {
                        tracing::warn!(purchase = p.id, error = %e, "could not read a watched order");
                        (listed, false)
                    }
                }
            } else {
                (listed, false)
            };
            match order {
                // Only a direct read may say a paid order is unpaid: the
                // history could be a stale snapshot.
                Some(o) if o.status == OrderStatus::Active && !direct => {
                    self.watch_stall(p, Some(&o), &mut report).await?;
                }
                Some(o) => self.observe(p, &o, &mut report).await?,
                None => self.watch_stall(p, None, &mut report).await?,
            }
        }
        Ok(report)
    }

    fn is_stalling(&self, p: &Purchase) -> bool {
        let since = p.waiting_since.unwrap_or(p.updated_at);
        self.now().saturating_sub(since) >= millis(self.cfg.stall_alert)
    }

    fn single_check_due(&self, p: &Purchase) -> bool {
        p.last_checked_at
            .is_none_or(|t| self.now().saturating_sub(t) >= millis(self.cfg.single_check()))
    }

    /// Acts on a watched order's status.
    async fn observe(&self, p: &Purchase, order: &Order, report: &mut PollReport) -> Result<()> {
        let me = self.cfg.instance_id.clone();
        match &order.status {
            OrderStatus::Completed => {
                report.completed += 1;
                self.complete(&me, p, order).await?;
            }
            OrderStatus::Failed | OrderStatus::Cancelled => {
                report.failed += 1;
                let what = if order.status == OrderStatus::Failed {
                    "the supplier order failed"
                } else {
                    "the supplier cancelled the order"
                };
                let errors = order.errors().join("; ");
                let reason = if errors.is_empty() {
                    what.to_owned()
                } else {
                    format!("{what}: {}", errors.chars().take(200).collect::<String>())
                };
                self.refund(&me, p, &reason, false).await?;
            }
            OrderStatus::Active => {
                // Confirmed unpaid by a direct read: pay was never taken.
                let t = Transition::of(p, PurchaseState::Ordered, "order_unpaid")
                    .set(Change::NextActionAt(self.now()))
                    .detail(json!({ "order": order.id }));
                let _ = self.apply(&me, p, t).await?;
            }
            OrderStatus::Other(s) => {
                let text = format!(
                    "Purchase #{}: the supplier reports unknown status {s:?} for order {}",
                    p.id, order.id
                );
                self.alert(
                    "unknown_status",
                    Some(p.id),
                    &format!("unknown_status:{}", order.id),
                    &text,
                )
                .await?;
                self.watch_stall(p, Some(order), report).await?;
            }
            OrderStatus::Paid | OrderStatus::Processing => {
                self.watch_stall(p, Some(order), report).await?;
            }
        }
        Ok(())
    }

    /// Alerts once past the stall threshold; dead-letters past the last one.
    async fn watch_stall(
        &self,
        p: &Purchase,
        order: Option<&Order>,
        report: &mut PollReport,
    ) -> Result<()> {
        let now = self.now();
        let since = p.waiting_since.unwrap_or(p.updated_at);
        let age = now.saturating_sub(since);
        let status = order.map_or("unknown".to_owned(), |o| o.status.as_str().to_owned());
        let me = self.cfg.instance_id.clone();
        if age >= millis(self.cfg.stall_dead) {
            report.stalled += 1;
            let evidence =
                json!({ "order": p.supplier_order_id, "status": status, "waiting_ms": age });
            let reason = format!(
                "the supplier order is still {status} after {} (paid; ask the supplier)",
                human(age)
            );
            let _ = self.dead_letter(&me, p, &reason, evidence).await?;
        } else if age >= millis(self.cfg.stall_alert) && p.stall_alerted_at.is_none() {
            report.stalled += 1;
            let text = format!(
                "Purchase #{}: supplier order {} is still {status} after {} minutes",
                p.id,
                p.supplier_order_id
                    .as_ref()
                    .map(|o| o.as_str())
                    .unwrap_or("?"),
                age / 60_000
            );
            let t = Transition::of(p, p.state, "stall_alerted")
                .set(Change::StallAlertedAt(Some(now)))
                .detail(json!({ "status": status }));
            if self.store.transition(&t.by(&me), now).await?.applied() {
                self.alert("stall", Some(p.id), &format!("stall:{}", p.id), &text)
                    .await?;
            }
        }
        Ok(())
    }
}

/// "45 s", "12 min", "3 h 5 min".
fn human(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_well() {
        assert_eq!(super::human(16_000), "16 s");
        assert_eq!(super::human(600_000), "10 min");
        assert_eq!(super::human(3 * 3_600_000 + 300_000), "3 h 5 min");
    }
}
