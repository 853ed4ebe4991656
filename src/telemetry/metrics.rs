//! Every metric name in one place, the recorder, and the two ways figures
//! are made:
//! - where something happens in this process (supplier requests and their
//!   latency, the budget, Telegram sends): counted there, through the
//!   functions below, so that several replicas add up;
//! - the business figures (orders created, completed, failed, stalled;
//!   ambiguous creates and how they ended; deliveries, refunds, dead
//!   letters) from the event stream, by one process at a time (a lease), so
//!   that each event is counted once across replicas (`ops::counter`);
//! - gauges read from the database at each scrape (purchases by state).

use std::sync::OnceLock;
use std::time::Duration;

use crate::domain::PurchaseState;
use crate::store::Store;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const PURCHASES: &str = "foxbot_purchases";
pub const SUPPLIER_REQUESTS: &str = "foxbot_supplier_requests_total";
pub const SUPPLIER_REQUEST_SECONDS: &str = "foxbot_supplier_request_duration_seconds";
pub const SUPPLIER_RATE_LIMITED: &str = "foxbot_supplier_rate_limited_total";
pub const BUDGET_USED: &str = "foxbot_supplier_budget_used";
pub const BUDGET_LIMIT: &str = "foxbot_supplier_budget_limit";
pub const BUDGET_WRITES_WAITING: &str = "foxbot_supplier_budget_writes_waiting";
pub const SUPPLIER_BALANCE: &str = "foxbot_supplier_balance";
pub const SUPPLIER_AUTH_ERRORS: &str = "foxbot_supplier_auth_errors_total";
pub const ORDERS_CREATED: &str = "foxbot_supplier_orders_created_total";
pub const ORDERS_COMPLETED: &str = "foxbot_supplier_orders_completed_total";
pub const ORDERS_FAILED: &str = "foxbot_supplier_orders_failed_total";
pub const ORDERS_STALLED: &str = "foxbot_supplier_orders_stalled_total";
pub const AMBIGUOUS_CREATES: &str = "foxbot_ambiguous_creates_total";
pub const AMBIGUOUS_RESOLVED: &str = "foxbot_ambiguous_creates_resolved_total";
pub const DELIVERIES: &str = "foxbot_deliveries_total";
pub const DELIVERY_SECONDS: &str = "foxbot_completion_to_delivery_seconds";
pub const REFUNDS: &str = "foxbot_refunds_total";
pub const DEAD_LETTERS: &str = "foxbot_dead_letters_total";
pub const PAYMENTS: &str = "foxbot_payments_total";
/// In cents: counters are whole numbers, and money is never rounded.
pub const SUPPLIER_SPEND: &str = "foxbot_supplier_spend_usd_cents_total";
pub const TELEGRAM_SEND_ERRORS: &str = "foxbot_telegram_send_errors_total";
pub const TELEGRAM_RATE_LIMITED: &str = "foxbot_telegram_rate_limited_total";
pub const TICK: &str = "foxbot_worker_last_tick_timestamp_seconds";
/// Set by each ledger audit run (`ops::audit`).
pub const LEDGER_ANOMALIES: &str = "foxbot_ledger_anomalies";

/// Every name above. A fresh process exports each of them at zero (see
/// [`zero`]), so `rate()` and `absent()` rules read a new replica right.
pub const ALL: &[&str] = &[
    LEDGER_ANOMALIES,
    PURCHASES,
    SUPPLIER_REQUESTS,
    SUPPLIER_REQUEST_SECONDS,
    SUPPLIER_RATE_LIMITED,
    BUDGET_USED,
    BUDGET_LIMIT,
    BUDGET_WRITES_WAITING,
    SUPPLIER_BALANCE,
    SUPPLIER_AUTH_ERRORS,
    ORDERS_CREATED,
    ORDERS_COMPLETED,
    ORDERS_FAILED,
    ORDERS_STALLED,
    AMBIGUOUS_CREATES,
    AMBIGUOUS_RESOLVED,
    DELIVERIES,
    DELIVERY_SECONDS,
    REFUNDS,
    DEAD_LETTERS,
    PAYMENTS,
    SUPPLIER_SPEND,
    TELEGRAM_SEND_ERRORS,
    TELEGRAM_RATE_LIMITED,
    TICK,
];

/// The label values each labelled metric can take, known before anything
/// happens: the supplier's endpoints (`foxreload::client::endpoint_label`)
/// and request outcomes, how an ambiguous create ended, how a delivery
/// went, why a Telegram send failed.
pub const SUPPLIER_ENDPOINTS: &[&str] = &[
    "categories",
    "products",
    "product",
    "list_orders",
    "create_order",
    "get_order",
    "pay_order",
    "balances",
    "other",
];
pub const SUPPLIER_OUTCOMES: &[&str] = &[
    "ok",
    "auth",
    "rejected",
    "ambiguous",
    "rate_limited",
    "unavailable",
];
pub const RESOLUTIONS: &[&str] = &["found", "absent", "undecidable"];
pub const DELIVERY_OUTCOMES: &[&str] = &["sent", "resent", "blocked"];
pub const TELEGRAM_SEND_ERROR_KINDS: &[&str] =
    &["rate_limited", "blocked", "not_sent", "unknown", "rejected"];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder (installed at the first call).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let seconds = [
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
        ];
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &seconds)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder already installed (a test binary that built two
        // apps): figures then go to the first; this handle renders empty.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::debug!("a metrics recorder was already installed");
        }
        describe();
        zero();
        handle
    })
}

/// Registers every counter and histogram with its known label values, at
/// zero, and the purchases gauge for every state. Left out until they are
/// known: the supplier balance (a zero would be a false "balance low") and
/// the worker ticks (a zero would be a false "not ticking"); each worker
/// ticks within its first cycle and the balance is read at start. The
/// budget gauges are set by the app at start, from the real budget.
fn zero() {
    for endpoint in SUPPLIER_ENDPOINTS {
        for outcome in SUPPLIER_OUTCOMES {
            counter!(SUPPLIER_REQUESTS, "endpoint" => *endpoint, "outcome" => *outcome)
                .increment(0);
        }
        let _ = histogram!(SUPPLIER_REQUEST_SECONDS, "endpoint" => *endpoint);
    }
    for resolution in RESOLUTIONS {
        counter!(AMBIGUOUS_RESOLVED, "resolution" => *resolution).increment(0);
    }
    for outcome in DELIVERY_OUTCOMES {
        counter!(DELIVERIES, "outcome" => *outcome).increment(0);
    }
    for kind in TELEGRAM_SEND_ERROR_KINDS {
        counter!(TELEGRAM_SEND_ERRORS, "kind" => *kind).increment(0);
    }
    for name in [
        SUPPLIER_RATE_LIMITED,
        SUPPLIER_AUTH_ERRORS,
        ORDERS_CREATED,
        ORDERS_COMPLETED,
        ORDERS_FAILED,
        ORDERS_STALLED,
        AMBIGUOUS_CREATES,
        REFUNDS,
        DEAD_LETTERS,
        PAYMENTS,
        SUPPLIER_SPEND,
        TELEGRAM_RATE_LIMITED,
    ] {
        counter!(name).increment(0);
    }
    let _ = histogram!(DELIVERY_SECONDS);
    for state in PurchaseState::ALL {
        gauge!(PURCHASES, "state" => state.as_str()).set(0.0);
    }
    // No anomaly known until the first ledger audit runs.
    gauge!(LEDGER_ANOMALIES).set(0.0);
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        PURCHASES,
        "Purchases by state, from the database at scrape time"
    );
    describe_counter!(
        SUPPLIER_REQUESTS,
        "Supplier requests by endpoint and outcome"
    );
    describe_histogram!(
        SUPPLIER_REQUEST_SECONDS,
        "Supplier request latency by endpoint"
    );
    describe_counter!(SUPPLIER_RATE_LIMITED, "Supplier 429 answers");
    describe_gauge!(
        BUDGET_USED,
        "Supplier calls admitted in the budget's current window"
    );
    describe_gauge!(BUDGET_LIMIT, "Supplier calls the budget allows per window");
    describe_gauge!(
        BUDGET_WRITES_WAITING,
        "Supplier writes waiting for the budget"
    );
    describe_gauge!(
        SUPPLIER_BALANCE,
        "Supplier account balance by currency, last read"
    );
    describe_counter!(SUPPLIER_AUTH_ERRORS, "Supplier 401/403 answers");
    describe_counter!(
        ORDERS_CREATED,
        "Supplier orders created (linked to a purchase)"
    );
    describe_counter!(ORDERS_COMPLETED, "Supplier orders seen completed");
    describe_counter!(
        ORDERS_FAILED,
        "Paid purchases sent to refund (supplier failed or cancelled)"
    );
    describe_counter!(ORDERS_STALLED, "Purchases alerted as stalled");
    describe_counter!(AMBIGUOUS_CREATES, "Creates whose outcome was not seen");
    describe_counter!(AMBIGUOUS_RESOLVED, "Ambiguous creates by how they ended");
    describe_counter!(
        DELIVERIES,
        "Code deliveries by outcome (sent, resent, blocked)"
    );
    describe_histogram!(
        DELIVERY_SECONDS,
        "From seeing an order completed to its codes sent"
    );
    describe_counter!(REFUNDS, "Purchases refunded");
    describe_counter!(DEAD_LETTERS, "Purchases that need a person");
    describe_counter!(PAYMENTS, "Stars payments recorded");
    describe_counter!(
        SUPPLIER_SPEND,
        "Wholesale cost of supplier orders paid, in US cents"
    );
    describe_counter!(TELEGRAM_SEND_ERRORS, "Telegram sends that failed, by kind");
    describe_counter!(TELEGRAM_RATE_LIMITED, "Telegram 429 answers");
    describe_gauge!(
        TICK,
        "When each worker loop last completed a cycle (Unix seconds)"
    );
    describe_gauge!(
        LEDGER_ANOMALIES,
        "Anomalies the last ledger audit found (charges and supplier debits not accounted for)"
    );
}

/// One supplier request, by endpoint and outcome.
pub fn supplier_request(endpoint: &'static str, outcome: &'static str, took: Duration) {
    counter!(SUPPLIER_REQUESTS, "endpoint" => endpoint, "outcome" => outcome).increment(1);
    histogram!(SUPPLIER_REQUEST_SECONDS, "endpoint" => endpoint).record(took.as_secs_f64());
    match outcome {
        "rate_limited" => counter!(SUPPLIER_RATE_LIMITED).increment(1),
        "auth" => counter!(SUPPLIER_AUTH_ERRORS).increment(1),
        _ => {}
    }
}

pub fn budget(used: usize, limit: u32, writes_waiting: usize) {
    gauge!(BUDGET_USED).set(used as f64);
    gauge!(BUDGET_LIMIT).set(f64::from(limit));
    gauge!(BUDGET_WRITES_WAITING).set(writes_waiting as f64);
}

/// A balance read from the supplier (an exact decimal, shown as a float
/// here only: Prometheus has no other number).
pub fn supplier_balance(currency: &str, amount: rust_decimal::Decimal) {
    use rust_decimal::prelude::ToPrimitive;
    if let Some(v) = amount.to_f64() {
        gauge!(SUPPLIER_BALANCE, "currency" => currency.to_ascii_uppercase()).set(v);
    }
}

pub fn telegram_send_error(kind: &'static str) {
    counter!(TELEGRAM_SEND_ERRORS, "kind" => kind).increment(1);
    if kind == "rate_limited" {
        counter!(TELEGRAM_RATE_LIMITED).increment(1);
    }
}

/// What the last ledger audit found.
pub fn ledger_anomalies(n: usize) {
    gauge!(LEDGER_ANOMALIES).set(n as f64);
}

/// A worker loop finished a cycle.
pub fn tick(worker: &str, now_ms: i64) {
    gauge!(TICK, "worker" => worker.to_owned()).set(now_ms as f64 / 1000.0);
}

/// Sets the purchases-by-state gauge from the database.
pub async fn refresh_gauges(store: &Store) -> Result<(), crate::store::StoreError> {
    let counts = store.state_counts().await?;
    for state in PurchaseState::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n);
        gauge!(PURCHASES, "state" => state.as_str()).set(n as f64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_process_exports_every_counter_and_histogram_at_zero() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, zero);
        let text = handle.render();
        let shown_later = [
            SUPPLIER_BALANCE,
            TICK,
            BUDGET_USED,
            BUDGET_LIMIT,
            BUDGET_WRITES_WAITING,
        ];
        for name in ALL.iter().filter(|n| !shown_later.contains(n)) {
            assert!(
                text.lines().any(|l| l.starts_with(name)),
                "{name} is not exported from the start:\n{text}"
            );
        }
        for line in [
            "foxbot_deliveries_total{outcome=\"sent\"} 0",
            "foxbot_refunds_total 0",
            "foxbot_supplier_requests_total{endpoint=\"pay_order\",outcome=\"ambiguous\"} 0",
            "foxbot_ambiguous_creates_resolved_total{resolution=\"undecidable\"} 0",
            "foxbot_completion_to_delivery_seconds_count 0",
            "foxbot_purchases{state=\"dead_letter\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
    }

    #[test]
    fn every_metric_name_in_this_file_is_listed_in_all() {
        let source = include_str!("metrics.rs");
        for line in source.lines() {
            if let Some(rest) = line.strip_prefix("pub const ")
                && let Some((_, value)) = rest.split_once(": &str = \"")
            {
                let name = value.trim_end_matches("\";");
                assert!(ALL.contains(&name), "{name} is not in ALL");
            }
        }
    }
}
