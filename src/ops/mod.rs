//! Running it for real: metrics (every name in `metrics`), the HTTP
//! listener (`/metrics`, `/healthz`, `/readyz`), liveness heartbeats, and
//! the incidents pushed to the admin chats, the ledger audit, and the
//! reports the admin commands read.

pub mod audit;
pub mod counter;
pub mod http;
pub mod incidents;
pub mod reports;
