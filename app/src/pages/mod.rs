//! The admin UI's pages.

pub mod audit;
pub mod backends;
pub mod controller;
pub mod dashboard;
pub mod decisions;
pub mod force_moves;
pub mod groups;
pub mod layout;
pub mod login;
pub mod moves;
pub mod operators;
pub mod overview;
pub mod replay;
pub mod settings;
pub mod site_layout;
pub mod sites;
pub mod stats;
pub mod tags;
pub mod tokens;
pub mod users;

use leptos::prelude::*;

/// Any path the router does not know. Answers 404 on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="narrow">
            <h1>"Not found"</h1>
            <p><a href="/">"Back to the overview"</a></p>
        </main>
    }
}

/// `true` once the browser has hydrated the page; tests wait for it before they click.
pub fn hydration_marker() -> Signal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    hydrated.into()
}
