use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{form_error, FormError, LoadError, Me, ReachabilityMatrixSection},
    server_fns::stats::{list_backend_stats, list_proxy_dest_stats, PruneProxyStats},
};

use domain::Role;

/// Which site can reach which (`site_reachability`).
#[component]
pub fn ReachabilityPage() -> impl IntoView {
    view! {
        <Title text="Reachability · Palomar"/>
        <h1>"Site reachability"</h1>
        <ReachabilityMatrixSection/>
    }
}

/// A site's `backend_stats` and `proxy_dest_stats`, read-only; admins prune departed proxies.
#[component]
pub fn SiteStatsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let prune = ServerAction::<PruneProxyStats>::new();
    let backend = Resource::new(
        move || (site_id(), query.with(|q| q.get("backend_cursor"))),
        |(site, cursor)| list_backend_stats(site, cursor),
    );
    let proxy = Resource::new(
        move || (site_id(), query.with(|q| q.get("proxy_cursor")), prune.version().get()),
        |(site, cursor, _)| list_proxy_dest_stats(site, cursor),
    );
    let error = form_error(prune.value());
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Stats · Palomar"/>
        <h1>"Stats"</h1>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let admin = me.await.is_ok_and(|op| op.role >= Role::Admin);
                let site = site_id();
                let backend = match backend.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(view! {
                        <h2>"backend_stats"</h2>
                        <table class="list" id="backend-stats">
                            <thead><tr><th>"Backend"</th><th>"Key"</th><th>"Value"</th><th>"Type"</th></tr></thead>
                            <tbody>{page.items.into_iter().map(|r| view! { <tr><td>{r.id.to_string()}</td><td>{r.key}</td><td>{r.value}</td><td>{r.kind}</td></tr> }).collect_view()}</tbody>
                        </table>
                        {page.next.map(|n| view! { <a class="next" href=format!("/sites/{site}/stats?backend_cursor={n}")>"Next page"</a> })}
                    }),
                };
                let site = site_id();
                let proxy = match proxy.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(view! {
                        <h2>"proxy_dest_stats"</h2>
                        <table class="list" id="proxy-stats">
                            <thead><tr><th>"Destination"</th><th>"Proxy"</th><th>"Key"</th><th>"Value"</th><th>"Type"</th></tr></thead>
                            <tbody>{page.items.into_iter().map(|r| { let proxy_host = r.proxy_host.clone(); view! { <tr data-proxy=proxy_host><td>{r.dest_host}</td><td>{r.proxy_host}</td><td>{r.key}</td><td>{r.value}</td><td>{r.kind}</td></tr> } }).collect_view()}</tbody>
                        </table>
                        {page.next.map(|n| view! { <a class="next" href=format!("/sites/{site}/stats?proxy_cursor={n}")>"Next page"</a> })}
                        {admin.then(|| view! {
                            <ActionForm action=prune attr:class="inline" attr:id="prune-proxy">
                                <input type="hidden" name="site_id" value=site.clone()/>
                                <input name="proxy_host" placeholder="proxy host that is gone" aria-label="Proxy host to prune" required/>
                                <button type="submit" class="danger">"Delete its rows"</button>
                            </ActionForm>
                        })}
                    }),
                };
                view! { {backend} {proxy} }
            })}
        </Suspense>
    }
}
