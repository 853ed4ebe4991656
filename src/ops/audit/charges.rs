//! Each Star charge of the period, judged: Telegram's list against our
//! purchase and refund rows. A charge with a purchase is held to [`RULES`],
//! one named rule per kind of finding, tried in order; the first that holds
//! is its anomaly. A charge no rule catches ends where its purchase stands.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::classify::{anomaly, progress};
use super::facts::{Facts, StarDirection, StarHistory};
use super::report::{Anomaly, AnomalyKind, ChargeLine, Outcome};
use crate::clock::Millis;
use crate::domain::PurchaseState;
use crate::store::AuditPurchase;

/// Telegram's side of the Stars, read once from its list.
#[derive(Debug, Default)]
pub(super) struct Telegram<'a> {
    /// Its list was read in full back past the period's start: a charge or
    /// a refund it lacks is really missing.
    complete: bool,
    /// Stars of every charge listed, the period's and older.
    charged: BTreeMap<&'a str, i64>,
    /// The charges listed in the period.
    charged_in_period: BTreeSet<&'a str>,
    /// Charges whose Stars went back.
    refunded: BTreeSet<&'a str>,
    /// Stars charged in the period.
    pub taken: i64,
    /// Stars returned in the period.
    pub returned: i64,
}

impl<'a> Telegram<'a> {
    /// `None`: Telegram was not read, so it proves nothing missing.
    pub(super) fn read(stars: Option<&'a StarHistory>, since: Millis) -> Self {
        let mut t = Telegram {
            complete: stars.is_some_and(|h| h.complete),
            ..Telegram::default()
        };
        for tx in stars.iter().flat_map(|h| &h.transactions) {
            let in_period = tx.at >= since;
            match tx.direction {
                StarDirection::Charge => {
                    t.charged.insert(&tx.id, tx.stars);
                    if in_period {
                        t.taken += tx.stars;
                        t.charged_in_period.insert(&tx.id);
                    }
                }
                StarDirection::Refund => {
                    t.refunded.insert(&tx.id);
                    if in_period {
                        t.returned += tx.stars;
                    }
                }
            }
        }
        t
    }

    /// What Telegram shows of `charge`, paid for `purchase`.
    fn charge<'p>(&self, charge: &str, purchase: &'p AuditPurchase) -> Charge<'p> {
        Charge {
            purchase,
            telegram_stars: self.charged.get(charge).copied(),
            refunded_in_telegram: self.refunded.contains(charge),
            list_complete: self.complete,
        }
    }
}

/// What is known of one charge that has a purchase.
#[derive(Debug, Clone, Copy)]
struct Charge<'a> {
    purchase: &'a AuditPurchase,
    /// Telegram's amount; `None`: not in its list.
    telegram_stars: Option<i64>,
    refunded_in_telegram: bool,
    /// Telegram's list was read in full.
    list_complete: bool,
}

impl Charge<'_> {
    /// Stars back: Telegram says so, or (when its list was not read in
    /// full) Telegram confirmed our refund call.
    fn stars_back(&self) -> bool {
        self.refunded_in_telegram || (!self.list_complete && self.purchase.refund_confirmed)
    }
}

/// Holds when a charge shows its kind of finding.
type Rule = fn(&Charge) -> bool;

/// The rules a charge with a purchase is held to, in order: the first that
/// holds names its anomaly.
const RULES: [(AnomalyKind, Rule); 7] = [
    (AnomalyKind::ChargeAmountMismatch, amount_differs),
    (AnomalyKind::PaymentNotInTelegram, not_in_telegram),
    (AnomalyKind::RefundWithoutRecord, refund_without_row),
    (
        AnomalyKind::RefundNotInTelegram,
        confirmed_refund_not_in_telegram,
    ),
    (AnomalyKind::DeliveredAndRefunded, codes_and_stars_kept),
    (AnomalyKind::RefundedWithoutRefund, refunded_keeping_stars),
    (AnomalyKind::ClosedKeepingStars, closed_keeping_stars),
];

/// Telegram took another amount than the purchase's.
fn amount_differs(c: &Charge) -> bool {
    c.telegram_stars
        .is_some_and(|stars| stars != c.purchase.stars)
}

/// We recorded a charge Telegram does not list. Only a full read of its
/// list proves a charge is not in it.
fn not_in_telegram(c: &Charge) -> bool {
    c.list_complete && c.telegram_stars.is_none()
}

/// Stars went back and we have no refunds row: a refund we did not make,
/// or did not record.
fn refund_without_row(c: &Charge) -> bool {
    c.refunded_in_telegram && !c.purchase.refund_row
}

/// Our row says Telegram confirmed a refund its full list does not show.
fn confirmed_refund_not_in_telegram(c: &Charge) -> bool {
    c.list_complete && c.purchase.refund_confirmed && !c.refunded_in_telegram
}

/// The Stars are back and the codes were delivered, or being sent.
fn codes_and_stars_kept(c: &Charge) -> bool {
    let codes_out = match c.purchase.state {
        PurchaseState::Delivered => true,
        // Closed with their own rules below; a refund in progress may
        // already have gone through.
        PurchaseState::Refunded | PurchaseState::Cancelled | PurchaseState::Refunding => false,
        _ => c.purchase.delivery_started,
    };
    codes_out && c.stars_back()
}

/// The purchase says refunded, and the Stars were not returned.
fn refunded_keeping_stars(c: &Charge) -> bool {
    c.purchase.state == PurchaseState::Refunded && !c.stars_back()
}

/// Closed by hand, and the Stars were not returned.
fn closed_keeping_stars(c: &Charge) -> bool {
    c.purchase.state == PurchaseState::Cancelled && !c.stars_back()
}

/// How a charge with a purchase ended: the first rule that holds, else the
/// delivered purchase's own finding, else where the purchase stands.
fn charge_outcome(c: &Charge, finding: Option<AnomalyKind>, now: Millis) -> Outcome {
    let found = RULES
        .iter()
        .find(|(_, holds)| holds(c))
        .map(|(kind, _)| *kind);
    if let Some(kind) = found.or(finding) {
        return anomaly(kind);
    }
    match c.purchase.state {
        PurchaseState::Delivered => Outcome::Delivered,
        // The rules above leave these only with the Stars back.
        PurchaseState::Refunded | PurchaseState::Cancelled => Outcome::Refunded,
        _ => progress(c.purchase, now),
    }
}

/// The period's charges: Telegram's, and ours recorded in the period.
fn period_charges<'a>(facts: &'a Facts, telegram: &Telegram<'a>) -> BTreeSet<&'a str> {
    let ours = facts
        .purchases
        .iter()
        .filter(|p| p.created_at >= facts.since)
        .filter_map(|p| p.charge.as_deref());
    telegram
        .charged_in_period
        .iter()
        .copied()
        .chain(ours)
        .collect()
}

/// The period's charges, judged, with their anomalies.
#[derive(Debug, Default)]
pub(super) struct Charges {
    pub lines: Vec<ChargeLine>,
    pub anomalies: Vec<Anomaly>,
}

/// Judges every charge of the period; `findings` are the delivered
/// purchases' own (see `purchases`).
pub(super) fn judge(
    facts: &Facts,
    telegram: &Telegram,
    findings: &HashMap<i64, AnomalyKind>,
) -> Charges {
    let by_charge: HashMap<&str, &AuditPurchase> = facts
        .purchases
        .iter()
        .filter_map(|p| p.charge.as_deref().map(|c| (c, p)))
        .collect();
    let mut out = Charges::default();
    for charge in period_charges(facts, telegram) {
        let purchase = by_charge.get(charge).copied();
        let outcome = match purchase {
            None if telegram.refunded.contains(charge) => Outcome::Refunded,
            None => anomaly(AnomalyKind::ChargeWithoutPurchase),
            Some(p) => {
                let finding = findings.get(&p.id).copied();
                charge_outcome(&telegram.charge(charge, p), finding, facts.now)
            }
        };
        if let Outcome::Anomaly { kind } = outcome {
            out.anomalies.push(Anomaly {
                kind,
                purchase: purchase.map(|p| p.id),
                charge: Some(charge.to_owned()),
                order: purchase.and_then(|p| p.supplier_order.clone()),
            });
        }
        let stars = telegram.charged.get(charge).copied();
        out.lines.push(ChargeLine {
            charge: charge.to_owned(),
            stars: stars.or(purchase.map(|p| p.stars)).unwrap_or(0),
            purchase: purchase.map(|p| p.id),
            outcome,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::audit::fixtures::{NOW, purchase, refunded};

    fn listed(p: &AuditPurchase) -> Charge<'_> {
        Charge {
            purchase: p,
            telegram_stars: Some(p.stars),
            refunded_in_telegram: p.refund_confirmed,
            list_complete: true,
        }
    }

    fn holding(c: &Charge) -> Vec<AnomalyKind> {
        RULES
            .iter()
            .filter(|(_, holds)| holds(c))
            .map(|(kind, _)| *kind)
            .collect()
    }

    #[test]
    fn a_charge_telegram_agrees_with_breaks_no_rule() {
        for state in [
            PurchaseState::Delivered,
            PurchaseState::WaitingSupplier,
            PurchaseState::Refunding,
        ] {
            let p = purchase(1, state);
            assert_eq!(holding(&listed(&p)), [], "{state:?}");
        }
        for state in [PurchaseState::Refunded, PurchaseState::Cancelled] {
            let p = refunded(purchase(1, state));
            assert_eq!(holding(&listed(&p)), [], "{state:?}");
        }
    }

    #[test]
    fn the_first_rule_that_holds_names_the_anomaly() {
        // Another amount, and Stars back with no refunds row: the amount
        // is named.
        let p = purchase(1, PurchaseState::Delivered);
        let c = Charge {
            telegram_stars: Some(99),
            refunded_in_telegram: true,
            ..listed(&p)
        };
        assert_eq!(
            holding(&c),
            [
                AnomalyKind::ChargeAmountMismatch,
                AnomalyKind::RefundWithoutRecord,
                AnomalyKind::DeliveredAndRefunded
            ]
        );
        assert_eq!(
            charge_outcome(&c, None, NOW),
            anomaly(AnomalyKind::ChargeAmountMismatch)
        );
    }

    #[test]
    fn without_telegrams_whole_list_a_confirmed_refund_counts_as_stars_back() {
        let p = refunded(purchase(1, PurchaseState::Refunded));
        let c = Charge {
            telegram_stars: None,
            refunded_in_telegram: false,
            list_complete: false,
            ..listed(&p)
        };
        assert_eq!(holding(&c), []);
        assert_eq!(charge_outcome(&c, None, NOW), Outcome::Refunded);
    }
}
