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
use tokio::task::JoinHandle;

use crate::clock::{Millis, SharedClock, millis};
use crate::config::Config;
use crate::domain::{
    AlertKind, Args, DeadLetterReason, Money, Owner, Phrase, PurchaseState, RefundCause,
};
use crate::foxreload::{FoxReload, SupplierError};
use crate::runtime::{self, ClaimWork, Loop, Pace, Runtime, backoff};
use crate::store::{AttemptState, Cas, Purchase, Store, StoreError, Transition, Tx};

pub use poller::{ListWatch, PollReport, Poller, Watch};
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
    /// How paid orders are watched: [`ListWatch`] but in benchmarks.
    pub watch: Arc<dyn Watch>,
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
            watch: Arc::new(ListWatch),
        }
    }

    /// Longest wait between retries of a failing step.
    fn max_backoff(&self) -> Duration {
        (self.poll_interval * 30).min(Duration::from_secs(60))
    }

    /// Pause between poller cycles, as the watch wants it.
    fn poll_tick(&self) -> Duration {
        self.watch.tick(self.poll_interval)
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
                balance: Mutex::new(None),
            }),
        }
    }

    /// The stall alert threshold (`STALL_ALERT_SECS`).
    pub fn stall_alert(&self) -> Duration {
        self.inner.cfg.stall_alert
    }

    /// How long a hold waits before a refund (`BALANCE_WAIT_SECS`).
    pub fn balance_wait(&self) -> Duration {
        self.inner.cfg.balance_wait
    }

    /// Starts the workers and the poller on `rt`; they stop with it.
    pub fn spawn(&self, rt: &Runtime) -> Vec<JoinHandle<()>> {
        let cfg = &self.inner.cfg;
        let mut tasks: Vec<JoinHandle<()>> = (0..cfg.workers.max(1))
            .map(|n| {
                let engine = self.clone();
                rt.spawn(
                    Loop::worker(format!("w{n}"), cfg.worker_idle),
                    move |name| {
                        let engine = engine.clone();
                        async move { engine.work_once(&name).await.map(Pace::worked) }
                    },
                )
            })
            .collect();
        // The poller renews its lease inside each cycle too (a cycle may run
        // long), as the engine's instance: the loop must hold it as the same.
        debug_assert_eq!(rt.instance(), cfg.instance_id, "one instance id");
        let engine = self.clone();
        let poller = Loop::single_role(poller::LEASE, cfg.poll_tick())
            .lease_for((cfg.poll_interval * 3).max(Duration::from_secs(10)))
            .on_timer();
        tasks.push(rt.spawn(poller, move |_| {
            let engine = engine.clone();
            async move { engine.poll_once().await.map(|_| Pace::Idle) }
        }));
        tasks
    }

    /// Claims one due purchase and works it as far as it can go now.
    /// Returns how many purchases were claimed (0 or 1).
    pub async fn work_once(&self, worker: &str) -> Result<usize> {
        runtime::claim_turn(self, worker).await
    }

    /// One poller cycle, if this process holds the poller lease: watches
    /// paid orders, then alerts on (and finally dead-letters) purchases that
    /// have waited too long in any state.
    pub async fn poll_once(&self) -> Result<PollReport> {
        self.inner.poll_once().await
    }
}

impl ClaimWork for Engine {
    type Error = EngineError;

    fn claims(&self) -> (&Store, &'static [PurchaseState], Duration) {
        (&self.inner.store, ENGINE_STATES, self.inner.cfg.lease)
    }

    fn now(&self) -> Millis {
        self.inner.now()
    }

    async fn work(&self, worker: &str, p: Purchase) -> Result<()> {
        self.inner.work(worker, p).await
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
    let args = Args::new()
        .num("purchase", p.id)
        .phrase("reason", reason.phrase());
    let key = format!("dead_letter:{}", p.id);
    tx.raise_alert(AlertKind::DeadLetter, Some(p.id), Some(&key), &args, now)
        .await?;
    Ok(true)
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
            let outcome = Phrase::new("alert-refund-stars")
                .num("purchase", p.id)
                .phrase("reason", reason.phrase());
            let args = Args::new().phrase("outcome", outcome);
            let key = format!("refund:{}", p.id);
            tx.raise_alert(AlertKind::Refund, Some(p.id), Some(&key), &args, now)
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
    async fn alert(&self, kind: AlertKind, p: Option<i64>, key: &str, args: &Args) -> Result<()> {
        if self
            .store
            .raise_alert(kind, p, Some(key), args, self.now())
            .await?
        {
            tracing::warn!(kind = kind.as_str(), purchase = ?p, args = %args.to_json(), "admin alert raised");
        }
        Ok(())
    }

    /// Rows that could not be read: set aside (never claimed again until a
    /// person repairs them) and reported once each.
    async fn report_corrupt(&self, corrupt: &[crate::store::CorruptRow]) -> Result<()> {
        Ok(runtime::report_corrupt(&self.store, corrupt, self.now()).await?)
    }
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
