//! What the bot tells people as purchases move, read from the database and
//! never from the supplier: the buyer's one progress message, edited at
//! each step (from the event stream), and the admins' alerts (from the
//! alert outbox). One process does each at a time (a lease), so several
//! replicas do not send an alert twice.
//!
//! A buyer is never left guessing: their message says, in their words and
//! naming no internal part, that the order is placed; that the shop is
//! restocking (with the minutes left before an automatic refund); that it
//! takes longer than usual (once the stall sweep alerted the admins); how
//! many codes of how many arrived; that a person took it over (and
//! `/support`); that it was refunded, and why. Each step is an event the
//! transition wrote in its own transaction: nothing here polls.

use std::time::Duration;

use fluent_bundle::FluentValue;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageId, ParseMode};
use tokio::task::JoinHandle;

use super::{Shop, escape};
use crate::clock::millis;
use crate::domain::{AlertKind, EventKind, HoldReason, Language, PurchaseState, UserId};
use crate::i18n::{self, arg, num};
use crate::runtime::{Loop, Pace, Runtime};
use crate::store::{Alert, AlertContent, Event, EventCursor, Purchase};

/// Longest wait between looks when nothing wakes us.
const IDLE: Duration = Duration::from_secs(2);

/// The events that change what the buyer's progress message says.
const PROGRESS_EVENTS: &[EventKind] = &[
    EventKind::OrderPaid,
    EventKind::OnHold,
    EventKind::HoldLifted,
    EventKind::StallAlerted,
    EventKind::Delivered,
    EventKind::Refunded,
    EventKind::Cancelled,
    EventKind::DeadLetter,
    EventKind::AdminAction,
];

/// Starts both tasks on `rt`, each held by one process at a time.
pub fn spawn(bot: Bot, shop: Shop, rt: &Runtime) -> Vec<JoinHandle<()>> {
    let cursor = EventCursor::new(shop.store.clone(), "bot-progress", PROGRESS_EVENTS);
    let progress = {
        let (bot, shop) = (bot.clone(), shop.clone());
        rt.spawn(Loop::single_role("bot-progress", IDLE), move |_| {
            let (bot, shop, cursor) = (bot.clone(), shop.clone(), cursor.clone());
            async move { progress_step(&bot, &shop, &cursor).await.map(Pace::worked) }
        })
    };
    let alerts = rt.spawn(Loop::single_role("alert-pusher", IDLE), move |_| {
        let (bot, shop) = (bot.clone(), shop.clone());
        async move { push_alerts(&bot, &shop).await.map(Pace::worked) }
    });
    vec![progress, alerts]
}

/// Edits the progress message of each purchase that moved. At least once:
/// an edit repeated after a restart changes nothing ("not modified").
async fn progress_step(bot: &Bot, shop: &Shop, cursor: &EventCursor) -> anyhow::Result<usize> {
    let from = cursor.position().await?;
    let events = cursor.next(50, shop.now()).await?;
    let Some(last) = events.last().map(|e| e.id) else {
        return Ok(0);
    };
    for event in &events {
        let Some(id) = event.purchase_id else {
            continue;
        };
        let Some(message) = shop.store.progress_message(id).await? else {
            continue;
        };
        let Some(p) = shop.store.purchase(id).await? else {
            continue;
        };
        let lang = shop.store.language_of(p.user_id).await?;
        let Some(text) = progress_words(shop, event, &p, lang).await? else {
            continue;
        };
        if edit_progress(bot, &p, message, text).await {
            return Ok(0);
        }
    }
    let _ = cursor.ack(from, last, shop.now()).await?;
    Ok(events.len())
}

/// What the buyer's message says after `event`, in the buyer's words (no
/// supplier, no state names); `None`: the event changes nothing they see,
/// or the purchase has moved on since (a later event says where it is).
async fn progress_words(
    shop: &Shop,
    event: &Event,
    p: &Purchase,
    lang: Language,
) -> anyhow::Result<Option<String>> {
    let words = Words { shop, p, lang };
    let step = match EventKind::parse(&event.kind) {
        Ok(EventKind::OrderPaid) => "progress-paid",
        Ok(EventKind::HoldLifted) if p.state != PurchaseState::OnHold => "progress-ordering",
        Ok(EventKind::OnHold) if p.state == PurchaseState::OnHold => {
            return Ok(Some(words.on_hold()));
        }
        // Still where it stalled: the admins were alerted; the buyer is
        // told it takes longer than usual and that the shop watches it.
        Ok(EventKind::StallAlerted) if event.to_state.as_deref() == Some(p.state.as_str()) => {
            match p.state {
                PurchaseState::Refunding => "progress-refund-slow",
                _ => "progress-slow",
            }
        }
        // Fewer usable codes than ordered: say how many of how many,
        // never a bare "delivered".
        Ok(EventKind::Delivered) if let Some(arrived) = partly(shop, p).await? => {
            return Ok(Some(words.partly(arrived)));
        }
        Ok(EventKind::Delivered) => "progress-delivered",
        Ok(EventKind::Refunded) => return Ok(Some(words.refunded().await?)),
        Ok(EventKind::Cancelled) => "progress-cancelled",
        Ok(EventKind::DeadLetter) => "progress-attention",
        // An admin moved it: say where it stands now (a refund says
        // so itself when it is done).
        Ok(EventKind::AdminAction) => match p.state {
            PurchaseState::Cancelled => "progress-cancelled",
            PurchaseState::WaitingSupplier => "progress-paid",
            PurchaseState::Ordering | PurchaseState::Reconciling => "progress-ordering",
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(words.text(step, &[])))
}

/// A purchase's progress texts for one buyer.
struct Words<'a> {
    shop: &'a Shop,
    p: &'a Purchase,
    lang: Language,
}

impl Words<'_> {
    /// `key` with the purchase, the product (the shop's name for it in the
    /// buyer's language, if it gave one) and the quantity, and `more`.
    fn text(&self, key: &str, more: &[(&str, FluentValue<'static>)]) -> String {
        let p = self.p;
        let product = self
            .shop
            .product_name(&p.product_id, self.lang, &p.product_name);
        let mut args = vec![
            ("purchase", num(p.id)),
            ("product", arg(&escape(product))),
            ("quantity", num(p.quantity.get())),
        ];
        args.extend(more.iter().cloned());
        i18n::text(self.lang, key, &args)
    }

    /// Waiting on the shop (a top-up, or a problem on its side), with the
    /// minutes left before the automatic refund, rounded up.
    fn on_hold(&self) -> String {
        let p = self.p;
        let since = p.hold_since.unwrap_or(p.state_since);
        let deadline = since.saturating_add(millis(self.shop.engine.balance_wait()));
        let left = deadline.saturating_sub(self.shop.now()).max(0);
        let minutes = (left + 59_999) / 60_000;
        let key = match p.hold_reason {
            Some(HoldReason::Balance) => "progress-on-hold-restock",
            _ => "progress-on-hold",
        };
        self.text(key, &[("minutes", num(minutes.max(1)))])
    }

    fn partly(&self, arrived: i64) -> String {
        let ordered = self.p.quantity.get();
        self.text(
            "progress-partly-delivered",
            &[("arrived", num(arrived)), ("ordered", num(ordered))],
        )
    }

    /// Refunded, and why, in the same words as the refund notice.
    async fn refunded(&self) -> anyhow::Result<String> {
        let key = crate::delivery::refund::buyer_reason_key(&self.shop.store, self.p).await?;
        let reason = i18n::text(self.lang, &key, &[]);
        Ok(self.text("progress-refunded", &[("reason", arg(&reason))]))
    }
}

/// How many of the purchase's units arrived, when fewer than ordered.
async fn partly(shop: &Shop, p: &Purchase) -> anyhow::Result<Option<i64>> {
    let Some(codes) = shop.store.codes(p.id).await? else {
        return Ok(None);
    };
    let usable = i64::try_from(codes.iter().filter(|c| c.is_usable()).count()).unwrap_or(i64::MAX);
    Ok((usable < p.quantity.get()).then_some(usable))
}

/// Edits the buyer's progress message; true when Telegram asked us to
/// wait (nothing is acknowledged from there on: seen again after it).
async fn edit_progress(bot: &Bot, p: &Purchase, message: i64, text: String) -> bool {
    let Ok(message) = i32::try_from(message) else {
        return false;
    };
    match bot
        .edit_message_text(ChatId(p.chat_id), MessageId(message), text)
        .parse_mode(ParseMode::Html)
        .await
    {
        Ok(_) => false,
        Err(teloxide::RequestError::RetryAfter(s)) => {
            tokio::time::sleep(s.duration()).await;
            true
        }
        Err(e) => {
            tracing::debug!(purchase = p.id, error = %e, "progress message not edited");
            false
        }
    }
}

/// Sends unsent alerts to every admin chat, each worded in that admin's
/// language; an alert counts as sent when at least one admin got it (or
/// there is no admin to send it to).
async fn push_alerts(bot: &Bot, shop: &Shop) -> anyhow::Result<usize> {
    let alerts = shop.store.unsent_alerts(20).await?;
    for alert in &alerts {
        let mut delivered = shop.admins.is_empty();
        for admin in &shop.admins {
            let lang = shop.store.language_of(UserId(*admin)).await?;
            let (text, markup) = alert_message(shop, alert, lang).await?;
            let mut request = bot
                .send_message(ChatId(*admin), text)
                .parse_mode(ParseMode::Html);
            if let Some(markup) = markup {
                request = request.reply_markup(markup);
            }
            match request.await {
                Ok(_) => delivered = true,
                Err(e) => tracing::warn!(admin, error = %e, "an admin alert was not sent"),
            }
        }
        if shop.admins.is_empty() {
            tracing::warn!(kind = %alert.kind, alert = alert.id, "alert with no ADMIN_IDS to send it to");
        }
        if !delivered {
            // Tried again at the next look.
            return Ok(0);
        }
        shop.store.mark_alert_sent(alert.id, shop.now()).await?;
    }
    Ok(alerts.len())
}

/// One alert as an admin reading `lang` gets it, with its buttons.
async fn alert_message(
    shop: &Shop,
    alert: &Alert,
    lang: Language,
) -> anyhow::Result<(String, Option<InlineKeyboardMarkup>)> {
    // A payment no invoice explains: worded per admin, with a refund button.
    let orphan = alert
        .dedup_key
        .as_deref()
        .and_then(crate::store::orphan_of_alert_key);
    if let Some(orphan) = orphan
        && let Some((html, markup)) = super::payments::orphan_alert(shop, lang, orphan).await?
    {
        return Ok((html, markup));
    }
    // A partial delivery comes with its two ways out: re-order the
    // missing units at the shop's cost, or refund the whole charge.
    let markup = match alert.purchase_id {
        Some(purchase) if alert.kind == AlertKind::PartialDelivery.as_str() => {
            super::admin::partial_delivery_buttons(lang, purchase)
        }
        _ => None,
    };
    Ok((alert_text(alert, lang), markup))
}

/// The words of an alert: its kind's message with its arguments, or, for
/// a row from before arguments were stored, its sentence as it is.
fn alert_text(alert: &Alert, lang: Language) -> String {
    let legacy = |detail: &str| {
        i18n::text(
            lang,
            "alert-legacy",
            &[
                ("title", arg(&escape(&alert.kind.replace('_', " ")))),
                ("detail", arg(&escape(detail))),
            ],
        )
    };
    match alert.content() {
        Ok(AlertContent::Args(args)) => {
            i18n::with_args(lang, &i18n::alert_key(&alert.kind), &args, &escape)
        }
        Ok(AlertContent::Legacy(detail)) => legacy(&detail),
        Err(e) => {
            tracing::warn!(alert = alert.id, error = %e, "an alert's arguments cannot be read");
            legacy(alert.args.as_deref().unwrap_or_default())
        }
    }
}
