//! A purchase's buttons for admins (recheck, retry, refund, close, refund
//! anyway): a first press shows what the action would do and a confirm
//! button carrying what the admin saw and when; the confirm button acts
//! only if the purchase is still as seen and the button is less than a
//! day old, else the plan is shown again as it stands.

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::plans::{confirmation, outcome_text, refused};
use super::words::not_found;
use super::{Action, Seen};
use crate::bot::callback::{Callback, Confirm};
use crate::bot::{HandlerResult, Pressed, Shop, send, show, t};
use crate::clock::Millis;
use crate::domain::{Language, UserId};
use crate::engine::admin::{Outcome, Preview, Refusal};
use crate::i18n::{self, arg, num};

/// How long a confirm button may be pressed, in minutes: older ones show
/// the plan as it stands now instead of acting.
const CONFIRM_MINUTES: i64 = 24 * 60;
/// How far ahead of our clock a confirm button's time may be (clocks of
/// replicas differ a little); further is forged.
const CONFIRM_SKEW_MINUTES: i64 = 5;

/// Who pressed an admin button: an admin, answered at once (a supplier
/// read must not leave the button spinning); anyone else (a forwarded
/// message) gets the "expired" answer and `None`, learns nothing, and
/// nothing changes.
pub(in crate::bot) async fn admin_press(pressed: &Pressed<'_>) -> anyhow::Result<Option<i64>> {
    let admin = pressing_admin(pressed).await?;
    if admin.is_some() {
        let (bot, _, q, _, _, _) = pressed.parts();
        bot.answer_callback_query(q.id.clone()).await?;
    }
    Ok(admin)
}

/// The admin who pressed, left for the caller to answer (with a text of
/// its own); anyone else gets the "expired" answer and `None`.
pub(in crate::bot) async fn pressing_admin(pressed: &Pressed<'_>) -> anyhow::Result<Option<i64>> {
    let (bot, shop, q, lang, _, _) = pressed.parts();
    let admin = i64::try_from(q.from.id.0)
        .ok()
        .filter(|id| shop.is_admin(*id));
    if admin.is_none() {
        bot.answer_callback_query(q.id.clone())
            .text(t(lang, "button-expired"))
            .await?;
    }
    Ok(admin)
}

/// A press on one of a purchase's buttons: asked, the plan and its
/// confirm button; confirmed, the action (or, stale, the plan again).
pub(in crate::bot) async fn on_button(
    pressed: &Pressed<'_>,
    action: Action,
    purchase: i64,
    confirm: Option<Confirm>,
) -> HandlerResult {
    let (bot, shop, _, lang, chat, message) = pressed.parts();
    let Some(admin) = admin_press(pressed).await? else {
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
        act(pressed, admin, action, purchase, confirm.seen).await
    };
    // The confirmation becomes the record of what was done (its button
    // goes), or the new plan with a new button.
    show(bot, chat, Some(message), text, markup).await;
    Ok(())
}

/// A confirmed action, asked of the engine against what `admin` saw, and
/// its outcome worded: what was done, or the new plan if the purchase
/// moved since.
async fn act(
    pressed: &Pressed<'_>,
    admin: i64,
    action: Action,
    purchase: i64,
    seen: Seen,
) -> (String, Option<InlineKeyboardMarkup>) {
    let Pressed { shop, lang, .. } = *pressed;
    match shop
        .engine
        .admin_act(UserId(admin), action, purchase, seen)
        .await
    {
        Ok(Outcome::Changed(new)) => {
            let (text, markup) = preview_view(lang, action, &new, shop.now());
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
}

/// The minute (since the epoch) a confirm button made at `now` carries.
pub(in crate::bot) fn confirm_minute(now: Millis) -> i64 {
    now.div_euclid(60_000)
}

/// Whether a confirmation must be asked (again): none was given, or the
/// button is more than a day old (then the question starts with why).
pub(in crate::bot) fn must_ask(
    lang: Language,
    confirmed: Option<i64>,
    now: Millis,
) -> Option<String> {
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

/// A preview worded: the plan and its confirm button, or the refusal.
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

/// A purchase's button for `action`, asking or confirming.
pub(super) fn button(
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

/// What an action is called on its confirm button.
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

/// The confirm button, carrying what the admin was shown and when.
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
pub(super) fn purchase_buttons(lang: Language, purchase: i64) -> Vec<InlineKeyboardButton> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
