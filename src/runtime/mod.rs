//! How background work runs, the one way: every worker, poller, sweep and
//! event consumer is a [`Loop`] spawned on the [`Runtime`]. A loop runs its
//! step again and again until the process stops; between steps it waits as
//! the step asks ([`Pace`]), waking early at a commit in this process (which
//! may have made work due) if it listens for them. A loop that holds a role
//! (a lease in the database) works only while it holds it, so one process
//! of several does that work at a time. Every loop beats for `/readyz`
//! ([`health`]), and is started again, with an admin alert, if it panics.
//!
//! The runtime knows no workflow: what a step does is the caller's. It
//! offers the one claim worker over due purchases ([`ClaimWork`],
//! [`claim_turn`]) that the engine, delivery and refunds are, and the one
//! [`backoff`].

pub mod health;

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::{Millis, SharedClock, millis};
use crate::domain::{AlertKind, Args, PurchaseState};
use crate::store::{CorruptRow, Purchase, Store, StoreError};

/// What every loop of this process shares: the database (leases, alerts,
/// the commit signal), the clock, the process's name among replicas, and
/// the signal to stop.
#[derive(Clone)]
pub struct Runtime {
    store: Store,
    clock: SharedClock,
    instance: String,
    stop: watch::Receiver<bool>,
}

/// What a step asks of its loop before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// It did something: more may be due, look again at once.
    Busy,
    /// Nothing was due: wait for the loop's idle time (or the next commit,
    /// if the loop listens for them).
    Idle,
    /// Wait this long, commits or not.
    After(Duration),
}

impl Pace {
    /// Busy if `n` things were done, else idle.
    pub fn worked(n: usize) -> Pace {
        if n > 0 { Pace::Busy } else { Pace::Idle }
    }
}

/// One background loop: its name, how it waits, and the role it holds.
#[derive(Debug, Clone)]
pub struct Loop {
    /// Unique in the process; `<instance>/` is put in front of it.
    name: String,
    idle: Duration,
    wake_on_commit: bool,
    role: Option<Role>,
}

/// A lease one process holds at a time.
#[derive(Debug, Clone)]
struct Role {
    lease: &'static str,
    ttl: Duration,
}

impl Loop {
    /// A worker every process runs: it idles for `idle` or until a commit
    /// in this process, whichever comes first (work another process made
    /// due is found when `idle` runs out).
    pub fn worker(name: impl Into<String>, idle: Duration) -> Loop {
        Loop {
            name: name.into(),
            idle,
            wake_on_commit: true,
            role: None,
        }
    }

    /// Work one process does at a time: the loop holds the lease `lease`
    /// while it works (renewed each turn, kept for three idle times or 30
    /// s, whichever is longer) and gives it back when it stops. It wakes at
    /// commits too; see [`Loop::on_timer`].
    pub fn single_role(lease: &'static str, idle: Duration) -> Loop {
        Loop {
            name: lease.to_owned(),
            idle,
            wake_on_commit: true,
            role: Some(Role {
                lease,
                ttl: (idle * 3).max(Duration::from_secs(30)),
            }),
        }
    }

    /// Shown as `name` (in `/readyz` and the logs) instead of the lease's.
    pub fn named(mut self, name: impl Into<String>) -> Loop {
        self.name = name.into();
        self
    }

    /// Holds the role's lease for `ttl` at each renewal: longer for a step
    /// that may take long, so no other process takes over in the middle.
    pub fn lease_for(mut self, ttl: Duration) -> Loop {
        if let Some(role) = &mut self.role {
            role.ttl = ttl;
        }
        self
    }

    /// Waits out its idle time: commits do not concern it.
    pub fn on_timer(mut self) -> Loop {
        self.wake_on_commit = false;
        self
    }
}

impl Runtime {
    pub fn new(
        store: Store,
        clock: SharedClock,
        instance: impl Into<String>,
        stop: watch::Receiver<bool>,
    ) -> Runtime {
        Runtime {
            store,
            clock,
            instance: instance.into(),
            stop,
        }
    }

    /// A claim worker named `name`: [`claim_turn`] again and again, idling
    /// `idle` (or to the next commit) when nothing was due.
    pub fn claim_worker<W: ClaimWork>(
        &self,
        name: impl Into<String>,
        idle: Duration,
        work: W,
    ) -> JoinHandle<()> {
        self.spawn(Loop::worker(name, idle), move |worker| {
            let work = work.clone();
            async move { claim_turn(&work, &worker).await.map(Pace::worked) }
        })
    }

    /// This process's name among replicas (`INSTANCE_ID`).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The stop signal, for a task that is not a [`Loop`] (a listener).
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.clone()
    }

    /// Starts `spec`'s loop, supervised. `step` gets the loop's full name
    /// (`<instance>/<name>`): claim workers own what they claim under it.
    /// A failed step is logged and counts as idle, so a broken database is
    /// not hammered.
    pub fn spawn<F, Fut, E>(&self, spec: Loop, step: F) -> JoinHandle<()>
    where
        F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Pace, E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        let name = format!("{}/{}", self.instance, spec.name);
        let rt = self.clone();
        self.supervise(name.clone(), move |stop| {
            let (rt, spec, step, name) = (rt.clone(), spec.clone(), step.clone(), name.clone());
            async move { rt.run(spec, name, step, stop).await }
        })
    }

    async fn run<F, Fut, E>(
        &self,
        spec: Loop,
        name: String,
        step: F,
        mut stop: watch::Receiver<bool>,
    ) where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<Pace, E>>,
        E: Display,
    {
        while !*stop.borrow() {
            // Listening before the step: work committed by another task
            // while this one found nothing is not missed until `idle`.
            let committed = self.store.committed();
            tokio::pin!(committed);
            committed.as_mut().enable();
            let pace = match self.hold(&spec).await {
                true => match step(name.clone()).await {
                    Ok(pace) => pace,
                    Err(e) => {
                        tracing::error!(task = %name, error = %e, "step failed; backing off");
                        Pace::Idle
                    }
                },
                false => Pace::Idle,
            };
            health::beat(&name, self.clock.now_ms());
            let wait = match pace {
                Pace::Busy => continue,
                Pace::Idle => spec.idle,
                Pace::After(d) => d,
            };
            let woken = async {
                if spec.wake_on_commit && pace == Pace::Idle {
                    committed.await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = woken => {}
                _ = stop.changed() => {}
            }
        }
        health::retire(&name);
        if let Some(role) = &spec.role
            && let Err(e) = self.store.drop_lease(role.lease, &self.instance).await
        {
            tracing::warn!(task = %name, error = %e, "could not give the lease up");
        }
    }

    /// Whether this process may work the loop's turn: always without a
    /// role; with one, while it holds (takes or renews) the lease.
    async fn hold(&self, spec: &Loop) -> bool {
        let Some(role) = &spec.role else {
            return true;
        };
        let now = self.clock.now_ms();
        match self
            .store
            .hold_lease(role.lease, &self.instance, now, millis(role.ttl))
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(lease = role.lease, error = %e, "could not take the lease");
                false
            }
        }
    }

    /// Runs `task` until the stop signal, starting it again (after a pause,
    /// with an admin alert) if it panics: one bad row must not silently
    /// stop a loop for good.
    pub fn supervise<F, Fut>(&self, name: String, mut task: F) -> JoinHandle<()>
    where
        F: FnMut(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let rt = self.clone();
        tokio::spawn(async move {
            let mut restarts: i64 = 0;
            loop {
                let outcome = tokio::spawn(task(rt.stop.clone())).await;
                let Err(e) = outcome else { return };
                if !e.is_panic() || *rt.stop.borrow() {
                    return;
                }
                restarts += 1;
                rt.report_panic(&name, restarts).await;
                let pause = backoff(
                    Duration::from_millis(200),
                    Duration::from_secs(30),
                    restarts,
                    0,
                );
                tokio::time::sleep(pause).await;
            }
        })
    }

    async fn report_panic(&self, name: &str, restarts: i64) {
        tracing::error!(task = %name, restarts, "task panicked; restarting it");
        let now = self.clock.now_ms();
        let key = format!("worker_panic:{name}:{}", now / 3_600_000);
        let args = Args::new().text("task", name).num("restarts", restarts);
        if let Err(e) = self
            .store
            .raise_alert(AlertKind::WorkerPanic, None, Some(&key), &args, now)
            .await
        {
            tracing::error!(error = %e, "could not raise the panic alert");
        }
    }
}

/// A claim worker's work: which purchases it claims, for how long, and
/// what it does with one. The runtime claims, reports unreadable rows, and
/// loops ([`Runtime::claim_worker`]); engine, delivery and refunds are
/// claim workers.
pub trait ClaimWork: Clone + Send + Sync + 'static {
    type Error: Display + From<StoreError> + Send + 'static;

    /// The store, the states claimed (one owner's:
    /// `PurchaseState::owned_by`) and how long a claim holds.
    fn claims(&self) -> (&Store, &'static [PurchaseState], Duration);

    fn now(&self) -> Millis;

    /// Works one claimed purchase as far as it can go now.
    fn work(
        &self,
        worker: &str,
        p: Purchase,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// One turn of a claim worker: claims one due purchase for `worker` and
/// works it. Returns how many rows it claimed (0 or 1); an unreadable one
/// counts (set aside and reported), so the worker looks again at once.
pub async fn claim_turn<W: ClaimWork>(work: &W, worker: &str) -> Result<usize, W::Error> {
    let (store, states, lease) = work.claims();
    let now = work.now();
    let rows = store
        .claim_due(worker, states, now, millis(lease), 1)
        .await?;
    report_corrupt(store, &rows.corrupt, now).await?;
    let claimed = rows.purchases.len() + rows.corrupt.len();
    for p in rows.purchases {
        work.work(worker, p).await?;
    }
    Ok(claimed)
}

/// Rows a claim or a listing could not read: logged, and reported to the
/// admins once each (never claimed again until a person repairs them).
pub async fn report_corrupt(
    store: &Store,
    corrupt: &[CorruptRow],
    now: Millis,
) -> Result<(), StoreError> {
    for row in corrupt {
        tracing::error!(purchase = row.id, problem = %row.problem, "corrupt purchase row set aside");
        let args = Args::new()
            .num("purchase", row.id)
            .text("problem", row.problem.to_string());
        let key = format!("corrupt:{}", row.id);
        store
            .raise_alert(AlertKind::CorruptRow, Some(row.id), Some(&key), &args, now)
            .await?;
    }
    Ok(())
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

    #[test]
    fn a_step_that_did_something_looks_again_at_once() {
        assert_eq!(Pace::worked(3), Pace::Busy);
        assert_eq!(Pace::worked(0), Pace::Idle);
    }

    #[test]
    fn a_single_role_holds_its_lease_for_three_idle_times_at_least_30_s() {
        let quick = Loop::single_role("x", Duration::from_secs(2));
        assert_eq!(quick.role.map(|r| r.ttl), Some(Duration::from_secs(30)));
        let slow = Loop::single_role("x", Duration::from_secs(60));
        assert_eq!(slow.role.map(|r| r.ttl), Some(Duration::from_secs(180)));
        assert!(Loop::worker("w", Duration::from_secs(1)).role.is_none());
    }
}
