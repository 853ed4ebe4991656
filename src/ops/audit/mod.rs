//! The ledger audit (`foxbot audit`, `/audit`): every Star charge in a
//! period ends in exactly one of delivered, refunded, in progress or
//! anomaly; every supplier debit belongs to exactly one purchase that was
//! delivered, refunded or is in progress, or it is an anomaly.
//!
//! [`classify`] is a pure function over [`Facts`]; [`gather`] reads them
//! (Telegram's star transactions through a [`StarLedger`] the bot layer
//! implements, the supplier's order history as a low-priority reader in the
//! shared budget, and our tables); [`render`] words a [`Report`] from the
//! Fluent files; [`run`] does all three and sets `foxbot_ledger_anomalies`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::clock::{BoxFuture, Millis, millis};
use crate::domain::{Language, Money, PurchaseState, SupplierOrderId};
use crate::foxreload::{FoxReload, OrderStatus, RejectCode, SupplierError};
use crate::i18n::{self, arg, num};
use crate::store::{AuditPurchase, Store};

/// The period `foxbot audit` and `/audit` look at unless told otherwise.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(7 * 86_400);
/// Histories are read this far past the period's start: a charge made just
/// before it can belong to a purchase recorded just after.
const MARGIN: Millis = 3_600_000;
/// Supplier history pages read at most (100 orders each).
const MAX_PAGES: u32 = 100;
const PAGE: u32 = 100;
/// Linked orders the history did not show, read alone at most.
const MAX_DIRECT_READS: usize = 20;
/// How long a history page waits for waiting supplier writes to go first.
const YIELD_TO_WRITES: Duration = Duration::from_secs(30);
/// Telegram's `getStarTransactions` pages read at most (100 each).
pub const MAX_STAR_PAGES: u32 = 100;

// ---------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StarDirection {
    /// A buyer paid an invoice.
    Charge,
    /// Stars went back to a buyer (`refundStarPayment`): same id as the charge.
    Refund,
}

/// One of Telegram's star transactions, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarTx {
    pub id: String,
    pub stars: i64,
    pub at: Millis,
    pub direction: StarDirection,
}

/// Telegram's star transactions back to the period's start.
#[derive(Debug, Clone, Default)]
pub struct StarHistory {
    pub transactions: Vec<StarTx>,
    /// Read back past the period's start (not cut short by a page limit).
    pub complete: bool,
}

/// Telegram's list of star transactions (the bot layer reads it).
pub trait StarLedger: Send + Sync {
    /// Every transaction from `since` on (older ones may come too).
    fn star_transactions(&self, since: Millis) -> BoxFuture<'_, anyhow::Result<StarHistory>>;
}

/// A supplier order as the audit needs it.
#[derive(Debug, Clone)]
pub struct SupplierOrderFact {
    pub id: String,
    pub status: OrderStatus,
    pub total: Option<Money>,
    pub currency: Option<String>,
    pub created_at: Option<Millis>,
    pub mock: bool,
}

impl SupplierOrderFact {
    /// The supplier took (or may have taken) money for it: paid or later,
    /// or a status we do not know. A failed or cancelled order's money is
    /// back in the balance; an active one was never debited.
    fn debited(&self) -> bool {
        self.status.is_paid_or_later() || matches!(self.status, OrderStatus::Other(_))
    }
}

#[derive(Debug, Clone, Default)]
pub struct SupplierHistory {
    pub orders: Vec<SupplierOrderFact>,
    /// History rows that did not read as orders.
    pub unreadable: usize,
    /// Read back past the period's start.
    pub complete: bool,
    /// Orders we link that the supplier says do not exist (read alone: 404).
    pub absent: Vec<String>,
}

/// Everything [`classify`] judges.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub now: Millis,
    pub since: Millis,
    /// `None`: Telegram was not read (a demo shop takes no Stars).
    pub stars: Option<StarHistory>,
    pub supplier: SupplierHistory,
    /// Our purchases touched in the period, and those the histories name.
    pub purchases: Vec<AuditPurchase>,
    /// (purchase, supplier order) ties: the purchase's link and its attempts'.
    pub links: Vec<(i64, String)>,
    /// The configured rate, for the margin estimate.
    pub stars_per_usd: Decimal,
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// Telegram took Stars for a charge we have no purchase for.
    ChargeWithoutPurchase,
    /// Telegram's amount differs from the purchase's Stars.
    ChargeAmountMismatch,
    /// We recorded a charge Telegram does not list.
    PaymentNotInTelegram,
    /// Telegram shows Stars returned, and we have no refund row for it.
    RefundWithoutRecord,
    /// Our refund row says confirmed, and Telegram shows no refund.
    RefundNotInTelegram,
    /// The buyer kept both the codes and the Stars.
    DeliveredAndRefunded,
    /// Delivered, with no finished delivery_log row.
    DeliveredWithoutRecord,
    /// The purchase says refunded, and the Stars were not returned.
    RefundedWithoutRefund,
    /// Closed by hand with the Stars kept and no codes sent.
    ClosedKeepingStars,
    /// The supplier debited an order no purchase is tied to.
    UnlinkedPaidOrder,
    /// One debited order tied to two purchases.
    OrderLinkedTwice,
    /// A debited order of a purchase closed without its codes.
    PaidOrderOfClosedPurchase,
    /// Delivered, and the supplier shows no paid order for it.
    DeliveredWithoutPaidOrder,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 13] = [
        AnomalyKind::ChargeWithoutPurchase,
        AnomalyKind::ChargeAmountMismatch,
        AnomalyKind::PaymentNotInTelegram,
        AnomalyKind::RefundWithoutRecord,
        AnomalyKind::RefundNotInTelegram,
        AnomalyKind::DeliveredAndRefunded,
        AnomalyKind::DeliveredWithoutRecord,
        AnomalyKind::RefundedWithoutRefund,
        AnomalyKind::ClosedKeepingStars,
        AnomalyKind::UnlinkedPaidOrder,
        AnomalyKind::OrderLinkedTwice,
        AnomalyKind::PaidOrderOfClosedPurchase,
        AnomalyKind::DeliveredWithoutPaidOrder,
    ];

    /// Its message id in the Fluent files.
    fn key(self) -> &'static str {
        match self {
            AnomalyKind::ChargeWithoutPurchase => "audit-anomaly-charge-without-purchase",
            AnomalyKind::ChargeAmountMismatch => "audit-anomaly-charge-amount-mismatch",
            AnomalyKind::PaymentNotInTelegram => "audit-anomaly-payment-not-in-telegram",
            AnomalyKind::RefundWithoutRecord => "audit-anomaly-refund-without-record",
            AnomalyKind::RefundNotInTelegram => "audit-anomaly-refund-not-in-telegram",
            AnomalyKind::DeliveredAndRefunded => "audit-anomaly-delivered-and-refunded",
            AnomalyKind::DeliveredWithoutRecord => "audit-anomaly-delivered-without-record",
            AnomalyKind::RefundedWithoutRefund => "audit-anomaly-refunded-without-refund",
            AnomalyKind::ClosedKeepingStars => "audit-anomaly-closed-keeping-stars",
            AnomalyKind::UnlinkedPaidOrder => "audit-anomaly-unlinked-paid-order",
            AnomalyKind::OrderLinkedTwice => "audit-anomaly-order-linked-twice",
            AnomalyKind::PaidOrderOfClosedPurchase => "audit-anomaly-paid-order-of-closed-purchase",
            AnomalyKind::DeliveredWithoutPaidOrder => "audit-anomaly-delivered-without-paid-order",
        }
    }
}

/// How one charge or one debit ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Delivered,
    Refunded,
    InProgress { state: String, age_ms: i64 },
    Anomaly { kind: AnomalyKind },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChargeLine {
    pub charge: String,
    pub stars: i64,
    pub purchase: Option<i64>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DebitLine {
    pub order: String,
    pub status: String,
    pub amount: Option<Money>,
    pub currency: String,
    pub purchases: Vec<i64>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub purchase: Option<i64>,
    pub charge: Option<String>,
    pub order: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub delivered: usize,
    pub refunded: usize,
    pub in_progress: usize,
    pub anomalies: usize,
}

impl Counts {
    fn add(&mut self, outcome: &Outcome) {
        self.total += 1;
        match outcome {
            Outcome::Delivered => self.delivered += 1,
            Outcome::Refunded => self.refunded += 1,
            Outcome::InProgress { .. } => self.in_progress += 1,
            Outcome::Anomaly { .. } => self.anomalies += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub charges: Counts,
    pub debits: Counts,
    pub stars_taken: i64,
    pub stars_refunded: i64,
    pub stars_net: i64,
    /// Supplier spend by currency (debited orders, mock orders left out).
    pub spend: BTreeMap<String, Money>,
    /// Debited orders whose amount is not known (not in `spend`).
    pub unpriced_debits: usize,
    /// The configured rate the margin is estimated at (not Telegram's
    /// payout rate).
    pub stars_per_usd: Decimal,
    /// Net Stars at `stars_per_usd`, less the USD spend; `None` without a rate.
    pub margin_usd: Option<Money>,
}

/// What the report could not see, so a reader knows what "no anomaly" covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Gaps {
    /// Telegram was not read (a demo shop).
    pub stars_not_read: bool,
    /// Telegram's list was cut short before the period's start.
    pub stars_incomplete: bool,
    /// The supplier's history was cut short before the period's start.
    pub history_incomplete: bool,
    pub unreadable_rows: usize,
    /// Delivered purchases whose order could not be checked at the supplier.
    pub unverified_orders: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since: Millis,
    pub now: Millis,
    pub charges: Vec<ChargeLine>,
    pub debits: Vec<DebitLine>,
    pub anomalies: Vec<Anomaly>,
    pub totals: Totals,
    pub gaps: Gaps,
}

impl Report {
    pub fn anomaly_count(&self) -> usize {
        self.anomalies.len()
    }
}

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

fn anomaly(kind: AnomalyKind) -> Outcome {
    Outcome::Anomaly { kind }
}

/// A purchase's standing on our side alone.
fn progress(p: &AuditPurchase, now: Millis) -> Outcome {
    Outcome::InProgress {
        state: p.state.as_str().to_owned(),
        age_ms: now.saturating_sub(p.created_at).max(0),
    }
}

/// Judges every charge and every debit of the period. Pure.
pub fn classify(facts: &Facts) -> Report {
    let since = facts.since;
    let now = facts.now;
    let mut anomalies: BTreeSet<Anomaly> = BTreeSet::new();
    let by_charge: HashMap<&str, &AuditPurchase> = facts
        .purchases
        .iter()
        .filter_map(|p| p.charge.as_deref().map(|c| (c, p)))
        .collect();
    let by_id: HashMap<i64, &AuditPurchase> = facts.purchases.iter().map(|p| (p.id, p)).collect();

    // What the supplier shows of each order.
    let orders: HashMap<&str, &SupplierOrderFact> = facts
        .supplier
        .orders
        .iter()
        .map(|o| (o.id.as_str(), o))
        .collect();
    let absent: BTreeSet<&str> = facts.supplier.absent.iter().map(String::as_str).collect();

    // Purchase-level checks: a delivered purchase has a finished delivery
    // and a paid order behind it.
    let mut unverified = 0;
    let mut purchase_anomaly: HashMap<i64, AnomalyKind> = HashMap::new();
    for p in facts.purchases.iter().filter(|p| p.created_at >= since) {
        if p.state != PurchaseState::Delivered {
            continue;
        }
        let kind = if !p.delivery_done {
            Some(AnomalyKind::DeliveredWithoutRecord)
        } else {
            match p.supplier_order.as_deref() {
                None => Some(AnomalyKind::DeliveredWithoutPaidOrder),
                Some(order) => match orders.get(order) {
                    Some(o) if o.debited() => None,
                    Some(_) => Some(AnomalyKind::DeliveredWithoutPaidOrder),
                    None if absent.contains(order) => Some(AnomalyKind::DeliveredWithoutPaidOrder),
                    None => {
                        unverified += 1;
                        None
                    }
                },
            }
        };
        if let Some(kind) = kind {
            purchase_anomaly.insert(p.id, kind);
            anomalies.insert(Anomaly {
                kind,
                purchase: Some(p.id),
                charge: p.charge.clone(),
                order: p.supplier_order.clone(),
            });
        }
    }

    // ---- Star charges --------------------------------------------------
    let mut charges = Vec::new();
    let mut stars_taken = 0i64;
    let mut stars_refunded = 0i64;
    let (stars_read, stars_complete) = match &facts.stars {
        Some(h) => (true, h.complete),
        None => (false, false),
    };
    let mut incoming: BTreeMap<&str, i64> = BTreeMap::new();
    let mut refunded_in_telegram: BTreeSet<&str> = BTreeSet::new();
    if let Some(history) = &facts.stars {
        for tx in &history.transactions {
            match tx.direction {
                StarDirection::Charge => {
                    incoming.insert(tx.id.as_str(), tx.stars);
                    if tx.at >= since {
                        stars_taken += tx.stars;
                    }
                }
                StarDirection::Refund => {
                    refunded_in_telegram.insert(tx.id.as_str());
                    if tx.at >= since {
                        stars_refunded += tx.stars;
                    }
                }
            }
        }
    }
    // The period's charges: Telegram's, and ours recorded in the period.
    let mut in_period: BTreeSet<&str> = BTreeSet::new();
    if let Some(history) = &facts.stars {
        in_period.extend(
            history
                .transactions
                .iter()
                .filter(|t| t.direction == StarDirection::Charge && t.at >= since)
                .map(|t| t.id.as_str()),
        );
    }
    in_period.extend(
        facts
            .purchases
            .iter()
            .filter(|p| p.created_at >= since)
            .filter_map(|p| p.charge.as_deref()),
    );
    for charge in in_period {
        let purchase = by_charge.get(charge).copied();
        let telegram_stars = incoming.get(charge).copied();
        let in_telegram_refund = refunded_in_telegram.contains(charge);
        let stars = telegram_stars.or(purchase.map(|p| p.stars)).unwrap_or(0);
        let outcome = match purchase {
            None if in_telegram_refund => Outcome::Refunded,
            None => anomaly(AnomalyKind::ChargeWithoutPurchase),
            Some(p) => charge_outcome(
                p,
                telegram_stars,
                in_telegram_refund,
                stars_complete,
                purchase_anomaly.get(&p.id).copied(),
                now,
            ),
        };
        if let Outcome::Anomaly { kind } = outcome {
            anomalies.insert(Anomaly {
                kind,
                purchase: purchase.map(|p| p.id),
                charge: Some(charge.to_owned()),
                order: purchase.and_then(|p| p.supplier_order.clone()),
            });
        }
        charges.push(ChargeLine {
            charge: charge.to_owned(),
            stars,
            purchase: purchase.map(|p| p.id),
            outcome,
        });
    }

    // ---- Supplier debits -----------------------------------------------
    let mut tied: HashMap<&str, BTreeSet<i64>> = HashMap::new();
    for p in &facts.purchases {
        if let Some(order) = p.supplier_order.as_deref() {
            tied.entry(order).or_default().insert(p.id);
        }
    }
    for (purchase, order) in &facts.links {
        tied.entry(order.as_str()).or_default().insert(*purchase);
    }
    let mut debits = Vec::new();
    let mut spend: BTreeMap<String, Money> = BTreeMap::new();
    let mut unpriced = 0;
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for o in &facts.supplier.orders {
        if !o.debited() || o.created_at.is_some_and(|at| at < since) || !seen.insert(&o.id) {
            continue;
        }
        let purchases: Vec<i64> = tied
            .get(o.id.as_str())
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let outcome = match purchases.as_slice() {
            [] => anomaly(AnomalyKind::UnlinkedPaidOrder),
            [one] => match by_id.get(one) {
                Some(p) => debit_outcome(p, now),
                // Tied by an attempt to a purchase we could not read: the
                // tie is there, the standing is not known.
                None => Outcome::InProgress {
                    state: "unknown".to_owned(),
                    age_ms: 0,
                },
            },
            _ => anomaly(AnomalyKind::OrderLinkedTwice),
        };
        if let Outcome::Anomaly { kind } = outcome {
            anomalies.insert(Anomaly {
                kind,
                purchase: purchases.first().copied(),
                charge: None,
                order: Some(o.id.clone()),
            });
        }
        let single = purchases.first().and_then(|id| by_id.get(id));
        let currency = o
            .currency
            .clone()
            .or_else(|| single.map(|p| p.currency.clone()))
            .unwrap_or_else(|| "USD".to_owned())
            .to_ascii_uppercase();
        let amount = o.total.or_else(|| single.and_then(|p| p.cost()));
        if !o.mock {
            match amount {
                Some(a) => {
                    let sum = spend.entry(currency.clone()).or_insert(Money::ZERO);
                    *sum = Money::new(sum.decimal() + a.decimal());
                }
                None => unpriced += 1,
            }
        }
        debits.push(DebitLine {
            order: o.id.clone(),
            status: o.status.as_str().to_owned(),
            amount,
            currency,
            purchases,
            outcome,
        });
    }

    let mut charge_counts = Counts::default();
    charges.iter().for_each(|c| charge_counts.add(&c.outcome));
    let mut debit_counts = Counts::default();
    debits.iter().for_each(|d| debit_counts.add(&d.outcome));
    let stars_net = stars_taken - stars_refunded;
    let margin_usd = (!facts.stars_per_usd.is_zero()).then(|| {
        let usd = spend.get("USD").map_or(Decimal::ZERO, |m| m.decimal());
        let net = Decimal::from(stars_net) / facts.stars_per_usd;
        Money::new((net - usd).round_dp(2))
    });
    Report {
        since,
        now,
        charges,
        debits,
        anomalies: anomalies.into_iter().collect(),
        totals: Totals {
            charges: charge_counts,
            debits: debit_counts,
            stars_taken,
            stars_refunded,
            stars_net,
            spend,
            unpriced_debits: unpriced,
            stars_per_usd: facts.stars_per_usd,
            margin_usd,
        },
        gaps: Gaps {
            stars_not_read: !stars_read,
            stars_incomplete: stars_read && !stars_complete,
            history_incomplete: !facts.supplier.complete,
            unreadable_rows: facts.supplier.unreadable,
            unverified_orders: unverified,
        },
    }
}

/// How a charge with a purchase ended.
fn charge_outcome(
    p: &AuditPurchase,
    telegram_stars: Option<i64>,
    refunded_in_telegram: bool,
    stars_complete: bool,
    purchase_anomaly: Option<AnomalyKind>,
    now: Millis,
) -> Outcome {
    if let Some(stars) = telegram_stars
        && stars != p.stars
    {
        return anomaly(AnomalyKind::ChargeAmountMismatch);
    }
    // Only a full read of Telegram's list proves a charge is not in it.
    if stars_complete && telegram_stars.is_none() {
        return anomaly(AnomalyKind::PaymentNotInTelegram);
    }
    if refunded_in_telegram && !p.refund_row {
        return anomaly(AnomalyKind::RefundWithoutRecord);
    }
    if stars_complete && p.refund_confirmed && !refunded_in_telegram {
        return anomaly(AnomalyKind::RefundNotInTelegram);
    }
    // Stars back: Telegram says so, or (when its list was not read in
    // full) Telegram confirmed our refund call.
    let stars_back = refunded_in_telegram || (!stars_complete && p.refund_confirmed);
    match p.state {
        PurchaseState::Delivered if stars_back => anomaly(AnomalyKind::DeliveredAndRefunded),
        PurchaseState::Delivered => match purchase_anomaly {
            Some(kind) => anomaly(kind),
            None => Outcome::Delivered,
        },
        PurchaseState::Refunded if stars_back => Outcome::Refunded,
        PurchaseState::Refunded => anomaly(AnomalyKind::RefundedWithoutRefund),
        PurchaseState::Cancelled if stars_back => Outcome::Refunded,
        PurchaseState::Cancelled => anomaly(AnomalyKind::ClosedKeepingStars),
        // A refund in progress may already have gone through.
        PurchaseState::Refunding => progress(p, now),
        _ if stars_back && p.delivery_started => anomaly(AnomalyKind::DeliveredAndRefunded),
        _ => progress(p, now),
    }
}

/// How a debit tied to exactly one purchase stands.
fn debit_outcome(p: &AuditPurchase, now: Millis) -> Outcome {
    match p.state {
        PurchaseState::Delivered => Outcome::Delivered,
        PurchaseState::Refunded => Outcome::Refunded,
        // Paid at the supplier, and nobody got the codes.
        PurchaseState::Cancelled if !p.delivery_started => {
            anomaly(AnomalyKind::PaidOrderOfClosedPurchase)
        }
        PurchaseState::Cancelled => Outcome::Delivered,
        _ => progress(p, now),
    }
}

// ---------------------------------------------------------------------------
// Gathering
// ---------------------------------------------------------------------------

/// What one audit reads from, and how it judges.
pub struct Sources<'a> {
    pub store: &'a Store,
    pub supplier: &'a FoxReload,
    /// `None`: Telegram is not read (a demo shop takes no Stars).
    pub stars: Option<&'a dyn StarLedger>,
    pub stars_per_usd: Decimal,
}

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

/// Reads the supplier's order history, newest first, back past `since`
/// (or to its end), as a low-priority reader: each page waits while
/// supplier writes wait, and takes a read's turn in the shared budget.
async fn read_history(
    supplier: &FoxReload,
    since: Millis,
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
            let created_at = order.created_at.as_deref().and_then(created_ms);
            if created_at.is_none_or(|at| at >= since - MARGIN) {
                all_older = false;
            }
            // New orders shift the pages while they are read: a row seen
            // twice is kept once (the first, newest view).
            if ids.insert(order.id.as_str().to_owned()) {
                history.orders.push(fact(order, created_at));
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

fn fact(order: &crate::foxreload::Order, created_at: Option<Millis>) -> SupplierOrderFact {
    SupplierOrderFact {
        id: order.id.as_str().to_owned(),
        status: order.status.clone(),
        total: order.total_price,
        currency: order.currency.clone(),
        created_at,
        mock: order.is_mock == Some(true),
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

/// Tries of one supplier read, at most.
const READ_TRIES: u32 = 5;

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

/// Reads every fact of the period ending `now`.
pub async fn gather(sources: &Sources<'_>, since: Millis, now: Millis) -> anyhow::Result<Facts> {
    use anyhow::Context;
    let stars = match sources.stars {
        Some(ledger) => Some(
            ledger
                .star_transactions(since - MARGIN)
                .await
                .context("reading Telegram's star transactions")?,
        ),
        None => None,
    };
    let mut supplier = read_history(sources.supplier, since)
        .await
        .context("reading the supplier's order history")?;
    let order_ids: Vec<String> = supplier.orders.iter().map(|o| o.id.clone()).collect();
    let charge_ids: Vec<String> = stars
        .iter()
        .flat_map(|h| h.transactions.iter().map(|t| t.id.clone()))
        .collect();
    let rows = sources
        .store
        .audit_rows(since, &order_ids, &charge_ids)
        .await
        .context("reading our purchases")?;
    // Orders we tie to delivered purchases that the history did not show:
    // read alone, a few.
    let shown: BTreeSet<&str> = supplier.orders.iter().map(|o| o.id.as_str()).collect();
    let missing: Vec<String> = rows
        .purchases
        .iter()
        .filter(|p| p.state == PurchaseState::Delivered && p.created_at >= since)
        .filter_map(|p| p.supplier_order.clone())
        .filter(|o| !shown.contains(o.as_str()))
        .take(MAX_DIRECT_READS)
        .collect();
    for id in missing {
        let Ok(parsed) = SupplierOrderId::parse(&id) else {
            continue;
        };
        match read_again(|| sources.supplier.order(&parsed), sources.supplier).await {
            Ok(order) => {
                let created_at = order.created_at.as_deref().and_then(created_ms);
                supplier.orders.push(fact(&order, created_at));
            }
            Err(SupplierError::Rejected(r))
                if r.code == RejectCode::NotFound || r.status == 404 =>
            {
                supplier.absent.push(id);
            }
            Err(e) => tracing::warn!(error = %e, "audit: an order could not be read alone"),
        }
    }
    Ok(Facts {
        now,
        since,
        stars,
        supplier,
        purchases: rows.purchases,
        links: rows.links,
        stars_per_usd: sources.stars_per_usd,
    })
}

/// Gathers, classifies and sets `foxbot_ledger_anomalies`.
pub async fn run(sources: &Sources<'_>, period: Duration, now: Millis) -> anyhow::Result<Report> {
    let since = now.saturating_sub(millis(period));
    let facts = gather(sources, since, now).await?;
    let report = classify(&facts);
    crate::ops::metrics::ledger_anomalies(report.anomaly_count());
    Ok(report)
}

/// The audit of the last [`DEFAULT_SINCE`] every `every`, by one process at
/// a time (the lease `audit`), so that `foxbot_ledger_anomalies` and its
/// alert follow the ledger. The first run is one period after the start:
/// a restart does not make the supplier and Telegram read again at once.
#[allow(clippy::too_many_arguments)] // each is one plain setting of the task
pub fn spawn(
    store: Store,
    clock: crate::clock::SharedClock,
    instance: String,
    supplier: FoxReload,
    stars: Option<std::sync::Arc<dyn StarLedger>>,
    stars_per_usd: Decimal,
    every: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let next = std::sync::Arc::new(std::sync::Mutex::new(
        clock.now_ms().saturating_add(millis(every)),
    ));
    let (step_store, step_clock) = (store.clone(), clock.clone());
    crate::ops::spawn_single_role(
        "audit",
        store,
        clock,
        instance,
        every.min(Duration::from_secs(60)),
        false,
        shutdown,
        move || {
            let (store, clock, supplier) =
                (step_store.clone(), step_clock.clone(), supplier.clone());
            let (stars, next) = (stars.clone(), next.clone());
            async move {
                let now = clock.now_ms();
                let due = {
                    let next = next.lock().unwrap_or_else(|p| p.into_inner());
                    now >= *next
                };
                if !due {
                    return Ok(0);
                }
                let sources = Sources {
                    store: &store,
                    supplier: &supplier,
                    stars: stars.as_deref(),
                    stars_per_usd,
                };
                let report = run(&sources, DEFAULT_SINCE, now).await?;
                *next.lock().unwrap_or_else(|p| p.into_inner()) =
                    clock.now_ms().saturating_add(millis(every));
                match report.anomaly_count() {
                    0 => tracing::info!("ledger audit: no anomaly"),
                    n => tracing::error!(anomalies = n, "ledger audit found anomalies"),
                }
                // Done for this period: idle until the next check.
                Ok(0)
            }
        },
    )
}

// ---------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------

/// Anomalies and unfinished purchases listed at most (the rest are counted).
const LISTED: usize = 20;

fn utc(ms: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn age_text(lang: Language, ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        0..120 => i18n::text(lang, "audit-age-minutes", &[("n", num(minutes))]),
        120..2_880 => i18n::text(lang, "audit-age-hours", &[("n", num(minutes / 60))]),
        _ => i18n::text(lang, "audit-age-days", &[("n", num(minutes / 1_440))]),
    }
}

/// Money as people read it: at least two decimals, never rounded.
fn money_text(m: Money) -> String {
    let mut d = m.decimal();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

fn counts_args(c: &Counts) -> [(&'static str, fluent_bundle::FluentValue<'static>); 5] {
    [
        ("total", num(c.total as i64)),
        ("delivered", num(c.delivered as i64)),
        ("refunded", num(c.refunded as i64)),
        ("progress", num(c.in_progress as i64)),
        ("anomalies", num(c.anomalies as i64)),
    ]
}

/// The report in `lang`, from the Fluent files. `escape` makes a value
/// safe where it is shown (Telegram's HTML for `/audit`; nothing for the
/// terminal).
pub fn render(report: &Report, lang: Language, escape: &dyn Fn(&str) -> String) -> String {
    let t =
        |key: &str, args: &[(&str, fluent_bundle::FluentValue<'_>)]| i18n::text(lang, key, args);
    let totals = &report.totals;
    let mut lines = vec![
        t(
            "audit-title",
            &[
                ("since", arg(&utc(report.since))),
                ("now", arg(&utc(report.now))),
            ],
        ),
        t("audit-charges", &counts_args(&totals.charges)),
        t("audit-debits", &counts_args(&totals.debits)),
        t(
            "audit-stars",
            &[
                ("taken", num(totals.stars_taken)),
                ("refunded", num(totals.stars_refunded)),
                ("net", num(totals.stars_net)),
            ],
        ),
    ];
    if totals.spend.is_empty() {
        lines.push(t("audit-spend-none", &[]));
    } else {
        let amounts = totals
            .spend
            .iter()
            .map(|(c, m)| format!("{} {}", money_text(*m), escape(c)))
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(t("audit-spend", &[("amounts", arg(&amounts))]));
    }
    if totals.unpriced_debits > 0 {
        lines.push(t(
            "audit-unpriced",
            &[("count", num(totals.unpriced_debits as i64))],
        ));
    }
    match totals.margin_usd {
        Some(m) => lines.push(t(
            "audit-margin",
            &[
                ("margin", arg(&money_text(m))),
                ("rate", arg(&totals.stars_per_usd.normalize().to_string())),
            ],
        )),
        None => lines.push(t("audit-margin-none", &[])),
    }
    let gaps = &report.gaps;
    if gaps.stars_not_read {
        lines.push(t("audit-gap-stars-not-read", &[]));
    }
    if gaps.stars_incomplete {
        lines.push(t("audit-gap-stars-incomplete", &[]));
    }
    if gaps.history_incomplete {
        lines.push(t("audit-gap-history-incomplete", &[]));
    }
    if gaps.unreadable_rows > 0 {
        lines.push(t(
            "audit-gap-unreadable",
            &[("count", num(gaps.unreadable_rows as i64))],
        ));
    }
    if gaps.unverified_orders > 0 {
        lines.push(t(
            "audit-gap-unverified",
            &[("count", num(gaps.unverified_orders as i64))],
        ));
    }
    // The oldest unfinished purchases: where a person may look first.
    let mut waiting: Vec<(i64, &str, i64)> = report
        .charges
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::InProgress { state, age_ms } => {
                Some((*age_ms, state.as_str(), c.purchase.unwrap_or(0)))
            }
            _ => None,
        })
        .collect();
    waiting.sort_by_key(|w| std::cmp::Reverse(w.0));
    if !waiting.is_empty() {
        lines.push(String::new());
        lines.push(t(
            "audit-in-progress-title",
            &[("count", num(waiting.len() as i64))],
        ));
        for (age, state, purchase) in waiting.iter().take(LISTED) {
            lines.push(t(
                "audit-in-progress-item",
                &[
                    ("purchase", num(*purchase)),
                    ("state", arg(state)),
                    ("age", arg(&age_text(lang, *age))),
                ],
            ));
        }
        if waiting.len() > LISTED {
            lines.push(t(
                "audit-more",
                &[("more", num((waiting.len() - LISTED) as i64))],
            ));
        }
    }
    lines.push(String::new());
    if report.anomalies.is_empty() {
        lines.push(t("audit-ok", &[]));
    } else {
        lines.push(t(
            "audit-anomalies-title",
            &[("count", num(report.anomalies.len() as i64))],
        ));
        for a in report.anomalies.iter().take(LISTED) {
            let none = || "-".to_owned();
            lines.push(t(
                a.kind.key(),
                &[
                    (
                        "purchase",
                        arg(&a.purchase.map_or_else(none, |p| format!("#{p}"))),
                    ),
                    (
                        "charge",
                        arg(&a.charge.as_deref().map_or_else(none, escape)),
                    ),
                    ("order", arg(&a.order.as_deref().map_or_else(none, escape))),
                ],
            ));
        }
        if report.anomalies.len() > LISTED {
            lines.push(t(
                "audit-more",
                &[("more", num((report.anomalies.len() - LISTED) as i64))],
            ));
        }
        lines.push(t("audit-anomalies-hint", &[]));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;
    const SINCE: Millis = NOW - 7 * 86_400_000;
    const HOUR: Millis = 3_600_000;

    fn purchase(id: i64, state: PurchaseState) -> AuditPurchase {
        let delivered = state == PurchaseState::Delivered;
        AuditPurchase {
            id,
            state,
            stars: 100,
            charge: Some(format!("charge-{id}")),
            supplier_order: Some(format!("order-{id}")),
            unit_price: Some(Money::parse("0.99").unwrap()),
            quantity: 1,
            currency: "USD".to_owned(),
            created_at: NOW - HOUR,
            delivery_done: delivered,
            delivery_started: delivered,
            refund_row: false,
            refund_confirmed: false,
        }
    }

    fn refunded(mut p: AuditPurchase) -> AuditPurchase {
        p.refund_row = true;
        p.refund_confirmed = true;
        p
    }

    fn charge(id: &str, stars: i64) -> StarTx {
        StarTx {
            id: id.to_owned(),
            stars,
            at: NOW - HOUR,
            direction: StarDirection::Charge,
        }
    }

    fn refund(id: &str, stars: i64) -> StarTx {
        StarTx {
            direction: StarDirection::Refund,
            at: NOW - HOUR / 2,
            ..charge(id, stars)
        }
    }

    fn order(id: &str, status: &str, total: &str) -> SupplierOrderFact {
        SupplierOrderFact {
            id: id.to_owned(),
            status: OrderStatus::parse(status),
            total: Some(Money::parse(total).unwrap()),
            currency: Some("USD".to_owned()),
            created_at: Some(NOW - HOUR),
            mock: false,
        }
    }

    /// Facts where Telegram and the supplier agree with `purchases`: each
    /// one's charge listed (and refunded if its row says so), each
    /// delivered or refunded one's order shown as it would be.
    fn agreeing(purchases: Vec<AuditPurchase>) -> Facts {
        let mut txs = Vec::new();
        let mut orders = Vec::new();
        for p in &purchases {
            if let Some(c) = &p.charge {
                txs.push(charge(c, p.stars));
                if p.refund_confirmed {
                    txs.push(refund(c, p.stars));
                }
            }
            if let Some(o) = &p.supplier_order {
                let status = match p.state {
                    PurchaseState::Delivered => "completed",
                    PurchaseState::Refunded => "failed",
                    PurchaseState::WaitingSupplier => "processing",
                    _ => "active",
                };
                orders.push(order(o, status, "0.99"));
            }
        }
        Facts {
            now: NOW,
            since: SINCE,
            stars: Some(StarHistory {
                transactions: txs,
                complete: true,
            }),
            supplier: SupplierHistory {
                orders,
                complete: true,
                ..SupplierHistory::default()
            },
            purchases,
            links: Vec::new(),
            stars_per_usd: Decimal::new(100, 0),
        }
    }

    fn kinds(report: &Report) -> Vec<AnomalyKind> {
        report.anomalies.iter().map(|a| a.kind).collect()
    }

    #[test]
    fn delivered_refunded_and_in_progress_charges_are_no_anomaly() {
        let facts = agreeing(vec![
            purchase(1, PurchaseState::Delivered),
            refunded(purchase(2, PurchaseState::Refunded)),
            purchase(3, PurchaseState::WaitingSupplier),
        ]);
        let report = classify(&facts);
        assert!(report.anomalies.is_empty(), "{:?}", report.anomalies);
        let c = report.totals.charges;
        assert_eq!(
            (c.total, c.delivered, c.refunded, c.in_progress),
            (3, 1, 1, 1)
        );
        let d = report.totals.debits;
        // The failed order's money came back: not a debit.
        assert_eq!((d.total, d.delivered, d.in_progress), (2, 1, 1));
        assert_eq!(
            report.charges[2].outcome,
            Outcome::InProgress {
                state: "waiting_supplier".to_owned(),
                age_ms: HOUR
            }
        );
        assert_eq!(report.totals.stars_taken, 300);
        assert_eq!(report.totals.stars_refunded, 100);
        assert_eq!(report.totals.stars_net, 200);
        assert_eq!(report.totals.spend["USD"], Money::parse("1.98").unwrap());
        // 200 Stars at 100 per USD, less 1.98 USD.
        assert_eq!(
            report.totals.margin_usd,
            Some(Money::parse("0.02").unwrap())
        );
    }

    #[test]
    fn a_charge_refunded_and_delivered_is_an_anomaly() {
        let facts = agreeing(vec![refunded(purchase(1, PurchaseState::Delivered))]);
        assert_eq!(
            kinds(&classify(&facts)),
            [AnomalyKind::DeliveredAndRefunded]
        );
    }

    #[test]
    fn a_refund_while_codes_are_being_sent_is_an_anomaly() {
        let mut p = refunded(purchase(1, PurchaseState::Delivering));
        p.delivery_started = true;
        assert_eq!(
            kinds(&classify(&agreeing(vec![p]))),
            [AnomalyKind::DeliveredAndRefunded]
        );
    }

    #[test]
    fn a_charge_with_no_purchase_is_an_anomaly_unless_refunded() {
        let mut facts = agreeing(vec![]);
        let history = facts.stars.as_mut().unwrap();
        history.transactions.push(charge("stray", 50));
        history.transactions.push(charge("refunded-by-hand", 70));
        history.transactions.push(refund("refunded-by-hand", 70));
        let report = classify(&facts);
        assert_eq!(kinds(&report), [AnomalyKind::ChargeWithoutPurchase]);
        assert_eq!(report.anomalies[0].charge.as_deref(), Some("stray"));
        assert_eq!(report.totals.charges.refunded, 1);
        assert_eq!(report.totals.stars_net, 50);
    }

    #[test]
    fn a_paid_supplier_order_linked_to_no_purchase_is_an_anomaly() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::Delivered)]);
        facts
            .supplier
            .orders
            .push(order("stray", "completed", "5.00"));
        // Unpaid and returned orders are not debits.
        facts
            .supplier
            .orders
            .push(order("unpaid", "active", "5.00"));
        facts
            .supplier
            .orders
            .push(order("expired", "cancelled", "5.00"));
        let report = classify(&facts);
        assert_eq!(kinds(&report), [AnomalyKind::UnlinkedPaidOrder]);
        assert_eq!(report.anomalies[0].order.as_deref(), Some("stray"));
        assert_eq!(report.totals.debits.total, 2);
        assert_eq!(report.totals.spend["USD"], Money::parse("5.99").unwrap());
    }

    #[test]
    fn a_supplier_order_linked_to_two_purchases_is_an_anomaly() {
        let mut facts = agreeing(vec![
            purchase(1, PurchaseState::Delivered),
            purchase(2, PurchaseState::WaitingSupplier),
        ]);
        // An attempt of purchase 2 tied itself to purchase 1's order.
        facts.links.push((2, "order-1".to_owned()));
        let report = classify(&facts);
        assert_eq!(kinds(&report), [AnomalyKind::OrderLinkedTwice]);
        assert_eq!(report.debits[0].purchases, [1, 2]);
    }

    #[test]
    fn an_attempts_tie_to_its_own_purchases_order_is_one_tie() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::Delivered)]);
        facts.links.push((1, "order-1".to_owned()));
        assert!(classify(&facts).anomalies.is_empty());
    }

    #[test]
    fn a_purchase_delivered_without_a_paid_order_is_an_anomaly() {
        // The order was never paid.
        let mut facts = agreeing(vec![purchase(1, PurchaseState::Delivered)]);
        facts.supplier.orders[0].status = OrderStatus::Active;
        assert_eq!(
            kinds(&classify(&facts)),
            [AnomalyKind::DeliveredWithoutPaidOrder]
        );
        // The supplier does not know the order.
        let mut facts = agreeing(vec![purchase(1, PurchaseState::Delivered)]);
        facts.supplier.orders.clear();
        facts.supplier.absent.push("order-1".to_owned());
        let report = classify(&facts);
        assert_eq!(kinds(&report), [AnomalyKind::DeliveredWithoutPaidOrder]);
        assert!(matches!(report.charges[0].outcome, Outcome::Anomaly { .. }));
        // Not seen and not read alone: a gap, not an anomaly.
        let mut facts = agreeing(vec![purchase(1, PurchaseState::Delivered)]);
        facts.supplier.orders.clear();
        let report = classify(&facts);
        assert!(report.anomalies.is_empty());
        assert_eq!(report.gaps.unverified_orders, 1);
    }

    #[test]
    fn a_delivered_purchase_without_a_finished_delivery_is_an_anomaly() {
        let mut p = purchase(1, PurchaseState::Delivered);
        p.delivery_done = false;
        assert_eq!(
            kinds(&classify(&agreeing(vec![p]))),
            [AnomalyKind::DeliveredWithoutRecord]
        );
    }

    #[test]
    fn a_refund_in_telegram_with_no_refunds_row_is_an_anomaly() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::DeadLetter)]);
        let history = facts.stars.as_mut().unwrap();
        history.transactions.push(refund("charge-1", 100));
        assert_eq!(kinds(&classify(&facts)), [AnomalyKind::RefundWithoutRecord]);
    }

    #[test]
    fn a_confirmed_refund_telegram_does_not_show_is_an_anomaly_when_its_list_is_whole() {
        let mut facts = agreeing(vec![refunded(purchase(1, PurchaseState::Refunded))]);
        let history = facts.stars.as_mut().unwrap();
        history
            .transactions
            .retain(|t| t.direction == StarDirection::Charge);
        assert_eq!(kinds(&classify(&facts)), [AnomalyKind::RefundNotInTelegram]);
        // A list cut short proves nothing missing: our confirmed row counts.
        facts.stars.as_mut().unwrap().complete = false;
        let report = classify(&facts);
        assert!(report.anomalies.is_empty(), "{:?}", report.anomalies);
        assert_eq!(report.totals.charges.refunded, 1);
        assert!(report.gaps.stars_incomplete);
    }

    #[test]
    fn a_purchase_marked_refunded_whose_stars_never_went_back_is_an_anomaly() {
        let mut p = purchase(1, PurchaseState::Refunded);
        p.refund_row = true;
        assert_eq!(
            kinds(&classify(&agreeing(vec![p]))),
            [AnomalyKind::RefundedWithoutRefund]
        );
    }

    #[test]
    fn a_charge_telegram_does_not_list_or_with_another_amount_is_an_anomaly() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::WaitingSupplier)]);
        facts.stars.as_mut().unwrap().transactions.clear();
        assert_eq!(
            kinds(&classify(&facts)),
            [AnomalyKind::PaymentNotInTelegram]
        );
        let mut facts = agreeing(vec![purchase(1, PurchaseState::WaitingSupplier)]);
        facts.stars.as_mut().unwrap().transactions[0].stars = 99;
        assert_eq!(
            kinds(&classify(&facts)),
            [AnomalyKind::ChargeAmountMismatch]
        );
    }

    #[test]
    fn a_paid_purchase_closed_by_hand_without_refund_or_codes_is_an_anomaly() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::Cancelled)]);
        facts.supplier.orders[0].status = OrderStatus::Completed;
        let report = classify(&facts);
        assert_eq!(
            kinds(&report),
            [
                AnomalyKind::ClosedKeepingStars,
                AnomalyKind::PaidOrderOfClosedPurchase
            ]
        );
    }

    #[test]
    fn a_dead_letter_is_in_progress_with_its_age_not_an_anomaly() {
        let mut p = purchase(1, PurchaseState::DeadLetter);
        p.created_at = NOW - 3 * HOUR;
        let mut facts = agreeing(vec![p]);
        facts.supplier.orders[0].status = OrderStatus::Processing;
        let report = classify(&facts);
        assert!(report.anomalies.is_empty());
        assert_eq!(report.totals.debits.in_progress, 1);
        assert_eq!(
            report.charges[0].outcome,
            Outcome::InProgress {
                state: "dead_letter".to_owned(),
                age_ms: 3 * HOUR
            }
        );
    }

    #[test]
    fn what_happened_before_the_period_is_not_judged() {
        let mut old = purchase(1, PurchaseState::Delivered);
        old.created_at = SINCE - HOUR;
        old.delivery_done = false;
        let mut facts = agreeing(vec![old]);
        for t in &mut facts.stars.as_mut().unwrap().transactions {
            t.at = SINCE - HOUR;
        }
        facts.supplier.orders[0].created_at = Some(SINCE - HOUR);
        facts.supplier.orders.push(SupplierOrderFact {
            created_at: Some(SINCE - 2 * HOUR),
            ..order("stray-old", "completed", "1")
        });
        let report = classify(&facts);
        assert!(report.anomalies.is_empty(), "{:?}", report.anomalies);
        assert_eq!(report.totals.charges.total, 0);
        assert_eq!(report.totals.debits.total, 0);
    }

    #[test]
    fn every_charge_and_debit_ends_in_exactly_one_outcome() {
        let facts = agreeing(vec![
            purchase(1, PurchaseState::Delivered),
            refunded(purchase(2, PurchaseState::Refunded)),
            purchase(3, PurchaseState::Ordering),
            refunded(purchase(4, PurchaseState::Delivered)),
        ]);
        let report = classify(&facts);
        let c = report.totals.charges;
        assert_eq!(c.total, report.charges.len());
        assert_eq!(
            c.delivered + c.refunded + c.in_progress + c.anomalies,
            c.total
        );
        let d = report.totals.debits;
        assert_eq!(
            d.delivered + d.refunded + d.in_progress + d.anomalies,
            d.total
        );
        assert_eq!(
            report.anomaly_count(),
            report.anomalies.len(),
            "each anomaly counted once"
        );
    }

    #[test]
    fn mock_orders_spend_nothing_and_unknown_amounts_are_counted_apart() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::Delivered)]);
        facts.supplier.orders[0].mock = true;
        let mut unpriced = purchase(2, PurchaseState::Delivered);
        unpriced.unit_price = None;
        facts
            .stars
            .as_mut()
            .unwrap()
            .transactions
            .push(charge("charge-2", 100));
        facts.supplier.orders.push(SupplierOrderFact {
            total: None,
            ..order("order-2", "completed", "1")
        });
        facts.purchases.push(unpriced);
        let report = classify(&facts);
        assert!(report.totals.spend.is_empty());
        assert_eq!(report.totals.unpriced_debits, 1);
    }

    #[test]
    fn supplier_timestamps_read_as_rfc3339_or_unix_time() {
        assert_eq!(created_ms("2026-01-01T00:00:00Z"), Some(1_767_225_600_000));
        assert_eq!(created_ms("1767225600"), Some(1_767_225_600_000));
        assert_eq!(created_ms("1767225600000"), Some(1_767_225_600_000));
        assert_eq!(created_ms("yesterday"), None);
    }

    #[test]
    fn the_report_reads_in_both_languages_with_every_anomaly_kind() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::WaitingSupplier)]);
        facts.supplier.complete = false;
        facts.supplier.unreadable = 2;
        let mut report = classify(&facts);
        report.anomalies = AnomalyKind::ALL
            .into_iter()
            .map(|kind| Anomaly {
                kind,
                purchase: Some(7),
                charge: Some("stx<1>".to_owned()),
                order: Some("order-7".to_owned()),
            })
            .collect();
        for lang in Language::ALL {
            let text = render(&report, lang, &crate::delivery::render::escape);
            for line in text.lines() {
                assert!(
                    !line.starts_with("audit-"),
                    "{lang:?}: a key with no text: {line}"
                );
            }
            assert!(
                text.contains("#7") && text.contains("stx&lt;1&gt;"),
                "{text}"
            );
            assert!(!text.contains('\u{2068}'), "no isolation marks");
        }
        let en = render(&report, Language::En, &|s| s.to_owned());
        assert!(en.contains("13 anomalies"), "{en}");
        assert!(en.contains("STARS_PER_USD = 100"), "{en}");
        assert!(en.contains("2 supplier history rows"), "{en}");
        assert!(en.contains("#1 waiting_supplier for 60 minutes"), "{en}");
        let ok = render(&classify(&agreeing(vec![])), Language::En, &|s| {
            s.to_owned()
        });
        assert!(ok.contains("No anomalies"), "{ok}");
    }

    #[test]
    fn the_json_report_names_outcomes_and_kinds() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::Delivered)]);
        facts.supplier.orders.push(order("stray", "paid", "2.50"));
        let json = serde_json::to_value(classify(&facts)).unwrap();
        assert_eq!(json["charges"][0]["outcome"], "delivered");
        assert_eq!(json["debits"][1]["outcome"], "anomaly");
        assert_eq!(json["debits"][1]["kind"], "unlinked_paid_order");
        assert_eq!(json["anomalies"][0]["order"], "stray");
        assert_eq!(json["totals"]["spend"]["USD"], "3.49");
    }
}
