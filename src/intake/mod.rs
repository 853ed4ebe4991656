//! Intake: every way a purchase comes in, and the decisions made at the
//! door. The store only stores what intake decided.
//!
//! - `checkout`: the one check of a request (product, quantity, note) that
//!   the bot's checkout, pre-checkout, demo mode and `foxbot purchase` all
//!   make, giving an [`Offer`];
//! - `balance`: whether the supplier balance covers one more sale, judged
//!   at pre-checkout from stored facts;
//! - `admission`: whether a Stars payment of a checkout orders or is
//!   refunded (the store records the answer, once per charge);
//! - `manual`: `foxbot purchase`, a purchase paid outside Telegram, priced
//!   from the synced catalog (or the supplier) and recorded once per
//!   idempotency key.
//!
//! Demo mode's purchase is the bot's (`bot::payments`): an [`Offer`] made
//! into an unpaid purchase ([`Offer::unpaid_purchase`]).

pub mod admission;
mod balance;
mod checkout;
pub mod manual;

pub use balance::{BALANCE_FRESH_FOR, BalanceShort, balance_covers};
pub use checkout::{IntakeError, MAX_NOTE_VALUE, NoteProblem, Offer, check, note_value};
