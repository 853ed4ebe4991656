//! Scripted stand-ins for what delivery asks of Telegram: `sendMessage`
//! (records every message, answers from a script; default: delivered) and
//! `refundStarPayment` (counts calls; default: refunded).

use std::collections::VecDeque;
use std::sync::Mutex;

use foxbot::delivery::refund::{Payments, RefundError};
use foxbot::delivery::{BoxFuture, Notifier, OutgoingMessage, SendError};
use foxbot::domain::UserId;

/// Something a test does while Telegram is answering a call: another
/// worker, an admin or a sweep moving the purchase meanwhile.
pub type Meanwhile = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

#[derive(Default)]
pub struct FakeNotifier {
    meanwhile: Mutex<Option<Meanwhile>>,
    script: Mutex<VecDeque<Result<(), SendError>>>,
    /// Every message asked for, in order, whatever its outcome.
    asked: Mutex<Vec<OutgoingMessage>>,
    /// The messages that reached the chat (a timed-out send may have).
    arrived: Mutex<Vec<OutgoingMessage>>,
    next_id: Mutex<i64>,
    chaos: Mutex<Option<Chaos>>,
}

/// Seeded random faults: deterministic for a seed.
struct Chaos {
    state: u64,
    probability: f64,
}

impl Chaos {
    fn roll(&mut self) -> f64 {
        // SplitMix64.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl FakeNotifier {
    /// The next send answers `outcome` (first in, first out).
    pub fn push(&self, outcome: Result<(), SendError>) {
        self.script.lock().unwrap().push_back(outcome);
    }

    /// The next send runs `f` before it answers.
    pub fn meanwhile(&self, f: Meanwhile) {
        *self.meanwhile.lock().unwrap() = Some(f);
    }

    pub fn asked(&self) -> Vec<OutgoingMessage> {
        self.asked.lock().unwrap().clone()
    }

    pub fn arrived(&self) -> Vec<OutgoingMessage> {
        self.arrived.lock().unwrap().clone()
    }

    /// From now on, a fraction of sends fail: rate limited (nothing
    /// sent), or timed out (arrived or not, by the same seeded dice).
    pub fn set_chaos(&self, seed: u64, probability: f64) {
        *self.chaos.lock().unwrap() = Some(Chaos {
            state: seed,
            probability,
        });
    }

    /// A scripted outcome, else a chaos roll: (answer, did it arrive).
    fn next_outcome(&self) -> (Result<(), SendError>, bool) {
        if let Some(scripted) = self.script.lock().unwrap().pop_front() {
            let arrived = scripted.is_ok();
            return (scripted, arrived);
        }
        let mut chaos = self.chaos.lock().unwrap();
        let Some(c) = chaos.as_mut() else {
            return (Ok(()), true);
        };
        if c.roll() >= c.probability {
            return (Ok(()), true);
        }
        if c.roll() < 0.5 {
            (
                Err(SendError::RetryAfter(std::time::Duration::from_millis(50))),
                false,
            )
        } else {
            let arrived = c.roll() < 0.5;
            (Err(SendError::Unknown("timed out".to_owned())), arrived)
        }
    }
}

impl Notifier for FakeNotifier {
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> BoxFuture<'a, Result<i64, SendError>> {
        Box::pin(async move {
            self.asked.lock().unwrap().push(message.clone());
            let meanwhile = self.meanwhile.lock().unwrap().take();
            if let Some(f) = meanwhile {
                f().await;
            }
            let (outcome, arrived) = self.next_outcome();
            if arrived {
                self.arrived.lock().unwrap().push(message.clone());
            }
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
    meanwhile: Mutex<Option<Meanwhile>>,
    script: Mutex<VecDeque<Result<(), RefundError>>>,
    calls: Mutex<Vec<(UserId, String)>>,
    /// Charges whose Stars went back, with how many times.
    refunded: Mutex<std::collections::HashMap<String, usize>>,
    chaos: Mutex<Option<Chaos>>,
}

impl FakePayments {
    pub fn push(&self, outcome: Result<(), RefundError>) {
        self.script.lock().unwrap().push_back(outcome);
    }

    /// The next call runs `f` before it answers.
    pub fn meanwhile(&self, f: Meanwhile) {
        *self.meanwhile.lock().unwrap() = Some(f);
    }

    pub fn calls(&self) -> Vec<(UserId, String)> {
        self.calls.lock().unwrap().clone()
    }

    /// How many times each charge's Stars actually went back.
    pub fn refunded(&self) -> std::collections::HashMap<String, usize> {
        self.refunded.lock().unwrap().clone()
    }

    /// From now on, a fraction of calls time out (refunded or not, by the
    /// same seeded dice); a charge refunded before answers
    /// `CHARGE_ALREADY_REFUNDED`, as Telegram does.
    pub fn set_chaos(&self, seed: u64, probability: f64) {
        *self.chaos.lock().unwrap() = Some(Chaos {
            state: seed,
            probability,
        });
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
            let meanwhile = self.meanwhile.lock().unwrap().take();
            if let Some(f) = meanwhile {
                f().await;
            }
            if let Some(scripted) = self.script.lock().unwrap().pop_front() {
                return scripted;
            }
            let mut refunded = self.refunded.lock().unwrap();
            if refunded.contains_key(charge_id) {
                return Err(RefundError::AlreadyRefunded);
            }
            let mut chaos = self.chaos.lock().unwrap();
            let fails = chaos.as_mut().is_some_and(|c| c.roll() < c.probability);
            let (apply, answer) = match chaos.as_mut() {
                Some(c) if fails => (
                    c.roll() < 0.5,
                    Err(RefundError::Transient("timed out".to_owned())),
                ),
                _ => (true, Ok(())),
            };
            if apply {
                *refunded.entry(charge_id.to_owned()).or_default() += 1;
            }
            answer
        })
    }
}
