//! The binary's front door: bad configuration stops it with one clear line,
//! `migrate` is safe to repeat on both engines, and `supplier-sim` serves.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::db::{create_pg_database, drop_pg_database};
use crate::support::{TempDir, foxbot, wait_for};

/// Migrations in migrations/postgres (as many as in migrations/sqlite),
/// counted from the folder so that a new migration needs no edit here.
fn migrations() -> i64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let n = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".sql"))
        })
        .count();
    i64::try_from(n).unwrap()
}

/// Runs the binary; returns (exit code, stderr).
fn run(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = foxbot(dir.path())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line_naming(stderr: &str, name: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
    assert!(
        lines[0].contains(name),
        "line does not name {name}: {stderr}"
    );
}

#[test]
fn a_bad_database_url_gives_one_clear_line_and_a_non_zero_exit() {
    let dir = TempDir::new();
    let (code, err) = run(
        &dir,
        &["migrate"],
        &[("DATABASE_URL", "mysql://localhost/shop")],
    );
    assert_eq!(code, 2);
    assert_one_line_naming(&err, "DATABASE_URL");
}

#[test]
fn a_missing_token_gives_one_clear_line_and_a_non_zero_exit() {
    let dir = TempDir::new();
    let (code, err) = run(&dir, &["run"], &[("FOXRELOAD_API_KEY", "k")]);
    assert_eq!(code, 2);
    assert_one_line_naming(&err, "TELEGRAM_BOT_TOKEN");
    // (Without FOXRELOAD_API_KEY, `run` is the demo shop: not an error.)
    let (code, err) = run(
        &dir,
        &[],
        &[
            ("TELEGRAM_BOT_TOKEN", "1:t"),
            ("WEBHOOK_URL", "https://shop.example/telegram"),
        ],
    );
    assert_eq!(code, 2, "run is the default command");
    assert_one_line_naming(&err, "WEBHOOK_SECRET");
    assert!(
        !dir.path().join("data").exists(),
        "nothing happens before the config is valid"
    );
}

#[test]
fn a_malformed_number_gives_one_clear_line_and_a_non_zero_exit() {
    let dir = TempDir::new();
    let (code, err) = run(&dir, &["migrate"], &[("POLL_INTERVAL_SECS", "often")]);
    assert_eq!(code, 2);
    assert_one_line_naming(&err, "POLL_INTERVAL_SECS");
    assert!(!dir.path().join("data").exists());
}

#[test]
fn a_malformed_env_file_names_the_line_but_not_its_content() {
    let dir = TempDir::new();
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=sqlite://x.db\nTELEGRAM_BOT_TOKEN='sec\n",
    )
    .unwrap();
    let (code, err) = run(&dir, &["migrate"], &[]);
    assert_eq!(code, 2);
    assert_one_line_naming(&err, ".env");
    assert!(!err.contains("sec"), "{err}");
}

#[test]
fn an_unreachable_database_gives_one_clear_line() {
    let dir = TempDir::new();
    let (code, err) = run(
        &dir,
        &["migrate"],
        &[("DATABASE_URL", "postgres://nobody:hunter2@127.0.0.1:1/none")],
    );
    assert_eq!(code, 1);
    assert_one_line_naming(&err, "cannot open the database");
    assert!(!err.contains("hunter2"), "password leaked: {err}");
}

#[test]
fn migrate_creates_an_sqlite_file_and_running_it_twice_changes_nothing() {
    let dir = TempDir::new();
    // The live default: sqlite://data/foxbot.db, folder created on first run.
    let live = [("FOXRELOAD_API_KEY", "k")];
    let (code, err) = run(&dir, &["migrate"], &live);
    assert_eq!(code, 0, "{err}");
    let db = dir.path().join("data/foxbot.db");
    assert!(db.exists());
    let (code, err) = run(&dir, &["migrate"], &live);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn migrate_on_an_existing_empty_sqlite_file_twice_changes_nothing() {
    let dir = TempDir::new();
    let file = dir.path().join("shop.db");
    std::fs::write(&file, b"").unwrap();
    let url = format!("sqlite://{}", file.display());
    for _ in 0..2 {
        let (code, err) = run(&dir, &["migrate"], &[("DATABASE_URL", &url)]);
        assert_eq!(code, 0, "{err}");
    }
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
}

#[tokio::test]
async fn migrate_on_an_empty_postgres_database_twice_changes_nothing() {
    let Some((url, name)) = create_pg_database().await else {
        return;
    };
    let dir = TempDir::new();
    for _ in 0..2 {
        let (code, err) = run(&dir, &["migrate"], &[("DATABASE_URL", &url)]);
        assert_eq!(code, 0, "{err}");
    }
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name IN ('purchases', 'supplier_attempts', 'delivery_log', 'refunds', 'events')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    drop(conn);
    drop_pg_database(&name);
    assert_eq!(applied, migrations());
    assert_eq!(tables, 5);
}

#[test]
fn help_explains_the_commands() {
    let dir = TempDir::new();
    let out = foxbot(dir.path()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for word in ["run", "migrate", "Telegram"] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
}

#[tokio::test]
async fn the_supplier_sim_command_serves_a_catalog_curl_can_read() {
    let dir = TempDir::new();
    // Port 0: the command binds a free port itself and prints it, so no
    // other process can take the port between choosing and binding it.
    let mut child = tokio::process::Command::from(foxbot(dir.path()))
        .args(["supplier-sim", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the simulator says where it listens")
        .unwrap()
        .expect("a line on stdout");
    let base = line
        .split_once("listening on ")
        .map(|(_, url)| url.trim().to_owned())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let url = format!("{base}/api/products/?category_id_or_slug=gift-cards");
    let body = wait_for("the simulator to answer", Duration::from_secs(10), || {
        let url = url.clone();
        async move {
            let out = tokio::process::Command::new("curl")
                .args(["-sf", "-H", "X-API-Key: sim-key", &url])
                .output()
                .await
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        }
    })
    .await;
    child.kill().await.unwrap();
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        page["items"].as_array().is_some_and(|i| !i.is_empty()),
        "{body}"
    );
}
