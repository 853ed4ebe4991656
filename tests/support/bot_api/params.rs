//! A call's parameters as the Bot API takes them (JSON, a form, the query
//! string or multipart text fields), read leniently where Telegram is
//! lenient, and validated where it validates (`reply_markup`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::MAX_CALLBACK_DATA_BYTES;
use super::state::ApiError;

/// The parameters of a call: a JSON body, a form or the query string (the
/// Bot API takes all three). Multipart (file uploads) is not modelled.
pub(super) fn params(
    content_type: &str,
    bytes: &[u8],
    query: Option<&str>,
) -> Result<Value, ApiError> {
    let mut fields = serde_json::Map::new();
    if let Some(query) = query {
        fields.extend(form_fields(query));
    }
    if content_type.starts_with("multipart/") {
        // teloxide sends some methods (setWebhook) as multipart: their
        // text fields are read; an uploaded file is not modelled.
        fields.extend(multipart_fields(content_type, bytes)?);
        return Ok(Value::Object(fields));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        fields.extend(form_fields(&String::from_utf8_lossy(bytes)));
    } else if !bytes.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(body)) => fields.extend(body),
            _ => return Err(ApiError::bad_request("can't parse JSON object")),
        }
    }
    Ok(Value::Object(fields))
}

/// The text fields of a `multipart/form-data` body; a part with a file
/// name is refused (uploads are not modelled).
fn multipart_fields(
    content_type: &str,
    bytes: &[u8],
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or_else(|| ApiError::bad_request("multipart without a boundary"))?;
    let body = String::from_utf8_lossy(bytes);
    let mut fields = serde_json::Map::new();
    for part in body.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if head.contains("filename=") {
            return Err(ApiError::bad_request("file uploads are not modelled"));
        }
        let Some(name) = head
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("name="))
            .next()
            .map(|n| n.trim_matches('"').to_owned())
        else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        fields.insert(name, value);
    }
    Ok(fields)
}

/// `a=1&b=x` → `{"a":1,"b":"x"}`: a value that parses as JSON is taken as
/// JSON (numbers, booleans, serialized objects), as Telegram does.
fn form_fields(form: &str) -> serde_json::Map<String, Value> {
    let url = reqwest::Url::parse(&format!("http://x/?{form}")).expect("a valid query");
    url.query_pairs()
        .map(|(k, v)| {
            let value = serde_json::from_str(&v).unwrap_or_else(|_| Value::String(v.to_string()));
            (k.to_string(), value)
        })
        .collect()
}

pub(super) fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An integer parameter, given as a number or a numeric string.
pub(super) fn int_param(body: &Value, name: &str) -> Option<i64> {
    match body.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn str_param(body: &Value, name: &str) -> Option<String> {
    match body.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn bool_param(body: &Value, name: &str) -> bool {
    match body.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// An array parameter, given as JSON or as a JSON-serialized string.
pub(super) fn array_param(body: &Value, name: &str) -> Option<Vec<Value>> {
    match body.get(name)? {
        Value::Array(list) => Some(list.clone()),
        Value::String(s) => serde_json::from_str(s).ok(),
        _ => None,
    }
}

/// `chat_id` as a number; `@username` chats are not modelled (not found).
pub(super) fn chat_id_param(body: &Value) -> Result<i64, ApiError> {
    match body.get("chat_id") {
        None | Some(Value::Null) => Err(ApiError::bad_request("chat_id is empty")),
        Some(_) => {
            int_param(body, "chat_id").ok_or_else(|| ApiError::bad_request("chat not found"))
        }
    }
}

pub(super) fn scope_and_language(body: &Value) -> (Value, String) {
    let scope = match body.get("scope") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(json!({"type": "default"})),
        Some(scope @ Value::Object(_)) => scope.clone(),
        _ => json!({"type": "default"}),
    };
    (scope, str_param(body, "language_code").unwrap_or_default())
}

pub(super) fn commands_key(body: &Value) -> (String, String) {
    let (scope, language) = scope_and_language(body);
    (scope_key(&scope), language)
}

/// Scopes compare by content: fields sorted, whatever order they came in.
pub(super) fn scope_key(scope: &Value) -> String {
    let sorted: BTreeMap<&String, &Value> = scope
        .as_object()
        .map(|fields| fields.iter().collect())
        .unwrap_or_default();
    serde_json::to_string(&sorted).unwrap_or_default()
}

/// `reply_markup`, validated as Telegram validates inline keyboards: every
/// button needs `text` and one action (else `Text buttons are unallowed`),
/// and `callback_data` must be 1-64 bytes (else `BUTTON_DATA_INVALID`).
/// Reply keyboards and the like pass unchecked.
pub(super) fn reply_markup_param(body: &Value) -> Result<Option<Value>, ApiError> {
    let markup = match body.get("reply_markup") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|_| ApiError::bad_request("can't parse reply keyboard markup JSON object"))?,
        Some(markup) => markup.clone(),
    };
    if let Some(rows) = markup.get("inline_keyboard") {
        let rows = rows
            .as_array()
            .ok_or_else(|| ApiError::bad_request("field \"inline_keyboard\" must be an Array"))?;
        for button in rows
            .iter()
            .flat_map(|row| row.as_array().into_iter().flatten())
        {
            check_inline_button(button)?;
        }
    }
    Ok(Some(markup))
}

fn check_inline_button(button: &Value) -> Result<(), ApiError> {
    const ACTIONS: [&str; 10] = [
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ];
    if !button.get("text").is_some_and(Value::is_string) {
        return Err(ApiError::bad_request(
            "can't parse inline keyboard button: Field \"text\" must be of type String",
        ));
    }
    if !ACTIONS.iter().any(|a| button.get(a).is_some()) {
        return Err(ApiError::bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ));
    }
    if let Some(data) = button.get("callback_data") {
        let len = data.as_str().map_or(0, str::len);
        if !(1..=MAX_CALLBACK_DATA_BYTES).contains(&len) {
            return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
        }
    }
    Ok(())
}
