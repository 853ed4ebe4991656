//! The HTTP listener (`HTTP_ADDR`): `/metrics` in Prometheus text format,
//! `/healthz` (the process is alive), `/readyz` (the database answers, this
//! process's workers are ticking, its bot is taking Telegram's updates, the
//! supplier answered recently).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::{Millis, SharedClock, millis};
use crate::foxreload::FoxReload;
use crate::store::Store;

/// A worker that has not finished a cycle for this long is stuck.
const WORKER_SILENCE: Duration = Duration::from_secs(120);
/// The supplier is called at least at every catalog sync (10 minutes);
/// silence for this long means it stopped answering.
const SUPPLIER_SILENCE: Duration = Duration::from_secs(30 * 60);
const DB_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct HttpState {
    pub store: Store,
    pub supplier: FoxReload,
    pub clock: SharedClock,
    pub instance: String,
    pub started_at: Millis,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready, or 503 with one line per failing check.
async fn readyz(State(s): State<HttpState>) -> impl IntoResponse {
    let now = s.clock.now_ms();
    let mut failing = Vec::new();
    match tokio::time::timeout(DB_TIMEOUT, s.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => failing.push("database: not answering".to_owned()),
        Err(_) => failing.push("database: no answer within 2 s".to_owned()),
    }
    let stale = crate::runtime::health::stale(&s.instance, now, millis(WORKER_SILENCE));
    if !stale.is_empty() {
        failing.push(format!("workers not ticking: {}", stale.join(", ")));
    }
    if let Some(problem) = crate::runtime::health::listener_problem(&s.instance, now) {
        failing.push(problem);
    }
    let silence = millis(SUPPLIER_SILENCE);
    let heard = s.supplier.last_answer_ms().unwrap_or(s.started_at);
    if now.saturating_sub(heard) > silence {
        failing.push("supplier: no answer for 30 minutes".to_owned());
    }
    if failing.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{}\n", failing.join("\n")),
        )
    }
}

async fn metrics(State(s): State<HttpState>) -> impl IntoResponse {
    let handle = crate::telemetry::metrics::handle();
    if let Err(e) = crate::telemetry::metrics::refresh_gauges(&s.store).await {
        tracing::warn!(error = %e, "metrics: purchase counts not read");
    }
    let budget = s.supplier.budget();
    crate::telemetry::metrics::budget(
        budget.used_in_window(),
        budget.rate(),
        budget.writes_waiting(),
    );
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}

/// Binds `addr` and serves until `shutdown`. Returns the bound address
/// (the real port when 0 was asked).
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("HTTP_ADDR: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "the HTTP listener failed");
        }
    });
    tracing::info!(address = %bound, "serving /metrics, /healthz and /readyz");
    Ok((bound, task))
}
