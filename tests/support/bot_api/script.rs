//! What a test scripts: faults per method and chat ([`FakeBotApi::fault`]),
//! blocked chats, flood limits, the order of star transactions, and the
//! fake's clock.

use std::time::Duration;

use super::FakeBotApi;
use super::state::State;

/// What a scripted call answers instead of its normal reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Telegram's flood control: 429 `Too Many Requests: retry after N` with
    /// `parameters.retry_after = N`. Nothing happens.
    RetryAfter(u32),
    /// Any error answer, e.g. `(500, "Internal Server Error")`. Nothing happens.
    Error { code: u16, description: String },
    /// The call takes effect (a message is sent, a refund made) but the
    /// connection is closed before any reply: a timeout with unknown outcome.
    LoseReply,
    /// The connection is closed before the call takes effect.
    LoseRequest,
    /// The call takes effect and the reply is withheld until the client
    /// gives up (its own timeout) or the fake shuts down.
    StallReply,
    /// The call is handled normally after this delay. A client that gives up
    /// meanwhile closes the connection and the call never takes effect.
    Delay(Duration),
    /// A proxy's HTML error page with this status (`502 Bad Gateway`), as
    /// Telegram's front answers while the Bot API behind it is down.
    /// Nothing happens.
    Page(u16),
}

/// A fault script being built: `api.fault("sendMessage").chat(7).times(2).retry_after(3)`.
/// It is installed by the final call (`answer`, `retry_after`, …).
#[must_use = "a fault is installed only by its final call (retry_after, lose_reply, …)"]
pub struct FaultScript<'a> {
    api: &'a FakeBotApi,
    method: String,
    chat: Option<i64>,
    times: Option<usize>,
}

impl FaultScript<'_> {
    /// Only calls whose `chat_id` (or `user_id`, for `refundStarPayment`) is `chat`.
    pub fn chat(mut self, chat: i64) -> Self {
        self.chat = Some(chat);
        self
    }

    /// The next `n` matching calls (default 1).
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Every matching call from now on (until [`FakeBotApi::clear_faults`]).
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }

    pub fn answer(self, fault: Fault) {
        let rule = FaultRule {
            method: self.method.to_ascii_lowercase(),
            chat: self.chat,
            remaining: self.times,
            fault,
        };
        self.api.shared.mutate(|s| s.faults.push(rule));
    }

    pub fn retry_after(self, secs: u32) {
        self.answer(Fault::RetryAfter(secs));
    }

    pub fn error(self, code: u16, description: &str) {
        self.answer(Fault::Error {
            code,
            description: description.to_owned(),
        });
    }

    pub fn lose_reply(self) {
        self.answer(Fault::LoseReply);
    }

    pub fn lose_request(self) {
        self.answer(Fault::LoseRequest);
    }

    pub fn stall_reply(self) {
        self.answer(Fault::StallReply);
    }

    pub fn delay(self, by: Duration) {
        self.answer(Fault::Delay(by));
    }

    /// An HTML error page with status `code` instead of a Bot API answer.
    pub fn page(self, code: u16) {
        self.answer(Fault::Page(code));
    }
}

pub(super) struct FaultRule {
    /// Lower-case method name, or `*`.
    pub(super) method: String,
    pub(super) chat: Option<i64>,
    /// `None`: forever.
    pub(super) remaining: Option<usize>,
    pub(super) fault: Fault,
}

impl FakeBotApi {
    /// Starts a fault script for `method` (any case; `"*"` for every method).
    /// Scripts are consumed first in, first out; each call takes the first
    /// rule that matches it.
    pub fn fault(&self, method: &str) -> FaultScript<'_> {
        FaultScript {
            api: self,
            method: method.to_owned(),
            chat: None,
            times: Some(1),
        }
    }

    pub fn clear_faults(&self) {
        self.shared.mutate(|s| s.faults.clear());
    }

    /// The chat answers 403 `Forbidden: bot was blocked by the user` to every
    /// `send*` method until [`FakeBotApi::unblock_chat`].
    pub fn block_chat(&self, chat_id: i64) {
        self.shared.mutate(|s| {
            s.blocked.insert(chat_id);
        });
    }

    pub fn unblock_chat(&self, chat_id: i64) {
        self.shared.mutate(|s| {
            s.blocked.remove(&chat_id);
        });
    }

    /// Enforces Telegram's flood limits on sends (`sendMessage`,
    /// `sendInvoice`): more than `per_chat` in one chat, or `overall` in
    /// all chats, within one second answers 429 with `retry_after` (whole
    /// seconds, at least 1). Off by default. Telegram's real limits are
    /// about 1/s per chat (short bursts tolerated) and 30/s overall.
    pub fn enforce_send_limits(&self, per_chat: usize, overall: usize) {
        self.shared.mutate(|s| s.limits = Some((per_chat, overall)));
    }

    /// `getStarTransactions` lists newest first (the default, as Telegram
    /// answers in practice, although its documentation says "chronological
    /// order"), or oldest first: a bot's sweep should work with either.
    pub fn set_transactions_newest_first(&self, newest_first: bool) {
        self.shared
            .mutate(|s| s.transactions_oldest_first = !newest_first);
    }

    /// Moves the fake's clock forward: dates and query ages, not long polls.
    /// A pre-checkout query pushed more than 10 s (of this clock) ago is too
    /// old to answer.
    pub fn advance(&self, by: Duration) {
        self.shared.mutate(|s| s.clock_offset += by);
    }
}

impl State {
    pub(super) fn take_fault(&mut self, method: &str, chat: Option<i64>) -> Option<Fault> {
        let method = method.to_ascii_lowercase();
        let index = self.faults.iter().position(|rule| {
            (rule.method == "*" || rule.method == method)
                && rule.chat.is_none_or(|c| Some(c) == chat)
                && rule.remaining != Some(0)
        })?;
        let rule = &mut self.faults[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        Some(fault)
    }
}
