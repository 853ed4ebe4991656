//! The HTTP side: a plain hyper server (so that a fault can close a
//! connection without any reply), the token check, the fault scripts
//! applied around each call, the JSON answers, and long polling.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::params::{array_param, int_param, params, percent_decode};
use super::state::{Answer, ApiError, Shared};
use super::{Call, Fault};

/// The methods the fake answers; anything else is 404, and recorded.
/// The methods the fake answers; anything else is 404, and recorded.
const METHODS: &[&str] = &[
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "getChatMenuButton",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendInvoice",
    "answerPreCheckoutQuery",
    "refundStarPayment",
    "getStarTransactions",
    "sendChatAction",
];

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One keep-alive connection. A fault that loses the reply notifies `kill`:
/// the connection future is dropped, closing the socket with no answer.
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let kill = Arc::new(Notify::new());
    let service = {
        let kill = Arc::clone(&kill);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let kill = Arc::clone(&kill);
            async move { Ok::<_, Infallible>(handle(&shared, request, &kill).await) }
        })
    };
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        () = kill.notified() => {}
    }
}

/// One call: read, recorded, then answered as its fault script says (or
/// normally).
async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
    kill: &Notify,
) -> Response<Full<Bytes>> {
    let (method, body) = match read_call(shared, request).await {
        Ok(call) => call,
        Err(error) => return reply(Err(error)),
    };
    let chat = int_param(&body, "chat_id").or_else(|| int_param(&body, "user_id"));
    let fault = shared.mutate(|s| {
        s.calls.push(Call {
            method: method.clone(),
            body: body.clone(),
        });
        s.take_fault(&method, chat)
    });
    match &fault {
        Some(Fault::RetryAfter(secs)) => return reply(Err(ApiError::retry_after(*secs))),
        Some(Fault::Error { code, description }) => {
            return reply(Err(ApiError::new(*code, description.clone())));
        }
        Some(Fault::LoseRequest) => return close_without_reply(kill).await,
        Some(Fault::Page(code)) => return error_page(*code),
        Some(Fault::Delay(by)) => tokio::time::sleep(*by).await,
        _ => {}
    }
    let answer = match method.as_str() {
        "getUpdates" => get_updates(shared, &body).await,
        _ => shared.mutate(|s| s.dispatch(&method, &body, &shared.bot)),
    };
    match fault {
        Some(Fault::LoseReply) => {
            mark_reply_lost(shared, &answer);
            close_without_reply(kill).await
        }
        Some(Fault::StallReply) => {
            mark_reply_lost(shared, &answer);
            std::future::pending().await
        }
        _ => reply(answer),
    }
}

/// The method (spelled as documented, when known) and parameters of a
/// call to `/bot<token>/<method>`; 404 for another path, 401 (counted)
/// for another token.
async fn read_call(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<(String, Value), ApiError> {
    let path = percent_decode(request.uri().path());
    let query = request.uri().query().map(str::to_owned);
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    // `/bot<token>/<method>`; empty segments tolerated (a base URL with a
    // trailing slash).
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let [bot_token, method] = segments[..] else {
        return Err(ApiError::new(404, "Not Found"));
    };
    if bot_token.strip_prefix("bot") != Some(shared.token.as_str()) {
        shared.mutate(|s| s.unauthorized += 1);
        return Err(ApiError::new(401, "Unauthorized"));
    }
    let method = METHODS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(method))
        .map_or_else(|| method.to_owned(), |m| (*m).to_owned());
    let bytes = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(ApiError::bad_request("request body unreadable")),
    };
    let body = params(&content_type, &bytes, query.as_deref())?;
    Ok((method, body))
}

/// What nginx answers for `code` when its upstream is gone.
fn error_page(code: u16) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "text/html")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

async fn close_without_reply(kill: &Notify) -> Response<Full<Bytes>> {
    kill.notify_one();
    std::future::pending().await
}

fn mark_reply_lost(shared: &Shared, answer: &Answer) {
    let Ok(message) = answer else { return };
    let (Some(chat_id), Some(message_id)) = (
        message["chat"]["id"].as_i64(),
        message["message_id"].as_i64(),
    ) else {
        return;
    };
    shared.mutate(|s| {
        if let Some(m) = s
            .chats
            .get_mut(&chat_id)
            .and_then(|c| c.messages.get_mut(&message_id))
        {
            m.reply_lost = true;
        }
    });
}

fn reply(answer: Answer) -> Response<Full<Bytes>> {
    let (status, body) = match answer {
        Ok(result) => (200, json!({"ok": true, "result": result})),
        Err(error) => {
            let mut body = json!({
                "ok": false,
                "error_code": error.code,
                "description": error.description,
            });
            if let Some(secs) = error.retry_after {
                body["parameters"] = json!({"retry_after": secs});
            }
            (error.code, body)
        }
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

/// Long polling as Telegram does it: apply the offset, then answer at once
/// if there is anything to deliver, else wait up to `timeout` seconds and
/// answer as soon as an update is pushed. A newer `getUpdates` ends an
/// older one still waiting with 409; so does a webhook being set.
async fn get_updates(shared: &Shared, body: &Value) -> Answer {
    let offset = int_param(body, "offset");
    let limit = int_param(body, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = int_param(body, "timeout").unwrap_or(0).max(0) as u64;
    let allowed = array_param(body, "allowed_updates").map(|list| {
        list.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let ticket = shared.mutate(|s| {
        if s.webhook.is_some() {
            return Err(ApiError::new(
                409,
                "Conflict: can't use getUpdates method while webhook is active; \
                 use deleteWebhook to delete the webhook first",
            ));
        }
        if let Some(list) = allowed {
            s.allowed_updates_seen.push(list.clone());
            // An empty list means "the default set", as on Telegram.
            s.allowed_updates = (!list.is_empty()).then_some(list);
        }
        s.confirm(offset);
        s.poll_ticket += 1;
        Ok(s.poll_ticket)
    })?;
    let mut changes = shared.changes.subscribe();
    let until = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        {
            let mut state = shared.lock();
            if state.poll_ticket != ticket {
                return Err(ApiError::new(
                    409,
                    "Conflict: terminated by other getUpdates request; \
                     make sure that only one bot instance is running",
                ));
            }
            let updates = state.deliverable(limit);
            if !updates.is_empty() {
                return Ok(Value::Array(updates));
            }
        }
        if tokio::time::timeout_at(until, changes.changed())
            .await
            .is_err()
        {
            return Ok(json!([]));
        }
    }
}
