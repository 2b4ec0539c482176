//! The Palomar controller's admin UI: pages, components and server functions.
//! Built twice: with `ssr` for the server (the server functions' bodies call the core's
//! services) and with `hydrate` for the browser (which gets only the domain's types).

#[cfg(feature = "ssr")]
pub mod charts;
pub mod components;
pub mod pages;
pub mod server_fns;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use pages::{
    audit::AuditPage,
    backends::BackendsPage,
    controller::ControllerPage,
    dashboard::SiteDashboardPage,
    decisions::DecisionsPage,
    force_moves::ForceMovesPage,
    groups::{GroupPage, GroupsPage},
    layout::Layout,
    login::LoginPage,
    moves::MovesPage,
    operators::OperatorsPage,
    overview::OverviewPage,
    replay::ReplayPage,
    settings::{FeaturesPage, SettingsPage},
    site_layout::SiteLayout,
    sites::{EditSitePage, NewSitePage, RemoveSitePage, SitesPage},
    stats::{ReachabilityPage, SiteStatsPage},
    tags::TagsPage,
    tokens::TokensPage,
    users::UsersPage,
    NotFound,
};

/// The HTML document the server renders around the app. It sets the page's
/// Content-Security-Policy, with the nonce Leptos puts on the page's own scripts.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The policy of a page whose scripts carry `nonce`: its own scripts and the wasm they load
/// (`'wasm-unsafe-eval'`), its stylesheet, and requests to itself (server functions, the move
/// stream); no frames, plugins, foreign forms or `<base>`.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(value) = http::HeaderValue::from_str(&content_security_policy(&nonce)) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Pages are rendered whole before they are sent, so they work without JavaScript (out-of-order
/// streaming would need a script to put the loaded parts in place).
const SSR: SsrMode = SsrMode::Async;

/// The admin UI's routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/palomar.css"/>
        <Title text="Palomar cluster controller"/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage ssr=SSR/>
                <ParentRoute path=path!("") view=Layout ssr=SSR>
                    <Route path=path!("") view=OverviewPage ssr=SSR/>
                    <Route path=path!("sites") view=SitesPage ssr=SSR/>
                    <Route path=path!("sites/new") view=NewSitePage ssr=SSR/>
                    <ParentRoute path=path!("sites/:id") view=SiteLayout ssr=SSR>
                        <Route path=path!("") view=SiteDashboardPage ssr=SSR/>
                        <Route path=path!("edit") view=EditSitePage ssr=SSR/>
                        <Route path=path!("remove") view=RemoveSitePage ssr=SSR/>
                        <Route path=path!("backends") view=BackendsPage ssr=SSR/>
                        <Route path=path!("groups") view=GroupsPage ssr=SSR/>
                        <Route path=path!("groups/:name") view=GroupPage ssr=SSR/>
                        <Route path=path!("features") view=FeaturesPage ssr=SSR/>
                        <Route path=path!("stats") view=SiteStatsPage ssr=SSR/>
                        <Route path=path!("moves") view=MovesPage ssr=SSR/>
                        <Route path=path!("decisions") view=DecisionsPage ssr=SSR/>
                        <Route path=path!("force-move") view=ForceMovesPage ssr=SSR/>
                        <Route path=path!("replay") view=ReplayPage ssr=SSR/>
                    </ParentRoute>
                    <Route path=path!("controller") view=ControllerPage ssr=SSR/>
                    <Route path=path!("users") view=UsersPage ssr=SSR/>
                    <Route path=path!("settings") view=SettingsPage ssr=SSR/>
                    <Route path=path!("reachability") view=ReachabilityPage ssr=SSR/>
                    <Route path=path!("tags") view=TagsPage ssr=SSR/>
                    <Route path=path!("operators") view=OperatorsPage ssr=SSR/>
                    <Route path=path!("tokens") view=TokensPage ssr=SSR/>
                    <Route path=path!("audit") view=AuditPage ssr=SSR/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
