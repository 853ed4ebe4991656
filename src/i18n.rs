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
            "code-label-",
            "support-",
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
            include_str!("bot/support.rs"),
            include_str!("delivery/mod.rs"),
            include_str!("delivery/refund.rs"),
            include_str!("delivery/render.rs"),
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

    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    /// What a message looks like from the code's side: its attributes,
    /// the variables it reads, and each selector (in the value or an
    /// attribute) with the variable it selects on and its variant keys.
    #[derive(Debug, Default, PartialEq)]
    struct Shape {
        attributes: BTreeSet<String>,
        variables: BTreeSet<String>,
        selectors: BTreeSet<(String, String, Vec<String>)>,
    }

    fn shapes(text: &str) -> BTreeMap<String, Shape> {
        let resource = fluent_syntax::parser::parse(text).expect("the file parses");
        let mut out = BTreeMap::new();
        for entry in resource.body {
            let ast::Entry::Message(m) = entry else {
                continue;
            };
            let mut shape = Shape::default();
            if let Some(value) = &m.value {
                walk_pattern(value, "", &mut shape);
            }
            for attribute in &m.attributes {
                shape.attributes.insert(attribute.id.name.to_owned());
                walk_pattern(&attribute.value, attribute.id.name, &mut shape);
            }
            out.insert(m.id.name.to_owned(), shape);
        }
        out
    }

    fn walk_pattern(pattern: &ast::Pattern<&str>, part: &str, shape: &mut Shape) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                walk_expression(expression, part, shape);
            }
        }
    }

    fn walk_expression(expression: &ast::Expression<&str>, part: &str, shape: &mut Shape) {
        match expression {
            ast::Expression::Select { selector, variants } => {
                let on = match selector {
                    ast::InlineExpression::VariableReference { id } => id.name.to_owned(),
                    other => format!("{other:?}"),
                };
                let keys = variants
                    .iter()
                    .map(|v| match &v.key {
                        ast::VariantKey::Identifier { name } => (*name).to_owned(),
                        ast::VariantKey::NumberLiteral { value } => (*value).to_owned(),
                    })
                    .collect();
                shape.selectors.insert((part.to_owned(), on, keys));
                walk_inline(selector, part, shape);
                for variant in variants {
                    walk_pattern(&variant.value, part, shape);
                }
            }
            ast::Expression::Inline(inline) => walk_inline(inline, part, shape),
        }
    }

    fn walk_inline(inline: &ast::InlineExpression<&str>, part: &str, shape: &mut Shape) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                shape.variables.insert(id.name.to_owned());
            }
            ast::InlineExpression::Placeable { expression } => {
                walk_expression(expression, part, shape)
            }
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                for argument in &arguments.positional {
                    walk_inline(argument, part, shape);
                }
                for named in &arguments.named {
                    walk_inline(&named.value, part, shape);
                }
            }
            _ => {}
        }
    }

    /// Where two files' messages differ in ids, attributes, variables or
    /// selectors, one line each.
    fn differences(en: &str, hi: &str) -> Vec<String> {
        let (en, hi) = (shapes(en), shapes(hi));
        let mut out = Vec::new();
        for id in en.keys().chain(hi.keys()).collect::<BTreeSet<_>>() {
            match (en.get(id), hi.get(id)) {
                (Some(a), Some(b)) if a != b => out.push(format!("{id}: en {a:?}, hi {b:?}")),
                (Some(_), None) => out.push(format!("{id}: not in hi.ftl")),
                (None, Some(_)) => out.push(format!("{id}: not in en.ftl")),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn both_languages_have_the_same_ids_attributes_variables_and_selectors() {
        let found = differences(SOURCES[0].2, SOURCES[1].2);
        assert!(found.is_empty(), "en.ftl and hi.ftl differ: {found:#?}");
        let en = shapes(SOURCES[0].2);
        assert!(en.values().any(|s| !s.variables.is_empty()));
        assert!(en.values().any(|s| !s.selectors.is_empty()));
    }

    /// The comparison above can fail: each kind of difference is caught.
    #[test]
    fn a_difference_in_shape_is_caught() {
        let base = "a = { $n ->\n    [one] x\n   *[other] y { $m }\n}\n    .title = t\n";
        let cases = [
            (
                "b = { $n ->\n    [one] x\n   *[other] y { $m }\n}\n    .title = t\n",
                "id",
            ),
            (
                "a = { $n ->\n    [one] x\n   *[other] y { $m }\n}\n    .label = t\n",
                "attribute",
            ),
            (
                "a = { $n ->\n    [one] x\n   *[other] y { $k }\n}\n    .title = t\n",
                "variable",
            ),
            (
                "a = { $m ->\n    [one] x { $n }\n   *[other] y\n}\n    .title = t\n",
                "selector variable",
            ),
            ("a = { $n } y { $m }\n    .title = t\n", "no selector"),
            (
                "a = { $n ->\n    [few] x\n   *[other] y { $m }\n}\n    .title = t\n",
                "variant keys",
            ),
        ];
        assert!(differences(base, base).is_empty());
        for (other, what) in cases {
            assert!(!differences(base, other).is_empty(), "{what} not caught");
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
            ("bot/support.rs", include_str!("bot/support.rs")),
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

    /// `key` in `lang` with every variable 7 but `count` (its value), and
    /// whether Fluent reported an error (a missing variable, say).
    fn render_with(lang: Language, key: &str, count: &str, value: i64) -> (String, bool) {
        let bundle = get(lang).expect("bundle");
        let pattern = bundle
            .get_message(key)
            .and_then(|m| m.value())
            .expect("message");
        let mut args = FluentArgs::new();
        for name in &shapes(SOURCES[0].2)[key].variables {
            args.set(name.clone(), if name == count { value } else { 7 });
        }
        let mut errors = Vec::new();
        let out = bundle.format_pattern(pattern, Some(&args), &mut errors);
        (out.into_owned(), !errors.is_empty())
    }

    /// Every message that shows a count chooses its words by it, in both
    /// languages: no "1 orders", no "1 Stars", no "purchase(s)".
    #[test]
    fn counts_of_one_and_two_read_right_in_both_languages() {
        let one_plural = |text: &str| {
            let words: Vec<&str> = text.split_whitespace().collect();
            words.windows(2).any(|w| {
                let noun = w[1].trim_end_matches(|c: char| !c.is_alphabetic());
                w[0].ends_with('1')
                    && !w[0].ends_with("11")
                    && noun.len() > 2
                    && noun.ends_with('s')
                    && !["has", "was"].contains(&noun)
            })
        };
        let mut bad = Vec::new();
        for (key, shape) in shapes(SOURCES[0].2) {
            assert!(!SOURCES[0].2.contains("(s)"), "a (s) plural in en.ftl");
            for (_, count, _) in &shape.selectors {
                for lang in Language::ALL {
                    let (one, failed_one) = render_with(lang, &key, count, 1);
                    let (two, failed_two) = render_with(lang, &key, count, 2);
                    if failed_one || failed_two {
                        bad.push(format!("{key} ({lang:?}): Fluent errors"));
                    }
                    if lang == Language::En && (one_plural(&one) || one.replace('1', "2") == two) {
                        bad.push(format!("{key} with {count} = 1: {one}"));
                    }
                }
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
    }

    /// The counts buyers and admins see most, with 1 and with 2.
    #[test]
    fn the_most_seen_counts_choose_their_words() {
        let cases = [
            (
                "refund-done",
                "stars",
                "1 Star for",
                "2 Stars for",
                "1 Star रिफ़ंड कर दिया गया",
                "2 Stars रिफ़ंड कर दिए गए",
            ),
            (
                "quantity-stock",
                "stock",
                "Only 1 is left",
                "Only 2 are left",
                "सिर्फ़ 1 बचा है",
                "सिर्फ़ 2 बचे हैं",
            ),
            (
                "invoice-description",
                "quantity",
                "Your code comes",
                "Your codes come",
                "आपका कोड इसी चैट में आ जाएगा",
                "आपके कोड इसी चैट में आ जाएँगे",
            ),
            (
                "admin-unpriced",
                "count",
                "1 purchase had",
                "2 purchases had",
                "1 ख़रीद की",
                "2 ख़रीदों की",
            ),
            (
                "admin-balance-spent",
                "orders",
                "(1 order)",
                "(2 orders)",
                "(1 ऑर्डर)",
                "(2 ऑर्डर)",
            ),
        ];
        for (key, count, en1, en2, hi1, hi2) in cases {
            for (lang, n, want) in [
                (Language::En, 1, en1),
                (Language::En, 2, en2),
                (Language::Hi, 1, hi1),
                (Language::Hi, 2, hi2),
            ] {
                let (text, _) = render_with(lang, key, count, n);
                assert!(text.contains(want), "{key} {lang:?} {n}: {text}");
            }
        }
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
