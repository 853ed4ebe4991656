//! Amounts: exact money (never a float) and Telegram Stars.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{InvalidValue, invalid};

/// An exact amount of money (never a float). Parses from JSON strings and
/// JSON numbers alike without passing through `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(value: Decimal) -> Self {
        Money(value.normalize())
    }

    /// Parses `"12.34"`, `"12"`, `"-1.5"` or `"1.2e3"`; surrounding spaces are
    /// tolerated, anything else is refused.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let t = text.trim();
        if t.is_empty() || t.len() > 64 {
            return Err(invalid("money", "expected a decimal number"));
        }
        let parsed = if t.contains(['e', 'E']) {
            Decimal::from_scientific(t)
        } else {
            Decimal::from_str_exact(t)
        };
        parsed
            .map(Money::new)
            .map_err(|_| invalid("money", format!("{t:?} is not an exact decimal number")))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn times(self, quantity: i64) -> Option<Money> {
        self.0.checked_mul(Decimal::from(quantity)).map(Money::new)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Money {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Take the raw JSON text so a number like 12.34 never becomes an f64.
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get();
        let literal = if text.starts_with('"') {
            serde_json::from_str::<String>(text).map_err(serde::de::Error::custom)?
        } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            text.to_owned()
        } else {
            return Err(serde::de::Error::custom(
                "money: expected a string or a number",
            ));
        };
        Money::parse(&literal).map_err(serde::de::Error::custom)
    }
}

/// An amount of Telegram Stars (XTR), always positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stars(i64);

impl Stars {
    /// A bound that refuses absurd amounts (a misplaced markup, a price in
    /// the wrong currency) before they reach an invoice.
    pub const MAX: i64 = 100_000;

    pub fn new(amount: i64) -> Result<Self, InvalidValue> {
        if (1..=Self::MAX).contains(&amount) {
            Ok(Stars(amount))
        } else {
            Err(invalid(
                "stars",
                format!("{amount} is outside 1..={}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Stars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_strings_and_numbers_exactly() {
        let from_string: Money = serde_json::from_str("\"12.34\"").unwrap();
        let from_number: Money = serde_json::from_str("12.34").unwrap();
        assert_eq!(from_string, from_number);
        assert_eq!(from_string.to_string(), "12.34");
        // More digits than an exact decimal holds: refused, never rounded.
        assert!(serde_json::from_str::<Money>("0.1000000000000000055511151231257827").is_err());
        let long: Money = serde_json::from_str("1234567.123456789").unwrap();
        assert_eq!(long.to_string(), "1234567.123456789");
        let sci: Money = serde_json::from_str("1.5e2").unwrap();
        assert_eq!(sci.to_string(), "150");
    }

    proptest::proptest! {
        /// Any exact decimal, sent as a JSON string or as a JSON number,
        /// parses to exactly itself.
        #[test]
        fn money_round_trips_exactly_from_strings_and_numbers(
            mantissa in -10_000_000_000_000i64..10_000_000_000_000i64,
            scale in 0u32..=10,
        ) {
            let d = Decimal::new(mantissa, scale);
            let text = d.to_string();
            let from_string: Money = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            let from_number: Money = serde_json::from_str(&text).unwrap();
            proptest::prop_assert_eq!(from_string.decimal(), d);
            proptest::prop_assert_eq!(from_number.decimal(), d);
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn money_parsing_never_panics(text in "\\PC{0,40}") {
            let _ = Money::parse(&text);
            let _ = serde_json::from_str::<Money>(&text);
        }
    }

    #[test]
    fn money_refuses_what_is_not_a_number() {
        for bad in [
            "true", "null", "[]", "{}", "\"abc\"", "\"\"", "\"1,5\"", "\"NaN\"",
        ] {
            assert!(
                serde_json::from_str::<Money>(bad).is_err(),
                "{bad} was accepted"
            );
        }
    }
}
