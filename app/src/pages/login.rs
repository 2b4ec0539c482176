use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{form_error, FormError},
    pages::hydration_marker,
    server_fns::auth::Login,
};

/// The only page reachable without a session.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = form_error(login.value());
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    let hydrated = hydration_marker();
    view! {
        <Title text="Log in · Palomar"/>
        <main class="login" data-hydrated=move || hydrated.get().to_string()>
            <h1>"Palomar cluster controller"</h1>
            <ActionForm action=login>
                <label>"Username"<input name="username" autocomplete="username" required/></label>
                <label>"Password"<input type="password" name="password" autocomplete="current-password" required/></label>
                <input type="hidden" name="next" value=next/>
                <FormError error/>
                <button type="submit">"Log in"</button>
            </ActionForm>
        </main>
    }
}
