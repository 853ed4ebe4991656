//! The audit's reads: Telegram's star transactions (through a
//! [`StarLedger`] the bot layer implements), the supplier's orders (see
//! `supplier`), and our tables, put together as [`Facts`].

use std::collections::BTreeSet;

use anyhow::Context;
use rust_decimal::Decimal;

use super::facts::{Facts, StarHistory, StarLedger, SupplierHistory};
use super::supplier;
use crate::clock::Millis;
use crate::domain::PurchaseState;
use crate::foxreload::FoxReload;
use crate::store::{AuditPurchase, AuditRows, Store};

/// Histories are read this far past the period's start: a charge made just
/// before it can belong to a purchase recorded just after.
const MARGIN: Millis = 3_600_000;
/// Linked orders the history did not show, read alone at most.
const MAX_DIRECT_READS: usize = 20;

/// What one audit reads from, and how it judges.
pub struct Sources<'a> {
    pub store: &'a Store,
    pub supplier: &'a FoxReload,
    /// `None`: Telegram is not read (a demo shop takes no Stars).
    pub stars: Option<&'a dyn StarLedger>,
    pub stars_per_usd: Decimal,
}

/// Reads every fact of the period ending `now`.
pub async fn gather(sources: &Sources<'_>, since: Millis, now: Millis) -> anyhow::Result<Facts> {
    let back_to = since - MARGIN;
    let stars = match sources.stars {
        Some(ledger) => Some(
            ledger
                .star_transactions(back_to)
                .await
                .context("reading Telegram's star transactions")?,
        ),
        None => None,
    };
    let mut history = supplier::read_history(sources.supplier, back_to)
        .await
        .context("reading the supplier's order history")?;
    let rows = read_rows(sources.store, since, stars.as_ref(), &history).await?;
    let unshown = unshown_orders(&rows.purchases, &history, since);
    supplier::read_alone(sources.supplier, unshown, &mut history).await;
    Ok(Facts {
        now,
        since,
        stars,
        supplier: history,
        purchases: rows.purchases,
        links: rows.links,
        stars_per_usd: sources.stars_per_usd,
    })
}

/// Our purchases of the period, and those the histories name.
async fn read_rows(
    store: &Store,
    since: Millis,
    stars: Option<&StarHistory>,
    history: &SupplierHistory,
) -> anyhow::Result<AuditRows> {
    let order_ids: Vec<String> = history.orders.iter().map(|o| o.id.clone()).collect();
    let charge_ids: Vec<String> = stars
        .iter()
        .flat_map(|h| h.transactions.iter().map(|t| t.id.clone()))
        .collect();
    store
        .audit_rows(since, &order_ids, &charge_ids)
        .await
        .context("reading our purchases")
}

/// Orders we tie to the period's delivered purchases that the history did
/// not show: read alone, a few, so that a delivery is checked against a
/// paid order rather than left unverified.
fn unshown_orders(
    purchases: &[AuditPurchase],
    history: &SupplierHistory,
    since: Millis,
) -> Vec<String> {
    let shown: BTreeSet<&str> = history.orders.iter().map(|o| o.id.as_str()).collect();
    purchases
        .iter()
        .filter(|p| p.state == PurchaseState::Delivered && p.created_at >= since)
        .filter_map(|p| p.supplier_order.clone())
        .filter(|o| !shown.contains(o.as_str()))
        .take(MAX_DIRECT_READS)
        .collect()
}
