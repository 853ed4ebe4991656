//! The shop's figures for admins: `/balance` (the supplier balance and
//! its runway), `/stats` (today) and `/audit` (the ledger audit).

use super::words::{amounts, clip, money_text, pack, span_text, utc};
use crate::bot::{Talk, escape, say, t};
use crate::clock::millis;
use crate::domain::Language;
use crate::i18n::{self, arg, num};
use crate::ops::reports::{self, BalanceReport, DayStats};

/// `/balance`: the supplier balance, how long it lasts at the recent
/// spend, and what was spent.
pub(super) async fn balance(talk: &Talk<'_>) -> anyhow::Result<()> {
    let (bot, shop, chat, lang, _) = talk.parts();
    let report = reports::balance_report(&shop.store, &shop.supplier, shop.now()).await?;
    say(bot, chat, balance_text(lang, &report)).await;
    Ok(())
}

fn balance_text(lang: Language, report: &BalanceReport) -> String {
    let mut lines = vec![t(lang, "admin-balance-title")];
    match &report.balances {
        Ok(balances) if balances.is_empty() => lines.push(t(lang, "admin-balance-empty")),
        Ok(balances) => {
            for b in balances {
                let currency = escape(&b.currency);
                lines.push(i18n::text(
                    lang,
                    "admin-balance-line",
                    &[
                        ("currency", arg(&currency)),
                        ("amount", arg(&money_text(b.amount))),
                    ],
                ));
                if let Some(lasts) = report.runway(b) {
                    lines.push(i18n::text(
                        lang,
                        "admin-balance-runway",
                        &[
                            ("currency", arg(&currency)),
                            ("span", arg(&span_text(lang, millis(lasts)))),
                        ],
                    ));
                }
            }
        }
        Err(e) => lines.push(i18n::text(
            lang,
            "admin-balance-error",
            &[("error", arg(&escape(&clip(&e.to_string()))))],
        )),
    }
    let spent = &report.spent;
    if spent.by_currency.is_empty() {
        lines.push(t(lang, "admin-balance-no-spend"));
    } else {
        lines.push(i18n::text(
            lang,
            "admin-balance-spent",
            &[
                ("amounts", arg(&amounts(spent))),
                ("orders", num(spent.orders as i64)),
            ],
        ));
    }
    if spent.unpriced > 0 {
        lines.push(i18n::text(
            lang,
            "admin-unpriced",
            &[("count", num(spent.unpriced as i64))],
        ));
    }
    lines.join("\n")
}

/// `/stats`: today's purchases, deliveries, refunds, revenue and cost.
pub(super) async fn stats(talk: &Talk<'_>) -> anyhow::Result<()> {
    let (bot, shop, chat, lang, _) = talk.parts();
    let today = reports::day_stats(&shop.store, shop.now()).await?;
    say(bot, chat, stats_text(lang, &today)).await;
    Ok(())
}

fn stats_text(lang: Language, s: &DayStats) -> String {
    let mut lines = vec![
        i18n::text(
            lang,
            "admin-stats-title",
            &[("day", arg(&utc(s.day, "%Y-%m-%d")))],
        ),
        i18n::text(lang, "admin-stats-purchases", &[("n", num(s.purchases))]),
        i18n::text(
            lang,
            "admin-stats-delivered",
            &[("n", num(s.delivered as i64))],
        ),
        i18n::text(
            lang,
            "admin-stats-refunded",
            &[("n", num(s.refunded)), ("stars", num(s.refunded_stars))],
        ),
        i18n::text(
            lang,
            "admin-stats-revenue",
            &[("stars", num(s.revenue_stars))],
        ),
    ];
    if s.cost.by_currency.is_empty() {
        lines.push(t(lang, "admin-stats-no-cost"));
    } else {
        lines.push(i18n::text(
            lang,
            "admin-stats-cost",
            &[("amounts", arg(&amounts(&s.cost)))],
        ));
    }
    if s.cost.unpriced > 0 {
        lines.push(i18n::text(
            lang,
            "admin-unpriced",
            &[("count", num(s.cost.unpriced as i64))],
        ));
    }
    lines.join("\n")
}

/// The ledger audit of the last [`DEFAULT_SINCE`](crate::ops::audit::DEFAULT_SINCE):
/// Telegram's star transactions (not in demo mode: no Stars are taken),
/// the supplier's history as a low-priority reader, our tables. Sets
/// `foxbot_ledger_anomalies` like every run.
pub(super) async fn audit(talk: &Talk<'_>) -> anyhow::Result<()> {
    let (bot, shop, chat, lang, _) = talk.parts();
    use crate::ops::audit::{self, DEFAULT_SINCE, Sources, StarLedger};
    let days = (DEFAULT_SINCE.as_secs() / 86_400) as i64;
    say(
        bot,
        chat,
        i18n::text(lang, "audit-running", &[("days", num(days))]),
    )
    .await;
    let telegram = crate::bot::telegram::Telegram::new(bot.clone());
    let sources = Sources {
        store: &shop.store,
        supplier: &shop.supplier,
        stars: (!shop.demo).then_some(&telegram as &dyn StarLedger),
        stars_per_usd: shop.stars_per_usd,
    };
    let report = audit::run(&sources, DEFAULT_SINCE, shop.now()).await?;
    let text = audit::render(&report, lang, &escape);
    // Long reports go in several messages, split between lines.
    for message in pack(text.lines()) {
        say(bot, chat, message).await;
    }
    Ok(())
}
