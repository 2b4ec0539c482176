//! Answers match the OpenAPI document; conditional writes honour `If-Match`.

use super::*;

#[tokio::test]
async fn answers_match_the_openapi_document() {
    let api = api().await;
    let (op, admin) = (api.operator.as_str(), api.admin.as_str());
    let sites = api.checked(Method::GET, "/api/v1/sites", "/api/v1/sites", op, None, None).await;
    assert_eq!(sites.body[0]["name"], "dc1a");
    api.checked(Method::GET, "/api/v1/sites/{site}", "/api/v1/sites/dc1a", op, None, None).await;
    api.checked(Method::GET, "/api/v1/sites/{site}", "/api/v1/sites/nowhere", op, None, None).await;
    api.checked(Method::GET, "/api/v1/tags", "/api/v1/tags", op, None, None).await;

    // Backends: a page, one with its ETag, a conditional change, a stale one refused.
    let t = "/api/v1/sites/{site}/backends";
    let list = api.checked(Method::GET, t, "/api/v1/sites/dc1a/backends?limit=2", op, None, None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let next = list.body["next"].as_str().unwrap().to_string();
    let rest = api
        .checked(Method::GET, t, &format!("/api/v1/sites/dc1a/backends?limit=2&cursor={next}"), op, None, None)
        .await;
    assert_eq!(rest.body["items"][0]["host"], "be3.dc1a.example.net");
    api.checked(Method::GET, t, "/api/v1/sites/dc1a/backends?limit=0", op, None, None).await;
    let one = "/api/v1/sites/{site}/backends/{host}";
    let be1 = "/api/v1/sites/dc1a/backends/be1.dc1a.example.net";
    let read = api.checked(Method::GET, one, be1, op, None, None).await;
    let etag = read.etag.clone().expect("an ETag");
    let changed = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 40 })), Some(&etag)).await;
    assert_eq!((changed.status, changed.body["load_factor"].as_i64()), (StatusCode::OK, Some(40)));
    assert_ne!(changed.etag.as_deref(), Some(etag.as_str()), "a new version");
    let stale = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 60 })), Some(&etag)).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "If-Match of an older version");
    let weak = format!("W/{}", changed.etag.as_deref().unwrap());
    let refused = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 60 })), Some(&weak)).await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED, "a weak tag never matches");
    let garbled = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 60 })), Some("abc")).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST, "not an entity tag");
    let after = api.checked(Method::GET, one, be1, op, None, None).await;
    assert_eq!(after.body["load_factor"], 40, "nothing was written");
    // RFC 9110: any tag of the list may match.
    let list = format!("{etag}, {}", after.etag.as_deref().unwrap());
    let changed = api.checked(Method::PATCH, one, be1, op, Some(json!({ "load_factor": 45 })), Some(&list)).await;
    assert_eq!((changed.status, changed.body["load_factor"].as_i64()), (StatusCode::OK, Some(45)));
    let after = api.checked(Method::GET, one, be1, op, None, None).await;
    let both = json!({ "status": "standby", "load_factor": 70 });
    let changed = api.checked(Method::PATCH, one, be1, op, Some(both), after.etag.as_deref()).await;
    assert_eq!((changed.body["status"].as_str(), changed.body["load_factor"].as_i64()), (Some("standby"), Some(70)));
    // A status and a bad load factor: refused whole, the status not written either.
    let bad =
        api.checked(Method::PATCH, one, be1, op, Some(json!({ "status": "online", "load_factor": 101 })), None).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("load_factor")));
    let ui_words = "101".parse::<domain::LoadFactor>().unwrap_err().to_string();
    assert_eq!(bad.body["detail"].as_str(), Some(ui_words.as_str()), "the words a form gets");
    let unchanged = api.checked(Method::GET, one, be1, op, None, None).await;
    assert_eq!(
        (unchanged.body["status"].as_str(), unchanged.body["load_factor"].as_i64()),
        (Some("standby"), Some(70))
    );
    let garbled = api.checked(Method::PATCH, one, be1, op, Some(json!({ "status": "sideways" })), None).await;
    assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY);
    api.checked(
        Method::PATCH,
        one,
        "/api/v1/sites/dc1a/backends/be9.dc1a.example.net",
        op,
        Some(json!({ "load_factor": 1 })),
        None,
    )
    .await;
    let added = api
        .checked(
            Method::POST,
            t,
            "/api/v1/sites/dc1a/backends",
            admin,
            Some(json!({ "host": "be4.dc1a.example.net" })),
            None,
        )
        .await;
    assert_eq!((added.status, added.body["status"].as_str()), (StatusCode::CREATED, Some("standby")));
    let again = api
        .checked(
            Method::POST,
            t,
            "/api/v1/sites/dc1a/backends",
            admin,
            Some(json!({ "host": "be4.dc1a.example.net" })),
            None,
        )
        .await;
    assert_eq!((again.status, again.body["field"].as_str()), (StatusCode::CONFLICT, Some("host")), "taken");
    let evacuate = "/api/v1/sites/{site}/backends/{host}/evacuate";
    let drained = api
        .checked(Method::POST, evacuate, "/api/v1/sites/dc1a/backends/be4.dc1a.example.net/evacuate", op, None, None)
        .await;
    assert_eq!(drained.body["load_factor"], 0);
    let removed =
        api.checked(Method::DELETE, one, "/api/v1/sites/dc1a/backends/be4.dc1a.example.net", admin, None, None).await;
    assert_eq!(removed.status, StatusCode::OK);

    // Groups: list, one, sticky flags with If-Match, a move, and the move ended.
    let groups = api
        .checked(Method::GET, "/api/v1/sites/{site}/groups", "/api/v1/sites/dc1a/groups?mask=default-*", op, None, None)
        .await;
    assert_eq!(groups.body["items"].as_array().unwrap().len(), 6);
    let g = "/api/v1/sites/{site}/groups/{group}";
    let group = api.checked(Method::GET, g, "/api/v1/sites/dc1a/groups/default-2", op, None, None).await;
    let sticky = api
        .checked(
            Method::PATCH,
            g,
            "/api/v1/sites/dc1a/groups/default-2",
            op,
            Some(json!({ "sticky_users": true })),
            group.etag.as_deref(),
        )
        .await;
    assert_eq!(
        (sticky.body["sticky_users"].as_bool(), sticky.body["sticky_backend"].as_bool()),
        (Some(true), Some(false))
    );
    let stale = api
        .checked(
            Method::PATCH,
            g,
            "/api/v1/sites/dc1a/groups/default-2",
            op,
            Some(json!({ "sticky_users": false })),
            group.etag.as_deref(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    // RFC 9110: a list is met when any of its strong tags is the current version.
    let current = api.checked(Method::GET, g, "/api/v1/sites/dc1a/groups/default-2", op, None, None).await;
    let listed = format!("{0}, W/{1}, {1}", group.etag.as_deref().unwrap(), current.etag.as_deref().unwrap());
    let unstick = Some(json!({ "sticky_users": false }));
    let met = api.checked(Method::PATCH, g, "/api/v1/sites/dc1a/groups/default-2", op, unstick, Some(&listed)).await;
    assert_eq!((met.status, met.body["sticky_users"].as_bool()), (StatusCode::OK, Some(false)));
    let any = api
        .checked(
            Method::PATCH,
            g,
            "/api/v1/sites/dc1a/groups/default-2",
            op,
            Some(json!({ "sticky_users": true })),
            Some("*"),
        )
        .await;
    assert_eq!((any.status, any.body["sticky_users"].as_bool()), (StatusCode::OK, Some(true)));
    let on = group.body["backend"].as_str().unwrap().to_string();
    let to = ["be1.dc1a.example.net", "be2.dc1a.example.net", "be3.dc1a.example.net"]
        .into_iter()
        .find(|h| *h != on && *h != "be1.dc1a.example.net")
        .unwrap();
    let mv = "/api/v1/sites/{site}/groups/{group}/move";
    let started = api
        .checked(Method::POST, mv, "/api/v1/sites/dc1a/groups/default-2/move", op, Some(json!({ "backend": to })), None)
        .await;
    assert_eq!(
        (started.status, started.body["state"].as_str()),
        (StatusCode::ACCEPTED, Some("initiated")),
        "{}",
        started.body
    );
    let twice = api
        .checked(Method::POST, mv, "/api/v1/sites/dc1a/groups/default-2/move", op, Some(json!({ "backend": to })), None)
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let nowhere = api
        .checked(
            Method::POST,
            mv,
            "/api/v1/sites/dc1a/groups/default-3/move",
            op,
            Some(json!({ "backend": "be9.dc1a.example.net" })),
            None,
        )
        .await;
    assert_eq!(nowhere.status, StatusCode::UNPROCESSABLE_ENTITY);
    let moves =
        api.checked(Method::GET, "/api/v1/sites/{site}/moves", "/api/v1/sites/dc1a/moves", op, None, None).await;
    let id = moves.body["items"][0]["id"].as_str().unwrap().to_string();
    let forced = api
        .checked(
            Method::POST,
            "/api/v1/sites/{site}/moves/{id}/force",
            &format!("/api/v1/sites/dc1a/moves/{id}/force"),
            op,
            None,
            None,
        )
        .await;
    assert_eq!(forced.body["state"], "forced");
    api.checked(
        Method::POST,
        "/api/v1/sites/{site}/moves/{id}/cancel",
        &format!("/api/v1/sites/dc1a/moves/{id}/cancel"),
        op,
        None,
        None,
    )
    .await;
    api.checked(
        Method::POST,
        "/api/v1/sites/{site}/groups/{group}/access",
        "/api/v1/sites/dc1a/groups/default-1/access",
        op,
        None,
        None,
    )
    .await;

    // Users, features, decisions, audit, tokens.
    let u = "/api/v1/users/{username}";
    let user = api.checked(Method::GET, u, "/api/v1/users/user0000000%40example.net", op, None, None).await;
    assert_eq!(user.body["site"], "dc1a");
    api.checked(Method::GET, u, "/api/v1/users/nobody%40example.net", op, None, None).await;
    let moved = api
        .checked(
            Method::POST,
            "/api/v1/users/{username}/move",
            "/api/v1/users/user0000000%40example.net/move",
            op,
            Some(json!({ "group": "default-3" })),
            None,
        )
        .await;
    assert_eq!(moved.status, StatusCode::ACCEPTED, "{}", moved.body);
    let bad_failover = api
        .checked(
            Method::POST,
            "/api/v1/users/{username}/move",
            "/api/v1/users/user0000000%40example.net/move",
            op,
            Some(json!({ "group": "default-3", "failover_group": "no such/group" })),
            None,
        )
        .await;
    let ui_words = "no such/group".parse::<domain::GroupName>().unwrap_err().to_string();
    assert_eq!(
        (bad_failover.status, bad_failover.body["field"].as_str(), bad_failover.body["detail"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("failover_group"), Some(ui_words.as_str())),
        "the failover group is checked as a form checks it"
    );
    let f = "/api/v1/sites/{site}/features/{feature}";
    let set = api
        .checked(
            Method::PUT,
            f,
            "/api/v1/sites/dc1a/features/load_balance",
            op,
            Some(json!({ "state": "dryrun" })),
            None,
        )
        .await;
    assert!(set.body.as_array().unwrap().iter().any(|m| m["feature"] == "load_balance" && m["stored"] == "dryrun"));
    let unknown = api
        .send(Method::PUT, "/api/v1/sites/dc1a/features/teleport", Some(op), Some(json!({ "state": "on" })), None)
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "an unknown feature");
    api.checked(Method::GET, "/api/v1/sites/{site}/features", "/api/v1/sites/dc1a/features", op, None, None).await;
    api.checked(Method::GET, "/api/v1/sites/{site}/decisions", "/api/v1/sites/dc1a/decisions", op, None, None).await;
    let bad_day = api
        .checked(
            Method::GET,
            "/api/v1/sites/{site}/decisions",
            "/api/v1/sites/dc1a/decisions?day=yesterday",
            op,
            None,
            None,
        )
        .await;
    assert_eq!(bad_day.status, StatusCode::UNPROCESSABLE_ENTITY);
    let audit = api.checked(Method::GET, "/api/v1/audit", "/api/v1/audit?limit=500", admin, None, None).await;
    assert!(audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["action"] == "backend.update" && !r["token"].is_null()));
    api.checked(Method::GET, "/api/v1/tokens", "/api/v1/tokens", op, None, None).await;
    let created = api
        .checked(
            Method::POST,
            "/api/v1/tokens",
            "/api/v1/tokens",
            op,
            Some(json!({ "name": "ci", "role": "viewer" })),
            None,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["token"]["id"].as_str().unwrap().to_string();
    api.checked(Method::DELETE, "/api/v1/tokens/{id}", &format!("/api/v1/tokens/{id}"), op, None, None).await;
    api.checked(
        Method::DELETE,
        "/api/v1/tokens/{id}",
        "/api/v1/tokens/8d2f1f3e-52a4-4c3e-9f55-0e0f6e5a1b2c",
        op,
        None,
        None,
    )
    .await;
    // Sites, tags, settings, site initialisation and user removal (admins).
    let tag =
        api.checked(Method::POST, "/api/v1/tags", "/api/v1/tags", admin, Some(json!({ "name": "shard9" })), None).await;
    assert_eq!(tag.status, StatusCode::CREATED);
    let tag_id = tag.body["id"].as_str().unwrap().to_string();
    let renamed = api
        .checked(
            Method::PUT,
            "/api/v1/tags/{id}",
            &format!("/api/v1/tags/{tag_id}"),
            admin,
            Some(json!({ "name": "shard10" })),
            None,
        )
        .await;
    assert_eq!(renamed.body["name"], "shard10");
    let site = json!({ "name": "dc9z", "tag": tag_id, "status": "standby" });
    let added = api.checked(Method::POST, "/api/v1/sites", "/api/v1/sites", admin, Some(site), None).await;
    assert_eq!((added.status, added.body["status"].as_str()), (StatusCode::CREATED, Some("standby")));
    let bad_site = api
        .checked(
            Method::POST,
            "/api/v1/sites",
            "/api/v1/sites",
            admin,
            Some(json!({ "name": "bad name", "status": "online" })),
            None,
        )
        .await;
    assert_eq!((bad_site.status, bad_site.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    let site = json!({ "name": "dc9z", "tag": tag_id, "load_balancer": "lb.dc9z.example.net", "status": "online" });
    let (one_site, dc9z) = ("/api/v1/sites/{site}", "/api/v1/sites/dc9z");
    let read = api.checked(Method::GET, one_site, dc9z, admin, None, None).await;
    let etag = read.etag.clone().expect("a site's ETag");
    let updated = api.checked(Method::PUT, one_site, dc9z, admin, Some(site.clone()), Some(&etag)).await;
    assert_eq!(updated.body["load_balancer"], "lb.dc9z.example.net");
    assert_ne!(updated.etag, Some(etag.clone()), "a new version");
    let stale = api.checked(Method::PUT, one_site, dc9z, admin, Some(site.clone()), Some(&etag)).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "If-Match of an older version");
    let listed = format!("W/{etag}, {etag}, {}", updated.etag.as_deref().unwrap());
    let again = api.checked(Method::PUT, one_site, dc9z, admin, Some(site), Some(&listed)).await;
    assert_eq!(again.status, StatusCode::OK, "a list with the current version among others");
    let in_use =
        api.checked(Method::DELETE, "/api/v1/tags/{id}", &format!("/api/v1/tags/{tag_id}"), admin, None, None).await;
    assert!(in_use.status.is_client_error(), "a tag a site names stays: {}", in_use.status);
    let unconfirmed =
        api.checked(Method::DELETE, "/api/v1/sites/{site}", "/api/v1/sites/dc9z?confirm=dc1a", admin, None, None).await;
    assert!(unconfirmed.status.is_client_error());
    api.checked(Method::DELETE, "/api/v1/sites/{site}", "/api/v1/sites/dc9z?confirm=dc9z", admin, None, None).await;
    api.checked(Method::DELETE, "/api/v1/tags/{id}", &format!("/api/v1/tags/{tag_id}"), admin, None, None).await;
    let init = api
        .checked(
            Method::POST,
            "/api/v1/sites/{site}/init",
            "/api/v1/sites/dc1a/init",
            admin,
            Some(json!({ "count": 8 })),
            None,
        )
        .await;
    assert_eq!(init.body["created"], 2, "default-7 and default-8");
    let setting = json!({ "section": "controller", "name": "note", "value": "hello" });
    api.checked(Method::PUT, "/api/v1/settings", "/api/v1/settings", admin, Some(setting.clone()), None).await;
    let section =
        api.checked(Method::GET, "/api/v1/settings", "/api/v1/settings?section=controller", op, None, None).await;
    assert!(section.body["items"].as_array().unwrap().iter().any(|r| r["name"] == "note" && r["value"] == "hello"));
    api.checked(Method::DELETE, "/api/v1/settings", "/api/v1/settings", admin, Some(setting), None).await;
    let bad_feature = json!({ "section": "controller_features", "name": "teleport", "value": "on" });
    let refused =
        api.checked(Method::PUT, "/api/v1/settings", "/api/v1/settings", admin, Some(bad_feature), None).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    api.checked(
        Method::DELETE,
        "/api/v1/users/{username}",
        "/api/v1/users/user0000001%40example.net",
        admin,
        None,
        None,
    )
    .await;
    let gone = api.checked(Method::GET, u, "/api/v1/users/user0000001%40example.net", op, None, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let not_json = api.send(Method::POST, "/api/v1/tokens", Some(op), None, None).await;
    assert_eq!(
        (not_json.status, not_json.content_type.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json")
    );
}
