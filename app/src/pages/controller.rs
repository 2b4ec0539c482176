//! The controller: its state, its decisions and the moves it supervises (live).

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::controller::{evaluate_controller, get_controller_status, list_decisions, list_moves, EndGroupMove},
    components::{FormError, LoadError, MaybeTime, Me, PageError, Time},
    domain::{
        controller::{DecisionRecord, MoveRecord, MoveState},
        planning::Decision,
        Role,
    },
};

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
                                        <tr data-loop=name.clone()>
                                            <td>{name.clone()}</td>
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
        .iter()
        .map(|(k, v)| format!("{k} = {}", (v * 1000.0).round() / 1000.0))
        .collect::<Vec<_>>()
        .join(", ");
    let rejected = d.decision.rejected.iter().map(|(who, why)| format!("{who}: {why}")).collect::<Vec<_>>().join("; ");
    let outcome = if d.detail.is_empty() {
        d.outcome.as_str().to_string()
    } else {
        format!("{} ({})", d.outcome.as_str(), d.detail)
    };
    view! {
        <tr data-feature=d.decision.feature.as_str() data-outcome=d.outcome.as_str()>
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

/// Moves with progress bars, updated live from the server's event stream once the page has
/// hydrated (without JavaScript: as of the page load). `group` limits it to one group.
#[component]
pub fn LiveMoves(
    site_id: String,
    initial: Vec<MoveRecord>,
    group: Option<String>,
    operator: bool,
    end: ServerAction<EndGroupMove>,
) -> impl IntoView {
    let moves = RwSignal::new(initial);
    subscribe(site_id.clone(), moves);
    let site = StoredValue::new(site_id);
    let shown = Signal::derive(move || {
        let mut list = moves.get();
        if let Some(g) = &group {
            list.retain(|m| &m.group == g);
        }
        list
    });
    view! {
        <div class="live-moves" id="live-moves">
            <Show when=move || !shown.with(Vec::is_empty) fallback=|| view! { <p class="muted" id="no-live-moves">"No move running."</p> }>
                <For each=move || shown.get() key=|m| (m.id, m.state, m.users_moved, m.users_total) let:m>
                    <MoveCard m=m site_id=site.get_value() operator end/>
                </For>
            </Show>
        </div>
    }
}

#[component]
fn MoveCard(m: MoveRecord, site_id: String, operator: bool, end: ServerAction<EndGroupMove>) -> impl IntoView {
    let percent = m.percent();
    let rate = if m.rate > 0.0 { format!("{:.1} users/s", m.rate) } else { "—".into() };
    let eta = m.eta;
    let active = m.state.is_active();
    let can_cancel = m.state == MoveState::Initiated;
    let (id_force, id_cancel, site_force, site_cancel) = (m.id.to_string(), m.id.to_string(), site_id.clone(), site_id);
    view! {
        <div class="move-card" data-group=m.group.clone() data-state=m.state.as_str()>
            <div class="move-head">
                <strong>{m.group.clone()}</strong>" "
                {format!("{} → {}", m.source_host, m.destination_host)}" "
                <span class=format!("badge move-{}", m.state.as_str())>{m.state.as_str()}</span>
            </div>
            <progress max="100" value=format!("{percent:.0}") aria-label=format!("{} progress", m.group)></progress>
            <div class="move-figures small">
                <span class="moved">{format!("{} of {} users", m.users_moved, m.users_total)}</span>" · "
                <span class="rate">{rate}</span>" · ETA "<span class="eta"><MaybeTime at=eta/></span>" · by "{m.initiated_by.to_string()}
                {(!m.note.is_empty()).then(|| view! { " · "<span class="note">{m.note.clone()}</span> })}
            </div>
            {(operator && active).then(|| view! {
                <div class="move-actions">
                    <ActionForm action=end attr:class="inline">
                        <input type="hidden" name="site_id" value=site_force/>
                        <input type="hidden" name="move_id" value=id_force/>
                        <input type="hidden" name="how" value="force"/>
                        <button type="submit" class="danger">"Force now"</button>
                    </ActionForm>
                    {can_cancel.then(|| view! {
                        <ActionForm action=end attr:class="inline">
                            <input type="hidden" name="site_id" value=site_cancel/>
                            <input type="hidden" name="move_id" value=id_cancel/>
                            <input type="hidden" name="how" value="cancel"/>
                            <button type="submit">"Cancel"</button>
                        </ActionForm>
                    })}
                </div>
            })}
        </div>
    }
}

/// Opens the site's move stream in the browser and keeps `moves` current.
#[cfg(feature = "hydrate")]
fn subscribe(site_id: String, moves: RwSignal<Vec<MoveRecord>>) {
    use wasm_bindgen::{closure::Closure, JsCast};
    Effect::new(move |_| {
        let url = format!("/api/moves/stream?site_id={site_id}");
        let Ok(source) = web_sys::EventSource::new(&url) else { return };
        let on_moves = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some(text) = event.data().as_string() {
                if let Ok(list) = serde_json::from_str::<Vec<MoveRecord>>(&text) {
                    moves.set(list);
                }
            }
        });
        let _ = source.add_event_listener_with_callback("moves", on_moves.as_ref().unchecked_ref());
        on_moves.forget();
        let source = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || source.close());
    });
}

#[cfg(not(feature = "hydrate"))]
fn subscribe(_site_id: String, _moves: RwSignal<Vec<MoveRecord>>) {}
