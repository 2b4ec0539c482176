use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{FormError, LoadError, Me, PageError},
    server_fns::tags::{list_tags, CreateTag, RemoveTag, RenameTag},
};

use domain::{Role, Tag};

/// Tags: the shard labels sites point to. Admins create, rename and remove them here.
#[component]
pub fn TagsPage() -> impl IntoView {
    let create = ServerAction::<CreateTag>::new();
    let rename = ServerAction::<RenameTag>::new();
    let remove = ServerAction::<RemoveTag>::new();
    let query = use_query_map();
    let tags = Resource::new(
        move || {
            (query.with(|q| q.get("cursor")), create.version().get(), rename.version().get(), remove.version().get())
        },
        |(cursor, ..)| list_tags(cursor),
    );
    let error = PageError::new().watch(rename.value()).watch(remove.value()).watch(create.value()).signal();
    let Me(me) = expect_context::<Me>();
    view! {
        <Title text="Tags · Palomar"/>
        <h1>"Tags"</h1>
        <p class="muted">"A tag groups sites into a shard. Sites refer to tags by id, so a rename keeps them attached."</p>
        <FormError error/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|op| op.role >= Role::Admin);
                match tags.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(view! {
                        {is_admin.then(|| view! {
                            <ActionForm action=create attr:class="inline" attr:id="create-tag">
                                <input name="tag" placeholder="New tag name" aria-label="New tag name" required maxlength="64" autocomplete="off"/>
                                <button type="submit">"Create tag"</button>
                            </ActionForm>
                        })}
                        <table class="list" id="tags">
                            <thead><tr><th>"Tag"</th><th>"Id"</th><th></th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|tag| view! { <TagLine tag is_admin rename remove/> }).collect_view()}
                            </tbody>
                        </table>
                        {page.next.map(|next| view! { <a class="next" href=format!("/tags?cursor={next}")>"Next page"</a> })}
                    }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TagLine(
    tag: Tag,
    is_admin: bool,
    rename: ServerAction<RenameTag>,
    remove: ServerAction<RemoveTag>,
) -> impl IntoView {
    let id = tag.id.to_string();
    let name = tag.tag.clone();
    let name_cell = if is_admin {
        let id = id.clone();
        Either::Left(view! {
            <ActionForm action=rename attr:class="inline">
                <input type="hidden" name="id" value=id.clone()/>
                <input name="tag" value=name.clone() aria-label=format!("Name of tag {name}") required maxlength="64"/>
                <button type="submit">"Rename"</button>
            </ActionForm>
        })
    } else {
        Either::Right(view! { <span>{name.clone()}</span> })
    };
    view! {
        <tr data-tag=tag.tag>
            <td>{name_cell}</td>
            <td><code>{id.clone()}</code></td>
            <td>
                {is_admin.then(|| view! {
                    <ActionForm action=remove attr:class="inline">
                        <input type="hidden" name="id" value=id.clone()/>
                        <button type="submit" class="danger">"Remove"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
