//! Every move of a `delivery_log` row, one named constructor each. The
//! store applies a [`DeliveryMove`] as a compare-and-set on
//! `(id, state, parts_sent)`.
//!
//! ```text
//! pending | sending | unknown ──claimed──▶ sending          (the next part, before it leaves)
//! sending ──arrived──▶ pending (more parts) | sent (the last)
//! sending ──blocked──▶ blocked                              (the buyer blocked the bot)
//! sending ──in_doubt──▶ unknown                             (it may have arrived)
//! sending ──refused──▶ pending                              (then a person looks)
//! sending ──not_sent──▶ pending, or unknown for a re-send   (definitely not sent)
//! ```

use crate::store::{Delivery, DeliveryMove, DeliveryState};

/// One part claimed `sending`: the moves its send's outcome makes all
/// start from this claim.
#[derive(Debug, Clone)]
pub(super) struct PartSend {
    /// `→ sending`, recorded before the part leaves.
    pub claim: DeliveryMove,
    /// The part was in doubt and is sent again, flagged.
    resend: bool,
    /// Whether the row was flagged re-sent before this claim.
    resent_before: bool,
}

impl PartSend {
    /// `→ sending`: part `d.parts_sent` is claimed before it leaves; a
    /// re-send of a part in doubt is flagged in the row.
    pub fn claimed(d: &Delivery, resend: bool) -> Self {
        PartSend {
            claim: DeliveryMove {
                from: d.state,
                parts_sent: d.parts_sent,
                to: DeliveryState::Sending,
                new_parts_sent: d.parts_sent,
                resent: d.resent || resend,
                message_id: None,
                error: None,
            },
            resend,
            resent_before: d.resent,
        }
    }

    /// `sending → to`, the part's progress unchanged.
    fn settled(&self, to: DeliveryState) -> DeliveryMove {
        DeliveryMove {
            from: DeliveryState::Sending,
            to,
            ..self.claim.clone()
        }
    }

    /// `sending → pending | sent`: the part arrived as `message_id`; the
    /// last of `total` parts makes the delivery `sent`.
    pub fn arrived(&self, message_id: i64, total: usize) -> DeliveryMove {
        let new_parts_sent = self.claim.parts_sent + 1;
        let done = usize::try_from(new_parts_sent).is_ok_and(|n| n >= total);
        let to = if done {
            DeliveryState::Sent
        } else {
            DeliveryState::Pending
        };
        DeliveryMove {
            new_parts_sent,
            message_id: Some(message_id),
            ..self.settled(to)
        }
    }

    /// `sending → blocked`: the buyer blocked the bot; the codes wait in
    /// `/orders`.
    pub fn blocked(&self) -> DeliveryMove {
        DeliveryMove {
            error: Some("the buyer blocked the bot".to_owned()),
            ..self.settled(DeliveryState::Blocked)
        }
    }

    /// `sending → unknown`: the part may have arrived (a timeout after
    /// sending); it is sent again once, flagged.
    pub fn in_doubt(&self, why: &str) -> DeliveryMove {
        with_error(self.settled(DeliveryState::Unknown), why)
    }

    /// `sending → pending`: Telegram refused the part for good; the error
    /// is kept for the person who looks next.
    pub fn refused(&self, why: &str) -> DeliveryMove {
        with_error(self.settled(DeliveryState::Pending), why)
    }

    /// Definitely not sent: back to `pending`. A re-send goes back to
    /// `unknown`, un-flagged: the part is still in doubt, so its next send
    /// is flagged again.
    pub fn not_sent(&self, why: Option<&str>) -> DeliveryMove {
        let m = if self.resend {
            DeliveryMove {
                resent: self.resent_before,
                ..self.settled(DeliveryState::Unknown)
            }
        } else {
            self.settled(DeliveryState::Pending)
        };
        match why {
            Some(why) => with_error(m, why),
            None => m,
        }
    }
}

/// The local copy of the row after `m` was recorded.
pub(super) fn follow(d: &mut Delivery, m: &DeliveryMove) {
    d.state = m.to;
    d.parts_sent = m.new_parts_sent;
    d.resent = m.resent;
}

/// `m` with Telegram's error kept (its first 200 characters).
fn with_error(m: DeliveryMove, why: &str) -> DeliveryMove {
    DeliveryMove {
        error: Some(why.chars().take(200).collect()),
        ..m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: DeliveryState, parts_sent: i64, resent: bool) -> Delivery {
        Delivery {
            id: 1,
            purchase_id: 7,
            state,
            claimed_at: 0,
            sent_at: None,
            message_id: None,
            resent,
            last_error: None,
            parts_sent,
            parts_total: 2,
            updated_at: 0,
            parts: None,
            parts_language: None,
        }
    }

    #[test]
    fn a_part_arrives_and_the_last_one_makes_the_delivery_sent() {
        let send = PartSend::claimed(&row(DeliveryState::Pending, 0, false), false);
        assert_eq!(send.claim.to, DeliveryState::Sending);
        let first = send.arrived(41, 2);
        assert_eq!(
            (first.from, first.to, first.parts_sent, first.new_parts_sent),
            (DeliveryState::Sending, DeliveryState::Pending, 0, 1)
        );
        assert_eq!(first.message_id, Some(41));
        let send = PartSend::claimed(&row(DeliveryState::Pending, 1, false), false);
        assert_eq!(send.arrived(42, 2).to, DeliveryState::Sent);
    }

    #[test]
    fn a_resend_not_sent_stays_in_doubt_and_unflagged() {
        let send = PartSend::claimed(&row(DeliveryState::Unknown, 0, false), true);
        assert!(send.claim.resent, "the re-send is flagged while it goes");
        let back = send.not_sent(Some("connection refused"));
        assert_eq!(back.to, DeliveryState::Unknown);
        assert!(!back.resent);
        assert_eq!(back.error.as_deref(), Some("connection refused"));
        // A first send not sent is simply pending again.
        let send = PartSend::claimed(&row(DeliveryState::Pending, 0, false), false);
        let back = send.not_sent(None);
        assert_eq!((back.to, back.error), (DeliveryState::Pending, None));
    }

    #[test]
    fn errors_are_kept_short() {
        let send = PartSend::claimed(&row(DeliveryState::Pending, 0, false), false);
        let long = "x".repeat(500);
        assert_eq!(
            send.in_doubt(&long).error.map(|e| e.chars().count()),
            Some(200)
        );
        assert_eq!(send.refused("bad").to, DeliveryState::Pending);
        assert_eq!(send.blocked().to, DeliveryState::Blocked);
    }
}
