//! The shop owner's tools, for the ids in `ADMIN_IDS` only: /stalled,
//! /balance, /order, /stats, /audit, and the buttons on a stalled purchase. What to
//! do is decided in `engine::admin`; this module only reads the command,
//! asks for confirmation, and words the answer.
//!
//! - `confirm`: a purchase's buttons, asked and then confirmed
//! - `plans`: what a plan, a refusal or an outcome says
//! - `stalled`: /stalled, the purchases that need a person
//! - `timeline`: /order, one purchase and its events
//! - `figures`: /balance, /stats and /audit
//! - `reorder`: re-ordering the units a partial delivery is missing
//! - `words`: how values read (spans, money, times, clipped text)

mod confirm;
mod figures;
mod plans;
mod reorder;
mod stalled;
mod timeline;
mod words;

use super::commands::{AdminCommand, Command};
use super::{HandlerResult, Talk, say, t};

pub use crate::engine::admin::{Action, Seen};
pub(super) use confirm::{admin_press, confirm_minute, must_ask, on_button, pressing_admin};
pub(super) use reorder::on_reorder_button;
pub use reorder::partial_delivery_buttons;

/// Characters per message we aim below (Telegram's limit is 4096).
const MESSAGE_BUDGET: usize = 3_500;

/// An admin command (the caller checked that the user is an admin). A
/// command that fails says so; the details go to the log.
pub(super) async fn on_command(
    talk: &Talk<'_>,
    command: AdminCommand,
    argument: &str,
) -> HandlerResult {
    let done = match command {
        AdminCommand::Stalled => stalled::stalled(talk).await,
        AdminCommand::Balance => figures::balance(talk).await,
        AdminCommand::Order => timeline::order(talk, argument).await,
        AdminCommand::Stats => figures::stats(talk).await,
        AdminCommand::Audit => figures::audit(talk).await,
        AdminCommand::Tickets => super::support::tickets(talk).await,
    };
    if let Err(e) = done {
        let command = Command::Admin(command).name();
        tracing::error!(command, error = %e, "an admin command failed");
        say(talk.bot, talk.chat, t(talk.lang, "admin-failed")).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::domain::Language;
    use crate::i18n::{self, num};

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
}
