//! The network side: accepting connections, routing, authentication, and
//! applying faults around the supplier's work. A fault "before commit"
//! leaves the supplier untouched; one "after commit" lets the supplier do
//! the work under its lock, then spoils the answer. A parked request is
//! left unanswered and its work done when the test releases it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::http::{self, Request, Response};
use super::rng::SplitMix64;
use super::supplier::Supplier;
use super::{Endpoint, Fault};
use crate::clock::{Millis, SharedClock};
use crate::domain::Money;

/// Locks a mutex, recovering from poisoning: a panicking test thread must
/// not take the simulator down for every other test sharing it.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Random faults for every request, from a seeded generator.
#[derive(Debug)]
pub(super) struct Chaos {
    pub rng: SplitMix64,
    pub probability: f64,
    pub faults: Vec<Fault>,
}

/// What tests script about the network, kept apart from the supplier's
/// state (the two locks are never held together).
#[derive(Debug, Default)]
pub(super) struct Script {
    pub faults: HashMap<Endpoint, VecDeque<Fault>>,
    pub chaos: Option<Chaos>,
    pub counts: HashMap<Endpoint, u64>,
    /// Requests held by [`Fault::Park`], oldest first.
    pub parked: Vec<Parked>,
    /// The key's limit, enforced as the supplier would (none by default).
    pub rate_limit: Option<RateLimit>,
}

/// At most `rate` API requests in any `window` (simulator clock); more get
/// 429 with `Retry-After`, and are not counted against the window.
#[derive(Debug)]
pub(super) struct RateLimit {
    pub rate: usize,
    pub window: Millis,
    pub admitted: VecDeque<Millis>,
    pub refused: u64,
}

impl RateLimit {
    /// `None` if the request is admitted now, else the seconds to wait.
    fn check(&mut self, now: Millis) -> Option<u64> {
        while self
            .admitted
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= self.window)
        {
            self.admitted.pop_front();
        }
        if self.admitted.len() < self.rate {
            self.admitted.push_back(now);
            return None;
        }
        self.refused += 1;
        let oldest = self.admitted.front().copied().unwrap_or(now);
        let wait_ms = (oldest + self.window).saturating_sub(now).max(1);
        Some(u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1))
    }
}

/// A request whose connection was closed unanswered and whose work waits
/// for [`Shared::release_parked`].
#[derive(Debug)]
pub(super) struct Parked {
    endpoint: Endpoint,
    id: Option<String>,
    request: Request,
}

/// Everything the connections share.
pub(super) struct Shared {
    pub api_key: String,
    pub clock: SharedClock,
    pub supplier: Mutex<Supplier>,
    pub script: Mutex<Script>,
}

/// What to do with a connection after a request.
#[derive(Debug)]
enum Action {
    Respond(Response),
    /// Close without answering (FIN).
    Close,
    /// Abort the connection (RST).
    Reset,
}

enum Route {
    Api(Endpoint, Option<String>),
    Control(Control),
    WrongMethod(&'static str),
    NotFound,
}

enum Control {
    Ledger,
    Orders,
    Balance,
}

fn route(method: &str, path: &str) -> Route {
    let trimmed = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let segments: Vec<String> = trimmed
        .split('/')
        .skip(1)
        .map(|s| http::percent_decode(s, false))
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let only = |wanted: &'static str, route: Route| {
        if method == wanted {
            route
        } else {
            Route::WrongMethod(wanted)
        }
    };
    let api = |endpoint, id: Option<&str>| Route::Api(endpoint, id.map(str::to_owned));
    match segments.as_slice() {
        ["api", "categories"] => only("GET", api(Endpoint::Categories, None)),
        ["api", "products"] => only("GET", api(Endpoint::Products, None)),
        ["api", "products", id] if !id.is_empty() => only("GET", api(Endpoint::Product, Some(id))),
        ["api", "orders"] => match method {
            "GET" => api(Endpoint::ListOrders, None),
            "POST" => api(Endpoint::CreateOrder, None),
            _ => Route::WrongMethod("GET, POST"),
        },
        ["api", "orders", id] if !id.is_empty() => only("GET", api(Endpoint::GetOrder, Some(id))),
        ["api", "orders", id, "pay"] if !id.is_empty() => {
            only("POST", api(Endpoint::PayOrder, Some(id)))
        }
        ["api", "access", "me", "balances"] => only("GET", api(Endpoint::Balances, None)),
        ["_sim", "ledger"] => only("GET", Route::Control(Control::Ledger)),
        ["_sim", "orders"] => only("GET", Route::Control(Control::Orders)),
        ["_sim", "balance"] => only("POST", Route::Control(Control::Balance)),
        _ => Route::NotFound,
    }
}

impl Shared {
    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The endpoint's next scripted fault, else perhaps a chaos fault.
    fn next_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut script = lock(&self.script);
        if let Some(fault) = script
            .faults
            .get_mut(&endpoint)
            .and_then(VecDeque::pop_front)
        {
            return Some(fault);
        }
        let chaos = script.chaos.as_mut()?;
        if chaos.rng.next_f64() < chaos.probability {
            let pick = chaos.rng.below(chaos.faults.len());
            chaos.faults.get(pick).cloned()
        } else {
            None
        }
    }

    async fn answer(&self, request: &Request) -> Action {
        match route(&request.method, &request.path) {
            Route::Api(endpoint, id) => self.api(endpoint, id.as_deref(), request).await,
            Route::Control(control) => Action::Respond(self.control(control, request)),
            Route::WrongMethod(allow) => Action::Respond(
                Response::detail(405, "Method Not Allowed").with_header("Allow", allow.to_owned()),
            ),
            Route::NotFound => Action::Respond(Response::error(
                404,
                "NOT_FOUND",
                format!("no route for {}", request.path),
            )),
        }
    }

    async fn api(&self, endpoint: Endpoint, id: Option<&str>, request: &Request) -> Action {
        *lock(&self.script).counts.entry(endpoint).or_default() += 1;
        // Authentication comes first, so an unauthenticated request never
        // consumes a fault scripted for the product's real requests.
        if request.header("x-api-key") != Some(self.api_key.as_str()) {
            return Action::Respond(Response::detail(401, "Invalid or missing API key"));
        }
        let limited = {
            let now = self.now();
            lock(&self.script)
                .rate_limit
                .as_mut()
                .and_then(|limit| limit.check(now))
        };
        if let Some(retry_after) = limited {
            return Action::Respond(
                Response::detail(429, "Too Many Requests")
                    .with_header("Retry-After", retry_after.to_string()),
            );
        }
        let fault = self.next_fault(endpoint);
        if let Some(fault) = &fault {
            tracing::debug!(?endpoint, ?fault, "simulator fault");
        }
        match &fault {
            Some(Fault::ServerErrorBeforeCommit(status)) => {
                return Action::Respond(server_error(*status));
            }
            Some(Fault::ResetBeforeCommit) => return Action::Reset,
            Some(Fault::RateLimited { retry_after_secs }) => {
                return Action::Respond(
                    Response::detail(429, "Too Many Requests")
                        .with_header("Retry-After", retry_after_secs.to_string()),
                );
            }
            Some(Fault::Park) => {
                lock(&self.script).parked.push(Parked {
                    endpoint,
                    id: id.map(str::to_owned),
                    request: request.clone(),
                });
                return Action::Close;
            }
            Some(Fault::DelayBeforeCommit(delay)) => tokio::time::sleep(*delay).await,
            _ => {}
        }

        let response = lock(&self.supplier).handle(endpoint, id, request, self.now());

        match fault {
            Some(Fault::DropAfterCommit) => Action::Close,
            Some(Fault::ResetAfterCommit) => Action::Reset,
            Some(Fault::ServerErrorAfterCommit(status)) => Action::Respond(server_error(status)),
            Some(Fault::DelayAfterCommit(delay)) => {
                tokio::time::sleep(delay).await;
                Action::Respond(response)
            }
            Some(Fault::ReplyWithAnotherOrder) => match lock(&self.supplier).other_order(id) {
                Some(other) => Action::Respond(Response {
                    status: endpoint.success_status(),
                    ..other
                }),
                None => Action::Respond(response),
            },
            Some(Fault::MalformedAfterCommit) => {
                // A proper prefix of a JSON object or array never parses.
                let mut body = response.body;
                body.truncate((body.len() / 2).max(1));
                Action::Respond(Response {
                    status: endpoint.success_status(),
                    headers: response.headers,
                    body,
                })
            }
            _ => Action::Respond(response),
        }
    }

    /// Does the work of every parked request, oldest first, at the clock's
    /// time now; the answers are thrown away (their clients are gone).
    /// Returns how many there were.
    pub fn release_parked(&self) -> usize {
        // Taken out first: the two locks are never held together.
        let parked = std::mem::take(&mut lock(&self.script).parked);
        let now = self.now();
        let mut supplier = lock(&self.supplier);
        for p in &parked {
            let _ = supplier.handle(p.endpoint, p.id.as_deref(), &p.request, now);
        }
        parked.len()
    }

    /// `/_sim/…`: small, key-less helpers for demos with curl.
    fn control(&self, control: Control, request: &Request) -> Response {
        let now = self.now();
        let mut supplier = lock(&self.supplier);
        match control {
            Control::Ledger => Response::json(200, &supplier.ledger(now)),
            Control::Orders => Response::json(200, &supplier.orders(now)),
            Control::Balance => {
                #[derive(serde::Deserialize)]
                struct Body {
                    amount: Money,
                }
                match serde_json::from_slice::<Body>(&request.body) {
                    Ok(Body { amount }) if !amount.is_negative() => {
                        supplier.set_balance(amount, now);
                        Response::json(200, &json!({ "amount": amount }))
                    }
                    Ok(_) => Response::detail(422, "amount must not be negative"),
                    Err(e) => {
                        Response::detail(422, format!("expected {{\"amount\": \"100\"}}: {e}"))
                    }
                }
            }
        }
    }
}

fn server_error(status: u16) -> Response {
    Response::detail(status, "simulated server error")
}

/// Resolves once the simulator is told to stop (or its handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

pub(super) async fn accept_loop(
    listener: TcpListener,
    shared: std::sync::Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = stopped(&mut stop) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(stream, shared.clone(), stop.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, retry.
                    tracing::warn!(error = %e, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

async fn connection(
    mut stream: TcpStream,
    shared: std::sync::Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = Vec::new();
    loop {
        let read = tokio::select! {
            () = stopped(&mut stop) => return,
            read = http::read_request(&mut stream, &mut buf) => read,
        };
        let request = match read {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(refusal) => {
                let response = Response::detail(refusal.status, refusal.detail);
                if stream.write_all(&response.to_bytes(false)).await.is_ok() {
                    close_gently(stream).await;
                }
                return;
            }
        };
        let action = tokio::select! {
            () = stopped(&mut stop) => return,
            action = shared.answer(&request) => action,
        };
        match action {
            Action::Respond(response) => {
                let keep_alive = request.keep_alive;
                if stream
                    .write_all(&response.to_bytes(keep_alive))
                    .await
                    .is_err()
                {
                    return;
                }
                if !keep_alive {
                    let _ = stream.shutdown().await;
                    return;
                }
            }
            Action::Close => {
                let _ = stream.shutdown().await;
                return;
            }
            Action::Reset => {
                reset(stream);
                return;
            }
        }
    }
}

/// After refusing a request whose body may still be arriving: stop
/// writing, and read (and discard) what the client still sends for a short
/// while, so the kernel does not answer those bytes with a reset that would
/// destroy the refusal before the client reads it.
async fn close_gently(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 8192];
        let mut total = 0usize;
        while total < 4 * http::MAX_BODY {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// Aborts the connection with a TCP reset: SO_LINGER 0, then close.
#[allow(deprecated)] // tokio deprecates set_linger because a non-zero linger blocks on drop; zero does not.
fn reset(stream: TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}
