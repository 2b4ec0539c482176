use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{LoadError, Time},
    server_fns::{audit::list_audit, support_client::encode},
};

use domain::audit::AuditRecord;

/// The audit log (admins only): one day at a time, filtered by operator and action.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name).unwrap_or_default());
    let records = Resource::new(
        move || (param("day"), param("operator"), param("action"), query.with(|q| q.get("cursor"))),
        |(day, operator, action, cursor)| list_audit(day, operator, action, cursor),
    );
    view! {
        <Title text="Audit log · Palomar"/>
        <h1>"Audit log"</h1>
        <form method="get" action="/audit" class="inline" id="audit-filter">
            <input type="date" name="day" value=move || param("day") aria-label="Day (UTC)"/>
            <input name="operator" value=move || param("operator") placeholder="operator" aria-label="Operator"/>
            <input name="action" value=move || param("action") placeholder="action, e.g. site." aria-label="Action"/>
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match records.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => {
                        let next = page.next.map(|next| {
                            let href = format!(
                                "/audit?day={}&operator={}&action={}&cursor={next}",
                                encode(&param("day")), encode(&param("operator")), encode(&param("action"))
                            );
                            view! { <a class="next" href=href>"Older"</a> }
                        });
                        Either::Right(view! {
                            <table class="list" id="audit">
                                <thead><tr><th>"Time (UTC)"</th><th>"Operator"</th><th>"From"</th><th>"Action"</th><th>"Target"</th><th>"Before"</th><th>"After"</th></tr></thead>
                                <tbody>{page.items.into_iter().map(|r| view! { <AuditLine r/> }).collect_view()}</tbody>
                            </table>
                            {next}
                        })
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn AuditLine(r: AuditRecord) -> impl IntoView {
    let action = r.action.clone();
    view! {
        <tr data-action=action>
            <td><Time at=r.at/></td>
            <td>{r.operator}{r.token.map(|t| view! { <br/><small class="muted" title=t.to_string()>{format!("token {}", &t.simple().to_string()[..8])}</small> })}</td>
            <td title=r.user_agent>{r.client_ip}</td>
            <td><code>{r.action}</code></td>
            <td>{r.target}</td>
            <td><code class="json">{r.before}</code></td>
            <td><code class="json">{r.after}</code></td>
        </tr>
    }
}
