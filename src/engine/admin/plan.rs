//! The pure decision: what an admin's action does to a purchase, from
//! facts read beforehand ([`Facts`]), so that the rules that keep the money
//! safe are tested on their own.

use super::Action;
use crate::clock::Millis;
use crate::domain::{Money, PurchaseSource, PurchaseState, SupplierOrderId};
use crate::store::{AttemptState, Purchase, RefundState, SupplierAttempt};

/// What the ledger says of the buyer's codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodesReach {
    /// Parts of the delivery confirmed sent (`delivery_log`).
    pub parts_sent: i64,
    /// A part may have arrived: a send was in flight or its outcome is
    /// unknown.
    pub send_in_doubt: bool,
    /// Codes are stored and not withdrawn: the buyer can view them in
    /// `/orders`.
    pub viewable: bool,
    /// An admin withdrew them with a "refund anyway".
    pub withdrawn: bool,
}

impl CodesReach {
    /// The buyer has, or may have, the codes.
    pub fn reached_buyer(&self) -> bool {
        self.parts_sent > 0 || self.send_in_doubt || self.viewable
    }
}

/// Whether the supplier took money for the purchase's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SupplierPaid {
    /// No order is linked, or it was never paid.
    #[default]
    No,
    /// A pay may have been sent; the order's status has not shown it yet.
    Maybe,
    /// The order is paid (its status or events show it).
    Yes,
}

/// Wholesale money a refund leaves with the supplier (there is no supplier
/// refund endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierCost {
    /// Paid for certain (else: a pay may have been sent).
    pub certain: bool,
    /// Unit price × quantity; `None` when the price was never known.
    pub amount: Option<Money>,
    pub currency: String,
}

/// What [`plan`] decides from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub purchase: &'a Purchase,
    /// Every supplier create the purchase started.
    pub attempts: &'a [SupplierAttempt],
    /// The supplier delivered only part of the order (a `partial_delivery`
    /// alert was raised for it).
    pub partial_delivery: bool,
    /// Orders of this purchase the engine saw expire unpaid (`order_expired`):
    /// they can never take money.
    pub expired_orders: &'a [SupplierOrderId],
    /// The delivery and the stored codes.
    pub codes: CodesReach,
    /// The purchase's `refunds` row, in any state.
    pub refund: Option<RefundState>,
    /// What the supplier was paid for the linked order.
    pub supplier_paid: SupplierPaid,
    pub now: Millis,
}

/// What an action will do to a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Due now, in the same state: its worker looks again at once (the
    /// poller reads a watched order on its own).
    DueNow,
    /// A dead letter's supplier order is read now; nothing moves.
    ReadOrder(SupplierOrderId),
    /// A dead letter goes back to work.
    Retry(Retry),
    /// To `refunding`: the Stars go back (a purchase not paid in Stars is
    /// closed as cancelled, with an alert).
    Refund {
        /// Part of the codes was delivered: the whole payment is refunded
        /// anyway (Telegram refunds whole charges only).
        partial: bool,
        /// Paid in Stars: a refund Telegram carries out.
        in_stars: bool,
        /// A "refund anyway": the codes reached the buyer and are withdrawn
        /// from `/orders`.
        withdraw_codes: bool,
        /// The supplier was paid (or maybe paid): this wholesale money is
        /// not coming back.
        cost: Option<SupplierCost>,
    },
    /// To `cancelled`: settled by hand.
    Close,
}

/// Where a retried dead letter goes: never a path that may create a
/// second paid supplier order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// `waiting_supplier`: the linked order is read again by the poller
    /// (and paid, if a fresh read shows it unpaid, by the engine's one pay
    /// path); a create is never sent from there.
    Watch(SupplierOrderId),
    /// `reconciling`: this create may have made an order; the supplier's
    /// history decides, from scratch, before anything else is sent.
    Reconcile { attempt: i64 },
    /// `ordering`: no order can exist (every create was refused, never
    /// left, was proven absent, or made an order that expired unpaid).
    Order,
}

impl Retry {
    pub fn state(&self) -> PurchaseState {
        match self {
            Retry::Watch(_) => PurchaseState::WaitingSupplier,
            Retry::Reconcile { .. } => PurchaseState::Reconciling,
            Retry::Order => PurchaseState::Ordering,
        }
    }
}

/// Why an action is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Delivered (in full), refunded or cancelled: nothing to do.
    Finished(PurchaseState),
    /// Delivered in full: there is nothing to refund.
    DeliveredInFull,
    /// A dead letter whose codes reached the buyer (a part sent or maybe
    /// sent, or viewable in `/orders`): delivered, so only an explicit
    /// "refund anyway" refunds it.
    CodesReachedBuyer,
    /// A refund is claimed or may have gone through (a `refunds` row, or
    /// codes withdrawn): putting it back to work could deliver codes the
    /// buyer got their Stars back for.
    RefundUnderway,
    AlreadyRefunding,
    /// A worker holds the purchase right now.
    Busy,
    /// The codes are being sent.
    Delivering,
    /// Whether a supplier order exists is not known yet: a refund now could
    /// leave a paid order behind.
    CreateInDoubt,
    /// A re-check of a dead letter that has no supplier order to read.
    NoOrderToRead,
    /// More than one create may have made an order (or one made an order
    /// that is neither linked nor known to have expired): a retry could pay
    /// for a second one. A person checks the supplier account.
    UnclearAttempts,
    /// Still being worked: only a dead letter or a stuck refund is closed
    /// by hand.
    StillWorked(PurchaseState),
}

/// Decides what `action` does to the purchase in `facts`.
pub fn plan(action: Action, facts: &Facts<'_>) -> std::result::Result<Plan, Refusal> {
    use PurchaseState::*;
    let p = facts.purchase;
    let state = p.state;
    if matches!(state, Refunded | Cancelled) {
        return Err(Refusal::Finished(state));
    }
    let in_stars =
        p.source == PurchaseSource::Telegram && p.stars > 0 && p.telegram_charge_id.is_some();
    let refund = |partial: bool, withdraw_codes: bool| {
        Ok(Plan::Refund {
            partial,
            in_stars,
            withdraw_codes,
            cost: supplier_cost(p, facts.supplier_paid),
        })
    };
    match action {
        Action::Recheck | Action::Retry if state == Delivered => Err(Refusal::Finished(state)),
        Action::Recheck if state == DeadLetter => p
            .supplier_order_id
            .clone()
            .map(Plan::ReadOrder)
            .ok_or(Refusal::NoOrderToRead),
        // Back to work after a refund was claimed, the buyer could get the
        // codes and the Stars both.
        Action::Retry
            if state == DeadLetter && (facts.refund.is_some() || facts.codes.withdrawn) =>
        {
            Err(Refusal::RefundUnderway)
        }
        Action::Retry if state == DeadLetter => retry(facts).map(Plan::Retry),
        // A live purchase is already where its worker resumes safely:
        // retrying it is looking again now.
        Action::Recheck | Action::Retry => Ok(Plan::DueNow),
        // The codes reached the buyer: refunding is giving away the goods,
        // which only the explicit action does (and it withdraws the codes).
        Action::RefundAnyway if state == DeadLetter => {
            refund(facts.partial_delivery, facts.codes.reached_buyer())
        }
        Action::Refund | Action::RefundAnyway => match state {
            Delivered if facts.partial_delivery => refund(true, false),
            Delivered => Err(Refusal::DeliveredInFull),
            Refunding => Err(Refusal::AlreadyRefunding),
            Delivering => Err(Refusal::Delivering),
            DeadLetter if facts.codes.reached_buyer() => Err(Refusal::CodesReachedBuyer),
            DeadLetter => refund(facts.partial_delivery, false),
            Submitting | Reconciling => Err(Refusal::CreateInDoubt),
            _ if leased(p, facts.now) => Err(Refusal::Busy),
            _ if facts.attempts.iter().any(|a| a.state.is_unresolved()) => {
                Err(Refusal::CreateInDoubt)
            }
            _ => refund(false, false),
        },
        Action::Close => match state {
            Delivered => Err(Refusal::Finished(state)),
            DeadLetter => Ok(Plan::Close),
            Refunding if leased(p, facts.now) => Err(Refusal::Busy),
            Refunding => Ok(Plan::Close),
            other => Err(Refusal::StillWorked(other)),
        },
    }
}

/// The wholesale money a refund of `p` leaves with the supplier, if it was
/// paid or maybe paid: the re-quoted unit price if there was one, else the
/// one the sale was based on, times the quantity.
fn supplier_cost(p: &Purchase, paid: SupplierPaid) -> Option<SupplierCost> {
    let certain = match paid {
        SupplierPaid::No => return None,
        SupplierPaid::Maybe => false,
        SupplierPaid::Yes => true,
    };
    Some(SupplierCost {
        certain,
        amount: p
            .order_price
            .or(p.unit_price)
            .and_then(|u| u.times(p.quantity.get())),
        currency: p.currency.to_ascii_uppercase(),
    })
}

/// Where a dead letter may safely go back to work.
fn retry(facts: &Facts<'_>) -> std::result::Result<Retry, Refusal> {
    if let Some(order) = &facts.purchase.supplier_order_id {
        return Ok(Retry::Watch(order.clone()));
    }
    let open: Vec<&SupplierAttempt> = facts
        .attempts
        .iter()
        .filter(|a| may_hold_an_order(a, facts.expired_orders))
        .collect();
    match open.as_slice() {
        [] => Ok(Retry::Order),
        [a] if matches!(
            a.state,
            AttemptState::Submitting | AttemptState::Unknown | AttemptState::Abandoned
        ) =>
        {
            Ok(Retry::Reconcile { attempt: a.id })
        }
        _ => Err(Refusal::UnclearAttempts),
    }
}

/// Whether a create may have left an order that is not linked and could
/// still take money.
fn may_hold_an_order(a: &SupplierAttempt, expired: &[SupplierOrderId]) -> bool {
    match a.state {
        AttemptState::Submitting | AttemptState::Unknown | AttemptState::Abandoned => true,
        AttemptState::Created | AttemptState::Found => a
            .supplier_order_id
            .as_ref()
            .is_none_or(|o| !expired.contains(o)),
        AttemptState::Absent | AttemptState::Rejected | AttemptState::NotSent => false,
    }
}

/// Whether the supplier took money for `p`'s order: its status or an event
/// (`paid_event`: paid, completed, or linked already paid) shows it, or a
/// pay may have been sent.
pub fn supplier_paid(p: &Purchase, paid_event: bool) -> SupplierPaid {
    use PurchaseState::*;
    let status_paid = p
        .supplier_status
        .as_deref()
        .is_some_and(|s| matches!(s, "paid" | "processing" | "completed"));
    if paid_event || status_paid || matches!(p.state, WaitingSupplier | Delivering | Delivered) {
        SupplierPaid::Yes
    } else if p.pays_sent > 0 || p.pay_sent_at.is_some() || p.state == Paying {
        SupplierPaid::Maybe
    } else {
        SupplierPaid::No
    }
}

/// A worker holds the purchase now.
fn leased(p: &Purchase, now: Millis) -> bool {
    p.lease_owner.is_some() && p.lease_expires_at.is_some_and(|until| until > now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Quantity, Signature};
    use PurchaseState::*;

    const NOW: Millis = 1_700_000_000_000;

    fn purchase(state: PurchaseState) -> Purchase {
        Purchase::example(state, 1, NOW)
    }

    fn attempt(id: i64, state: AttemptState, order: Option<&str>) -> SupplierAttempt {
        SupplierAttempt {
            id,
            purchase_id: 7,
            signature: Signature::from_stored("s".to_owned()),
            state,
            watermark: None,
            started_at: NOW,
            reach_by: NOW,
            clean_scans: 0,
            supplier_order_id: order.map(|o| SupplierOrderId::parse(o).unwrap()),
            outcome: None,
            resolved_at: None,
        }
    }

    fn order(id: &str) -> SupplierOrderId {
        SupplierOrderId::parse(id).unwrap()
    }

    fn decide(
        action: Action,
        p: &Purchase,
        attempts: &[SupplierAttempt],
        partial: bool,
        expired: &[SupplierOrderId],
    ) -> std::result::Result<Plan, Refusal> {
        plan(
            action,
            &Facts {
                purchase: p,
                attempts,
                partial_delivery: partial,
                expired_orders: expired,
                codes: CodesReach::default(),
                refund: None,
                supplier_paid: SupplierPaid::No,
                now: NOW,
            },
        )
    }

    /// A plain refund's plan (no codes withdrawn, no supplier cost).
    fn refund(partial: bool, in_stars: bool) -> Plan {
        Plan::Refund {
            partial,
            in_stars,
            withdraw_codes: false,
            cost: None,
        }
    }

    /// Facts of `p` with nothing but the ledger's view of the codes, the
    /// refund and the supplier payment.
    fn ledger<'a>(
        p: &'a Purchase,
        codes: CodesReach,
        refund: Option<RefundState>,
        supplier_paid: SupplierPaid,
    ) -> Facts<'a> {
        Facts {
            purchase: p,
            attempts: &[],
            partial_delivery: false,
            expired_orders: &[],
            codes,
            refund,
            supplier_paid,
            now: NOW,
        }
    }

    #[test]
    fn a_dead_letter_with_a_linked_order_is_retried_by_reading_it_never_by_a_create() {
        let mut p = purchase(DeadLetter);
        p.supplier_order_id = Some(order("o-1"));
        // Even with a create in doubt beside it: the linked order is ours.
        let attempts = [
            attempt(1, AttemptState::Created, Some("o-1")),
            attempt(2, AttemptState::Abandoned, None),
        ];
        let plan = decide(Action::Retry, &p, &attempts, false, &[]);
        assert_eq!(plan, Ok(Plan::Retry(Retry::Watch(order("o-1")))));
        assert_eq!(Retry::Watch(order("o-1")).state(), WaitingSupplier);
    }

    #[test]
    fn a_dead_letter_whose_create_is_in_doubt_is_reconciled_never_ordered_again() {
        let p = purchase(DeadLetter);
        for state in [
            AttemptState::Abandoned,
            AttemptState::Unknown,
            AttemptState::Submitting,
        ] {
            let attempts = [
                attempt(1, AttemptState::Absent, None),
                attempt(2, state, None),
            ];
            assert_eq!(
                decide(Action::Retry, &p, &attempts, false, &[]),
                Ok(Plan::Retry(Retry::Reconcile { attempt: 2 })),
                "{state:?}"
            );
        }
        // A late reply noted on the abandoned attempt: reconciling adopts it.
        let attempts = [attempt(3, AttemptState::Abandoned, Some("o-late"))];
        assert_eq!(
            decide(Action::Retry, &p, &attempts, false, &[]),
            Ok(Plan::Retry(Retry::Reconcile { attempt: 3 }))
        );
    }

    #[test]
    fn only_a_dead_letter_that_provably_has_no_order_is_ordered_again() {
        let p = purchase(DeadLetter);
        assert_eq!(
            decide(Action::Retry, &p, &[], false, &[]),
            Ok(Plan::Retry(Retry::Order))
        );
        let attempts = [
            attempt(1, AttemptState::Rejected, None),
            attempt(2, AttemptState::NotSent, None),
            attempt(3, AttemptState::Absent, None),
            attempt(4, AttemptState::Created, Some("o-expired")),
        ];
        assert_eq!(
            decide(Action::Retry, &p, &attempts, false, &[order("o-expired")]),
            Ok(Plan::Retry(Retry::Order))
        );
        // The same order not known to have expired: it might still be paid.
        assert_eq!(
            decide(Action::Retry, &p, &attempts, false, &[]),
            Err(Refusal::UnclearAttempts)
        );
    }

    #[test]
    fn two_creates_in_doubt_are_never_retried() {
        let p = purchase(DeadLetter);
        let attempts = [
            attempt(1, AttemptState::Abandoned, None),
            attempt(2, AttemptState::Abandoned, None),
        ];
        assert_eq!(
            decide(Action::Retry, &p, &attempts, false, &[]),
            Err(Refusal::UnclearAttempts)
        );
    }

    #[test]
    fn a_live_purchase_is_only_made_due_now() {
        for state in [
            Ordering,
            Submitting,
            Reconciling,
            Ordered,
            Paying,
            OnHold,
            WaitingSupplier,
            Delivering,
            Refunding,
        ] {
            let p = purchase(state);
            assert_eq!(decide(Action::Retry, &p, &[], false, &[]), Ok(Plan::DueNow));
            assert_eq!(
                decide(Action::Recheck, &p, &[], false, &[]),
                Ok(Plan::DueNow)
            );
        }
    }

    #[test]
    fn a_dead_letter_is_rechecked_by_reading_its_order() {
        let mut p = purchase(DeadLetter);
        assert_eq!(
            decide(Action::Recheck, &p, &[], false, &[]),
            Err(Refusal::NoOrderToRead)
        );
        p.supplier_order_id = Some(order("o-1"));
        assert_eq!(
            decide(Action::Recheck, &p, &[], false, &[]),
            Ok(Plan::ReadOrder(order("o-1")))
        );
    }

    #[test]
    fn a_full_delivery_is_never_refunded_a_partial_one_is() {
        let p = purchase(Delivered);
        assert_eq!(
            decide(Action::Refund, &p, &[], false, &[]),
            Err(Refusal::DeliveredInFull)
        );
        assert_eq!(
            decide(Action::Refund, &p, &[], true, &[]),
            Ok(refund(true, true))
        );
        for action in [Action::Recheck, Action::Retry, Action::Close] {
            assert_eq!(
                decide(action, &p, &[], true, &[]),
                Err(Refusal::Finished(Delivered))
            );
        }
    }

    #[test]
    fn a_refund_never_races_a_worker_or_a_create_in_doubt() {
        let mut p = purchase(WaitingSupplier);
        p.lease_owner = Some("w1".to_owned());
        p.lease_expires_at = Some(NOW + 1);
        assert_eq!(
            decide(Action::Refund, &p, &[], false, &[]),
            Err(Refusal::Busy)
        );
        // An expired lease is no one's.
        p.lease_expires_at = Some(NOW);
        assert!(decide(Action::Refund, &p, &[], false, &[]).is_ok());
        let p = purchase(Ordering);
        let in_doubt = [attempt(1, AttemptState::Unknown, None)];
        assert_eq!(
            decide(Action::Refund, &p, &in_doubt, false, &[]),
            Err(Refusal::CreateInDoubt)
        );
        for state in [Submitting, Reconciling] {
            assert_eq!(
                decide(Action::Refund, &purchase(state), &[], false, &[]),
                Err(Refusal::CreateInDoubt)
            );
        }
        assert_eq!(
            decide(Action::Refund, &purchase(Delivering), &[], false, &[]),
            Err(Refusal::Delivering)
        );
        assert_eq!(
            decide(Action::Refund, &purchase(Refunding), &[], false, &[]),
            Err(Refusal::AlreadyRefunding)
        );
    }

    #[test]
    fn a_dead_letter_is_refunded_in_stars_or_closed_when_not_paid_in_stars() {
        let mut p = purchase(DeadLetter);
        assert_eq!(
            decide(Action::Refund, &p, &[], false, &[]),
            Ok(refund(false, true))
        );
        p.source = PurchaseSource::Manual;
        p.stars = 0;
        p.telegram_charge_id = None;
        assert_eq!(
            decide(Action::Refund, &p, &[], false, &[]),
            Ok(refund(false, false))
        );
    }

    #[test]
    fn close_settles_only_dead_letters_and_stuck_refunds() {
        assert_eq!(
            decide(Action::Close, &purchase(DeadLetter), &[], false, &[]),
            Ok(Plan::Close)
        );
        assert_eq!(
            decide(Action::Close, &purchase(Refunding), &[], false, &[]),
            Ok(Plan::Close)
        );
        let mut refunding = purchase(Refunding);
        refunding.lease_owner = Some("r".to_owned());
        refunding.lease_expires_at = Some(NOW + 60_000);
        assert_eq!(
            decide(Action::Close, &refunding, &[], false, &[]),
            Err(Refusal::Busy)
        );
        assert_eq!(
            decide(Action::Close, &purchase(WaitingSupplier), &[], false, &[]),
            Err(Refusal::StillWorked(WaitingSupplier))
        );
    }

    #[test]
    fn finished_purchases_are_left_alone() {
        for state in [Refunded, Cancelled] {
            for action in [
                Action::Recheck,
                Action::Retry,
                Action::Refund,
                Action::Close,
            ] {
                assert_eq!(
                    decide(action, &purchase(state), &[], true, &[]),
                    Err(Refusal::Finished(state))
                );
            }
        }
    }

    /// The edges out of final states are exactly the admin's, and every
    /// plan's move is in the table.
    #[test]
    fn no_final_state_moves_but_by_the_admins_edges() {
        for from in PurchaseState::ALL {
            for to in PurchaseState::ALL {
                let allowed = from.may_move_to(to);
                match from {
                    DeadLetter => assert_eq!(
                        allowed,
                        matches!(
                            to,
                            WaitingSupplier | Reconciling | Ordering | Refunding | Cancelled
                        ),
                        "{from} -> {to}"
                    ),
                    Delivered => assert_eq!(allowed, to == Refunding, "{from} -> {to}"),
                    Refunded | Cancelled => assert!(!allowed, "{from} -> {to}"),
                    _ => {}
                }
            }
        }
        for retry in [
            Retry::Watch(order("o")),
            Retry::Reconcile { attempt: 1 },
            Retry::Order,
        ] {
            assert!(DeadLetter.may_move_to(retry.state()));
        }
        for from in [
            Ordering,
            Ordered,
            Paying,
            OnHold,
            WaitingSupplier,
            Delivered,
        ] {
            assert!(from.may_move_to(Refunding), "{from}");
        }
    }

    #[test]
    fn a_dead_letter_whose_codes_reached_the_buyer_is_refused_as_delivered() {
        let p = purchase(DeadLetter);
        let reached = [
            CodesReach {
                parts_sent: 1,
                ..CodesReach::default()
            },
            CodesReach {
                send_in_doubt: true,
                ..CodesReach::default()
            },
            CodesReach {
                viewable: true,
                ..CodesReach::default()
            },
        ];
        for codes in reached {
            let facts = ledger(&p, codes, None, SupplierPaid::Yes);
            assert_eq!(
                plan(Action::Refund, &facts),
                Err(Refusal::CodesReachedBuyer),
                "{codes:?}"
            );
            // Only the explicit action refunds it, and it withdraws the codes.
            let Ok(Plan::Refund {
                in_stars: true,
                withdraw_codes: true,
                ..
            }) = plan(Action::RefundAnyway, &facts)
            else {
                panic!("{codes:?}: {:?}", plan(Action::RefundAnyway, &facts));
            };
        }
        // Nothing reached the buyer: a plain refund, nothing to withdraw.
        let facts = ledger(&p, CodesReach::default(), None, SupplierPaid::No);
        assert_eq!(plan(Action::Refund, &facts), Ok(refund(false, true)));
        assert_eq!(plan(Action::RefundAnyway, &facts), Ok(refund(false, true)));
    }

    #[test]
    fn refund_anyway_never_refunds_what_a_plain_refund_may_not_outside_dead_letters() {
        let viewable = CodesReach {
            viewable: true,
            parts_sent: 1,
            ..CodesReach::default()
        };
        for state in [Delivered, Delivering, Refunding, Submitting, Reconciling] {
            let p = purchase(state);
            let facts = ledger(&p, viewable, None, SupplierPaid::Yes);
            assert!(plan(Action::RefundAnyway, &facts).is_err(), "{state}");
            assert_eq!(
                plan(Action::RefundAnyway, &facts),
                plan(Action::Refund, &facts),
                "{state}"
            );
        }
    }

    #[test]
    fn a_dead_letter_is_never_retried_while_a_refund_is_claimed_or_done() {
        let mut p = purchase(DeadLetter);
        p.supplier_order_id = Some(order("o-1"));
        for refund in [RefundState::Claimed, RefundState::Confirmed] {
            let facts = ledger(&p, CodesReach::default(), Some(refund), SupplierPaid::Yes);
            assert_eq!(
                plan(Action::Retry, &facts),
                Err(Refusal::RefundUnderway),
                "{refund:?}"
            );
        }
        // Codes withdrawn by a refund anyway: a refund was promised.
        let withdrawn = CodesReach {
            withdrawn: true,
            ..CodesReach::default()
        };
        let facts = ledger(&p, withdrawn, None, SupplierPaid::Yes);
        assert_eq!(plan(Action::Retry, &facts), Err(Refusal::RefundUnderway));
        let facts = ledger(&p, CodesReach::default(), None, SupplierPaid::Yes);
        assert_eq!(
            plan(Action::Retry, &facts),
            Ok(Plan::Retry(Retry::Watch(order("o-1"))))
        );
    }

    #[test]
    fn a_refund_with_a_paid_or_maybe_paid_supplier_order_names_its_wholesale_cost() {
        let mut p = purchase(WaitingSupplier);
        p.quantity = Quantity::new(3).unwrap();
        p.unit_price = Some(Money::parse("9.2").unwrap());
        p.currency = "usd".to_owned();
        let cost = |facts: &Facts<'_>| match plan(Action::Refund, facts) {
            Ok(Plan::Refund { cost, .. }) => cost,
            other => panic!("{other:?}"),
        };
        let facts = ledger(&p, CodesReach::default(), None, SupplierPaid::Yes);
        assert_eq!(
            cost(&facts),
            Some(SupplierCost {
                certain: true,
                amount: Some(Money::parse("27.6").unwrap()),
                currency: "USD".to_owned(),
            })
        );
        // A re-quoted price is the one paid.
        p.order_price = Some(Money::parse("10").unwrap());
        p.state = Paying;
        let facts = ledger(&p, CodesReach::default(), None, SupplierPaid::Maybe);
        assert_eq!(
            cost(&facts),
            Some(SupplierCost {
                certain: false,
                amount: Some(Money::parse("30").unwrap()),
                currency: "USD".to_owned(),
            })
        );
        p.state = Ordered;
        let facts = ledger(&p, CodesReach::default(), None, SupplierPaid::No);
        assert_eq!(cost(&facts), None);
    }

    #[test]
    fn the_supplier_counts_as_paid_from_status_events_or_a_pay_sent() {
        let mut p = purchase(Ordered);
        assert_eq!(supplier_paid(&p, false), SupplierPaid::No);
        assert_eq!(supplier_paid(&p, true), SupplierPaid::Yes);
        p.pays_sent = 1;
        assert_eq!(supplier_paid(&p, false), SupplierPaid::Maybe);
        p.supplier_status = Some("processing".to_owned());
        assert_eq!(supplier_paid(&p, false), SupplierPaid::Yes);
        let p = purchase(Paying);
        assert_eq!(supplier_paid(&p, false), SupplierPaid::Maybe);
        let p = purchase(WaitingSupplier);
        assert_eq!(supplier_paid(&p, false), SupplierPaid::Yes);
    }
}
