//! Why a purchase leaves its worker: to a person (a dead letter) or to a
//! refund. Each reason carries the facts it names. Its `phrase` is what
//! the admins read in an alert, in their language (a message id of the
//! locales and its arguments); its `Display` is the English kept in
//! `last_error` and the event log for `/order` and the logs. Both are
//! fixed by the tests below.

use std::fmt;

use super::{Money, Phrase, PurchaseState, SupplierOrderId};

/// Why a purchase needs a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterReason {
    /// A create in flight (`submitting`) or in doubt (`reconciling`) whose
    /// attempt row is missing: nothing says whether an order exists.
    NoAttemptRecord(PurchaseState),
    /// The order a create made is tied to another purchase already.
    OrderLinkedElsewhere,
    /// Nothing to pay: no supplier order is linked.
    NoOrderLinked,
    /// Reading the linked order: the supplier does not know it.
    LinkedOrderNotFound,
    /// Paying the linked order: the supplier does not know it.
    PayOrderUnknown,
    /// Pay was sent this many times and the order stays `active`.
    StaysActive { pays: i64 },
    /// Completed with no usable code, read alone twice.
    CompletedWithoutCodes,
    /// The history cannot tell whether a create made an order (why not).
    MayOrMayNotExist(String),
    /// Waited too long in one state.
    Stalled(Stall),
    /// To deliver: no codes are stored.
    NoCodesStored,
    /// To deliver: none of the stored codes is usable.
    NoUsableCode,
    /// The messages a delivery's claim stored cannot be read back.
    StoredMessagesUnreadable,
    /// A part in doubt was sent again, and that send's outcome is unknown too.
    SentTwiceUnconfirmed,
    /// Telegram refused the codes message for good (its error).
    CodesMessageRefused(String),
    /// Telegram refused the Stars refund for good (its error).
    StarsRefundRefused(String),
}

impl fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DeadLetterReason::*;
        match self {
            NoAttemptRecord(state) => write!(f, "{state} without an attempt record"),
            OrderLinkedElsewhere => {
                f.write_str("the supplier order is already linked to another purchase")
            }
            NoOrderLinked => f.write_str("no supplier order is linked"),
            LinkedOrderNotFound => f.write_str("the linked supplier order is not found"),
            PayOrderUnknown => f.write_str("the supplier does not know the order we pay"),
            StaysActive { pays } => write!(
                f,
                "the supplier order stays active after {pays} pay requests"
            ),
            CompletedWithoutCodes => f.write_str(
                "the supplier completed the order but shows no codes (none usable), read alone twice",
            ),
            MayOrMayNotExist(why) => write!(f, "an order may or may not exist: {why}"),
            Stalled(stall) => write!(f, "{stall}"),
            NoCodesStored => f.write_str("no codes are stored for a completed order"),
            NoUsableCode => f.write_str("no usable code is stored for a completed order"),
            StoredMessagesUnreadable => {
                f.write_str("the stored messages of this delivery cannot be read")
            }
            SentTwiceUnconfirmed => f.write_str(
                "the codes were sent twice without a confirmation; the buyer can view them in /orders",
            ),
            CodesMessageRefused(why) => write!(f, "Telegram refused the codes message: {why}"),
            StarsRefundRefused(why) => write!(f, "Telegram refused the Stars refund: {why}"),
        }
    }
}

impl DeadLetterReason {
    /// The reason as the admins read it, worded in their language.
    pub fn phrase(&self) -> Phrase {
        use DeadLetterReason::*;
        let id = |name: &str| Phrase::new(&format!("dead-letter-{name}"));
        match self {
            NoAttemptRecord(state) => id("no-attempt-record").text("state", state.as_str()),
            OrderLinkedElsewhere => id("order-linked-elsewhere"),
            NoOrderLinked => id("no-order-linked"),
            LinkedOrderNotFound => id("linked-order-not-found"),
            PayOrderUnknown => id("pay-order-unknown"),
            StaysActive { pays } => id("stays-active").num("pays", *pays),
            CompletedWithoutCodes => id("completed-without-codes"),
            MayOrMayNotExist(why) => id("may-or-may-not-exist").text("why", why.as_str()),
            Stalled(stall) => stall.phrase(),
            NoCodesStored => id("no-codes-stored"),
            NoUsableCode => id("no-usable-code"),
            StoredMessagesUnreadable => id("stored-messages-unreadable"),
            SentTwiceUnconfirmed => id("sent-twice-unconfirmed"),
            CodesMessageRefused(why) => id("codes-message-refused").text("error", why.as_str()),
            StarsRefundRefused(why) => id("stars-refund-refused").text("error", why.as_str()),
        }
    }
}

/// A purchase that waited too long in one state, and what it waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub state: PurchaseState,
    /// How long it has been in `state`.
    pub waited_ms: i64,
    pub order: Option<SupplierOrderId>,
    pub supplier_status: Option<String>,
    pub last_error: Option<String>,
}

impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = human(self.waited_ms);
        let why = self
            .last_error
            .as_deref()
            .map(|e| format!(" (last: {e})"))
            .unwrap_or_default();
        let order = self
            .order
            .as_ref()
            .map_or("?".to_owned(), |o| o.to_string());
        match self.state {
            PurchaseState::WaitingSupplier => write!(
                f,
                "the supplier order {order} is still {} after {since} (paid; ask the supplier)",
                self.supplier_status.as_deref().unwrap_or("unfinished")
            ),
            PurchaseState::Ordering => {
                write!(f, "no supplier order could be started for {since}{why}")
            }
            PurchaseState::Submitting | PurchaseState::Reconciling => write!(
                f,
                "whether the supplier order exists is still unknown after {since}{why}"
            ),
            PurchaseState::Ordered | PurchaseState::Paying => {
                write!(
                    f,
                    "the supplier order {order} is still unpaid after {since}{why}"
                )
            }
            PurchaseState::Delivering => {
                write!(f, "the codes are still not delivered after {since}")
            }
            PurchaseState::Refunding => write!(f, "the refund is still not done after {since}"),
            other => write!(f, "still {other} after {since}{why}"),
        }
    }
}

impl Stall {
    /// What it waits on, as the admins read it, worded in their language.
    pub fn phrase(&self) -> Phrase {
        let order = self
            .order
            .as_ref()
            .map_or("?".to_owned(), |o| o.to_string());
        let last = match self.last_error.as_deref() {
            Some(e) => Phrase::new("stall-last-error").text("error", e),
            None => Phrase::new("stall-no-error"),
        };
        let id = |name: &str| {
            Phrase::new(&format!("stall-{name}")).phrase("since", Phrase::span(self.waited_ms))
        };
        match self.state {
            PurchaseState::WaitingSupplier => {
                let status = match self.supplier_status.as_deref() {
                    Some(s) => Phrase::new("stall-status").text("status", s),
                    None => Phrase::new("stall-status-unfinished"),
                };
                id("waiting-supplier")
                    .text("order", order)
                    .phrase("status", status)
            }
            PurchaseState::Ordering => id("ordering").phrase("last", last),
            PurchaseState::Submitting | PurchaseState::Reconciling => {
                id("create-unknown").phrase("last", last)
            }
            PurchaseState::Ordered | PurchaseState::Paying => {
                id("unpaid").text("order", order).phrase("last", last)
            }
            PurchaseState::Delivering => id("delivering"),
            PurchaseState::Refunding => id("refunding"),
            other => id("other")
                .text("state", other.as_str())
                .phrase("last", last),
        }
    }
}

/// "45 s", "12 min", "3 h 5 min".
fn human(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

/// Why the engine sends a purchase to refund, in the admins' words. The
/// buyer is told the refund's [`RefundReason`](super::RefundReason), which
/// for all of these is `supplier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundCause {
    /// This many creates were started and none made an order.
    CreatesExhausted { attempts: i64 },
    /// A re-quote came back beyond the accepted tolerance.
    PriceRose,
    /// The supplier refused the create (its reply).
    OrderRefused(String),
    /// The order's total (if the supplier said) is beyond the accepted price.
    AsksTooMuch(Option<Money>),
    /// The supplier refused the pay (its reply).
    PaymentRefused(String),
    /// The supplier failed, cancelled, or delivered nothing of the order.
    Supplier(SupplierFailure),
    /// A hold's deadline passed with the key still refused.
    KeyRefused,
    /// A hold's deadline passed with the balance still too low.
    BalanceNotToppedUp,
}

impl fmt::Display for RefundCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RefundCause::*;
        match self {
            CreatesExhausted { attempts } => write!(
                f,
                "no supplier order could be placed in {attempts} attempts"
            ),
            PriceRose => f.write_str("the supplier's price rose beyond the accepted tolerance"),
            OrderRefused(reply) => write!(f, "the supplier refused the order: {reply}"),
            AsksTooMuch(total) => {
                let total = total.map(|t| t.to_string()).unwrap_or_default();
                write!(f, "the supplier asks {total}, beyond the accepted price")
            }
            PaymentRefused(reply) => write!(f, "the supplier refused payment: {reply}"),
            Supplier(failure) => write!(f, "{failure}"),
            KeyRefused => f.write_str("the supplier kept refusing our API key"),
            BalanceNotToppedUp => f.write_str("the supplier balance was not topped up in time"),
        }
    }
}

impl RefundCause {
    /// The cause as the admins read it, worded in their language.
    pub fn phrase(&self) -> Phrase {
        use RefundCause::*;
        let id = |name: &str| Phrase::new(&format!("refund-cause-{name}"));
        match self {
            CreatesExhausted { attempts } => id("creates-exhausted").num("attempts", *attempts),
            PriceRose => id("price-rose"),
            OrderRefused(reply) => id("order-refused").text("reply", reply.as_str()),
            AsksTooMuch(Some(total)) => id("asks-too-much").text("total", total.to_string()),
            AsksTooMuch(None) => id("asks-too-much-unknown"),
            PaymentRefused(reply) => id("payment-refused").text("reply", reply.as_str()),
            Supplier(failure) => failure.phrase(),
            KeyRefused => id("key-refused"),
            BalanceNotToppedUp => id("balance-not-topped-up"),
        }
    }
}

/// What became of a supplier order that will not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Failed,
    Cancelled,
    /// Completed, with every item failed.
    DeliveredNothing,
}

/// A supplier order that will not deliver, with what the supplier said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierFailure {
    pub kind: Failure,
    /// The order's cancel reason, when it is named (the poller's list
    /// rows do not name it).
    pub cancel_reason: Option<String>,
    /// The per-item errors.
    pub errors: Vec<String>,
}

impl SupplierFailure {
    /// What became of the order, worded in the admins' language; what the
    /// supplier said (its cancel reason, its item errors) as it said it.
    pub fn phrase(&self) -> Phrase {
        let id = match self.kind {
            Failure::Failed => "supplier-failure-failed",
            Failure::Cancelled => "supplier-failure-cancelled",
            Failure::DeliveredNothing => "supplier-failure-delivered-nothing",
        };
        let mut said = Vec::new();
        if let Some(reason) = self.cancel_reason.as_deref().filter(|r| !r.is_empty()) {
            said.push(reason.to_owned());
        }
        if !self.errors.is_empty() {
            said.push(self.errors.join("; ").chars().take(200).collect());
        }
        let said = if said.is_empty() {
            Phrase::new("supplier-said-nothing")
        } else {
            Phrase::new("supplier-said").text("said", said.join(": "))
        };
        Phrase::new(id).phrase("said", said)
    }
}

impl fmt::Display for SupplierFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Failure::Failed => "the supplier order failed",
            Failure::Cancelled => "the supplier cancelled the order",
            Failure::DeliveredNothing => "the supplier completed the order but delivered nothing",
        })?;
        if let Some(reason) = self.cancel_reason.as_deref().filter(|r| !r.is_empty()) {
            write!(f, " ({reason})")?;
        }
        if !self.errors.is_empty() {
            let joined: String = self.errors.join("; ").chars().take(200).collect();
            write!(f, ": {joined}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(super::human(16_000), "16 s");
        assert_eq!(super::human(600_000), "10 min");
        assert_eq!(super::human(3 * 3_600_000 + 300_000), "3 h 5 min");
    }

    /// The admins' words are stored (`last_error`, events, alerts) and read
    /// by tests and people: they do not change with the types.
    #[test]
    fn dead_letter_reasons_keep_their_words() {
        use DeadLetterReason::*;
        let cases = [
            (
                NoAttemptRecord(PurchaseState::Submitting),
                "submitting without an attempt record",
            ),
            (
                NoAttemptRecord(PurchaseState::Reconciling),
                "reconciling without an attempt record",
            ),
            (
                StaysActive { pays: 3 },
                "the supplier order stays active after 3 pay requests",
            ),
            (
                MayOrMayNotExist("2 order(s) could be ours".to_owned()),
                "an order may or may not exist: 2 order(s) could be ours",
            ),
            (
                CodesMessageRefused("chat not found".to_owned()),
                "Telegram refused the codes message: chat not found",
            ),
            (
                StarsRefundRefused("CHARGE_NOT_FOUND".to_owned()),
                "Telegram refused the Stars refund: CHARGE_NOT_FOUND",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn a_stall_says_what_it_waits_on() {
        let stall = Stall {
            state: PurchaseState::Ordered,
            waited_ms: 600_000,
            order: Some(SupplierOrderId::parse("o-1").unwrap()),
            supplier_status: None,
            last_error: Some("timeout".to_owned()),
        };
        assert_eq!(
            DeadLetterReason::Stalled(stall.clone()).to_string(),
            "the supplier order o-1 is still unpaid after 10 min (last: timeout)"
        );
        let watched = Stall {
            state: PurchaseState::WaitingSupplier,
            ..stall
        };
        assert_eq!(
            watched.to_string(),
            "the supplier order o-1 is still unfinished after 10 min (paid; ask the supplier)"
        );
    }

    /// What an alert stores for a reason: its message id and arguments,
    /// nested where a reason holds a stall, a span or a supplier's words.
    #[test]
    fn reasons_are_stored_as_message_ids_with_arguments() {
        let json = |p: Phrase| serde_json::to_string(&p).unwrap();
        assert_eq!(
            json(DeadLetterReason::StaysActive { pays: 3 }.phrase()),
            r#"{"id":"dead-letter-stays-active","args":{"pays":3}}"#
        );
        let stall = Stall {
            state: PurchaseState::Ordered,
            waited_ms: 600_000,
            order: Some(SupplierOrderId::parse("o-1").unwrap()),
            supplier_status: None,
            last_error: None,
        };
        assert_eq!(
            json(DeadLetterReason::Stalled(stall).phrase()),
            r#"{"id":"stall-unpaid","args":{"last":{"id":"stall-no-error","args":{}},"order":"o-1","since":{"id":"admin-span-minutes","args":{"n":10}}}}"#
        );
        let failure = RefundCause::Supplier(SupplierFailure {
            kind: Failure::Cancelled,
            cancel_reason: Some("expired".to_owned()),
            errors: vec!["a".to_owned(), "b".to_owned()],
        });
        assert_eq!(
            json(failure.phrase()),
            r#"{"id":"supplier-failure-cancelled","args":{"said":{"id":"supplier-said","args":{"said":"expired: a; b"}}}}"#
        );
    }

    #[test]
    fn refund_causes_keep_their_words() {
        let failure = |kind, cancel_reason: Option<&str>, errors: &[&str]| {
            RefundCause::Supplier(SupplierFailure {
                kind,
                cancel_reason: cancel_reason.map(str::to_owned),
                errors: errors.iter().map(|e| (*e).to_owned()).collect(),
            })
        };
        let cases = [
            (
                RefundCause::CreatesExhausted { attempts: 5 },
                "no supplier order could be placed in 5 attempts".to_owned(),
            ),
            (
                RefundCause::AsksTooMuch(None),
                "the supplier asks , beyond the accepted price".to_owned(),
            ),
            (
                RefundCause::AsksTooMuch(Some(Money::parse("12.5").unwrap())),
                "the supplier asks 12.5, beyond the accepted price".to_owned(),
            ),
            (
                failure(Failure::Failed, None, &[]),
                "the supplier order failed".to_owned(),
            ),
            (
                failure(Failure::Cancelled, Some("expired"), &["a", "b"]),
                "the supplier cancelled the order (expired): a; b".to_owned(),
            ),
            (
                failure(Failure::DeliveredNothing, Some(""), &["x"]),
                "the supplier completed the order but delivered nothing: x".to_owned(),
            ),
            (
                failure(Failure::Failed, None, &[&"e".repeat(300)]),
                format!("the supplier order failed: {}", "e".repeat(200)),
            ),
        ];
        for (cause, text) in cases {
            assert_eq!(cause.to_string(), text);
        }
    }
}
