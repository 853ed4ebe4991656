//! What the bot did, read through typed views, and waited on with a
//! deadline: every change to the fake wakes the waiters, nothing polls.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::params::scope_key;
use super::{
    Call, CallbackAnswer, CommandSet, FakeBotApi, PreCheckoutAnswer, Refund, SentInvoice,
    SentMessage,
};

impl FakeBotApi {
    /// Every call with the right token, in arrival order.
    pub fn all_calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// The calls of one method (any case).
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }

    /// Calls that carried a wrong token (answered 401).
    pub fn unauthorized_calls(&self) -> usize {
        self.shared.lock().unauthorized
    }

    /// The messages the bot sent to `chat_id`, oldest first, as they stand
    /// now (edits applied; deleted ones kept and flagged).
    pub fn sent_messages(&self, chat_id: i64) -> Vec<SentMessage> {
        let state = self.shared.lock();
        state
            .chats
            .get(&chat_id)
            .map(|chat| {
                chat.messages
                    .iter()
                    .filter(|(_, m)| m.from_bot)
                    .map(|(&id, m)| m.view(chat_id, id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The text of the last message (not deleted) the bot sent to `chat_id`.
    pub fn last_text(&self, chat_id: i64) -> Option<String> {
        self.sent_messages(chat_id)
            .into_iter()
            .rev()
            .find(|m| !m.deleted && m.text.is_some())
            .and_then(|m| m.text)
    }

    pub fn invoices(&self) -> Vec<SentInvoice> {
        self.shared.lock().invoices.clone()
    }

    pub fn pre_checkout_answers(&self) -> Vec<PreCheckoutAnswer> {
        self.shared.lock().pre_checkout_answers.clone()
    }

    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.shared.lock().callback_answers.clone()
    }

    /// Refunds Telegram carried out (each charge at most once).
    pub fn refunds(&self) -> Vec<Refund> {
        self.shared.lock().refunds.clone()
    }

    /// Every `allowed_updates` list the bot gave to `getUpdates`, in order.
    pub fn allowed_updates_seen(&self) -> Vec<Vec<String>> {
        self.shared.lock().allowed_updates_seen.clone()
    }

    /// Whether the bot's current `allowed_updates` setting lets `kind`
    /// (e.g. `pre_checkout_query`) through.
    pub fn receives(&self, kind: &str) -> bool {
        self.shared.lock().allows(kind)
    }

    /// Updates dropped because the bot's `allowed_updates` excluded them.
    pub fn dropped_updates(&self) -> Vec<Value> {
        self.shared.lock().dropped.clone()
    }

    /// Updates pushed and not yet confirmed by the bot.
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// The id of the last update pushed (0 before any).
    pub fn last_update_id(&self) -> i64 {
        self.shared.lock().next_update_id - 1
    }

    /// Whether the bot confirmed `update_id` (asked `getUpdates` with a
    /// higher offset).
    pub fn is_confirmed(&self, update_id: i64) -> bool {
        let state = self.shared.lock();
        update_id < state.next_update_id && !state.pending.iter().any(|u| u.id == update_id)
    }

    pub fn command_sets(&self) -> Vec<CommandSet> {
        self.shared.lock().commands.values().cloned().collect()
    }

    /// The commands of the default scope for `language_code` (`""`: all languages).
    pub fn my_commands(&self, language_code: &str) -> Option<Vec<(String, String)>> {
        let key = (
            scope_key(&json!({"type": "default"})),
            language_code.to_owned(),
        );
        self.shared
            .lock()
            .commands
            .get(&key)
            .map(|set| set.commands.clone())
    }

    /// The menu a user whose Telegram language is `language_code` sees in
    /// their private chat `chat_id`, found as Telegram finds it: the chat's
    /// own (for that language, then for all), then all private chats',
    /// then the default's.
    pub fn menu_in_chat(&self, chat_id: i64, language_code: &str) -> Option<Vec<(String, String)>> {
        let scopes = [
            json!({"type": "chat", "chat_id": chat_id}),
            json!({"type": "all_private_chats"}),
            json!({"type": "default"}),
        ];
        let state = self.shared.lock();
        scopes.iter().find_map(|scope| {
            [language_code, ""].into_iter().find_map(|language| {
                state
                    .commands
                    .get(&(scope_key(scope), language.to_owned()))
                    .map(|set| set.commands.clone())
            })
        })
    }

    pub fn webhook_url(&self) -> Option<String> {
        self.shared.lock().webhook.clone()
    }
}

impl FakeBotApi {
    /// Re-evaluates `check` after every change to the fake (a call, a push,
    /// a fault script) until it returns `Some`, or panics after `deadline`
    /// naming `what` and listing the calls seen. Never sleeps blindly.
    pub async fn wait<T>(
        &self,
        what: &str,
        deadline: Duration,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        // Subscribe before the first check so that no change is missed.
        let mut changes = self.shared.changes.subscribe();
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(found) = check(self) {
                return found;
            }
            match tokio::time::timeout_at(until, changes.changed()).await {
                Ok(_) => continue,
                Err(_) => {
                    if let Some(found) = check(self) {
                        return found;
                    }
                    panic!(
                        "timed out after {deadline:?} waiting for {what}; calls seen: {}",
                        self.summary()
                    );
                }
            }
        }
    }

    /// The first message the bot sent to `chat_id` (as it stands now) that
    /// satisfies `predicate`.
    pub async fn wait_for_message(
        &self,
        chat_id: i64,
        predicate: impl Fn(&SentMessage) -> bool,
        deadline: Duration,
    ) -> SentMessage {
        self.wait(&format!("a message to chat {chat_id}"), deadline, |api| {
            api.sent_messages(chat_id)
                .into_iter()
                .find(|m| predicate(m))
        })
        .await
    }

    /// Waits until `method` has been called at least `count` times; returns
    /// those calls.
    pub async fn wait_for_calls(
        &self,
        method: &str,
        count: usize,
        deadline: Duration,
    ) -> Vec<Call> {
        self.wait(&format!("{count} × {method}"), deadline, |api| {
            let calls = api.calls(method);
            (calls.len() >= count).then_some(calls)
        })
        .await
    }

    pub async fn wait_for_pre_checkout_answer(
        &self,
        query_id: &str,
        deadline: Duration,
    ) -> PreCheckoutAnswer {
        self.wait(
            &format!("the answer to pre-checkout query {query_id}"),
            deadline,
            |api| {
                api.pre_checkout_answers()
                    .into_iter()
                    .find(|a| a.query_id == query_id)
            },
        )
        .await
    }

    pub async fn wait_for_refund(&self, charge_id: &str, deadline: Duration) -> Refund {
        self.wait(&format!("a refund of {charge_id}"), deadline, |api| {
            api.refunds().into_iter().find(|r| r.charge_id == charge_id)
        })
        .await
    }

    /// Waits until the bot has confirmed `update_id` through a later offset.
    pub async fn wait_for_confirmed(&self, update_id: i64, deadline: Duration) {
        self.wait(
            &format!("confirmation of update {update_id}"),
            deadline,
            |api| api.is_confirmed(update_id).then_some(()),
        )
        .await
    }

    /// One line per method with its call count, for failure messages.
    fn summary(&self) -> String {
        let state = self.shared.lock();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for call in &state.calls {
            *counts.entry(call.method.as_str()).or_default() += 1;
        }
        let counts: Vec<String> = counts.iter().map(|(m, n)| format!("{m} ×{n}")).collect();
        format!(
            "[{}], pending updates: {}",
            counts.join(", "),
            state.pending.len()
        )
    }
}
