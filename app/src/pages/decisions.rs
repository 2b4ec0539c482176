//! The Decisions page: a site's decision log, one day at a time.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{LoadError, Time},
    server_fns::decisions::list_decisions,
};

use domain::decisions::DecisionRecord;

/// A site's decisions on one day, newest first, with their inputs and rejected candidates.
#[component]
pub fn DecisionsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let day = move || query.with(|q| q.get("day").unwrap_or_default());
    let decisions = Resource::new(
        move || (site_id(), day(), query.with(|q| q.get("cursor"))),
        |(site, day, cursor)| list_decisions(site, day, cursor),
    );
    view! {
        <Title text="Decisions · Palomar"/>
        <h1>"Controller decisions"</h1>
        <form method="get" class="inline" id="decision-day">
            <input name="day" value=day placeholder="YYYY-MM-DD (empty: today)" aria-label="Day"/>
            <button type="submit">"Show day"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match decisions.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => {
                        let site = site_id();
                        let next = page.next.clone().map(|next| view! { <a class="next" href=format!("/sites/{site}/decisions?day={}&cursor={next}", day())>"Next page"</a> });
                        Either::Right(view! {
                            <table class="list" id="decisions">
                                <thead><tr><th>"Time"</th><th>"Feature"</th><th>"Mode"</th><th>"Outcome"</th><th>"Decision"</th><th>"Inputs"</th><th>"Rejected"</th></tr></thead>
                                <tbody>{page.items.into_iter().map(decision_row).collect_view()}</tbody>
                            </table>
                            {next}
                        })
                    }
                }
            })}
        </Suspense>
    }
}

fn decision_row(d: DecisionRecord) -> impl IntoView {
    let inputs = d
        .decision
        .inputs
        .rows()
        .into_iter()
        .map(|(name, value)| format!("{name} = {value}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rejected = d.decision.rejected.iter().map(|(who, why)| format!("{who}: {why}")).collect::<Vec<_>>().join("; ");
    let outcome = if d.detail.is_empty() {
        d.outcome.as_str().to_string()
    } else {
        format!("{} ({})", d.outcome.as_str(), d.detail)
    };
    view! {
        <tr data-feature=d.decision.feature.as_str() data-outcome=d.outcome.as_str() data-reason=d.decision.reason.as_str()>
            <td><Time at=d.at/></td>
            <td>{d.decision.feature.as_str()}</td>
            <td>{d.mode.to_string()}</td>
            <td>{outcome}</td>
            <td>{d.decision.summary.clone()}</td>
            <td class="small">{inputs}</td>
            <td class="small">{rejected}</td>
        </tr>
    }
}
