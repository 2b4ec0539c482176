//! The cluster overview at `/`: every site, its backends, moves, leader and alerts, where its
//! users fail over to, which other sites' proxies reach it, and the reachability matrix with
//! the time of each value.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

use crate::{
    components::{AlertList, LoadError, ReachabilityMatrixSection, StatusBadge},
    server_fns::dashboard::cluster_overview,
};

use domain::dashboard::SiteSummary;

/// The cluster at a glance; each site links its dashboard.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let sites = Resource::new(|| (), |_| cluster_overview());
    view! {
        <Title text="Overview · Palomar"/>
        <h1>"Cluster overview"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match sites.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(sites) if sites.is_empty() => Either::Right(Either::Left(view! {
                        <p>"No site yet. "<a href="/sites/new">"Add the first site"</a>"."</p>
                    })),
                    Ok(sites) => Either::Right(Either::Right(view! {
                        <div class="site-cards" id="overview">
                            {sites.into_iter().map(site_card).collect_view()}
                        </div>
                    })),
                }
            })}
        </Suspense>
        <h2>"Site reachability"</h2>
        <ReachabilityMatrixSection/>
    }
}

fn site_card(s: SiteSummary) -> impl IntoView {
    let href = format!("/sites/{}", s.id);
    let health = if s.alerts.is_empty() { "ok" } else { "alert" };
    let leader = s.leader.clone().unwrap_or_else(|| "nobody".into());
    let failover = if s.failover_to.is_empty() {
        "no other site can take its users now".to_string()
    } else {
        s.failover_to.join(", ")
    };
    let reached = if s.reached_from.is_empty() {
        "no site has judged it yet".to_string()
    } else {
        s.reached_from
            .iter()
            .map(|(site, ok)| format!("{site}: {}", if *ok { "reachable" } else { "unreachable" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <section class=format!("site-card site-{health}") data-site=s.name.clone()>
            <h2><a href=href.clone()>{s.name.clone()}</a>" "<StatusBadge status=s.status.to_string()/></h2>
            <dl class="facts">
                <dt>"Backends"</dt><dd>{format!("{} online of {}", s.online, s.backends)}</dd>
                <dt>"Active moves"</dt><dd>{s.active_moves}</dd>
                <dt>"Controller"</dt><dd>{leader}</dd>
                <dt>"Fails over to"</dt><dd class="failover">{failover}</dd>
                <dt>"Reached from"</dt><dd class="reached-from">{reached}</dd>
            </dl>
            <AlertList alerts=s.alerts/>
            <p class="links">
                <a href=href.clone()>"Dashboard"</a>" · "
                <a href=format!("{href}/moves")>"Moves"</a>" · "
                <a href=format!("{href}/decisions")>"Decisions"</a>
            </p>
        </section>
    }
}
