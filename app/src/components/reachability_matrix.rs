//! The site reachability matrix: rows are the sites whose proxies connect, columns the sites
//! they connect to; each cell says reachable or unreachable, and since when.

use leptos::{either::Either, prelude::*};

use super::{LoadError, Time};
use crate::server_fns::stats::list_reachability;
use domain::reachability::ReachabilityMatrix;

/// The matrix, read when the page renders.
#[component]
pub fn ReachabilityMatrixSection() -> impl IntoView {
    let matrix = Resource::new(|| (), |_| list_reachability());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match matrix.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(matrix) => Either::Right(view! { <ReachabilityMatrixTable matrix/> }),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ReachabilityMatrixTable(matrix: ReachabilityMatrix) -> impl IntoView {
    let header = matrix.sites.iter().map(|(_, name)| view! { <th>{name.clone()}</th> }).collect_view();
    let rows = matrix
        .sites
        .iter()
        .map(|(from, from_name)| {
            let cells = matrix
                .sites
                .iter()
                .map(|(to, to_name)| match matrix.cell(*from, *to) {
                    Some(cell) => {
                        let word = if cell.reachable { "reachable" } else { "unreachable" };
                        let since = cell.since.map(|at| view! { <br/><small>"since "<Time at/></small> });
                        view! {
                            <td class=word data-from=from_name.clone() data-to=to_name.clone()>{word}{since}</td>
                        }
                        .into_any()
                    }
                    None => view! { <td class="muted">"—"</td> }.into_any(),
                })
                .collect_view();
            view! { <tr><th>{from_name.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <table class="list reachability" id="reachability">
            <thead><tr><th>"from \\ to"</th>{header}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="muted">"Each site's controller writes its own row from its proxies' sessions to the other sites' load balancers; no row means not judged yet, and reachable."</p>
    }
}
