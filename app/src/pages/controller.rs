//! The controller: its state, its decisions and the moves it supervises (live).

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{FormError, LiveMoves, LoadError, Me, PageError, Time},
    server_fns::controller::{evaluate_controller, get_controller_status, list_decisions, list_moves, EndGroupMove},
};

use domain::{decisions::DecisionRecord, planning::Decision, Role};

/// Who leads, the effective modes, each loop's last run, reachability, and a dry evaluation.
#[component]
pub fn ControllerPage() -> impl IntoView {
    let query = use_query_map();
    let status = Resource::new(|| (), |_| get_controller_status());
    // A GET form asks for the evaluation, so it works the same without JavaScript.
    let evaluation = Resource::new(
        move || query.with(|q| q.get("evaluate").is_some_and(|v| v == "1")),
        |wanted| async move {
            if wanted {
                Some(evaluate_controller().await)
            } else {
                None
            }
        },
    );
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Controller · Palomar"/>
        <h1>"Controller"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let operator = me.await.is_ok_and(|op| op.role >= Role::Operator);
                match status.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(s) => {
                        let site_links = s.site_id.map(|id| view! {
                            <p>
                                <a href=format!("/sites/{id}/moves")>"Moves"</a>" · "
                                <a href=format!("/sites/{id}/decisions")>"Decisions"</a>" · "
                                <a href=format!("/sites/{id}/features")>"Pause or resume features"</a>
                            </p>
                        });
                        let leader = match &s.leader {
                            Some((holder, token)) => format!("{holder} (fencing token {token})"),
                            None => "nobody".to_string(),
                        };
                        Either::Right(view! {
                            <dl class="facts" id="controller-facts">
                                <dt>"Site"</dt><dd>{s.site.clone()}</dd>
                                <dt>"Leader"</dt><dd id="leader">{leader}</dd>
                                <dt>"This instance"</dt>
                                <dd id="instance">{s.instance.clone()}{if s.this_instance_leads { " — leads" } else { " — standby" }}</dd>
                                <dt>"DRY_RUN"</dt><dd>{if s.dry_run { "on: every feature is dry" } else { "off" }}</dd>
                                <dt>"Group balance plan"</dt>
                                <dd>{match s.plan.as_ref() {
                                    Some(p) => Either::Left(view! { {format!("{} of {} user moves left (made ", p.remaining, p.total)}<Time at=p.created_at/>")" }),
                                    None => Either::Right("none"),
                                }}</dd>
                            </dl>
                            {site_links}
                            {(!s.problems.is_empty()).then(|| view! {
                                <div class="error" role="alert" id="controller-problems">
                                    <p>"Holding back:"</p>
                                    <ul>{s.problems.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul>
                                </div>
                            })}
                            <h2>"Features"</h2>
                            <table class="list" id="modes">
                                <thead><tr><th>"Feature"</th><th>"Effective mode"</th></tr></thead>
                                <tbody>{s.modes.iter().map(|(f, m)| view! { <tr data-feature=f.as_str()><td>{f.as_str()}</td><td>{m.to_string()}</td></tr> }).collect_view()}</tbody>
                            </table>
                            <h2>"Loops"</h2>
                            <table class="list" id="loops">
                                <thead><tr><th>"Loop"</th><th>"Last run"</th><th>"Result"</th><th>"Detail"</th></tr></thead>
                                <tbody>
                                    {s.loops.iter().map(|(name, run)| view! {
                                        <tr data-loop=name.to_string()>
                                            <td>{name.to_string()}</td>
                                            <td><Time at=run.at/></td>
                                            <td>{run.result.as_str()}</td>
                                            <td>{run.detail.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <h2>"Backend reachability (doveadm API)"</h2>
                            <table class="list" id="reachability-probe">
                                <thead><tr><th>"Backend"</th><th>"Reachable"</th><th>"Since"</th><th>"Last error"</th></tr></thead>
                                <tbody>
                                    {s.reachability.iter().map(|r| view! {
                                        <tr data-host=r.host.clone()>
                                            <td>{r.host.clone()}</td>
                                            <td>{if r.reachable { "yes" } else { "no" }}</td>
                                            <td><Time at=r.since/></td>
                                            <td>{r.last_error.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {operator.then(|| view! {
                                <h2>"What would the controller do now?"</h2>
                                <p class="muted">"Every feature is evaluated as dry run, whatever its mode. Nothing is written or recorded."</p>
                                <form method="get" action="/controller" id="evaluate">
                                    <input type="hidden" name="evaluate" value="1"/>
                                    <button type="submit">"Evaluate now"</button>
                                </form>
                            })}
                        })
                    }
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match evaluation.await {
                    None => Either::Left(()),
                    Some(Err(error)) => Either::Right(Either::Left(view! { <LoadError error/> })),
                    Some(Ok(decisions)) => Either::Right(Either::Right(evaluation_table(decisions))),
                }
            })}
        </Suspense>
    }
}

fn evaluation_table(decisions: Vec<Decision>) -> impl IntoView {
    view! {
        <table class="list" id="evaluation">
            <thead><tr><th>"Feature"</th><th>"Would"</th><th>"Why"</th></tr></thead>
            <tbody>
                {decisions.into_iter().map(|d| view! {
                    <tr>
                        <td>{d.feature.as_str()}</td>
                        <td>{if d.action.is_some() { "act" } else { "nothing" }}</td>
                        <td>{d.summary.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

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

/// A site's moves: the live ones with their progress, then the history.
#[component]
pub fn MovesPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let end = ServerAction::<EndGroupMove>::new();
    let moves = Resource::new(
        move || (site_id(), query.with(|q| q.get("cursor")), end.version().get()),
        |(site, cursor, ..)| list_moves(site, cursor),
    );
    let error = PageError::new().watch(end.value()).signal();
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Moves · Palomar"/>
        <h1>"Group moves"</h1>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let operator = me.await.is_ok_and(|op| op.role >= Role::Operator);
                match moves.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok((live, page)) => {
                        let site = site_id();
                        let next = page.next.clone().map(|next| view! { <a class="next" href=format!("/sites/{site}/moves?cursor={next}")>"Next page"</a> });
                        Either::Right(view! {
                            <h2>"Live"</h2>
                            <LiveMoves site_id=site.clone() initial=live group=None operator end/>
                            <h2>"History"</h2>
                            <table class="list" id="move-history">
                                <thead><tr><th>"Started"</th><th>"Group"</th><th>"From → to"</th><th>"By"</th><th>"State"</th><th>"Users"</th><th>"Note"</th></tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|m| view! {
                                        <tr data-group=m.group.clone() data-state=m.state.as_str()>
                                            <td><Time at=m.created_at/></td>
                                            <td>{m.group.clone()}</td>
                                            <td>{format!("{} → {}", m.source_host, m.destination_host)}</td>
                                            <td>{m.initiated_by.to_string()}</td>
                                            <td>{m.state.as_str()}</td>
                                            <td>{format!("{} / {}", m.users_moved, m.users_total)}</td>
                                            <td>{m.note.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {next}
                        })
                    }
                }
            })}
        </Suspense>
    }
}
