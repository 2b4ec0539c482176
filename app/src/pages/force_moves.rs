//! A site's force-moves and recovers (`doveadm cluster site|backend force-move`, `site
//! recover`): what runs, with its progress by the census, and the forms to start, change and
//! stop them. Every form is a plain post: the page works without JavaScript.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    components::{FormError, LoadError, MaybeTime, Me, PageError, Time},
    server_fns::force_moves::{get_force_moves, ChangeForceMove, StartForceMove, StartRecover, StopForceMove},
};

use domain::{
    force_move::{ForceMoveKind, ForceMovePage, ForceMoveScope, ForceMoveView},
    Role,
};

/// The actions of the page's forms.
#[derive(Clone, Copy)]
struct Actions {
    start: ServerAction<StartForceMove>,
    recover: ServerAction<StartRecover>,
    change: ServerAction<ChangeForceMove>,
    stop: ServerAction<StopForceMove>,
}

#[component]
pub fn ForceMovesPage() -> impl IntoView {
    let params = use_params_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let actions = Actions {
        start: ServerAction::new(),
        recover: ServerAction::new(),
        change: ServerAction::new(),
        stop: ServerAction::new(),
    };
    let page = Resource::new(
        move || {
            (
                site_id(),
                actions.start.version().get(),
                actions.recover.version().get(),
                actions.change.version().get(),
                actions.stop.version().get(),
            )
        },
        |(site, ..)| get_force_moves(site),
    );
    let error = PageError::new()
        .watch(actions.start.value())
        .watch(actions.recover.value())
        .watch(actions.change.value())
        .watch(actions.stop.value())
        .signal();
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Force-move · Palomar"/>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let admin = me.await.map(|op| op.role).unwrap_or(Role::Viewer) >= Role::Admin;
                match page.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(force_move_view(page, admin, actions)),
                }
            })}
        </Suspense>
    }
}

fn force_move_view(page: ForceMovePage, admin: bool, actions: Actions) -> impl IntoView {
    let ForceMovePage { site, operations, other_sites, backends } = page;
    let site_id = site.id.to_string();
    let empty = operations.is_empty();
    let rows = operations.into_iter().map(|op| operation_line(op, &site_id, admin, actions)).collect_view();
    view! {
        <div class="page-head"><h1>"Force-move and recover: "{site.name.clone()}</h1></div>
        <p class="muted">
            "A user is chosen when hash(id + username) mod 100 is below the percent, and moves at their next login. "
            "Changing the site's or the backend's status ends its force-move. Progress is by the census."
        </p>
        {if empty {
            Either::Left(view! { <p id="no-force-moves">"Nothing runs."</p> })
        } else {
            Either::Right(view! {
                <table class="list" id="force-moves">
                    <thead><tr>
                        <th>"Kind"</th><th>"From"</th><th>"To"</th><th>"Percent"</th><th>"Users at the source"</th>
                        <th>"Moved"</th><th>"Per minute"</th><th>"Started"</th><th>"Id"</th><th></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            })
        }}
        {admin.then(|| start_forms(&site_id, other_sites, backends, actions))}
    }
}

fn operation_line(view: ForceMoveView, site_id: &str, admin: bool, actions: Actions) -> impl IntoView {
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let (moved, per_minute) = (count(view.moved()), view.per_minute().map(|r| format!("{r:.1}")));
    let op = view.operation;
    let backend = match op.scope {
        ForceMoveScope::Backend => view.source.clone(),
        ForceMoveScope::Site => String::new(),
    };
    let kind = op.kind.as_str();
    let label = match (op.kind, op.scope) {
        (ForceMoveKind::Recover, _) => "recover",
        (_, ForceMoveScope::Site) => "site force-move",
        (_, ForceMoveScope::Backend) => "backend force-move",
    };
    let to = if op.destinations.is_empty() { "(home)".to_string() } else { view.destinations.join(", ") };
    let live = view.live;
    let (s1, s2, b1, b2) = (site_id.to_string(), site_id.to_string(), backend.clone(), backend);
    view! {
        <tr data-kind=kind data-source=view.source.clone() data-live=live.to_string()>
            <td>{label}{(!live).then_some(" (ended: status changed)")}</td>
            <td>{view.source.clone()}</td>
            <td>{to}</td>
            <td class="number">{op.percent}" %"</td>
            <td class="number">{count(view.users_at_source)}</td>
            <td class="number">{moved}</td>
            <td class="number">{per_minute.unwrap_or_else(|| "—".into())}</td>
            <td><Time at=op.started_at/>" by "{op.started_by.clone()}" · counted "<MaybeTime at=view.counted_at/></td>
            <td><code>{op.id.clone()}</code></td>
            <td>
                {admin.then(|| view! {
                    <ActionForm action=actions.change attr:class="inline">
                        <input type="hidden" name="site_id" value=s1/>
                        <input type="hidden" name="kind" value=kind/>
                        <input type="hidden" name="backend" value=b1/>
                        <input type="number" name="percent" min="0" max="100" value=op.percent.to_string() class="narrow" aria-label=format!("Percent of the {label}")/>
                        <button type="submit">"Change"</button>
                    </ActionForm>
                    <ActionForm action=actions.stop attr:class="inline">
                        <input type="hidden" name="site_id" value=s2/>
                        <input type="hidden" name="kind" value=kind/>
                        <input type="hidden" name="backend" value=b2/>
                        <button type="submit" class="danger">"Stop"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

fn start_forms(site_id: &str, other_sites: Vec<String>, backends: Vec<String>, actions: Actions) -> impl IntoView {
    let (s1, s2, s3) = (site_id.to_string(), site_id.to_string(), site_id.to_string());
    let suggested = other_sites.first().cloned().unwrap_or_default();
    let sites_hint = format!("Sites: {}", other_sites.join(", "));
    let hosts_hint = format!("Backends: {}", backends.join(", "));
    view! {
        <h2>"Move users out of this site"</h2>
        <ActionForm action=actions.start attr:class="form" attr:id="start-site-force-move">
            <input type="hidden" name="site_id" value=s1/>
            <input type="hidden" name="backend" value=""/>
            <label>"Percent"<input type="number" name="percent" min="0" max="100" required/></label>
            <label>"To sites"
                <input name="destinations" value=suggested required maxlength="2048" autocomplete="off"/>
                <small>{sites_hint}" (separate names with spaces or commas)"</small>
            </label>
            <label>"Id"<input name="id" maxlength="64" autocomplete="off" placeholder="(a new random one)"/></label>
            <button type="submit">"Start force-move"</button>
        </ActionForm>
        <h2>"Bring users back to this site"</h2>
        <ActionForm action=actions.recover attr:class="form" attr:id="start-recover">
            <input type="hidden" name="site_id" value=s2/>
            <label>"Percent"<input type="number" name="percent" min="0" max="100" required/></label>
            <label>"Id"<input name="id" maxlength="64" autocomplete="off" placeholder="(a new random one)"/></label>
            <button type="submit">"Start recover"</button>
        </ActionForm>
        <h2>"Move users out of a backend"</h2>
        <ActionForm action=actions.start attr:class="form" attr:id="start-backend-force-move">
            <input type="hidden" name="site_id" value=s3/>
            <label>"Backend"
                <select name="backend" required aria-label="Backend to empty">
                    {backends.iter().map(|host| view! { <option value=host.clone()>{host.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Percent"<input type="number" name="percent" min="0" max="100" required/></label>
            <label>"To backends"
                <input name="destinations" required maxlength="2048" autocomplete="off"/>
                <small>{hosts_hint}" (users join groups on these backends)"</small>
            </label>
            <label>"Id"<input name="id" maxlength="64" autocomplete="off" placeholder="(a new random one)"/></label>
            <button type="submit">"Start backend force-move"</button>
        </ActionForm>
    }
}
