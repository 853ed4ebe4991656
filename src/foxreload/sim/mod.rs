//! A simulator of the FoxReload API (`foxreload-api.md`) for tests and demos.
//!
//! It serves the contract over real HTTP/1.1 on 127.0.0.1, takes every time
//! from a [`Clock`](crate::clock::Clock) (a `ManualClock` in tests), injects
//! exact network faults, and keeps a [ledger](LedgerEntry) of every order
//! created, paid and returned, which tests assert against. It is meant to be
//! faithful, never lenient: anything the contract refuses, it refuses.
//!
//! Choices where the contract is silent:
//! - Products of an unknown category: 404 `NOT_FOUND` (not an empty page).
//! - Ordering more than a product's known stock: 400 `OUT_OF_STOCK`. Stock
//!   is never decremented; tests script it with [`Simulator::set_stock`].
//! - Authentication is checked before faults, so a 401 never consumes a
//!   scripted fault. A wrong method (405) or unknown path (404) counts for
//!   no endpoint.
//! - A pay body must be a JSON object whose `paymentProvider` is null or
//!   absent (the balance); anything else is 422.
//! - Orders may hold up to 10 items; [`SimOrder`] and
//!   [`LedgerEntry::OrderCreated`] describe the first item (the total covers
//!   all). The outcome of an order comes from [`Simulator::push_outcome`],
//!   else the first item's product outcome, else the default.
//! - `X-Language` and `X-Currency` are accepted and ignored: everything is
//!   in USD.

mod catalog;
mod http;
mod rng;
mod server;
mod supplier;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::{SharedClock, SystemClock, millis};
use crate::domain::Money;
use server::{Chaos, Script, Shared, lock};
pub use supplier::ListShape;
use supplier::Supplier;

/// How a simulator starts.
#[derive(Clone)]
pub struct SimOptions {
    /// Requests whose `X-API-Key` header differs get 401 `{"detail": …}`.
    pub api_key: String,
    /// Every simulator time comes from it (a `ManualClock` in tests).
    pub clock: SharedClock,
    /// Starting USD balance.
    pub balance: Money,
    /// Life cycle of orders with no scripted outcome.
    pub default_outcome: OrderOutcome,
    /// Active orders unpaid this long become cancelled (`payment_expiration`).
    pub payment_window: Duration,
    /// New orders appear in `GET /api/orders/` only this long after
    /// creation (`GET /api/orders/{id}` sees them at once).
    pub list_lag: Duration,
    /// The account pays at creation: create answers `paid`.
    pub auto_pay: bool,
    /// `GET /api/orders/` answers a bare JSON array instead of a page.
    pub bare_list: bool,
    /// Name of the amount field in balances: `"amount"`, `"available"` or
    /// `"balance"` (the contract says accounts vary).
    pub balance_field: &'static str,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            api_key: "sim-key".to_owned(),
            clock: Arc::new(SystemClock),
            balance: Money::new(rust_decimal::Decimal::new(1000, 0)),
            default_outcome: OrderOutcome::complete(Duration::from_secs(2)),
            payment_window: Duration::from_secs(15 * 60),
            list_lag: Duration::ZERO,
            auto_pay: false,
            bare_list: false,
            balance_field: "amount",
        }
    }
}

impl fmt::Debug for SimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is left out: debug output ends up in logs.
        f.debug_struct("SimOptions")
            .field("balance", &self.balance)
            .field("default_outcome", &self.default_outcome)
            .field("payment_window", &self.payment_window)
            .field("list_lag", &self.list_lag)
            .field("auto_pay", &self.auto_pay)
            .field("bare_list", &self.bare_list)
            .field("balance_field", &self.balance_field)
            .finish_non_exhaustive()
    }
}

/// An API endpoint, for scripting faults and counting requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /api/categories/`
    Categories,
    /// `GET /api/products/`
    Products,
    /// `GET /api/products/{id}`
    Product,
    /// `POST /api/orders/`
    CreateOrder,
    /// `POST /api/orders/{id}/pay`
    PayOrder,
    /// `GET /api/orders/{id}`
    GetOrder,
    /// `GET /api/orders/`
    ListOrders,
    /// `GET /api/access/me/balances/`
    Balances,
}

impl Endpoint {
    /// The status of a normal success.
    pub fn success_status(self) -> u16 {
        match self {
            Endpoint::CreateOrder => 201,
            _ => 200,
        }
    }
}

/// A network fault for one request. "Commit" is the request's effect on the
/// supplier (creating or paying; for reads, computing the answer).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Do the work, then close the connection without any response.
    DropAfterCommit,
    /// Close the connection without any response and hold the work undone
    /// until [`Simulator::release_parked`]: a write that lands after its
    /// client gave up, at the moment a test chooses rather than after a
    /// real-time race.
    Park,
    /// Do the work, then wait (real time) before answering.
    DelayAfterCommit(Duration),
    /// Wait (real time) first, then do the work and answer: the work lands
    /// after a client with a shorter timeout gave up.
    DelayBeforeCommit(Duration),
    /// Answer this status (meant to be 5xx); nothing is done.
    ServerErrorBeforeCommit(u16),
    /// Do the work, then answer this status (meant to be 5xx).
    ServerErrorAfterCommit(u16),
    /// TCP reset; nothing is done.
    ResetBeforeCommit,
    /// Do the work, then TCP reset.
    ResetAfterCommit,
    /// Do the work, then answer the endpoint's success status with the JSON
    /// body cut in half (even if the work itself was refused).
    MalformedAfterCommit,
    /// Do the work, then answer with another order's JSON (a supplier that
    /// mixes up its replies).
    ReplyWithAnotherOrder,
    /// 429 with `Retry-After`; nothing is done.
    RateLimited {
        /// The `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
}

/// How an order's life goes once paid: it turns `processing` after a third
/// of `after`, and reaches its end at `after` (measured from payment).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderOutcome {
    /// Where the order ends.
    pub kind: OutcomeKind,
    /// How long after payment it gets there.
    pub after: Duration,
}

impl OrderOutcome {
    /// `completed` `after` payment.
    pub fn complete(after: Duration) -> Self {
        OrderOutcome {
            kind: OutcomeKind::Complete,
            after,
        }
    }

    /// `failed` `after` payment, money returned.
    pub fn fail(after: Duration) -> Self {
        OrderOutcome {
            kind: OutcomeKind::Fail,
            after,
        }
    }

    /// `cancelled` (`payment_failure`) `after` payment, money returned.
    pub fn cancel(after: Duration) -> Self {
        OrderOutcome {
            kind: OutcomeKind::Cancel,
            after,
        }
    }

    /// `completed` `after` payment, showing no codes.
    pub fn complete_without_codes(after: Duration) -> Self {
        OrderOutcome {
            kind: OutcomeKind::CompleteWithoutCodes,
            after,
        }
    }

    /// `completed` `after` payment with part of the codes and an item error.
    pub fn partial(after: Duration) -> Self {
        OrderOutcome {
            kind: OutcomeKind::Partial,
            after,
        }
    }

    /// `completed` `after` payment with `usable` real codes per item (at
    /// most its quantity) and, for the other units, elements that are not
    /// codes (`""`, whitespace, `null`, `{}`, `{"code":" "}`, `{"pin":""}`)
    /// and no item `error`: a reply that looks delivered but is not.
    pub fn blank_codes(after: Duration, usable: u32) -> Self {
        OrderOutcome {
            kind: OutcomeKind::BlankCodes { usable },
            after,
        }
    }

    /// `processing` forever (after `after / 3`).
    pub fn stall(after: Duration) -> Self {
        OrderOutcome {
            kind: OutcomeKind::Stall,
            after,
        }
    }
}

/// Where a paid order ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// `completed`, with one code per unit in `items[].externalData`.
    Complete,
    /// `failed`, with `items[].error`; the money goes back to the balance.
    Fail,
    /// `cancelled` (`payment_failure`); the money goes back to the balance.
    Cancel,
    /// Stays `processing` forever.
    Stall,
    /// `completed`, but with no codes at all, even read alone.
    CompleteWithoutCodes,
    /// `completed` with codes for half the units (at least one), the rest
    /// marked with an item `error`; the missing part's money stays spent.
    Partial,
    /// `completed`, `usable` codes per item and blanks for the rest, with
    /// no item `error` (see [`OrderOutcome::blank_codes`]).
    BlankCodes { usable: u32 },
}

/// A movement the simulator records; `at` is the simulator clock in ms.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LedgerEntry {
    /// Any created order (paid or not).
    OrderCreated {
        order_id: String,
        item_id: String,
        quantity: i64,
        note: serde_json::Value,
        total: Money,
        at: i64,
    },
    /// The balance was debited for this order.
    OrderPaid {
        order_id: String,
        amount: Money,
        at: i64,
    },
    /// A paid order failed or was cancelled and its money came back.
    OrderReturned {
        order_id: String,
        amount: Money,
        at: i64,
    },
    /// A test or `/_sim/balance` set the balance.
    BalanceSet { amount: Money, at: i64 },
}

/// An order as the simulator knows it, for assertions.
#[derive(Debug, Clone, Serialize)]
pub struct SimOrder {
    pub id: String,
    pub item_id: String,
    pub quantity: i64,
    /// The note exactly as sent; null if none was.
    pub note: serde_json::Value,
    /// The status at the time of the call.
    pub status: String,
    pub total: Money,
    /// Whether the balance was ever debited for it.
    pub paid: bool,
    pub created_at: i64,
    /// When the balance was debited.
    pub paid_at: Option<i64>,
    /// When a paid order reaches (or reached) its end; `None` if unpaid
    /// or stalling forever.
    pub finishes_at: Option<i64>,
    /// Delivered codes (all items), strings or objects.
    pub codes: Vec<serde_json::Value>,
}

/// A running simulator. Clones share it; it stops when [`shutdown`] is
/// called or the last clone is dropped.
///
/// [`shutdown`]: Simulator::shutdown
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
    stop: Arc<StopOnDrop>,
    addr: SocketAddr,
}

struct StopOnDrop(watch::Sender<bool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Binds `addr` (port 0 picks a free port) and starts serving.
    pub async fn start(addr: SocketAddr, options: SimOptions) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut supplier = Supplier::new(options.balance, options.default_outcome);
        supplier.payment_window = millis(options.payment_window);
        supplier.list_lag = millis(options.list_lag);
        supplier.auto_pay = options.auto_pay;
        supplier.bare_list = options.bare_list;
        supplier.balance_field = options.balance_field;
        let shared = Arc::new(Shared {
            api_key: options.api_key,
            clock: options.clock,
            supplier: Mutex::new(supplier),
            script: Mutex::new(Script::default()),
        });
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(server::accept_loop(listener, shared.clone(), stopped));
        Ok(Simulator {
            shared,
            stop: Arc::new(StopOnDrop(stop)),
            addr,
        })
    }

    /// The address actually bound (the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, to configure a client with.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and closes every connection (a request being
    /// delayed by a fault is abandoned).
    pub fn shutdown(&self) {
        self.stop.0.send_replace(true);
    }

    fn now(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    fn supplier(&self) -> std::sync::MutexGuard<'_, Supplier> {
        lock(&self.shared.supplier)
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        lock(&self.shared.script)
    }

    /// Sets the balance (a top-up, or draining it); recorded in the ledger.
    pub fn set_balance(&self, usd: Money) {
        let now = self.now();
        self.supplier().set_balance(usd, now);
    }

    /// The balance now, after any returns that are due.
    pub fn balance(&self) -> Money {
        let now = self.now();
        let mut supplier = self.supplier();
        supplier.settle(now);
        supplier.balance
    }

    /// Changes a product's price (orders are charged it from now on).
    /// `None` shows `price: null` in the catalog while orders are still
    /// charged the last price. An unknown id adds a plain product (gift
    /// cards, 1.00, unknown stock, no note fields).
    pub fn set_price(&self, product_id: &str, price: Option<Money>) {
        let mut supplier = self.supplier();
        let product = supplier.catalog.product_or_insert(product_id);
        match price {
            Some(price) => {
                product.price = price;
                product.price_listed = true;
            }
            None => product.price_listed = false,
        }
    }

    /// Sets a product's stock (`None`: unknown). An unknown id adds a plain
    /// product, as [`set_price`](Simulator::set_price) does.
    pub fn set_stock(&self, product_id: &str, stock: Option<i64>) {
        self.supplier().catalog.product_or_insert(product_id).stock = stock;
    }

    /// Applies `fault` to the next request to `endpoint` (first in, first
    /// out per endpoint); scripted faults take precedence over chaos.
    pub fn push_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.script()
            .faults
            .entry(endpoint)
            .or_default()
            .push_back(fault);
    }

    /// Gives every request to any endpoint a random fault from `faults`
    /// with `probability`, from a generator seeded with `seed` (the same
    /// seed and requests replay the same faults). Probability 0 (or no
    /// faults) turns chaos off.
    pub fn set_chaos(&self, seed: u64, probability: f64, faults: Vec<Fault>) {
        let on = probability > 0.0 && !faults.is_empty();
        self.script().chaos = on.then(|| Chaos {
            rng: rng::SplitMix64::new(seed),
            probability: probability.min(1.0),
            faults,
        });
    }

    /// Does the work of every request held by [`Fault::Park`], oldest
    /// first, at the clock's time now (an order created now is created at
    /// this instant). Returns how many were held.
    pub fn release_parked(&self) -> usize {
        self.shared.release_parked()
    }

    /// The outcome of the next created order (first in, first out).
    pub fn push_outcome(&self, outcome: OrderOutcome) {
        self.supplier().outcomes.push_back(outcome);
    }

    /// The outcome of orders for that product with no pushed outcome.
    pub fn set_product_outcome(&self, product_id: &str, outcome: OrderOutcome) {
        self.supplier()
            .product_outcomes
            .insert(product_id.to_owned(), outcome);
    }

    /// Applies at once to every order, old or new.
    pub fn set_list_lag(&self, lag: Duration) {
        self.supplier().list_lag = millis(lag);
    }

    /// `GET /api/orders/` answers at most `rows` per page, whatever limit is
    /// asked (servers cap page sizes below what clients ask).
    pub fn set_page_cap(&self, rows: i64) {
        self.supplier().page_cap = rows.max(1);
    }

    /// How history rows leave fields out, from the next request on.
    pub fn set_list_shape(&self, shape: ListShape) {
        self.supplier().list_shape = shape;
    }

    /// Turns [`SimOptions::auto_pay`] on or off for orders created from now.
    pub fn set_auto_pay(&self, on: bool) {
        self.supplier().auto_pay = on;
    }

    /// Every movement so far, in time order.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        let now = self.now();
        self.supplier().ledger(now)
    }

    /// Every order ever created, oldest first, with its current status.
    pub fn orders(&self) -> Vec<SimOrder> {
        let now = self.now();
        self.supplier().orders(now)
    }

    /// One order by id, with its current status.
    pub fn order(&self, id: &str) -> Option<SimOrder> {
        let now = self.now();
        self.supplier().order(id, now)
    }

    /// Enforces the key's limit as the supplier would: at most `rate` API
    /// requests in any `window` of the simulator clock; the rest get 429
    /// with `Retry-After` (whole seconds, rounded up). `None` lifts it.
    pub fn set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        self.script().rate_limit = limit.map(|(rate, window)| server::RateLimit {
            rate: rate as usize,
            window: millis(window).max(1),
            admitted: std::collections::VecDeque::new(),
            refused: 0,
        });
    }

    /// Requests refused with 429 by [`set_rate_limit`](Self::set_rate_limit).
    pub fn rate_limited_count(&self) -> u64 {
        self.script().rate_limit.as_ref().map_or(0, |l| l.refused)
    }

    /// Requests received for `endpoint`, faulted or not, including 401s.
    pub fn request_count(&self, endpoint: Endpoint) -> u64 {
        self.script().counts.get(&endpoint).copied().unwrap_or(0)
    }
}

/// The name of the balance field (see [`SimOptions::balance_field`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BalanceField {
    /// `amount`, as documented.
    Amount,
    /// `available`, seen on some accounts.
    Available,
    /// `balance`, seen on some accounts.
    Balance,
}

impl BalanceField {
    /// The JSON field name.
    pub fn as_str(self) -> &'static str {
        match self {
            BalanceField::Amount => "amount",
            BalanceField::Available => "available",
            BalanceField::Balance => "balance",
        }
    }
}

/// Options of `foxbot supplier-sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,
    /// The API key clients must send in X-API-Key.
    #[arg(long, default_value = "sim-key")]
    pub api_key: String,
    /// Starting balance in USD.
    #[arg(long, default_value = "1000")]
    pub balance: Money,
    /// How long new orders stay out of the order list.
    #[arg(long, default_value_t = 0)]
    pub list_lag_secs: u64,
    /// How long a paid order takes to complete.
    #[arg(long, default_value_t = 2)]
    pub complete_after_secs: u64,
    /// How long an order may stay unpaid.
    #[arg(long, default_value_t = 900)]
    pub payment_window_secs: u64,
    /// Creating an order also pays it.
    #[arg(long)]
    pub auto_pay: bool,
    /// Enforce a per-key limit of this many requests a minute (429 with
    /// Retry-After beyond it); 0: no limit.
    #[arg(long, default_value_t = 0)]
    pub rate_per_min: u32,
    /// The order list is a bare JSON array.
    #[arg(long)]
    pub bare_list: bool,
    /// Name of the amount field in balances.
    #[arg(long, value_enum, default_value_t = BalanceField::Amount)]
    pub balance_field: BalanceField,
}

/// Runs a simulator on the system clock until `stop` resolves (for the
/// command: SIGINT or SIGTERM).
pub async fn serve(
    args: SimArgs,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let options = SimOptions {
        api_key: args.api_key,
        clock: Arc::new(SystemClock),
        balance: args.balance,
        default_outcome: OrderOutcome::complete(Duration::from_secs(args.complete_after_secs)),
        payment_window: Duration::from_secs(args.payment_window_secs),
        list_lag: Duration::from_secs(args.list_lag_secs),
        auto_pay: args.auto_pay,
        bare_list: args.bare_list,
        balance_field: args.balance_field.as_str(),
    };
    let sim = Simulator::start(args.addr, options)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    if args.rate_per_min > 0 {
        sim.set_rate_limit(Some((args.rate_per_min, Duration::from_secs(60))));
    }
    // On stdout, so that whoever started it on port 0 learns the real port.
    println!("FoxReload simulator listening on {}", sim.base_url());
    stop.await;
    tracing::info!("FoxReload simulator stopping");
    sim.shutdown();
    Ok(())
}
