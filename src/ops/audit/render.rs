//! The report for people, from the Fluent files (`audit-*`): the totals,
//! what the audit could not see, the oldest unfinished purchases, and the
//! anomalies, one helper per section. `/audit` and `foxbot audit` show the
//! same text.

use fluent_bundle::FluentValue;

use super::report::{Anomaly, AnomalyKind, ChargeLine, Counts, Gaps, Outcome, Report, Totals};
use crate::clock::Millis;
use crate::domain::{Language, Money};
use crate::i18n::{self, arg, num};

/// Anomalies and unfinished purchases listed at most (the rest are counted).
const LISTED: usize = 20;

/// Shows a value where the report is read (HTML for Telegram).
type Escape<'a> = &'a dyn Fn(&str) -> String;

/// The report in `lang`, from the Fluent files. `escape` makes a value
/// safe where it is shown (Telegram's HTML for `/audit`; nothing for the
/// terminal).
pub fn render(report: &Report, lang: Language, escape: &dyn Fn(&str) -> String) -> String {
    let mut lines = summary_lines(report, lang);
    lines.extend(money_lines(&report.totals, lang, escape));
    lines.extend(gap_lines(&report.gaps, lang));
    lines.extend(in_progress_lines(&report.charges, lang));
    lines.extend(anomaly_lines(&report.anomalies, lang, escape));
    lines.join("\n")
}

impl AnomalyKind {
    /// Its message id in the Fluent files.
    fn key(self) -> &'static str {
        match self {
            AnomalyKind::ChargeWithoutPurchase => "audit-anomaly-charge-without-purchase",
            AnomalyKind::ChargeAmountMismatch => "audit-anomaly-charge-amount-mismatch",
            AnomalyKind::PaymentNotInTelegram => "audit-anomaly-payment-not-in-telegram",
            AnomalyKind::RefundWithoutRecord => "audit-anomaly-refund-without-record",
            AnomalyKind::RefundNotInTelegram => "audit-anomaly-refund-not-in-telegram",
            AnomalyKind::DeliveredAndRefunded => "audit-anomaly-delivered-and-refunded",
            AnomalyKind::DeliveredWithoutRecord => "audit-anomaly-delivered-without-record",
            AnomalyKind::RefundedWithoutRefund => "audit-anomaly-refunded-without-refund",
            AnomalyKind::ClosedKeepingStars => "audit-anomaly-closed-keeping-stars",
            AnomalyKind::UnlinkedPaidOrder => "audit-anomaly-unlinked-paid-order",
            AnomalyKind::OrderLinkedTwice => "audit-anomaly-order-linked-twice",
            AnomalyKind::PaidOrderOfClosedPurchase => "audit-anomaly-paid-order-of-closed-purchase",
            AnomalyKind::DeliveredWithoutPaidOrder => "audit-anomaly-delivered-without-paid-order",
        }
    }
}

fn utc(ms: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn age_text(lang: Language, ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        0..120 => i18n::text(lang, "audit-age-minutes", &[("n", num(minutes))]),
        120..2_880 => i18n::text(lang, "audit-age-hours", &[("n", num(minutes / 60))]),
        _ => i18n::text(lang, "audit-age-days", &[("n", num(minutes / 1_440))]),
    }
}

/// Money as people read it: at least two decimals, never rounded.
fn money_text(m: Money) -> String {
    let mut d = m.decimal();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

fn counts_args(c: &Counts) -> [(&'static str, FluentValue<'static>); 5] {
    [
        ("total", num(c.total as i64)),
        ("delivered", num(c.delivered as i64)),
        ("refunded", num(c.refunded as i64)),
        ("progress", num(c.in_progress as i64)),
        ("anomalies", num(c.anomalies as i64)),
    ]
}

/// "… and N more" under a list of `count` cut at [`LISTED`].
fn more_line(lang: Language, count: usize) -> Option<String> {
    (count > LISTED).then(|| {
        i18n::text(
            lang,
            "audit-more",
            &[("more", num((count - LISTED) as i64))],
        )
    })
}

/// The period, and how many charges and debits ended how.
fn summary_lines(report: &Report, lang: Language) -> Vec<String> {
    let totals = &report.totals;
    let period = [
        ("since", arg(&utc(report.since))),
        ("now", arg(&utc(report.now))),
    ];
    let stars = [
        ("taken", num(totals.stars_taken)),
        ("refunded", num(totals.stars_refunded)),
        ("net", num(totals.stars_net)),
    ];
    vec![
        i18n::text(lang, "audit-title", &period),
        i18n::text(lang, "audit-charges", &counts_args(&totals.charges)),
        i18n::text(lang, "audit-debits", &counts_args(&totals.debits)),
        i18n::text(lang, "audit-stars", &stars),
    ]
}

/// The supplier spend, the debits without an amount, and the margin.
fn money_lines(totals: &Totals, lang: Language, escape: Escape) -> Vec<String> {
    let mut lines = Vec::new();
    if totals.spend.is_empty() {
        lines.push(i18n::text(lang, "audit-spend-none", &[]));
    } else {
        let amounts = totals
            .spend
            .iter()
            .map(|(c, m)| format!("{} {}", money_text(*m), escape(c)))
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(i18n::text(
            lang,
            "audit-spend",
            &[("amounts", arg(&amounts))],
        ));
    }
    if totals.unpriced_debits > 0 {
        let count = num(totals.unpriced_debits as i64);
        lines.push(i18n::text(lang, "audit-unpriced", &[("count", count)]));
    }
    lines.push(match totals.margin_usd {
        Some(m) => i18n::text(
            lang,
            "audit-margin",
            &[
                ("margin", arg(&money_text(m))),
                ("rate", arg(&totals.stars_per_usd.normalize().to_string())),
            ],
        ),
        None => i18n::text(lang, "audit-margin-none", &[]),
    });
    lines
}

/// What the audit could not see, one line each.
fn gap_lines(gaps: &Gaps, lang: Language) -> Vec<String> {
    let flags = [
        (gaps.stars_not_read, "audit-gap-stars-not-read"),
        (gaps.stars_incomplete, "audit-gap-stars-incomplete"),
        (gaps.history_incomplete, "audit-gap-history-incomplete"),
    ];
    let counted = [
        (gaps.unreadable_rows, "audit-gap-unreadable"),
        (gaps.unverified_orders, "audit-gap-unverified"),
    ];
    let flagged = flags
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, key)| i18n::text(lang, key, &[]));
    let counted = counted
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, key)| i18n::text(lang, key, &[("count", num(n as i64))]));
    flagged.chain(counted).collect()
}

/// The oldest unfinished purchases first: where a person may look first.
fn in_progress_lines(charges: &[ChargeLine], lang: Language) -> Vec<String> {
    let mut waiting: Vec<(i64, &str, i64)> = charges
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::InProgress { state, age_ms } => {
                Some((*age_ms, state.as_str(), c.purchase.unwrap_or(0)))
            }
            _ => None,
        })
        .collect();
    if waiting.is_empty() {
        return Vec::new();
    }
    waiting.sort_by_key(|w| std::cmp::Reverse(w.0));
    let count = [("count", num(waiting.len() as i64))];
    let mut lines = vec![
        String::new(),
        i18n::text(lang, "audit-in-progress-title", &count),
    ];
    for (age, state, purchase) in waiting.iter().take(LISTED) {
        lines.push(i18n::text(
            lang,
            "audit-in-progress-item",
            &[
                ("purchase", num(*purchase)),
                ("state", arg(state)),
                ("age", arg(&age_text(lang, *age))),
            ],
        ));
    }
    lines.extend(more_line(lang, waiting.len()));
    lines
}

/// The anomalies, or that there are none.
fn anomaly_lines(anomalies: &[Anomaly], lang: Language, escape: Escape) -> Vec<String> {
    if anomalies.is_empty() {
        return vec![String::new(), i18n::text(lang, "audit-ok", &[])];
    }
    let count = [("count", num(anomalies.len() as i64))];
    let mut lines = vec![
        String::new(),
        i18n::text(lang, "audit-anomalies-title", &count),
    ];
    lines.extend(
        anomalies
            .iter()
            .take(LISTED)
            .map(|a| anomaly_line(a, lang, escape)),
    );
    lines.extend(more_line(lang, anomalies.len()));
    lines.push(i18n::text(lang, "audit-anomalies-hint", &[]));
    lines
}

/// One anomaly, with what it concerns ("-" where it concerns none).
fn anomaly_line(a: &Anomaly, lang: Language, escape: Escape) -> String {
    let none = || "-".to_owned();
    i18n::text(
        lang,
        a.kind.key(),
        &[
            (
                "purchase",
                arg(&a.purchase.map_or_else(none, |p| format!("#{p}"))),
            ),
            (
                "charge",
                arg(&a.charge.as_deref().map_or_else(none, escape)),
            ),
            ("order", arg(&a.order.as_deref().map_or_else(none, escape))),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PurchaseState;
    use crate::ops::audit::classify;
    use crate::ops::audit::fixtures::{agreeing, purchase};

    #[test]
    fn the_report_reads_in_both_languages_with_every_anomaly_kind() {
        let mut facts = agreeing(vec![purchase(1, PurchaseState::WaitingSupplier)]);
        facts.supplier.complete = false;
        facts.supplier.unreadable = 2;
        let mut report = classify(&facts);
        report.anomalies = AnomalyKind::ALL
            .into_iter()
            .map(|kind| Anomaly {
                kind,
                purchase: Some(7),
                charge: Some("stx<1>".to_owned()),
                order: Some("order-7".to_owned()),
            })
            .collect();
        for lang in Language::ALL {
            let text = render(&report, lang, &crate::delivery::render::escape);
            for line in text.lines() {
                assert!(
                    !line.starts_with("audit-"),
                    "{lang:?}: a key with no text: {line}"
                );
            }
            assert!(
                text.contains("#7") && text.contains("stx&lt;1&gt;"),
                "{text}"
            );
            assert!(!text.contains('\u{2068}'), "no isolation marks");
        }
        let en = render(&report, Language::En, &|s| s.to_owned());
        assert!(en.contains("13 anomalies"), "{en}");
        assert!(en.contains("STARS_PER_USD = 100"), "{en}");
        assert!(en.contains("2 supplier history rows"), "{en}");
        assert!(en.contains("#1 waiting_supplier for 60 minutes"), "{en}");
        let ok = render(&classify(&agreeing(vec![])), Language::En, &|s| {
            s.to_owned()
        });
        assert!(ok.contains("No anomalies"), "{ok}");
    }
}
