//! Every text a user sees, from `locales/en.ftl` and `locales/hi.ftl`
//! (Fluent), compiled into the binary. Isolation marks are off: they would
//! put invisible characters around codes and numbers.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::domain::Language;

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
            include_str!("bot/admin.rs"),
            include_str!("bot/callback.rs"),
            include_str!("delivery/mod.rs"),
            include_str!("delivery/refund.rs"),
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
