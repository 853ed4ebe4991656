//! An admin's hand on purchases (what the admin commands only read is in
//! `ops::reports`).
//!
//! Four buttons act on a stalled or dead-lettered purchase: re-check,
//! retry, refund, close (and a fifth, "refund anyway", offered where a
//! refund is refused because the codes reached the buyer). What each does
//! to a given purchase is decided by [`plan`], a pure function over facts
//! read beforehand from the whole ledger (the purchase, its creates, its
//! delivery, its stored codes, its refund, what the supplier was paid), so
//! that the rules that keep the money safe are tested on their own:
//! - a retry never sends a create blindly: a linked order is read again by
//!   the poller (`waiting_supplier`), a create in doubt is reconciled from
//!   the supplier's history, and only a purchase that provably has no order
//!   goes back to `ordering`;
//! - a retry never puts back to work a purchase whose refund is claimed or
//!   may have gone through (a `refunds` row, or codes withdrawn);
//! - a refund never races a worker (a live lease refuses it) nor a create in
//!   doubt, and a delivered purchase is refunded only when its delivery was
//!   partial; a dead letter whose codes reached the buyer (a part sent or
//!   maybe sent, or codes viewable in `/orders`) is refunded only by the
//!   explicit "refund anyway", which also withdraws the codes from
//!   `/orders`; a refund of a purchase whose supplier order is paid (or
//!   maybe paid) names the wholesale money it leaves behind;
//! - close settles by hand only what no worker will finish (a dead letter,
//!   a stuck refund).
//!
//! [`Engine::admin_act`](super::Engine::admin_act) reads the facts again, and applies the plan as a
//! compare-and-set with its event (`admin_action`, actor `admin:<id>`) and
//! the columns that go with it, in one transaction: zero rows changed means
//! someone else moved the purchase, and nothing is done. A confirmation
//! carries what the admin saw ([`Seen`]: the fence and a fingerprint of the
//! plan); when the plan now differs, nothing is done and the new plan is
//! shown instead ([`Outcome::Changed`]).
//!
//! - `facts`: gathering the facts from the store
//! - `plan`: the pure decision, [`plan`]
//! - `confirm`: what an admin is shown and confirms ([`Preview`], [`Seen`])
//! - `act`: taking the action

mod act;
mod confirm;
mod facts;
mod plan;

use super::EngineError;

pub use confirm::{Outcome, Preview, Seen, fingerprint};
pub use plan::{
    CodesReach, Facts, Plan, Refusal, Retry, SupplierCost, SupplierPaid, plan, supplier_paid,
};

type Result<T> = std::result::Result<T, EngineError>;

/// What an admin may do to a purchase from its buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the supplier order again now.
    Recheck,
    /// Put the purchase back to work.
    Retry,
    /// Refund the buyer's Stars.
    Refund,
    /// Close it as settled by hand.
    Close,
    /// Refund a dead letter although its codes reached the buyer, and
    /// withdraw the codes from `/orders`.
    RefundAnyway,
}

impl Action {
    pub fn parse(text: &str) -> Option<Action> {
        Some(match text {
            "recheck" => Action::Recheck,
            "retry" => Action::Retry,
            "refund" => Action::Refund,
            "close" => Action::Close,
            "refund_anyway" => Action::RefundAnyway,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Recheck => "recheck",
            Action::Retry => "retry",
            Action::Refund => "refund",
            Action::Close => "close",
            Action::RefundAnyway => "refund_anyway",
        }
    }
}
