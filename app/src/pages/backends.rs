use std::sync::Arc;

use leptos::{either::Either, ev::SubmitEvent, form::FromFormData, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{FormError, LoadError, MaybeTime, Me, PageError, StatusBadge, SyncView, Time},
    server_fns::backends::{
        list_backends, AddBackend, EvacuateBackend, RemoveBackend, SetBackendLoadFactor, SetBackendStatus,
    },
};

use domain::{
    cluster::BackendRow,
    geodb::{BackendStatus, SettableStatus},
    Role,
};

/// The actions of the backend rows, shared by every row.
///
/// A row's forms are plain `<form method="post">` (they work without JavaScript); once
/// hydrated, the table's one submit listener dispatches them here, by the URL the browser
/// would post to. An `ActionForm` per form
/// cost four reactive forms per row, the bulk of rendering a page of 50 backends.
#[derive(Clone, Copy)]
struct RowActions {
    status: ServerAction<SetBackendStatus>,
    load_factor: ServerAction<SetBackendLoadFactor>,
    evacuate: ServerAction<EvacuateBackend>,
    remove: ServerAction<RemoveBackend>,
}

impl RowActions {
    /// Sends a row's form through its action, by the server function its `action` names.
    fn dispatch(self, ev: SubmitEvent) {
        fn send<F>(ev: &SubmitEvent, action: ServerAction<F>) -> bool
        where
            F: FromFormData
                + ServerFn<Output: Send + Sync + 'static, Error: Send + Sync + 'static>
                + Clone
                + Send
                + Sync
                + 'static,
        {
            match F::from_event(ev) {
                Ok(input) => {
                    action.dispatch(input);
                    true
                }
                Err(_) => false,
            }
        }
        let Some(form) = event_target_form(&ev) else { return };
        // A button's own `formaction` overrides its form's `action`.
        let target = ev
            .submitter()
            .and_then(|button| button.get_attribute("formaction"))
            .or_else(|| form.get_attribute("action"))
            .unwrap_or_default();
        let sent = if target == SetBackendStatus::url() {
            send(&ev, self.status)
        } else if target == SetBackendLoadFactor::url() {
            send(&ev, self.load_factor)
        } else if target == EvacuateBackend::url() {
            send(&ev, self.evacuate)
        } else if target == RemoveBackend::url() {
            send(&ev, self.remove)
        } else {
            false
        };
        // A form this cannot read is left to the browser: it posts and comes back.
        if sent {
            ev.prevent_default();
        }
    }
}

fn event_target_form(ev: &SubmitEvent) -> Option<leptos::web_sys::HtmlFormElement> {
    use leptos::wasm_bindgen::JsCast;
    ev.target()?.dyn_into::<leptos::web_sys::HtmlFormElement>().ok()
}

/// A site's backends: status, load factor, counts; operators change status and load factor
/// and evacuate; admins add and remove.
#[component]
pub fn BackendsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let add = ServerAction::<AddBackend>::new();
    let actions = RowActions {
        status: ServerAction::new(),
        load_factor: ServerAction::new(),
        evacuate: ServerAction::new(),
        remove: ServerAction::new(),
    };
    let backends = Resource::new(
        move || {
            (
                site_id(),
                query.with(|q| q.get("cursor")),
                add.version().get(),
                actions.status.version().get(),
                actions.load_factor.version().get(),
                actions.evacuate.version().get(),
                actions.remove.version().get(),
            )
        },
        |(site, cursor, ..)| list_backends(site, cursor),
    );
    let error = PageError::new()
        .watch(actions.status.value())
        .watch(actions.load_factor.value())
        .watch(actions.evacuate.value())
        .watch(actions.remove.value())
        .watch(add.value())
        .signal();
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Backends · Palomar"/>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let role = me.await.map(|op| op.role).unwrap_or(Role::Viewer);
                match backends.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(list) => {
                        let site = site_id();
                        Either::Right(SyncView::new(move || {
                            let row_site: Arc<str> = site.as_str().into();
                            let add_site = site.clone();
                            let counted = match list.counted_at {
                                Some(at) => Either::Left(view! { "Counts as of "<Time at/>"." }),
                                None => Either::Right("Counts appear after the first census."),
                            };
                            let next = list.next.clone().map(|next| view! { <a class="next" href=format!("/sites/{site}/backends?cursor={next}")>"Next page"</a> });
                            view! {
                                <div class="page-head">
                                    <h1>"Backends of "{list.site_name.clone()}</h1>
                                    <a href=format!("/sites/{site}/groups")>"Groups"</a>
                                </div>
                                <p class="muted">{counted}</p>
                                {(role >= Role::Admin).then(|| view! {
                                    <ActionForm action=add attr:class="inline" attr:id="add-backend">
                                        <input type="hidden" name="site_id" value=add_site/>
                                        <input name="host" placeholder="be4.dc1a.example.net" aria-label="New backend host" required maxlength="253" autocomplete="off"/>
                                        <button type="submit">"Add backend"</button>
                                        <small class="muted">"New backends start in standby."</small>
                                    </ActionForm>
                                })}
                                <table class="list" id="backends" on:submit=move |ev: SubmitEvent| actions.dispatch(ev)>
                                    <thead><tr><th>"Host"</th><th>"doveadm API"</th><th>"Status"</th><th>"Load factor"</th><th>"Groups"</th><th>"Users"</th><th>"Reason"</th><th>"Last moves"</th><th></th></tr></thead>
                                    <tbody>
                                        {list.rows.into_iter().map(|row| backend_line(row, &row_site, role)).collect_view()}
                                    </tbody>
                                </table>
                                {next}
                            }
                        }))
                    }
                }
            })}
        </Suspense>
    }
}

/// One backend's row. A plain function, not a component: a page renders 50.
///
/// Two forms per row: the status, and the load factor, whose form also carries Evacuate and
/// Remove (buttons in the last cell bound to it by `form=`, each posting to its own server
/// function by `formaction`). Enter in the load factor field sets the load factor, the form's
/// first button.
fn backend_line(row: BackendRow, site: &Arc<str>, role: Role) -> impl IntoView {
    let (b, reachable) = (row.backend, row.reachable);
    // Each value appears in several attributes: shared, not copied for each.
    let id: Arc<str> = b.id.to_string().into();
    let form_id: Arc<str> = format!("backend-{id}").into();
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let operator = role >= Role::Operator;
    let admin = role >= Role::Admin;
    let (s1, i1, s2, i2) = (site.clone(), id.clone(), site.clone(), id);
    let (f1, f2, f3) = (form_id.clone(), form_id.clone(), form_id.clone());
    let host: Arc<str> = b.host.as_str().into();
    let status = b.status.clone();
    let (row_host, row_status, badge) = (host.clone(), status.to_string(), status.to_string());
    let load_factor = b.load_factor;
    view! {
        <tr data-backend=row_host data-status=row_status>
            <td>{host.clone()}</td>
            <td class="reachability">{match reachable {
                Some(true) => "reachable",
                Some(false) => "unreachable",
                None => "—",
            }}</td>
            <td>
                {if operator {
                    Either::Left(view! {
                        <form method="post" action=SetBackendStatus::url() class="inline">
                            <input type="hidden" name="site_id" value=s1/>
                            <input type="hidden" name="id" value=i1/>
                            <select name="status" aria-label=format!("Status of {host}")>
                                {SettableStatus::ALL.into_iter().map(|s| {
                                    let selected = BackendStatus::from(s) == status;
                                    view! { <option value=s.to_string() selected=selected>{s.to_string()}</option> }
                                }).collect_view()}
                            </select>
                            <button type="submit">"Set"</button>
                        </form>
                    })
                } else {
                    Either::Right(view! { <StatusBadge status=badge/> })
                }}
            </td>
            <td>
                {if operator {
                    Either::Left(view! {
                        <form method="post" action=SetBackendLoadFactor::url() class="inline" id=form_id>
                            <input type="hidden" name="site_id" value=s2/>
                            <input type="hidden" name="id" value=i2/>
                            <input type="number" name="load_factor" min="0" max="100" value=load_factor.to_string() aria-label=format!("Load factor of {}", b.host) class="narrow"/>
                            <button type="submit">"Set"</button>
                        </form>
                    })
                } else {
                    Either::Right(view! { <span>{load_factor}</span> })
                }}
            </td>
            <td class="number">{count(row.groups)}</td>
            <td class="number">{count(row.users)}</td>
            <td class="muted">{b.status_reason.clone()}</td>
            <td class="muted">"from "<MaybeTime at=b.last_moved_from/>" / to "<MaybeTime at=b.last_moved_to/></td>
            <td>
                {operator.then(|| view! {
                    <button type="submit" form=f1 formaction=EvacuateBackend::url()>"Evacuate"</button>
                })}
                {admin.then(|| view! {
                    <label class="muted"><input type="checkbox" name="force" value="yes" form=f2/>"force"</label>
                    <button type="submit" class="danger" form=f3 formaction=RemoveBackend::url()>"Remove"</button>
                })}
            </td>
        </tr>
    }
}
