//! Codes as the buyer reads them: one per line, HTML-escaped, each in a
//! `<code>` entity (tap to copy in Telegram), whatever shape the supplier
//! sent (`"AAAA-1111"`, `{code, pin}`, `{serial, code}`, an activation URL),
//! split over as many messages as Telegram's 4096-character limit needs,
//! never inside a code's markup.

use serde_json::Value;

use crate::domain::{Code, Language};
use crate::i18n;

/// Telegram's limit on one message's text.
pub const MESSAGE_LIMIT: usize = 4096;

/// Room left in every part for a "part n of m" line and a re-send note.
const RESERVED: usize = 400;

/// Copy buttons are offered only for codes this short (Telegram's
/// `copy_text` limit is 256) and only when a message has this few codes.
const COPY_TEXT_MAX: usize = 256;
const COPY_BUTTONS_MAX: usize = 8;

/// One message of a delivery (stored with the delivery when it is claimed).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    /// HTML (parse mode HTML), at most [`MESSAGE_LIMIT`] characters.
    pub html: String,
    /// Plain codes for copy buttons under the message; empty when there are
    /// too many, or one is too long, for buttons.
    pub copy: Vec<String>,
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A part holds codes: never in a log line.
        f.debug_struct("Part")
            .field("chars", &self.html.chars().count())
            .field("copy_buttons", &self.copy.len())
            .finish()
    }
}

/// Escapes text for Telegram's HTML parse mode.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A part of a code (`{"code": …, "pin": …}`) named as the buyer reads
/// it; a name we do not know is shown as the supplier sent it.
fn field_label(lang: Language, name: &str) -> String {
    let key = match name.to_ascii_lowercase().as_str() {
        "code" => "code-label-code",
        "pin" => "code-label-pin",
        "serial" => "code-label-serial",
        _ => return escape(name),
    };
    escape(&i18n::text(lang, key, &[]))
}

/// One code's line(s) of HTML and the plain values worth a copy button.
fn code_lines(code: &Code, lang: Language) -> (Vec<String>, Vec<String>) {
    let mut plain = Vec::new();
    let line = match &code.0 {
        Value::Object(fields) => {
            // The code itself first, then the rest in the supplier's order.
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort_by_key(|k| !k.eq_ignore_ascii_case("code"));
            keys.iter()
                .filter_map(|k| {
                    let text = scalar(&fields[k.as_str()])?;
                    plain.push(text.clone());
                    Some(format!("{}: {}", field_label(lang, k), value_html(&text)))
                })
                .collect::<Vec<_>>()
                .join(" · ")
        }
        Value::Array(items) => items
            .iter()
            .filter_map(scalar)
            .map(|text| {
                plain.push(text.clone());
                value_html(&text)
            })
            .collect::<Vec<_>>()
            .join(" · "),
        other => match scalar(other) {
            Some(text) => {
                plain.push(text.clone());
                value_html(&text)
            }
            None => String::new(),
        },
    };
    (vec![line], plain)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A link stays a link (Telegram makes it clickable); anything else is a
/// `<code>` entity, which Telegram copies on tap.
fn value_html(text: &str) -> String {
    if text.starts_with("https://") || text.starts_with("http://") {
        escape(text)
    } else {
        format!("<code>{}</code>", escape(text))
    }
}

/// Renders `codes` under `header` (HTML, already escaped) into as many
/// parts as the limit needs, the codes' parts named in `lang`. A single
/// code too long for one message is split into plain chunks, each closed
/// in its own entity.
pub fn render(header: &str, codes: &[Code], lang: Language) -> Vec<Part> {
    let budget = MESSAGE_LIMIT - RESERVED;
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for (n, code) in codes.iter().enumerate() {
        let (html, plain) = code_lines(code, lang);
        for line in html {
            let numbered = if codes.len() > 1 {
                format!("{}. {line}", n + 1)
            } else {
                line
            };
            if numbered.chars().count() + header.chars().count() + 2 <= budget {
                lines.push((numbered, plain.clone()));
            } else {
                for chunk in chunks(&plain.join(" "), budget / 2) {
                    lines.push((format!("<code>{}</code>", escape(&chunk)), Vec::new()));
                }
            }
        }
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut current = Part {
        html: header.to_owned(),
        copy: Vec::new(),
    };
    let mut codes_here = 0;
    for (line, plain) in lines {
        let needed = current.html.chars().count() + 1 + line.chars().count();
        if codes_here > 0 && needed > budget {
            parts.push(finish(current, codes_here));
            current = Part {
                html: header.to_owned(),
                copy: Vec::new(),
            };
            codes_here = 0;
        }
        if !current.html.is_empty() {
            current.html.push('\n');
        }
        current.html.push_str(&line);
        current.copy.extend(plain);
        codes_here += 1;
    }
    parts.push(finish(current, codes_here));
    parts
}

fn finish(mut part: Part, codes: usize) -> Part {
    if codes > COPY_BUTTONS_MAX
        || part.copy.len() > COPY_BUTTONS_MAX
        || part.copy.iter().any(|c| c.chars().count() > COPY_TEXT_MAX)
    {
        part.copy.clear();
    }
    part
}

/// `text` in pieces of at most `size` characters.
fn chunks(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(json: &str) -> Code {
        Code(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn every_shape_renders_readably_and_escaped() {
        let codes = [
            code(r#""AAAA-1111""#),
            code(r#"{"pin":"42","code":"BB<B>"}"#),
            code(r#"{"serial":"S-1","code":"CCCC"}"#),
            code(r#""https://redeem.example/x?a=1&b=2""#),
            code(r#"12345"#),
        ];
        let parts = render("<b>Your codes</b>", &codes, Language::En);
        assert_eq!(parts.len(), 1);
        let html = &parts[0].html;
        assert!(html.contains("1. <code>AAAA-1111</code>"), "{html}");
        assert!(
            html.contains("2. Code: <code>BB&lt;B&gt;</code> · PIN: <code>42</code>"),
            "{html}"
        );
        assert!(
            html.contains("3. Code: <code>CCCC</code> · Serial no.: <code>S-1</code>"),
            "{html}"
        );
        assert!(
            html.contains("4. https://redeem.example/x?a=1&amp;b=2"),
            "{html}"
        );
        assert!(html.contains("5. <code>12345</code>"), "{html}");
        assert_eq!(parts[0].copy.len(), 7, "one button per value, up to eight");
    }

    #[test]
    fn many_codes_split_under_the_limit_without_breaking_markup() {
        let codes: Vec<Code> = (0..900)
            .map(|n| Code(Value::String(format!("CODE-{n:06}-XYZ"))))
            .collect();
        let parts = render("<b>Codes</b>", &codes, Language::En);
        assert!(parts.len() > 1);
        let mut seen = 0;
        for p in &parts {
            assert!(p.html.chars().count() <= MESSAGE_LIMIT);
            assert!(p.html.starts_with("<b>Codes</b>"));
            assert_eq!(
                p.html.matches("<code>").count(),
                p.html.matches("</code>").count()
            );
            seen += p.html.matches("<code>").count();
            assert!(p.copy.is_empty(), "too many codes for buttons");
        }
        assert_eq!(seen, 900, "every code once");
    }

    #[test]
    fn one_huge_code_is_chunked_into_closed_entities() {
        let huge = "Z".repeat(10_000);
        let parts = render("h", &[Code(Value::String(huge))], Language::En);
        let total: usize = parts.iter().map(|p| p.html.matches('Z').count()).sum();
        assert_eq!(total, 10_000);
        for p in &parts {
            assert!(p.html.chars().count() <= MESSAGE_LIMIT);
            assert_eq!(
                p.html.matches("<code>").count(),
                p.html.matches("</code>").count()
            );
        }
    }

    /// The parts of a code are named in the buyer's language; a name we
    /// do not know stays as sent, escaped.
    #[test]
    fn the_parts_of_a_code_are_named_in_the_buyers_language() {
        let codes = [code(
            r#"{"code":"C-1","pin":"42","serial":"S-1","<x>":"y"}"#,
        )];
        let html = &render("h", &codes, Language::Hi)[0].html;
        assert!(html.contains("कोड: <code>C-1</code>"), "{html}");
        assert!(html.contains("पिन: <code>42</code>"), "{html}");
        assert!(html.contains("सीरियल नंबर: <code>S-1</code>"), "{html}");
        assert!(html.contains("&lt;x&gt;: <code>y</code>"), "{html}");
        assert!(!html.contains("code:") && !html.contains("pin:"), "{html}");
    }

    #[test]
    fn a_part_never_prints_its_codes() {
        let parts = render("h", &[Code(Value::String("SECRET-1".into()))], Language::En);
        assert!(!format!("{parts:?}").contains("SECRET"));
    }
}
