//! The audit's judgement, pure: [`classify`] puts together the delivered
//! purchases' own checks (`purchases`), every Star charge (`charges`) and
//! every supplier debit (`debits`) of the period, with the totals and what
//! the facts could not show.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use super::charges::{self, Telegram};
use super::debits::{self, Spend};
use super::facts::Facts;
use super::purchases;
use super::report::{
    Anomaly, AnomalyKind, ChargeLine, Counts, DebitLine, Gaps, Outcome, Report, Totals,
};
use crate::clock::Millis;
use crate::domain::Money;
use crate::store::AuditPurchase;

pub(super) fn anomaly(kind: AnomalyKind) -> Outcome {
    Outcome::Anomaly { kind }
}

/// A purchase's standing on our side alone.
pub(super) fn progress(p: &AuditPurchase, now: Millis) -> Outcome {
    Outcome::InProgress {
        state: p.state.as_str().to_owned(),
        age_ms: now.saturating_sub(p.created_at).max(0),
    }
}

/// Judges every charge and every debit of the period. Pure.
pub fn classify(facts: &Facts) -> Report {
    let delivered = purchases::check_delivered(facts);
    let telegram = Telegram::read(facts.stars.as_ref(), facts.since);
    let charges = charges::judge(facts, &telegram, &delivered.findings);
    let debits = debits::judge(facts);
    // One anomaly seen from two sides (a delivered purchase's and its
    // charge's) is listed once.
    let anomalies: BTreeSet<Anomaly> = delivered
        .anomalies
        .into_iter()
        .chain(charges.anomalies)
        .chain(debits.anomalies)
        .collect();
    Report {
        since: facts.since,
        now: facts.now,
        totals: totals(
            facts,
            &telegram,
            &charges.lines,
            &debits.lines,
            debits.spend,
        ),
        gaps: gaps(facts, delivered.unverified),
        charges: charges.lines,
        debits: debits.lines,
        anomalies: anomalies.into_iter().collect(),
    }
}

/// The tallies, the Stars and the spend of the period.
fn totals(
    facts: &Facts,
    telegram: &Telegram,
    charges: &[ChargeLine],
    debits: &[DebitLine],
    spend: Spend,
) -> Totals {
    let stars_net = telegram.taken - telegram.returned;
    Totals {
        charges: Counts::of(charges.iter().map(|c| &c.outcome)),
        debits: Counts::of(debits.iter().map(|d| &d.outcome)),
        stars_taken: telegram.taken,
        stars_refunded: telegram.returned,
        stars_net,
        margin_usd: margin_usd(stars_net, &spend.by_currency, facts.stars_per_usd),
        spend: spend.by_currency,
        unpriced_debits: spend.unpriced,
        stars_per_usd: facts.stars_per_usd,
    }
}

/// Net Stars at the configured rate less the USD spend, to the cent;
/// `None` without a rate.
fn margin_usd(
    stars_net: i64,
    spend: &BTreeMap<String, Money>,
    stars_per_usd: Decimal,
) -> Option<Money> {
    (!stars_per_usd.is_zero()).then(|| {
        let usd = spend.get("USD").map_or(Decimal::ZERO, |m| m.decimal());
        let net = Decimal::from(stars_net) / stars_per_usd;
        Money::new((net - usd).round_dp(2))
    })
}

/// What the facts could not show.
fn gaps(facts: &Facts, unverified: usize) -> Gaps {
    let (stars_read, stars_complete) = match &facts.stars {
        Some(h) => (true, h.complete),
        None => (false, false),
    };
    Gaps {
        stars_not_read: !stars_read,
        stars_incomplete: stars_read && !stars_complete,
        history_incomplete: !facts.supplier.complete,
        unreadable_rows: facts.supplier.unreadable,
        unverified_orders: unverified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PurchaseState;
    use crate::foxreload::OrderStatus;
    use crate::ops::audit::facts::{StarDirection, SupplierOrderFact};
    use crate::ops::audit::fixtures::*;

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
}
