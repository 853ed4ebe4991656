//! The customer's side: what a test does as a Telegram user (writes,
//! presses a button, pays), each pushed as the update Telegram would send.

use std::time::Duration;

use serde_json::{Value, json};

use super::state::PendingPreCheckout;
use super::{CheckoutRefused, FakeBotApi, SentMessage, TgUser};

impl FakeBotApi {
    /// The customer writes `text` in their private chat with the bot.
    /// A leading `/command` gets its `bot_command` entity, as Telegram adds.
    /// Returns the new message's id.
    pub fn text(&self, user: &TgUser, text: &str) -> i64 {
        self.shared.mutate(|s| {
            let chat = s.open_chat(user);
            let message_id = s.next_message_id(user.id);
            let mut message = json!({
                "message_id": message_id,
                "from": user.to_json(),
                "chat": chat,
                "date": s.unix_now(),
                "text": text,
            });
            if let Some(length) = leading_command_len(text) {
                message["entities"] =
                    json!([{"type": "bot_command", "offset": 0, "length": length}]);
            }
            s.store_user_message(user.id, message_id, message.clone());
            s.push_update(json!({"message": message}));
            message_id
        })
    }

    /// The user replies (`reply_to_message`) with `text` to message
    /// `to` of their chat (one of the bot's: as Telegram does, the reply
    /// carries that message as it stands). Returns the new message's id.
    pub fn reply(&self, user: &TgUser, to: i64, text: &str) -> i64 {
        self.shared.mutate(|s| {
            let chat = s.open_chat(user);
            let replied = s
                .chats
                .get(&user.id)
                .and_then(|c| c.messages.get(&to))
                .map(|m| m.json.clone())
                .unwrap_or_else(|| panic!("no message {to} in chat {} to reply to", user.id));
            let message_id = s.next_message_id(user.id);
            let message = json!({
                "message_id": message_id,
                "from": user.to_json(),
                "chat": chat,
                "date": s.unix_now(),
                "text": text,
                "reply_to_message": replied,
            });
            s.store_user_message(user.id, message_id, message.clone());
            s.push_update(json!({"message": message}));
            message_id
        })
    }

    /// The user's own message `message_id`, as Telegram would send it in an
    /// update again (to model a re-delivery: push `{"message": …}`).
    pub fn user_message(&self, user: &TgUser, message_id: i64) -> Value {
        let state = self.shared.lock();
        state
            .chats
            .get(&user.id)
            .and_then(|c| c.messages.get(&message_id))
            .filter(|m| !m.from_bot)
            .map(|m| m.json.clone())
            .unwrap_or_else(|| panic!("no message {message_id} from {}", user.id))
    }

    /// The customer presses an inline button carrying `data` under the bot's
    /// message `message_id`. The update carries that message as it stands
    /// now (an `InaccessibleMessage` with `date: 0` if the bot never sent it
    /// or deleted it, as Telegram does). Returns the callback query id.
    pub fn callback(&self, user: &TgUser, message_id: i64, data: &str) -> String {
        self.shared.mutate(|s| {
            let chat = s.open_chat(user);
            let id = s.new_query_id(user.id);
            let message = s
                .chats
                .get(&user.id)
                .and_then(|c| c.messages.get(&message_id))
                .filter(|m| m.from_bot && !m.deleted)
                .map(|m| m.json.clone())
                .unwrap_or_else(|| json!({"chat": chat, "message_id": message_id, "date": 0}));
            s.callback_queries.insert(id.clone(), false);
            s.push_update(json!({
                "callback_query": {
                    "id": id,
                    "from": user.to_json(),
                    "message": message,
                    "chat_instance": format!("{}", 7_000_000_000_000_000_000i64 + user.id),
                    "data": data,
                }
            }));
            id
        })
    }

    /// The customer presses a button carrying `data` on a message in another
    /// chat (`chat`, say a group the bot's message was forwarded to); the
    /// update carries it as an inaccessible message of that chat. Returns
    /// the callback query id.
    pub fn callback_in_chat(&self, user: &TgUser, chat: Value, data: &str) -> String {
        self.shared.mutate(|s| {
            let id = s.new_query_id(user.id);
            s.callback_queries.insert(id.clone(), false);
            s.push_update(json!({
                "callback_query": {
                    "id": id,
                    "from": user.to_json(),
                    "message": {"chat": chat, "message_id": 77, "date": 0},
                    "chat_instance": "1",
                    "data": data,
                }
            }));
            id
        })
    }

    /// Presses the button of `message` whose text contains `label`.
    /// Panics if there is no such button with callback data.
    pub fn press(&self, user: &TgUser, message: &SentMessage, label: &str) -> String {
        let data = message.callback_data(label).unwrap_or_else(|| {
            panic!(
                "no button {label:?} with callback data in message {}: {:?}",
                message.message_id,
                message.buttons()
            )
        });
        self.callback(user, message.message_id, &data)
    }

    /// The customer taps Pay on an invoice: Telegram asks the bot with a
    /// `pre_checkout_query` (currency `XTR`), which must be answered within
    /// [`PRE_CHECKOUT_TIMEOUT`]. Returns the query id.
    pub fn pre_checkout(&self, user: &TgUser, payload: &str, total_amount: u32) -> String {
        self.shared.mutate(|s| {
            s.open_chat(user);
            let id = s.new_query_id(user.id);
            let now = s.now();
            s.pre_checkouts.insert(
                id.clone(),
                PendingPreCheckout {
                    pushed_at: now,
                    answered: false,
                },
            );
            s.push_update(json!({
                "pre_checkout_query": {
                    "id": id,
                    "from": user.to_json(),
                    "currency": "XTR",
                    "total_amount": total_amount,
                    "invoice_payload": payload,
                }
            }));
            id
        })
    }

    /// Telegram took the Stars: a message with `successful_payment` in the
    /// customer's chat, and an incoming `StarTransaction` whose id is
    /// `charge_id` (pushing the same charge again sends the update again but
    /// records one transaction). Returns the message id.
    pub fn successful_payment(
        &self,
        user: &TgUser,
        payload: &str,
        total_amount: u32,
        charge_id: &str,
    ) -> i64 {
        self.shared.mutate(|s| {
            let chat = s.open_chat(user);
            s.record_payment(user, payload, total_amount, charge_id);
            let message_id = s.next_message_id(user.id);
            let message = json!({
                "message_id": message_id,
                "from": user.to_json(),
                "chat": chat,
                "date": s.unix_now(),
                "successful_payment": {
                    "currency": "XTR",
                    "total_amount": total_amount,
                    "invoice_payload": payload,
                    "telegram_payment_charge_id": charge_id,
                    // What Telegram puts here for Stars is not documented;
                    // the bot must not depend on it.
                    "provider_payment_charge_id": "",
                }
            });
            s.store_user_message(user.id, message_id, message.clone());
            s.push_update(json!({"message": message}));
            message_id
        })
    }

    /// A payment Telegram took whose update the bot never saw (it was
    /// confirmed by a poll and the process died): only
    /// `getStarTransactions` tells of it.
    pub fn record_star_payment(&self, user: &TgUser, payload: &str, amount: u32, charge_id: &str) {
        self.shared.mutate(|s| {
            s.open_chat(user);
            s.record_payment(user, payload, amount, charge_id);
        });
    }

    /// A fresh charge id shaped like Telegram's (`stx…`).
    pub fn new_charge_id(&self) -> String {
        self.shared.mutate(|s| {
            s.counter += 1;
            format!(
                "stxFAKE{:08}{:016x}",
                s.counter,
                s.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            )
        })
    }

    /// The whole payment as a customer lives it: pre-checkout, wait for the
    /// bot's answer (up to `deadline`), and on `ok` a `successful_payment`
    /// with a fresh charge id, which is returned.
    pub async fn checkout(
        &self,
        user: &TgUser,
        payload: &str,
        total_amount: u32,
        deadline: Duration,
    ) -> Result<String, CheckoutRefused> {
        let query_id = self.pre_checkout(user, payload, total_amount);
        let answer = self.wait_for_pre_checkout_answer(&query_id, deadline).await;
        if !answer.ok {
            return Err(CheckoutRefused {
                error_message: answer.error_message,
            });
        }
        let charge_id = self.new_charge_id();
        self.successful_payment(user, payload, total_amount, &charge_id);
        Ok(charge_id)
    }

    /// Queues a raw update. Its `update_id` is always assigned here (the next
    /// one); to model a duplicate delivery, push a copy of an earlier update.
    /// Returns the update id.
    pub fn push_update(&self, mut update: Value) -> i64 {
        self.shared.mutate(|s| {
            if let Some(fields) = update.as_object_mut() {
                fields.remove("update_id");
            }
            s.push_update(update)
        })
    }

    /// The user has started the bot without writing anything the test cares
    /// about: the bot may now send to them. (Sending to a user who never
    /// talked to the bot is 400 `chat not found`, as on Telegram.)
    pub fn open_chat(&self, user: &TgUser) {
        self.shared.mutate(|s| {
            s.open_chat(user);
        });
    }
}

/// UTF-16 length of a leading `/command` (with an optional `@botname`).
fn leading_command_len(text: &str) -> Option<usize> {
    if !text.starts_with('/') {
        return None;
    }
    let command = text.split(char::is_whitespace).next().unwrap_or_default();
    (command.len() > 1).then(|| command.encode_utf16().count())
}
