//! A site's dashboard, its landing page: alerts, every backend's health, active moves, the
//! controller's leader and latest decisions, and the history charts.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    components::{AlertList, LoadError, MaybeTime, StatusBadge, Time},
    server_fns::dashboard::{get_site_dashboard, site_charts},
};

use domain::{
    dashboard::{BackendHealth, ChartView, SiteDashboard},
    time::duration_words,
};

/// How often the charts are redrawn once the page is hydrated.
const CHARTS_EVERY_MS: u64 = 30_000;

#[component]
pub fn SiteDashboardPage() -> impl IntoView {
    let params = use_params_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let dashboard = Resource::new(site_id, get_site_dashboard);
    view! {
        <Title text="Dashboard · Palomar"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(d) => Either::Right(overview_of(d)),
                }
            })}
        </Suspense>
        <Charts site_id=Signal::derive(site_id)/>
    }
}

fn overview_of(d: SiteDashboard) -> impl IntoView {
    let site = d.site_id.to_string();
    let leader = d.leader.clone().unwrap_or_else(|| "nobody".into());
    view! {
        <div class="page-head">
            <h1>"Dashboard of "{d.site_name.clone()}</h1>
            <StatusBadge status=d.site_status.to_string()/>
        </div>
        <dl class="facts" id="dashboard-facts">
            <dt>"Controller"</dt><dd id="dashboard-leader">{leader}</dd>
            <dt>"Census"</dt><dd><MaybeTime at=d.census_at/></dd>
        </dl>
        <h2>"Alerts"</h2>
        <AlertList alerts=d.alerts/>
        <h2>"Backends"</h2>
        <div class="scroll">
            <table class="list" id="dashboard-backends">
                <thead><tr>
                    <th>"Host"</th><th>"Status"</th><th>"Load factor"</th><th>"Failure ratio"</th>
                    <th>"Summed Z-score"</th><th>"Users"</th><th>"Groups"</th><th>"doveadm API"</th>
                </tr></thead>
                <tbody>{d.backends.into_iter().map(backend_row).collect_view()}</tbody>
            </table>
        </div>
        <h2>"Active moves"</h2>
        {if d.active_moves.is_empty() {
            Either::Left(view! { <p class="muted">"No group is moving."</p> })
        } else {
            Either::Right(view! {
                <div class="scroll">
                    <table class="list" id="dashboard-moves">
                        <thead><tr><th>"Group"</th><th>"From → to"</th><th>"State"</th><th>"Progress"</th><th>"Started"</th><th>"By"</th></tr></thead>
                        <tbody>{d.active_moves.into_iter().map(|m| {
                            let percent = m.percent();
                            view! {
                                <tr data-group=m.group.clone()>
                                    <td>{m.group.clone()}</td>
                                    <td>{format!("{} → {}", m.source_host, m.destination_host)}</td>
                                    <td>{m.state.as_str()}</td>
                                    <td><progress max="100" value=percent.to_string()></progress>{format!(" {percent:.0} %")}</td>
                                    <td><Time at=m.created_at/></td>
                                    <td>{m.initiated_by.to_string()}</td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                </div>
            })
        }}
        <p><a href=format!("/sites/{site}/moves")>"All moves"</a></p>
        <h2>"Latest decisions"</h2>
        {if d.decisions.is_empty() {
            Either::Left(view! { <p class="muted">"No decision today."</p> })
        } else {
            Either::Right(view! {
                <div class="scroll">
                    <table class="list" id="dashboard-decisions">
                        <thead><tr><th>"When"</th><th>"Feature"</th><th>"Mode"</th><th>"Outcome"</th><th>"Why"</th></tr></thead>
                        <tbody>{d.decisions.into_iter().map(|r| view! {
                            <tr>
                                <td><Time at=r.at/></td>
                                <td>{r.decision.feature.as_str()}</td>
                                <td>{r.mode.as_str()}</td>
                                <td>{r.outcome.as_str()}</td>
                                <td>{r.decision.summary.clone()}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                </div>
            })
        }}
        <p><a href=format!("/sites/{site}/decisions")>"All decisions"</a></p>
    }
}

fn backend_row(b: BackendHealth) -> impl IntoView {
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let ratio = b.failure_ratio.map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_else(|| "—".into());
    let score = b.summed_zscore.map(|z| format!("{z:.2}")).unwrap_or_else(|| "—".into());
    let reachable = match b.reachable {
        Some(true) => "reachable",
        Some(false) => "unreachable",
        None => "—",
    };
    view! {
        <tr data-backend=b.host.clone()>
            <td>{b.host.clone()}</td>
            <td><StatusBadge status=b.status.to_string()/></td>
            <td class="number">{b.load_factor}</td>
            <td class="number">{ratio}</td>
            <td class="number">{score}</td>
            <td class="number">{count(b.users)}</td>
            <td class="number">{count(b.groups)}</td>
            <td>{reachable}</td>
        </tr>
    }
}

/// The history charts: drawn on the server, redrawn every [`CHARTS_EVERY_MS`] once hydrated.
#[component]
fn Charts(site_id: Signal<String>) -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let charts = Resource::new(move || (site_id.get(), tick.get()), |(site, _)| site_charts(site));
    // Effects run only in the browser: the server draws once.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_millis(CHARTS_EVERY_MS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <h2>"History"</h2>
        <p class="muted">{format!("Redrawn every {} while this page is open.", duration_words(CHARTS_EVERY_MS / 1000))}</p>
        <Transition fallback=|| view! { <p>"Loading the charts…"</p> }>
            {move || Suspend::new(async move {
                match charts.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(charts) => Either::Right(view! {
                        <div class="charts">{charts.into_iter().map(chart).collect_view()}</div>
                    }),
                }
            })}
        </Transition>
    }
}

fn chart(c: ChartView) -> impl IntoView {
    let body = if c.svg.is_empty() {
        let why = c.error.clone().unwrap_or_else(|| "No data points yet.".into());
        Either::Left(view! { <p class="muted no-data">{why}</p> })
    } else {
        Either::Right(view! { <div class="chart-svg" inner_html=c.svg.clone()></div> })
    };
    view! {
        <figure class="chart" id=format!("chart-{}", c.kind.as_str()) data-points=c.points.to_string()>
            <figcaption>{c.kind.title()}</figcaption>
            {body}
        </figure>
    }
}
