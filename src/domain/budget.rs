//! The terms of the one supplier call budget that both sides of it use:
//! the budget (`foxreload::Budget`), which admits each call, and the
//! store's shared log (`store::SharedBudget`), which holds the limit
//! across processes. Here, so that the store need not know the client.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::{InvalidValue, invalid};

stored_names! {
    /// Which calls go first when the budget is short (stored in the shared
    /// log by name).
    pub enum Priority {
        /// Create and pay: they move money and customers wait on them.
        Write => "write",
        Read => "read",
    }
}

/// A limit's answer, later (`clock::BoxFuture`, written out so that the
/// domain depends on nothing).
type Later<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The part of the budget every process sharing the key sees (the
/// database): the hard limit across replicas, and a 429's pause for all.
pub trait SharedLimit: Send + Sync + 'static {
    /// Takes one call of `priority` now, or says how long to wait first.
    fn take(&self, priority: Priority) -> Later<'_, Result<(), Duration>>;
    /// The supplier said 429: no process calls for `retry_after`.
    fn pause(&self, retry_after: Duration) -> Later<'_, ()>;
}
