//! The live list of a site's moves, shown on the Controller page and on a group's page.

use leptos::prelude::*;

use crate::{components::MaybeTime, server_fns::moves::EndGroupMove};

use domain::moves::{MoveRecord, MoveState};

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
