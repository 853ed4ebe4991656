//! Running it for real: metrics (every name in `metrics`), the HTTP
//! listener (`/metrics`, `/healthz`, `/readyz`), liveness heartbeats.

pub mod health;
pub mod http;
pub mod metrics;
