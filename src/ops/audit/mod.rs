//! The ledger audit (`foxbot audit`, `/audit`): every Star charge in a
//! period ends in exactly one of delivered, refunded, in progress or
//! anomaly; every supplier debit belongs to exactly one purchase that was
//! delivered, refunded or is in progress, or it is an anomaly.
//!
//! [`classify`](fn@classify) is a pure function over [`Facts`];
//! [`gather`](fn@gather) reads them (Telegram's star transactions through a
//! [`StarLedger`] the bot layer implements, the supplier's order history as
//! a low-priority reader in the shared budget, and our tables);
//! [`render`](fn@render) words a [`Report`] from the Fluent files; [`run`]
//! does all three and sets `foxbot_ledger_anomalies`.
//!
//! The files follow those seams:
//! - `facts`: what is judged, as plain values; `report`: what was found.
//! - `gather` and `supplier`: every read (the only I/O).
//! - `classify`: the judgement, put together from `purchases` (a delivered
//!   purchase's own checks), `charges` (one rule per kind of finding about
//!   a Star charge) and `debits` (each supplier debit and the spend).
//! - `render`: the report for people, one helper per section.

mod charges;
mod classify;
mod debits;
mod facts;
mod gather;
mod purchases;
mod render;
mod report;
mod supplier;

use std::time::Duration;

use rust_decimal::Decimal;

use crate::clock::{Millis, millis};
use crate::foxreload::FoxReload;
use crate::runtime::{Loop, Pace, Runtime};

pub use classify::classify;
pub use facts::{
    Facts, MAX_STAR_PAGES, StarDirection, StarHistory, StarLedger, StarTx, SupplierHistory,
    SupplierOrderFact,
};
pub use gather::{Sources, gather};
pub use render::render;
pub use report::{
    Anomaly, AnomalyKind, ChargeLine, Counts, DebitLine, Gaps, Outcome, Report, Totals,
};

/// The period `foxbot audit` and `/audit` look at unless told otherwise.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(7 * 86_400);

/// Gathers, classifies and sets `foxbot_ledger_anomalies`.
pub async fn run(sources: &Sources<'_>, period: Duration, now: Millis) -> anyhow::Result<Report> {
    let since = now.saturating_sub(millis(period));
    let facts = gather(sources, since, now).await?;
    let report = classify(&facts);
    crate::telemetry::metrics::ledger_anomalies(report.anomaly_count());
    Ok(report)
}

/// The audit of the last [`DEFAULT_SINCE`] every `every`, by one process at
/// a time (the lease `audit`), so that `foxbot_ledger_anomalies` and its
/// alert follow the ledger. The first run is one period after the start:
/// a restart does not make the supplier and Telegram read again at once.
pub fn spawn(rt: &Runtime, ledgers: Ledgers, every: Duration) -> tokio::task::JoinHandle<()> {
    let (store, clock) = (rt.store().clone(), rt.clock().clone());
    let next = std::sync::Arc::new(std::sync::Mutex::new(
        clock.now_ms().saturating_add(millis(every)),
    ));
    let spec = Loop::single_role("audit", every.min(Duration::from_secs(60))).on_timer();
    rt.spawn(spec, move |_| {
        let (store, clock, ledgers, next) =
            (store.clone(), clock.clone(), ledgers.clone(), next.clone());
        async move {
            let now = clock.now_ms();
            let due = {
                let next = next.lock().unwrap_or_else(|p| p.into_inner());
                now >= *next
            };
            if !due {
                return Ok(Pace::Idle);
            }
            let sources = Sources {
                store: &store,
                supplier: &ledgers.supplier,
                stars: ledgers.stars.as_deref(),
                stars_per_usd: ledgers.stars_per_usd,
            };
            let report = run(&sources, DEFAULT_SINCE, now).await?;
            *next.lock().unwrap_or_else(|p| p.into_inner()) =
                clock.now_ms().saturating_add(millis(every));
            match report.anomaly_count() {
                0 => tracing::info!("ledger audit: no anomaly"),
                n => tracing::error!(anomalies = n, "ledger audit found anomalies"),
            }
            // Done for this period: idle until the next check.
            Ok::<_, anyhow::Error>(Pace::Idle)
        }
    })
}

/// What the periodic audit reads besides the database.
#[derive(Clone)]
pub struct Ledgers {
    pub supplier: FoxReload,
    /// Telegram's Star transactions; none in a demo (it takes no Stars).
    pub stars: Option<std::sync::Arc<dyn StarLedger>>,
    pub stars_per_usd: Decimal,
}

#[cfg(test)]
mod fixtures;
