//! A scripted stand-in for Telegram's `sendMessage`: records every message
//! it is asked to send, and answers from a script (default: delivered).

use std::collections::VecDeque;
use std::sync::Mutex;

use foxbot::delivery::{BoxFuture, Notifier, OutgoingMessage, SendError};

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
