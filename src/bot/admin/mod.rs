//! The shop owner's tools, for the ids in `ADMIN_IDS` only: /stalled,
//! /balance, /order, /stats, /audit, and the buttons on a stalled purchase. What to
//! do is decided in `engine::admin`; this module only reads the command,
//! asks for confirmation, and words the answer.

use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup};

use super::callback::{Callback, Confirm};
use super::{HandlerResult, Shop, escape, say, send, show, t};
use crate::clock::{Millis, millis};
use crate::domain::{AlertKind, Language, Money, PurchaseState, UserId};
use crate::engine::admin::{Outcome, Plan, Preview, Refusal, Retry, SupplierCost};
use crate::engine::reorder::{Outcome as ReorderOutcome, Refusal as ReorderRefusal};
use crate::i18n::{self, arg, num};
use crate::ops::reports::{self, BalanceReport, DayStats, OrderRef, Span, Spend, span};
use crate::store::{Event, Purchase};

pub use crate::engine::admin::{Action, Seen};

/// Purchases `/stalled` lists at most (the rest are counted).
const MAX_LISTED: i64 = 50;
/// Purchases per `/stalled` message, at most.
const PER_MESSAGE: usize = 10;
/// Characters per message we aim below (Telegram's limit is 4096).
const MESSAGE_BUDGET: usize = 3_500;
/// Messages one `/order` timeline may take.
const TIMELINE_MESSAGES: usize = 4;
/// Longest error or event detail shown, in characters.
const CLIP: usize = 200;
/// How long a confirm button may be pressed, in minutes: older ones show
/// the plan as it stands now instead of acting.
const CONFIRM_MINUTES: i64 = 24 * 60;
/// How far ahead of our clock a confirm button's time may be (clocks of
/// replicas differ a little); further is forged.
const CONFIRM_SKEW_MINUTES: i64 = 5;

/// An admin command (the caller checked that the user is an admin).
pub async fn on_command(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    _user: UserId,
    command: &str,
    argument: &str,
) -> HandlerResult {
    let done = match command {
        "stalled" => stalled(bot, shop, chat, lang).await,
        "balance" => balance(bot, shop, chat, lang).await,
        "order" => order(bot, shop, chat, lang, argument).await,
        "stats" => stats(bot, shop, chat, lang).await,
        "audit" => audit(bot, shop, chat, lang).await,
        _ => {
            say(bot, chat, t(lang, "unknown-command")).await;
            Ok(())
        }
    };
    if let Err(e) = done {
        tracing::error!(command, error = %e, "an admin command failed");
        say(bot, chat, t(lang, "admin-failed")).await;
    }
    Ok(())
}

/// An admin button. Anyone else pressing one (a forwarded message) gets
/// the same answer as for an expired button, and nothing changes.
/// Who pressed an admin button, and in which chat: an admin, answered at
/// once (a supplier read must not leave the button spinning); anyone else
/// gets the "expired" answer and `None`, and learns nothing.
pub(super) async fn admin_press(
    bot: &Bot,
    shop: &Shop,
    q: &CallbackQuery,
    lang: Language,
) -> anyhow::Result<Option<Press>> {
    let admin = i64::try_from(q.from.id.0)
        .ok()
        .filter(|id| shop.is_admin(*id));
    let (Some(admin), Some(message)) = (admin, q.message.as_ref()) else {
        bot.answer_callback_query(q.id.clone())
            .text(t(lang, "button-expired"))
            .await?;
        return Ok(None);
    };
    bot.answer_callback_query(q.id.clone()).await?;
    Ok(Some(Press {
        admin,
        chat: message.chat().id,
        message: message.id(),
    }))
}

/// An admin's press: who, and the message the button was on.
pub(super) struct Press {
    pub admin: i64,
    pub chat: ChatId,
    pub message: teloxide::types::MessageId,
}

pub async fn on_button(
    bot: &Bot,
    shop: &Shop,
    q: &CallbackQuery,
    lang: Language,
    action: Action,
    purchase: i64,
    confirm: Option<Confirm>,
) -> HandlerResult {
    let Some(Press {
        admin,
        chat,
        message,
    }) = admin_press(bot, shop, q, lang).await?
    else {
        return Ok(());
    };
    let now = shop.now();
    let Some(confirm) = confirm else {
        let (text, markup) = preview(shop, lang, action, purchase, now).await;
        send(bot, chat, text, markup).await;
        return Ok(());
    };
    // A stale confirmation is not acted on: the plan is shown as it stands.
    let (text, markup) = if confirm_expired(confirm.issued_minute, now) {
        let (text, markup) = preview(shop, lang, action, purchase, now).await;
        (
            format!("{}\n\n{text}", t(lang, "admin-confirm-expired")),
            markup,
        )
    } else {
        match shop
            .engine
            .admin_act(UserId(admin), action, purchase, confirm.seen)
            .await
        {
            Ok(Outcome::Changed(new)) => {
                let (text, markup) = preview_view(lang, action, &new, now);
                (
                    format!("{}\n\n{text}", t(lang, "admin-confirm-changed")),
                    markup,
                )
            }
            Ok(outcome) => (outcome_text(lang, purchase, admin, &outcome), None),
            Err(e) => {
                tracing::error!(purchase, error = %e, "an admin action failed");
                (t(lang, "admin-failed"), None)
            }
        }
    };
    // The confirmation becomes the record of what was done (its button
    // goes), or the new plan with a new button.
    show(bot, chat, Some(message), text, markup).await;
    Ok(())
}

/// The minute (since the epoch) a confirm button made at `now` carries.
pub(super) fn confirm_minute(now: Millis) -> i64 {
    now.div_euclid(60_000)
}

/// Whether a confirmation must be asked (again): none was given, or the
/// button is more than a day old (then the question starts with why).
pub(super) fn must_ask(lang: Language, confirmed: Option<i64>, now: Millis) -> Option<String> {
    match confirmed {
        None => Some(String::new()),
        Some(issued) if confirm_expired(issued, now) => {
            Some(format!("{}\n\n", t(lang, "admin-confirm-expired")))
        }
        Some(_) => None,
    }
}

/// A confirm button made at `issued` (minutes since the epoch) is pressed
/// at `now`: more than a day old, or from the future, it is not acted on.
fn confirm_expired(issued: i64, now: Millis) -> bool {
    let now_minute = confirm_minute(now);
    issued < now_minute.saturating_sub(CONFIRM_MINUTES)
        || issued > now_minute.saturating_add(CONFIRM_SKEW_MINUTES)
}

/// What `action` would do to `purchase` now, worded, with its confirm
/// button (or, for a refusal, the button that may still apply).
async fn preview(
    shop: &Shop,
    lang: Language,
    action: Action,
    purchase: i64,
    now: Millis,
) -> (String, Option<InlineKeyboardMarkup>) {
    match shop.engine.admin_preview(action, purchase).await {
        Ok(Some(preview)) => preview_view(lang, action, &preview, now),
        Ok(None) => (not_found(lang, purchase), None),
        Err(e) => {
            tracing::error!(purchase, error = %e, "an admin preview failed");
            (t(lang, "admin-failed"), None)
        }
    }
}

fn preview_view(
    lang: Language,
    action: Action,
    preview: &Preview,
    now: Millis,
) -> (String, Option<InlineKeyboardMarkup>) {
    let purchase = preview.purchase.id;
    match (&preview.plan, preview.seen(action)) {
        (Ok(plan), Some(seen)) => {
            let confirm = Confirm {
                seen,
                issued_minute: confirm_minute(now),
            };
            (
                confirmation(lang, &preview.purchase, plan),
                confirm_keyboard(lang, action, purchase, confirm),
            )
        }
        (Err(refusal @ Refusal::CodesReachedBuyer), _) => {
            // The one way on, worded as what it is.
            let label = i18n::text(
                lang,
                "admin-button-refund-anyway",
                &[("purchase", num(purchase))],
            );
            let markup = button(label, Action::RefundAnyway, purchase, None)
                .map(|b| InlineKeyboardMarkup::new([[b]]));
            (refused(lang, purchase, refusal), markup)
        }
        (Err(refusal), _) => (refused(lang, purchase, refusal), None),
        (Ok(_), None) => (t(lang, "admin-failed"), None),
    }
}

fn button(
    text: String,
    action: Action,
    purchase: i64,
    confirm: Option<Confirm>,
) -> Option<InlineKeyboardButton> {
    Callback::Admin {
        action,
        purchase,
        confirm,
    }
    .data()
    .map(|data| InlineKeyboardButton::callback(text, data))
}

fn action_name(lang: Language, action: Action) -> String {
    t(
        lang,
        match action {
            Action::Recheck => "admin-action-recheck",
            Action::Retry => "admin-action-retry",
            Action::Refund => "admin-action-refund",
            Action::Close => "admin-action-close",
            Action::RefundAnyway => "admin-action-refund-anyway",
        },
    )
}

fn confirm_keyboard(
    lang: Language,
    action: Action,
    purchase: i64,
    confirm: Confirm,
) -> Option<InlineKeyboardMarkup> {
    let label = i18n::text(
        lang,
        "admin-confirm-button",
        &[
            ("action", arg(&action_name(lang, action))),
            ("purchase", num(purchase)),
        ],
    );
    button(label, action, purchase, Some(confirm)).map(|b| InlineKeyboardMarkup::new([[b]]))
}

/// The four buttons of a listed purchase.
fn purchase_buttons(lang: Language, purchase: i64) -> Vec<InlineKeyboardButton> {
    [
        (Action::Recheck, "admin-button-recheck"),
        (Action::Retry, "admin-button-retry"),
        (Action::Refund, "admin-button-refund"),
        (Action::Close, "admin-button-close"),
    ]
    .into_iter()
    .filter_map(|(action, key)| {
        let label = i18n::text(lang, key, &[("purchase", num(purchase))]);
        button(label, action, purchase, None)
    })
    .collect()
}

fn clip(text: &str) -> String {
    if text.chars().count() <= CLIP {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(CLIP - 1).collect();
    clipped.push('…');
    clipped
}

fn span_text(lang: Language, ms: Millis) -> String {
    match span(ms) {
        Span::Seconds(n) => i18n::text(lang, "admin-span-seconds", &[("n", num(n))]),
        Span::Minutes(n) => i18n::text(lang, "admin-span-minutes", &[("n", num(n))]),
        Span::Hours(h, m) => i18n::text(lang, "admin-span-hours", &[("h", num(h)), ("m", num(m))]),
        Span::Days(d, h) => i18n::text(lang, "admin-span-days", &[("d", num(d)), ("h", num(h))]),
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

fn amounts(spend: &Spend) -> String {
    spend
        .by_currency
        .iter()
        .map(|(currency, amount)| format!("{} {}", money_text(*amount), escape(currency)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn utc(ms: Millis, pattern: &str) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|d| d.format(pattern).to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn not_found(lang: Language, purchase: i64) -> String {
    i18n::text(lang, "admin-not-found", &[("purchase", num(purchase))])
}

// ---------------------------------------------------------------------------
// /stalled
// ---------------------------------------------------------------------------

async fn stalled(bot: &Bot, shop: &Shop, chat: ChatId, lang: Language) -> anyhow::Result<()> {
    let list = reports::stalled(
        &shop.store,
        shop.engine.stall_alert(),
        shop.now(),
        MAX_LISTED,
    )
    .await?;
    let threshold = span_text(lang, millis(list.threshold));
    if list.total == 0 {
        let text = i18n::text(
            lang,
            "admin-stalled-none",
            &[("threshold", arg(&threshold))],
        );
        say(bot, chat, text).await;
        return Ok(());
    }
    let now = shop.now();
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
            send(bot, chat, text, Some(InlineKeyboardMarkup::new(rows))).await;
            text = String::new();
            rows = Vec::new();
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
    send(bot, chat, text, markup).await;
    let listed = (list.purchases.len() + list.unreadable.len()) as i64;
    if list.total > listed {
        let more = i18n::text(
            lang,
            "admin-stalled-more",
            &[("more", num(list.total - listed))],
        );
        say(bot, chat, more).await;
    }
    Ok(())
}

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

fn supplier_line(lang: Language, p: &Purchase) -> String {
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

// ---------------------------------------------------------------------------
// The buttons' words
// ---------------------------------------------------------------------------

fn confirmation(lang: Language, p: &Purchase, plan: &Plan) -> String {
    let id = ("purchase", num(p.id));
    let text = match plan {
        Plan::DueNow => i18n::text(
            lang,
            "admin-confirm-due-now",
            &[id, ("state", arg(p.state.as_str()))],
        ),
        Plan::ReadOrder(order) => i18n::text(
            lang,
            "admin-confirm-read-order",
            &[id, ("order", arg(&escape(order.as_str())))],
        ),
        Plan::Retry(Retry::Watch(order)) => i18n::text(
            lang,
            "admin-confirm-retry-watch",
            &[id, ("order", arg(&escape(order.as_str())))],
        ),
        Plan::Retry(Retry::Reconcile { .. }) => {
            i18n::text(lang, "admin-confirm-retry-reconcile", &[id])
        }
        Plan::Retry(Retry::Order) => i18n::text(lang, "admin-confirm-retry-order", &[id]),
        Plan::Refund {
            in_stars: true,
            withdraw_codes: true,
            ..
        } => i18n::text(
            lang,
            "admin-confirm-refund-anyway",
            &[id, ("stars", num(p.stars))],
        ),
        Plan::Refund {
            in_stars: false,
            withdraw_codes: true,
            ..
        } => i18n::text(
            lang,
            "admin-confirm-refund-anyway-no-stars",
            &[id, ("source", arg(p.source.as_str()))],
        ),
        Plan::Refund {
            partial: true,
            in_stars: true,
            ..
        } => i18n::text(
            lang,
            "admin-confirm-refund-partial",
            &[id, ("stars", num(p.stars))],
        ),
        Plan::Refund { in_stars: true, .. } => {
            i18n::text(lang, "admin-confirm-refund", &[id, ("stars", num(p.stars))])
        }
        Plan::Refund {
            in_stars: false, ..
        } => i18n::text(
            lang,
            "admin-confirm-refund-no-stars",
            &[id, ("source", arg(p.source.as_str()))],
        ),
        Plan::Close => i18n::text(lang, "admin-confirm-close", &[id]),
    };
    let cost = match plan {
        Plan::Refund {
            cost: Some(cost), ..
        } => format!("\n{}", cost_text(lang, cost)),
        _ => String::new(),
    };
    format!(
        "{text}{cost}\n{}\n\n{}",
        supplier_line(lang, p),
        t(lang, "admin-confirm-hint")
    )
}

/// The wholesale money a refund leaves with the supplier.
fn cost_text(lang: Language, cost: &SupplierCost) -> String {
    let currency = ("currency", arg(&escape(&cost.currency)));
    match (cost.certain, cost.amount) {
        (true, Some(amount)) => i18n::text(
            lang,
            "admin-confirm-cost-paid",
            &[("amount", arg(&money_text(amount))), currency],
        ),
        (false, Some(amount)) => i18n::text(
            lang,
            "admin-confirm-cost-maybe",
            &[("amount", arg(&money_text(amount))), currency],
        ),
        (true, None) => t(lang, "admin-confirm-cost-paid-unknown"),
        (false, None) => t(lang, "admin-confirm-cost-maybe-unknown"),
    }
}

fn refused(lang: Language, purchase: i64, refusal: &Refusal) -> String {
    let id = ("purchase", num(purchase));
    match refusal {
        Refusal::Finished(state) => i18n::text(
            lang,
            "admin-refused-finished",
            &[id, ("state", arg(state.as_str()))],
        ),
        Refusal::DeliveredInFull => i18n::text(lang, "admin-refused-delivered-in-full", &[id]),
        Refusal::CodesReachedBuyer => i18n::text(lang, "admin-refused-codes-reached", &[id]),
        Refusal::RefundUnderway => i18n::text(lang, "admin-refused-refund-underway", &[id]),
        Refusal::AlreadyRefunding => i18n::text(lang, "admin-refused-already-refunding", &[id]),
        Refusal::Busy => i18n::text(lang, "admin-refused-busy", &[id]),
        Refusal::Delivering => i18n::text(lang, "admin-refused-delivering", &[id]),
        Refusal::CreateInDoubt => i18n::text(lang, "admin-refused-create-in-doubt", &[id]),
        Refusal::NoOrderToRead => i18n::text(lang, "admin-refused-no-order", &[id]),
        Refusal::UnclearAttempts => i18n::text(lang, "admin-refused-unclear", &[id]),
        Refusal::StillWorked(state) => i18n::text(
            lang,
            "admin-refused-still-worked",
            &[id, ("state", arg(state.as_str()))],
        ),
    }
}

fn outcome_text(lang: Language, purchase: i64, admin: i64, outcome: &Outcome) -> String {
    let id = ("purchase", num(purchase));
    let done = match outcome {
        Outcome::Done(Plan::DueNow) => i18n::text(lang, "admin-done-due-now", &[id]),
        Outcome::Done(Plan::Retry(retry)) => i18n::text(
            lang,
            "admin-done-retry",
            &[id, ("state", arg(retry.state().as_str()))],
        ),
        Outcome::Done(Plan::Refund {
            in_stars: true,
            withdraw_codes: true,
            ..
        }) => i18n::text(lang, "admin-done-refund-anyway", &[id]),
        Outcome::Done(Plan::Refund { in_stars: true, .. }) => {
            i18n::text(lang, "admin-done-refund", &[id])
        }
        Outcome::Done(Plan::Refund {
            in_stars: false, ..
        }) => i18n::text(lang, "admin-done-refund-no-stars", &[id]),
        Outcome::Done(Plan::Close) => i18n::text(lang, "admin-done-close", &[id]),
        Outcome::Done(Plan::ReadOrder(order)) => i18n::text(
            lang,
            "admin-done-read-order",
            &[
                id,
                ("order", arg(&escape(order.as_str()))),
                ("status", arg(&t(lang, "admin-status-unknown"))),
            ],
        ),
        Outcome::OrderRead { order, status } => i18n::text(
            lang,
            "admin-done-read-order",
            &[
                id,
                ("order", arg(&escape(order.as_str()))),
                ("status", arg(&escape(status))),
            ],
        ),
        Outcome::Refused(refusal) => return refused(lang, purchase, refusal),
        Outcome::LostRace => return i18n::text(lang, "admin-lost-race", &[id]),
        // Worded with its new plan by the caller; alone, it is a lost race.
        Outcome::Changed(_) => return i18n::text(lang, "admin-lost-race", &[id]),
        Outcome::SignatureBusy => return i18n::text(lang, "admin-signature-busy", &[id]),
        Outcome::SupplierError(e) => {
            return i18n::text(
                lang,
                "admin-supplier-error",
                &[("error", arg(&escape(&clip(e))))],
            );
        }
        Outcome::NotFound => return not_found(lang, purchase),
    };
    format!(
        "{done}\n{}",
        i18n::text(lang, "admin-done-by", &[("admin", num(admin))])
    )
}

// ---------------------------------------------------------------------------
// /balance
// ---------------------------------------------------------------------------

async fn balance(bot: &Bot, shop: &Shop, chat: ChatId, lang: Language) -> anyhow::Result<()> {
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

// ---------------------------------------------------------------------------
// /order
// ---------------------------------------------------------------------------

async fn order(
    bot: &Bot,
    shop: &Shop,
    chat: ChatId,
    lang: Language,
    argument: &str,
) -> anyhow::Result<()> {
    let Some(reference) = OrderRef::parse(argument) else {
        say(bot, chat, t(lang, "admin-order-usage")).await;
        return Ok(());
    };
    let Some(p) = reports::find_purchase(&shop.store, &reference).await? else {
        let text = i18n::text(
            lang,
            "admin-order-not-found",
            &[("reference", arg(&escape(argument.trim())))],
        );
        say(bot, chat, text).await;
        return Ok(());
    };
    let events = shop.store.events_of(p.id).await?;
    let mut messages = timeline(lang, &p, &events);
    let last = messages.pop().unwrap_or_default();
    for text in messages {
        say(bot, chat, text).await;
    }
    // The buttons go under the purchase when there is something to do by
    // hand: anything unfinished, and a partial delivery's refund.
    let actionable = match p.state {
        PurchaseState::Refunded | PurchaseState::Cancelled => false,
        PurchaseState::Delivered => shop
            .store
            .alerts_of(p.id)
            .await?
            .iter()
            .any(|a| a.kind == AlertKind::PartialDelivery.as_str()),
        _ => true,
    };
    let markup = actionable.then(|| InlineKeyboardMarkup::new([purchase_buttons(lang, p.id)]));
    send(bot, chat, last, markup).await;
    Ok(())
}

/// The purchase and its events, in as many messages as it takes (up to a
/// few; the oldest events are left out past that).
fn timeline(lang: Language, p: &Purchase, events: &[Event]) -> Vec<String> {
    let mut head = vec![
        i18n::text(
            lang,
            "admin-order-title",
            &[
                ("purchase", num(p.id)),
                ("product", arg(&escape(&clip(&p.product_name)))),
                ("quantity", num(p.quantity.get())),
            ],
        ),
        i18n::text(
            lang,
            "admin-order-state",
            &[
                ("state", arg(p.state.as_str())),
                ("stars", num(p.stars)),
                ("source", arg(p.source.as_str())),
                ("user", num(p.user_id.0)),
            ],
        ),
        supplier_line(lang, p),
    ];
    if let Some(charge) = &p.telegram_charge_id {
        head.push(i18n::text(
            lang,
            "admin-order-charge",
            &[("charge", arg(&escape(charge)))],
        ));
    }
    if let Some(error) = &p.last_error {
        head.push(i18n::text(
            lang,
            "admin-stalled-error",
            &[("error", arg(&escape(&clip(error))))],
        ));
    }
    head.push(i18n::text(
        lang,
        "admin-order-created",
        &[("at", arg(&utc(p.created_at, "%Y-%m-%d %H:%M:%S")))],
    ));
    head.push(String::new());
    head.push(t(lang, "admin-order-timeline"));
    if events.is_empty() {
        head.push(t(lang, "admin-order-no-events"));
    }
    let lines: Vec<String> = events.iter().map(event_line).collect();
    // The newest events matter most: fill the messages from the end.
    let mut budget = TIMELINE_MESSAGES * MESSAGE_BUDGET;
    let head_len: usize = head.iter().map(|l| l.len() + 1).sum();
    budget = budget.saturating_sub(head_len);
    let mut shown = 0;
    for line in lines.iter().rev() {
        if line.len() + 1 > budget {
            break;
        }
        budget -= line.len() + 1;
        shown += 1;
    }
    let hidden = lines.len() - shown;
    if hidden > 0 {
        head.push(i18n::text(
            lang,
            "admin-order-more",
            &[("more", num(hidden as i64))],
        ));
    }
    let mut messages = Vec::new();
    let mut current = head.join("\n");
    for line in &lines[hidden..] {
        if current.len() + line.len() + 1 > MESSAGE_BUDGET {
            messages.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
    }
    messages.push(current);
    messages
}

/// One event, as admins read it: time, kind, move, who, what.
fn event_line(e: &Event) -> String {
    let mut line = format!(
        "<code>{}</code> {}",
        utc(e.at, "%m-%d %H:%M:%S"),
        escape(&e.kind)
    );
    match (&e.from_state, &e.to_state) {
        (Some(from), Some(to)) if from != to => {
            line.push_str(&format!(" {} → {}", escape(from), escape(to)));
        }
        (None, Some(to)) => line.push_str(&format!(" → {}", escape(to))),
        _ => {}
    }
    if let Some(actor) = e.actor.as_deref().filter(|a| !a.is_empty()) {
        line.push_str(&format!(" · {}", escape(&clip(actor))));
    }
    let detail = e.detail.trim();
    if !detail.is_empty() && detail != "{}" && detail != "null" {
        line.push_str(&format!(" · {}", escape(&clip(detail))));
    }
    line
}

// ---------------------------------------------------------------------------
// /stats
// ---------------------------------------------------------------------------

async fn stats(bot: &Bot, shop: &Shop, chat: ChatId, lang: Language) -> anyhow::Result<()> {
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

// ---------------------------------------------------------------------------
// Re-ordering the units a partial delivery is missing (issue #14, hole 5)
// ---------------------------------------------------------------------------

/// The buttons under a partial delivery's alert: re-order the missing
/// units at the shop's cost, or refund the whole charge. Each asks for
/// confirmation first.
pub fn partial_delivery_buttons(lang: Language, purchase: i64) -> Option<InlineKeyboardMarkup> {
    let reorder = Callback::Reorder {
        purchase,
        confirmed: None,
    }
    .data()
    .map(|data| {
        let label = i18n::text(lang, "admin-button-reorder", &[("purchase", num(purchase))]);
        InlineKeyboardButton::callback(label, data)
    });
    let refund = button(
        i18n::text(lang, "admin-button-refund", &[("purchase", num(purchase))]),
        Action::Refund,
        purchase,
        None,
    );
    let row: Vec<InlineKeyboardButton> = [reorder, refund].into_iter().flatten().collect();
    (!row.is_empty()).then(|| InlineKeyboardMarkup::new([row]))
}

/// The re-order button, for admins only (anyone else gets the expired
/// answer): asked, it shows what would be ordered and a confirm button;
/// confirmed, the engine makes the re-order (once, however often pressed).
pub async fn on_reorder_button(
    bot: &Bot,
    shop: &Shop,
    q: &CallbackQuery,
    lang: Language,
    purchase: i64,
    confirmed: Option<i64>,
) -> HandlerResult {
    let Some(Press {
        admin,
        chat,
        message,
    }) = admin_press(bot, shop, q, lang).await?
    else {
        return Ok(());
    };
    let now = shop.now();
    if let Some(why) = must_ask(lang, confirmed, now) {
        let (text, markup) = reorder_question(shop, lang, purchase, &why, now).await;
        send(bot, chat, text, markup).await;
        return Ok(());
    }
    let text = match shop.engine.reorder_missing(UserId(admin), purchase).await {
        Ok(ReorderOutcome::Ordered { child, missing }) => format!(
            "{}\n{}",
            i18n::text(
                lang,
                "admin-done-reorder",
                &[
                    ("purchase", num(purchase)),
                    ("missing", num(missing)),
                    ("child", num(child)),
                ],
            ),
            i18n::text(lang, "admin-done-by", &[("admin", num(admin))])
        ),
        Ok(ReorderOutcome::Refused(refusal)) => reorder_refused(lang, purchase, &refusal),
        Ok(ReorderOutcome::NotFound) => not_found(lang, purchase),
        Err(e) => {
            tracing::error!(purchase, error = %e, "a re-order failed");
            t(lang, "admin-failed")
        }
    };
    // The confirmation becomes the record of what was done (its button goes).
    show(bot, chat, Some(message), text, None).await;
    Ok(())
}

/// What a re-order of `purchase` would order, worded, with its confirm
/// button (made at `now`); `why` opens it when the question is asked again.
async fn reorder_question(
    shop: &Shop,
    lang: Language,
    purchase: i64,
    why: &str,
    now: Millis,
) -> (String, Option<InlineKeyboardMarkup>) {
    match shop.engine.reorder_preview(purchase).await {
        Ok(Some(preview)) => match preview.plan {
            Ok(missing) => {
                let text = i18n::text(
                    lang,
                    "admin-confirm-reorder",
                    &[
                        ("purchase", num(purchase)),
                        ("missing", num(missing)),
                        (
                            "product",
                            arg(&escape(&clip(&preview.purchase.product_name))),
                        ),
                    ],
                );
                let label = i18n::text(
                    lang,
                    "admin-confirm-reorder-button",
                    &[("purchase", num(purchase))],
                );
                let markup = Callback::Reorder {
                    purchase,
                    confirmed: Some(confirm_minute(now)),
                }
                .data()
                .map(|data| {
                    InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(label, data)]])
                });
                (
                    format!(
                        "{why}{text}\n{}\n\n{}",
                        supplier_line(lang, &preview.purchase),
                        t(lang, "admin-confirm-hint")
                    ),
                    markup,
                )
            }
            Err(refusal) => (reorder_refused(lang, purchase, &refusal), None),
        },
        Ok(None) => (not_found(lang, purchase), None),
        Err(e) => {
            tracing::error!(purchase, error = %e, "a re-order preview failed");
            (t(lang, "admin-failed"), None)
        }
    }
}

fn reorder_refused(lang: Language, purchase: i64, refusal: &ReorderRefusal) -> String {
    let id = ("purchase", num(purchase));
    match refusal {
        ReorderRefusal::Already(child) => {
            i18n::text(lang, "admin-reorder-already", &[id, ("child", num(*child))])
        }
        ReorderRefusal::NotDelivered(state) => i18n::text(
            lang,
            "admin-reorder-not-delivered",
            &[id, ("state", arg(state.as_str()))],
        ),
        ReorderRefusal::NothingMissing => i18n::text(lang, "admin-reorder-nothing-missing", &[id]),
    }
}

// /audit
// ---------------------------------------------------------------------------

/// The ledger audit of the last [`DEFAULT_SINCE`](crate::ops::audit::DEFAULT_SINCE):
/// Telegram's star transactions (not in demo mode: no Stars are taken),
/// the supplier's history as a low-priority reader, our tables. Sets
/// `foxbot_ledger_anomalies` like every run.
async fn audit(bot: &Bot, shop: &Shop, chat: ChatId, lang: Language) -> anyhow::Result<()> {
    use crate::ops::audit::{self, DEFAULT_SINCE, Sources, StarLedger};
    let days = (DEFAULT_SINCE.as_secs() / 86_400) as i64;
    say(
        bot,
        chat,
        i18n::text(lang, "audit-running", &[("days", num(days))]),
    )
    .await;
    let telegram = super::telegram::Telegram::new(bot.clone());
    let sources = Sources {
        store: &shop.store,
        supplier: &shop.supplier,
        stars: (!shop.demo).then_some(&telegram as &dyn StarLedger),
        stars_per_usd: shop.stars_per_usd,
    };
    let report = audit::run(&sources, DEFAULT_SINCE, shop.now()).await?;
    let text = audit::render(&report, lang, &escape);
    // Long reports go in several messages, split between lines.
    let mut message = String::new();
    for line in text.lines() {
        if !message.is_empty() && message.len() + line.len() + 1 > MESSAGE_BUDGET {
            say(bot, chat, std::mem::take(&mut message)).await;
        }
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(line);
    }
    say(bot, chat, message).await;
    Ok(())
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
    fn every_admin_text_exists_in_both_languages() {
        for lang in Language::ALL {
            for key in [
                "admin-failed",
                "admin-stalled-none",
                "admin-confirm-refund-partial",
                "admin-done-by",
                "admin-balance-title",
                "admin-stats-title",
            ] {
                assert_ne!(i18n::text(lang, key, &[]), key, "{key}");
            }
        }
        let hi = i18n::text(
            Language::Hi,
            "admin-confirm-refund-partial",
            &[("purchase", num(7)), ("stars", num(100))],
        );
        assert!(hi.contains("#7") && hi.contains("100"), "{hi}");
    }

    #[test]
    fn a_confirm_button_expires_after_a_day_and_is_never_from_the_future() {
        let now: Millis = 1_700_000_000_000;
        let minute = now / 60_000;
        assert!(!confirm_expired(minute, now));
        assert!(!confirm_expired(minute - 24 * 60, now));
        assert!(confirm_expired(minute - 24 * 60 - 1, now));
        assert!(!confirm_expired(minute + 5, now));
        assert!(confirm_expired(minute + 6, now));
        assert!(confirm_expired(0, now));
        assert!(confirm_expired(i64::MAX, now));
    }

    #[test]
    fn a_reorder_or_orphan_refund_confirmation_is_asked_again_after_a_day() {
        let now: Millis = 1_700_000_000_000;
        let minute = confirm_minute(now);
        assert_eq!(must_ask(Language::En, None, now).as_deref(), Some(""));
        assert_eq!(must_ask(Language::En, Some(minute - 60), now), None);
        let again = must_ask(Language::En, Some(minute - 24 * 60 - 1), now).unwrap();
        assert!(again.contains("more than a day old"), "{again}");
        assert!(must_ask(Language::Hi, Some(minute + 60), now).is_some());
    }

    #[test]
    fn an_event_line_escapes_what_it_shows() {
        let e = Event {
            id: 1,
            purchase_id: Some(7),
            at: 0,
            kind: "admin_action".to_owned(),
            from_state: Some("dead_letter".to_owned()),
            to_state: Some("refunding".to_owned()),
            fence: Some(1),
            actor: Some("admin:9000".to_owned()),
            detail: r#"{"why":"<b>x</b>"}"#.to_owned(),
        };
        let line = event_line(&e);
        assert!(line.contains("dead_letter → refunding"), "{line}");
        assert!(line.contains("admin:9000"));
        assert!(
            line.contains("&lt;b&gt;") && !line.contains("<b>"),
            "{line}"
        );
    }
}
