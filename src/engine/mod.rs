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

pub mod admin;
mod history;
pub mod manual;
mod ordering;
mod paying;
mod poller;
mod reconcile;
pub mod reorder;
mod stalls;
pub(crate) mod transitions;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::clock::{Millis, SharedClock, millis};
use crate::config::Config;
use crate::domain::{AlertKind, DeadLetterReason, Money, Owner, PurchaseState, RefundCause};
use crate::foxreload::{FoxReload, SupplierError};
use crate::store::{AttemptState, Cas, Purchase, Store, StoreError, Transition, Tx};

pub use poller::{PerOrder, PollReport, WatchMode};
pub use reconcile::{Candidate, Decision, ScanFacts, decide};

/// The states the engine's workers claim: [`Owner::Engine`]'s, as
/// [`PurchaseState::owner`] says.
pub const ENGINE_STATES: &[PurchaseState] = PurchaseState::owned_by(Owner::Engine);

/// Supplier creates one purchase may start before it is refunded instead.
pub const MAX_CREATES: i64 = 5;

/// Pay requests one linked order may get before a person looks: a supplier
/// that accepts pay but leaves the order `active`, or refuses it as not
/// possible while showing it `active`, is not paid again and again.
pub const MAX_PAYS: i64 = 3;

/// Clean history scans needed, after the settle delay, before an ambiguous
/// create counts as never made.
pub const CLEAN_SCANS_FOR_ABSENT: i64 = 2;

/// The contract: a paid order shows `paid` within this long.
const PAY_LANDS_WITHIN: Duration = Duration::from_secs(5);

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
    /// The supplier client's request timeout: a request on the wire may
    /// reach the supplier until it runs out.
    pub supplier_timeout: Duration,
    /// How paid orders are watched ([`WatchMode::List`] but in benchmarks).
    pub watch: WatchMode,
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
            supplier_timeout: c.foxreload_timeout,
            watch: WatchMode::List,
        }
    }

    /// Longest wait between retries of a failing step.
    fn max_backoff(&self) -> Duration {
        (self.poll_interval * 30).min(Duration::from_secs(60))
    }

    /// Pause between poller cycles: the poll interval, or for the
    /// per-order pattern a tenth of its first wait (each order keeps its
    /// own timer).
    fn poll_tick(&self) -> Duration {
        match self.watch {
            WatchMode::List => self.poll_interval,
            WatchMode::PerOrder(p) => (p.first / 10).max(Duration::from_millis(10)),
        }
    }

    /// How often a held purchase checks whether it can go on.
    fn hold_check(&self) -> Duration {
        (self.poll_interval * 10).min(Duration::from_secs(60))
    }

    /// How often a paid order the list cannot show is fetched on its own.
    fn single_check(&self) -> Duration {
        self.poll_interval * 5
    }

    /// How long after its intent is committed a write may still leave. The
    /// lease covers that plus the request timeout (the configuration keeps
    /// the lease longer than the timeout).
    pub fn send_window(&self) -> Duration {
        let spare = self.lease.saturating_sub(self.supplier_timeout) / 2;
        spare.clamp(Duration::from_millis(100), Duration::from_secs(5))
    }

    /// The last instant a write committed at `at` may reach the supplier.
    pub fn reach_by(&self, at: Millis) -> Millis {
        at.saturating_add(millis(self.send_window() + self.supplier_timeout))
    }

    /// How long after a pay whose outcome we did not see its order is read:
    /// the pay may reach the supplier until [`Self::reach_by`], and the
    /// order shows `paid` within the contract's five seconds after that.
    pub fn pay_settle(&self) -> Duration {
        (self.send_window() + self.supplier_timeout + PAY_LANDS_WITHIN).max(self.poll_interval)
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
    /// Per-order timers ([`WatchMode::PerOrder`] only).
    timers: Mutex<std::collections::HashMap<i64, poller::Timer>>,
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
                timers: Mutex::new(std::collections::HashMap::new()),
            }),
        }
    }

    /// The stall alert threshold (`STALL_ALERT_SECS`).
    pub fn stall_alert(&self) -> Duration {
        self.inner.cfg.stall_alert
    }

    /// Tells idle workers that new work may be due (a purchase was recorded).
    pub fn wake(&self) {
        self.inner.wake.notify_waiters();
    }

    /// Starts the workers and the poller, each restarted if it panics; they
    /// stop when `shutdown` turns true.
    pub fn spawn(&self, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        for n in 0..self.inner.cfg.workers.max(1) {
            let engine = self.clone();
            let name = format!("{}/w{n}", self.inner.cfg.instance_id);
            tasks.push(tokio::spawn(supervise(
                name.clone(),
                self.inner.store.clone(),
                self.inner.clock.clone(),
                shutdown.clone(),
                move |stop| {
                    let engine = engine.clone();
                    let name = name.clone();
                    async move { engine.run_worker(name, stop).await }
                },
            )));
        }
        let engine = self.clone();
        tasks.push(tokio::spawn(supervise(
            format!("{}/poller", self.inner.cfg.instance_id),
            self.inner.store.clone(),
            self.inner.clock.clone(),
            shutdown,
            move |stop| {
                let engine = engine.clone();
                async move { engine.run_poller(stop).await }
            },
        )));
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
            crate::ops::health::beat(&name, self.inner.now());
            if worked == 0 {
                let idle = self.inner.cfg.worker_idle;
                tokio::select! {
                    () = tokio::time::sleep(idle) => {}
                    () = self.inner.wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        crate::ops::health::retire(&name);
        tracing::debug!(worker = %name, "worker stopped");
    }

    /// Claims one due purchase and works it as far as it can go now.
    /// Returns how many purchases were worked (0 or 1).
    pub async fn work_once(&self, worker: &str) -> Result<usize> {
        let inner = &self.inner;
        let now = inner.now();
        let lease = millis(inner.cfg.lease);
        let claim = inner
            .store
            .claim_due(worker, ENGINE_STATES, now, lease, 1)
            .await?;
        inner.report_corrupt(&claim.corrupt).await?;
        let count = claim.purchases.len() + claim.corrupt.len();
        for p in claim.purchases {
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
            crate::ops::health::beat(&format!("{owner}/poller"), self.inner.now());
            tokio::select! {
                () = tokio::time::sleep(self.inner.cfg.poll_tick()) => {}
                _ = shutdown.changed() => {}
            }
        }
        crate::ops::health::retire(&format!("{owner}/poller"));
        let _ = self.inner.store.drop_lease(poller::LEASE, &owner).await;
    }

    /// One poller cycle, if this process holds the poller lease: watches
    /// paid orders, then alerts on (and finally dead-letters) purchases that
    /// have waited too long in any state.
    pub async fn poll_once(&self) -> Result<PollReport> {
        self.inner.poll_once().await
    }
}

/// The dead letter inside `tx`, with its admin alert: what every worker
/// (engine, delivery, refunds) does when a person must look. The purchase's
/// own create still unresolved (`submitting`, `reconciling`) is abandoned
/// in the same transaction, so its signature's lock is released together
/// with the dead letter or not at all. False: the race was lost.
pub(crate) async fn dead_letter_in(
    tx: &mut Tx,
    worker: &str,
    p: &Purchase,
    reason: &DeadLetterReason,
    evidence: Value,
    now: Millis,
) -> std::result::Result<bool, StoreError> {
    let t = transitions::dead_letter(p, reason, evidence).by(worker);
    if !tx.transition(&t, now).await?.applied() {
        return Ok(false);
    }
    if let Some(attempt) = p.current_attempt_id {
        let _ = tx
            .resolve_attempt(
                attempt,
                &[AttemptState::Submitting, AttemptState::Unknown],
                AttemptState::Abandoned,
                None,
                &reason.to_string(),
                now,
            )
            .await?;
    }
    let text = format!("Purchase #{} needs attention: {reason}", p.id);
    let key = format!("dead_letter:{}", p.id);
    tx.raise_alert(AlertKind::DeadLetter, Some(p.id), Some(&key), &text, now)
        .await?;
    Ok(true)
}

/// A worker loop under [`supervise`]: runs `step` (which claims and works
/// what is due, returning how many) until `shutdown`, idling whenever
/// nothing was due or the step failed, until `idle` has passed or another
/// task of this process committed a transaction (which may have made work
/// due: a completed order to deliver). Another process's work is found
/// when `idle` runs out.
pub fn spawn_worker<F, Fut>(
    name: String,
    store: Store,
    clock: SharedClock,
    shutdown: watch::Receiver<bool>,
    idle: Duration,
    step: F,
) -> JoinHandle<()>
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<usize, StoreError>> + Send + 'static,
{
    let task_name = name.clone();
    let watched = store.clone();
    tokio::spawn(supervise(name, store, clock, shutdown, move |mut stop| {
        let step = step.clone();
        let name = task_name.clone();
        let store = watched.clone();
        async move {
            while !*stop.borrow() {
                // Listening before the step: work committed by another task
                // while this one found nothing is not missed until `idle`.
                let committed = store.committed();
                tokio::pin!(committed);
                committed.as_mut().enable();
                let worked = match step(name.clone()).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(task = %name, error = %e, "step failed; backing off");
                        0
                    }
                };
                crate::ops::health::beat(
                    &name,
                    crate::clock::Clock::now_ms(&crate::clock::SystemClock),
                );
                if worked == 0 {
                    tokio::select! {
                        () = tokio::time::sleep(idle) => {}
                        () = committed => {}
                        _ = stop.changed() => {}
                    }
                }
            }
            crate::ops::health::retire(&name);
        }
    }))
}

/// Runs `task` until `shutdown`, starting it again (after a pause, with an
/// admin alert) if it panics: one bad purchase must not silently stop a
/// worker for good.
pub async fn supervise<F, Fut>(
    name: String,
    store: Store,
    clock: SharedClock,
    shutdown: watch::Receiver<bool>,
    mut task: F,
) where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut restarts: i64 = 0;
    loop {
        let outcome = tokio::spawn(task(shutdown.clone())).await;
        let Err(e) = outcome else { return };
        if !e.is_panic() || *shutdown.borrow() {
            return;
        }
        restarts += 1;
        tracing::error!(task = %name, restarts, "task panicked; restarting it");
        let now = clock.now_ms();
        let key = format!("worker_panic:{name}:{}", now / 3_600_000);
        let text = format!("{name} panicked and was restarted ({restarts} so far). See the logs.");
        if let Err(e) = store
            .raise_alert(AlertKind::WorkerPanic, None, Some(&key), &text, now)
            .await
        {
            tracing::error!(error = %e, "could not raise the panic alert");
        }
        tokio::time::sleep(backoff(
            Duration::from_millis(200),
            Duration::from_secs(30),
            restarts,
            0,
        ))
        .await;
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
    async fn next_after(&self, worker: &str, id: i64, fence: i64) -> Result<Next> {
        let Some(p) = self.store.purchase(id).await? else {
            return Ok(Next::Stop);
        };
        let ours = p.lease_owner.as_deref() == Some(worker) && p.fence == fence;
        if ours && p.state.owner() == Owner::Engine && p.next_action_at <= self.now() {
            Ok(Next::Continue(Box::new(p)))
        } else {
            Ok(Next::Stop)
        }
    }

    /// Applies a transition on its own; on a lost race, stops quietly.
    async fn apply(&self, worker: &str, p: &Purchase, t: Transition) -> Result<Next> {
        let t = t.by(worker);
        match self.store.transition(&t, self.now()).await? {
            Cas::Applied => self.next_after(worker, p.id, p.fence).await,
            Cas::LostRace => {
                tracing::info!(purchase = p.id, from = %t.from, to = %t.to, "lost a race; another worker owns it");
                Ok(Next::Stop)
            }
        }
    }

    /// Keeps the state and tries again at `at`, giving the lease back.
    async fn reschedule(&self, worker: &str, p: &Purchase, at: Millis, why: &str) -> Result<Next> {
        self.apply(worker, p, transitions::reschedule(p, at, why))
            .await
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

    /// A supplier read, tried again if it fails for a passing reason
    /// ([`supplier_read`]).
    async fn read<T, F, Fut>(&self, call: F) -> std::result::Result<T, SupplierError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, SupplierError>>,
    {
        supplier_read(call).await
    }

    /// Exponential in the number of claims, with a per-purchase spread, capped.
    fn backoff(&self, p: &Purchase) -> Duration {
        backoff(
            self.cfg.poll_interval,
            self.cfg.max_backoff(),
            p.fence,
            p.id,
        )
    }

    /// Renews the lease before a slow step; false if it is no longer ours.
    async fn keep_lease(&self, worker: &str, p: &Purchase) -> Result<bool> {
        let until = self.after(self.cfg.lease);
        Ok(self.store.renew_lease(p, worker, until).await?.applied())
    }

    /// Sends the purchase to the refund path (Stars go back to the buyer).
    async fn refund(
        &self,
        worker: &str,
        p: &Purchase,
        reason: RefundCause,
        alert: bool,
    ) -> Result<Next> {
        let now = self.now();
        let t = transitions::refund_needed(p, &reason, now).by(worker);
        let mut tx = self.store.begin().await?;
        if !tx.transition(&t, now).await?.applied() {
            return Ok(Next::Stop);
        }
        if alert {
            let text = format!("Purchase #{} will be refunded: {reason}", p.id);
            let key = format!("refund:{}", p.id);
            tx.raise_alert(AlertKind::Refund, Some(p.id), Some(&key), &text, now)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(purchase = p.id, reason = %reason, "purchase goes to refund");
        Ok(Next::Stop)
    }

    /// Gives up: a person must look. Admins are alerted; `/stalled` shows it.
    async fn dead_letter(
        &self,
        worker: &str,
        p: &Purchase,
        reason: DeadLetterReason,
        evidence: Value,
    ) -> Result<Next> {
        let mut tx = self.store.begin().await?;
        if !self
            .dead_letter_in(&mut tx, worker, p, &reason, evidence)
            .await?
        {
            return Ok(Next::Stop);
        }
        tx.commit().await?;
        tracing::warn!(purchase = p.id, reason = %reason, "purchase dead-lettered");
        Ok(Next::Stop)
    }

    /// [`dead_letter_in`] at the engine's clock.
    async fn dead_letter_in(
        &self,
        tx: &mut Tx,
        worker: &str,
        p: &Purchase,
        reason: &DeadLetterReason,
        evidence: Value,
    ) -> Result<bool> {
        Ok(dead_letter_in(tx, worker, p, reason, evidence, self.now()).await?)
    }

    /// Raises an admin alert at most once per `key`.
    async fn alert(&self, kind: AlertKind, p: Option<i64>, key: &str, text: &str) -> Result<()> {
        if self
            .store
            .raise_alert(kind, p, Some(key), text, self.now())
            .await?
        {
            tracing::warn!(kind = kind.as_str(), purchase = ?p, "{text}");
        }
        Ok(())
    }

    /// Rows that could not be read: set aside (never claimed again until a
    /// person repairs them) and reported once each.
    async fn report_corrupt(&self, corrupt: &[crate::store::CorruptRow]) -> Result<()> {
        Ok(report_corrupt(&self.store, corrupt, self.now()).await?)
    }
}

/// Rows a claim or a listing could not read: logged, and reported to the
/// admins once each (every worker that claims purchases calls this).
pub(crate) async fn report_corrupt(
    store: &Store,
    corrupt: &[crate::store::CorruptRow],
    now: Millis,
) -> std::result::Result<(), StoreError> {
    for row in corrupt {
        tracing::error!(purchase = row.id, problem = %row.problem, "corrupt purchase row set aside");
        let text = format!(
            "Purchase #{} cannot be read ({}); it is set aside until repaired.",
            row.id, row.problem
        );
        let key = format!("corrupt:{}", row.id);
        store
            .raise_alert(AlertKind::CorruptRow, Some(row.id), Some(&key), &text, now)
            .await?;
    }
    Ok(())
}

/// Runs a supplier read, trying again (twice, briefly) if it fails for a
/// passing reason: reads change nothing, so they may be repeated. A 429
/// needs no extra wait here: the budget already holds every caller.
pub async fn supplier_read<T, F, Fut>(mut call: F) -> std::result::Result<T, SupplierError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, SupplierError>>,
{
    const TRIES: i64 = 3;
    let mut tries = 1;
    loop {
        match call().await {
            Err(SupplierError::RetryLater { .. }) if tries < TRIES => {
                let pause = backoff(Duration::from_millis(100), Duration::from_secs(1), tries, 0);
                tokio::time::sleep(pause).await;
                tries += 1;
            }
            outcome => return outcome,
        }
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
