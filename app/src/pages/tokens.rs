use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

use crate::{
    components::{FormError, LoadError, PageError, Time},
    server_fns::tokens::{list_tokens, CreateToken, RevokeToken},
};

use domain::{
    token::{NewToken, TokenView, DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS},
    Role,
};

/// API tokens for `/api/v1` and `palomar cluster`: operators make their own, admins anyone's.
/// A new token's text shows once, at the top.
#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let error = PageError::new().watch(create.value()).watch(revoke.value()).signal();
    // With JavaScript, the new token comes back from the action; without, from the session.
    let just_made = move || create.value().get().and_then(|answer| answer.ok()).flatten();
    view! {
        <Title text="API tokens · Palomar"/>
        <h1>"API tokens"</h1>
        <p class="muted">
            "A token lets a script use the API (" <a href="/api/v1/docs">"/api/v1/docs"</a>
            ") and " <code>"palomar cluster"</code> " as you: send it as "
            <code>"Authorization: Bearer …"</code> ". It may do at most what its role and its owner's current role allow, and every use is in the audit log."
        </p>
        <FormError error/>
        {move || just_made().map(new_token)}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(view! {
                        {page.created.map(new_token)}
                        <h2>"New token"</h2>
                        <ActionForm action=create attr:class="inline" attr:id="create-token">
                            <input name="name" placeholder="what it is for, e.g. ansible" aria-label="Token name" required maxlength="100" autocomplete="off"/>
                            <select name="role" aria-label="Token role">
                                {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == Role::Viewer>{r.as_str()}</option> }).collect_view()}
                            </select>
                            <input type="number" name="days" min="1" max=MAX_TOKEN_DAYS.to_string() value=DEFAULT_TOKEN_DAYS.to_string() aria-label="Days it lives" class="narrow"/>
                            {page.admin.then(|| view! {
                                <input name="owner" placeholder=format!("owner (default: {})", page.me) aria-label="Token owner" maxlength="64" autocomplete="off"/>
                            })}
                            <button type="submit">"Create token"</button>
                        </ActionForm>
                        <table class="list" id="tokens">
                            <thead><tr><th>"Name"</th><th>"Owner"</th><th>"Role"</th><th>"Created"</th><th>"Expires"</th><th>"State"</th><th></th></tr></thead>
                            <tbody>
                                {page.tokens.into_iter().map(|t| token_line(t, revoke)).collect_view()}
                            </tbody>
                        </table>
                    }),
                }
            })}
        </Suspense>
    }
}

/// A token just made, with its text: shown this once.
fn new_token(new: NewToken) -> impl IntoView {
    view! {
        <div class="notice" id="new-token">
            <p><b>"Your new token “"{new.token.name}"”. Copy it now: it is not shown again."</b></p>
            <p><code id="new-token-secret">{new.secret}</code></p>
        </div>
    }
}

fn token_line(t: TokenView, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let state = if t.revoked {
        "revoked"
    } else if t.expired {
        "expired"
    } else {
        "active"
    };
    let active = state == "active";
    let (row_id, id) = (t.id.to_string(), t.id.to_string());
    view! {
        <tr data-token=row_id data-state=state>
            <td>{t.name.clone()}</td>
            <td>{t.owner.clone()}</td>
            <td>{t.role.to_string()}</td>
            <td><Time at=t.created_at/>" by "{t.created_by.clone()}</td>
            <td><Time at=t.expires_at/></td>
            <td>{state}</td>
            <td>
                {active.then(|| view! {
                    <ActionForm action=revoke attr:class="inline">
                        <input type="hidden" name="id" value=id.clone()/>
                        <button type="submit" class="danger">"Revoke"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
