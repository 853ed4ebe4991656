//! The Bot API methods the fake answers, dispatched by name; here too the
//! bot's settings (webhook, command menus, menu button). Messages and
//! payments have their own modules.

use serde_json::{Value, json};

use super::CommandSet;
use super::params::{
    array_param, bool_param, commands_key, int_param, scope_and_language, scope_key, str_param,
};
use super::state::{Answer, ApiError, State};

impl State {
    pub(super) fn dispatch(&mut self, method: &str, body: &Value, bot: &Value) -> Answer {
        match method {
            "getMe" => Ok(me(bot)),
            "deleteWebhook" => {
                self.webhook = None;
                if bool_param(body, "drop_pending_updates") {
                    self.pending.clear();
                }
                Ok(json!(true))
            }
            "setWebhook" => self.set_webhook(body),
            "getWebhookInfo" => Ok(json!({
                "url": self.webhook.clone().unwrap_or_default(),
                "has_custom_certificate": false,
                "pending_update_count": self.pending.len(),
            })),
            "setMyCommands" => self.set_my_commands(body),
            "getMyCommands" => Ok(self.get_my_commands(body)),
            "deleteMyCommands" => {
                let key = commands_key(body);
                self.commands.remove(&key);
                Ok(json!(true))
            }
            "setChatMenuButton" => {
                let chat = int_param(body, "chat_id");
                let button = body
                    .get("menu_button")
                    .cloned()
                    .unwrap_or(json!({"type": "default"}));
                self.menu_buttons.insert(chat, button);
                Ok(json!(true))
            }
            "getChatMenuButton" => Ok(self
                .menu_buttons
                .get(&int_param(body, "chat_id"))
                .cloned()
                .unwrap_or(json!({"type": "default"}))),
            "sendMessage" => self.send_message(body, bot),
            "editMessageText" => self.edit_message_text(body),
            "editMessageReplyMarkup" => self.edit_message_reply_markup(body),
            "deleteMessage" => self.delete_message(body),
            "answerCallbackQuery" => self.answer_callback_query(body),
            "sendInvoice" => self.send_invoice(body, bot),
            "answerPreCheckoutQuery" => self.answer_pre_checkout_query(body),
            "refundStarPayment" => self.refund_star_payment(body),
            "getStarTransactions" => Ok(self.get_star_transactions(body)),
            "sendChatAction" => {
                self.chat_for_send(body, false)?;
                Ok(json!(true))
            }
            _ => Err(ApiError::new(404, "Not Found: method not found")),
        }
    }

    /// Accepts any URL: Telegram would insist on HTTPS and ports
    /// 80/88/443/8443, and the fake does not deliver to webhooks; it only
    /// makes `getUpdates` answer 409 while one is set, as Telegram does.
    pub(super) fn set_webhook(&mut self, body: &Value) -> Answer {
        let url = str_param(body, "url").unwrap_or_default();
        self.webhook = (!url.is_empty()).then_some(url);
        if bool_param(body, "drop_pending_updates") {
            self.pending.clear();
        }
        Ok(json!(true))
    }

    /// Commands are 1-32 characters of `a-z`, `0-9` and `_`; descriptions
    /// 1-256 characters (Telegram: `BOT_COMMAND_INVALID`).
    pub(super) fn set_my_commands(&mut self, body: &Value) -> Answer {
        let list = array_param(body, "commands")
            .ok_or_else(|| ApiError::bad_request("commands is empty"))?;
        let mut commands = Vec::with_capacity(list.len());
        for entry in &list {
            let command = entry["command"].as_str().unwrap_or_default();
            let description = entry["description"].as_str().unwrap_or_default();
            let command_ok = (1..=32).contains(&command.chars().count())
                && command
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            let description_ok = (1..=256).contains(&description.chars().count());
            if !command_ok || !description_ok {
                return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
            }
            commands.push((command.to_owned(), description.to_owned()));
        }
        let (scope, language_code) = scope_and_language(body);
        let key = (scope_key(&scope), language_code.clone());
        self.commands.insert(
            key,
            CommandSet {
                scope,
                language_code,
                commands,
            },
        );
        Ok(json!(true))
    }

    /// The list for exactly this scope and language; `[]` if none (Telegram
    /// does not fall back here either).
    pub(super) fn get_my_commands(&self, body: &Value) -> Value {
        let commands: Vec<Value> = self
            .commands
            .get(&commands_key(body))
            .map(|set| {
                set.commands
                    .iter()
                    .map(|(c, d)| json!({"command": c, "description": d}))
                    .collect()
            })
            .unwrap_or_default();
        Value::Array(commands)
    }
}

/// `getMe`: a `User` with the bot-only fields teloxide's `Me` requires.
fn me(bot: &Value) -> Value {
    let mut me = bot.clone();
    for field in [
        "can_join_groups",
        "can_read_all_group_messages",
        "supports_inline_queries",
        "can_connect_to_business",
        "has_main_web_app",
    ] {
        me[field] = json!(false);
    }
    me
}
