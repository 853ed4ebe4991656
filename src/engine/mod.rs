//! The purchase engine: turns each paid purchase into exactly one paid
//! supplier order.
//!
//! Workers claim due purchases under a lease and move each through the state
//! machine, one transaction per step, never calling the supplier inside a
//! transaction: record the intent to call, call, record the outcome. Every
//! transition is a compare-and-set on `(id, state, attempt)`; losing one
//! means another worker owns the purchase now, and the loser stops.
//!
//! - `ordering`: creating a supplier order safely (`submitting`)
//! - `reconcile`: deciding an ambiguous create from the supplier's history
//! - `paying`: paying the linked order once, and holds (balance, key)
//! - `poller`: watching every paid order with one list request
//!
//! Delivering codes and refunding Stars (`delivering`, `refunding`) are
//! claimed by the delivery workers, not here.

pub mod manual;
mod ordering;
mod paying;
mod poller;
mod reconcile;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::clock::{Millis, SharedClock, millis};
use crate::config::Config;
use crate::domain::{Money, PurchaseState};
use crate::foxreload::{FoxReload, SupplierError};
use crate::store::{Cas, Change, Purchase, Store, StoreError, Transition};

pub use poller::PollReport;
pub use reconcile::{Candidate, Decision, decide};

/// The states the engine's workers claim.
pub const ENGINE_STATES: &[PurchaseState] = &[
    PurchaseState::Ordering,
    PurchaseState::Submitting,
    PurchaseState::Reconciling,
    PurchaseState::Ordered,
    PurchaseState::Paying,
    PurchaseState::OnHold,
];

/// Supplier creates one purchase may start before it is refunded instead.
pub const MAX_CREATES: i64 = 5;

/// Clean history scans needed, after the settle delay, before an ambiguous
/// create counts as never made.
pub const CLEAN_SCANS_FOR_ABSENT: i64 = 2;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub lease: Duration,
    pub settle_delay: Duration,
    pub poll_interval: Duration,
    pub stall_alert: Duration,
    pub stall_dead: Duration,
    pub balance_wait: Duration,
    pub price_tolerance_percent: Decimal,
    pub workers: usize,
    pub worker_idle: Duration,
    pub reconcile_max_pages: u32,
    pub instance_id: String,
}

impl EngineConfig {
    pub fn from_config(c: &Config) -> Self {
        EngineConfig {
            lease: c.lease,
            settle_delay: c.settle_delay,
            poll_interval: c.poll_interval,
            stall_alert: c.stall_alert,
            stall_dead: c.stall_dead,
            balance_wait: c.balance_wait,
            price_tolerance_percent: c.price_tolerance_percent,
            workers: c.workers,
            worker_idle: c.worker_idle,
            reconcile_max_pages: c.reconcile_max_pages,
            instance_id: c.instance_id.clone(),
        }
    }

    /// Longest wait between retries of a failing step.
    fn max_backoff(&self) -> Duration {
        (self.poll_interval * 30).min(Duration::from_secs(60))
    }

    /// How often a held purchase checks whether it can go on.
    fn hold_check(&self) -> Duration {
        (self.poll_interval * 10).min(Duration::from_secs(60))
    }

    /// How often a paid order the list cannot show is fetched on its own.
    fn single_check(&self) -> Duration {
        self.poll_interval * 5
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = EngineError> = std::result::Result<T, E>;

/// What a worker does after a step.
#[derive(Debug)]
enum Next {
    /// The purchase is still ours and due now: take the next step.
    Continue(Box<Purchase>),
    /// It was rescheduled, handed on, or taken by someone else.
    Stop,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    supplier: FoxReload,
    clock: SharedClock,
    cfg: EngineConfig,
    wake: Notify,
    balance: Mutex<Option<(Millis, Money)>>,
}

impl Engine {
    pub fn new(store: Store, supplier: FoxReload, clock: SharedClock, cfg: EngineConfig) -> Self {
        Engine {
            inner: Arc::new(Inner {
                store,
                supplier,
                clock,
                cfg,
                wake: Notify::new(),
                balance: Mutex::new(None),
            }),
        }
    }

    /// Tells idle workers that new work may be due (a purchase was recorded).
    pub fn wake(&self) {
        self.inner.wake.notify_waiters();
    }

    /// Starts the workers and the poller; they stop when `shutdown` turns true.
    pub fn spawn(&self, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        for n in 0..self.inner.cfg.workers.max(1) {
            let engine = self.clone();
            let stop = shutdown.clone();
            let name = format!("{}/w{n}", self.inner.cfg.instance_id);
            tasks.push(tokio::spawn(
                async move { engine.run_worker(name, stop).await },
            ));
        }
        let engine = self.clone();
        tasks.push(tokio::spawn(
            async move { engine.run_poller(shutdown).await },
        ));
        tasks
    }

    async fn run_worker(&self, name: String, mut shutdown: watch::Receiver<bool>) {
        tracing::debug!(worker = %name, "worker started");
        while !*shutdown.borrow() {
            let worked = match self.work_once(&name).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(worker = %name, error = %e, "worker step failed; backing off");
                    0
                }
            };
            if worked == 0 {
                let idle = self.inner.cfg.worker_idle;
                tokio::select! {
                    () = tokio::time::sleep(idle) => {}
                    () = self.inner.wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        tracing::debug!(worker = %name, "worker stopped");
    }

    /// Claims one due purchase and works it as far as it can go now.
    /// Returns how many purchases were worked (0 or 1).
    pub async fn work_once(&self, worker: &str) -> Result<usize> {
        let inner = &self.inner;
        let now = inner.now();
        let lease = millis(inner.cfg.lease);
        let claimed = inner
            .store
            .claim_due(worker, ENGINE_STATES, now, lease, 1)
            .await?;
        let count = claimed.len();
        for p in claimed {
            inner.work(worker, p).await?;
        }
        Ok(count)
    }

    async fn run_poller(&self, mut shutdown: watch::Receiver<bool>) {
        let owner = self.inner.cfg.instance_id.clone();
        while !*shutdown.borrow() {
            if let Err(e) = self.poll_once().await {
                tracing::error!(error = %e, "poller cycle failed");
            }
            tokio::select! {
                () = tokio::time::sleep(self.inner.cfg.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        let _ = self.inner.store.drop_lease(poller::LEASE, &owner).await;
    }

    /// One poller cycle, if this process holds the poller lease.
    pub async fn poll_once(&self) -> Result<PollReport> {
        self.inner.poll_once().await
    }
}

impl Inner {
    fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    fn after(&self, d: Duration) -> Millis {
        self.now().saturating_add(millis(d))
    }

    /// Works one claimed purchase step by step while it stays ours and due.
    async fn work(&self, worker: &str, mut p: Purchase) -> Result<()> {
        // A bound on steps per claim, so a bug can never spin forever.
        for _ in 0..32 {
            let next = match p.state {
                PurchaseState::Ordering => self.start_create(worker, &p).await?,
                PurchaseState::Submitting => self.resume_submitting(worker, &p).await?,
                PurchaseState::Reconciling => self.reconcile(worker, &p).await?,
                PurchaseState::Ordered | PurchaseState::Paying => self.pay(worker, &p).await?,
                PurchaseState::OnHold => self.check_hold(worker, &p).await?,
                _ => Next::Stop,
            };
            match next {
                Next::Continue(q) => p = *q,
                Next::Stop => return Ok(()),
            }
        }
        tracing::warn!(purchase = p.id, state = %p.state, "too many steps in one claim; releasing");
        self.reschedule(worker, &p, self.now(), "step limit")
            .await?;
        Ok(())
    }

    /// After an applied transition: go on if the purchase is still ours,
    /// in an engine state, and due.
    async fn next_after(&self, worker: &str, id: i64, attempt: i64) -> Result<Next> {
        let Some(p) = self.store.purchase(id).await? else {
            return Ok(Next::Stop);
        };
        let ours = p.lease_owner.as_deref() == Some(worker) && p.attempt == attempt;
        if ours && ENGINE_STATES.contains(&p.state) && p.next_action_at <= self.now() {
            Ok(Next::Continue(Box::new(p)))
        } else {
            Ok(Next::Stop)
        }
    }

    /// Applies a transition on its own; on a lost race, stops quietly.
    async fn apply(&self, worker: &str, p: &Purchase, t: Transition) -> Result<Next> {
        let t = t.by(worker);
        match self.store.transition(&t, self.now()).await? {
            Cas::Applied => self.next_after(worker, p.id, p.attempt).await,
            Cas::LostRace => {
                tracing::info!(purchase = p.id, from = %t.from, to = %t.to, "lost a race; another worker owns it");
                Ok(Next::Stop)
            }
        }
    }

    /// Keeps the state and tries again at `at`, giving the lease back.
    async fn reschedule(&self, worker: &str, p: &Purchase, at: Millis, why: &str) -> Result<Next> {
        let t = Transition::of(p, p.state, "reschedule")
            .set(Change::NextActionAt(at))
            .set(Change::LastError(Some(why.to_owned())))
            .set(Change::ReleaseLease)
            .quiet();
        self.apply(worker, p, t).await
    }

    /// A step failed for a passing reason: back off and retry.
    async fn retry_later(&self, worker: &str, p: &Purchase, e: &SupplierError) -> Result<Next> {
        let wait = match e {
            SupplierError::RetryLater {
                retry_after: Some(d),
                ..
            } => *d,
            _ => self.backoff(p),
        };
        self.reschedule(worker, p, self.after(wait), &e.to_string())
            .await
    }

    /// Runs a supplier read, trying again (twice, briefly) if it fails for a
    /// passing reason: reads change nothing, so they may be repeated. A 429
    /// needs no extra wait here: the budget already holds every caller.
    async fn read<T, F, Fut>(&self, mut call: F) -> std::result::Result<T, SupplierError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, SupplierError>>,
    {
        const TRIES: i64 = 3;
        let mut tries = 1;
        loop {
            match call().await {
                Err(SupplierError::RetryLater { .. }) if tries < TRIES => {
                    let pause =
                        backoff(Duration::from_millis(100), Duration::from_secs(1), tries, 0);
                    tokio::time::sleep(pause).await;
                    tries += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// Exponential in the number of claims, with a per-purchase spread, capped.
    fn backoff(&self, p: &Purchase) -> Duration {
        backoff(
            self.cfg.poll_interval,
            self.cfg.max_backoff(),
            p.attempt,
            p.id,
        )
    }

    /// Renews the lease before a slow step; false if it is no longer ours.
    async fn keep_lease(&self, worker: &str, p: &Purchase) -> Result<bool> {
        let until = self.after(self.cfg.lease);
        Ok(self.store.renew_lease(p, worker, until).await?.applied())
    }

    /// Sends the purchase to the refund path (Stars go back to the buyer).
    async fn refund(&self, worker: &str, p: &Purchase, reason: &str, alert: bool) -> Result<Next> {
        let now = self.now();
        let t = Transition::of(p, PurchaseState::Refunding, "refund_needed")
            .set(Change::LastError(Some(reason.to_owned())))
            .set(Change::NextActionAt(now))
            .set(Change::ReleaseLease)
            .detail(json!({ "reason": reason }))
            .by(worker);
        let mut tx = self.store.begin().await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        if alert {
            let text = format!("Purchase #{} will be refunded: {reason}", p.id);
            let key = format!("refund:{}", p.id);
            tx.raise_alert("refund", Some(p.id), Some(&key), &text, now)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(purchase = p.id, reason, "purchase goes to refund");
        Ok(Next::Stop)
    }

    /// Gives up: a person must look. Admins are alerted; `/stalled` shows it.
    async fn dead_letter(
        &self,
        worker: &str,
        p: &Purchase,
        reason: &str,
        evidence: Value,
    ) -> Result<Next> {
        let now = self.now();
        let t = Transition::of(p, PurchaseState::DeadLetter, "dead_letter")
            .set(Change::LastError(Some(reason.to_owned())))
            .detail(json!({ "reason": reason, "evidence": evidence }))
            .by(worker);
        let mut tx = self.store.begin().await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        let text = format!("Purchase #{} needs attention: {reason}", p.id);
        let key = format!("dead_letter:{}", p.id);
        tx.raise_alert("dead_letter", Some(p.id), Some(&key), &text, now)
            .await?;
        tx.commit().await?;
        tracing::warn!(purchase = p.id, reason, "purchase dead-lettered");
        Ok(Next::Stop)
    }

    /// Raises an admin alert at most once per `key`.
    async fn alert(&self, kind: &str, p: Option<i64>, key: &str, text: &str) -> Result<()> {
        if self
            .store
            .raise_alert(kind, p, Some(key), text, self.now())
            .await?
        {
            tracing::warn!(kind, purchase = ?p, "{text}");
        }
        Ok(())
    }
}

/// The one backoff: `base × 2^(n-1)`, capped at `max`, spread by up to a
/// quarter from `salt` so retries of many purchases do not line up.
pub fn backoff(base: Duration, max: Duration, n: i64, salt: i64) -> Duration {
    let exp = u32::try_from(n.clamp(1, 20) - 1).unwrap_or(0);
    let raw = base.saturating_mul(1u32 << exp).min(max);
    let spread = (salt.unsigned_abs() % 25) as u32; // 0..24 percent
    (raw + raw * spread / 100).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(3);
        assert_eq!(backoff(base, max, 1, 0), base);
        assert_eq!(backoff(base, max, 3, 0), Duration::from_millis(400));
        assert_eq!(backoff(base, max, 30, 7), max);
        assert!(backoff(base, max, 2, 20) > Duration::from_millis(200));
        assert!(backoff(base, max, i64::MIN, i64::MIN) >= base);
    }
}
