//! A site's alerts, shown on the overview and on the site's dashboard.

use leptos::{either::Either, prelude::*};

use domain::dashboard::Alert;

/// A site's alerts, or a line saying there is none.
#[component]
pub fn AlertList(alerts: Vec<Alert>) -> impl IntoView {
    if alerts.is_empty() {
        return Either::Left(view! { <p class="muted no-alerts">"No alerts."</p> });
    }
    Either::Right(view! {
        <ul class="alerts" role="status">
            {alerts.into_iter().map(|a| view! {
                <li class=format!("alert alert-{}", a.kind.as_str()) data-alert=a.kind.as_str()>{a.message}</li>
            }).collect_view()}
        </ul>
    })
}
