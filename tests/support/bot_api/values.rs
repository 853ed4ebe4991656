//! The typed views a test reads: the customer ([`TgUser`]), and what the
//! bot did (calls, messages, invoices, answers, refunds, command menus).

use serde_json::{Value, json};

/// A Telegram user talking to the bot in a private chat (chat id = user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    /// IETF tag from the user's Telegram client (`en`, `hi`…), if it sent one.
    pub language_code: Option<String>,
}

impl TgUser {
    pub fn new(id: i64, first_name: &str) -> Self {
        TgUser {
            id,
            first_name: first_name.to_owned(),
            language_code: None,
        }
    }

    pub fn with_language(mut self, code: &str) -> Self {
        self.language_code = Some(code.to_owned());
        self
    }

    /// The Bot API `User` object.
    pub fn to_json(&self) -> Value {
        let mut user = json!({"id": self.id, "is_bot": false, "first_name": self.first_name});
        if let Some(code) = &self.language_code {
            user["language_code"] = json!(code);
        }
        user
    }

    /// The Bot API `Chat` object of the private chat with this user.
    pub fn private_chat(&self) -> Value {
        json!({"id": self.id, "type": "private", "first_name": self.first_name})
    }
}

/// One call the bot made, whatever its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The method as documented (`sendMessage`), whatever case the bot used;
    /// an unknown method as the bot spelled it.
    pub method: String,
    /// The parameters (a JSON object; `{}` when none).
    pub body: Value,
}

/// A message the bot sent, as it stands now (edits applied in order).
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i64,
    /// What the customer sees: the text after entity parsing (HTML tags
    /// removed, `&lt;` `&gt;` `&amp;` `&quot;` and numeric entities decoded).
    /// `None` for an invoice.
    pub text: Option<String>,
    /// The text exactly as the bot sent it (in its last edit).
    pub raw_text: Option<String>,
    pub parse_mode: Option<String>,
    /// The `reply_markup` the bot sent (or set by its last edit).
    pub reply_markup: Option<Value>,
    /// Whether this is an invoice (see [`FakeBotApi::invoices`](super::FakeBotApi::invoices)).
    pub is_invoice: bool,
    /// How many edits (text or markup) were applied.
    pub edits: usize,
    pub deleted: bool,
    /// The message reached the chat but the bot never got the reply (a
    /// `lose_reply` fault): the bot cannot know it was sent.
    pub reply_lost: bool,
}

/// An inline keyboard button of a sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub text: String,
    pub callback_data: Option<String>,
    pub url: Option<String>,
}

impl SentMessage {
    /// The inline keyboard's buttons, row by row.
    pub fn buttons(&self) -> Vec<Button> {
        let rows = self
            .reply_markup
            .as_ref()
            .and_then(|m| m.get("inline_keyboard"))
            .and_then(Value::as_array);
        rows.into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .map(|b| Button {
                text: b["text"].as_str().unwrap_or_default().to_owned(),
                callback_data: b["callback_data"].as_str().map(str::to_owned),
                url: b["url"].as_str().map(str::to_owned),
            })
            .collect()
    }

    /// The `callback_data` of the first button whose text contains `label`.
    pub fn callback_data(&self, label: &str) -> Option<String> {
        self.buttons()
            .into_iter()
            .find(|b| b.text.contains(label))
            .and_then(|b| b.callback_data)
    }
}

/// An invoice the bot sent with `sendInvoice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInvoice {
    pub chat_id: i64,
    pub message_id: i64,
    pub title: String,
    pub description: String,
    pub payload: String,
    pub currency: String,
    /// `(label, amount)` of each `LabeledPrice`.
    pub prices: Vec<(String, u32)>,
    pub total_amount: u32,
}

/// The bot's answer to a pre-checkout query (only answers Telegram accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreCheckoutAnswer {
    pub query_id: String,
    pub ok: bool,
    pub error_message: Option<String>,
}

/// The bot's answer to a callback query (only answers Telegram accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    pub query_id: String,
    pub text: Option<String>,
    pub show_alert: bool,
}

/// A refund Telegram carried out (the Stars went back to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub user_id: i64,
    pub charge_id: String,
    pub amount: u32,
}

/// The commands set for one (scope, language) pair with `setMyCommands`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSet {
    /// The `BotCommandScope` object (`{"type":"default"}` when not given).
    pub scope: Value,
    /// Empty for "all languages".
    pub language_code: String,
    /// `(command, description)` in the order given.
    pub commands: Vec<(String, String)>,
}

/// Why [`FakeBotApi::checkout`](super::FakeBotApi::checkout) did not end in a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRefused {
    /// The bot's `error_message`, shown to the customer by Telegram.
    pub error_message: Option<String>,
}
