//! A deliberately small HTTP/1.1 server side. It is hand-rolled (rather than
//! a framework) so that faults are exact: the simulator decides byte by byte
//! whether a client gets an answer, a truncated one, a FIN or a reset.
//!
//! Supported: request line, headers, `Content-Length` bodies, keep-alive with
//! several requests per connection, `Expect: 100-continue`. Not supported
//! (refused with a status, never a panic): chunked request bodies, header
//! sections over [`MAX_HEAD`] bytes (431), bodies over [`MAX_BODY`] (413).

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest accepted header section (request line and headers).
pub(super) const MAX_HEAD: usize = 16 * 1024;
/// Largest accepted request body.
pub(super) const MAX_BODY: usize = 1024 * 1024;

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Request {
    pub method: String,
    /// The path without its query, still percent-encoded.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the client wants the connection kept open after the answer.
    pub keep_alive: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON answer. Serialising our own view types cannot fail in practice;
    /// if it ever did, the client gets a 500 rather than the process a panic.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response {
                status,
                headers: vec![("Content-Type", "application/json".to_owned())],
                body,
            },
            Err(_) => Response::detail(500, "the simulator could not encode its answer"),
        }
    }

    /// `{"detail": "..."}`, the plain error form the contract says is seen.
    pub fn detail(status: u16, detail: impl Into<String>) -> Self {
        Response::json(status, &serde_json::json!({ "detail": detail.into() }))
    }

    /// `{"code": "...", "detail": "..."}`, the documented error form.
    pub fn error(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Response::json(
            status,
            &serde_json::json!({ "code": code, "detail": detail.into() }),
        )
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The bytes on the wire. A status outside 100–599 (a test scripting
    /// something odd) is sent as 500 so the status line stays valid.
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let status = if (100..=599).contains(&self.status) {
            self.status
        } else {
            500
        };
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in &self.headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        head.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A request that cannot be read. It is answered with `status`, then the
/// connection is closed, because the stream can no longer be trusted to be
/// at a request boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub status: u16,
    pub detail: &'static str,
}

fn refuse(status: u16, detail: &'static str) -> Refusal {
    Refusal { status, detail }
}

/// What the header section says, before the body is read.
#[derive(Debug)]
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    content_length: usize,
    keep_alive: bool,
    expect_continue: bool,
}

/// Parses the header section at the start of `buf`. `Ok(None)`: more bytes
/// are needed. On success, also returns the length of the section including
/// its blank line.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Refusal> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Err(refuse(431, "header section too large"))
        } else {
            Ok(None)
        };
    };
    let head_len = end + 4;
    if head_len > MAX_HEAD {
        return Err(refuse(431, "header section too large"));
    }
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| refuse(400, "the header section is not valid UTF-8"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse(400, "malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(refuse(400, "malformed method"));
    }
    if !target.starts_with('/') {
        return Err(refuse(400, "the request target must be a path"));
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        v if v.starts_with("HTTP/") => return Err(refuse(505, "only HTTP/1.x is served")),
        _ => return Err(refuse(400, "malformed request line")),
    };

    let mut headers = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return Err(refuse(400, "folded header lines are not accepted"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(refuse(400, "malformed header line"));
        };
        if name.is_empty()
            || name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(refuse(400, "malformed header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }

    if headers.iter().any(|(n, _)| n == "transfer-encoding") {
        return Err(refuse(
            501,
            "chunked request bodies are not supported; send Content-Length",
        ));
    }
    let mut content_length: Option<usize> = None;
    for (_, value) in headers.iter().filter(|(n, _)| n == "content-length") {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(400, "malformed Content-Length"));
        }
        // Too many digits to fit is certainly too large.
        let n = value.parse::<usize>().unwrap_or(usize::MAX);
        if content_length.is_some_and(|seen| seen != n) {
            return Err(refuse(400, "conflicting Content-Length headers"));
        }
        content_length = Some(n);
    }
    let content_length = content_length.unwrap_or(0);
    if content_length > MAX_BODY {
        return Err(refuse(413, "request body too large (limit 1 MiB)"));
    }

    let connection = headers
        .iter()
        .filter(|(n, _)| n == "connection")
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    let has = |token: &str| connection.split(',').any(|t| t.trim() == token);
    let keep_alive = if http11 {
        !has("close")
    } else {
        has("keep-alive")
    };
    let expect_continue = headers
        .iter()
        .any(|(n, v)| n == "expect" && v.eq_ignore_ascii_case("100-continue"));

    Ok(Some((
        Head {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            content_length,
            keep_alive,
            expect_continue,
        },
        head_len,
    )))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads the next request from `io`. `buf` carries bytes already received
/// (a pipelined next request) between calls. `Ok(None)`: the client closed
/// the connection (or it failed) between or inside requests.
pub(super) async fn read_request<S>(
    io: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Option<Request>, Refusal>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Clients may send empty lines between requests (RFC 9112 §2.2).
    let (head, head_len) = loop {
        while buf.starts_with(b"\r\n") {
            buf.drain(..2);
        }
        if let Some(parsed) = parse_head(buf)? {
            break parsed;
        }
        if !fill(io, buf).await {
            return Ok(None);
        }
    };
    // curl waits a second for this before sending a large body.
    let body_pending = buf.len() < head_len + head.content_length;
    if head.expect_continue
        && body_pending
        && io
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .is_err()
    {
        return Ok(None);
    }
    while buf.len() < head_len + head.content_length {
        if !fill(io, buf).await {
            return Ok(None);
        }
    }
    let body = buf[head_len..head_len + head.content_length].to_vec();
    buf.drain(..head_len + head.content_length);

    let target = head.target.split('#').next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Request {
        method: head.method,
        path: path.to_owned(),
        query: parse_query(query),
        headers: head.headers,
        body,
        keep_alive: head.keep_alive,
    }))
}

/// Appends what the socket has; false on end of stream or error.
async fn fill<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match io.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Decodes `%XX` escapes (and `+` as a space in query strings). Broken
/// escapes are kept literally; invalid UTF-8 becomes U+FFFD.
pub(super) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    async fn read_all(input: &[u8]) -> Vec<Result<Option<Request>, Refusal>> {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        client.write_all(input).await.unwrap();
        client.shutdown().await.unwrap();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let r = read_request(&mut server, &mut buf).await;
            let stop = !matches!(r, Ok(Some(_)));
            out.push(r);
            if stop {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn pipelined_requests_on_one_connection_are_read_in_order() {
        let input = b"GET /api/orders/?statuses=paid%2Cactive&limit=5 HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\n\r\n\
POST /api/orders/ HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        let out = read_all(input).await;
        assert_eq!(out.len(), 3);
        let first = out[0].clone().unwrap().unwrap();
        assert_eq!(first.method, "GET");
        assert_eq!(first.path, "/api/orders/");
        assert_eq!(first.query("statuses"), Some("paid,active"));
        assert_eq!(first.query("limit"), Some("5"));
        assert_eq!(first.header("x-api-key"), Some("k"));
        assert!(first.keep_alive);
        let second = out[1].clone().unwrap().unwrap();
        assert_eq!(second.method, "POST");
        assert_eq!(second.body, b"{}");
        assert!(!second.keep_alive);
        assert_eq!(out[2], Ok(None));
    }

    #[tokio::test]
    async fn unreadable_requests_are_refused_with_a_status() {
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (b"garbage\r\n\r\n".to_vec(), 400),
            (b"GET / HTTP/2.0\r\n\r\n".to_vec(), 505),
            (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n".to_vec(), 400),
            (
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
                413,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
                501,
            ),
            (b"GET /\xff HTTP/1.1\r\n\r\n".to_vec(), 400),
            (b"GET / HTTP/1.1\r\nno-colon\r\n\r\n".to_vec(), 400),
            (
                [b"GET / HTTP/1.1\r\nX: ".to_vec(), vec![b'a'; MAX_HEAD]].concat(),
                431,
            ),
        ];
        for (input, status) in cases {
            let out = read_all(&input).await;
            match &out[0] {
                Err(refusal) => assert_eq!(
                    refusal.status,
                    status,
                    "{:?}",
                    String::from_utf8_lossy(&input)
                ),
                other => panic!(
                    "{:?} was accepted: {other:?}",
                    String::from_utf8_lossy(&input)
                ),
            }
        }
    }

    #[tokio::test]
    async fn a_client_expecting_100_continue_is_told_to_go_on() {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        client
            .write_all(b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            .await
            .unwrap();
        let reader = tokio::spawn(async move {
            let mut buf = Vec::new();
            read_request(&mut server, &mut buf).await
        });
        let mut answer = [0u8; 25];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 100 Continue\r\n\r\n");
        client.write_all(b"{}").await.unwrap();
        let request = reader.await.unwrap().unwrap().unwrap();
        assert_eq!(request.body, b"{}");
    }

    #[test]
    fn percent_decoding_keeps_broken_escapes() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("%ff", true), "\u{fffd}");
    }

    #[test]
    fn responses_carry_length_and_connection() {
        let bytes = Response::detail(404, "nope")
            .with_header("Retry-After", "3".to_owned())
            .to_bytes(false);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(text.contains("Retry-After: 3\r\n"));
        assert!(text.contains("Content-Length: 17\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with("{\"detail\":\"nope\"}"));
        let odd = String::from_utf8(Response::detail(42, "x").to_bytes(true)).unwrap();
        assert!(odd.starts_with("HTTP/1.1 500 "));
    }
}
