//! `foxbot bench` runs end to end and reports both patterns. Not a timed
//! test: it checks that the benchmark works and that its figures are
//! consistent, never how fast anything is (on a loaded machine a
//! compressed run may not drain every purchase in time: that is a figure,
//! not a failure).

use crate::support::{TempDir, foxbot};

#[test]
fn the_benchmark_runs_both_patterns_and_reports_consistent_figures() {
    let dir = TempDir::new();
    let out = foxbot(dir.path())
        .args([
            "bench",
            "--compress",
            "30",
            "--minutes",
            "1",
            "--rates",
            "20",
            "--rss-orders",
            "0",
        ])
        .output()
        .expect("run foxbot bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for pattern in ["list poller (this project)", "per-order polling"] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {pattern} | 20 |")))
            .unwrap_or_else(|| panic!("no row for {pattern}:\n{stdout}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // | pattern | offered | delivered | calls/order (…) | 429s | …
        let (delivered, offered) = cells[3].split_once('/').expect("delivered n/m");
        let (delivered, offered): (u32, u32) =
            (delivered.parse().unwrap(), offered.parse().unwrap());
        assert!(offered >= 10, "{row}");
        assert!(delivered >= 1 && delivered <= offered, "{row}");
        // Every delivered order cost at least its create and its pay.
        let calls: f64 = cells[4].split_whitespace().next().unwrap().parse().unwrap();
        assert!(calls >= 2.0, "{row}");
    }
    assert!(stdout.contains("highest rate held"), "{stdout}");
}
