//! What the shop tells its operators: logs and metrics. Log lines never
//! carry codes, keys or tokens: secrets are `SecretString`s and codes are
//! only ever rendered into Telegram messages. Every metric name is in
//! [`metrics`].

pub mod metrics;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Logs to stderr; `RUST_LOG` overrides the default level (`info`).
pub fn init_logging(format: LogFormat) {
    init_logging_at(format, "info");
}

/// As [`init_logging`], with `default_level` unless `RUST_LOG` says
/// otherwise (the benchmark keeps its table readable with `warn`).
pub fn init_logging_at(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("{default_level},sqlx=warn,hyper=warn,reqwest=warn"))
    });
    // Colours only on a terminal: log files and journals get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless; ignore it.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
