//! Scripted stand-ins for what delivery asks of Telegram: `sendMessage`
//! (records every message, answers from a script; default: delivered) and
//! `refundStarPayment` (counts calls; default: refunded).

use std::collections::VecDeque;
use std::sync::Mutex;

use foxbot::delivery::refund::{Payments, RefundError};
use foxbot::delivery::{BoxFuture, Notifier, OutgoingMessage, SendError};
use foxbot::domain::UserId;

#[derive(Default)]
pub struct FakeNotifier {
    script: Mutex<VecDeque<Result<(), SendError>>>,
    /// Every message asked for, in order, whatever its outcome.
    asked: Mutex<Vec<OutgoingMessage>>,
    next_id: Mutex<i64>,
}

impl FakeNotifier {
    /// The next send answers `outcome` (first in, first out).
    pub fn push(&self, outcome: Result<(), SendError>) {
        self.script.lock().unwrap().push_back(outcome);
    }

    pub fn asked(&self) -> Vec<OutgoingMessage> {
        self.asked.lock().unwrap().clone()
    }
}

impl Notifier for FakeNotifier {
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> BoxFuture<'a, Result<i64, SendError>> {
        Box::pin(async move {
            self.asked.lock().unwrap().push(message.clone());
            let outcome = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
            outcome.map(|()| {
                let mut id = self.next_id.lock().unwrap();
                *id += 1;
                *id
            })
        })
    }
}

/// A scripted stand-in for `refundStarPayment`: counts calls and answers
/// from a script (default: refunded).
#[derive(Default)]
pub struct FakePayments {
    script: Mutex<VecDeque<Result<(), RefundError>>>,
    calls: Mutex<Vec<(UserId, String)>>,
}

impl FakePayments {
    pub fn push(&self, outcome: Result<(), RefundError>) {
        self.script.lock().unwrap().push_back(outcome);
    }

    pub fn calls(&self) -> Vec<(UserId, String)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Payments for FakePayments {
    fn refund<'a>(
        &'a self,
        user: UserId,
        charge_id: &'a str,
    ) -> BoxFuture<'a, Result<(), RefundError>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push((user, charge_id.to_owned()));
            // A slow Telegram: lets a racing worker try its luck meanwhile.
            tokio::task::yield_now().await;
            self.script.lock().unwrap().pop_front().unwrap_or(Ok(()))
        })
    }
}
