//! The layout, held: which top-level modules of `src/` may use which. A
//! newcomer who opens `src/` sees the pipeline (bot → intake → engine →
//! foxreload, delivery beside it, store below all), and these rules keep it
//! that way. They read the source text: every `crate::<module>` path, in
//! `use` lines (brace groups too) and in code, outside comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::rust_files;

/// Top-level module of each file under src/ → the top-level modules it uses.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let module = top_module(&relative.to_string_lossy());
        let text = std::fs::read_to_string(&file).unwrap();
        let used = deps.entry(module.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            used.extend(crate_paths(code).into_iter().filter(|m| *m != module));
        }
    }
    deps
}

/// The top-level modules named by `crate::x…` and `crate::{x…, y…}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && c == ',' {
                    found.extend(first_ident(&item));
                    item.clear();
                } else {
                    item.push(c);
                }
            }
            found.extend(first_ident(&item));
        } else {
            found.extend(first_ident(rest));
        }
    }
    found
}

fn first_ident(text: &str) -> Option<String> {
    let ident: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty() && ident != "self").then_some(ident)
}

fn users_of(deps: &BTreeMap<String, BTreeSet<String>>, module: &str) -> Vec<String> {
    deps.iter()
        .filter(|(_, used)| used.contains(module))
        .map(|(m, _)| m.clone())
        .collect()
}

#[test]
fn teloxide_is_used_only_in_bot() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut outside = Vec::new();
    for file in rust_files(&src) {
        if file.starts_with(src.join("bot")) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("teloxide") {
                outside.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    assert!(outside.is_empty(), "teloxide outside src/bot/: {outside:?}");
}

/// The documented architecture: each top-level module of `src/`, bottom
/// up, and the modules it may use. The README's map of `src/` is written
/// from this table. A module may use fewer; using one not listed fails.
const LAYERS: &[(&str, &[&str])] = &[
    // Values and plumbing that know no workflow.
    ("domain", &[]),
    ("clock", &[]),
    ("crash", &[]),
    ("config", &["domain"]),
    ("i18n", &["domain"]),
    // The store stores: no sale rule, no supplier, no workflow.
    ("store", &["clock", "config", "domain"]),
    ("telemetry", &["config", "domain", "store"]),
    // How background work runs; it knows no workflow.
    ("runtime", &["clock", "domain", "store", "telemetry"]),
    ("foxreload", &["clock", "domain", "telemetry"]),
    (
        "catalog",
        &["clock", "config", "domain", "foxreload", "runtime", "store"],
    ),
    // Every way in: a checked request becomes a purchase row.
    (
        "intake",
        &["catalog", "clock", "domain", "foxreload", "store"],
    ),
    (
        "engine",
        &[
            "clock",
            "config",
            "crash",
            "domain",
            "foxreload",
            "i18n",
            "runtime",
            "store",
        ],
    ),
    (
        "delivery",
        &["clock", "domain", "engine", "i18n", "runtime", "store"],
    ),
    (
        "ops",
        &[
            "clock",
            "delivery",
            "domain",
            "engine",
            "foxreload",
            "i18n",
            "runtime",
            "store",
            "telemetry",
        ],
    ),
    // Telegram: teloxide lives here only.
    (
        "bot",
        &[
            "clock",
            "delivery",
            "domain",
            "engine",
            "foxreload",
            "i18n",
            "intake",
            "ops",
            "runtime",
            "store",
            "telemetry",
        ],
    ),
    (
        "bench",
        &[
            "clock",
            "config",
            "delivery",
            "domain",
            "engine",
            "foxreload",
            "runtime",
            "store",
        ],
    ),
    // The wiring, and the command line over it; nothing uses either.
    (
        "app",
        &[
            "bot",
            "catalog",
            "clock",
            "config",
            "delivery",
            "domain",
            "engine",
            "foxreload",
            "ops",
            "runtime",
            "store",
            "telemetry",
        ],
    ),
    (
        "cli",
        &[
            "app",
            "bench",
            "bot",
            "catalog",
            "clock",
            "config",
            "crash",
            "domain",
            "foxreload",
            "intake",
            "ops",
            "telemetry",
        ],
    ),
];

/// Files at the top of `src/` that are no module of their own.
const ROOTS: &[&str] = &["lib", "main"];

#[test]
fn every_module_uses_only_what_the_table_allows() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, used) in dependencies() {
        if ROOTS.contains(&module.as_str()) {
            continue;
        }
        let Some(may) = allowed.get(module.as_str()) else {
            wrong.push(format!("{module} is not in the table"));
            continue;
        };
        for m in used.iter().filter(|m| !may.contains(&m.as_str())) {
            wrong.push(format!("{module} uses {m}"));
        }
    }
    assert!(wrong.is_empty(), "across the documented lines: {wrong:?}");
}

/// Bottom up: a module may use only modules listed before it, so the
/// table (and with it the code) has no cycle between top-level modules.
#[test]
fn the_table_is_layered_without_cycles() {
    for (at, (module, may)) in LAYERS.iter().enumerate() {
        let below: Vec<&str> = LAYERS[..at].iter().map(|(m, _)| *m).collect();
        for m in *may {
            assert!(below.contains(m), "{module} may use {m}, listed after it");
        }
    }
}

#[test]
fn nothing_imports_the_command_line_and_only_it_and_the_wiring_know_the_bot() {
    let deps = dependencies();
    assert_eq!(users_of(&deps, "cli"), Vec::<String>::new());
    assert_eq!(users_of(&deps, "bot"), ["app", "cli"]);
    assert_eq!(users_of(&deps, "app"), ["cli"]);
}

/// The simulator is test infrastructure: the product reaches it only for
/// the demo (`app`), `foxbot supplier-sim` (`cli`) and the benchmark.
#[test]
fn only_the_demo_the_command_line_and_the_benchmark_use_the_simulator() {
    let users = files_naming("foxreload::sim", &["foxreload/"]);
    let modules: BTreeSet<String> = users.iter().map(|f| top_module(f)).collect();
    let allowed: BTreeSet<String> = ["app", "bench", "cli"].map(String::from).into();
    assert!(
        modules.is_subset(&allowed),
        "the simulator is used by {users:?}"
    );
}

/// A purchase edge is built in `engine/transitions.rs` only, under its
/// diagram; the store applies it.
#[test]
fn purchase_edges_are_built_only_in_transitions() {
    let users = files_naming("Transition::of(", &["engine/transitions.rs", "store/"]);
    assert!(users.is_empty(), "edges built in {users:?}");
    // The tests' way to put a purchase where they need it stays theirs.
    let by_hand = files_naming("Transition::by_hand(", &[]);
    assert!(by_hand.is_empty(), "tests' moves used in {by_hand:?}");
}

/// The files (relative to `src/`, outside `except`) whose code names `needle`.
fn files_naming(needle: &str, except: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if except.iter().any(|e| relative.starts_with(e)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let named = text
            .lines()
            .any(|line| line.split("//").next().unwrap_or("").contains(needle));
        if named {
            found.push(relative);
        }
    }
    found
}

fn top_module(relative: &str) -> String {
    let first = relative.split('/').next().unwrap_or(relative);
    first.trim_end_matches(".rs").to_owned()
}

#[test]
fn the_rules_read_grouped_imports_too() {
    assert_eq!(
        crate_paths("use crate::{bot::Shop, store::{Store, Tx}, self};"),
        ["bot", "store"]
    );
    assert_eq!(
        crate_paths("x = crate::engine::admin::plan(a);"),
        ["engine"]
    );
}

/// The README's map of `src/` is written from [`LAYERS`]: its `uses:`
/// lines name exactly what the table allows, for every module the map
/// gives one.
#[test]
fn the_readme_map_says_what_the_table_says() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut module: Option<String> = None;
    let mut listing = false;
    for line in readme.lines() {
        let named = line
            .strip_prefix("  ")
            .filter(|rest| !rest.starts_with(' '))
            .and_then(|rest| rest.split_whitespace().next())
            .map(|word| word.trim_end_matches('/').trim_end_matches(".rs"));
        if let Some(name) = named.filter(|n| LAYERS.iter().any(|(m, _)| m == n)) {
            module = Some(name.to_owned());
            listing = false;
            continue;
        }
        let Some(current) = &module else { continue };
        let words = match line.split_once("uses:") {
            Some((_, rest)) => {
                listing = true;
                rest
            }
            None if listing && line.starts_with("                  ") => line,
            None => {
                listing = false;
                continue;
            }
        };
        let set = uses.entry(current.clone()).or_default();
        set.extend(
            words
                .split(',')
                .map(|w| w.trim().to_owned())
                .filter(|w| !w.is_empty()),
        );
    }
    assert!(
        uses.len() >= 10,
        "the map's uses: lines were not found: {uses:?}"
    );
    for (module, listed) in &uses {
        let may: BTreeSet<String> = LAYERS
            .iter()
            .find(|(m, _)| m == module)
            .map(|(_, may)| may.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(listed, &may, "README's uses: of {module}");
    }
}
