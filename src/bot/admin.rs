//! The shop owner's tools, for the ids in `ADMIN_IDS` only: /stalled,
//! /balance, /order, /stats, and the buttons on a stalled purchase.

use teloxide::prelude::*;
use teloxide::types::CallbackQuery;

use super::{HandlerResult, Shop, say, t};
use crate::domain::{Language, UserId};

/// What an admin may do to a purchase from its buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the supplier order again now.
    Recheck,
    /// Put the purchase back to work.
    Retry,
    /// Refund the buyer's Stars.
    Refund,
    /// Close it as settled by hand.
    Close,
}

impl Action {
    pub fn parse(text: &str) -> Option<Action> {
        Some(match text {
            "recheck" => Action::Recheck,
            "retry" => Action::Retry,
            "refund" => Action::Refund,
            "close" => Action::Close,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Recheck => "recheck",
            Action::Retry => "retry",
            Action::Refund => "refund",
            Action::Close => "close",
        }
    }
}

/// An admin command (the caller checked that the user is an admin).
pub async fn on_command(
    bot: &Bot,
    _shop: &Shop,
    chat: ChatId,
    lang: Language,
    _user: UserId,
    _command: &str,
    _argument: &str,
) -> HandlerResult {
    say(bot, chat, t(lang, "unknown-command")).await;
    Ok(())
}

/// An admin button. Anyone else pressing one (a forwarded message) gets
/// the same answer as for an expired button.
pub async fn on_button(
    bot: &Bot,
    shop: &Shop,
    q: &CallbackQuery,
    lang: Language,
    _action: Action,
    _purchase: i64,
    _confirmed: bool,
) -> HandlerResult {
    let admin = i64::try_from(q.from.id.0).is_ok_and(|id| shop.is_admin(id));
    if !admin {
        bot.answer_callback_query(q.id.clone())
            .text(t(lang, "button-expired"))
            .await?;
        return Ok(());
    }
    bot.answer_callback_query(q.id.clone()).await?;
    Ok(())
}
