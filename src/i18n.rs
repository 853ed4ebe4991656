//! Every text a user sees, from `locales/en.ftl` and `locales/hi.ftl`
//! (Fluent), compiled into the binary. Isolation marks are off: they would
//! put invisible characters around codes and numbers.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::domain::{Arg, Args, Language, Phrase};

const SOURCES: [(Language, &str, &str); 2] = [
    (Language::En, "en", include_str!("../locales/en.ftl")),
    (Language::Hi, "hi", include_str!("../locales/hi.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

static BUNDLES: LazyLock<Vec<(Language, Bundle)>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(lang, id, text)| (*lang, bundle(id, text)))
        .collect()
});

fn bundle(id: &str, text: &str) -> Bundle {
    let langid: unic_langid::LanguageIdentifier = id.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    bundle.set_use_isolating(false);
    // A syntax error leaves the broken entry out (the unit tests below
    // refuse any); the rest of the file still loads.
    let resource = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(partial, _)| partial);
    let _ = bundle.add_resource(resource);
    bundle
}

fn get(lang: Language) -> Option<&'static Bundle> {
    BUNDLES.iter().find(|(l, _)| *l == lang).map(|(_, b)| b)
}

/// The text `key` in `lang`, falling back to English, then to the key
/// itself (never a panic: a missing text is a bug the tests catch).
pub fn text(lang: Language, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    for bundle in [get(lang), get(Language::En)].into_iter().flatten() {
        if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let out = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            return out.into_owned();
        }
    }
    key.to_owned()
}

/// A number argument (Fluent chooses plural forms from it).
/// The message key that tells a buyer why they were refunded.
pub fn refund_reason_key(reason: crate::domain::RefundReason) -> String {
    format!("refund-reason-{}", reason.as_str().replace('_', "-"))
}

pub fn num(n: i64) -> FluentValue<'static> {
    FluentValue::from(n)
}

/// A text argument.
pub fn arg(s: &str) -> FluentValue<'static> {
    FluentValue::from(s.to_owned())
}

/// How deep phrases may nest in one another (a reason in an alert, a span
/// in a reason); deeper ones are not worded (stored data could loop).
const MAX_NESTING: usize = 4;

/// A stored phrase worded in `lang`. Text arguments come from outside (a
/// supplier's reply, an order id) and go through `escape`; phrases inside
/// it are worded in the same language.
pub fn phrase(lang: Language, phrase: &Phrase, escape: &dyn Fn(&str) -> String) -> String {
    words(lang, &phrase.id, &phrase.args, escape, 0)
}

/// Message `key` worded in `lang` with stored arguments (see [`phrase`]).
pub fn with_args(
    lang: Language,
    key: &str,
    args: &Args,
    escape: &dyn Fn(&str) -> String,
) -> String {
    words(lang, key, args, escape, 0)
}

fn words(
    lang: Language,
    key: &str,
    args: &Args,
    escape: &dyn Fn(&str) -> String,
    depth: usize,
) -> String {
    let values: Vec<(&str, FluentValue<'static>)> = args
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Arg::Number(n) => num(*n),
                Arg::Text(t) => arg(&escape(t)),
                Arg::Phrase(p) if depth < MAX_NESTING => {
                    arg(&words(lang, &p.id, &p.args, escape, depth + 1))
                }
                Arg::Phrase(p) => arg(&escape(&p.id)),
            };
            (name, value)
        })
        .collect();
    text(lang, key, &values)
}

/// The message an alert of `kind` (its stored name) is worded with.
pub fn alert_key(kind: &str) -> String {
    format!("alert-{}", kind.replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        let resource = FluentResource::try_new(text.to_owned()).expect("the file parses");
        resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn both_languages_parse_and_have_the_same_messages() {
        let en = keys(SOURCES[0].2);
        let hi = keys(SOURCES[1].2);
        assert!(!en.is_empty());
        assert_eq!(en, hi, "en.ftl and hi.ftl must define the same messages");
    }

    /// Every message key the code names (a string literal shaped like a
    /// key, with a message prefix) is defined: a typo would show the key
    /// itself to a buyer.
    #[test]
    fn every_key_the_code_uses_is_defined() {
        const PREFIXES: &[&str] = &[
            "welcome",
            "help",
            "paysupport",
            "cancelled",
            "unknown-",
            "language-",
            "demo-",
            "catalog-",
            "product-",
            "button-",
            "note-",
            "quantity-",
            "invoice-",
            "state-",
            "orders-",
            "order-",
            "progress-",
            "checkout-",
            "payment-",
            "cmd-",
            "refund-",
            "delivery-",
            "admin-",
        ];
        let sources = [
            include_str!("bot/mod.rs"),
            include_str!("bot/customer.rs"),
            include_str!("bot/payments.rs"),
            include_str!("bot/progress.rs"),
            include_str!("bot/admin/mod.rs"),
            include_str!("bot/admin/confirm.rs"),
            include_str!("bot/admin/figures.rs"),
            include_str!("bot/admin/plans.rs"),
            include_str!("bot/admin/reorder.rs"),
            include_str!("bot/admin/stalled.rs"),
            include_str!("bot/admin/timeline.rs"),
            include_str!("bot/admin/words.rs"),
            include_str!("bot/commands.rs"),
            include_str!("bot/callback.rs"),
            include_str!("delivery/mod.rs"),
            include_str!("delivery/refund.rs"),
            include_str!("engine/paying.rs"),
        ];
        let defined = keys(SOURCES[0].2);
        let mut missing = Vec::new();
        for source in sources {
            for literal in source.split('"').skip(1).step_by(2) {
                let shaped = !literal.is_empty()
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if shaped
                    && PREFIXES.iter().any(|p| literal.starts_with(p))
                    && !literal.ends_with('-')
                    && !defined.iter().any(|d| d == literal)
                {
                    missing.push(literal.to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "not in en.ftl: {missing:?}");
    }

    /// Each message's variables (`$name`), from the file's text.
    fn variables(text: &str) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut current: Option<String> = None;
        for line in text.lines() {
            let starts_message =
                line.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && line.contains(" =");
            if starts_message {
                current = line.split(" =").next().map(|id| id.trim().to_owned());
            } else if line.starts_with('#') || line.trim().is_empty() {
                current = None;
            }
            let Some(id) = &current else { continue };
            let vars = out.entry(id.clone()).or_default();
            for part in line.split('$').skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if !name.is_empty() && !vars.contains(&name) {
                    vars.push(name);
                }
            }
            vars.sort();
        }
        out
    }

    #[test]
    fn both_languages_use_the_same_variables_in_each_message() {
        let en = variables(SOURCES[0].2);
        let hi = variables(SOURCES[1].2);
        assert!(en.values().any(|v| !v.is_empty()), "variables are found");
        for (id, vars) in &en {
            assert_eq!(Some(vars), hi.get(id), "variables of {id}");
        }
    }

    /// No text a person reads is written in the bot's code: the calls that
    /// put text in front of someone take it from the locales (checked on
    /// the literals given to them, placeholders aside). The language names
    /// on the /language buttons are each in its own language on purpose.
    #[test]
    fn the_bot_writes_no_user_text_outside_the_locales() {
        const CALLS: &[&str] = &[
            "say(",
            "send(",
            "send_message(",
            ".text(",
            "error_message(",
            "edit_message_text(",
            "::callback(",
            "show(",
            "BotCommand::new(",
        ];
        const ALLOWED: &[&str] = &["English", "हिन्दी"];
        let sources = [
            ("bot/mod.rs", include_str!("bot/mod.rs")),
            ("bot/customer.rs", include_str!("bot/customer.rs")),
            ("bot/payments.rs", include_str!("bot/payments.rs")),
            ("bot/admin/mod.rs", include_str!("bot/admin/mod.rs")),
            ("bot/admin/confirm.rs", include_str!("bot/admin/confirm.rs")),
            ("bot/admin/figures.rs", include_str!("bot/admin/figures.rs")),
            ("bot/admin/plans.rs", include_str!("bot/admin/plans.rs")),
            ("bot/admin/reorder.rs", include_str!("bot/admin/reorder.rs")),
            ("bot/admin/stalled.rs", include_str!("bot/admin/stalled.rs")),
            (
                "bot/admin/timeline.rs",
                include_str!("bot/admin/timeline.rs"),
            ),
            ("bot/admin/words.rs", include_str!("bot/admin/words.rs")),
            ("bot/commands.rs", include_str!("bot/commands.rs")),
            ("bot/callback.rs", include_str!("bot/callback.rs")),
            ("delivery/mod.rs", include_str!("delivery/mod.rs")),
            ("delivery/refund.rs", include_str!("delivery/refund.rs")),
        ];
        let mut found = Vec::new();
        for (file, source) in sources {
            // Unit tests may say what they like.
            let source = source.split("#[cfg(test)]").next().unwrap_or(source);
            for call in CALLS {
                for (at, _) in source.match_indices(call) {
                    let rest = &source[at + call.len()..];
                    let window = &rest[..rest.find(';').unwrap_or(rest.len()).min(400)];
                    // Log lines are for the operator, not a user.
                    let window: String = window
                        .lines()
                        .filter(|l| !l.contains("tracing::"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    for literal in window.split('"').skip(1).step_by(2) {
                        // Placeholders ({}, {name}) are not text.
                        let mut bare = String::new();
                        let mut depth = 0;
                        for c in literal.chars() {
                            match c {
                                '{' => depth += 1,
                                '}' => depth -= 1,
                                _ if depth == 0 => bare.push(c),
                                _ => {}
                            }
                        }
                        // Message keys and button data.
                        let key_shaped = literal.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || "-_:".contains(c)
                        });
                        let words = bare
                            .split(|c: char| !c.is_alphabetic())
                            .any(|w| w.chars().count() >= 3);
                        if words && !key_shaped && !ALLOWED.contains(&literal) {
                            found.push(format!("{file}: {call}…\"{literal}\""));
                        }
                    }
                }
            }
        }
        assert!(found.is_empty(), "user text written in code: {found:#?}");
    }

    #[test]
    fn texts_have_no_isolation_marks_and_choose_plurals() {
        let one = text(
            Language::En,
            "refund-done",
            &[
                ("stars", num(1)),
                ("purchase", num(7)),
                ("reason", arg("x")),
            ],
        );
        assert!(one.contains("1 Star for order #7"), "{one}");
        let many = text(
            Language::En,
            "refund-done",
            &[
                ("stars", num(50)),
                ("purchase", num(7)),
                ("reason", arg("x")),
            ],
        );
        assert!(many.contains("50 Stars"), "{many}");
        assert!(!many.contains('\u{2068}') && !many.contains('\u{2069}'));
        let hi = text(
            Language::Hi,
            "delivery-part",
            &[("n", num(1)), ("total", num(2))],
        );
        assert_eq!(hi, "(भाग 1 / 2)");
        assert_eq!(text(Language::Hi, "no-such-key", &[]), "no-such-key");
    }
}
