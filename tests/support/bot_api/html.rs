//! Text as the customer sees it: Telegram's HTML parsed into plain text
//! and entities (offsets in UTF-16), with Telegram's errors and limits.

use serde_json::{Value, json};

use super::MAX_TEXT_CHARS;
use super::state::ApiError;

/// The text the customer sees and its entities. HTML is parsed as Telegram
/// parses it (see [`parse_html`]); Markdown and MarkdownV2 are passed
/// through unparsed (not modelled: the length counted is the raw one).
/// Empty after parsing (or only whitespace) is `message text is empty`;
/// over [`MAX_TEXT_CHARS`] characters is `too_long`.
pub(super) fn render_text(
    raw: &str,
    parse_mode: Option<&str>,
    too_long: &str,
) -> Result<(String, Vec<Value>), ApiError> {
    let (text, entities) = match parse_mode {
        None => (raw.to_owned(), Vec::new()),
        Some(mode) if mode.eq_ignore_ascii_case("html") => parse_html(raw)
            .map_err(|e| ApiError::bad_request(format!("can't parse entities: {e}")))?,
        Some(mode)
            if mode.eq_ignore_ascii_case("markdown") || mode.eq_ignore_ascii_case("markdownv2") =>
        {
            (raw.to_owned(), Vec::new())
        }
        Some(_) => return Err(ApiError::bad_request("unsupported parse_mode")),
    };
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request(too_long));
    }
    Ok((text, entities))
}

struct OpenTag {
    name: String,
    attributes: Vec<(String, String)>,
    /// UTF-16 offset in the output where the tag's content starts.
    start: usize,
}

/// The tags Telegram's HTML knows (`span` only as a spoiler).
const SUPPORTED: [&str; 16] = [
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
];

/// Telegram's HTML: tags `b strong i em u ins s strike del span
/// tg-spoiler a code pre blockquote tg-emoji` (`span` only with
/// `class="tg-spoiler"`), properly nested; entities `&lt; &gt; &amp; &quot;`
/// and numeric ones decoded; any other `&` is literal. Errors read like
/// Telegram's (after `can't parse entities: `). Entity offsets and lengths
/// are in UTF-16 code units, as in the Bot API.
fn parse_html(input: &str) -> Result<(String, Vec<Value>), String> {
    let mut text = String::with_capacity(input.len());
    let mut utf16 = 0usize;
    let mut open: Vec<OpenTag> = Vec::new();
    let mut entities = Vec::new();
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        if rest.starts_with('<') {
            let at = i;
            let end = rest
                .find('>')
                .ok_or_else(|| format!("Unclosed start tag at byte offset {at}"))?;
            let inside = &rest[1..end];
            i += end + 1;
            if let Some(name) = inside.strip_prefix('/') {
                entities.extend(close_tag(&mut open, name, at, utf16)?);
            } else {
                open.push(open_tag(inside, at, utf16)?);
            }
        } else if let Some((decoded, used)) = rest.strip_prefix('&').and_then(decode_entity) {
            text.push(decoded);
            utf16 += decoded.len_utf16();
            i += used + 1;
        } else {
            let c = rest.chars().next().expect("not at the end");
            text.push(c);
            utf16 += c.len_utf16();
            i += c.len_utf8();
        }
    }
    if let Some(tag) = open.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            tag.name
        ));
    }
    entities.sort_by_key(|e: &Value| {
        (
            e["offset"].as_u64().unwrap_or_default(),
            std::cmp::Reverse(e["length"].as_u64().unwrap_or_default()),
        )
    });
    Ok((text, entities))
}

/// A start tag (`inside` the brackets, at byte `at`), opened at UTF-16
/// offset `utf16` of the output: only the supported tags, a `span` only
/// as a spoiler.
fn open_tag(inside: &str, at: usize, utf16: usize) -> Result<OpenTag, String> {
    let (name, attributes) = parse_start_tag(inside, at)?;
    if !SUPPORTED.contains(&name.as_str()) {
        return Err(format!(
            "Unsupported start tag \"{name}\" at byte offset {at}"
        ));
    }
    let class = attributes.iter().find(|(k, _)| k == "class");
    if name == "span" && class.is_none_or(|(_, v)| v != "tg-spoiler") {
        return Err(format!(
            "Tag \"span\" must have class \"tg-spoiler\" at byte offset {at}"
        ));
    }
    Ok(OpenTag {
        name,
        attributes,
        start: utf16,
    })
}

/// An end tag `</name>` (at byte `at`, UTF-16 offset `utf16` of the
/// output): it must close the innermost open tag; the entity that tag
/// makes, if any.
fn close_tag(
    open: &mut Vec<OpenTag>,
    name: &str,
    at: usize,
    utf16: usize,
) -> Result<Option<Value>, String> {
    let name = name.trim().to_ascii_lowercase();
    let tag = open
        .pop()
        .ok_or_else(|| format!("Unexpected end tag at byte offset {at}"))?;
    if name != tag.name {
        return Err(format!(
            "Unmatched end tag at byte offset {at}, expected \"</{}>\", found \"</{name}>\"",
            tag.name
        ));
    }
    Ok(entity_for(&tag, utf16))
}

/// `name attr="v" attr2='w' attr3=x flag` → lower-case name and attributes.
fn parse_start_tag(inside: &str, at: usize) -> Result<(String, Vec<(String, String)>), String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let name_len = inside.find(|c: char| !is_name(c)).unwrap_or(inside.len());
    if name_len == 0 {
        return Err(format!("Empty tag name at byte offset {at}"));
    }
    let name = inside[..name_len].to_ascii_lowercase();
    let mut rest = &inside[name_len..];
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let key_len = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
        if key_len == 0 {
            return Err(format!(
                "Unexpected character in the attributes of the tag \"{name}\" at byte offset {at}"
            ));
        }
        let key = rest[..key_len].to_ascii_lowercase();
        rest = rest[key_len..].trim_start();
        let Some(after_eq) = rest.strip_prefix('=') else {
            attributes.push((key, String::new()));
            continue;
        };
        rest = after_eq.trim_start();
        let value;
        if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let close = rest[1..]
                .find(quote)
                .ok_or_else(|| format!("Unclosed attribute value at byte offset {at}"))?;
            value = &rest[1..1 + close];
            rest = &rest[close + 2..];
        } else {
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            value = &rest[..len];
            rest = &rest[len..];
        }
        let decoded = decode_all_entities(value);
        attributes.push((key, decoded));
    }
    Ok((name, attributes))
}

/// The entity a closed tag makes (none when it encloses nothing).
fn entity_for(tag: &OpenTag, end: usize) -> Option<Value> {
    let length = end - tag.start;
    if length == 0 {
        return None;
    }
    let attribute = |name: &str| {
        tag.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut entity = json!({"offset": tag.start, "length": length});
    let kind = match tag.name.as_str() {
        "b" | "strong" => "bold",
        "i" | "em" => "italic",
        "u" | "ins" => "underline",
        "s" | "strike" | "del" => "strikethrough",
        "span" | "tg-spoiler" => "spoiler",
        "code" => "code",
        "pre" => "pre",
        "blockquote" if attribute("expandable").is_some() => "expandable_blockquote",
        "blockquote" => "blockquote",
        "a" => {
            entity["url"] = json!(attribute("href")?);
            "text_link"
        }
        "tg-emoji" => {
            entity["custom_emoji_id"] = json!(attribute("emoji-id")?);
            "custom_emoji"
        }
        _ => return None,
    };
    entity["type"] = json!(kind);
    Some(entity)
}

/// After a `&`: the decoded character and the bytes used (through `;`).
fn decode_entity(after_amp: &str) -> Option<(char, usize)> {
    let semicolon = after_amp.get(..12).unwrap_or(after_amp).find(';')?;
    let name = &after_amp[..semicolon];
    let decoded = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((decoded, semicolon + 1))
}

fn decode_all_entities(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp + 1..];
        match decode_entity(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    out
}
