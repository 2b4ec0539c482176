use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{FormError, LoadError, PageError},
    server_fns::operators::{list_operators, AddOperator, ResetOperatorPassword, SetOperatorDisabled, SetOperatorRole},
};

use domain::{operator::OperatorSummary, Role};

/// Operator accounts (admins only): add, change role, reset password, disable.
#[component]
pub fn OperatorsPage() -> impl IntoView {
    let add = ServerAction::<AddOperator>::new();
    let set_role = ServerAction::<SetOperatorRole>::new();
    let reset = ServerAction::<ResetOperatorPassword>::new();
    let disable = ServerAction::<SetOperatorDisabled>::new();
    let query = use_query_map();
    let operators = Resource::new(
        move || {
            (
                query.with(|q| q.get("cursor")),
                add.version().get(),
                set_role.version().get(),
                reset.version().get(),
                disable.version().get(),
            )
        },
        |(cursor, ..)| list_operators(cursor),
    );
    let error = PageError::new()
        .watch(set_role.value())
        .watch(reset.value())
        .watch(disable.value())
        .watch(add.value())
        .signal();
    view! {
        <Title text="Operators · Palomar"/>
        <h1>"Operators"</h1>
        <FormError error/>
        <ActionForm action=add attr:class="inline" attr:id="add-operator">
            <input name="username" placeholder="username" aria-label="New operator's username" required maxlength="64" autocomplete="off"/>
            <select name="role" aria-label="New operator's role">
                {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
            </select>
            <input type="password" name="password" placeholder="password (12+ characters)" aria-label="New operator's password" required minlength="12" autocomplete="new-password"/>
            <button type="submit">"Add operator"</button>
        </ActionForm>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match operators.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(view! {
                        <table class="list" id="operators">
                            <thead><tr><th>"Operator"</th><th>"Role"</th><th>"Account"</th><th>"Password"</th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|op| view! { <OperatorLine op set_role reset disable/> }).collect_view()}
                            </tbody>
                        </table>
                        {page.next.map(|next| view! { <a class="next" href=format!("/operators?cursor={next}")>"Next page"</a> })}
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OperatorLine(
    op: OperatorSummary,
    set_role: ServerAction<SetOperatorRole>,
    reset: ServerAction<ResetOperatorPassword>,
    disable: ServerAction<SetOperatorDisabled>,
) -> impl IntoView {
    let name = op.username.clone();
    let (role_name, role_label, disable_name, reset_name, reset_label) =
        (name.clone(), format!("Role of {name}"), name.clone(), name.clone(), format!("New password for {name}"));
    let row_name = name.clone();
    let (toggle_value, toggle_label) = if op.disabled { ("false", "Enable") } else { ("true", "Disable") };
    view! {
        <tr data-operator=row_name data-disabled=op.disabled.to_string()>
            <td>{name}</td>
            <td>
                <ActionForm action=set_role attr:class="inline">
                    <input type="hidden" name="username" value=role_name/>
                    <select name="role" aria-label=role_label>
                        {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == op.role>{r.as_str()}</option> }).collect_view()}
                    </select>
                    <button type="submit">"Set role"</button>
                </ActionForm>
            </td>
            <td>
                <ActionForm action=disable attr:class="inline">
                    <input type="hidden" name="username" value=disable_name/>
                    <input type="hidden" name="disabled" value=toggle_value/>
                    <span class="muted">{if op.disabled { "disabled" } else { "enabled" }}</span>
                    <button type="submit" class=if op.disabled { "" } else { "danger" }>{toggle_label}</button>
                </ActionForm>
            </td>
            <td>
                <ActionForm action=reset attr:class="inline">
                    <input type="hidden" name="username" value=reset_name/>
                    <input type="password" name="password" aria-label=reset_label required minlength="12" autocomplete="new-password"/>
                    <button type="submit">"Reset"</button>
                </ActionForm>
            </td>
        </tr>
    }
}
