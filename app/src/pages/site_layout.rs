//! The frame of every page of one site: its navigation, so that each site links its
//! dashboard, backends, groups, moves, decisions, features, proxies, force-moves, replays and
//! settings.

use leptos::prelude::*;
use leptos_router::{
    components::Outlet,
    hooks::{use_location, use_params_map},
};

/// The site's pages, as (path below `/sites/:id`, label).
const SITE_PAGES: [(&str, &str); 10] = [
    ("", "Dashboard"),
    ("/backends", "Backends"),
    ("/groups", "Groups"),
    ("/moves", "Moves"),
    ("/decisions", "Decisions"),
    ("/features", "Features"),
    ("/stats", "Proxies"),
    ("/force-move", "Force-move"),
    ("/replay", "Replay"),
    ("/edit", "Edit"),
];

/// The site navigation above the page of `/sites/:id/…`.
#[component]
pub fn SiteLayout() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let links = move || {
        let id = params.with(|p| p.get("id").unwrap_or_default());
        let here = location.pathname.get();
        SITE_PAGES
            .iter()
            .map(|(tail, label)| {
                let href = format!("/sites/{id}{tail}");
                // The groups link stays current on a group's page.
                let current = here == href || (!tail.is_empty() && here.starts_with(&format!("{href}/")));
                view! { <a href=href aria-current=current.then_some("page")>{*label}</a> }
            })
            .collect_view()
    };
    view! {
        <nav class="site-nav" aria-label="Site">{links}</nav>
        <Outlet/>
    }
}
