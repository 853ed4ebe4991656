//! Watching paid supplier orders cheaply.
//!
//! The usual pattern polls each order on its own (5 s, ×1.5, up to 30 s):
//! it spends most of the supplier's ~100 calls a minute and still reacts
//! late (the benchmark runs it through [`Watch`] to compare). Here one process (holding the poller lease) reads the order history
//! newest first: one request covers every order in flight. An order the list
//! cannot show (history lag, or older than the pages read) is fetched on its
//! own, at most every few poll intervals. Orders running too long alert the
//! admins, and past the dead-letter threshold need a person.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::history::Step;
use super::{Inner, Result, transitions};
use crate::clock::{BoxFuture, Millis, millis};
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

/// How one poller cycle watches the purchases waiting on their paid
/// supplier orders. The product reads the order list ([`ListWatch`]); the
/// seam is there so the benchmark can run the common per-order pattern on
/// the same engine and compare the two.
pub trait Watch: Send + Sync + std::fmt::Debug {
    /// The pause between poller cycles, given the configured poll interval.
    fn tick(&self, poll_interval: Duration) -> Duration;

    /// Looks at `watched` (oldest first) and acts on what the supplier
    /// shows for each.
    fn cycle<'a>(
        &'a self,
        poller: Poller<'a>,
        watched: &'a [Purchase],
        report: &'a mut PollReport,
    ) -> BoxFuture<'a, Result<()>>;
}

/// The product's watch: one history request per cycle covers every order
/// in flight; an order the list cannot answer for is read alone, a few per
/// cycle.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListWatch;

impl Watch for ListWatch {
    fn tick(&self, poll_interval: Duration) -> Duration {
        poll_interval
    }

    fn cycle<'a>(
        &'a self,
        poller: Poller<'a>,
        watched: &'a [Purchase],
        report: &'a mut PollReport,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(poller.0.watch_by_list(watched, report))
    }
}

/// The engine as a [`Watch`] sees it during one cycle: its clock, and
/// reading one order on its own.
#[derive(Clone, Copy)]
pub struct Poller<'a>(&'a Inner);

impl Poller<'_> {
    pub fn now(&self) -> Millis {
        self.0.now()
    }

    /// Reads `p`'s order on its own and acts on what it shows; a purchase
    /// with no linked order is left alone.
    pub async fn read_alone(&self, p: &Purchase, report: &mut PollReport) -> Result<()> {
        match &p.supplier_order_id {
            Some(order_id) => self.0.read_alone(p, order_id, report).await,
            None => Ok(()),
        }
    }
}

impl Inner {
    /// Takes or renews the poller lease; false if another process holds it.
    async fn hold_poller_lease(&self) -> Result<bool> {
        let ttl = millis((self.cfg.poll_interval * 3).max(Duration::from_secs(10)));
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
        self.cfg.watch.cycle(Poller(self), &watched, report).await
    }

    /// [`ListWatch`]'s cycle.
    async fn watch_by_list(&self, watched: &[Purchase], report: &mut PollReport) -> Result<()> {
        if watched.is_empty() {
            return Ok(());
        }
        let mut seen = self.list_watched(watched, report).await;

        // Orders the list cannot answer for are read alone: the longest
        // unchecked first, a few per cycle.
        let mut singles: Vec<&Purchase> = Vec::new();
        for p in watched {
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
