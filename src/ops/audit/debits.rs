//! Each supplier debit of the period, judged: an order the supplier took
//! money for belongs to exactly one purchase, which was delivered, refunded
//! or is in progress. And the spend those debits add up to.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::classify::{anomaly, progress};
use super::facts::{Facts, SupplierOrderFact};
use super::report::{Anomaly, AnomalyKind, DebitLine, Outcome};
use crate::clock::Millis;
use crate::domain::{Money, PurchaseState};
use crate::store::AuditPurchase;

/// Supplier spend by currency, and the debits whose amount is not known.
#[derive(Debug, Default)]
pub(super) struct Spend {
    pub by_currency: BTreeMap<String, Money>,
    pub unpriced: usize,
}

impl Spend {
    fn add(&mut self, currency: &str, amount: Option<Money>) {
        match amount {
            Some(a) => {
                let sum = self
                    .by_currency
                    .entry(currency.to_owned())
                    .or_insert(Money::ZERO);
                *sum = Money::new(sum.decimal() + a.decimal());
            }
            None => self.unpriced += 1,
        }
    }
}

/// The period's debits, judged, with their anomalies and their spend.
#[derive(Debug, Default)]
pub(super) struct Debits {
    pub lines: Vec<DebitLine>,
    pub anomalies: Vec<Anomaly>,
    pub spend: Spend,
}

/// Every purchase each order is tied to: by the purchase's link, or by
/// one of its attempts'.
fn ties(facts: &Facts) -> HashMap<&str, BTreeSet<i64>> {
    let mut tied: HashMap<&str, BTreeSet<i64>> = HashMap::new();
    for p in &facts.purchases {
        if let Some(order) = p.supplier_order.as_deref() {
            tied.entry(order).or_default().insert(p.id);
        }
    }
    for (purchase, order) in &facts.links {
        tied.entry(order.as_str()).or_default().insert(*purchase);
    }
    tied
}

/// How a debit stands, given the purchases tied to it.
fn tied_outcome(purchases: &[i64], by_id: &HashMap<i64, &AuditPurchase>, now: Millis) -> Outcome {
    match purchases {
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

/// What a debit cost and in which currency: the supplier's figures, else
/// those of the (first) purchase tied to it.
fn price(o: &SupplierOrderFact, purchase: Option<&AuditPurchase>) -> (Option<Money>, String) {
    let currency = o
        .currency
        .clone()
        .or_else(|| purchase.map(|p| p.currency.clone()))
        .unwrap_or_else(|| "USD".to_owned())
        .to_ascii_uppercase();
    let amount = o.total.or_else(|| purchase.and_then(|p| p.cost()));
    (amount, currency)
}

/// Judges every order the supplier debited in the period, each once.
pub(super) fn judge(facts: &Facts) -> Debits {
    let tied = ties(facts);
    let by_id: HashMap<i64, &AuditPurchase> = facts.purchases.iter().map(|p| (p.id, p)).collect();
    let mut out = Debits::default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for o in &facts.supplier.orders {
        if !o.debited() || o.created_at.is_some_and(|at| at < facts.since) || !seen.insert(&o.id) {
            continue;
        }
        let purchases: Vec<i64> = tied
            .get(o.id.as_str())
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let outcome = tied_outcome(&purchases, &by_id, facts.now);
        if let Outcome::Anomaly { kind } = outcome {
            out.anomalies.push(Anomaly {
                kind,
                purchase: purchases.first().copied(),
                charge: None,
                order: Some(o.id.clone()),
            });
        }
        let first = purchases.first().and_then(|id| by_id.get(id)).copied();
        let (amount, currency) = price(o, first);
        // A mock order moves no money.
        if !o.mock {
            out.spend.add(&currency, amount);
        }
        out.lines.push(DebitLine {
            order: o.id.clone(),
            status: o.status.as_str().to_owned(),
            amount,
            currency,
            purchases,
            outcome,
        });
    }
    out
}
