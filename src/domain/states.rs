//! Where a purchase stands (who owns each state, and its table of allowed
//! moves), and the other kinds stored by name: events, alerts, hold and
//! refund reasons, sources, shop mode.

use std::fmt;

use super::{InvalidValue, invalid};

/// Where a purchase stands. Each state knows how to resume after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PurchaseState {
    /// Paid by the customer; the next step is to start a supplier create.
    Ordering,
    /// A create is about to be, or may have been, sent.
    Submitting,
    /// A create's outcome is unknown; the supplier's history will tell.
    Reconciling,
    /// A supplier order is linked and not yet paid.
    Ordered,
    /// Pay may have been sent; the order's status will tell.
    Paying,
    /// Waiting for the operator (a balance top-up, a key fix) until a deadline.
    OnHold,
    /// Paid at the supplier; the poller watches it.
    WaitingSupplier,
    /// Codes received; sending them to the buyer.
    Delivering,
    /// Returning the customer's Stars.
    Refunding,
    Delivered,
    Refunded,
    /// Closed without a refund: it was not paid in Stars (a manual or demo
    /// purchase); admins were told.
    Cancelled,
    /// Needs a person: admins were alerted and it shows in `/stalled`.
    DeadLetter,
}

impl PurchaseState {
    pub const ALL: [PurchaseState; 13] = [
        PurchaseState::Ordering,
        PurchaseState::Submitting,
        PurchaseState::Reconciling,
        PurchaseState::Ordered,
        PurchaseState::Paying,
        PurchaseState::OnHold,
        PurchaseState::WaitingSupplier,
        PurchaseState::Delivering,
        PurchaseState::Refunding,
        PurchaseState::Delivered,
        PurchaseState::Refunded,
        PurchaseState::Cancelled,
        PurchaseState::DeadLetter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseState::Ordering => "ordering",
            PurchaseState::Submitting => "submitting",
            PurchaseState::Reconciling => "reconciling",
            PurchaseState::Ordered => "ordered",
            PurchaseState::Paying => "paying",
            PurchaseState::OnHold => "on_hold",
            PurchaseState::WaitingSupplier => "waiting_supplier",
            PurchaseState::Delivering => "delivering",
            PurchaseState::Refunding => "refunding",
            PurchaseState::Delivered => "delivered",
            PurchaseState::Refunded => "refunded",
            PurchaseState::Cancelled => "cancelled",
            PurchaseState::DeadLetter => "dead_letter",
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| invalid("purchase state", format!("unknown state {text:?}")))
    }

    /// Who moves a purchase on from this state: the one place that says
    /// which worker claims it (see [`PurchaseState::owned_by`]).
    pub const fn owner(self) -> Owner {
        use PurchaseState::*;
        match self {
            Ordering | Submitting | Reconciling | Ordered | Paying | OnHold => Owner::Engine,
            WaitingSupplier => Owner::Poller,
            Delivering => Owner::Delivery,
            Refunding => Owner::Refunds,
            DeadLetter => Owner::Person,
            Delivered | Refunded | Cancelled => Owner::Nobody,
        }
    }

    /// The states `owner` works, in [`PurchaseState::ALL`]'s order: what
    /// its workers claim. Derived from [`PurchaseState::owner`].
    pub const fn owned_by(owner: Owner) -> &'static [PurchaseState] {
        match owner {
            Owner::Engine => &OWNED_BY_ENGINE,
            Owner::Poller => &OWNED_BY_POLLER,
            Owner::Delivery => &OWNED_BY_DELIVERY,
            Owner::Refunds => &OWNED_BY_REFUNDS,
            Owner::Person => &OWNED_BY_PERSON,
            Owner::Nobody => &OWNED_BY_NOBODY,
        }
    }

    /// Nothing more will happen without a person.
    pub fn is_final(self) -> bool {
        matches!(self.owner(), Owner::Person | Owner::Nobody)
    }

    /// Worked by the purchase workers (as opposed to watched by the poller,
    /// or finished).
    pub fn is_claimable(self) -> bool {
        matches!(
            self.owner(),
            Owner::Engine | Owner::Delivery | Owner::Refunds
        )
    }
}

/// Who moves a purchase on from a state ([`PurchaseState::owner`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The engine's workers: creating, reconciling and paying the supplier
    /// order, and holds.
    Engine,
    /// The engine's poller, which watches every paid order with one list
    /// request (`waiting_supplier`); never claimed by a worker.
    Poller,
    /// The delivery worker: the codes to the buyer.
    Delivery,
    /// The refund worker: the Stars back.
    Refunds,
    /// A person (an admin's buttons): a dead letter.
    Person,
    /// Nobody: finished. Only an admin's hand moves it again.
    Nobody,
}

/// How many states `owner` has (for the arrays below).
const fn count_owned(owner: Owner) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < PurchaseState::ALL.len() {
        if PurchaseState::ALL[i].owner() as u8 == owner as u8 {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The states of `owner`, filtered from [`PurchaseState::ALL`] at compile time.
const fn states_owned<const N: usize>(owner: Owner) -> [PurchaseState; N] {
    let mut out = [PurchaseState::Ordering; N];
    let mut n = 0;
    let mut i = 0;
    while i < PurchaseState::ALL.len() {
        if PurchaseState::ALL[i].owner() as u8 == owner as u8 {
            out[n] = PurchaseState::ALL[i];
            n += 1;
        }
        i += 1;
    }
    out
}

const OWNED_BY_ENGINE: [PurchaseState; count_owned(Owner::Engine)] = states_owned(Owner::Engine);
const OWNED_BY_POLLER: [PurchaseState; count_owned(Owner::Poller)] = states_owned(Owner::Poller);
const OWNED_BY_DELIVERY: [PurchaseState; count_owned(Owner::Delivery)] =
    states_owned(Owner::Delivery);
const OWNED_BY_REFUNDS: [PurchaseState; count_owned(Owner::Refunds)] = states_owned(Owner::Refunds);
const OWNED_BY_PERSON: [PurchaseState; count_owned(Owner::Person)] = states_owned(Owner::Person);
const OWNED_BY_NOBODY: [PurchaseState; count_owned(Owner::Nobody)] = states_owned(Owner::Nobody);

impl PurchaseState {
    /// The table of allowed moves: the store refuses any other. Staying in
    /// a non-final state (a reschedule) is always allowed. Nothing leaves a
    /// final state but by an admin's hand (`engine::admin`, the only code
    /// that builds these moves): a dead letter back to work, refunded or
    /// closed; a delivered purchase refunded. No worker ever claims a final
    /// state, so these edges open no path to the engine.
    pub fn may_move_to(self, to: PurchaseState) -> bool {
        use PurchaseState::*;
        match self {
            // Back to work only where no create is sent blindly: a linked
            // order is read by the poller (`waiting_supplier`), a create in
            // doubt is reconciled, and `ordering` only when no order can
            // exist (the admin code decides which, from the attempts).
            DeadLetter => {
                return matches!(
                    to,
                    WaitingSupplier | Reconciling | Ordering | Refunding | Cancelled
                );
            }
            // A partial delivery's refund (the admin code checks that the
            // delivery was partial; the table cannot).
            Delivered => return to == Refunding,
            Refunded | Cancelled => return false,
            _ => {}
        }
        if self == to {
            return true;
        }
        // Any purchase may need a person.
        if to == DeadLetter {
            return true;
        }
        match self {
            Ordering => matches!(to, Submitting | Reconciling | OnHold | Refunding),
            Submitting => matches!(
                to,
                Ordering | Reconciling | Ordered | WaitingSupplier | OnHold | Refunding
            ),
            Reconciling => matches!(to, Ordering | Ordered | WaitingSupplier),
            Ordered => matches!(
                to,
                Ordering | Paying | OnHold | WaitingSupplier | Delivering | Refunding
            ),
            // A pay that may have been sent never leads to a new order.
            Paying => matches!(
                to,
                Ordered | OnHold | WaitingSupplier | Delivering | Refunding
            ),
            OnHold => matches!(
                to,
                Ordering | Ordered | WaitingSupplier | Delivering | Refunding
            ),
            WaitingSupplier => matches!(to, Ordered | Delivering | Refunding),
            Delivering => to == Delivered,
            Refunding => matches!(to, Refunded | Cancelled),
            // Answered above.
            Delivered | Refunded | Cancelled | DeadLetter => false,
        }
    }
}

impl fmt::Display for PurchaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

stored_names! {
    /// What an event row records about a purchase.
    pub enum EventKind {
        Created => "created",
        CreateSent => "create_sent",
        CreateNotSent => "create_not_sent",
        CreateAmbiguous => "create_ambiguous",
        CreateRejected => "create_rejected",
        CreateAbsent => "create_absent",
        ScanClean => "scan_clean",
        PriceRequoted => "price_requoted",
        OrderLinked => "order_linked",
        OrderExpired => "order_expired",
        PaySent => "pay_sent",
        PayNotSent => "pay_not_sent",
        PayPending => "pay_pending",
        OrderPaid => "order_paid",
        OrderUnpaid => "order_unpaid",
        OrderCompleted => "order_completed",
        CodesMissing => "codes_missing",
        OnHold => "on_hold",
        HoldLifted => "hold_lifted",
        RefundNeeded => "refund_needed",
        DeadLetter => "dead_letter",
        StallAlerted => "stall_alerted",
        Delivered => "delivered",
        Refunded => "refunded",
        Cancelled => "cancelled",
        Reschedule => "reschedule",
        Checked => "checked",
        /// A Stars payment was recorded (first thing, keyed by its charge).
        PaymentRecorded => "payment_recorded",
        /// An admin acted on a purchase (who and what in the detail).
        AdminAction => "admin_action",
    }
}

stored_names! {
    /// What an admin alert is about.
    pub enum AlertKind {
        DeadLetter => "dead_letter",
        Refund => "refund",
        Stall => "stall",
        LowBalance => "low_balance",
        SupplierAuth => "supplier_auth",
        UnknownStatus => "unknown_status",
        DoubleCharge => "double_charge",
        CorruptRow => "corrupt_row",
        PartialDelivery => "partial_delivery",
        WorkerPanic => "worker_panic",
        /// A Stars payment no invoice of ours explains: refund it by hand.
        UnknownPayment => "unknown_payment",
        /// A condition started (degraded delivery, dead letters, stalls, a
        /// balance or key problem, the poller stopped).
        Incident => "incident",
        /// That condition cleared.
        Recovered => "recovered",
    }
}

stored_names! {
    /// Why a purchase waits for the operator.
    pub enum HoldReason {
        /// The supplier balance is too low: waiting for a top-up.
        Balance => "balance",
        /// The supplier refuses our key (401/403).
        Auth => "auth",
    }
}

stored_names! {
    /// Where a purchase came from.
    pub enum PurchaseSource {
        /// Paid in Telegram Stars.
        Telegram => "telegram",
        /// Entered by an operator (`foxbot purchase`), paid outside Telegram.
        Manual => "manual",
        /// Demo mode: the built-in simulator, nothing paid.
        Demo => "demo",
        /// The units missing from a partly delivered purchase, re-ordered at
        /// the shop's cost (linked by `parent_purchase_id`); nothing paid.
        Reorder => "reorder",
    }
}

stored_names! {
    /// Which kind of shop a database belongs to, recorded by the first
    /// start: a demo database (the built-in simulator, nothing paid) never
    /// runs live, and a live one never runs as a demo.
    pub enum ShopMode {
        /// No `FOXRELOAD_API_KEY`: the simulator is the supplier.
        Demo => "demo",
        /// The real supplier, real payments.
        Live => "live",
    }
}

stored_names! {
    /// Why a purchase is refunded: each has its own words for the buyer.
    pub enum RefundReason {
        /// The supplier failed or cancelled the order (or it could not be placed).
        Supplier => "supplier",
        /// The same invoice was paid a second time.
        PaidTwice => "paid_twice",
        /// The amount paid was not the invoice's.
        AmountMismatch => "amount_mismatch",
        /// The product could no longer be sold when the payment arrived.
        Unavailable => "unavailable",
        /// An admin refunded it.
        Admin => "admin",
    }
}

impl RefundReason {
    /// The reason as staff read it, in a purchase's `last_error` (the
    /// buyer's words for it are in the Fluent files).
    pub fn for_staff(self) -> &'static str {
        match self {
            RefundReason::Supplier => "the supplier failed or cancelled the order",
            RefundReason::PaidTwice => "the invoice was already paid",
            RefundReason::AmountMismatch => "the amount paid is not the invoice's",
            RefundReason::Unavailable => "the product could no longer be sold",
            RefundReason::Admin => "an admin refunded it",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PurchaseState::*;

    const OWNERS: [Owner; 6] = [
        Owner::Engine,
        Owner::Poller,
        Owner::Delivery,
        Owner::Refunds,
        Owner::Person,
        Owner::Nobody,
    ];

    #[test]
    fn every_state_has_exactly_one_owner_and_its_list_says_so() {
        for owner in OWNERS {
            for state in PurchaseState::owned_by(owner) {
                assert_eq!(state.owner(), owner, "{state}");
            }
        }
        let listed: usize = OWNERS
            .iter()
            .map(|o| PurchaseState::owned_by(*o).len())
            .sum();
        assert_eq!(listed, PurchaseState::ALL.len());
    }

    #[test]
    fn each_worker_claims_the_states_it_always_claimed() {
        assert_eq!(
            PurchaseState::owned_by(Owner::Engine),
            &[Ordering, Submitting, Reconciling, Ordered, Paying, OnHold]
        );
        assert_eq!(PurchaseState::owned_by(Owner::Poller), &[WaitingSupplier]);
        assert_eq!(PurchaseState::owned_by(Owner::Delivery), &[Delivering]);
        assert_eq!(PurchaseState::owned_by(Owner::Refunds), &[Refunding]);
    }

    #[test]
    fn only_finished_and_dead_lettered_purchases_are_final() {
        for state in PurchaseState::ALL {
            assert_eq!(
                state.is_final(),
                matches!(state, Delivered | Refunded | Cancelled | DeadLetter),
                "{state}"
            );
            assert_eq!(
                state.is_claimable(),
                !state.is_final() && state != WaitingSupplier,
                "{state}"
            );
        }
    }

    #[test]
    fn every_refund_reason_has_its_own_words_for_staff() {
        let texts: std::collections::HashSet<&str> =
            RefundReason::ALL.iter().map(|r| r.for_staff()).collect();
        assert_eq!(texts.len(), RefundReason::ALL.len());
        assert!(texts.iter().all(|t| !t.is_empty()));
        // The words a refunded payment has always been recorded with.
        assert_eq!(
            RefundReason::PaidTwice.for_staff(),
            "the invoice was already paid"
        );
        assert_eq!(
            RefundReason::AmountMismatch.for_staff(),
            "the amount paid is not the invoice's"
        );
    }
}
