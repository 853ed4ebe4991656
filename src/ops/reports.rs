//! What the admin commands read (/stalled, /balance, /order, /stats):
//! reports over the ledger and the supplier, apart from the engine.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::clock::{Millis, millis};
use crate::domain::{Money, PurchaseState, SupplierOrderId};
use crate::engine::supplier_read;
use crate::foxreload::{Balance, FoxReload, SupplierError};
use crate::store::{CostRow, Purchase, Store, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// `/stalled`: dead letters and purchases unfinished past the stall alert.
#[derive(Debug, Clone, Default)]
pub struct Stalled {
    /// Oldest purchase first.
    pub purchases: Vec<Purchase>,
    /// Rows that could not be read: `(id, problem)`.
    pub unreadable: Vec<(i64, String)>,
    /// How many there are in all (more than listed when over the limit).
    pub total: i64,
    /// The threshold used (`STALL_ALERT_SECS`).
    pub threshold: Duration,
}

/// Wholesale money paid, per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spend {
    /// Currency (upper case) → amount.
    pub by_currency: BTreeMap<String, Money>,
    /// Purchases counted.
    pub orders: usize,
    /// Purchases left out: their price was never known.
    pub unpriced: usize,
}

/// Sums the wholesale cost (unit price × quantity, exact) of `rows`.
pub fn spend(rows: &[CostRow]) -> Spend {
    let mut out = Spend::default();
    for row in rows {
        let Some(cost) = row.unit_price.and_then(|u| u.times(row.quantity)) else {
            out.unpriced += 1;
            continue;
        };
        let entry = out
            .by_currency
            .entry(row.currency.to_ascii_uppercase())
            .or_insert(Money::ZERO);
        match entry.decimal().checked_add(cost.decimal()) {
            Some(sum) => {
                *entry = Money::new(sum);
                out.orders += 1;
            }
            None => out.unpriced += 1,
        }
    }
    out
}

/// How long `balance` lasts if `spent` goes every `window`; `None` when
/// nothing was spent (it lasts as long as nothing is bought).
pub fn runway(balance: Money, spent: Money, window: Duration) -> Option<Duration> {
    if spent.decimal() <= Decimal::ZERO {
        return None;
    }
    if balance.decimal() <= Decimal::ZERO {
        return Some(Duration::ZERO);
    }
    let window_ms = Decimal::from(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
    let ms = balance
        .decimal()
        .checked_mul(window_ms)
        .and_then(|m| m.checked_div(spent.decimal()))
        .and_then(|m| u64::try_from(m.trunc()).ok())
        .unwrap_or(u64::MAX);
    Some(Duration::from_millis(ms))
}

/// `/balance`: what the supplier holds, what went to it lately, and how
/// long the balance lasts at that rate.
#[derive(Debug)]
pub struct BalanceReport {
    pub balances: std::result::Result<Vec<Balance>, SupplierError>,
    pub spent: Spend,
    /// The span `spent` covers.
    pub window: Duration,
}

impl BalanceReport {
    /// How long the balance in `currency` lasts at the recent rate.
    pub fn runway(&self, balance: &Balance) -> Option<Duration> {
        let spent = self
            .spent
            .by_currency
            .get(&balance.currency.to_ascii_uppercase())?;
        runway(balance.amount, *spent, self.window)
    }
}

/// `/stats`: today's figures (UTC day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStats {
    /// The day's first instant.
    pub day: Millis,
    pub purchases: i64,
    pub delivered: usize,
    pub refunded: i64,
    pub refunded_stars: i64,
    /// Stars of the purchases delivered today.
    pub revenue_stars: i64,
    /// Wholesale cost of the purchases delivered today.
    pub cost: Spend,
}

const DAY_MS: Millis = 24 * 3_600_000;

/// The UTC day `now` falls in: `[start, end)`.
pub fn utc_day(now: Millis) -> (Millis, Millis) {
    let start = now.div_euclid(DAY_MS) * DAY_MS;
    (start, start.saturating_add(DAY_MS))
}

/// What `/order` was given: a purchase id (`42`, `#42`), or text to match
/// against supplier order ids and Telegram charge ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    Purchase(i64),
    Text(String),
}

impl OrderRef {
    pub fn parse(text: &str) -> Option<OrderRef> {
        let text = text.trim();
        let digits = text.strip_prefix('#').unwrap_or(text);
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            return digits
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(OrderRef::Purchase);
        }
        let plausible = !text.is_empty()
            && text.len() <= 128
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        plausible.then(|| OrderRef::Text(text.to_owned()))
    }
}

/// Every state a purchase can be unfinished in: `/stalled` lists those past
/// the stall alert (besides every dead letter).
fn unfinished() -> Vec<PurchaseState> {
    PurchaseState::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .collect()
}

/// The span `/balance` sums spending over.
const SPEND_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Every dead letter and every purchase unfinished past `stall_alert` at
/// `now`, oldest first, up to `limit`.
pub async fn stalled(
    store: &Store,
    stall_alert: Duration,
    now: Millis,
    limit: i64,
) -> Result<Stalled> {
    let threshold = stall_alert;
    let stuck_before = now.saturating_sub(millis(threshold));
    let (ids, total) = store
        .stalled_ids(&unfinished(), stuck_before, limit)
        .await?;
    let mut out = Stalled {
        total,
        threshold,
        ..Stalled::default()
    };
    for id in ids {
        match store.purchase(id).await {
            Ok(Some(p)) => out.purchases.push(p),
            Ok(None) => {}
            Err(e) => out.unreadable.push((id, e.to_string())),
        }
    }
    Ok(out)
}

/// The purchase `r` names, if any.
pub async fn find_purchase(store: &Store, r: &OrderRef) -> Result<Option<Purchase>> {
    Ok(match r {
        OrderRef::Purchase(id) => store.purchase(*id).await?,
        OrderRef::Text(text) => {
            let by_order = match SupplierOrderId::parse(text) {
                Ok(order) => store.purchase_by_order(&order).await?,
                Err(_) => None,
            };
            match by_order {
                Some(p) => Some(p),
                None => store.purchase_by_charge(text).await?,
            }
        }
    })
}

/// Supplier balances and what was paid to the supplier in the last 24 h
/// before `now`.
pub async fn balance_report(
    store: &Store,
    supplier: &FoxReload,
    now: Millis,
) -> Result<BalanceReport> {
    let balances = supplier_read(|| supplier.balances()).await;
    let rows = store
        .supplier_paid_between(
            now.saturating_sub(millis(SPEND_WINDOW)),
            now.saturating_add(1),
        )
        .await?;
    Ok(BalanceReport {
        balances,
        spent: spend(&rows),
        window: SPEND_WINDOW,
    })
}

/// The figures of the UTC day `now` falls in.
pub async fn day_stats(store: &Store, now: Millis) -> Result<DayStats> {
    let (start, end) = utc_day(now);
    let figures = store.figures_between(start, end).await?;
    Ok(DayStats {
        day: start,
        purchases: figures.purchases,
        delivered: figures.delivered.len(),
        refunded: figures.refunded,
        refunded_stars: figures.refunded_stars,
        revenue_stars: figures.delivered.iter().map(|r| r.stars).sum(),
        cost: spend(&figures.delivered),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Span, span};

    const NOW: Millis = 1_700_000_000_000;

    #[test]
    fn spending_is_summed_exactly_per_currency() {
        let row = |price: Option<&str>, quantity: i64, currency: &str| CostRow {
            purchase_id: 1,
            unit_price: price.map(|p| Money::parse(p).unwrap()),
            quantity,
            currency: currency.to_owned(),
            stars: 10,
        };
        let s = spend(&[
            row(Some("0.10"), 3, "usd"),
            row(Some("0.20"), 1, "USD"),
            row(None, 1, "USD"),
            row(Some("5"), 2, "RUB"),
        ]);
        assert_eq!(s.by_currency["USD"], Money::parse("0.5").unwrap());
        assert_eq!(s.by_currency["RUB"], Money::parse("10").unwrap());
        assert_eq!((s.orders, s.unpriced), (3, 1));
    }

    #[test]
    fn the_balance_lasts_in_proportion_to_the_spending() {
        let day = Duration::from_secs(86_400);
        let m = |s: &str| Money::parse(s).unwrap();
        assert_eq!(runway(m("100"), m("50"), day), Some(day * 2));
        assert_eq!(runway(m("100"), m("0"), day), None);
        assert_eq!(runway(m("-3"), m("1"), day), Some(Duration::ZERO));
        assert_eq!(
            runway(m("1"), m("3"), day),
            Some(Duration::from_millis(28_800_000))
        );
    }

    #[test]
    fn days_spans_and_references_read_well() {
        let (start, end) = utc_day(NOW);
        assert_eq!(start % DAY_MS, 0);
        assert!(start <= NOW && NOW < end);
        assert_eq!(span(16_000), Span::Seconds(16));
        assert_eq!(span(600_000), Span::Minutes(10));
        assert_eq!(span(3 * 3_600_000 + 300_000), Span::Hours(3, 5));
        assert_eq!(span(3 * DAY_MS + 7_200_000), Span::Days(3, 2));
        assert_eq!(OrderRef::parse("42"), Some(OrderRef::Purchase(42)));
        assert_eq!(OrderRef::parse(" #42 "), Some(OrderRef::Purchase(42)));
        assert_eq!(OrderRef::parse("#0"), None);
        assert_eq!(OrderRef::parse("99999999999999999999"), None);
        assert_eq!(
            OrderRef::parse("3f2a-99_x"),
            Some(OrderRef::Text("3f2a-99_x".to_owned()))
        );
        assert_eq!(OrderRef::parse("a b"), None);
        assert_eq!(OrderRef::parse(""), None);
        assert_eq!(OrderRef::parse("<script>"), None);
    }
}
