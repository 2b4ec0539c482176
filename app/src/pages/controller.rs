//! The Controller page: who leads, the effective modes, each loop's last run, reachability,
//! and a dry evaluation.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{LoadError, Me, Time},
    server_fns::controller::{evaluate_controller, get_controller_status},
};

use domain::{planning::Decision, Role};

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
