//! Re-ordering the units a partial delivery is missing (issue #14, hole
//! 5): the buttons under a partial delivery's alert, the question, and
//! the re-order the engine makes once however often it is confirmed.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::Action;
use super::confirm::{admin_press, button, confirm_minute, must_ask};
use super::words::{clip, not_found, supplier_line};
use crate::bot::callback::Callback;
use crate::bot::{HandlerResult, Pressed, Shop, escape, send, show, t};
use crate::clock::Millis;
use crate::domain::{Language, UserId};
use crate::engine::reorder::{Outcome as ReorderOutcome, Refusal as ReorderRefusal};
use crate::i18n::{self, arg, num};

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
pub(in crate::bot) async fn on_reorder_button(
    pressed: &Pressed<'_>,
    purchase: i64,
    confirmed: Option<i64>,
) -> HandlerResult {
    let (bot, shop, _, lang, chat, message) = pressed.parts();
    let Some(admin) = admin_press(pressed).await? else {
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

/// Why a re-order is refused, worded.
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
