//! Messages: sending (to a chat that exists and has not blocked the bot,
//! within the optional flood limits), editing, deleting, and answering
//! button presses.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::html::render_text;
use super::params::{bool_param, chat_id_param, int_param, reply_markup_param, str_param};
use super::state::{Answer, ApiError, State, StoredMessage};
use super::{CallbackAnswer, QUERY_TOO_OLD};

const BLOCKED: &str = "Forbidden: bot was blocked by the user";
const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content \
     and reply markup are exactly the same as a current content and reply markup of the message";

impl State {
    /// The chat a send goes to: 403 if blocked (for `send*` methods), 400
    /// `chat not found` if the user never talked to the bot, 429 if the
    /// optional flood limits are exceeded (for messages, not chat actions).
    pub(super) fn chat_for_send(
        &mut self,
        body: &Value,
        counts_as_message: bool,
    ) -> Result<i64, ApiError> {
        let chat_id = chat_id_param(body)?;
        if self.blocked.contains(&chat_id) {
            return Err(ApiError::new(403, BLOCKED));
        }
        if !self.chats.contains_key(&chat_id) {
            return Err(ApiError::bad_request("chat not found"));
        }
        if counts_as_message {
            self.check_flood(chat_id)?;
        }
        Ok(chat_id)
    }

    pub(super) fn check_flood(&mut self, chat_id: i64) -> Result<(), ApiError> {
        let Some((per_chat, overall)) = self.limits else {
            return Ok(());
        };
        let now = Instant::now();
        let window = Duration::from_secs(1);
        let expire = |sends: &mut VecDeque<Instant>| {
            while sends
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                sends.pop_front();
            }
        };
        expire(&mut self.sends_overall);
        let chat = self.sends_per_chat.entry(chat_id).or_default();
        expire(chat);
        let full = |sends: &VecDeque<Instant>, limit: usize| {
            (sends.len() >= limit).then(|| window.saturating_sub(now.duration_since(sends[0])))
        };
        if let Some(wait) = full(chat, per_chat).or_else(|| full(&self.sends_overall, overall)) {
            return Err(ApiError::retry_after(
                wait.as_secs_f64().ceil().max(1.0) as u32
            ));
        }
        chat.push_back(now);
        self.sends_overall.push_back(now);
        Ok(())
    }

    pub(super) fn send_message(&mut self, body: &Value, bot: &Value) -> Answer {
        let chat_id = self.chat_for_send(body, true)?;
        let raw = str_param(body, "text").unwrap_or_default();
        let parse_mode = str_param(body, "parse_mode");
        let (text, entities) = render_text(&raw, parse_mode.as_deref(), "message is too long")?;
        let markup = reply_markup_param(body)?;
        let message_id = self.next_message_id(chat_id);
        let chat = &self.chats[&chat_id].chat;
        let mut message = json!({
            "message_id": message_id,
            "from": bot,
            "chat": chat,
            "date": self.unix_now(),
            "text": text,
        });
        if !entities.is_empty() {
            message["entities"] = Value::Array(entities);
        }
        set_echoed_markup(&mut message, markup.as_ref());
        self.store_bot_message(chat_id, message_id, message.clone(), |m| {
            m.raw_text = Some(raw);
            m.parse_mode = parse_mode;
            m.reply_markup = markup;
        });
        Ok(message)
    }

    /// The bot's own message to edit. Inline messages are not modelled.
    pub(super) fn message_to_edit(&mut self, body: &Value) -> Result<&mut StoredMessage, ApiError> {
        if str_param(body, "inline_message_id").is_some() {
            return Err(ApiError::bad_request("MESSAGE_ID_INVALID"));
        }
        let (Some(chat_id), Some(message_id)) =
            (int_param(body, "chat_id"), int_param(body, "message_id"))
        else {
            return Err(ApiError::bad_request("message identifier is not specified"));
        };
        let message = self
            .chats
            .get_mut(&chat_id)
            .and_then(|c| c.messages.get_mut(&message_id))
            .filter(|m| !m.deleted)
            .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if !message.from_bot {
            return Err(ApiError::bad_request("message can't be edited"));
        }
        Ok(message)
    }

    /// Like Telegram, an edit without `reply_markup` removes the inline
    /// keyboard, and an edit that changes nothing is 400 `message is not
    /// modified`. Too long is `MESSAGE_TOO_LONG` here (not the send's text).
    pub(super) fn edit_message_text(&mut self, body: &Value) -> Answer {
        let raw = str_param(body, "text").unwrap_or_default();
        let parse_mode = str_param(body, "parse_mode");
        let (text, entities) = render_text(&raw, parse_mode.as_deref(), "MESSAGE_TOO_LONG")?;
        let markup = reply_markup_param(body)?;
        let date = self.unix_now();
        let message = self.message_to_edit(body)?;
        if message.is_invoice {
            return Err(ApiError::bad_request(
                "there is no text in the message to edit",
            ));
        }
        if message.raw_text.as_deref() == Some(raw.as_str())
            && message.parse_mode == parse_mode
            && message.reply_markup == markup
        {
            return Err(ApiError::new(400, NOT_MODIFIED));
        }
        message.json["text"] = json!(text);
        if entities.is_empty() {
            remove_field(&mut message.json, "entities");
        } else {
            message.json["entities"] = Value::Array(entities);
        }
        set_echoed_markup(&mut message.json, markup.as_ref());
        message.json["edit_date"] = json!(date);
        message.raw_text = Some(raw);
        message.parse_mode = parse_mode;
        message.reply_markup = markup;
        message.edits += 1;
        Ok(message.json.clone())
    }

    pub(super) fn edit_message_reply_markup(&mut self, body: &Value) -> Answer {
        let markup = reply_markup_param(body)?;
        let date = self.unix_now();
        let message = self.message_to_edit(body)?;
        if message.reply_markup == markup {
            return Err(ApiError::new(400, NOT_MODIFIED));
        }
        set_echoed_markup(&mut message.json, markup.as_ref());
        message.json["edit_date"] = json!(date);
        message.reply_markup = markup;
        message.edits += 1;
        Ok(message.json.clone())
    }

    /// Any message of a private chat, the customer's too (bots may delete
    /// incoming messages there). The 48-hour limit is not modelled.
    pub(super) fn delete_message(&mut self, body: &Value) -> Answer {
        let message = int_param(body, "chat_id")
            .zip(int_param(body, "message_id"))
            .and_then(|(chat, id)| self.chats.get_mut(&chat)?.messages.get_mut(&id))
            .filter(|m| !m.deleted)
            .ok_or_else(|| ApiError::bad_request("message to delete not found"))?;
        message.deleted = true;
        Ok(json!(true))
    }

    /// Each query can be answered once; an unknown or answered id gets
    /// [`QUERY_TOO_OLD`]. Telegram's own time limit on callback answers is
    /// not modelled.
    pub(super) fn answer_callback_query(&mut self, body: &Value) -> Answer {
        let id = str_param(body, "callback_query_id").unwrap_or_default();
        match self.callback_queries.get_mut(&id) {
            Some(answered) if !*answered => *answered = true,
            _ => return Err(ApiError::new(400, QUERY_TOO_OLD)),
        }
        self.callback_answers.push(CallbackAnswer {
            query_id: id,
            text: str_param(body, "text"),
            show_alert: bool_param(body, "show_alert"),
        });
        Ok(json!(true))
    }
}

pub(super) fn remove_field(object: &mut Value, name: &str) {
    if let Some(fields) = object.as_object_mut() {
        fields.remove(name);
    }
}

/// Telegram echoes only inline keyboards in the returned `Message`.
pub(super) fn set_echoed_markup(message: &mut Value, markup: Option<&Value>) {
    match markup.filter(|m| m.get("inline_keyboard").is_some()) {
        Some(markup) => message["reply_markup"] = markup.clone(),
        None => remove_field(message, "reply_markup"),
    }
}
