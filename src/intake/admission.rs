//! Payment admission: whether a Stars payment of one of our invoices makes
//! an order or is refunded. Decided here from the checkout and the payment
//! alone; the store records the answer in the transaction that claims the
//! checkout (`Store::record_payment`, given [`admit`]). A charge recorded
//! before, or one no invoice of ours explains, never reaches this decision:
//! the store settles those by its UNIQUE charge ids.

use crate::domain::{Admission, RefundReason};
use crate::store::{Checkout, StarPayment};

/// The only currency our invoices ask for: Telegram Stars.
const STARS: &str = "XTR";

/// What a payment of `checkout` becomes. `claimed`: this payment won the
/// checkout (its compare-and-set from open to paid changed the row).
///
/// The amount is judged first, claimed or not: a payment of anything but
/// the invoice's Stars is refunded as it came, and must not claim the
/// checkout (the invoice stays open for its right payment). So the store
/// asks as if claimed, claims only for an order, and asks again with the
/// claim's result: a lost claim means the invoice was already paid.
pub fn admit(checkout: &Checkout, pay: &StarPayment, claimed: bool) -> Admission {
    if pay.currency != STARS || pay.total_amount != checkout.sale.stars {
        return Admission::Refund(RefundReason::AmountMismatch);
    }
    if !claimed {
        return Admission::Refund(RefundReason::PaidTwice);
    }
    Admission::Order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Language, Money, Note, ProductId, Quantity, Sale, UserId};
    use crate::store::CheckoutState;

    fn checkout(stars: i64) -> Checkout {
        Checkout {
            id: 1,
            payload: "c1".to_owned(),
            user_id: UserId(7),
            chat_id: 7,
            language: Language::En,
            sale: Sale {
                product_id: ProductId::parse("product_steam_10").unwrap(),
                product_name: "Steam Wallet 10".to_owned(),
                quantity: Quantity::new(1).unwrap(),
                note: Note::default(),
                unit_price: Some(Money::parse("9.20").unwrap()),
                currency: "USD".to_owned(),
                stars,
            },
            state: CheckoutState::Open,
            purchase_id: None,
            created_at: 0,
        }
    }

    fn payment(currency: &str, stars: i64) -> StarPayment {
        StarPayment {
            user_id: UserId(7),
            chat_id: 7,
            language: Language::En,
            payload: "c1".to_owned(),
            currency: currency.to_owned(),
            total_amount: stars,
            charge_id: "stx-1".to_owned(),
        }
    }

    #[test]
    fn the_invoices_amount_paid_once_makes_an_order() {
        assert_eq!(
            admit(&checkout(1012), &payment("XTR", 1012), true),
            Admission::Order
        );
    }

    #[test]
    fn a_second_payment_of_one_invoice_is_refunded_as_paid_twice() {
        assert_eq!(
            admit(&checkout(1012), &payment("XTR", 1012), false),
            Admission::Refund(RefundReason::PaidTwice)
        );
    }

    #[test]
    fn a_payment_of_the_wrong_amount_is_refunded_whether_or_not_it_claimed() {
        let mismatch = Admission::Refund(RefundReason::AmountMismatch);
        for claimed in [true, false] {
            for pay in [
                payment("XTR", 1011),
                payment("XTR", 1013),
                payment("USD", 1012),
            ] {
                assert_eq!(admit(&checkout(1012), &pay, claimed), mismatch);
            }
        }
    }
}
