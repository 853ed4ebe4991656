//! Every text a person reads comes from `locales/en.ftl` and
//! `locales/hi.ftl`, and the two files say the same things.
//!
//! The rule of the scan, over the modules that produce what buyers and
//! admins read (`src/bot/`, `src/delivery/`, `src/engine/`, `src/ops/`,
//! `src/runtime/`):
//!
//! **No string literal in product code is a sentence.** A literal is a
//! sentence when, with its `{…}` placeholders and `<…>` markup taken out,
//! it holds [`MIN_WORDS`] or more words of two letters or more (any
//! script). Not a sentence, whatever it holds:
//! - a key-shaped literal (lowercase ASCII, digits, `-`, `_`, `:`, `.`):
//!   message ids, stored names, button data;
//! - SQL: a literal that starts with an SQL keyword (`SELECT`, `INSERT`,
//!   `UPDATE`, `DELETE`, `WITH`, `CREATE`, `ALTER`, `DROP`);
//! - text after a file's `#[cfg(test)]` (the test module closes each file),
//!   in comments and doc comments;
//! - a literal inside one of [`ALLOWED_CALLS`], each there for a reason
//!   named beside it: words for the operator's logs and terminal, or for a
//!   developer, never sent to a buyer or an admin chat;
//! - a literal listed in [`ALLOWED_LITERALS`], with its reason.
//!
//! A sentence anywhere else fails the test: move it to the locales (a
//! message id with arguments, `crate::domain::Phrase` when it is stored).

use std::collections::BTreeMap;
use std::path::Path;

use fluent_syntax::ast;

use crate::support::rust_files;

/// The modules whose text a person reads.
const SCANNED: &[&str] = &["bot", "delivery", "engine", "ops", "runtime"];

/// Words that make a literal a sentence.
const MIN_WORDS: usize = 3;

/// Modules that write for the operator only, never to a chat.
const ALLOWED_FILES: &[(&str, &str)] = &[
    (
        "ops/http.rs",
        "the HTTP endpoints (/healthz, /readyz, /metrics), for probes and the operator",
    ),
    (
        "runtime/health.rs",
        "readiness reasons, served by /readyz to the operator",
    ),
    (
        "bot/telegram.rs",
        "the Telegram adapter's error values, for logs (a refusal reaches an alert as Telegram's own words)",
    ),
];

/// Calls whose literals are not read by buyers or admins (a name matches
/// a call's last path segment or its whole path).
const ALLOWED_CALLS: &[(&str, &str)] = &[
    ("tracing::trace!", "a log line, for the operator"),
    ("tracing::debug!", "a log line, for the operator"),
    ("tracing::info!", "a log line, for the operator"),
    ("tracing::warn!", "a log line, for the operator"),
    ("tracing::error!", "a log line, for the operator"),
    ("with_custom_text", "teloxide's log line, for the operator"),
    ("error", "#[error(…)]: an error's Display, for logs"),
    ("Err", "an error value: logged, or an error's Display"),
    ("Corrupt", "StoreError::Corrupt: an error value, for logs"),
    (
        "context",
        "anyhow context, for the operator's log or terminal",
    ),
    (
        "with_context",
        "anyhow context, for the operator's log or terminal",
    ),
    ("anyhow!", "an error for logs"),
    ("bail!", "an error for logs"),
    ("ensure!", "an error for logs"),
    ("expect", "a panic message, for a developer"),
    ("unreachable!", "a panic message, for a developer"),
    ("panic!", "a panic message, for a developer"),
    ("debug_assert!", "a broken invariant, for a developer"),
    ("debug_assert_eq!", "a broken invariant, for a developer"),
    (
        "reschedule",
        "a purchase's last_error while it waits: English for /order and the logs",
    ),
    (
        "create_rejected",
        "a purchase's last_error while it waits: English for /order and the logs",
    ),
    (
        "to_reconciling",
        "a purchase's last_error while it waits: English for /order and the logs",
    ),
    (
        "retry",
        "a refund's last error while it waits: English for /order and the logs",
    ),
    (
        "Undecidable",
        "why the history cannot decide: English evidence for last_error (a known gap: it also reaches the dead-letter alert as an argument)",
    ),
];

/// Literals allowed by name, each with its reason.
const ALLOWED_LITERALS: &[(&str, &str)] = &[
    (
        "the buyer blocked the bot",
        "a delivery record's error: English for /order and the logs",
    ),
    (
        "the supplier answered with another order",
        "a SupplierError's reason: an error's Display, for logs",
    ),
    (
        "an unreadable row without an id at position {position}",
        "evidence for Undecidable (above)",
    ),
    (
        "unresolved attempt found",
        "an event's JSON detail: English for /order and the logs",
    ),
    (
        "refunded by an admin",
        "a purchase's last_error: English for /order and the logs",
    ),
];

fn is_allowed_call(name: &str) -> bool {
    ALLOWED_CALLS
        .iter()
        .any(|(call, _)| *call == name || name.ends_with(&format!("::{call}")))
}

/// A string literal found in source text: its value and the calls (the
/// names before each unclosed `(`) it sits in, innermost last.
#[derive(Debug)]
struct Literal {
    text: String,
    line: usize,
    calls: Vec<String>,
}

/// The string literals of Rust source `text`, outside comments. Enough of
/// a lexer for this: comments, char literals and lifetimes, plain, raw and
/// byte strings, and the nesting of parentheses.
fn literals(text: &str) -> Vec<Literal> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut calls: Vec<String> = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => line += 1,
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                i += 2;
                continue;
            }
            '\'' => {
                // A char literal ('a', '\n', '\''); else a lifetime.
                if next == Some('\\') {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 2;
                }
            }
            '"' | 'r' | 'b' if starts_string(&chars, i) => {
                let (value, end) = string_at(&chars, i);
                found.push(Literal {
                    text: value.clone(),
                    line,
                    calls: calls.clone(),
                });
                line += value.matches('\n').count();
                i = end;
                continue;
            }
            '(' => calls.push(name_before(&chars, i)),
            ')' => {
                calls.pop();
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Whether a string literal starts at `i` (not the `r` or `b` of a name).
fn starts_string(chars: &[char], i: usize) -> bool {
    let after_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    match chars[i] {
        '"' => true,
        _ if after_ident => false,
        'b' => {
            chars.get(i + 1) == Some(&'"')
                || chars.get(i + 1) == Some(&'r') && starts_string(chars, i + 1)
        }
        _ => {
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            chars.get(j) == Some(&'"')
        }
    }
}

/// The value of the string literal at `i` and the index after it.
fn string_at(chars: &[char], mut i: usize) -> (String, usize) {
    if chars[i] == 'b' {
        i += 1;
    }
    let raw = chars[i] == 'r';
    let mut hashes = 0;
    if raw {
        i += 1;
        while chars[i] == '#' {
            hashes += 1;
            i += 1;
        }
    }
    i += 1; // the opening quote
    let mut value = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
            return (value, i + 1 + hashes);
        }
        if c == '\\' && !raw {
            // A line continuation swallows the newline and the indent.
            if chars.get(i + 1) == Some(&'\n') {
                value.push('\n');
                i += 2;
                while chars.get(i).is_some_and(|c| c.is_whitespace()) {
                    i += 1;
                }
                continue;
            }
            value.push(' ');
            i += 2;
            continue;
        }
        value.push(c);
        i += 1;
    }
    (value, i)
}

/// The path before a `(` at `at` (`tracing::warn!`, `context`, `error`),
/// or "" when there is none (a tuple, a grouping).
fn name_before(chars: &[char], at: usize) -> String {
    let mut j = at;
    while j > 0 {
        let c = chars[j - 1];
        if c.is_alphanumeric() || c == '_' || c == ':' || c == '!' {
            j -= 1;
        } else {
            break;
        }
    }
    let name: String = chars[j..at].iter().collect();
    // A method call names only the method.
    name.rsplit('.').next().unwrap_or("").to_owned()
}

/// The rule: whether `literal` is a sentence meant for people.
fn is_sentence(literal: &str) -> bool {
    let key_shaped = literal
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_:.".contains(c));
    let sql = [
        "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "ALTER", "DROP",
    ]
    .iter()
    .any(|k| literal.trim_start().starts_with(k));
    // One token (a header name, a constant) is no sentence.
    let one_token = !literal.trim().contains(char::is_whitespace);
    if key_shaped || sql || one_token {
        return false;
    }
    let mut bare = String::new();
    let mut depth = 0i32;
    for c in literal.chars() {
        match c {
            '{' | '<' => depth += 1,
            '}' | '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => bare.push(c),
            _ => bare.push(' '),
        }
    }
    let words = bare
        .split(|c: char| !c.is_alphabetic() && !is_combining(c))
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count();
    words >= MIN_WORDS
}

/// Devanagari vowel signs and viramas are not `alphabetic` to every
/// reader; they are part of a word.
fn is_combining(c: char) -> bool {
    ('\u{0900}'..='\u{0903}').contains(&c) || ('\u{093A}'..='\u{094F}').contains(&c)
}

/// The sentences in one file's product code (before `#[cfg(test)]`).
fn sentences(source: &str) -> Vec<(usize, String)> {
    let product = source.split("#[cfg(test)]").next().unwrap_or(source);
    literals(product)
        .into_iter()
        .filter(|l| !l.calls.iter().any(|c| is_allowed_call(c)))
        .filter(|l| !ALLOWED_LITERALS.iter().any(|(a, _)| *a == l.text))
        .filter(|l| is_sentence(&l.text))
        .map(|l| (l.line, l.text))
        .collect()
}

#[test]
fn no_module_that_talks_to_people_writes_a_sentence_outside_the_locales() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut scanned = 0;
    for module in SCANNED {
        for file in rust_files(&src.join(module)) {
            let text = std::fs::read_to_string(&file).unwrap();
            scanned += 1;
            let relative = file.strip_prefix(&src).unwrap().display().to_string();
            if ALLOWED_FILES.iter().any(|(f, _)| *f == relative) {
                continue;
            }
            for (line, sentence) in sentences(&text) {
                found.push(format!("src/{relative}:{line}: {sentence:?}"));
            }
        }
    }
    assert!(scanned > 40, "the modules are found ({scanned} files)");
    assert!(
        found.is_empty(),
        "sentences written in code, not in locales/*.ftl:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rule_finds_a_planted_sentence_and_leaves_logs_keys_sql_and_tests_alone() {
    let planted = r##"
        fn alert(p: i64) -> String {
            let key = "dead-letter-no-order-linked";
            tracing::warn!(purchase = p, "the purchase was dead-lettered by the engine");
            let sql = "SELECT id FROM purchases WHERE state = $1 AND id = $2";
            let html = format!("<b>{}</b>: {p}", key);
            let lifetime: &'static str = "x";
            let raw = r#"Purchase {p} needs attention now"#;
            let _ = std::fs::read("a").context("could not read the catalog file");
            format!("Purchase #{p} needs attention: see the logs")
        }
        #[derive(thiserror::Error)]
        enum E { #[error("the supplier refused the order")] Refused }
        // A comment may say "what it likes in words".
        #[cfg(test)]
        mod tests { const T: &str = "tests say what they like"; }
    "##;
    let found: Vec<String> = sentences(planted).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        found,
        [
            "Purchase {p} needs attention now",
            "Purchase #{p} needs attention: see the logs"
        ]
    );
    assert!(is_sentence("ख़रीद पर ध्यान चाहिए"), "any script");
    assert!(
        !is_sentence("{icon} <b>{}</b>\n{}"),
        "markup and placeholders"
    );
    assert!(!is_sentence("%Y-%m-%d %H:%M"), "a time format");
    assert!(!is_sentence("admin-span-hours"), "a message id");
    assert!(!is_sentence("two words"), "fewer than {MIN_WORDS} words");
}

/// Per message: each select expression's selector and variant keys, in
/// order, and the message's variables.
fn shape(text: &str) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let resource = fluent_syntax::parser::parse(text).expect("the file parses");
    let mut out = BTreeMap::new();
    for entry in resource.body {
        if let ast::Entry::Message(m) = entry {
            let (mut selects, mut vars) = (Vec::new(), Vec::new());
            if let Some(pattern) = &m.value {
                walk_pattern(pattern, &mut selects, &mut vars);
            }
            vars.sort();
            vars.dedup();
            out.insert(m.id.name.to_owned(), (selects, vars));
        }
    }
    out
}

fn walk_pattern(p: &ast::Pattern<&str>, selects: &mut Vec<String>, vars: &mut Vec<String>) {
    for element in &p.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            walk_expression(expression, selects, vars);
        }
    }
}

fn walk_expression(e: &ast::Expression<&str>, selects: &mut Vec<String>, vars: &mut Vec<String>) {
    match e {
        ast::Expression::Select { selector, variants } => {
            let keys: Vec<String> = variants
                .iter()
                .map(|v| {
                    let key = match &v.key {
                        ast::VariantKey::Identifier { name } => name.to_string(),
                        ast::VariantKey::NumberLiteral { value } => value.to_string(),
                    };
                    if v.default { format!("*{key}") } else { key }
                })
                .collect();
            let on = inline_name(selector, vars);
            selects.push(format!("{on} -> [{}]", keys.join(", ")));
            for v in variants {
                walk_pattern(&v.value, selects, vars);
            }
        }
        ast::Expression::Inline(inline) => {
            inline_name(inline, vars);
        }
    }
}

fn inline_name(e: &ast::InlineExpression<&str>, vars: &mut Vec<String>) -> String {
    match e {
        ast::InlineExpression::VariableReference { id } => {
            vars.push(id.name.to_owned());
            format!("${}", id.name)
        }
        ast::InlineExpression::Placeable { expression } => {
            let mut selects = Vec::new();
            walk_expression(expression, &mut selects, vars);
            selects.join("; ")
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn both_languages_have_the_same_messages_variables_and_selectors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let en = shape(&std::fs::read_to_string(root.join("en.ftl")).unwrap());
    let hi = shape(&std::fs::read_to_string(root.join("hi.ftl")).unwrap());
    assert!(en.len() > 100, "{} messages", en.len());
    let only = |a: &BTreeMap<_, _>, b: &BTreeMap<String, _>| -> Vec<String> {
        a.keys().filter(|k| !b.contains_key(*k)).cloned().collect()
    };
    assert_eq!(only(&en, &hi), Vec::<String>::new(), "only in en.ftl");
    assert_eq!(only(&hi, &en), Vec::<String>::new(), "only in hi.ftl");
    let differ: Vec<String> = en
        .iter()
        .filter(|(id, shape)| hi.get(*id) != Some(shape))
        .map(|(id, shape)| format!("{id}: en {shape:?}, hi {:?}", hi[id]))
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Every phrase the alerts, reasons and incidents can store is worded in
/// both languages: defined, and with every variable given.
/// The phrases every dead-letter reason, stall and refund cause stores.
fn reason_phrases() -> Vec<foxbot::domain::Phrase> {
    use foxbot::domain::{
        DeadLetterReason as D, Failure, Money, Phrase, PurchaseState, RefundCause as R, Stall,
        SupplierFailure, SupplierOrderId,
    };
    let stall = |state, last: Option<&str>, status: Option<&str>| Stall {
        state,
        waited_ms: 7_300_000,
        order: Some(SupplierOrderId::parse("o-1").unwrap()),
        supplier_status: status.map(str::to_owned),
        last_error: last.map(str::to_owned),
    };
    let mut phrases: Vec<Phrase> = [
        D::NoAttemptRecord(PurchaseState::Submitting),
        D::OrderLinkedElsewhere,
        D::NoOrderLinked,
        D::LinkedOrderNotFound,
        D::PayOrderUnknown,
        D::StaysActive { pays: 1 },
        D::CompletedWithoutCodes,
        D::MayOrMayNotExist("why".to_owned()),
        D::NoCodesStored,
        D::NoUsableCode,
        D::StoredMessagesUnreadable,
        D::SentTwiceUnconfirmed,
        D::CodesMessageRefused("x".to_owned()),
        D::StarsRefundRefused("x".to_owned()),
    ]
    .iter()
    .map(D::phrase)
    .collect();
    for state in PurchaseState::ALL {
        phrases.push(stall(state, Some("timeout"), Some("active")).phrase());
        phrases.push(stall(state, None, None).phrase());
    }
    let failure = |kind, cancel: Option<&str>, errors: &[&str]| {
        R::Supplier(SupplierFailure {
            kind,
            cancel_reason: cancel.map(str::to_owned),
            errors: errors.iter().map(|e| (*e).to_owned()).collect(),
        })
    };
    for cause in [
        R::CreatesExhausted { attempts: 5 },
        R::PriceRose,
        R::OrderRefused("no".to_owned()),
        R::AsksTooMuch(Some(Money::parse("12.5").unwrap())),
        R::AsksTooMuch(None),
        R::PaymentRefused("no".to_owned()),
        failure(Failure::Failed, None, &[]),
        failure(Failure::Cancelled, Some("expired"), &["a"]),
        failure(Failure::DeliveredNothing, None, &["x"]),
        R::KeyRefused,
        R::BalanceNotToppedUp,
    ] {
        phrases.push(cause.phrase());
    }
    phrases
}

/// The phrases of every incident while it holds, and of its name.
fn incident_phrases() -> Vec<foxbot::domain::Phrase> {
    use foxbot::domain::Phrase;
    use foxbot::store::IncidentFacts;
    let mut phrases = Vec::new();
    let all = IncidentFacts {
        dead_letters: 1,
        stalled: 2,
        held_for_balance: 1,
        held_for_auth: 3,
        delivered_recently: 1,
        failed_recently: 9,
        waiting_supplier: 2,
        poller_lease_expires_at: None,
    };
    for (name, holds) in foxbot::ops::incidents::judge(&all, 10_000_000) {
        phrases.push(holds.unwrap_or_else(|| panic!("{name} holds")));
        phrases.push(Phrase::new(&format!(
            "incident-name-{}",
            name.replace('_', "-")
        )));
    }
    phrases
}

/// Every phrase the alerts, reasons and incidents can store is worded in
/// both languages: defined, and with every variable given.
#[test]
fn every_stored_phrase_is_worded_in_both_languages() {
    use foxbot::domain::{AlertKind, DeadLetterReason, Language};
    let phrases: Vec<_> = reason_phrases()
        .into_iter()
        .chain(incident_phrases())
        .collect();
    let plain = |s: &str| s.to_owned();
    for lang in Language::ALL {
        for p in &phrases {
            let text = foxbot::i18n::phrase(lang, p, &plain);
            assert!(
                text != p.id && !text.contains('{'),
                "{lang:?} {p:?}: {text}"
            );
        }
        for kind in AlertKind::ALL {
            let key = foxbot::i18n::alert_key(kind.as_str());
            assert_ne!(foxbot::i18n::text(lang, &key, &[]), key, "{lang:?}");
        }
    }
    let hi = foxbot::i18n::phrase(
        Language::Hi,
        &DeadLetterReason::StaysActive { pays: 3 }.phrase(),
        &plain,
    );
    assert!(hi.contains("भुगतान-अनुरोधों"), "{hi}");
}
