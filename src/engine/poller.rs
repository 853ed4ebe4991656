//! Watching paid supplier orders cheaply.
//!
//! The usual pattern polls each order on its own (5 s, ×1.5, up to 30 s):
//! it spends most of the supplier's ~100 calls a minute and still reacts
//! late. Here one process (holding the poller lease) reads the order history
//! newest first: one request covers every order in flight. An order the list
//! cannot show (history lag, or older than the pages read) is fetched on its
//! own, at most every few poll intervals. Orders running too long alert the
//! admins, and past the dead-letter threshold need a person.

use std::collections::{HashMap, HashSet};

use super::history::Step;
use super::{Inner, Result, transitions};
use crate::clock::{Millis, millis};
use crate::domain::{PurchaseState, SupplierOrderId};
use crate::foxreload::{Order, OrderStatus};
use crate::store::{Purchase, PurchaseFilter};

/// The single-role lease that makes one process the poller.
pub(super) const LEASE: &str = "poller";
/// Purchases watched at most per cycle (the oldest wait for the next one).
const MAX_WATCHED: i64 = 2_000;
/// Orders read on their own per cycle at most: the list answers for the
/// rest, and stalled orders must not starve writes and scans.
const MAX_SINGLE_READS: usize = 4;

/// What one cycle did, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub held_lease: bool,
    pub watched: usize,
    pub list_requests: usize,
    pub single_requests: usize,
    pub completed: usize,
    pub failed: usize,
    /// Purchases that got a stall alert or a dead letter this cycle.
    pub stalled: usize,
}

/// How the poller watches paid orders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WatchMode {
    /// One history request per cycle covers every order in flight.
    List,
    /// Each order read on its own on a growing timer: the common pattern,
    /// for the benchmark to compare against. Not for production.
    PerOrder(PerOrder),
}

/// The per-order pattern: first read `first` after payment, then each wait
/// × `factor` up to `cap`, each spread by ± `jitter` (a fraction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerOrder {
    pub first: std::time::Duration,
    pub factor: f64,
    pub cap: std::time::Duration,
    pub jitter: f64,
}

impl PerOrder {
    /// 5 s, ×1.5, capped at 30 s, jitter 30 %.
    pub const COMMON: PerOrder = PerOrder {
        first: std::time::Duration::from_secs(5),
        factor: 1.5,
        cap: std::time::Duration::from_secs(30),
        jitter: 0.3,
    };

    /// The same pattern with every duration divided by `factor`.
    pub fn compressed(self, factor: u32) -> PerOrder {
        PerOrder {
            first: self.first / factor.max(1),
            cap: self.cap / factor.max(1),
            ..self
        }
    }

    fn spread(&self, wait: std::time::Duration, seed: u64) -> Millis {
        // A deterministic spread from the purchase and the read number.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        let scale = 1.0 + self.jitter * (2.0 * unit - 1.0);
        millis(wait.mul_f64(scale.max(0.0)))
    }
}

/// One order's timer in the per-order pattern.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timer {
    due: Millis,
    wait: std::time::Duration,
    reads: u64,
}

impl Timer {
    fn start(purchase: i64, since: Millis, pattern: &PerOrder) -> Timer {
        let seed = purchase.unsigned_abs() << 16;
        Timer {
            due: since.saturating_add(pattern.spread(pattern.first, seed)),
            wait: pattern.first,
            reads: 0,
        }
    }

    fn next(&mut self, purchase: i64, now: Millis, pattern: &PerOrder) {
        self.reads += 1;
        self.wait = self.wait.mul_f64(pattern.factor).min(pattern.cap);
        let seed = (purchase.unsigned_abs() << 16) | (self.reads & 0xFFFF);
        self.due = now.saturating_add(pattern.spread(self.wait, seed));
    }
}

impl Inner {
    /// Takes or renews the poller lease; false if another process holds it.
    async fn hold_poller_lease(&self) -> Result<bool> {
        let ttl = millis((self.cfg.poll_interval * 3).max(std::time::Duration::from_secs(10)));
        Ok(self
            .store
            .hold_lease(LEASE, &self.cfg.instance_id, self.now(), ttl)
            .await?)
    }

    pub(super) async fn poll_once(&self) -> Result<PollReport> {
        let mut report = PollReport::default();
        if !self.hold_poller_lease().await? {
            return Ok(report);
        }
        report.held_lease = true;
        self.watch_paid_orders(&mut report).await?;
        // The lease again: the cycle may have taken a while.
        if self.hold_poller_lease().await? {
            self.sweep_stalls(&mut report).await?;
        }
        Ok(report)
    }

    async fn watch_paid_orders(&self, report: &mut PollReport) -> Result<()> {
        let rows = self
            .store
            .purchases_for_work(&PurchaseFilter {
                states: vec![PurchaseState::WaitingSupplier],
                user_id: None,
                limit: MAX_WATCHED,
                oldest_first: true,
            })
            .await?;
        self.report_corrupt(&rows.corrupt).await?;
        let watched = rows.purchases;
        report.watched = watched.len();
        if let WatchMode::PerOrder(pattern) = self.cfg.watch {
            return self.watch_each_order(&watched, &pattern, report).await;
        }
        if watched.is_empty() {
            return Ok(());
        }
        let mut seen = self.list_watched(&watched, report).await;

        // Orders the list cannot answer for are read alone: the longest
        // unchecked first, a few per cycle.
        let mut singles: Vec<&Purchase> = Vec::new();
        for p in &watched {
            let Some(order_id) = &p.supplier_order_id else {
                continue;
            };
            match seen.remove(order_id) {
                Some(o) if self.list_answers(p, &o) => self.observe(p, &o, false, report).await?,
                _ => singles.push(p),
            }
        }
        singles.retain(|p| self.single_check_due(p));
        singles.sort_by_key(|p| p.last_checked_at.unwrap_or(i64::MIN));
        for p in singles.into_iter().take(MAX_SINGLE_READS) {
            if !self.hold_poller_lease().await? {
                return Ok(());
            }
            let Some(order_id) = p.supplier_order_id.clone() else {
                continue;
            };
            self.read_alone(p, &order_id, report).await?;
        }
        Ok(())
    }

    /// Reads one watched order on its own and acts on what it shows.
    async fn read_alone(
        &self,
        p: &Purchase,
        order_id: &SupplierOrderId,
        report: &mut PollReport,
    ) -> Result<()> {
        report.single_requests += 1;
        let _ = self
            .store
            .transition(&transitions::checked(p, self.now()), self.now())
            .await?;
        match self.supplier.order(order_id).await {
            Ok(o) if &o.id == order_id => self.observe(p, &o, true, report).await?,
            Ok(_) => {
                tracing::warn!(purchase = p.id, "the supplier answered with another order")
            }
            Err(e) => {
                tracing::warn!(purchase = p.id, error = %e, "could not read a watched order");
            }
        }
        Ok(())
    }

    /// The common pattern, kept only so the benchmark can compare: every
    /// order is read on its own, on its own timer.
    async fn watch_each_order(
        &self,
        watched: &[Purchase],
        pattern: &PerOrder,
        report: &mut PollReport,
    ) -> Result<()> {
        let now = self.now();
        let due: Vec<&Purchase> = {
            let mut timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
            let ids: HashSet<i64> = watched.iter().map(|p| p.id).collect();
            timers.retain(|id, _| ids.contains(id));
            watched
                .iter()
                .filter(|p| {
                    let timer = timers
                        .entry(p.id)
                        .or_insert_with(|| Timer::start(p.id, p.state_since, pattern));
                    timer.due <= now
                })
                .collect()
        };
        for p in due {
            if let Some(order_id) = &p.supplier_order_id {
                self.read_alone(p, order_id, report).await?;
            }
            let now = self.now();
            let mut timers = self.timers.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(timer) = timers.get_mut(&p.id) {
                timer.next(p.id, now, pattern);
            }
        }
        Ok(())
    }

    /// One pass over the newest history, enough pages to cover every
    /// watched order if they are all recent; renews the lease as it goes.
    async fn list_watched(
        &self,
        watched: &[Purchase],
        report: &mut PollReport,
    ) -> HashMap<SupplierOrderId, Order> {
        let mut wanted: HashSet<&SupplierOrderId> = watched
            .iter()
            .filter_map(|p| p.supplier_order_id.as_ref())
            .collect();
        let max_pages =
            u32::try_from(watched.len() / super::history::PAGE as usize + 1).unwrap_or(u32::MAX);
        let mut seen = HashMap::new();
        let walk = self
            .walk_history(max_pages, |row| {
                if let Some(o) = row.order()
                    && wanted.remove(&o.id)
                {
                    seen.insert(o.id.clone(), o.clone());
                    if wanted.is_empty() {
                        return Step::KeepAndStop;
                    }
                }
                Step::Keep
            })
            .await;
        match walk {
            Ok(w) => report.list_requests += w.pages as usize,
            Err(e) => tracing::warn!(error = %e, "poller could not read the order history"),
        }
        let _ = self.hold_poller_lease().await;
        seen
    }

    /// Whether a list row is enough to act on: a terminal order (completed
    /// with all its codes), or one still moving that is not stalling. An
    /// `active` row may be a stale snapshot: only a direct read may say a
    /// paid order is unpaid.
    fn list_answers(&self, p: &Purchase, o: &Order) -> bool {
        match o.status {
            OrderStatus::Completed => o.tally(p.quantity.get()).complete(),
            OrderStatus::Failed | OrderStatus::Cancelled => true,
            OrderStatus::Active => false,
            _ => !self.is_stalling(p),
        }
    }

    fn is_stalling(&self, p: &Purchase) -> bool {
        self.now().saturating_sub(p.state_since) >= millis(self.cfg.stall_alert)
    }

    fn single_check_due(&self, p: &Purchase) -> bool {
        p.last_checked_at
            .is_none_or(|t| self.now().saturating_sub(t) >= millis(self.cfg.single_check()))
    }

    /// Acts on a watched order's status.
    async fn observe(
        &self,
        p: &Purchase,
        order: &Order,
        direct: bool,
        report: &mut PollReport,
    ) -> Result<()> {
        let me = self.cfg.instance_id.clone();
        match &order.status {
            OrderStatus::Completed => {
                report.completed += 1;
                self.complete(&me, p, order, direct).await?;
            }
            OrderStatus::Failed | OrderStatus::Cancelled => {
                report.failed += 1;
                use crate::domain::{Failure, RefundCause, SupplierFailure};
                let kind = if order.status == OrderStatus::Failed {
                    Failure::Failed
                } else {
                    Failure::Cancelled
                };
                let reason = RefundCause::Supplier(SupplierFailure {
                    kind,
                    cancel_reason: None,
                    errors: order.errors(),
                });
                self.refund(&me, p, reason, false).await?;
            }
            // Confirmed unpaid by a direct read: pay was never taken.
            OrderStatus::Active if direct => {
                let t = transitions::order_unpaid(p, &order.id, self.now());
                let _ = self.apply(&me, p, t).await?;
            }
            OrderStatus::Other(s) => self.alert_unknown_status(p, &order.id, s).await?,
            OrderStatus::Active | OrderStatus::Paid | OrderStatus::Processing => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_order_pattern_grows_by_half_to_its_cap_within_its_jitter() {
        let pattern = PerOrder::COMMON;
        let mut timer = Timer::start(42, 0, &pattern);
        assert!((3_500..=6_500).contains(&timer.due), "{}", timer.due);
        let mut now = timer.due;
        let mut expected = 5_000.0_f64;
        for _ in 0..12 {
            timer.next(42, now, &pattern);
            expected = (expected * 1.5).min(30_000.0);
            let wait = (timer.due - now) as f64;
            assert!(
                wait >= expected * 0.7 - 1.0 && wait <= expected * 1.3 + 1.0,
                "waited {wait}, expected {expected} ± 30 %"
            );
            now = timer.due;
        }
        assert_eq!(timer.wait, pattern.cap);
        // Compressed ten times, the same shape.
        let fast = pattern.compressed(10);
        assert_eq!(fast.first, std::time::Duration::from_millis(500));
        assert_eq!(fast.cap, std::time::Duration::from_secs(3));
    }
}
