//! How values read in the admins' messages: clipped text, spans of time,
//! money, UTC times, the supplier line of a purchase, and long texts
//! packed into messages under Telegram's limit.

use super::MESSAGE_BUDGET;
use crate::bot::{escape, t};
use crate::clock::Millis;
use crate::domain::{Language, Money, Span, span};
use crate::i18n::{self, arg, num};
use crate::ops::reports::Spend;
use crate::store::Purchase;

/// Longest error or event detail shown, in characters.
const CLIP: usize = 200;

/// At most [`CLIP`] characters, an ellipsis marking a cut.
pub(super) fn clip(text: &str) -> String {
    if text.chars().count() <= CLIP {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(CLIP - 1).collect();
    clipped.push('…');
    clipped
}

/// A span of time, in its largest two units.
pub(super) fn span_text(lang: Language, ms: Millis) -> String {
    match span(ms) {
        Span::Seconds(n) => i18n::text(lang, "admin-span-seconds", &[("n", num(n))]),
        Span::Minutes(n) => i18n::text(lang, "admin-span-minutes", &[("n", num(n))]),
        Span::Hours(h, m) => i18n::text(lang, "admin-span-hours", &[("h", num(h)), ("m", num(m))]),
        Span::Days(d, h) => i18n::text(lang, "admin-span-days", &[("d", num(d)), ("h", num(h))]),
    }
}

/// Money as people read it: at least two decimals, never rounded.
pub(super) fn money_text(m: Money) -> String {
    let mut d = m.decimal();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// Amounts per currency, as in `18.40 USD, 3.00 EUR`.
pub(super) fn amounts(spend: &Spend) -> String {
    spend
        .by_currency
        .iter()
        .map(|(currency, amount)| format!("{} {}", money_text(*amount), escape(currency)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A time in UTC, formatted by `pattern` (the raw number if out of range).
pub(super) fn utc(ms: Millis, pattern: &str) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|d| d.format(pattern).to_string())
        .unwrap_or_else(|| ms.to_string())
}

pub(super) fn not_found(lang: Language, purchase: i64) -> String {
    i18n::text(lang, "admin-not-found", &[("purchase", num(purchase))])
}

/// The supplier's order and its last status, or that there is none.
pub(super) fn supplier_line(lang: Language, p: &Purchase) -> String {
    match &p.supplier_order_id {
        Some(order) => {
            let status = p
                .supplier_status
                .as_deref()
                .map(|s| escape(&clip(s)))
                .unwrap_or_else(|| t(lang, "admin-status-unknown"));
            i18n::text(
                lang,
                "admin-supplier-order",
                &[
                    ("order", arg(&escape(order.as_str()))),
                    ("status", arg(&status)),
                ],
            )
        }
        None => t(lang, "admin-no-supplier-order"),
    }
}

/// Lines packed into as few messages as fit under [`MESSAGE_BUDGET`],
/// split only between lines (a single longer line goes alone).
pub(super) fn pack<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut messages = Vec::new();
    let mut message = String::new();
    for line in lines {
        if !message.is_empty() && message.len() + line.len() + 1 > MESSAGE_BUDGET {
            messages.push(std::mem::take(&mut message));
        }
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(line);
    }
    messages.push(message);
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_shows_two_decimals_and_is_never_rounded() {
        let m = |s: &str| Money::parse(s).unwrap();
        assert_eq!(money_text(m("18.4")), "18.40");
        assert_eq!(money_text(m("1000")), "1000.00");
        assert_eq!(money_text(m("0.125")), "0.125");
    }

    #[test]
    fn long_text_is_packed_between_lines_under_the_budget() {
        let line = "x".repeat(1_000);
        let lines = vec![line.as_str(); 7];
        let messages = pack(lines);
        assert_eq!(messages.len(), 3);
        assert!(messages.iter().all(|m| m.len() <= MESSAGE_BUDGET));
        assert_eq!(messages.join("\n"), [line.as_str(); 7].join("\n"));
        assert_eq!(pack(["a", "b"]), ["a\nb"]);
        assert_eq!(pack(Vec::<&str>::new()), [""]);
    }
}
