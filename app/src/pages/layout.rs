use leptos::prelude::*;
use leptos_router::{components::Outlet, hooks::use_location};

use crate::{
    components::{Me, RoleAtLeast},
    pages::hydration_marker,
    server_fns::auth::{current_operator, Logout},
};

use domain::Role;

/// The top navigation, as (path, label): for everyone, then operators, then admins.
const EVERYONE: [(&str, &str); 7] = [
    ("/", "Overview"),
    ("/sites", "Sites"),
    ("/controller", "Controller"),
    ("/tags", "Tags"),
    ("/users", "Users"),
    ("/settings", "Settings"),
    ("/reachability", "Reachability"),
];
const OPERATORS: [(&str, &str); 1] = [("/tokens", "Tokens")];
const ADMINS: [(&str, &str); 2] = [("/operators", "Operators"), ("/audit", "Audit log")];

/// Plain links marked `aria-current` while their page (or one below it) shows: one reading
/// of the location for all of them, where a router `<A>` each would keep its own (every page
/// renders these, so they are part of every request's cost).
fn links(pages: &'static [(&'static str, &'static str)]) -> impl IntoView {
    let location = use_location();
    move || {
        let here = location.pathname.get();
        pages
            .iter()
            .map(|(href, label)| {
                let current = here == *href || (*href != "/" && here.starts_with(&format!("{href}/")));
                view! { <a href=*href aria-current=current.then_some("page")>{*label}</a> }
            })
            .collect_view()
    }
}

/// The frame of every page behind the login: navigation, who is logged in, log out.
#[component]
pub fn Layout() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_operator());
    provide_context(Me(me));
    let logout = ServerAction::<Logout>::new();
    let hydrated = hydration_marker();
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Palomar"</a>
            <nav>
                {links(&EVERYONE)}
                <RoleAtLeast role=Role::Operator>{links(&OPERATORS)}</RoleAtLeast>
                <RoleAtLeast role=Role::Admin>{links(&ADMINS)}</RoleAtLeast>
            </nav>
            <span class="who">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().map(|op| view! { <span id="who">{op.username}</span>" · "{op.role.to_string()} })
                    })}
                </Suspense>
            </span>
            <ActionForm action=logout attr:class="logout">
                <button type="submit" class="link">"Log out"</button>
            </ActionForm>
        </header>
        <main data-hydrated=move || hydrated.get().to_string()>
            <Outlet/>
        </main>
    }
}
