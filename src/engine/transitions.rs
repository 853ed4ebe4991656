//! Every edge of the purchase state machine, one named constructor each.
//! The store applies a [`Transition`] as a compare-and-set on
//! `(id, state, fence)` with its event row, and refuses a move that is not
//! in [`PurchaseState::may_move_to`]'s table.
//!
//! ```text
//! ordering ──create_sent──▶ submitting ──order_linked──▶ ordered ──pay_sent──▶ paying
//!    ▲  │                     │  │  └─create_ambiguous─▶ reconciling            │
//!    │  └own_unresolved_found─┼──┼─────────────────────▶    │  │                │
//!    ├──create_not_sent───────┘  │          create_absent◀──┘  └order_linked    │
//!    ├──price_requoted───────────┘                                 ▼            ▼
//!    ├──order_expired◀── ordered               waiting_supplier ◀─order_paid────┘
//!    │                                            │    └order_unpaid─▶ ordered
//! on_hold ◀──on_hold── (ordering, submitting, ordered, paying)
//!    ├◀─pay_refused── paying (resuming at ordered; the pay is forgotten)
//!    └─hold_lifted─▶ (the state it came from)      │ order_completed
//!                                                  ▼
//!            refunding ◀─refund_needed─ (any)   delivering        dead_letter ◀─ (any)
//! ```
//!
//! An admin's hand (`engine::admin`, each move confirmed and recorded with
//! the admin's id):
//!
//! ```text
//! (any live state) ──admin_due_now──▶ (the same state, due now)
//! dead_letter ──admin_retry──▶ waiting_supplier | reconciling | ordering
//! dead_letter | delivered (partial) | (live, no create in doubt) ──admin_refund──▶ refunding
//! dead_letter | refunding ──admin_close──▶ cancelled
//! ```

use serde_json::{Value, json};

use crate::clock::Millis;
use crate::domain::{
    DeadLetterReason, EventKind, HoldReason, Money, PurchaseState, RefundCause, SupplierOrderId,
    Watermark,
};
use crate::foxreload::{Order, OrderStatus};
use crate::store::{AttemptState, Change, Purchase, Transition};

use PurchaseState::*;

/// Stays in the same state and tries again at `at`, giving the lease back.
/// Leaves no event row.
pub(crate) fn reschedule(p: &Purchase, at: Millis, why: &str) -> Transition {
    Transition::of(p, p.state, EventKind::Reschedule)
        .set(Change::NextActionAt(at))
        .set(Change::LastError(Some(why.to_owned())))
        .set(Change::ReleaseLease)
        .quiet()
}

/// `ordering → submitting`: the create may be sent from here on. The lease
/// is extended to cover the call (it leaves by its send-by instant and gives
/// up after the client's timeout, both well inside the lease).
pub(super) fn create_sent(
    p: &Purchase,
    attempt_id: i64,
    watermark: &Watermark,
    send_by: Millis,
) -> Transition {
    Transition::of(p, Submitting, EventKind::CreateSent)
        .keeping_clock()
        .set(Change::CurrentAttempt(Some(attempt_id)))
        .set(Change::CountOrderAttempt)
        .set(Change::PaySentAt(None))
        .detail(json!({
            "attempt": attempt_id,
            "watermark": watermark.as_stored(),
            "send_by": send_by,
        }))
}

/// `submitting → ordering`: the create never left (rate limited, refused
/// connection, its send-by instant passed); nothing was made.
pub(super) fn create_not_sent(p: &Purchase, at: Millis, reason: &str) -> Transition {
    Transition::of(p, Ordering, EventKind::CreateNotSent)
        .keeping_clock()
        .set(Change::NextActionAt(at))
        .set(Change::LastError(Some(reason.to_owned())))
        .set(Change::ReleaseLease)
}

/// `submitting → reconciling`: the create's outcome is unknown; the history
/// is read once the settle delay has passed.
pub(super) fn create_ambiguous(
    p: &Purchase,
    attempt_id: i64,
    settle_at: Millis,
    why: &str,
) -> Transition {
    Transition::of(p, Reconciling, EventKind::CreateAmbiguous)
        .keeping_clock()
        .set(Change::NextActionAt(settle_at))
        .set(Change::LastError(Some(why.to_owned())))
        .set(Change::ReleaseLease)
        .detail(json!({ "attempt": attempt_id, "why": why }))
}

/// `ordering → reconciling`: the purchase's own earlier create is still
/// unresolved: decide it, never send another.
pub(super) fn own_unresolved_found(p: &Purchase, attempt_id: i64, now: Millis) -> Transition {
    Transition::of(p, Reconciling, EventKind::CreateAmbiguous)
        .keeping_clock()
        .set(Change::CurrentAttempt(Some(attempt_id)))
        .set(Change::NextActionAt(now))
        .detail(json!({ "attempt": attempt_id, "why": "unresolved attempt found" }))
}

/// `reconciling → ordering`: proven absent; exactly one new create may go.
pub(super) fn create_absent(p: &Purchase, now: Millis, evidence: Value) -> Transition {
    Transition::of(p, Ordering, EventKind::CreateAbsent)
        .keeping_clock()
        .set(Change::NextActionAt(now))
        .set(Change::CurrentAttempt(None))
        .detail(evidence)
}

/// `reconciling → reconciling`: one clean scan; another must follow.
pub(super) fn scan_clean(p: &Purchase, at: Millis, evidence: Value) -> Transition {
    Transition::of(p, Reconciling, EventKind::ScanClean)
        .set(Change::NextActionAt(at))
        .set(Change::ReleaseLease)
        .detail(evidence)
}

/// `submitting → ordering`: the price changed within tolerance; offer it.
pub(super) fn price_requoted(p: &Purchase, unit: Money, now: Millis) -> Transition {
    Transition::of(p, Ordering, EventKind::PriceRequoted)
        .keeping_clock()
        .set(Change::OrderPrice(Some(unit)))
        .set(Change::NextActionAt(now))
        .detail(json!({ "new_unit_price": unit.to_string() }))
}

/// `submitting → ordering`: refused, and the refusal could not be acted on
/// yet (a re-quote failed); try again later.
pub(super) fn create_rejected(p: &Purchase, at: Millis, why: &str) -> Transition {
    Transition::of(p, Ordering, EventKind::CreateRejected)
        .keeping_clock()
        .set(Change::LastError(Some(why.to_owned())))
        .set(Change::NextActionAt(at))
        .set(Change::ReleaseLease)
}

/// `submitting | reconciling → ordered`, or `→ waiting_supplier` when the
/// order is already paid (accounts that pay on creation): pay is skipped.
pub(super) fn order_linked(
    p: &Purchase,
    attempt_id: i64,
    order: &SupplierOrderId,
    how: AttemptState,
    status: Option<&OrderStatus>,
    now: Millis,
) -> Transition {
    let paid = status.is_some_and(OrderStatus::is_paid_or_later);
    let t = if paid {
        Transition::of(p, WaitingSupplier, EventKind::OrderLinked)
            .set(Change::WaitingSince(Some(now)))
            .set(Change::LastError(None))
            .set(Change::ClearHold)
            .set(Change::ReleaseLease)
    } else {
        Transition::of(p, Ordered, EventKind::OrderLinked).set(Change::NextActionAt(now))
    };
    t.set(Change::SupplierOrderId(Some(order.clone())))
        .set(Change::SupplierStatus(
            status.map(|s| s.as_str().to_owned()),
        ))
        .set(Change::ResetPays)
        .detail(json!({ "attempt": attempt_id, "order": order, "how": how.as_str() }))
}

/// `ordered → ordering`: never paid and now cancelled (its payment window
/// expired): it can no longer take money; make a new one.
pub(super) fn order_expired(p: &Purchase, order: &Order, now: Millis) -> Transition {
    Transition::of(p, Ordering, EventKind::OrderExpired)
        .set(Change::SupplierOrderId(None))
        .set(Change::SupplierStatus(Some(
            order.status.as_str().to_owned(),
        )))
        .set(Change::CurrentAttempt(None))
        .set(Change::NextActionAt(now))
        .detail(json!({ "order": order.id, "cancel_reason": order.cancel_reason }))
}

/// `ordered | paying → paying`: pay may be sent from here on.
pub(super) fn pay_sent(p: &Purchase, order: &SupplierOrderId, now: Millis) -> Transition {
    Transition::of(p, Paying, EventKind::PaySent)
        .keeping_clock()
        .set(Change::PaySentAt(Some(now)))
        .set(Change::CountPay)
        .detail(json!({ "order": order, "pay": p.pays_sent + 1 }))
}

/// `paying → ordered`: the pay never left; nothing was paid.
pub(super) fn pay_not_sent(p: &Purchase, at: Millis, reason: &str) -> Transition {
    Transition::of(p, Ordered, EventKind::PayNotSent)
        .keeping_clock()
        .set(Change::PaySentAt(None))
        .set(Change::NextActionAt(at))
        .set(Change::LastError(Some(reason.to_owned())))
        .set(Change::ReleaseLease)
}

/// `→ waiting_supplier`: paid at the supplier; the poller watches it.
pub(super) fn order_paid(p: &Purchase, order: &Order, now: Millis) -> Transition {
    Transition::of(p, WaitingSupplier, EventKind::OrderPaid)
        .set(Change::WaitingSince(Some(p.waiting_since.unwrap_or(now))))
        .set(Change::LastError(None))
        .set(Change::SupplierStatus(Some(
            order.status.as_str().to_owned(),
        )))
        .set(Change::ClearHold)
        .set(Change::ReleaseLease)
        .detail(json!({ "order": order.id, "status": order.status.as_str() }))
}

/// `waiting_supplier → ordered`: a direct read shows it unpaid after all.
pub(super) fn order_unpaid(p: &Purchase, order: &SupplierOrderId, now: Millis) -> Transition {
    Transition::of(p, Ordered, EventKind::OrderUnpaid)
        .set(Change::NextActionAt(now))
        .detail(json!({ "order": order }))
}

/// `→ delivering`: complete, with its usable codes counted (all of them,
/// or part: then the admins were alerted in the same transaction).
pub(super) fn order_completed(
    p: &Purchase,
    order: &Order,
    tally: &crate::foxreload::Tally,
    now: Millis,
) -> Transition {
    Transition::of(p, Delivering, EventKind::OrderCompleted)
        .set(Change::SupplierStatus(Some(
            order.status.as_str().to_owned(),
        )))
        .set(Change::ClearHold)
        .set(Change::NextActionAt(now))
        .set(Change::ReleaseLease)
        .detail(json!({
            "order": order.id,
            "codes": tally.codes.len(),
            "ordered": tally.ordered,
            "arrived": tally.arrived,
        }))
}

/// Same state: a direct read found the order completed without its codes;
/// read it once more before a person is asked.
pub(super) fn codes_missing(p: &Purchase, order: &SupplierOrderId, at: Millis) -> Transition {
    Transition::of(p, p.state, EventKind::CodesMissing)
        .set(Change::CountEmptyRead)
        .set(Change::NextActionAt(at))
        .set(Change::ReleaseLease)
        .detail(json!({ "order": order }))
}

/// `→ on_hold`: waiting for the operator (a top-up, a key fix), keeping the
/// first hold's start so the deadline does not move with each retry.
pub(super) fn on_hold(
    p: &Purchase,
    reason: HoldReason,
    code: &str,
    resume: PurchaseState,
    now: Millis,
    check_at: Millis,
) -> Transition {
    Transition::of(p, OnHold, EventKind::OnHold)
        .set(Change::Hold {
            reason,
            since: p.hold_since.unwrap_or(now),
            resume,
        })
        .set(Change::NextActionAt(check_at))
        .set(Change::ReleaseLease)
        .detail(json!({ "reason": reason.as_str(), "code": code }))
}

/// `paying → on_hold`, resuming at `ordered`: the supplier refused the pay
/// (balance, key), so nothing was paid and the pay we sent is forgotten.
pub(super) fn pay_refused(
    p: &Purchase,
    reason: HoldReason,
    code: &str,
    now: Millis,
    check_at: Millis,
) -> Transition {
    on_hold(p, reason, code, Ordered, now, check_at).set(Change::PaySentAt(None))
}

/// `on_hold → the state it came from`.
pub(super) fn hold_lifted(p: &Purchase, resume: PurchaseState, now: Millis) -> Transition {
    Transition::of(p, resume, EventKind::HoldLifted)
        .set(Change::NextActionAt(now))
        .detail(json!({ "reason": p.hold_reason.map(HoldReason::as_str) }))
}

/// `→ refunding`: the customer's Stars go back.
pub(super) fn refund_needed(p: &Purchase, reason: &RefundCause, now: Millis) -> Transition {
    let reason = reason.to_string();
    Transition::of(p, Refunding, EventKind::RefundNeeded)
        .set(Change::LastError(Some(reason.clone())))
        .set(Change::NextActionAt(now))
        .set(Change::ReleaseLease)
        .detail(json!({ "reason": reason }))
}

/// `→ dead_letter`: a person must look; admins are alerted.
pub(crate) fn dead_letter(p: &Purchase, reason: &DeadLetterReason, evidence: Value) -> Transition {
    let reason = reason.to_string();
    Transition::of(p, DeadLetter, EventKind::DeadLetter)
        .set(Change::LastError(Some(reason.clone())))
        .detail(json!({ "reason": reason, "evidence": evidence }))
}

/// `delivering → delivered`: every message arrived (or the buyer blocked
/// the bot, and the codes wait in `/orders`).
pub(crate) fn delivered(p: &Purchase, detail: Value) -> Transition {
    Transition::of(p, Delivered, EventKind::Delivered).detail(detail)
}

/// `refunding → refunded`: Telegram confirmed the Stars went back.
pub(crate) fn refunded(p: &Purchase, detail: Value) -> Transition {
    Transition::of(p, Refunded, EventKind::Refunded).detail(detail)
}

/// `refunding → cancelled`: nothing to refund in Stars (not paid in Stars).
pub(crate) fn cancelled(p: &Purchase, reason: &str) -> Transition {
    Transition::of(p, Cancelled, EventKind::Cancelled).detail(json!({ "reason": reason }))
}

/// Same state: the stall alert went out.
pub(super) fn stall_alerted(p: &Purchase, now: Millis, age_ms: i64) -> Transition {
    Transition::of(p, p.state, EventKind::StallAlerted)
        .set(Change::StallAlertedAt(Some(now)))
        .detail(json!({ "state": p.state.as_str(), "age_ms": age_ms }))
}

/// Same state: the poller read the order on its own.
pub(super) fn checked(p: &Purchase, now: Millis) -> Transition {
    Transition::of(p, p.state, EventKind::Checked)
        .set(Change::LastCheckedAt(now))
        .quiet()
}

/// Same state, due now (an admin's re-check): its worker looks again at
/// once. The lease is left alone: a worker holding the purchase keeps it.
pub(super) fn admin_due_now(p: &Purchase, now: Millis, detail: Value) -> Transition {
    Transition::of(p, p.state, EventKind::AdminAction)
        .set(Change::NextActionAt(now))
        .detail(detail)
}

/// `dead_letter → waiting_supplier | reconciling | ordering` (an admin's
/// retry; `engine::admin::plan` chose the state that sends no blind
/// create). `reconciling` names the attempt to decide.
pub(super) fn admin_retry(
    p: &Purchase,
    to: PurchaseState,
    attempt: Option<i64>,
    now: Millis,
    detail: Value,
) -> Transition {
    let t = Transition::of(p, to, EventKind::AdminAction)
        .set(Change::NextActionAt(now))
        .set(Change::LastError(None))
        .set(Change::ClearHold)
        .detail(detail);
    match to {
        WaitingSupplier => t.set(Change::WaitingSince(Some(p.waiting_since.unwrap_or(now)))),
        Reconciling => t.set(Change::CurrentAttempt(attempt)),
        _ => t.set(Change::CurrentAttempt(None)),
    }
}

/// `→ refunding` by an admin: the refund worker gives the Stars back (or
/// closes a purchase not paid in Stars).
pub(super) fn admin_refund(p: &Purchase, now: Millis, detail: Value) -> Transition {
    Transition::of(p, Refunding, EventKind::AdminAction)
        .set(Change::LastError(Some("refunded by an admin".to_owned())))
        .set(Change::NextActionAt(now))
        .detail(detail)
}

/// `dead_letter | refunding → cancelled`: settled by hand.
pub(super) fn admin_close(p: &Purchase, detail: Value) -> Transition {
    Transition::of(p, Cancelled, EventKind::AdminAction).detail(detail)
}
