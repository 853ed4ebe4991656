//! The layout, held: which top-level modules of `src/` may use which. A
//! newcomer who opens `src/` sees the pipeline (bot → intake → engine →
//! foxreload, delivery beside it, store below all), and these rules keep it
//! that way. They read the source text: every `crate::<module>` path, in
//! `use` lines (brace groups too) and in code, outside comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module of each file under src/ → the top-level modules it uses.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let used = deps.entry(module.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            used.extend(crate_paths(code).into_iter().filter(|m| *m != module));
        }
    }
    deps
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
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

#[test]
fn nothing_imports_the_command_line() {
    assert_eq!(users_of(&dependencies(), "cli"), Vec::<String>::new());
}

#[test]
fn only_the_wiring_and_the_command_line_know_the_bot() {
    let deps = dependencies();
    assert_eq!(users_of(&deps, "bot"), ["app", "cli"]);
    assert_eq!(users_of(&deps, "app"), ["cli"]);
}

/// The store stores: it knows the domain, the clock and the configuration's
/// database URL, never the workflows above it. (It still takes the
/// supplier budget's types from `foxreload`: issue 16 moves them.)
#[test]
fn the_store_knows_nothing_above_it() {
    let deps = dependencies();
    let above = [
        "engine", "delivery", "ops", "bot", "intake", "catalog", "app", "cli", "bench",
    ];
    let store = &deps["store"];
    let wrong: Vec<&&str> = above.iter().filter(|m| store.contains(**m)).collect();
    assert!(wrong.is_empty(), "store uses {wrong:?}");
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
