//! Cross-site request forgery: a state-changing request must say it comes from the
//! controller's own origin. Browsers send `Origin` on every cross-origin request and on form
//! posts; without it, `Referer` (same-origin requests keep it under our Referrer-Policy).
//! When the origin is a loopback name, the other loopback names of the same port are the same
//! machine and count as ours: the demo prints `localhost`, and an operator may type `127.0.0.1`.
//! A refusal says which origin the request came from and which one is ours, in the form its
//! sender reads: a page for a browser's plain form post, the server function error for the
//! app's own calls.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::config::origin_of;

/// The one origin state-changing requests may come from (`scheme://host[:port]`).
#[derive(Debug, Clone)]
pub struct AllowedOrigin(pub Arc<str>);

/// The names of this machine's loopback interface, as origins spell them.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl AllowedOrigin {
    /// Whether `origin` (already in `scheme://host[:port]` form) is ours.
    fn admits(&self, origin: &str) -> bool {
        origin == &*self.0 || (loopback_form(&self.0).is_some() && loopback_form(&self.0) == loopback_form(origin))
    }
}

/// A loopback origin with its host left out (`http://:3000`), so that the loopback names of one
/// port compare equal; `None` for any other origin.
fn loopback_form(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    LOOPBACK_HOSTS.iter().find_map(|host| {
        let port = rest.strip_prefix(host)?;
        (port.is_empty() || port.starts_with(':')).then(|| format!("{scheme}://{port}"))
    })
}

/// Whether `method` changes state: only these need the origin check. (Every server function
/// that changes something is a POST; GET, HEAD and OPTIONS change nothing here.)
fn changes_state(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// Why a request was refused, in words for the one who sent it.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Missing,
    /// The origin it stated, when it is one (`null` and unreadable values are not).
    Foreign(Option<String>),
}

/// The request's origin as the browser stated it: `Origin`, or else the origin of `Referer`.
fn check(headers: &HeaderMap, allowed: &AllowedOrigin) -> Result<(), Refusal> {
    let stated = match headers.get(header::ORIGIN) {
        Some(origin) => origin.to_str().ok().map(str::to_string),
        None => match headers.get(header::REFERER) {
            Some(referer) => referer.to_str().ok().map(str::to_string),
            None => return Err(Refusal::Missing),
        },
    };
    // `Origin: null` (sandboxed frames, some redirects) and unreadable values are foreign.
    match stated.as_deref().and_then(origin_of) {
        Some(origin) if allowed.admits(&origin) => Ok(()),
        origin => Err(Refusal::Foreign(origin)),
    }
}

/// The refusal in words: which origin the request came from, which one is ours, what to do.
fn explain(refusal: &Refusal, allowed: &str) -> String {
    let came = match refusal {
        Refusal::Missing => "it carries neither an Origin nor a Referer header".to_string(),
        Refusal::Foreign(Some(origin)) => format!("it comes from a page of {origin}"),
        Refusal::Foreign(None) => "it comes from a page of another site".to_string(),
    };
    format!(
        "request refused: {came}, and changes are only accepted from pages of {allowed} (CONTROLLER_PUBLIC_URL). \
         Open {allowed} and try again; if operators reach the controller by another address, set \
         CONTROLLER_PUBLIC_URL to it"
    )
}

/// The refusal as its sender reads it: a page for a browser's plain form post (it shows the
/// answer as it is), else the app's error, which its server function calls show on the page.
fn refusal_answer(headers: &HeaderMap, message: String, allowed: &str) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if accept.contains("text/html") {
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Request refused</title></head>\n\
             <body><h1>Request refused</h1><p>{}</p><p><a href=\"{}/\">Open {}</a></p></body></html>\n",
            escape(&message),
            escape(allowed),
            escape(allowed)
        );
        return (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    }
    let error = app::server_fns::UiError(domain::AppError::ForeignOrigin(message));
    let body = serde_json::to_string(&error).unwrap_or_default();
    (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Refuses a state-changing request whose origin is missing or not ours, before the session
/// is even read: nothing is done for it.
pub async fn same_origin(State(allowed): State<AllowedOrigin>, request: Request, next: Next) -> Response {
    if !changes_state(request.method()) {
        return next.run(request).await;
    }
    match check(request.headers(), &allowed) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal_answer(request.headers(), explain(&refusal, &allowed.0), &allowed.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), value.parse().unwrap());
        }
        map
    }

    fn allowed(origin: &str) -> AllowedOrigin {
        AllowedOrigin(origin.into())
    }

    fn foreign(origin: &str) -> Result<(), Refusal> {
        Err(Refusal::Foreign(Some(origin.into())))
    }

    #[test]
    fn origin_then_referer_decide() {
        let ours = &allowed("http://127.0.0.1:3000");
        assert_eq!(check(&headers(&[]), ours), Err(Refusal::Missing));
        assert_eq!(check(&headers(&[(header::ORIGIN, "http://127.0.0.1:3000")]), ours), Ok(()));
        assert_eq!(
            check(&headers(&[(header::ORIGIN, "http://127.0.0.1:3001")]), ours),
            foreign("http://127.0.0.1:3001")
        );
        assert_eq!(check(&headers(&[(header::ORIGIN, "null")]), ours), Err(Refusal::Foreign(None)));
        assert_eq!(check(&headers(&[(header::REFERER, "http://127.0.0.1:3000/tags?x=1")]), ours), Ok(()));
        assert_eq!(
            check(&headers(&[(header::REFERER, "http://127.0.0.1:3000.evil.example/")]), ours),
            Err(Refusal::Foreign(None)),
            "not an origin at all"
        );
        // Origin wins over a same-origin Referer.
        let both = headers(&[(header::ORIGIN, "https://evil.example"), (header::REFERER, "http://127.0.0.1:3000/")]);
        assert_eq!(check(&both, ours), foreign("https://evil.example"));
        let x = &allowed("https://x.example");
        assert_eq!(check(&headers(&[(header::ORIGIN, "https://x.example:443")]), x), Ok(()));
    }

    #[test]
    fn the_loopback_names_of_one_port_are_one_origin() {
        let demo = &allowed("http://localhost:8000");
        for same in ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"] {
            assert_eq!(check(&headers(&[(header::ORIGIN, same)]), demo), Ok(()), "{same}");
        }
        for other in ["http://127.0.0.1:8001", "https://127.0.0.1:8000", "http://localhost.evil.example:8000"] {
            assert!(check(&headers(&[(header::ORIGIN, other)]), demo).is_err(), "{other}");
        }
        let public = &allowed("https://palomar.example.net");
        assert!(check(&headers(&[(header::ORIGIN, "https://localhost")]), public).is_err());
    }

    #[test]
    fn a_refusal_names_both_origins() {
        let message = explain(&Refusal::Foreign(Some("http://127.0.0.1:8000".into())), "http://localhost:3000");
        assert!(message.contains("http://127.0.0.1:8000") && message.contains("http://localhost:3000"), "{message}");
        assert!(message.contains("CONTROLLER_PUBLIC_URL"), "{message}");
    }
}
