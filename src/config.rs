//! Environment (and `.env`) → one typed, validated [`Config`].
//!
//! Every setting is read here and nowhere else. A missing or malformed
//! setting is a [`ConfigError`] naming it and saying what is expected; the
//! value of a secret is never echoed.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::{CatalogOverrides, ShopMode, UserId};

/// The shortest `TELEGRAM_POLL_SILENCE_SECS`: three one-second long polls.
const MIN_POLL_SILENCE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(name: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            name,
            problem: problem.into(),
        }
    }
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    /// A file, created (with its folder) on first use.
    Sqlite { path: String },
    /// A PostgreSQL URL; it may carry a password, so it is kept secret.
    Postgres(SecretString),
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = || {
            ConfigError::new(
                "DATABASE_URL",
                "expected sqlite://<file path> or postgres://user@host/database",
            )
        };
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or("");
            if path.is_empty() || path.starts_with(":memory:") {
                return Err(bad());
            }
            return Ok(DatabaseUrl::Sqlite {
                path: path.to_owned(),
            });
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let url = Url::parse(text).map_err(|_| bad())?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(bad());
            }
            return Ok(DatabaseUrl::Postgres(SecretString::from(text.to_owned())));
        }
        Err(bad())
    }

    /// A form safe to print: the password, if any, is hidden.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite { path } => format!("sqlite://{path}"),
            DatabaseUrl::Postgres(secret) => match Url::parse(secret.expose_secret()) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    url.to_string()
                }
                Err(_) => "postgres://…".to_owned(),
            },
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub telegram_bot_token: Option<SecretString>,
    pub telegram_api_url: Url,
    pub foxreload_api_key: Option<SecretString>,
    pub foxreload_base_url: Url,
    pub foxreload_mock_orders: bool,
    pub database_url: DatabaseUrl,
    pub admin_ids: Vec<UserId>,
    /// Shown in the support texts when set: `@username` or an https link.
    pub support_contact: Option<String>,
    pub http_addr: Option<SocketAddr>,
    pub webhook_url: Option<Url>,
    /// Checked on every webhook request (`X-Telegram-Bot-Api-Secret-Token`).
    pub webhook_secret: Option<SecretString>,
    /// Long polling: `/readyz` fails when `getUpdates` has not succeeded
    /// for this long.
    pub telegram_poll_silence: Duration,
    pub foxreload_timeout: Duration,
    pub foxreload_rate_per_min: u32,
    pub poll_interval: Duration,
    pub settle_delay: Duration,
    pub stall_alert: Duration,
    pub stall_dead: Duration,
    pub lease: Duration,
    pub stars_sweep: Duration,
    /// How often the ledger audit runs in the background.
    pub audit_every: Duration,
    pub balance_wait: Duration,
    pub catalog_categories: Vec<String>,
    pub markup_percent: Decimal,
    pub stars_per_usd: Decimal,
    /// How much the wholesale price may rise between sale and order before
    /// the purchase is refunded instead of bought at a loss.
    pub price_tolerance_percent: Decimal,
    /// Purchases one process works on at once.
    pub workers: usize,
    /// How often an idle worker looks for due work.
    pub worker_idle: Duration,
    /// Pages of order history a reconciliation scan may read (50 orders each).
    pub reconcile_max_pages: u32,
    /// Name of this process in leases; unique per replica.
    pub instance_id: String,
    pub log_format: LogFormat,
    /// The shop's own product names and descriptions per language, from
    /// `CATALOG_OVERRIDES` (empty when unset).
    pub catalog_overrides: std::sync::Arc<CatalogOverrides>,
}

/// Every setting: its name, default and meaning, in the order `.env.example`
/// lists them. The single source for defaults.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    (
        "TELEGRAM_BOT_TOKEN",
        "",
        "Bot token from @BotFather (required for `run`)",
    ),
    (
        "TELEGRAM_API_URL",
        "https://api.telegram.org",
        "Bot API base URL",
    ),
    (
        "TELEGRAM_POLL_SILENCE_SECS",
        "120",
        "Long polling: /readyz fails when getUpdates has not succeeded for this long",
    ),
    (
        "FOXRELOAD_API_KEY",
        "",
        "FoxReload API key (required for `run` and `purchase`)",
    ),
    (
        "FOXRELOAD_BASE_URL",
        "https://public-api.foxreload.com",
        "FoxReload API base URL",
    ),
    (
        "FOXRELOAD_MOCK_ORDERS",
        "false",
        "true: orders are sent with isMock (supplier test mode)",
    ),
    (
        "DATABASE_URL",
        "sqlite://data/foxbot.db",
        "sqlite://<file> or postgres://user@host/db",
    ),
    (
        "ADMIN_IDS",
        "",
        "Comma-separated Telegram user ids allowed to use admin commands",
    ),
    (
        "SUPPORT_CONTACT",
        "",
        "Shown in the support texts: a Telegram @username or an https:// link; empty: none",
    ),
    (
        "HTTP_ADDR",
        "127.0.0.1:8080",
        "Address for /metrics, /healthz, /readyz; empty: off",
    ),
    ("WEBHOOK_URL", "", "Public webhook URL; empty: long polling"),
    (
        "WEBHOOK_SECRET",
        "",
        "Secret Telegram sends with each webhook update (required with WEBHOOK_URL)",
    ),
    ("FOXRELOAD_TIMEOUT_SECS", "30", "Supplier request timeout"),
    (
        "FOXRELOAD_RATE_PER_MIN",
        "100",
        "Supplier calls per minute, shared by all processes",
    ),
    (
        "POLL_INTERVAL_SECS",
        "3",
        "How often in-flight supplier orders are checked",
    ),
    (
        "SETTLE_DELAY_SECS",
        "60",
        "Wait after an ambiguous create before 'not found' counts",
    ),
    (
        "STALL_ALERT_SECS",
        "600",
        "An order still running after this alerts admins",
    ),
    (
        "STALL_DEAD_SECS",
        "3600",
        "An order still running after this is dead-lettered",
    ),
    (
        "LEASE_SECS",
        "60",
        "How long one worker holds a claimed purchase",
    ),
    (
        "STARS_SWEEP_SECS",
        "300",
        "How often Star transactions are swept for lost payments",
    ),
    (
        "AUDIT_EVERY_SECS",
        "3600",
        "How often the ledger audit runs (sets foxbot_ledger_anomalies)",
    ),
    (
        "BALANCE_WAIT_SECS",
        "3600",
        "How long a purchase waits for a supplier top-up before refund",
    ),
    (
        "CATALOG_CATEGORIES",
        "",
        "FoxReload category slugs to sell; empty: all",
    ),
    (
        "MARKUP_PERCENT",
        "20",
        "Retail markup over the wholesale price",
    ),
    (
        "STARS_PER_USD",
        "77",
        "Stars charged per US dollar of marked-up price",
    ),
    (
        "PRICE_TOLERANCE_PERCENT",
        "5",
        "Largest wholesale price rise accepted at order time",
    ),
    ("WORKERS", "4", "Purchases this process works on at once"),
    (
        "WORKER_IDLE_SECS",
        "1",
        "How often an idle worker looks for due work",
    ),
    (
        "RECONCILE_MAX_PAGES",
        "20",
        "Order-history pages a reconciliation scan may read",
    ),
    (
        "INSTANCE_ID",
        "",
        "Name of this process in leases; empty: host-pid-random",
    ),
    ("LOG_FORMAT", "text", "text or json"),
    (
        "CATALOG_OVERRIDES",
        "",
        "TOML file of per-language product names ([product_id] name.hi = \"…\"); empty: none",
    ),
];

fn default_of(name: &str) -> &'static str {
    SETTINGS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, d, _)| *d)
        .unwrap_or("")
}

/// Reads settings through a lookup function, so tests need not touch the
/// process environment.
struct Reader<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    /// Whether the setting was given (an empty value counts as unset).
    fn is_set(&self, name: &str) -> bool {
        (self.lookup)(name).is_some_and(|v| !v.trim().is_empty())
    }

    /// The value, or the default; an empty value counts as unset.
    fn raw(&self, name: &'static str) -> String {
        match (self.lookup)(name) {
            Some(v) if !v.trim().is_empty() => v.trim().to_owned(),
            _ => default_of(name).to_owned(),
        }
    }

    fn secret(&self, name: &'static str) -> Result<Option<SecretString>, ConfigError> {
        let value = self.raw(name);
        if value.is_empty() {
            return Ok(None);
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            // Never echo a secret, not even a malformed one.
            return Err(ConfigError::new(
                name,
                "must not contain spaces or control characters",
            ));
        }
        Ok(Some(SecretString::from(value)))
    }

    fn url(&self, name: &'static str) -> Result<Url, ConfigError> {
        let value = self.raw(name);
        let url = Url::parse(&value).map_err(|_| {
            ConfigError::new(name, format!("expected an http(s) URL, got {value:?}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::new(
                name,
                format!("expected an http(s) URL, got {value:?}"),
            ));
        }
        Ok(url)
    }

    fn optional_url(&self, name: &'static str) -> Result<Option<Url>, ConfigError> {
        if self.raw(name).is_empty() {
            Ok(None)
        } else {
            self.url(name).map(Some)
        }
    }

    fn bool(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.raw(name).to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            other => Err(ConfigError::new(
                name,
                format!("expected true or false, got {other:?}"),
            )),
        }
    }

    fn whole(&self, name: &'static str, min: u64, max: u64) -> Result<u64, ConfigError> {
        let value = self.raw(name);
        match value.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ConfigError::new(
                name,
                format!("expected a whole number from {min} to {max}, got {value:?}"),
            )),
        }
    }

    /// Seconds, fractions allowed ("0.5"), strictly positive, at most a week.
    fn seconds(&self, name: &'static str) -> Result<Duration, ConfigError> {
        let value = self.raw(name);
        let bad = || {
            ConfigError::new(
                name,
                format!("expected a number of seconds above 0 (e.g. 30 or 0.5), got {value:?}"),
            )
        };
        let secs = Decimal::from_str_exact(&value).map_err(|_| bad())?;
        let millis = (secs * Decimal::from(1000)).round();
        let millis = u64::try_from(millis).map_err(|_| bad())?;
        if millis == 0 || millis > 7 * 24 * 3600 * 1000 {
            return Err(bad());
        }
        Ok(Duration::from_millis(millis))
    }

    fn decimal(&self, name: &'static str, min: Decimal) -> Result<Decimal, ConfigError> {
        let value = self.raw(name);
        match Decimal::from_str_exact(&value) {
            Ok(d) if d >= min && d <= Decimal::from(1_000_000) => Ok(d),
            _ => Err(ConfigError::new(
                name,
                format!("expected a decimal number from {min} to 1000000, got {value:?}"),
            )),
        }
    }

    fn list(&self, name: &'static str) -> Vec<String> {
        self.raw(name)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The settings with rules of their own, each read as one typed value.
impl<F: Fn(&str) -> Option<String>> Reader<F> {
    fn admin_ids(&self) -> Result<Vec<UserId>, ConfigError> {
        self.list("ADMIN_IDS")
            .iter()
            .map(|id| {
                UserId::parse(id).map_err(|_| {
                    ConfigError::new(
                        "ADMIN_IDS",
                        format!("expected comma-separated Telegram user ids, got {id:?}"),
                    )
                })
            })
            .collect()
    }

    /// `None`: the metrics and health endpoints are off.
    fn http_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        match self.raw("HTTP_ADDR").as_str() {
            "" | "off" => Ok(None),
            addr => SocketAddr::from_str(addr).map(Some).map_err(|_| {
                ConfigError::new(
                    "HTTP_ADDR",
                    format!("expected host:port such as 127.0.0.1:8080, got {addr:?}"),
                )
            }),
        }
    }

    /// `@name` (5 to 32 of A-Z, a-z, 0-9 and _, as Telegram allows; the
    /// `@` may be left out) or an https link, as buyers will read it.
    fn support_contact(&self) -> Result<Option<String>, ConfigError> {
        let value = self.raw("SUPPORT_CONTACT");
        if value.is_empty() {
            return Ok(None);
        }
        let name = value.strip_prefix('@').unwrap_or(&value);
        let username = (5..=32).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if username {
            return Ok(Some(format!("@{name}")));
        }
        let link = Url::parse(&value)
            .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()))
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if link {
            return Ok(Some(value));
        }
        Err(ConfigError::new(
            "SUPPORT_CONTACT",
            format!(
                "expected a Telegram @username (5 to 32 of A-Z, a-z, 0-9, _) or an https:// link, got {value:?}"
            ),
        ))
    }

    fn catalog_categories(&self) -> Result<Vec<String>, ConfigError> {
        let categories = self.list("CATALOG_CATEGORIES");
        if let Some(bad) = categories.iter().find(|c| {
            !c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        }) {
            return Err(ConfigError::new(
                "CATALOG_CATEGORIES",
                format!("expected comma-separated category slugs, got {bad:?}"),
            ));
        }
        Ok(categories)
    }

    fn log_format(&self) -> Result<LogFormat, ConfigError> {
        match self.raw("LOG_FORMAT").to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(ConfigError::new(
                "LOG_FORMAT",
                format!("expected text or json, got {other:?}"),
            )),
        }
    }

    /// The name given, or one made from the host, the process id and a
    /// random part, so replicas never share a name in leases.
    fn instance_id(&self) -> Result<String, ConfigError> {
        match self.raw("INSTANCE_ID") {
            id if id.is_empty() => Ok(default_instance_id()),
            id if id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
            {
                Ok(id)
            }
            id => Err(ConfigError::new(
                "INSTANCE_ID",
                format!("expected up to 64 letters, digits, '-', '_' or '.', got {id:?}"),
            )),
        }
    }

    /// The overrides file, read and checked now: a file that cannot be
    /// read or does not parse stops the start rather than showing buyers
    /// the supplier's names where the shop meant its own.
    fn catalog_overrides(&self) -> Result<CatalogOverrides, ConfigError> {
        let path = self.raw("CATALOG_OVERRIDES");
        if path.is_empty() {
            return Ok(CatalogOverrides::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::new("CATALOG_OVERRIDES", format!("cannot read {path:?}: {e}"))
        })?;
        CatalogOverrides::parse(&text)
            .map_err(|e| ConfigError::new("CATALOG_OVERRIDES", format!("{path}: {}", e.problem)))
    }
}

impl Config {
    /// Reads the process environment (after `.env`, loaded by `main`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let r = Reader { lookup };

        let admin_ids = r.admin_ids()?;
        let http_addr = r.http_addr()?;
        let categories = r.catalog_categories()?;
        let log_format = r.log_format()?;
        let instance_id = r.instance_id()?;
        let catalog_overrides = std::sync::Arc::new(r.catalog_overrides()?);

        let config = Config {
            telegram_bot_token: r.secret("TELEGRAM_BOT_TOKEN")?,
            telegram_api_url: r.url("TELEGRAM_API_URL")?,
            foxreload_api_key: r.secret("FOXRELOAD_API_KEY")?,
            foxreload_base_url: r.url("FOXRELOAD_BASE_URL")?,
            foxreload_mock_orders: r.bool("FOXRELOAD_MOCK_ORDERS")?,
            database_url: database_url(&r)?,
            admin_ids,
            support_contact: r.support_contact()?,
            http_addr,
            webhook_url: r.optional_url("WEBHOOK_URL")?,
            webhook_secret: r.secret("WEBHOOK_SECRET")?,
            foxreload_timeout: r.seconds("FOXRELOAD_TIMEOUT_SECS")?,
            foxreload_rate_per_min: r.whole("FOXRELOAD_RATE_PER_MIN", 1, 100_000)? as u32,
            poll_interval: r.seconds("POLL_INTERVAL_SECS")?,
            settle_delay: r.seconds("SETTLE_DELAY_SECS")?,
            stall_alert: r.seconds("STALL_ALERT_SECS")?,
            stall_dead: r.seconds("STALL_DEAD_SECS")?,
            lease: r.seconds("LEASE_SECS")?,
            stars_sweep: r.seconds("STARS_SWEEP_SECS")?,
            telegram_poll_silence: r.seconds("TELEGRAM_POLL_SILENCE_SECS")?,
            audit_every: r.seconds("AUDIT_EVERY_SECS")?,
            balance_wait: r.seconds("BALANCE_WAIT_SECS")?,
            catalog_categories: categories,
            markup_percent: r.decimal("MARKUP_PERCENT", Decimal::ZERO)?,
            stars_per_usd: r.decimal("STARS_PER_USD", Decimal::new(1, 2))?,
            price_tolerance_percent: r.decimal("PRICE_TOLERANCE_PERCENT", Decimal::ZERO)?,
            workers: r.whole("WORKERS", 1, 256)? as usize,
            worker_idle: r.seconds("WORKER_IDLE_SECS")?,
            reconcile_max_pages: r.whole("RECONCILE_MAX_PAGES", 1, 1000)? as u32,
            instance_id,
            log_format,
            catalog_overrides,
        };
        config.check_relations()?;
        Ok(config)
    }

    /// Rules between settings that keep the money guarantees sound.
    fn check_relations(&self) -> Result<(), ConfigError> {
        // A lease that ran out while a supplier call is still in flight would
        // let a second worker act on the same purchase.
        if self.lease <= self.foxreload_timeout {
            return Err(ConfigError::new(
                "LEASE_SECS",
                "must be longer than FOXRELOAD_TIMEOUT_SECS, so a lease outlives a supplier call",
            ));
        }
        // "Not found" right after our client gave up proves nothing: the
        // request may still be running at the supplier.
        if self.settle_delay < self.foxreload_timeout {
            return Err(ConfigError::new(
                "SETTLE_DELAY_SECS",
                "must be at least FOXRELOAD_TIMEOUT_SECS",
            ));
        }
        // Webhook mode: Telegram posts to HTTP_ADDR, and every replica must
        // check the same secret (a random one per process would lock the
        // others out).
        if self.webhook_url.is_some() {
            if self.http_addr.is_none() {
                return Err(ConfigError::new(
                    "HTTP_ADDR",
                    "is required with WEBHOOK_URL: the webhook is served there",
                ));
            }
            let ok = self.webhook_secret.as_ref().is_some_and(|s| {
                let s = secrecy::ExposeSecret::expose_secret(s);
                (32..=256).contains(&s.len())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
            if !ok {
                return Err(ConfigError::new(
                    "WEBHOOK_SECRET",
                    "is required with WEBHOOK_URL: 32 to 256 of A-Z, a-z, 0-9, _ and -, the same on every replica",
                ));
            }
        }
        // The long poll lasts a third of the silence allowed, and at least
        // a second: a shorter silence would call an idle, healthy listener
        // silent and flap /readyz.
        if self.telegram_poll_silence < MIN_POLL_SILENCE {
            return Err(ConfigError::new(
                "TELEGRAM_POLL_SILENCE_SECS",
                "must be at least 3 seconds (a long poll lasts a third of it, at least 1 s)",
            ));
        }
        if self.stall_dead <= self.stall_alert {
            return Err(ConfigError::new(
                "STALL_DEAD_SECS",
                "must be longer than STALL_ALERT_SECS",
            ));
        }
        Ok(())
    }

    pub fn telegram_token(&self) -> Result<&SecretString, ConfigError> {
        self.telegram_bot_token.as_ref().ok_or_else(|| {
            ConfigError::new("TELEGRAM_BOT_TOKEN", "is required; get one from @BotFather")
        })
    }

    pub fn foxreload_key(&self) -> Result<&SecretString, ConfigError> {
        self.foxreload_api_key.as_ref().ok_or_else(|| {
            ConfigError::new(
                "FOXRELOAD_API_KEY",
                "is required; it is your FoxReload API key",
            )
        })
    }

    /// The mode this configuration runs the shop in: live with a supplier
    /// key, else a demo, which runs only on SQLite (a PostgreSQL database is
    /// shared by replicas of a live shop, and one replica missing its key
    /// must not run a demo there).
    pub fn shop_mode(&self) -> Result<ShopMode, ConfigError> {
        match (&self.foxreload_api_key, &self.database_url) {
            (Some(_), _) => Ok(ShopMode::Live),
            (None, DatabaseUrl::Sqlite { .. }) => Ok(ShopMode::Demo),
            (None, DatabaseUrl::Postgres(_)) => Err(ConfigError::new(
                "FOXRELOAD_API_KEY",
                "is required with a PostgreSQL database (a demo shop runs only on SQLite)",
            )),
        }
    }

    /// Refuses to run `wanted` on a database recorded as `recorded`.
    pub fn check_database_mode(
        &self,
        wanted: ShopMode,
        recorded: ShopMode,
    ) -> Result<(), ConfigError> {
        let problem = match (wanted, recorded) {
            (ShopMode::Demo, ShopMode::Live) => {
                "is required: this database belongs to a live shop, and a demo run would \
                 complete its purchases from the simulator"
            }
            (ShopMode::Live, ShopMode::Demo) => {
                "is set, but this database belongs to the demo shop: point DATABASE_URL at \
                 a new database for the live shop"
            }
            _ => return Ok(()),
        };
        Err(ConfigError::new("FOXRELOAD_API_KEY", problem))
    }

    pub fn is_admin(&self, user: UserId) -> bool {
        self.admin_ids.contains(&user)
    }
}

/// Where a demo shop keeps its data when `DATABASE_URL` is not set: never
/// the live shop's default file.
pub const DEMO_DATABASE: &str = "data/demo.db";

/// `DATABASE_URL`, or the default for the mode: without `FOXRELOAD_API_KEY`
/// (a demo shop) `sqlite://data/demo.db`, so that a live shop's database is
/// never opened by a demo run that merely lacks its key.
fn database_url<F: Fn(&str) -> Option<String>>(r: &Reader<F>) -> Result<DatabaseUrl, ConfigError> {
    let demo = r.raw("FOXRELOAD_API_KEY").is_empty();
    if demo && !r.is_set("DATABASE_URL") {
        return Ok(DatabaseUrl::Sqlite {
            path: DEMO_DATABASE.to_owned(),
        });
    }
    DatabaseUrl::parse(&r.raw("DATABASE_URL"))
}

fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(32)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_valid_and_match_the_design() {
        let c = load(&[("FOXRELOAD_API_KEY", "k")]).unwrap();
        assert!(
            matches!(c.database_url, DatabaseUrl::Sqlite { ref path } if path == "data/foxbot.db")
        );
        assert_eq!(c.foxreload_timeout, Duration::from_secs(30));
        assert_eq!(c.foxreload_rate_per_min, 100);
        assert_eq!(c.poll_interval, Duration::from_secs(3));
        assert_eq!(c.settle_delay, Duration::from_secs(60));
        assert_eq!(c.stall_alert, Duration::from_secs(600));
        assert_eq!(c.stall_dead, Duration::from_secs(3600));
        assert_eq!(c.lease, Duration::from_secs(60));
        assert_eq!(c.balance_wait, Duration::from_secs(3600));
        assert_eq!(
            c.foxreload_base_url.as_str(),
            "https://public-api.foxreload.com/"
        );
        assert!(c.telegram_token().is_err());
        assert!(load(&[]).unwrap().foxreload_key().is_err());
    }

    #[test]
    fn a_demo_without_a_database_url_never_opens_the_live_default() {
        let demo = load(&[]).unwrap();
        assert!(
            matches!(demo.database_url, DatabaseUrl::Sqlite { ref path } if path == DEMO_DATABASE)
        );
        let live = load(&[("FOXRELOAD_API_KEY", "k")]).unwrap();
        assert!(
            matches!(live.database_url, DatabaseUrl::Sqlite { ref path } if path == "data/foxbot.db")
        );
        // Given explicitly, the URL is taken as it is; the database's
        // recorded mode decides at start whether a demo may run there.
        let explicit = load(&[("DATABASE_URL", "sqlite://shop.db")]).unwrap();
        assert!(
            matches!(explicit.database_url, DatabaseUrl::Sqlite { ref path } if path == "shop.db")
        );
    }

    #[test]
    fn a_webhook_secret_must_be_long_and_of_telegrams_alphabet() {
        let url = ("WEBHOOK_URL", "https://shop.example/hook");
        let long = "a".repeat(32);
        assert!(load(&[url, ("WEBHOOK_SECRET", &long)]).is_ok());
        for bad in [
            "short_secret".to_owned(),
            "a".repeat(257),
            format!("{}é", "a".repeat(32)),
            format!("{}.", "a".repeat(32)),
        ] {
            let err = load(&[url, ("WEBHOOK_SECRET", &bad)]).unwrap_err();
            assert_eq!(err.name, "WEBHOOK_SECRET");
            assert!(!err.to_string().contains(&bad), "a secret is never echoed");
        }
    }

    #[test]
    fn a_malformed_number_names_the_setting() {
        let err = load(&[("FOXRELOAD_RATE_PER_MIN", "lots")]).unwrap_err();
        assert_eq!(err.name, "FOXRELOAD_RATE_PER_MIN");
        assert!(err.to_string().contains("whole number"), "{err}");
        let err = load(&[("POLL_INTERVAL_SECS", "-1")]).unwrap_err();
        assert_eq!(err.name, "POLL_INTERVAL_SECS");
        let err = load(&[("MARKUP_PERCENT", "1e400")]).unwrap_err();
        assert_eq!(err.name, "MARKUP_PERCENT");
    }

    #[test]
    fn fractions_of_a_second_are_allowed_for_tests() {
        let c = load(&[
            ("POLL_INTERVAL_SECS", "0.2"),
            ("FOXRELOAD_TIMEOUT_SECS", "0.5"),
            ("SETTLE_DELAY_SECS", "1"),
            ("LEASE_SECS", "2"),
        ])
        .unwrap();
        assert_eq!(c.poll_interval, Duration::from_millis(200));
    }

    #[test]
    fn bad_database_urls_are_refused() {
        for bad in [
            "mysql://x/y",
            "sqlite://",
            "sqlite::memory:",
            "postgres://",
            "foo",
        ] {
            let err = load(&[("DATABASE_URL", bad)]).unwrap_err();
            assert_eq!(err.name, "DATABASE_URL", "{bad}");
        }
        let ok = load(&[("DATABASE_URL", "postgres://u:pw@localhost/db")]).unwrap();
        assert_eq!(ok.database_url.redacted(), "postgres://u:***@localhost/db");
    }

    #[test]
    fn secrets_are_never_printed() {
        let c = load(&[
            ("TELEGRAM_BOT_TOKEN", "123:SECRET-TOKEN"),
            ("FOXRELOAD_API_KEY", "SECRET-KEY"),
            ("DATABASE_URL", "postgres://u:SECRET-PW@localhost/db"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("SECRET"), "{printed}");
        let err = load(&[("FOXRELOAD_API_KEY", "SECRET KEY")]).unwrap_err();
        assert!(!err.to_string().contains("SECRET"));
    }

    #[test]
    fn unsafe_timing_combinations_are_refused() {
        let err = load(&[("LEASE_SECS", "30")]).unwrap_err();
        assert_eq!(err.name, "LEASE_SECS");
        let err = load(&[("SETTLE_DELAY_SECS", "5")]).unwrap_err();
        assert_eq!(err.name, "SETTLE_DELAY_SECS");
        let err = load(&[("STALL_DEAD_SECS", "600")]).unwrap_err();
        assert_eq!(err.name, "STALL_DEAD_SECS");
    }

    #[test]
    fn env_example_lists_every_setting_with_its_default() {
        let example = include_str!("../.env.example");
        for (name, default, _) in SETTINGS {
            let line = format!("\n{name}={default}\n");
            assert!(example.contains(&line), ".env.example lacks {line:?}");
        }
    }

    #[test]
    fn catalog_overrides_are_read_at_start_and_a_bad_file_names_the_setting() {
        assert!(load(&[]).unwrap().catalog_overrides.is_empty());
        let dir = std::env::temp_dir().join(format!("foxbot-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(&good, "[product_steam_10]\nname.hi = \"स्टीम\"\n").unwrap();
        let c = load(&[("CATALOG_OVERRIDES", good.to_str().unwrap())]).unwrap();
        assert_eq!(c.catalog_overrides.len(), 1);
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[product_steam_10]\nname.fr = \"x\"\n").unwrap();
        let err = load(&[("CATALOG_OVERRIDES", bad.to_str().unwrap())]).unwrap_err();
        assert_eq!(err.name, "CATALOG_OVERRIDES");
        assert!(err.to_string().contains("unknown language \"fr\""), "{err}");
        let missing = dir.join("missing.toml");
        let err = load(&[("CATALOG_OVERRIDES", missing.to_str().unwrap())]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CATALOG_OVERRIDES: cannot read"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_support_contact_is_a_username_or_an_https_link() {
        let contact = |v: &str| load(&[("SUPPORT_CONTACT", v)]).map(|c| c.support_contact);
        assert_eq!(contact("").unwrap(), None);
        assert_eq!(
            contact("@shop_help").unwrap().as_deref(),
            Some("@shop_help")
        );
        assert_eq!(contact("shop_help").unwrap().as_deref(), Some("@shop_help"));
        assert_eq!(
            contact("https://t.me/shop_help").unwrap().as_deref(),
            Some("https://t.me/shop_help")
        );
        for bad in [
            "@abc",
            "@1shop",
            "@shop help",
            "http://t.me/x",
            "ftp://x",
            "mail me",
        ] {
            let err = contact(bad).unwrap_err();
            assert_eq!(err.name, "SUPPORT_CONTACT", "{bad}");
            assert!(err.to_string().contains("@username"), "{err}");
        }
    }

    #[test]
    fn admin_ids_are_parsed_and_checked() {
        let c = load(&[("ADMIN_IDS", "42, 7")]).unwrap();
        assert!(c.is_admin(UserId(42)) && c.is_admin(UserId(7)) && !c.is_admin(UserId(8)));
        assert_eq!(
            load(&[("ADMIN_IDS", "42,bob")]).unwrap_err().name,
            "ADMIN_IDS"
        );
    }

    #[test]
    fn a_poll_silence_shorter_than_three_long_polls_is_refused() {
        let err = load(&[("TELEGRAM_POLL_SILENCE_SECS", "2")]).unwrap_err();
        assert_eq!(err.name, "TELEGRAM_POLL_SILENCE_SECS");
        assert!(load(&[("TELEGRAM_POLL_SILENCE_SECS", "3")]).is_ok());
    }
}
