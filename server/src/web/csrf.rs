//! Cross-site request forgery: a state-changing request must say it comes from the
//! controller's own origin. Browsers send `Origin` on every cross-origin request and on form
//! posts; without it, `Referer` (same-origin requests keep it under our Referrer-Policy).

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

/// Whether `method` changes state: only these need the origin check. (Every server function
/// that changes something is a POST; GET, HEAD and OPTIONS change nothing here.)
fn changes_state(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// Why a request was refused, in words for the one who sent it.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Missing,
    Foreign,
}

/// The request's origin as the browser stated it: `Origin`, or else the origin of `Referer`.
fn check(headers: &HeaderMap, allowed: &str) -> Result<(), Refusal> {
    let stated = match headers.get(header::ORIGIN) {
        Some(origin) => origin.to_str().ok().map(str::to_string),
        None => match headers.get(header::REFERER) {
            Some(referer) => referer.to_str().ok().map(str::to_string),
            None => return Err(Refusal::Missing),
        },
    };
    // `Origin: null` (sandboxed frames, some redirects) and unreadable values are foreign.
    match stated.as_deref().and_then(origin_of) {
        Some(origin) if origin == allowed => Ok(()),
        _ => Err(Refusal::Foreign),
    }
}

/// Refuses a state-changing request whose origin is missing or not ours, before the session
/// is even read: nothing is done for it.
pub async fn same_origin(State(allowed): State<AllowedOrigin>, request: Request, next: Next) -> Response {
    if !changes_state(request.method()) {
        return next.run(request).await;
    }
    match check(request.headers(), &allowed.0) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            let why = match refusal {
                Refusal::Missing => "it carries neither an Origin nor a Referer header",
                Refusal::Foreign => "it comes from another site",
            };
            let message = format!(
                "request refused: {why}. Changes are only accepted from pages of {} (CONTROLLER_PUBLIC_URL)",
                allowed.0
            );
            (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
        }
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

    #[test]
    fn origin_then_referer_decide() {
        let ours = "http://127.0.0.1:3000";
        assert_eq!(check(&headers(&[]), ours), Err(Refusal::Missing));
        assert_eq!(check(&headers(&[(header::ORIGIN, "http://127.0.0.1:3000")]), ours), Ok(()));
        assert_eq!(check(&headers(&[(header::ORIGIN, "http://127.0.0.1:3001")]), ours), Err(Refusal::Foreign));
        assert_eq!(check(&headers(&[(header::ORIGIN, "null")]), ours), Err(Refusal::Foreign));
        assert_eq!(check(&headers(&[(header::REFERER, "http://127.0.0.1:3000/tags?x=1")]), ours), Ok(()));
        assert_eq!(
            check(&headers(&[(header::REFERER, "http://127.0.0.1:3000.evil.example/")]), ours),
            Err(Refusal::Foreign)
        );
        // Origin wins over a same-origin Referer.
        let both = headers(&[(header::ORIGIN, "https://evil.example"), (header::REFERER, "http://127.0.0.1:3000/")]);
        assert_eq!(check(&both, ours), Err(Refusal::Foreign));
        assert_eq!(check(&headers(&[(header::ORIGIN, "https://x.example:443")]), "https://x.example"), Ok(()));
    }
}
