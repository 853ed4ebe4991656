//! Whether the supplier can pay for one more sale, judged at pre-checkout
//! from stored facts only: Telegram gives 10 s to answer, too little for
//! a supplier call.

use std::time::Duration;

use crate::clock::Millis;
use crate::domain::Money;

/// How old a supplier balance may be and still refuse a sale: the incident
/// watcher reads it every five minutes.
pub const BALANCE_FRESH_FOR: Duration = Duration::from_secs(5 * 60);

/// The supplier cannot pay for a sale: the last balance read is below what
/// is already in flight plus this purchase's wholesale cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceShort;

/// Whether the supplier balance covers one more purchase, judged from
/// stored facts only (pre-checkout has 10 s and calls no supplier):
/// `balance` as last read and when, `in_flight` the wholesale cost of what
/// buyers paid for that the balance does not yet show as spent
/// (`Store::in_flight_cost`), `cost` this purchase's wholesale cost.
///
/// Refuses only on a fresh balance (read within [`BALANCE_FRESH_FOR`]) and
/// a known cost. An unknown or stale balance never blocks a sale: the
/// watcher may be down or the supplier unreachable for a moment, and
/// refusing every buyer then would close the shop for a reading problem;
/// a purchase the balance cannot pay still waits for a top-up and is
/// refunded if none comes (the hold-and-refund path).
pub fn balance_covers(
    balance: Option<(Money, Millis)>,
    now: Millis,
    in_flight: Money,
    cost: Option<Money>,
) -> Result<(), BalanceShort> {
    let (Some((amount, read_at)), Some(cost)) = (balance, cost) else {
        return Ok(());
    };
    let fresh = now.saturating_sub(read_at) <= crate::clock::millis(BALANCE_FRESH_FOR);
    let needed = in_flight.decimal().checked_add(cost.decimal());
    match needed {
        Some(needed) if fresh && amount.decimal() < needed => Err(BalanceShort),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_checkout_refuses_only_what_a_fresh_balance_cannot_cover() {
        let usd = |t: &str| Money::parse(t).unwrap();
        let now = 10_000_000;
        let read = Some((usd("20.00"), now - 60_000));
        // 9.20 in flight + 9.20 = 18.40 ≤ 20: sold; + 11.00 = 20.20: not.
        assert_eq!(
            balance_covers(read, now, usd("9.20"), Some(usd("9.20"))),
            Ok(())
        );
        assert_eq!(
            balance_covers(read, now, usd("9.20"), Some(usd("11.00"))),
            Err(BalanceShort)
        );
        // Exactly enough is enough.
        assert_eq!(
            balance_covers(read, now, usd("9.00"), Some(usd("11.00"))),
            Ok(())
        );
        // Unknown, stale (over five minutes old) or uncostable: not refused.
        assert_eq!(balance_covers(None, now, usd("0"), Some(usd("99"))), Ok(()));
        let stale = Some((usd("1.00"), now - 5 * 60_000 - 1));
        assert_eq!(
            balance_covers(stale, now, usd("0"), Some(usd("99"))),
            Ok(())
        );
        let edge = Some((usd("1.00"), now - 5 * 60_000));
        assert_eq!(
            balance_covers(edge, now, usd("0"), Some(usd("99"))),
            Err(BalanceShort)
        );
        assert_eq!(balance_covers(read, now, usd("50"), None), Ok(()));
    }
}
