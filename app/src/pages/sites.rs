use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{form_error, FormError, LoadError, Me, RoleAtLeast, StatusBadge},
    server_fns::{
        sites::{get_site, list_sites, AddSite, RemoveSite, UpdateSite},
        tags::all_tags,
    },
};

use domain::{AppError, Role, Site, SiteRow, SiteStatus, Tag};

/// All sites, a page at a time, with a name filter that works in the browser.
#[component]
pub fn SitesPage() -> impl IntoView {
    let query = use_query_map();
    let sites = Resource::new(move || query.with(|q| q.get("cursor")), list_sites);
    let filter = RwSignal::new(String::new());
    view! {
        <Title text="Sites · Palomar"/>
        <div class="page-head">
            <h1>"Sites"</h1>
            <RoleAtLeast role=Role::Admin>
                <a class="button" href="/sites/new">"Add site"</a>
            </RoleAtLeast>
        </div>
        <input
            type="search"
            id="site-filter"
            placeholder="Filter by name"
            aria-label="Filter sites by name"
            on:input=move |ev| filter.set(event_target_value(&ev))
            prop:value=filter
        />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match sites.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(view! {
                        <table class="list" id="sites">
                            <thead>
                                <tr><th>"Name"</th><th>"Tag"</th><th>"Load balancer"</th><th>"Backends"</th><th>"Logins (5 min)"</th><th>"Failures"</th><th>"Status"</th></tr>
                            </thead>
                            <tbody>
                                {page.items.into_iter().map(|row| view! { <SiteLine row filter/> }).collect_view()}
                            </tbody>
                        </table>
                        {page.next.map(|next| view! {
                            <a class="next" href=format!("/sites?cursor={next}")>"Next page"</a>
                        })}
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SiteLine(row: SiteRow, filter: RwSignal<String>) -> impl IntoView {
    let SiteRow { site, tag_name, backends, more_backends, traffic } = row;
    let logins = traffic.map(|t| format!("{:.0}", t.logins())).unwrap_or_else(|| "—".into());
    let failures =
        traffic.and_then(|t| t.failure_ratio()).map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_else(|| "—".into());
    let backends = if more_backends { format!("{backends}+") } else { backends.to_string() };
    let name = site.name.clone();
    let hidden = move || filter.with(|f| !f.is_empty() && !name.to_lowercase().contains(&f.to_lowercase()));
    view! {
        <tr hidden=hidden data-site=site.name.clone()>
            <td><a href=format!("/sites/{}", site.id)>{site.name.clone()}</a></td>
            <td>{tag_name.unwrap_or_default()}</td>
            <td>{site.load_balancer.clone()}</td>
            <td class="number">{backends}</td>
            <td class="number">{logins}</td>
            <td class="number">{failures}</td>
            <td><StatusBadge status=site.status.to_string()/></td>
        </tr>
    }
}

/// The form to add a site.
#[component]
pub fn NewSitePage() -> impl IntoView {
    let add = ServerAction::<AddSite>::new();
    let error = form_error(add.value());
    let tags = Resource::new(|| (), |_| all_tags());
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Add site · Palomar"/>
        <h1>"Add site"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let role = me.await.map(|op| op.role).unwrap_or(Role::Viewer);
                let is_admin = role >= Role::Admin;
                match tags.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(_) if !is_admin => Either::Left(view! { <LoadError error=AppError::Forbidden { need: Role::Admin, have: role }/> }),
                    Ok(tags) => Either::Right(view! {
                        <ActionForm action=add attr:class="form" attr:id="site-form">
                            <SiteFields site=None tags/>
                            <FormError error/>
                            <div class="actions">
                                <button type="submit">"Add site"</button>
                                <a href="/sites">"Cancel"</a>
                            </div>
                        </ActionForm>
                    }),
                }
            })}
        </Suspense>
    }
}

/// A site's details, editable by admins.
#[component]
pub fn EditSitePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let site = Resource::new(id, get_site);
    let tags = Resource::new(|| (), |_| all_tags());
    let update = ServerAction::<UpdateSite>::new();
    let error = form_error(update.value());
    view! {
        <Title text="Site · Palomar"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (site.await, tags.await) {
                    (Err(error), _) | (_, Err(error)) => Either::Left(view! { <LoadError error/> }),
                    (Ok(site), Ok(tags)) => {
                        let id = site.id.to_string();
                        let version = domain::version::of_site(&site);
                        let remove_href = format!("/sites/{id}/remove");
                        Either::Right(view! {
                            <div class="page-head">
                                <h1>"Site "{site.name.clone()}</h1>
                                <RoleAtLeast role=Role::Admin>
                                    <a class="button danger" href=remove_href.clone()>"Remove…"</a>
                                </RoleAtLeast>
                            </div>
                            <p class="muted">"Id "<code>{id.clone()}</code></p>
                            <ActionForm action=update attr:class="form" attr:id="site-form">
                                <input type="hidden" name="id" value=id/>
                                <input type="hidden" name="version" value=version/>
                                <SiteFields site=Some(site) tags/>
                                <FormError error/>
                                <div class="actions">
                                    <RoleAtLeast role=Role::Admin>
                                        <button type="submit">"Save"</button>
                                    </RoleAtLeast>
                                    <a href="/sites">"Back"</a>
                                </div>
                            </ActionForm>
                        })
                    }
                }
            })}
        </Suspense>
    }
}

/// Asks the operator to confirm a removal by typing the site's name.
#[component]
pub fn RemoveSitePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let site = Resource::new(id, get_site);
    let remove = ServerAction::<RemoveSite>::new();
    let error = form_error(remove.value());
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Remove site · Palomar"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let role = me.await.map(|op| op.role).unwrap_or(Role::Viewer);
                let is_admin = role >= Role::Admin;
                match site.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(_) if !is_admin => Either::Left(view! { <LoadError error=AppError::Forbidden { need: Role::Admin, have: role }/> }),
                    Ok(site) => Either::Right(view! {
                        <h1>"Remove site "{site.name.clone()}"?"</h1>
                        <p>
                            "This deletes the site's row from the GeoDB. Proxies stop routing to it. "
                            "A site that still has backends cannot be removed."
                        </p>
                        <ActionForm action=remove attr:class="form" attr:id="remove-form">
                            <input type="hidden" name="id" value=site.id.to_string()/>
                            <label>
                                "Type "<strong>{site.name.clone()}</strong>" to confirm"
                                <input name="confirm_name" autocomplete="off" required/>
                            </label>
                            <FormError error/>
                            <div class="actions">
                                <button type="submit" class="danger">"Remove site"</button>
                                <a href=format!("/sites/{}", site.id)>"Cancel"</a>
                            </div>
                        </ActionForm>
                    }),
                }
            })}
        </Suspense>
    }
}

/// The fields shared by the add and edit forms.
#[component]
fn SiteFields(site: Option<Site>, tags: Vec<Tag>) -> impl IntoView {
    let current_tag = site.as_ref().and_then(|s| s.tag);
    let current_status = site.as_ref().map(|s| s.status.clone()).unwrap_or(SiteStatus::Online);
    let (name, load_balancer) = site.map(|s| (s.name, s.load_balancer)).unwrap_or_default();
    view! {
        <label>"Name"
            <input name="name" value=name required maxlength="64" autocomplete="off"/>
            <small>"Must equal cluster_local_site on the site's proxies and backends."</small>
        </label>
        <label>"Tag"
            <select name="tag">
                <option value="" selected=current_tag.is_none()>"(none)"</option>
                {tags.into_iter().map(|t| view! {
                    <option value=t.id.to_string() selected=current_tag == Some(t.id)>{t.tag}</option>
                }).collect_view()}
            </select>
        </label>
        <label>"Load balancer"
            <input name="load_balancer" value=load_balancer maxlength="253" placeholder="lb.dc1.example.com" autocomplete="off"/>
            <small>"Where other sites' proxies connect to this site."</small>
        </label>
        <label>"Status"
            <select name="status">
                {SiteStatus::SETTABLE.into_iter().map(|s| {
                    let selected = s == current_status;
                    view! { <option value=s.as_str().to_string() selected=selected>{s.as_str().to_string()}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}
