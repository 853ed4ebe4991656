//! What the bot tells people as purchases move, read from the database and
//! never from the supplier: the buyer's one progress message, edited at
//! each step (from the event stream), and the admins' alerts (from the
//! alert outbox). One process does each at a time (a lease), so several
//! replicas do not send an alert twice.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{MessageId, ParseMode};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Shop, escape};
use crate::clock::millis;
use crate::domain::EventKind;
use crate::store::EventCursor;

/// How long one process holds a single-role task.
const LEASE: Duration = Duration::from_secs(30);
/// Longest wait between looks when nothing wakes us.
const IDLE: Duration = Duration::from_secs(2);

/// Starts both tasks; they stop when `shutdown` turns true.
pub fn spawn(bot: Bot, shop: Shop, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let progress = {
        let (bot, shop, stop) = (bot.clone(), shop.clone(), shutdown.clone());
        tokio::spawn(async move { progress_loop(bot, shop, stop).await })
    };
    let alerts = tokio::spawn(async move { alert_loop(bot, shop, shutdown).await });
    vec![progress, alerts]
}

async fn held(shop: &Shop, role: &str) -> bool {
    match shop
        .store
        .hold_lease(role, &shop.instance_id, shop.now(), millis(LEASE))
        .await
    {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(role, error = %e, "could not take the lease");
            false
        }
    }
}

async fn progress_loop(bot: Bot, shop: Shop, mut shutdown: watch::Receiver<bool>) {
    let cursor = EventCursor::new(
        shop.store.clone(),
        "bot-progress",
        &[
            EventKind::OrderPaid,
            EventKind::Delivered,
            EventKind::Refunded,
            EventKind::Cancelled,
            EventKind::DeadLetter,
        ],
    );
    while !*shutdown.borrow() {
        let mut worked = false;
        if held(&shop, "bot-progress").await {
            match progress_step(&bot, &shop, &cursor).await {
                Ok(n) => worked = n > 0,
                Err(e) => tracing::warn!(error = %e, "progress messages failed; trying again"),
            }
        }
        if !worked {
            tokio::select! {
                () = cursor.wait(IDLE) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
    let _ = shop
        .store
        .drop_lease("bot-progress", &shop.instance_id)
        .await;
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
        let step = match EventKind::parse(&event.kind) {
            Ok(EventKind::OrderPaid) => "progress-paid",
            Ok(EventKind::Delivered) => "progress-delivered",
            Ok(EventKind::Refunded) => "progress-refunded",
            Ok(EventKind::Cancelled) => "progress-cancelled",
            Ok(EventKind::DeadLetter) => "progress-attention",
            _ => continue,
        };
        let Some(message) = shop.store.progress_message(id).await? else {
            continue;
        };
        let Some(p) = shop.store.purchase(id).await? else {
            continue;
        };
        let lang = shop.store.language_of(p.user_id).await?;
        let text = super::payments::progress_text(lang, id, &p.product_name, p.quantity, step);
        let Ok(message) = i32::try_from(message) else {
            continue;
        };
        match bot
            .edit_message_text(ChatId(p.chat_id), MessageId(message), text)
            .parse_mode(ParseMode::Html)
            .await
        {
            Ok(_) => {}
            Err(teloxide::RequestError::RetryAfter(s)) => {
                // Nothing acknowledged from here on: seen again after the wait.
                tokio::time::sleep(s.duration()).await;
                return Ok(0);
            }
            Err(e) => tracing::debug!(purchase = id, error = %e, "progress message not edited"),
        }
    }
    let _ = cursor.ack(from, last, shop.now()).await?;
    Ok(events.len())
}

async fn alert_loop(bot: Bot, shop: Shop, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        let mut worked = false;
        if held(&shop, "alert-pusher").await {
            match push_alerts(&bot, &shop).await {
                Ok(n) => worked = n > 0,
                Err(e) => tracing::warn!(error = %e, "pushing alerts failed; trying again"),
            }
        }
        if !worked {
            tokio::select! {
                () = tokio::time::sleep(IDLE) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
    let _ = shop
        .store
        .drop_lease("alert-pusher", &shop.instance_id)
        .await;
}

/// Sends unsent alerts to every admin chat; an alert counts as sent when
/// at least one admin got it (or there is no admin to send it to).
async fn push_alerts(bot: &Bot, shop: &Shop) -> anyhow::Result<usize> {
    let alerts = shop.store.unsent_alerts(20).await?;
    for alert in &alerts {
        let text = format!(
            "⚠️ <b>{}</b>\n{}",
            escape(&alert.kind),
            escape(&alert.detail)
        );
        let mut delivered = shop.admins.is_empty();
        for admin in &shop.admins {
            match bot
                .send_message(ChatId(*admin), text.clone())
                .parse_mode(ParseMode::Html)
                .await
            {
                Ok(_) => delivered = true,
                Err(e) => tracing::warn!(admin, error = %e, "an admin alert was not sent"),
            }
        }
        if shop.admins.is_empty() {
            tracing::warn!(kind = %alert.kind, "alert with no ADMIN_IDS to send it to: {}", alert.detail);
        }
        if !delivered {
            // Tried again at the next look.
            return Ok(0);
        }
        shop.store.mark_alert_sent(alert.id, shop.now()).await?;
    }
    Ok(alerts.len())
}
