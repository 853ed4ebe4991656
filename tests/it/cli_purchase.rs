//! `foxbot purchase`, the real binary against an in-process simulator, on
//! both engines: one intake with the bot (its refusals, worded for a
//! command line), and one purchase per idempotency key, however often and
//! however concurrently the command is run with it.

use std::time::Duration;

use foxbot::foxreload::sim::{Endpoint, Fault, SimOptions, Simulator};

use crate::support::rig::KEY;
use crate::support::{TempDir, TestDb, foxbot};

on_both_engines!(
    a_key_run_three_times_records_one_purchase_and_names_it,
    a_key_reused_for_another_request_is_refused_and_records_nothing,
    concurrent_runs_with_one_key_record_one_purchase,
    a_bad_idempotency_key_is_refused_before_anything_happens,
    manual_purchase_refusals_come_from_the_shared_intake,
    a_product_in_the_synced_catalog_is_recorded_without_asking_the_supplier,
);

const STEAM: &str = "product_steam_10"; // no note, up to 10 at a time
const PUBG: &str = "product_pubg_60"; // asks player_id, up to 50 at a time

/// The simulator and a working folder for the binary, on `db`.
struct Shop<'a> {
    db: &'a TestDb,
    sim: Simulator,
    dir: TempDir,
}

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl<'a> Shop<'a> {
    async fn new(db: &'a TestDb) -> Shop<'a> {
        let sim = Simulator::start(
            "127.0.0.1:0".parse().unwrap(),
            SimOptions {
                api_key: KEY.to_owned(),
                ..SimOptions::default()
            },
        )
        .await
        .unwrap();
        Shop {
            db,
            sim,
            dir: TempDir::new(),
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = foxbot(self.dir.path());
        cmd.arg("purchase")
            .args(args)
            .env("FOXRELOAD_API_KEY", KEY)
            .env("FOXRELOAD_BASE_URL", self.sim.base_url())
            .env("DATABASE_URL", &self.db.url_text);
        tokio::process::Command::from(cmd)
    }

    /// `foxbot purchase <args>`, to its end.
    async fn purchase(&self, args: &[&str]) -> Run {
        let out = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .expect("foxbot purchase ends")
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every purchase recorded, by id.
    async fn purchases(&self) -> Vec<foxbot::store::Purchase> {
        let mut all = self
            .db
            .store
            .purchases(&foxbot::store::PurchaseFilter {
                oldest_first: true,
                ..Default::default()
            })
            .await
            .unwrap();
        all.sort_by_key(|p| p.id);
        all
    }
}

/// The id in "recorded purchase #N; …".
fn recorded_id(run: &Run) -> i64 {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    run.stdout
        .strip_prefix("recorded purchase #")
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a new purchase: {:?}", run.stdout))
}

fn one_line(text: &str) -> &str {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{text}");
    lines[0]
}

async fn a_key_run_three_times_records_one_purchase_and_names_it(db: &TestDb) {
    let shop = Shop::new(db).await;
    let args = [
        "--user",
        "4242",
        "--product",
        PUBG,
        "--qty",
        "2",
        "--note",
        "player_id=77",
        "--idempotency-key",
        "support case 118/1",
    ];
    let id = recorded_id(&shop.purchase(&args).await);
    for _ in 0..2 {
        let again = shop.purchase(&args).await;
        assert_eq!(again.code, 0, "a repeat is not an error: {}", again.stderr);
        assert_eq!(
            one_line(&again.stdout),
            format!(
                "idempotency key \"support case 118/1\" already recorded purchase #{id}; \
                 nothing new recorded"
            )
        );
    }
    let all = shop.purchases().await;
    assert_eq!(all.len(), 1, "one purchase for the key");
    assert_eq!(all[0].id, id);
    assert_eq!(all[0].quantity.get(), 2);
    assert_eq!(all[0].stars, 0, "paid outside Telegram");
    assert_eq!(all[0].source, foxbot::domain::PurchaseSource::Manual);
    assert_eq!(
        shop.sim.request_count(Endpoint::Product),
        1,
        "a repeat is answered from our own table"
    );
    // Without a key, the same command is a new purchase each time.
    let plain = ["--user", "4242", "--product", STEAM];
    let a = recorded_id(&shop.purchase(&plain).await);
    let b = recorded_id(&shop.purchase(&plain).await);
    assert!(a != b && a != id && b != id);
    assert_eq!(shop.purchases().await.len(), 3);
}

async fn a_key_reused_for_another_request_is_refused_and_records_nothing(db: &TestDb) {
    let shop = Shop::new(db).await;
    let key = ["--idempotency-key", "k-1"];
    let first = [&["--user", "4242", "--product", STEAM][..], &key[..]].concat();
    let id = recorded_id(&shop.purchase(&first).await);
    let others: [&[&str]; 4] = [
        &["--user", "4242", "--product", PUBG, "--note", "player_id=7"],
        &["--user", "4242", "--product", STEAM, "--qty", "2"],
        &["--user", "5151", "--product", STEAM],
        &[
            "--user",
            "4242",
            "--product",
            STEAM,
            "--note",
            "player_id=7",
        ],
    ];
    for other in others {
        let args = [other, &key[..]].concat();
        let run = shop.purchase(&args).await;
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        assert_eq!(
            one_line(&run.stderr),
            format!(
                "foxbot: idempotency key \"k-1\" was used for a different request: \
                 purchase #{id} is 1 × {STEAM} for user 4242; nothing recorded"
            ),
            "{args:?}"
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    let all = shop.purchases().await;
    assert_eq!(all.len(), 1, "nothing recorded");
    assert_eq!(all[0].product_id.as_str(), STEAM);
    // The original request under the key is still answered.
    let again = shop.purchase(&first).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains(&format!("purchase #{id}")));
}

async fn concurrent_runs_with_one_key_record_one_purchase(db: &TestDb) {
    const RUNS: usize = 4;
    let shop = Shop::new(db).await;
    // The supplier answers each run slowly, so that every run has looked
    // the key up (and not found it) before any of them writes: the UNIQUE
    // index alone decides which run records the purchase.
    for _ in 0..RUNS {
        shop.sim.push_fault(
            Endpoint::Product,
            Fault::DelayBeforeCommit(Duration::from_secs(2)),
        );
    }
    let args = [
        "--user",
        "4242",
        "--product",
        PUBG,
        "--note",
        "player_id=9",
        "--idempotency-key",
        "retry-me",
    ];
    // All started before any is awaited: they run at once.
    let children: Vec<_> = (0..RUNS)
        .map(|_| {
            shop.command(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut runs = Vec::new();
    for child in children {
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("foxbot purchase ends")
            .unwrap();
        runs.push(Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    assert_eq!(
        shop.sim.request_count(Endpoint::Product),
        RUNS as u64,
        "every run got past the key lookup: the race reached the INSERT"
    );
    let all = shop.purchases().await;
    assert_eq!(all.len(), 1, "one purchase for the key");
    let id = all[0].id;
    let mut new = 0;
    for run in &runs {
        assert_eq!(run.code, 0, "stderr: {}", run.stderr);
        let line = one_line(&run.stdout);
        if line.starts_with("recorded purchase #") {
            assert_eq!(recorded_id(run), id);
            new += 1;
        } else {
            assert_eq!(
                line,
                format!(
                    "idempotency key \"retry-me\" already recorded purchase #{id}; \
                     nothing new recorded"
                )
            );
        }
    }
    assert_eq!(new, 1, "exactly one run says it recorded the purchase");
}

async fn a_bad_idempotency_key_is_refused_before_anything_happens(db: &TestDb) {
    let shop = Shop::new(db).await;
    let long = "k".repeat(201);
    let cases = [
        ("", "the idempotency key is empty"),
        (long.as_str(), "the idempotency key is 201 characters long"),
        ("tab\there", "the idempotency key holds U+0009"),
        ("café", "the idempotency key holds U+00E9"),
    ];
    for (key, says) in cases {
        let run = shop
            .purchase(&[
                "--user",
                "4242",
                "--product",
                STEAM,
                "--idempotency-key",
                key,
            ])
            .await;
        assert_eq!(run.code, 1, "{key:?}");
        let line = one_line(&run.stderr);
        assert!(
            line.starts_with(&format!("foxbot: {says}"))
                && line.ends_with("give 1 to 200 printable ASCII characters"),
            "{key:?}: {line}"
        );
    }
    // 200 printable characters, spaces and punctuation included, are a key.
    let longest = format!("{} ~!\"#", "x".repeat(195));
    let run = shop
        .purchase(&[
            "--user",
            "4242",
            "--product",
            STEAM,
            "--idempotency-key",
            &longest,
        ])
        .await;
    recorded_id(&run);
    assert_eq!(
        shop.sim.request_count(Endpoint::Product),
        1,
        "a bad key is refused before the supplier is asked"
    );
    assert_eq!(shop.purchases().await.len(), 1);
}

async fn manual_purchase_refusals_come_from_the_shared_intake(db: &TestDb) {
    let shop = Shop::new(db).await;
    let cases: [(&[&str], &str); 7] = [
        (
            &["--product", PUBG],
            "cannot buy PUBG Mobile 60 UC: it needs --note player_id=…",
        ),
        (
            &["--product", PUBG, "--qty", "51", "--note", "player_id=1"],
            "cannot buy PUBG Mobile 60 UC: it can be bought 1 to 50 at a time",
        ),
        (
            &["--product", STEAM, "--note", "player_id=1"],
            "cannot buy Steam Wallet $10: it does not ask for --note player_id",
        ),
        (
            &[
                "--product",
                "product_ff_100",
                "--note",
                "player_id=1",
                "--note",
                "server=mars",
            ],
            "cannot buy Free Fire 100 Diamonds: --note server is not valid \
             (must be one of: sg, br, in, me)",
        ),
        (
            &["--product", "product_xbox_15"],
            "cannot buy Xbox Gift Card $15: not for sale now (no price)",
        ),
        (
            &["--product", "product_nope"],
            "the supplier has no product product_nope",
        ),
        (&["--product", "product_pubg_60", "--qty", "0"], "quantity"),
    ];
    for (args, says) in cases {
        let args = [&["--user", "4242", "--idempotency-key", "k"][..], args].concat();
        let run = shop.purchase(&args).await;
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        let line = one_line(&run.stderr);
        assert!(
            line.starts_with("foxbot: ") && line.contains(says),
            "{args:?}: {line}"
        );
    }
    assert!(shop.purchases().await.is_empty(), "nothing recorded");
    // A refused request does not use up its key, and an option is stored
    // in the supplier's spelling.
    let run = shop
        .purchase(&[
            "--user",
            "4242",
            "--product",
            "product_ff_100",
            "--note",
            "player_id=1",
            "--note",
            "server=IN",
            "--idempotency-key",
            "k",
        ])
        .await;
    let id = recorded_id(&run);
    let p = &shop.purchases().await[0];
    assert_eq!(p.id, id);
    assert_eq!(p.note.fields()["server"], "in");
    // Typed the same way again, it is the same request.
    let again = shop
        .purchase(&[
            "--user",
            "4242",
            "--product",
            "product_ff_100",
            "--note",
            "player_id=1",
            "--note",
            "server=IN",
            "--idempotency-key",
            "k",
        ])
        .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        one_line(&again.stdout).contains(&format!("already recorded purchase #{id}")),
        "{}",
        again.stdout
    );
    assert_eq!(shop.purchases().await.len(), 1);
}

/// A busy shop's key has no request to spare: a product the catalog holds
/// fresh is priced and checked from it, and the supplier is asked nothing
/// (before, every run read the product, and a 429 refused the purchase).
async fn a_product_in_the_synced_catalog_is_recorded_without_asking_the_supplier(db: &TestDb) {
    let shop = Shop::new(db).await;
    let client = crate::support::rig::client(&shop.sim.base_url(), Duration::from_secs(5), 6_000);
    let cfg = foxbot::catalog::CatalogConfig {
        categories: vec![],
        markup_percent: rust_decimal::Decimal::new(20, 0),
        stars_per_usd: rust_decimal::Decimal::new(77, 0),
        max_age: foxbot::catalog::DEFAULT_MAX_AGE,
        sync_every: foxbot::catalog::DEFAULT_SYNC_EVERY,
    };
    let now = foxbot::clock::Clock::now_ms(&foxbot::clock::SystemClock);
    let report = foxbot::catalog::sync(&db.store, &client, &cfg, now)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    let run = shop
        .purchase(&[
            "--user",
            "4242",
            "--product",
            PUBG,
            "--note",
            "player_id=5123",
        ])
        .await;
    let id = recorded_id(&run);
    assert_eq!(shop.sim.request_count(Endpoint::Product), 0);
    let p = db.store.purchase(id).await.unwrap().unwrap();
    assert_eq!(p.unit_price.map(|m| m.to_string()).as_deref(), Some("0.99"));
    // The catalog still refuses what the intake refuses.
    let run = shop
        .purchase(&[
            "--user",
            "4242",
            "--product",
            PUBG,
            "--note",
            "player_id=51\u{200B}23",
        ])
        .await;
    assert_ne!(run.code, 0);
    assert!(one_line(&run.stderr).contains("U+200B"), "{}", run.stderr);
    assert_eq!(shop.sim.request_count(Endpoint::Product), 0);
}
