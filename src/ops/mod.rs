//! Running it for real: metrics (every name in `metrics`), the HTTP
//! listener (`/metrics`, `/healthz`, `/readyz`), liveness heartbeats, and
//! the incidents pushed to the admin chats, the ledger audit, and the
//! reports the admin commands read.

pub mod audit;
pub mod health;
pub mod http;
pub mod incidents;
pub mod metrics;
pub mod reports;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::{SharedClock, millis};
use crate::store::Store;

/// A task one process runs at a time (the alert pusher, the progress
/// messages, the metrics counter, the incident watcher): it holds the
/// database lease `role` while it works, beats for `/readyz`, is restarted
/// if it panics, and gives the lease back when it stops. `step` returns how
/// much it did; with nothing done it idles for `idle`, or (if
/// `wake_on_commit`) until a commit in this process may have given it work.
#[allow(clippy::too_many_arguments)] // each is one plain setting of the role
pub fn spawn_single_role<F, Fut>(
    role: &'static str,
    store: Store,
    clock: SharedClock,
    instance: String,
    idle: Duration,
    wake_on_commit: bool,
    shutdown: watch::Receiver<bool>,
    step: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<usize>> + Send + 'static,
{
    let name = format!("{instance}/{role}");
    let ttl = millis((idle * 3).max(Duration::from_secs(30)));
    let (task_store, task_clock) = (store.clone(), clock.clone());
    tokio::spawn(crate::engine::supervise(
        name.clone(),
        store,
        clock,
        shutdown,
        move |mut stop| {
            let (store, clock, step) = (task_store.clone(), task_clock.clone(), step.clone());
            let (name, instance) = (name.clone(), instance.clone());
            async move {
                while !*stop.borrow() {
                    let committed = store.committed();
                    tokio::pin!(committed);
                    committed.as_mut().enable();
                    let mut worked = 0;
                    match store.hold_lease(role, &instance, clock.now_ms(), ttl).await {
                        Ok(true) => match step().await {
                            Ok(n) => worked = n,
                            Err(e) => tracing::warn!(role, error = %e, "step failed; trying again"),
                        },
                        Ok(false) => {}
                        Err(e) => tracing::warn!(role, error = %e, "could not take the lease"),
                    }
                    health::beat(&name, clock.now_ms());
                    if worked == 0 {
                        let woken = async {
                            if wake_on_commit {
                                committed.await;
                            } else {
                                std::future::pending::<()>().await;
                            }
                        };
                        tokio::select! {
                            () = tokio::time::sleep(idle) => {}
                            () = woken => {}
                            _ = stop.changed() => {}
                        }
                    }
                }
                health::retire(&name);
                let _ = store.drop_lease(role, &instance).await;
            }
        },
    ))
}
