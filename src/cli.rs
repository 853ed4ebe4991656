//! The command line: `foxbot run` (the default), `foxbot migrate`,
//! `foxbot audit`, …

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;

/// foxbot — a Telegram shop for gift cards and game top-ups, stocked from
/// FoxReload and paid in Telegram Stars.
///
/// Settings come from the environment and from a `.env` file in the current
/// folder (see `.env.example`). With no command, `run` is assumed.
#[derive(Debug, Parser)]
#[command(name = "foxbot", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the shop: the bot, the purchase workers and the supplier poller.
    /// Needs TELEGRAM_BOT_TOKEN and FOXRELOAD_API_KEY.
    Run,
    /// Create or update the database schema, then exit. Safe to repeat.
    Migrate,
    /// Record a purchase paid outside Telegram (a manual order, a support
    /// case) and hand it to the engine: a running `foxbot run` orders it from
    /// the supplier. Needs FOXRELOAD_API_KEY to check the product.
    Purchase(PurchaseArgs),
    /// Serve a simulated FoxReload API (seeded catalog, adjustable balance)
    /// for demos and tests: point FOXRELOAD_BASE_URL at it.
    SupplierSim(crate::foxreload::sim::SimArgs),
    /// Measure this project's order poller against per-order polling
    /// (supplier calls per order, completion-to-delivery latency, highest
    /// rate held under the key's limit, memory); prints a table. Needs no
    /// configuration: it runs the simulator and a temporary database.
    Bench(crate::bench::BenchArgs),
    /// Check the ledger: every Star charge of the period (Telegram's star
    /// transactions and our payments) ends delivered, refunded, in progress
    /// or as an anomaly; every supplier debit (the order history and our
    /// attempts) belongs to one purchase. Prints totals (Stars taken,
    /// refunded, net; supplier spend; margin at STARS_PER_USD). Exits 3
    /// when there is an anomaly. Needs TELEGRAM_BOT_TOKEN and
    /// FOXRELOAD_API_KEY (a demo database has nothing to audit).
    Audit(AuditArgs),
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The period, back from now: 7d, 36h, 90m or 3600s.
    #[arg(long, default_value = "7d", value_parser = parse_period)]
    pub since: std::time::Duration,
    /// `text` (English, as /audit words it) or `json`.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
}

/// `7d`, `36h`, `90m`, `3600s` (or plain seconds), above zero.
fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a period like 7d, 36h, 90m or 3600s, got {text:?}"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("expected a unit of d, h, m or s, got {unit:?}")),
    };
    match n.checked_mul(unit_secs) {
        Some(secs) if secs > 0 => Ok(std::time::Duration::from_secs(secs)),
        _ => Err(format!("expected a period above zero, got {text:?}")),
    }
}

/// `foxbot audit` found anomalies: the report is printed, the exit code says so.
#[derive(Debug, thiserror::Error)]
#[error("the ledger audit found {0} anomalies (see the report above)")]
pub struct AnomaliesFound(pub usize);

#[derive(Debug, clap::Args)]
pub struct PurchaseArgs {
    /// Telegram user id of the buyer (their codes are sent to this chat).
    #[arg(long, value_name = "TELEGRAM_ID")]
    pub user: String,
    /// Supplier product id, e.g. product_01krgf…
    #[arg(long, value_name = "ID")]
    pub product: String,
    /// Units to buy.
    #[arg(long, default_value_t = 1)]
    pub qty: i64,
    /// A field the product asks for, e.g. --note player_id=5123; repeat for several.
    #[arg(long = "note", value_name = "KEY=VALUE")]
    pub notes: Vec<String>,
    /// Your name for this request (1 to 200 printable ASCII characters):
    /// run again with the same key, it records nothing new and says which
    /// purchase the key already made. Safe to retry after a timeout.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
}

/// Entry point of the binary: never panics on bad input, prints one line
/// per failure, and returns 2 for bad configuration, 1 for other errors.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(line) = load_dotenv() {
        eprintln!("foxbot: {line}");
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("foxbot: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let level = match cli.command {
        // Its table is the output; a worker's info lines would bury it.
        Some(Command::Bench(_)) => "warn",
        _ => "info",
    };
    crate::telemetry::init_logging_at(config.log_format, level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("foxbot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command.unwrap_or(Command::Run), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(config_error) = e.downcast_ref::<crate::config::ConfigError>() {
                eprintln!("foxbot: configuration error: {config_error}");
                return ExitCode::from(2);
            }
            eprintln!("foxbot: {e:#}");
            if e.downcast_ref::<AnomaliesFound>().is_some() {
                return ExitCode::from(3);
            }
            ExitCode::FAILURE
        }
    }
}

/// Loads `.env` if there is one. The error names the line, never its
/// content (it may hold a token).
fn load_dotenv() -> Result<(), String> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(dotenvy::Error::LineParse(_, index)) => {
            Err(format!(".env: line {} is not NAME=value", index + 1))
        }
        Err(e) => Err(format!(".env: cannot be read ({})", short_io(&e))),
    }
}

fn short_io(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::Io(io) => io.kind().to_string(),
        _ => "malformed".to_owned(),
    }
}

async fn dispatch(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            let store = crate::app::open_store(&config).await?;
            store.migrate().await.context("migrating the database")?;
            tracing::info!(database = %config.database_url.redacted(), "database is up to date");
            store.close().await;
            Ok(())
        }
        Command::Run => run(config).await,
        Command::SupplierSim(args) => {
            crate::foxreload::sim::serve(args, crate::app::shutdown_signal()).await
        }
        Command::Bench(args) => crate::bench::run(args).await,
        Command::Audit(args) => audit(config, args).await,
        Command::Purchase(args) => {
            use crate::intake::manual::{Recorded, record_once};
            // Bad input is refused before anything is opened or written.
            let key = args
                .idempotency_key
                .as_deref()
                .map(crate::intake::manual::IdempotencyKey::parse)
                .transpose()?;
            let request = args.into_request()?;
            let supplier = crate::app::supplier_client(&config)?;
            let store = crate::app::open_store(&config).await?;
            store.migrate().await.context("migrating the database")?;
            let now = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
            crate::app::claim_mode(&store, &config, crate::domain::ShopMode::Live, now).await?;
            crate::app::share_budget(&supplier, &store);
            let recorded = record_once(
                &store,
                &supplier,
                &crate::catalog::CatalogConfig::from_config(&config),
                &request,
                key.as_ref(),
                now,
            )
            .await?;
            crate::crash::point("after_intent");
            store.close().await;
            match (recorded, key) {
                (Recorded::New(id), _) => {
                    println!("recorded purchase #{id}; a running `foxbot run` will order it");
                }
                (Recorded::Already(id), Some(key)) => println!(
                    "idempotency key \"{key}\" already recorded purchase #{id}; nothing new recorded"
                ),
                (Recorded::Already(id), None) => println!("purchase #{id} was already recorded"),
            }
            Ok(())
        }
    }
}

impl PurchaseArgs {
    fn into_request(self) -> anyhow::Result<crate::intake::manual::ManualPurchase> {
        use crate::domain::{Note, ProductId, Quantity, UserId};
        Ok(crate::intake::manual::ManualPurchase {
            user: UserId::parse(&self.user)?,
            product: ProductId::parse(&self.product)?,
            quantity: Quantity::new(self.qty)?,
            note: Note::from_pairs(self.notes.iter().map(String::as_str))?,
        })
    }
}

/// `foxbot audit`: Telegram and the supplier as `run` reads them, the
/// supplier within the budget shared by every replica (as a reader).
async fn audit(config: Config, args: AuditArgs) -> anyhow::Result<()> {
    use crate::ops::audit::{self, Sources, StarLedger};
    // A demo database took no Stars, and its supplier lived in `run`'s
    // process: nothing to audit, and the key's absence says so.
    let telegram = crate::bot::telegram::Telegram::connect(
        config.telegram_token()?,
        config.telegram_api_url.clone(),
    );
    let supplier = crate::app::supplier_client(&config)?;
    let store = crate::app::open_store(&config).await?;
    // A demo database's purchases were never the supplier's real orders.
    if let Some(recorded) = store.recorded_mode().await? {
        config.check_database_mode(crate::domain::ShopMode::Live, recorded)?;
    }
    crate::app::share_budget(&supplier, &store);
    let sources = Sources {
        store: &store,
        supplier: &supplier,
        stars: Some(&telegram as &dyn StarLedger),
        stars_per_usd: config.stars_per_usd,
    };
    let now = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
    let report = audit::run(&sources, args.since, now).await;
    store.close().await;
    let report = report?;
    match args.format {
        AuditFormat::Text => println!(
            "{}",
            audit::render(&report, crate::domain::Language::En, &|s| s.to_owned())
        ),
        AuditFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    match report.anomaly_count() {
        0 => Ok(()),
        n => Err(AnomaliesFound(n).into()),
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let app = crate::app::App::build(config).await?;
    app.run_until(async {
        crate::app::shutdown_signal().await;
        // A second signal while shutting down: stop at once. What was in
        // hand resumes from its committed state at the next start.
        tokio::spawn(async {
            crate::app::shutdown_signal().await;
            eprintln!("foxbot: second signal, exiting now");
            std::process::exit(130);
        });
    })
    .await
}
