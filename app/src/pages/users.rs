use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{FormError, LoadError, MaybeTime, Me, PageError, SyncView},
    server_fns::users::{lookup_user, DeleteUser, MoveUser},
};

use domain::Role;

/// Looks a user up by name and shows the route a proxy would take; operators move users,
/// admins delete them.
#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let username = move || query.with(|q| q.get("username").unwrap_or_default());
    let move_user = ServerAction::<MoveUser>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let user = Resource::new(
        move || (username(), move_user.version().get(), delete.version().get()),
        |(name, ..)| async move {
            if name.trim().is_empty() {
                None
            } else {
                Some(lookup_user(name).await)
            }
        },
    );
    let error = PageError::new().watch(move_user.value()).watch(delete.value()).signal();
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Users · Palomar"/>
        <h1>"Users"</h1>
        <form method="get" action="/users" class="inline" id="user-lookup">
            <input name="username" value=username placeholder="user@example.net" aria-label="Username" required/>
            <button type="submit">"Look up"</button>
        </form>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let role = me.await.map(|op| op.role).unwrap_or(Role::Viewer);
                match user.await {
                    None => Either::Left(Either::Left(view! { <p class="muted">"Look a user up by name."</p> })),
                    Some(Err(error)) => Either::Left(Either::Right(view! { <LoadError error/> })),
                    Some(Ok(detail)) => Either::Right(SyncView::new(move || {
                        let u = detail.user.clone();
                        let (name1, name2) = (u.username.clone(), u.username.clone());
                        let site = u.preferred_site_id.map(|s| s.to_string()).unwrap_or_default();
                        let pending = if u.moving_group_name.is_empty() { "none".to_string() } else { format!("to {} (at the next access)", u.moving_group_name) };
                        view! {
                            <dl class="facts" id="user-facts">
                                <dt>"User"</dt><dd>{u.username.clone()}</dd>
                                <dt>"Route"</dt><dd id="user-route">{format!("{} → {} → {}", detail.site_name, u.group_name, detail.backend_host.clone().unwrap_or_else(|| "no backend".into()))}</dd>
                                <dt>"Why"</dt><dd>{detail.route.clone()}</dd>
                                <dt>"Group moving"</dt><dd>{if detail.group_moving { "yes" } else { "no" }}</dd>
                                <dt>"Failover group"</dt><dd>{u.failover_site_group_name.clone()}</dd>
                                <dt>"Pending user move"</dt><dd id="user-pending">{pending}</dd>
                                <dt>"Metacache last host"</dt><dd>{u.metacache_last_host.clone()}</dd>
                                <dt>"Last update"</dt><dd><MaybeTime at=u.last_update/></dd>
                            </dl>
                            {(role >= Role::Operator).then(|| view! {
                                <h2>"Move to another group"</h2>
                                <ActionForm action=move_user attr:class="inline" attr:id="move-user">
                                    <input type="hidden" name="username" value=name1/>
                                    <input type="hidden" name="site_id" value=site/>
                                    <input name="group" placeholder="default-7" aria-label="Target group" required maxlength="64"/>
                                    <input name="failover_group" placeholder="failover group (optional)" aria-label="Failover group" maxlength="64"/>
                                    <button type="submit">"Move user"</button>
                                </ActionForm>
                            })}
                            {(role >= Role::Admin).then(|| view! {
                                <ActionForm action=delete attr:class="inline" attr:id="delete-user">
                                    <input type="hidden" name="username" value=name2/>
                                    <button type="submit" class="danger">"Delete user row"</button>
                                </ActionForm>
                            })}
                        }
                    })),
                }
            })}
        </Suspense>
    }
}
