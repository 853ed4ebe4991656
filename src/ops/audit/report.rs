//! What the audit found: how each charge and each debit of the period
//! ended, the anomalies, the totals, and what it could not see. Plain data
//! (serialized as is by `foxbot audit --json`); [`render`](fn@super::render)
//! words it for people.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::clock::Millis;
use crate::domain::Money;

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
    /// The tally of `outcomes`, each counted once in `total` and once in
    /// its own column.
    pub(super) fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Counts {
        let mut counts = Counts::default();
        outcomes.into_iter().for_each(|o| counts.add(o));
        counts
    }

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

#[cfg(test)]
mod tests {
    use crate::domain::PurchaseState;
    use crate::ops::audit::classify;
    use crate::ops::audit::fixtures::{agreeing, order, purchase};

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
