//! The supplier's side of the audit, read as the lowest of readers: its
//! order history back past the period's start, and the orders we link that
//! the history did not show, read alone. Each read waits while supplier
//! writes wait, and takes a read's turn in the shared budget.

use std::collections::BTreeSet;
use std::time::Duration;

use super::facts::{SupplierHistory, SupplierOrderFact};
use crate::clock::Millis;
use crate::domain::SupplierOrderId;
use crate::foxreload::{FoxReload, Order, RejectCode, SupplierError};

/// Supplier history pages read at most (100 orders each).
const MAX_PAGES: u32 = 100;
const PAGE: u32 = 100;
/// How long a history page waits for waiting supplier writes to go first.
const YIELD_TO_WRITES: Duration = Duration::from_secs(30);
/// Tries of one supplier read, at most.
const READ_TRIES: u32 = 5;

/// Parses a millisecond or RFC 3339 `createdAt` (numbers: Unix seconds,
/// or milliseconds when that large).
fn created_ms(text: &str) -> Option<Millis> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Some(if n > 100_000_000_000 { n } else { n * 1000 });
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.timestamp_millis())
}

fn fact(order: &Order) -> SupplierOrderFact {
    SupplierOrderFact {
        id: order.id.as_str().to_owned(),
        status: order.status.clone(),
        total: order.total_price,
        currency: order.currency.clone(),
        created_at: order.created_at.as_deref().and_then(created_ms),
        mock: order.is_mock == Some(true),
    }
}

/// Reads the supplier's order history, newest first, back past `back_to`
/// (or to its end), as a low-priority reader: each page waits while
/// supplier writes wait, and takes a read's turn in the shared budget.
pub(super) async fn read_history(
    supplier: &FoxReload,
    back_to: Millis,
) -> Result<SupplierHistory, SupplierError> {
    let mut history = SupplierHistory::default();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut offset = 0u32;
    for _ in 0..MAX_PAGES {
        let page = read_again(|| supplier.orders(&[], PAGE, offset), supplier).await?;
        let rows = page.rows.len() as u32;
        let mut all_older = rows > 0;
        for row in &page.rows {
            let Some(order) = row.order() else {
                history.unreadable += 1;
                all_older = false;
                continue;
            };
            let order = fact(order);
            if order.created_at.is_none_or(|at| at >= back_to) {
                all_older = false;
            }
            // New orders shift the pages while they are read: a row seen
            // twice is kept once (the first, newest view).
            if ids.insert(order.id.clone()) {
                history.orders.push(order);
            }
        }
        offset = offset.saturating_add(rows);
        let ended = rows == 0 || page.total.is_some_and(|t| i64::from(offset) >= t);
        if ended || all_older {
            history.complete = true;
            return Ok(history);
        }
    }
    Ok(history)
}

/// Reads each of `ids` alone into `history`: found, it joins the orders;
/// unknown to the supplier, it is marked absent; any other failure leaves
/// it unseen (a gap in the report, not an anomaly).
pub(super) async fn read_alone(
    supplier: &FoxReload,
    ids: Vec<String>,
    history: &mut SupplierHistory,
) {
    for id in ids {
        let Ok(parsed) = SupplierOrderId::parse(&id) else {
            continue;
        };
        match read_again(|| supplier.order(&parsed), supplier).await {
            Ok(order) => history.orders.push(fact(&order)),
            Err(SupplierError::Rejected(r))
                if r.code == RejectCode::NotFound || r.status == 404 =>
            {
                history.absent.push(id);
            }
            Err(e) => tracing::warn!(error = %e, "audit: an order could not be read alone"),
        }
    }
}

/// A read the supplier could not answer now (429, 5xx, a timeout) is
/// read again, a few times; a rejection is final. Reads change nothing, so
/// repeating one is safe.
async fn read_again<T, F, Fut>(read: F, supplier: &FoxReload) -> Result<T, SupplierError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, SupplierError>>,
{
    let mut tries = 0;
    loop {
        yield_to_writes(supplier).await;
        match read().await {
            Err(SupplierError::RetryLater { retry_after, .. }) if tries < READ_TRIES => {
                tries += 1;
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
            }
            done => return done,
        }
    }
}

/// The audit is the lowest of readers: writes move money and customers
/// wait on them, and the poller's reads deliver codes. Each of its reads
/// waits (for a while) until no write is waiting and this process has used
/// under half the budget's window, then takes a read's turn.
async fn yield_to_writes(supplier: &FoxReload) {
    let budget = supplier.budget();
    let busy =
        || budget.writes_waiting() > 0 || budget.used_in_window() >= (budget.rate() as usize) / 2;
    let deadline = tokio::time::Instant::now() + YIELD_TO_WRITES;
    while busy() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplier_timestamps_read_as_rfc3339_or_unix_time() {
        assert_eq!(created_ms("2026-01-01T00:00:00Z"), Some(1_767_225_600_000));
        assert_eq!(created_ms("1767225600"), Some(1_767_225_600_000));
        assert_eq!(created_ms("1767225600000"), Some(1_767_225_600_000));
        assert_eq!(created_ms("yesterday"), None);
    }
}
