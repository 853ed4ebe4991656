//! Test infrastructure shared by the integration tests: fresh databases on
//! both engines, purchase factories, the real binary, waiting on conditions.

#![allow(dead_code)]

pub mod app;
pub mod bot_api;
pub mod db;
pub mod notifier;
pub mod rig;

use std::future::Future;
use std::time::{Duration, Instant};

pub use db::TestDb;

/// Polls `check` until it returns `Some`, or panics with `what` once
/// `deadline` has passed. Tests wait on conditions, never on sleeps alone.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The real `foxbot` binary, with a clean environment and its own working
/// folder (so a developer's `.env` can never leak into a test).
pub fn foxbot(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_foxbot"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .current_dir(dir);
    cmd
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing
/// test never leaves a `foxbot run` behind.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh, empty folder under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("foxbot-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An alert as an admin reading `lang` gets it (without HTML escaping):
/// its kind's message with its stored arguments, or an old row's sentence.
pub fn alert_text(alert: &foxbot::store::Alert, lang: foxbot::domain::Language) -> String {
    use foxbot::store::AlertContent;
    match alert.content().expect("the alert's arguments read back") {
        AlertContent::Args(args) => {
            foxbot::i18n::with_args(lang, &foxbot::i18n::alert_key(&alert.kind), &args, &|s| {
                s.to_owned()
            })
        }
        AlertContent::Legacy(detail) => detail,
    }
}

/// Every `.rs` file below `dir`, in path order: what the source-reading
/// tests (architecture, locales) read.
pub fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}
