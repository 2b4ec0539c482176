//! The doveadm HTTP API of a simulated backend: the mounts `OPTIONS *`, `GET /`,
//! `GET /doveadm/v1` and `POST /doveadm/v1`, anything else `404 Path Not Found`; Basic
//! `doveadm:<password>` and `X-Dovecot-API <base64 key>`, with a challenge for each configured
//! mechanism; Dovecot's status texts; `Connection: close`. Request bodies are read by
//! `doveadm_request`. `tests/ce_fidelity.rs` holds all of it to a real Dovecot CE.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use domain::doveadm::DovecotLine;
use hyper::ext::ReasonPhrase;

use super::{
    doveadm_commands::{execute, COMMANDS},
    doveadm_request::{answer, command_list, read_request, refusal, Action},
    Simulator,
};

/// The credentials a backend accepts (`doveadm_password`, `doveadm_api_key`); `None` is a
/// setting left empty.
#[derive(Clone, Debug)]
pub struct DoveadmCredentials {
    /// Basic `doveadm:<password>`.
    pub password: Option<String>,
    /// `X-Dovecot-API <base64 of the key>`.
    pub api_key: Option<String>,
}

#[derive(Clone)]
struct ApiState {
    sim: Arc<Simulator>,
    host: String,
    credentials: DoveadmCredentials,
    line: DovecotLine,
}

/// The largest request body read; a larger one gets 413.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The router of one backend's doveadm HTTP listener, answering as `line` where the CE lines differ.
pub fn router(sim: Arc<Simulator>, host: String, credentials: DoveadmCredentials, line: DovecotLine) -> Router {
    // One handler for every method and path: Dovecot answers 404 (not 405) to a method it
    // does not serve, and OPTIONS on any path.
    Router::new().fallback(dispatch).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(ApiState {
        sim,
        host,
        credentials,
        line,
    })
}

/// The body of `GET /`: Dovecot's mount table, a line per mount on 2.3 and compact on 2.4.
fn mounts(line: DovecotLine) -> String {
    let mounts = [("OPTIONS", "*"), ("GET", "/"), ("GET", "/doveadm/v1"), ("POST", "/doveadm/v1")]
        .map(|(method, path)| format!("{{\"method\":\"{method}\",\"path\":\"{path}\"}}"));
    match line {
        DovecotLine::Ce23 => format!("[\n{}\n]", mounts.join(",\n")),
        DovecotLine::Ce24 => format!("[{}]", mounts.join(",")),
    }
}

/// CORS headers of Dovecot's OPTIONS answer, in its order.
const CORS: [(&str, &str); 4] = [
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET, POST, OPTIONS"),
    ("access-control-allow-request-headers", "Content-Type, X-API-Key, Authorization"),
    ("access-control-allow-headers", "Content-Type, WWW-Authenticate"),
];

async fn dispatch(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::HEAD {
        return finish(status_line_only(StatusCode::NOT_FOUND), Some("Path Not Found"));
    }
    if method == Method::OPTIONS {
        let mut response = StatusCode::OK.into_response();
        for (name, value) in CORS {
            response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        return finish(response, None);
    }
    // Dovecot compares the method exactly and the path after percent-decoding, without the query.
    let path = percent_decoded(uri.path());
    let on_v1 = path == b"/doveadm/v1";
    let known = match method.as_str() {
        "GET" => path == b"/" || on_v1,
        "POST" => on_v1,
        _ => false,
    };
    if !known {
        return text(StatusCode::NOT_FOUND, Some("Path Not Found"), "Path Not Found");
    }
    if let Err(refusal) = authorize(&state.credentials, &headers) {
        return *refusal;
    }
    match (method.as_str(), on_v1) {
        ("GET", false) => json(mounts(state.line)),
        ("GET", true) => json(command_list(COMMANDS, state.line)),
        _ => run_request(&state, &body).await,
    }
}

/// Reads the whole request, then runs its commands in order and answers them together.
async fn run_request(state: &ApiState, body: &[u8]) -> Response {
    let entries = match read_request(body, COMMANDS, state.line) {
        Ok(entries) => entries,
        Err(message) => return text(StatusCode::BAD_REQUEST, None, &message),
    };
    let mut answers = Vec::with_capacity(entries.len());
    for entry in entries {
        answers.push(match entry.action {
            Action::Run(command, params) => {
                answer(&entry.tag, execute(&state.sim, &state.host, command, params).await, state.line)
            }
            Action::Refuse(kind) => refusal(&entry.tag, kind, state.line),
        });
    }
    json(format!("[{}]", answers.join(",")))
}

/// An answer to HEAD as Dovecot gives it: no body, no `Content-Type`, no `Content-Length`. The
/// body's length is left unknown, so that nothing adds a `Content-Length: 0`.
pub(crate) fn status_line_only(status: StatusCode) -> Response {
    let nothing = futures::stream::empty::<Result<Bytes, std::io::Error>>();
    (status, axum::body::Body::from_stream(nothing)).into_response()
}

/// Every answer closes the connection, as Dovecot's does; `reason` replaces the standard
/// reason phrase on the status line where Dovecot words it its own way.
fn finish(mut response: Response, reason: Option<&'static str>) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    if let Some(reason) = reason {
        response.extensions_mut().insert(ReasonPhrase::from_static(reason.as_bytes()));
    }
    response
}

/// A `text/plain` answer: the text and a CRLF, as Dovecot ends its error texts.
fn text(status: StatusCode, reason: Option<&'static str>, body: &str) -> Response {
    let response = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{body}\r\n"));
    finish(response.into_response(), reason)
}

fn json(body: String) -> Response {
    finish(([(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response(), None)
}

/// 401 as Dovecot sends it: an empty body and one challenge per configured mechanism,
/// the API key's first.
fn unauthorized(credentials: &DoveadmCredentials) -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    let headers = response.headers_mut();
    if credentials.api_key.is_some() {
        headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("X-Dovecot-API"));
    }
    if credentials.password.is_some() {
        headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic Realm=\"doveadm\""));
    }
    finish(response, Some("Authentication required"))
}

/// `Err` carries the refusal to send (boxed: a response is large).
fn authorize(credentials: &DoveadmCredentials, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if credentials.password.is_none() && credentials.api_key.is_none() {
        return Err(Box::new(text(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal Server Error")));
    }
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(scheme_and_token);
    let accepted = given.is_some_and(|(scheme, token)| {
        // Dovecot compares the token with the base64 of what it expects, as text: the scheme
        // is case-insensitive, the token is not decoded.
        let expected = if scheme.eq_ignore_ascii_case("Basic") {
            credentials.password.as_ref().map(|p| STANDARD.encode(format!("doveadm:{p}")))
        } else if scheme.eq_ignore_ascii_case("X-Dovecot-API") {
            credentials.api_key.as_ref().map(|k| STANDARD.encode(k))
        } else {
            None
        };
        expected.is_some_and(|expected| expected == token)
    });
    if accepted {
        Ok(())
    } else {
        Err(Box::new(unauthorized(credentials)))
    }
}

/// `Scheme token`, separated by spaces (Dovecot's parser takes no tab there); surrounding
/// whitespace is the header's, not the credentials'.
fn scheme_and_token(value: &str) -> Option<(&str, &str)> {
    let (scheme, token) = value.trim().split_once(' ')?;
    Some((scheme, token.trim_start_matches(' ')))
}

/// The path with `%XX` escapes decoded, as Dovecot's URL parser hands it over.
fn percent_decoded(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_split_like_dovecot_splits_them() {
        assert_eq!(scheme_and_token("basic  abc= "), Some(("basic", "abc=")));
        assert_eq!(scheme_and_token("Basic\tabc"), None);
        assert_eq!(scheme_and_token("Basic"), None);
    }

    #[test]
    fn paths_are_percent_decoded() {
        assert_eq!(percent_decoded("/doveadm%2Fv1"), b"/doveadm/v1");
        assert_eq!(percent_decoded("/a%zz%4"), b"/a%zz%4");
    }
}
