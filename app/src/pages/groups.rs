use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{form_error, FormError, LiveMoves, LoadError, MaybeTime, Me, PageError, SyncView},
    server_fns::{
        groups::{
            get_group, init_progress, list_group_members, list_groups, InitSiteGroups, MoveGroup, SetGroupSticky,
        },
        moves::{list_moves, EndGroupMove},
        support_client::encode,
    },
};

use domain::{cluster::GroupRow, Role};

/// A site's groups, a page at a time, filtered by backend, name mask and moving state.
#[component]
pub fn GroupsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let q = move |name: &str| query.with(|q| q.get(name).unwrap_or_default());
    let init = ServerAction::<InitSiteGroups>::new();
    let groups = Resource::new(
        move || {
            (site_id(), q("backend"), q("mask"), q("moving"), query.with(|q| q.get("cursor")), init.version().get())
        },
        |(site, backend, mask, moving, cursor, _)| list_groups(site, backend, mask, moving, cursor),
    );
    let error = form_error(init.value());
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Groups · Palomar"/>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let role = me.await.map(|op| op.role).unwrap_or(Role::Viewer);
                match groups.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(list) => {
                        let site = site_id();
                        let (init_site, progress_site) = (site.clone(), site.clone());
                        let (backend, mask, moving) = (q("backend"), q("mask"), q("moving"));
                        let next = list.next.clone().map(|next| {
                            let href = format!(
                                "/sites/{site}/groups?backend={}&mask={}&moving={}&cursor={next}",
                                encode(&backend), encode(&mask), encode(&moving)
                            );
                            view! { <a class="next" href=href>"Next page"</a> }
                        });
                        Either::Right(view! {
                            <div class="page-head">
                                <h1>"Groups of "{list.site_name.clone()}</h1>
                                <a href=format!("/sites/{site}/backends")>"Backends"</a>
                            </div>
                            <form method="get" action=format!("/sites/{site}/groups") class="inline" id="group-filter">
                                <input name="backend" value=backend.clone() placeholder="backend host, e.g. be1.dc1a.example.net" aria-label="Backend" maxlength="253" autocomplete="off"/>
                                <input name="mask" value=mask.clone() placeholder="name mask, e.g. default-1*" aria-label="Name mask"/>
                                <select name="moving" aria-label="Moving">
                                    {[("any", "moving or not"), ("yes", "moving"), ("no", "not moving")].into_iter().map(|(v, label)| {
                                        view! { <option value=v selected=moving == v>{label}</option> }
                                    }).collect_view()}
                                </select>
                                <button type="submit">"Filter"</button>
                            </form>
                            <p class="muted">"Filters apply to each page as it is read, so a page may show fewer groups than it could."</p>
                            <table class="list" id="groups">
                                <thead><tr><th>"Group"</th><th>"Backend"</th><th>"Alternative"</th><th>"Users"</th><th>"Moving"</th><th>"Sticky"</th></tr></thead>
                                <tbody>{SyncView::new({
                                    let site = site.clone();
                                    move || list.rows.into_iter().map(|row| group_line(row, &site)).collect_view()
                                })}</tbody>
                            </table>
                            {next}
                            {(role >= Role::Admin).then(|| view! {
                                <h2>"Initialise default groups"</h2>
                                <ActionForm action=init attr:class="inline" attr:id="init-groups">
                                    <input type="hidden" name="site_id" value=init_site.clone()/>
                                    <input type="number" name="count" min="1" max="100000" value="100" aria-label="Number of default groups" class="narrow"/>
                                    <button type="submit">"Create missing default-1..N"</button>
                                    <small class="muted">"Like doveadm cluster site init: existing groups are kept."</small>
                                </ActionForm>
                                <InitProgress site_id=progress_site.clone() pending=init.pending().into()/>
                            })}
                        })
                    }
                }
            })}
        </Suspense>
    }
}

/// A site initialisation's progress bar: shown when the page loads during one, and kept up
/// to date while this page's own initialisation runs.
#[component]
fn InitProgress(site_id: String, pending: Signal<bool>) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let progress = Resource::new(move || tick.get(), move |_| init_progress(site_id.clone()));
    Effect::new(move |_| {
        let poll = move || {
            if pending.get_untracked() {
                tick.update(|t| *t += 1);
            }
        };
        if let Ok(handle) = set_interval_with_handle(poll, std::time::Duration::from_millis(500)) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                progress.await.ok().flatten().map(|p| view! {
                    <p id="init-progress">
                        <progress max=p.total.to_string() value=p.done.to_string()></progress>
                        {format!(" {} of {} groups checked", p.done, p.total)}
                    </p>
                })
            })}
        </Transition>
    }
}

/// One group's row. A plain function, not a component: a page renders 50.
fn group_line(row: GroupRow, site: &str) -> impl IntoView {
    let g = row.group;
    let sticky = match (g.sticky_users, g.sticky_backend) {
        (false, false) => "",
        (true, false) => "users",
        (false, true) => "backend",
        (true, true) => "users, backend",
    };
    let href = format!("/sites/{site}/groups/{}", g.name);
    view! {
        <tr data-group=g.name.clone() data-moving=g.moving.is_some().to_string()>
            <td><a href=href>{g.name.clone()}</a></td>
            <td>{row.backend_host}</td>
            <td>{row.alt_backend_host}</td>
            <td class="number">{row.users.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</td>
            <td>{if g.moving.is_some() { "moving" } else { "" }}</td>
            <td>{sticky}</td>
        </tr>
    }
}

/// One group: its backends, sticky flags, sites, and a move.
#[component]
pub fn GroupPage() -> impl IntoView {
    let params = use_params_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let move_group = ServerAction::<MoveGroup>::new();
    let sticky = ServerAction::<SetGroupSticky>::new();
    let group = Resource::new(
        move || (site_id(), name(), move_group.version().get(), sticky.version().get()),
        |(site, name, ..)| get_group(site, name),
    );
    let Me(me) = expect_context::<Me>();
    let query = use_query_map();
    let members = Resource::new(
        move || (site_id(), name(), query.with(|q| q.get("members_cursor"))),
        |(site, name, cursor)| list_group_members(site, name, cursor),
    );
    let end = ServerAction::<EndGroupMove>::new();
    let moves = Resource::new(
        move || (site_id(), move_group.version().get(), end.version().get()),
        |(site, ..)| list_moves(site, None),
    );
    let error = PageError::new().watch(move_group.value()).watch(sticky.value()).watch(end.value()).signal();
    view! {
        <Title text="Group · Palomar"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let role = me.await.map(|op| op.role).unwrap_or(Role::Viewer);
                match group.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(detail) => {
                        let site = site_id();
                        let g = detail.row.group.clone();
                        let (n1, n2, s1, s2) = (g.name.clone(), g.name.clone(), site.clone(), site.clone());
                        let refresh = g.refresh_after;
                        let moving = g.moving.as_ref().map(|token| format!("yes ({token})")).unwrap_or_else(|| "no".to_string());
                        Either::Right(view! {
                            <div class="page-head">
                                <h1>"Group "{g.name.clone()}" in "{detail.site_name.clone()}</h1>
                                <a href=format!("/sites/{site}/groups")>"All groups"</a>
                            </div>
                            <FormError error/>
                            <dl class="facts" id="group-facts">
                                <dt>"Backend"</dt><dd id="group-backend">{detail.row.backend_host.clone()}</dd>
                                <dt>"Alternative backend"</dt><dd>{detail.row.alt_backend_host.clone()}</dd>
                                <dt>"Moving"</dt><dd id="group-moving">{moving}</dd>
                                <dt>"Refresh after"</dt><dd><MaybeTime at=refresh/></dd>
                                <dt>"Users"</dt><dd>{detail.row.users.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Sites"</dt><dd>{if detail.sites.is_empty() { "no group_sites rows".to_string() } else {
                                    detail.sites.iter().map(|s| format!("{} ({})", s.site_id, s.status)).collect::<Vec<_>>().join(", ")
                                }}</dd>
                            </dl>
                            {(role >= Role::Operator).then(|| view! {
                                <h2>"Sticky flags"</h2>
                                <ActionForm action=sticky attr:class="inline" attr:id="sticky-form">
                                    <input type="hidden" name="site_id" value=s1/>
                                    <input type="hidden" name="name" value=n1/>
                                    <input type="hidden" name="shown_sticky_users" value=if g.sticky_users { "yes" } else { "no" }/>
                                    <input type="hidden" name="shown_sticky_backend" value=if g.sticky_backend { "yes" } else { "no" }/>
                                    <label><input type="checkbox" name="sticky_users" value="yes" checked=g.sticky_users/>" users stay in this group (no group-size balancing)"</label>
                                    <label><input type="checkbox" name="sticky_backend" value="yes" checked=g.sticky_backend/>" group stays on its backend (no load balancing)"</label>
                                    <button type="submit">"Save flags"</button>
                                </ActionForm>
                                <h2>"Move"</h2>
                                {if detail.destinations.is_empty() {
                                    Either::Left(view! { <p class="muted">"No backend can take this group now (it must be online with a load factor above 0)."</p> })
                                } else {
                                    Either::Right(view! {
                                        <ActionForm action=move_group attr:class="inline" attr:id="move-form">
                                            <input type="hidden" name="site_id" value=s2/>
                                            <input type="hidden" name="name" value=n2/>
                                            <select name="destination" aria-label="Destination backend">
                                                {detail.destinations.iter().map(|(id, host)| view! { <option value=id.to_string()>{host.clone()}</option> }).collect_view()}
                                            </select>
                                            <button type="submit">"Start move"</button>
                                        </ActionForm>
                                    })
                                }}
                            })}
                        })
                    }
                }
            })}
        </Suspense>
        <h2>"Move progress"</h2>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let operator = me.await.is_ok_and(|op| op.role >= Role::Operator);
                match moves.await {
                    Err(_) => Either::Left(view! { <p class="muted">"The controller's moves are not available here."</p> }),
                    Ok((live, _)) => {
                        let group = name();
                        Either::Right(view! { <LiveMoves site_id=site_id() initial=live group=Some(group) operator end/> })
                    }
                }
            })}
        </Suspense>
        <h2>"Users"</h2>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match members.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => {
                        let (site, group) = (site_id(), name());
                        let next = page.next.clone().map(|n| view! { <a class="next" href=format!("/sites/{site}/groups/{group}?members_cursor={n}")>"Next users"</a> });
                        Either::Right(view! {
                            <p class="muted">"As the last census found them; a user's own page shows their current group."</p>
                            <ul class="members" id="group-members">
                                {page.items.into_iter().map(|u| view! { <li><a href=format!("/users?username={}", encode(&u))>{u.clone()}</a></li> }).collect_view()}
                            </ul>
                            {next}
                        })
                    }
                }
            })}
        </Suspense>
    }
}
