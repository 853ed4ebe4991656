//! Running it for real: metrics (every name in `metrics`), the HTTP
//! listener (`/metrics`, `/healthz`, `/readyz`), liveness heartbeats, and
//! the incidents pushed to the admin chats.

pub mod health;
pub mod http;
pub mod incidents;
pub mod metrics;
