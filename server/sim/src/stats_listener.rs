//! A simulated proxy's stats HTTP listener, answering as Dovecot CE's stats service does (2.3.19
//! and 2.4.1 alike; `tests/ce_fidelity.rs` compares them): `GET /` is a small page linking to
//! the metrics, `GET /metrics` and `GET /metrics/` the OpenMetrics text; any other method on
//! those paths `405 Method Not Allowed` with `Allow: GET` (a text body, none for HEAD); a path
//! under `/metrics/` `404 Not Found`; anything else `404 Path Not Found`. A HEAD answer has
//! neither body nor `Content-Type` nor `Content-Length`.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Router,
};
use hyper::ext::ReasonPhrase;

use super::{doveadm_api::status_line_only, exposition::OPENMETRICS_CONTENT_TYPE, Simulator};

/// The router of one proxy's stats listener.
pub fn router(sim: Arc<Simulator>, host: String) -> Router {
    Router::new().fallback(dispatch).with_state((sim, host))
}

enum Page {
    Index,
    Metrics,
}

async fn dispatch(
    State((sim, host)): State<(Arc<Simulator>, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let head = method == Method::HEAD;
    let page = match uri.path() {
        "/" => Page::Index,
        "/metrics" | "/metrics/" => Page::Metrics,
        path if path.starts_with("/metrics/") => return text(StatusCode::NOT_FOUND, "Not Found", head),
        _ => return text(StatusCode::NOT_FOUND, "Path Not Found", head),
    };
    if method != Method::GET {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed", head);
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    match page {
        Page::Index => {
            // The link names the host the client asked for, as Dovecot's page does.
            let asked = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let link: String = asked.chars().filter(|c| c.is_ascii_graphic() && !"<>\"'&".contains(*c)).collect();
            let page = format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n\n<head>\n<meta charset=\"utf-8\">\n<title>Dovecot Stats</title>\n\
                 </head>\n\n<body>\n<h1>Dovecot Stats:</h1>\n<p><ul>\n\
                 <li><a href=\"http://{link}/metrics\">OpenMetrics</a></li>\n</ul></p>\n</body>\n\n</html>\n"
            );
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
        }
        Page::Metrics => match sim.proxy_metrics(&host) {
            Some(body) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response(),
            None => text(StatusCode::NOT_FOUND, "Path Not Found", false),
        },
    }
}

/// Dovecot's text answer: the reason phrase as status text and body (with a CRLF); for HEAD,
/// the status line alone.
fn text(status: StatusCode, reason: &'static str, head: bool) -> Response {
    let mut response = if head {
        status_line_only(status)
    } else {
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{reason}\r\n")).into_response()
    };
    response.extensions_mut().insert(ReasonPhrase::from_static(reason.as_bytes()));
    response
}
