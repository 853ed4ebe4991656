//! The delivery and refund workers' view of Telegram: [`Notifier`] and
//! [`Payments`] over teloxide, with every error put in the class the
//! workers act on.

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::types::{
    CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode, TelegramTransactionId,
};
use teloxide::{ApiError, RequestError};

use crate::delivery::refund::{Payments, RefundError};
use crate::delivery::{BoxFuture, Notifier, OutgoingMessage, SendError};
use crate::domain::UserId;

/// Copy buttons Telegram allows text up to this long.
const COPY_TEXT_MAX: usize = 256;
/// Buttons under one message, at most.
const MAX_COPY_BUTTONS: usize = 20;

/// Sends messages and refunds Stars through one bot.
#[derive(Clone)]
pub struct Telegram {
    bot: Bot,
}

impl Telegram {
    pub fn new(bot: Bot) -> Self {
        Telegram { bot }
    }

    /// The bot itself, for the rest of `bot/`.
    pub(super) fn bot(&self) -> Bot {
        self.bot.clone()
    }

    pub fn into_arc(self) -> Arc<Self> {
        Arc::new(self)
    }
}

/// A send's failure, in the class the delivery worker acts on. A request
/// Telegram answered with an error (a JSON error, or a proxy's 5xx page
/// while Telegram is down) was not sent; one whose connection never opened
/// was not sent; anything else (a timeout, a connection dropped mid-answer)
/// may have arrived. Only Telegram's known 400/403 answers are for good.
pub fn send_error(e: &RequestError) -> SendError {
    match e {
        RequestError::RetryAfter(s) => SendError::RetryAfter(s.duration()),
        RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated) => SendError::Blocked,
        RequestError::Api(api) if refuses_for_good(api) => SendError::Rejected(api.to_string()),
        // A 5xx, "Internal Server Error", a refused token: Telegram failed
        // the request, not the message. Sent again, unflagged.
        RequestError::Api(api) => SendError::NotSent(api.to_string()),
        RequestError::MigrateToChatId(_) => SendError::Rejected("the chat moved".to_owned()),
        RequestError::Network(n) if n.is_connect() => SendError::NotSent(short(n)),
        RequestError::Network(n) => SendError::Unknown(short(n)),
        RequestError::InvalidJson { raw, .. } if is_success(raw) => {
            // Sent, but its answer did not parse (a field teloxide does
            // not know): it may well be in the chat.
            SendError::Unknown("Telegram's answer did not parse".to_owned())
        }
        RequestError::InvalidJson { .. } => {
            SendError::NotSent("Telegram answered with an error page".to_owned())
        }
        RequestError::Io(e) => SendError::NotSent(e.kind().to_string()),
    }
}

/// A refund's failure, in the class the refund worker acts on. Only
/// Telegram's known 400/403 answers (an unknown charge, a wrong user) are
/// for good; 5xx answers, error pages, timeouts and dropped connections are
/// tried again, so a refund is never given up on a passing failure.
pub fn refund_error(e: &RequestError) -> RefundError {
    match e {
        RequestError::RetryAfter(s) => RefundError::RetryAfter(s.duration()),
        // teloxide does not know these texts: they arrive as Unknown.
        RequestError::Api(api) if api.to_string().contains("CHARGE_ALREADY_REFUNDED") => {
            RefundError::AlreadyRefunded
        }
        RequestError::Api(api) if refuses_for_good(api) => RefundError::Rejected(api.to_string()),
        RequestError::Api(api) => RefundError::Transient(api.to_string()),
        RequestError::MigrateToChatId(_) => RefundError::Rejected("the chat moved".to_owned()),
        RequestError::Network(n) => RefundError::Transient(short(n)),
        RequestError::InvalidJson { .. } => {
            RefundError::Transient("Telegram's answer did not parse".to_owned())
        }
        RequestError::Io(e) => RefundError::Transient(e.kind().to_string()),
    }
}

/// Whether Telegram refused the request itself, for good: one of its 400
/// ("Bad Request: …") or 403 ("Forbidden: …", and the older "Unauthorized:
/// bot was …" texts) answers. Anything else it says (a 5xx, "Internal
/// Server Error", "Bad Gateway", a refused bot token, a conflict) is about
/// Telegram or the bot, not this request: it is tried again.
fn refuses_for_good(api: &ApiError) -> bool {
    match api {
        ApiError::InvalidToken | ApiError::TerminatedByOtherGetUpdates => false,
        ApiError::Unknown(text) => text.starts_with("Bad Request") || text.starts_with("Forbidden"),
        // Every other variant teloxide knows is a 400 or 403 text.
        _ => true,
    }
}

/// Whether an answer that did not parse was nevertheless Telegram's
/// `{"ok": true, …}`: the request took effect.
fn is_success(raw: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(raw)
        .is_ok_and(|v| v.get("ok") == Some(&serde_json::Value::Bool(true)))
}

/// A Telegram error for the logs: never a URL (it holds the bot token)
/// nor an error page's body.
pub fn describe(e: &RequestError) -> String {
    match e {
        RequestError::Network(n) => short(n),
        RequestError::InvalidJson { .. } => "Telegram's answer did not parse".to_owned(),
        other => other.to_string(),
    }
}

/// A network error without its URL (which holds the bot token).
fn short(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_request() {
        "request failed"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "network error"
    };
    kind.to_owned()
}

/// Copy buttons, one per code, where Telegram allows them.
pub fn copy_buttons(values: &[String]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = values
        .iter()
        .filter(|v| !v.is_empty() && v.chars().count() <= COPY_TEXT_MAX)
        .take(MAX_COPY_BUTTONS)
        .enumerate()
        .map(|(i, v)| {
            vec![InlineKeyboardButton::copy_text_button(
                format!("📋 {}", i + 1),
                CopyTextButton { text: v.clone() },
            )]
        })
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

impl Notifier for Telegram {
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> BoxFuture<'a, Result<i64, SendError>> {
        Box::pin(async move {
            let mut request = self
                .bot
                .send_message(ChatId(message.chat_id), message.html.clone())
                .parse_mode(ParseMode::Html);
            if let Some(markup) = copy_buttons(&message.copy) {
                request = request.reply_markup(markup);
            }
            match request.await {
                Ok(sent) => Ok(i64::from(sent.id.0)),
                Err(e) => {
                    let class = send_error(&e);
                    crate::telemetry::metrics::telegram_send_error(match &class {
                        SendError::RetryAfter(_) => "rate_limited",
                        SendError::Blocked => "blocked",
                        SendError::NotSent(_) => "not_sent",
                        SendError::Unknown(_) => "unknown",
                        SendError::Rejected(_) => "rejected",
                    });
                    Err(class)
                }
            }
        })
    }
}

impl Payments for Telegram {
    fn refund<'a>(
        &'a self,
        user: UserId,
        charge_id: &'a str,
    ) -> BoxFuture<'a, Result<(), RefundError>> {
        Box::pin(async move {
            let Ok(user) = u64::try_from(user.0) else {
                return Err(RefundError::Rejected("not a Telegram user id".to_owned()));
            };
            match self
                .bot
                .refund_star_payment(
                    teloxide::types::UserId(user),
                    TelegramTransactionId(charge_id.to_owned()),
                )
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => Err(refund_error(&e)),
            }
        })
    }
}

// ---------------------------------------------------------------------------
// The ledger audit's view of Telegram: star transactions as plain values
// ---------------------------------------------------------------------------

impl Telegram {
    /// A bot for reading only (the `foxbot audit` command).
    pub fn connect(token: &secrecy::SecretString, api_url: reqwest::Url) -> Self {
        use secrecy::ExposeSecret;
        Telegram::new(Bot::new(token.expose_secret()).set_api_url(api_url))
    }
}

impl crate::ops::audit::StarLedger for Telegram {
    fn star_transactions(
        &self,
        since: crate::clock::Millis,
    ) -> crate::clock::BoxFuture<'_, anyhow::Result<crate::ops::audit::StarHistory>> {
        Box::pin(star_transactions(&self.bot, since))
    }
}

/// `getStarTransactions`, page by page, back past `since`: an incoming
/// invoice payment is a charge; Stars going to a user are the refund of the
/// charge with the same id. Other kinds (withdrawals, ads) are no charge.
async fn star_transactions(
    bot: &Bot,
    since: crate::clock::Millis,
) -> anyhow::Result<crate::ops::audit::StarHistory> {
    use crate::ops::audit::{MAX_STAR_PAGES, StarDirection, StarHistory, StarTx};
    use teloxide::types::{TransactionPartner, TransactionPartnerUserKind};
    const PAGE: u8 = 100;
    let mut history = StarHistory::default();
    for page in 0..MAX_STAR_PAGES {
        let batch = bot
            .get_star_transactions()
            .offset(page * u32::from(PAGE))
            .limit(PAGE)
            .await?;
        let n = batch.transactions.len();
        let dates: Vec<i64> = batch
            .transactions
            .iter()
            .map(|t| t.date.timestamp_millis())
            .collect();
        for tx in batch.transactions {
            let direction = match (&tx.source, &tx.receiver) {
                (_, Some(TransactionPartner::User(_))) => StarDirection::Refund,
                (Some(TransactionPartner::User(u)), None)
                    if matches!(u.kind, TransactionPartnerUserKind::InvoicePayment(_)) =>
                {
                    StarDirection::Charge
                }
                _ => continue,
            };
            history.transactions.push(StarTx {
                id: tx.id.0.clone(),
                stars: i64::from(tx.amount),
                at: tx.date.timestamp_millis(),
                direction,
            });
        }
        // Newest first and all of this page before the period: the rest is
        // older still. (In any other order, read to the end.)
        let newest_first = dates.windows(2).all(|w| w[0] >= w[1]);
        let all_older = !dates.is_empty() && dates.iter().all(|d| *d < since);
        if n < usize::from(PAGE) || (newest_first && all_older) {
            history.complete = true;
            break;
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const BAD_GATEWAY_PAGE: &str =
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";

    fn api(description: &str) -> RequestError {
        // teloxide reads the description, as it does from Telegram's JSON.
        let json = serde_json::json!({ "data": description }).to_string();
        #[derive(serde::Deserialize)]
        struct Wrapped {
            data: ApiError,
        }
        match serde_json::from_str::<Wrapped>(&json) {
            Ok(w) => RequestError::Api(w.data),
            Err(e) => panic!("{description}: {e}"),
        }
    }

    fn unparsable(raw: &str) -> RequestError {
        let source = match serde_json::from_str::<serde_json::Value>("<") {
            Err(e) => Arc::new(e),
            Ok(_) => panic!("parsed"),
        };
        RequestError::InvalidJson {
            source,
            raw: raw.into(),
        }
    }

    #[test]
    fn telegram_5xx_answers_and_error_pages_are_never_permanent() {
        for e in [
            api("Internal Server Error"),
            api("Bad Gateway"),
            api("Gateway Timeout"),
            api("Service Unavailable"),
            api("Unauthorized"),
            unparsable(BAD_GATEWAY_PAGE),
        ] {
            assert!(
                matches!(refund_error(&e), RefundError::Transient(_)),
                "{e}: {:?}",
                refund_error(&e)
            );
            assert!(
                matches!(send_error(&e), SendError::NotSent(_)),
                "{e}: {:?}",
                send_error(&e)
            );
        }
    }

    #[test]
    fn only_known_400_and_403_answers_are_permanent() {
        for e in [
            api("Bad Request: CHARGE_NOT_FOUND"),
            api("Bad Request: chat not found"),
            api("Forbidden: user is deactivated"),
        ] {
            assert!(matches!(refund_error(&e), RefundError::Rejected(_)), "{e}");
        }
        assert_eq!(
            refund_error(&api("Bad Request: CHARGE_ALREADY_REFUNDED")),
            RefundError::AlreadyRefunded
        );
        assert!(matches!(
            send_error(&api("Bad Request: chat not found")),
            SendError::Rejected(_)
        ));
        assert_eq!(
            send_error(&api("Forbidden: bot was blocked by the user")),
            SendError::Blocked
        );
    }

    #[test]
    fn a_success_whose_answer_did_not_parse_may_have_arrived() {
        let e = unparsable(r#"{"ok":true,"result":{"message_id":"not a number"}}"#);
        assert!(matches!(send_error(&e), SendError::Unknown(_)));
    }
}
