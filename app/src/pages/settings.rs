use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    components::{form_error, FormError, LoadError, Me, PageError, StatusBadge},
    server_fns::settings::{list_features, list_settings, DeleteSetting, PutSetting, SetFeature},
};

use domain::{
    feature::{FeatureState, FEATURE_SECTION},
    Role,
};

/// `cluster_settings` by section (admins write and delete).
#[component]
pub fn SettingsPage() -> impl IntoView {
    let query = use_query_map();
    let section = move || {
        query.with(|q| q.get("section").filter(|s| !s.is_empty()).unwrap_or_else(|| FEATURE_SECTION.to_string()))
    };
    let put = ServerAction::<PutSetting>::new();
    let delete = ServerAction::<DeleteSetting>::new();
    let rows = Resource::new(
        move || (section(), query.with(|q| q.get("cursor")), put.version().get(), delete.version().get()),
        |(section, cursor, ..)| list_settings(section, cursor),
    );
    let error = PageError::new().watch(put.value()).watch(delete.value()).signal();
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Cluster settings · Palomar"/>
        <h1>"Cluster settings"</h1>
        <form method="get" action="/settings" class="inline" id="section-filter">
            <input name="section" value=section aria-label="Section" required/>
            <button type="submit">"Show section"</button>
        </form>
        <p class="muted">"An empty site or backend means every site or backend. Per-site feature states are on each site's Features page."</p>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let admin = me.await.is_ok_and(|op| op.role >= Role::Admin);
                let current = section();
                match rows.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(view! {
                        <table class="list" id="settings">
                            <thead><tr><th>"Site"</th><th>"Backend"</th><th>"Name"</th><th>"Value"</th><th></th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|s| {
                                    let show = |id: uuid::Uuid| if id.is_nil() { "all".to_string() } else { id.to_string() };
                                    let (site, backend) = (if s.site_id.is_nil() { String::new() } else { s.site_id.to_string() }, if s.backend_id.is_nil() { String::new() } else { s.backend_id.to_string() });
                                    let (row_name, form_name, form_section) = (s.setting_name.clone(), s.setting_name.clone(), s.section.clone());
                                    view! {
                                        <tr data-setting=row_name>
                                            <td>{show(s.site_id)}</td>
                                            <td>{show(s.backend_id)}</td>
                                            <td>{s.setting_name.clone()}</td>
                                            <td><code>{s.setting_value.clone()}</code></td>
                                            <td>{admin.then(|| view! {
                                                <ActionForm action=delete attr:class="inline">
                                                    <input type="hidden" name="section" value=form_section.clone()/>
                                                    <input type="hidden" name="site_id" value=site.clone()/>
                                                    <input type="hidden" name="backend_id" value=backend.clone()/>
                                                    <input type="hidden" name="setting_name" value=form_name.clone()/>
                                                    <button type="submit" class="danger">"Delete"</button>
                                                </ActionForm>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        {page.next.map(|next| view! { <a class="next" href=format!("/settings?section={current}&cursor={next}")>"Next page"</a> })}
                        {admin.then(|| view! {
                            <h2>"Write a setting"</h2>
                            <ActionForm action=put attr:class="form" attr:id="put-setting">
                                <label>"Section"<input name="section" value=section() required maxlength="128"/></label>
                                <label>"Site id (empty: all)"<input name="site_id"/></label>
                                <label>"Backend id (empty: all)"<input name="backend_id"/></label>
                                <label>"Name"<input name="setting_name" required maxlength="128"/></label>
                                <label>"Value"<input name="setting_value" maxlength="4096"/></label>
                                <button type="submit">"Save setting"</button>
                            </ActionForm>
                        })}
                    }),
                }
            })}
        </Suspense>
    }
}

/// A site's controller features, each on, dryrun or off (operators switch them).
#[component]
pub fn FeaturesPage() -> impl IntoView {
    let params = use_params_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let set = ServerAction::<SetFeature>::new();
    let features = Resource::new(move || (site_id(), set.version().get()), |(site, _)| list_features(site));
    let error = form_error(set.value());
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Features · Palomar"/>
        <h1>"Controller features"</h1>
        <p class="muted">"dryrun: decisions are computed, recorded and shown, but nothing is written. DRY_RUN=true makes every feature dry."</p>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let operator = me.await.is_ok_and(|op| op.role >= Role::Operator);
                let site = site_id();
                match features.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(states) => Either::Right(view! {
                        <table class="list" id="features">
                            <thead><tr><th>"Feature"</th><th>"What it does"</th><th>"Stored state"</th><th>"Effective mode"</th><th>"Why"</th></tr></thead>
                            <tbody>
                                {states.into_iter().map(|m| {
                                    let (feature, state) = (m.feature, m.stored);
                                    let site = site.clone();
                                    let label = format!("State of {feature}");
                                    view! {
                                        <tr data-feature=feature.as_str() data-state=state.as_str() data-effective=m.effective.as_str()>
                                            <td>{feature.as_str()}</td>
                                            <td class="small describe">{feature.describe()}</td>
                                            <td>{if operator {
                                                Either::Left(view! {
                                                    <ActionForm action=set attr:class="inline">
                                                        <input type="hidden" name="site_id" value=site/>
                                                        <input type="hidden" name="feature" value=feature.as_str()/>
                                                        <select name="state" aria-label=label>
                                                            {FeatureState::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=s == state>{s.as_str()}</option> }).collect_view()}
                                                        </select>
                                                        <button type="submit">"Set"</button>
                                                    </ActionForm>
                                                })
                                            } else {
                                                Either::Right(view! { <span>{state.as_str()}</span> })
                                            }}</td>
                                            <td class="effective"><StatusBadge status=m.effective.as_str().to_string()/></td>
                                            <td class="muted reason">{m.reason.map(|r| r.explain())}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }),
                }
            })}
        </Suspense>
    }
}
