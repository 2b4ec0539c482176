//! Small components shared by the pages.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use domain::{operator::OperatorView, AppError, ErrorKind, Role};

use crate::server_fns::UiError;

mod alert_list;
mod live_moves;
mod reachability_matrix;
mod sync_view;

pub use alert_list::AlertList;
pub use live_moves::LiveMoves;
pub use reachability_matrix::{ReachabilityMatrixSection, ReachabilityMatrixTable};
pub use sync_view::SyncView;

/// The error of an action's last submission (made with JavaScript), if it failed.
pub fn action_error<T, S>(value: S) -> Signal<Option<AppError>>
where
    S: Get<Value = Option<Result<T, UiError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(Result::err).map(|e| e.0))
}

/// The error of a plain form post (made without JavaScript) that the server sent back to its
/// page: the query string names its kind (and field), the session kept its message. A kind with
/// no kept message, or of an address made elsewhere, shows the kind's standing text; a word
/// outside the closed set shows nothing.
pub fn redirected_error() -> Signal<Option<AppError>> {
    let query = use_query_map();
    let kept = kept_form_error();
    Signal::derive(move || {
        query.with(|q| {
            let kind = q.get("error")?.parse::<ErrorKind>().ok()?;
            let field = q.get("field").filter(|f| is_field_name(f)).unwrap_or_default();
            Some(match &kept {
                Some(err) if err.error_kind() == kind => err.clone(),
                _ => kind.standing_error(&field),
            })
        })
    })
}

/// The message the session kept for this page's error (see `support::finish`); none in the
/// browser, which shows the kind's standing text.
fn kept_form_error() -> Option<AppError> {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>()?;
        parts.extensions.get::<crate::server_fns::support::FormFlash>().map(|kept| kept.0.clone())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// A form field's name as forms write them: lower-case words joined by `_`, at most 40 bytes.
pub fn is_field_name(name: &str) -> bool {
    (1..=40).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The error to show under a form: its action's, or else the redirected one.
pub fn form_error<T, S>(value: S) -> Signal<Option<AppError>>
where
    S: Get<Value = Option<Result<T, UiError>>> + Send + Sync + 'static,
{
    let redirected = redirected_error();
    Signal::derive(move || match value.get() {
        Some(result) => result.err().map(|e| e.0),
        None => redirected.get(),
    })
}

/// The one error a page with several forms shows: the last submission's, whichever form it
/// came from (or, before any, the one a plain form post was redirected back with).
#[derive(Clone, Copy)]
pub struct PageError(RwSignal<Option<AppError>>);

impl PageError {
    pub fn new() -> Self {
        Self(RwSignal::new(redirected_error().get_untracked()))
    }

    /// Follows an action: each new result replaces the page's error.
    pub fn watch<T, S>(self, value: S) -> Self
    where
        T: Clone + Send + Sync + 'static,
        S: Get<Value = Option<Result<T, UiError>>> + Send + Sync + 'static,
    {
        let error = self.0;
        Effect::watch(
            move || value.get(),
            move |result, _, _| error.set(result.as_ref().and_then(|r| r.as_ref().err().map(|e| e.0.clone()))),
            false,
        );
        self
    }

    pub fn signal(self) -> Signal<Option<AppError>> {
        self.0.into()
    }
}

impl Default for PageError {
    fn default() -> Self {
        Self::new()
    }
}

/// Shows a form's error, if any, as an alert next to the form.
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|err| {
            let field = err.field().unwrap_or_default().to_string();
            view! { <p class="form-error" role="alert" data-field=field>{err.to_string()}</p> }
        })
    }
}

/// Shows a failed load as a message instead of a page.
#[component]
pub fn LoadError(#[prop(into)] error: AppError) -> impl IntoView {
    view! { <p class="load-error" role="alert">{error.to_string()}</p> }
}

/// Renders its children only for operators whose role is at least `role`. The server checks
/// the role again on every call; this only keeps controls out of sight.
#[component]
pub fn RoleAtLeast(role: Role, children: ChildrenFn) -> impl IntoView {
    let Me(me) = expect_context::<Me>();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    let allowed = me.await.is_ok_and(|op| op.role >= role);
                    allowed.then(|| children())
                })
            }}
        </Suspense>
    }
}

/// The logged-in operator, loaded once by the layout for every page below it.
#[derive(Clone, Copy)]
pub struct Me(pub Resource<Result<OperatorView, UiError>>);

/// A status word as a coloured badge.
#[component]
pub fn StatusBadge(status: String) -> impl IntoView {
    let class = format!("badge badge-{status}");
    view! { <span class=class>{status}</span> }
}

/// A time as every page shows it: how long ago (or how soon), with the full UTC time as its
/// tooltip and in `datetime`.
#[component]
pub fn Time(at: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    use domain::time::{full, relative};
    view! { <time datetime=at.to_rfc3339() title=full(at)>{relative(at, chrono::Utc::now())}</time> }
}

/// An optional time, or a dash.
#[component]
pub fn MaybeTime(at: Option<chrono::DateTime<chrono::Utc>>) -> impl IntoView {
    match at {
        Some(at) => leptos::either::Either::Left(view! { <Time at/> }),
        None => leptos::either::Either::Right("—"),
    }
}
