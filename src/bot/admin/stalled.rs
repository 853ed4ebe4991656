//! `/stalled`: dead letters and purchases unfinished past the stall
//! alert, each with its buttons (recheck, retry, refund, close).

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::MESSAGE_BUDGET;
use super::confirm::purchase_buttons;
use super::words::{clip, span_text, supplier_line};
use crate::bot::{Talk, escape, send};
use crate::clock::{Millis, millis};
use crate::domain::Language;
use crate::i18n::{self, arg, num};
use crate::ops::reports::{self, Stalled};
use crate::store::Purchase;

/// Purchases `/stalled` lists at most (the rest are counted).
const MAX_LISTED: i64 = 50;
/// Purchases per `/stalled` message, at most.
const PER_MESSAGE: usize = 10;

/// `/stalled`: the purchases that need a person, oldest first, each with
/// its buttons, in as many messages as it takes.
pub(super) async fn stalled(talk: &Talk<'_>) -> anyhow::Result<()> {
    let (bot, shop, chat, lang, _) = talk.parts();
    let list = reports::stalled(
        &shop.store,
        shop.engine.stall_alert(),
        shop.now(),
        MAX_LISTED,
    )
    .await?;
    for (text, markup) in stalled_messages(lang, &list, shop.now()) {
        send(bot, chat, text, markup).await;
    }
    Ok(())
}

/// The messages of `/stalled`: at most [`PER_MESSAGE`] purchases and
/// [`MESSAGE_BUDGET`] characters each, the rows that could not be read,
/// and how many more there are than listed.
fn stalled_messages(
    lang: Language,
    list: &Stalled,
    now: Millis,
) -> Vec<(String, Option<InlineKeyboardMarkup>)> {
    let threshold = span_text(lang, millis(list.threshold));
    if list.total == 0 {
        let text = i18n::text(
            lang,
            "admin-stalled-none",
            &[("threshold", arg(&threshold))],
        );
        return vec![(text, None)];
    }
    let mut messages = Vec::new();
    let mut text = i18n::text(
        lang,
        "admin-stalled-title",
        &[("total", num(list.total)), ("threshold", arg(&threshold))],
    );
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    for p in &list.purchases {
        let item = stalled_item(lang, p, now);
        let full = rows.len() >= PER_MESSAGE || text.len() + item.len() + 2 > MESSAGE_BUDGET;
        if full && !rows.is_empty() {
            let markup = InlineKeyboardMarkup::new(std::mem::take(&mut rows));
            messages.push((std::mem::take(&mut text), Some(markup)));
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&item);
        rows.push(purchase_buttons(lang, p.id));
    }
    for (id, problem) in &list.unreadable {
        text.push_str("\n\n");
        text.push_str(&i18n::text(
            lang,
            "admin-stalled-unreadable",
            &[
                ("purchase", num(*id)),
                ("problem", arg(&escape(&clip(problem)))),
            ],
        ));
    }
    let markup = (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows));
    messages.push((text, markup));
    let listed = (list.purchases.len() + list.unreadable.len()) as i64;
    if list.total > listed {
        let more = i18n::text(
            lang,
            "admin-stalled-more",
            &[("more", num(list.total - listed))],
        );
        messages.push((more, None));
    }
    messages
}

/// One listed purchase: what, its state and for how long, the supplier's
/// order, the last error.
fn stalled_item(lang: Language, p: &Purchase, now: Millis) -> String {
    let mut lines = vec![
        i18n::text(
            lang,
            "admin-stalled-item",
            &[
                ("purchase", num(p.id)),
                ("product", arg(&escape(&clip(&p.product_name)))),
                ("quantity", num(p.quantity.get())),
                ("stars", num(p.stars)),
            ],
        ),
        i18n::text(
            lang,
            "admin-stalled-state",
            &[
                ("state", arg(p.state.as_str())),
                (
                    "age",
                    arg(&span_text(lang, now.saturating_sub(p.state_since))),
                ),
                (
                    "since",
                    arg(&span_text(lang, now.saturating_sub(p.created_at))),
                ),
            ],
        ),
        supplier_line(lang, p),
    ];
    if let Some(error) = &p.last_error {
        lines.push(i18n::text(
            lang,
            "admin-stalled-error",
            &[("error", arg(&escape(&clip(error))))],
        ));
    }
    lines.join("\n")
}
