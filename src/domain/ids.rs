//! Identifiers: our client reference, the supplier's order and product ids,
//! the order watermark, and a Telegram user id.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::{InvalidValue, invalid};

/// Our own reference for a purchase intent, fixed before any supplier call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientRef(Uuid);

impl ClientRef {
    pub fn generate() -> Self {
        ClientRef(Uuid::now_v7())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Uuid::parse_str(text)
            .map(ClientRef)
            .map_err(|_| invalid("client_ref", "expected a UUID"))
    }
}

impl fmt::Display for ClientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

pub(super) fn check_identifier(what: &'static str, text: &str) -> Result<(), InvalidValue> {
    if text.is_empty() || text.len() > 128 {
        return Err(invalid(what, "expected 1 to 128 characters"));
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(invalid(
            what,
            "only letters, digits, '-', '_', '.' and ':' are allowed",
        ));
    }
    Ok(())
}

/// The supplier's id of an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SupplierOrderId(String);

impl SupplierOrderId {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        check_identifier("supplier order id", text)?;
        Ok(SupplierOrderId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for SupplierOrderId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SupplierOrderId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for SupplierOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The newest supplier order known to exist at some instant: orders of a
/// signature at or below it existed before an attempt that records it, so
/// they are never that attempt's order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Watermark {
    /// The account had no orders at all.
    Empty,
    /// The order at the top of the history.
    Order(SupplierOrderId),
}

impl Watermark {
    /// As kept in the database: `""` for [`Watermark::Empty`].
    pub fn parse_stored(text: &str) -> Result<Self, InvalidValue> {
        if text.is_empty() {
            Ok(Watermark::Empty)
        } else {
            SupplierOrderId::parse(text).map(Watermark::Order)
        }
    }

    pub fn as_stored(&self) -> &str {
        match self {
            Watermark::Empty => "",
            Watermark::Order(id) => id.as_str(),
        }
    }

    pub fn order(&self) -> Option<&SupplierOrderId> {
        match self {
            Watermark::Empty => None,
            Watermark::Order(id) => Some(id),
        }
    }
}

impl fmt::Display for Watermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Watermark::Empty => f.write_str("(no orders)"),
            Watermark::Order(id) => f.write_str(id.as_str()),
        }
    }
}

/// The supplier's id of a product.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ProductId(String);

impl ProductId {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        check_identifier("product id", text)?;
        Ok(ProductId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ProductId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ProductId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Telegram user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

impl UserId {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        match text.trim().parse::<i64>() {
            Ok(id) if id > 0 => Ok(UserId(id)),
            _ => Err(invalid(
                "telegram user id",
                format!("expected a positive whole number, got {text:?}"),
            )),
        }
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_refuse_hostile_text() {
        assert!(SupplierOrderId::parse("").is_err());
        assert!(SupplierOrderId::parse("a b").is_err());
        assert!(SupplierOrderId::parse("x\n").is_err());
        assert!(SupplierOrderId::parse(&"a".repeat(129)).is_err());
        assert!(SupplierOrderId::parse("3f2a-99_x").is_ok());
    }
}
