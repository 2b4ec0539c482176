//! The Moves page: a site's live group moves with their progress, then the history.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{FormError, LiveMoves, LoadError, Me, PageError, Time},
    server_fns::moves::{list_moves, EndGroupMove},
};

use domain::Role;

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
