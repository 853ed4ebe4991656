//! Every supplier failure falls in exactly one class, and the class says
//! what the caller may do next.

use std::time::Duration;

/// The supplier's reason for a definite refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectCode {
    BalanceNotEnough,
    OfferPriceNotMatched,
    OrderPaymentNotPossible,
    NotFound,
    /// 401/403: a wrong key or an IP not on the allowlist. The operator must act.
    Unauthorized,
    /// 400/422 without a known code: the request itself is wrong.
    Invalid,
    /// A code this client does not know.
    Other(String),
}

impl RejectCode {
    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "BALANCE_NOT_ENOUGH" => RejectCode::BalanceNotEnough,
            "OFFER_PRICE_NOT_MATCHED" => RejectCode::OfferPriceNotMatched,
            "ORDER_PAYMENT_NOT_POSSIBLE" => RejectCode::OrderPaymentNotPossible,
            "NOT_FOUND" => RejectCode::NotFound,
            "" => return None,
            other => RejectCode::Other(clean(other, 64)),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            RejectCode::BalanceNotEnough => "BALANCE_NOT_ENOUGH",
            RejectCode::OfferPriceNotMatched => "OFFER_PRICE_NOT_MATCHED",
            RejectCode::OrderPaymentNotPossible => "ORDER_PAYMENT_NOT_POSSIBLE",
            RejectCode::NotFound => "NOT_FOUND",
            RejectCode::Unauthorized => "UNAUTHORIZED",
            RejectCode::Invalid => "INVALID",
            RejectCode::Other(code) => code,
        }
    }
}

/// A definite "no": nothing was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub code: RejectCode,
    /// The supplier's text, trimmed to one short printable line.
    pub detail: String,
}

impl Rejection {
    /// Reads `{"code", "detail"}` (or just `{"detail"}`) from an error reply.
    pub fn from_reply(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize, Default)]
        struct ErrorBody {
            #[serde(default)]
            code: Option<String>,
            #[serde(default)]
            detail: Option<serde_json::Value>,
        }
        let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let by_status = match status {
            401 | 403 => RejectCode::Unauthorized,
            404 => RejectCode::NotFound,
            _ => RejectCode::Invalid,
        };
        let code = match (
            status,
            parsed.code.as_deref().and_then(RejectCode::from_code),
        ) {
            // Auth failures are always the operator's to fix, whatever the code says.
            (401 | 403, _) => RejectCode::Unauthorized,
            (_, Some(code)) => code,
            (_, None) => by_status,
        };
        let detail = match parsed.detail {
            Some(serde_json::Value::String(s)) => clean(&s, 200),
            Some(other) => clean(&other.to_string(), 200),
            None => String::new(),
        };
        Rejection {
            status,
            code,
            detail,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {})", self.code.as_str(), self.status)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SupplierError {
    /// Definitely not done (a 4xx with or without a known code).
    #[error("supplier refused: {0}")]
    Rejected(Rejection),
    /// A write whose outcome is unknown (timeout or reset after sending,
    /// 5xx, unparsable 2xx): the order may exist, or the payment may have
    /// been taken. Only reading the supplier's state can tell.
    #[error("supplier outcome unknown: {0}")]
    Ambiguous(String),
    /// Not done; may be tried again later: a 429 (with its `Retry-After`), a
    /// failed read, a write that never left (connection refused).
    #[error("supplier unavailable, try later: {reason}")]
    RetryLater {
        reason: String,
        retry_after: Option<Duration>,
    },
}

impl SupplierError {
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            SupplierError::Rejected(r) => Some(r),
            _ => None,
        }
    }

    pub fn is_code(&self, code: &RejectCode) -> bool {
        self.rejection().is_some_and(|r| &r.code == code)
    }
}

/// One printable line of at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_map_to_codes() {
        let r = Rejection::from_reply(400, br#"{"code":"BALANCE_NOT_ENOUGH","detail":"low"}"#);
        assert_eq!(r.code, RejectCode::BalanceNotEnough);
        assert_eq!(r.detail, "low");
        let r = Rejection::from_reply(422, br#"{"detail":[{"loc":["body"],"msg":"bad"}]}"#);
        assert_eq!(r.code, RejectCode::Invalid);
        let r = Rejection::from_reply(404, b"not json");
        assert_eq!(r.code, RejectCode::NotFound);
        let r = Rejection::from_reply(403, br#"{"code":"NOT_FOUND"}"#);
        assert_eq!(r.code, RejectCode::Unauthorized);
        let r = Rejection::from_reply(409, br#"{"code":"WEIRD_NEW_CODE","detail":"x\ny"}"#);
        assert_eq!(r.code, RejectCode::Other("WEIRD_NEW_CODE".into()));
        assert_eq!(r.detail, "x y");
    }
}
