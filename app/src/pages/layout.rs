use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::{
    api::auth::{current_operator, Logout},
    components::{Me, RoleAtLeast},
    domain::Role,
    pages::hydration_marker,
};

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
                <A href="/" exact=true>"Overview"</A>
                <A href="/sites">"Sites"</A>
                <A href="/controller">"Controller"</A>
                <A href="/tags">"Tags"</A>
                <A href="/users">"Users"</A>
                <A href="/settings">"Settings"</A>
                <A href="/reachability">"Reachability"</A>
                <RoleAtLeast role=Role::Operator>
                    <A href="/tokens">"Tokens"</A>
                </RoleAtLeast>
                <RoleAtLeast role=Role::Admin>
                    <A href="/operators">"Operators"</A>
                    <A href="/audit">"Audit log"</A>
                </RoleAtLeast>
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
