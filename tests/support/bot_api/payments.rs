//! Stars payments: invoices (checked as Telegram checks a Stars invoice),
//! pre-checkout answers within their 10 seconds, refunds, and the star
//! transactions list.

use serde_json::{Value, json};

use super::messages::set_echoed_markup;
use super::params::{array_param, bool_param, int_param, reply_markup_param, str_param};
use super::state::{Answer, ApiError, State};
use super::{PRE_CHECKOUT_TIMEOUT, PreCheckoutAnswer, QUERY_TOO_OLD, Refund, SentInvoice};

impl State {
    /// A Stars invoice (see [`invoice_param`]) sent as a message to its
    /// chat, and recorded.
    pub(super) fn send_invoice(&mut self, body: &Value, bot: &Value) -> Answer {
        let chat_id = self.chat_for_send(body, true)?;
        let Invoice {
            title,
            description,
            payload,
            currency,
            prices,
        } = invoice_param(body)?;
        let markup = reply_markup_param(body)?;
        let total_amount = prices.iter().map(|(_, a)| a).sum();
        let message_id = self.next_message_id(chat_id);
        let chat = &self.chats[&chat_id].chat;
        let mut message = json!({
            "message_id": message_id,
            "from": bot,
            "chat": chat,
            "date": self.unix_now(),
            "invoice": {
                "title": title,
                "description": description,
                "start_parameter": str_param(body, "start_parameter").unwrap_or_default(),
                "currency": currency,
                "total_amount": total_amount,
            }
        });
        set_echoed_markup(&mut message, markup.as_ref());
        self.store_bot_message(chat_id, message_id, message.clone(), |m| {
            m.is_invoice = true;
            m.reply_markup = markup;
        });
        self.invoices.push(SentInvoice {
            chat_id,
            message_id,
            title,
            description,
            payload,
            currency,
            prices,
            total_amount,
        });
        Ok(message)
    }

    /// Answerable once, within [`PRE_CHECKOUT_TIMEOUT`] of the push (by the
    /// fake's clock, see [`FakeBotApi::advance`]); otherwise, or for an
    /// unknown id, [`QUERY_TOO_OLD`]. `ok: false` needs an `error_message`.
    pub(super) fn answer_pre_checkout_query(&mut self, body: &Value) -> Answer {
        let id = str_param(body, "pre_checkout_query_id").unwrap_or_default();
        let ok = bool_param(body, "ok");
        let error_message = str_param(body, "error_message");
        if !ok && error_message.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::bad_request("ERROR_MESSAGE_EMPTY"));
        }
        let now = self.now();
        let query = self
            .pre_checkouts
            .get_mut(&id)
            .filter(|q| !q.answered && now.duration_since(q.pushed_at) <= PRE_CHECKOUT_TIMEOUT)
            .ok_or_else(|| ApiError::new(400, QUERY_TOO_OLD))?;
        query.answered = true;
        self.pre_checkout_answers.push(PreCheckoutAnswer {
            query_id: id,
            ok,
            error_message,
        });
        Ok(json!(true))
    }

    /// The first refund of a known charge succeeds and adds an outgoing
    /// transaction (same id, `receiver` = the user); a second answers
    /// `CHARGE_ALREADY_REFUNDED`; an unknown charge, or a known one with
    /// another `user_id`, `CHARGE_NOT_FOUND` (the latter is a guess).
    pub(super) fn refund_star_payment(&mut self, body: &Value) -> Answer {
        let user_id = int_param(body, "user_id");
        let charge_id = str_param(body, "telegram_payment_charge_id").unwrap_or_default();
        let date = self.unix_now();
        let payment = self
            .payments
            .get_mut(&charge_id)
            .filter(|p| Some(p.user_id) == user_id)
            .ok_or_else(|| ApiError::bad_request("CHARGE_NOT_FOUND"))?;
        if payment.refunded {
            return Err(ApiError::bad_request("CHARGE_ALREADY_REFUNDED"));
        }
        payment.refunded = true;
        let refund = Refund {
            user_id: payment.user_id,
            charge_id: charge_id.clone(),
            amount: payment.amount,
        };
        let transaction = json!({
            "id": charge_id,
            "amount": payment.amount,
            "date": date,
            "receiver": {
                "type": "user",
                "user": payment.user,
                "transaction_type": "invoice_payment",
                "invoice_payload": payment.payload,
            }
        });
        self.transactions.push(transaction);
        self.refunds.push(refund);
        Ok(json!(true))
    }

    /// `offset` skips that many, `limit` 1-100 (default 100), newest first
    /// unless [`FakeBotApi::set_transactions_newest_first`] says otherwise.
    pub(super) fn get_star_transactions(&self, body: &Value) -> Value {
        let offset = int_param(body, "offset").unwrap_or(0).max(0) as usize;
        let limit = int_param(body, "limit").unwrap_or(100).clamp(1, 100) as usize;
        let ordered: Vec<&Value> = match self.transactions_oldest_first {
            true => self.transactions.iter().collect(),
            false => self.transactions.iter().rev().collect(),
        };
        let page: Vec<Value> = ordered
            .into_iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        json!({"transactions": page})
    }
}

/// What `sendInvoice` was asked to send.
struct Invoice {
    title: String,
    description: String,
    payload: String,
    currency: String,
    /// `(label, amount)` of each `LabeledPrice`.
    prices: Vec<(String, u32)>,
}

/// Stars invoices: currency `XTR`, an empty or absent `provider_token`,
/// exactly one price and no tips, else `STARS_INVOICE_INVALID` (the
/// error Telegram gives). Payload 1-128 bytes (`INVOICE_PAYLOAD_INVALID`).
/// Title 1-32 and description 1-255 characters are Telegram's documented
/// limits; the error texts for those two are guesses.
fn invoice_param(body: &Value) -> Result<Invoice, ApiError> {
    let title = str_param(body, "title").unwrap_or_default();
    let description = str_param(body, "description").unwrap_or_default();
    let payload = str_param(body, "payload").unwrap_or_default();
    let currency = str_param(body, "currency").unwrap_or_default();
    let provider_token = str_param(body, "provider_token").unwrap_or_default();
    let prices: Vec<(String, u32)> = array_param(body, "prices")
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let label = p["label"].as_str().unwrap_or_default().to_owned();
            let amount = p["amount"].as_u64().unwrap_or_default() as u32;
            (label, amount)
        })
        .collect();
    if !(1..=32).contains(&title.chars().count()) {
        return Err(ApiError::bad_request("INVOICE_TITLE_INVALID"));
    }
    if !(1..=255).contains(&description.chars().count()) {
        return Err(ApiError::bad_request("INVOICE_DESCRIPTION_INVALID"));
    }
    if !(1..=128).contains(&payload.len()) {
        return Err(ApiError::bad_request("INVOICE_PAYLOAD_INVALID"));
    }
    if currency != "XTR" {
        return Err(ApiError::bad_request("CURRENCY_INVALID"));
    }
    let tips = body
        .get("max_tip_amount")
        .is_some_and(|v| v.as_u64() != Some(0))
        || body
            .get("suggested_tip_amounts")
            .is_some_and(|v| v != &json!([]));
    if !provider_token.is_empty() || prices.len() != 1 || prices[0].1 == 0 || tips {
        return Err(ApiError::bad_request("STARS_INVOICE_INVALID"));
    }
    Ok(Invoice {
        title,
        description,
        payload,
        currency,
        prices,
    })
}
