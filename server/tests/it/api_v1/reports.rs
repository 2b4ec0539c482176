//! What the UI shows and the operators page does, over the API: dashboards, charts, the
//! controller, statistics, group members, initialisation progress and operator accounts. Each
//! answer is checked against the OpenAPI document.

use super::*;

use domain::geodb::ProxyDestStat;
use palomar_core::ports::StatTables;

#[tokio::test]
async fn the_dashboards_the_controller_and_the_statistics_answer_as_documented() {
    let api = api().await;
    let (viewer, op, admin) = (api.viewer.as_str(), api.operator.as_str(), api.admin.as_str());
    let overview = api.checked(Method::GET, "/api/v1/overview", "/api/v1/overview", viewer, None, None).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert_eq!(overview.body[0]["name"], "dc1a");
    assert_eq!(overview.body[0]["backends"], 3);

    let t = "/api/v1/sites/{site}/dashboard";
    let dashboard = api.checked(Method::GET, t, "/api/v1/sites/dc1a/dashboard", viewer, None, None).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert_eq!(dashboard.body["site_name"], "dc1a");
    assert_eq!(dashboard.body["backends"].as_array().map(Vec::len), Some(3));
    let missing = api.checked(Method::GET, t, "/api/v1/sites/nowhere/dashboard", viewer, None, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let t = "/api/v1/sites/{site}/charts";
    let charts = api.checked(Method::GET, t, "/api/v1/sites/dc1a/charts", viewer, None, None).await;
    let kinds: Vec<_> =
        charts.body.as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["failure-ratio", "logins", "zscore", "users", "moves"]);

    let status = api.checked(Method::GET, "/api/v1/controller", "/api/v1/controller", viewer, None, None).await;
    assert_eq!(status.status, StatusCode::OK);
    assert!(status.body["modes"].as_array().is_some_and(|m| !m.is_empty()), "{}", status.body);
    let t = "/api/v1/controller/evaluate";
    let evaluation = api.checked(Method::GET, t, t, op, None, None).await;
    assert!(evaluation.status.is_success() || evaluation.status == StatusCode::SERVICE_UNAVAILABLE);

    for template in ["/api/v1/sites/{site}/stats/backends", "/api/v1/sites/{site}/stats/proxies"] {
        let page = api.checked(Method::GET, template, &concrete(template), viewer, None, None).await;
        assert_eq!(page.status, StatusCode::OK, "{template}: {}", page.body);
    }
    let t = "/api/v1/sites/{site}/stats/proxies/{proxy}";
    // The seeded cluster has no proxy statistics: nothing to prune is a 404, as on the page.
    let unknown = api.checked(Method::DELETE, t, &concrete(t), admin, None, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    let site = overview.body[0]["id"].as_str().and_then(|id| id.parse().ok()).expect("the site's id");
    for dest in ["be1.dc1a.example.net", "be2.dc1a.example.net"] {
        let row = ProxyDestStat {
            proxy_site_id: site,
            dest_host: dest.into(),
            proxy_host: "proxy1.dc1a.example.net".into(),
            key: "k".into(),
            value: 1.0,
            kind: "counter".into(),
        };
        api.store.put_proxy_dest_stat(&row).await.unwrap();
    }
    let listed = api
        .checked(
            Method::GET,
            "/api/v1/sites/{site}/stats/proxies",
            "/api/v1/sites/dc1a/stats/proxies",
            viewer,
            None,
            None,
        )
        .await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(2), "{}", listed.body);
    let pruned = api.checked(Method::DELETE, t, &concrete(t), admin, None, None).await;
    assert_eq!((pruned.status, pruned.body["removed"].as_u64()), (StatusCode::OK, Some(2)));
    let bad = api.checked(Method::DELETE, t, "/api/v1/sites/dc1a/stats/proxies/a%20b", admin, None, None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reach = api.checked(Method::GET, "/api/v1/reachability", "/api/v1/reachability", viewer, None, None).await;
    assert_eq!(reach.status, StatusCode::OK);
}

#[tokio::test]
async fn group_members_and_initialisation_progress_answer_as_documented() {
    let api = api().await;
    let viewer = api.viewer.as_str();
    let t = "/api/v1/sites/{site}/groups/{group}/members";
    let members =
        api.checked(Method::GET, t, "/api/v1/sites/dc1a/groups/default-1/members?limit=5", viewer, None, None).await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.body);
    assert!(members.body["items"].as_array().is_some());
    let bad = api.checked(Method::GET, t, "/api/v1/sites/dc1a/groups/a%20b/members", viewer, None, None).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("group")));
    let t = "/api/v1/sites/{site}/init";
    let progress = api.checked(Method::GET, t, "/api/v1/sites/dc1a/init", viewer, None, None).await;
    assert_eq!(progress.body["running"], false);
}

#[tokio::test]
async fn operators_are_added_changed_and_disabled_over_the_api() {
    let api = api().await;
    let admin = api.admin.as_str();
    let list = api.checked(Method::GET, "/api/v1/operators", "/api/v1/operators", admin, None, None).await;
    assert_eq!(list.status, StatusCode::OK);
    let new = json!({ "username": "carol", "role": "viewer", "password": "a long enough password" });
    let added =
        api.checked(Method::POST, "/api/v1/operators", "/api/v1/operators", admin, Some(new.clone()), None).await;
    assert_eq!((added.status, added.body["role"].as_str()), (StatusCode::CREATED, Some("viewer")));
    let again = api.checked(Method::POST, "/api/v1/operators", "/api/v1/operators", admin, Some(new), None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let wrong = json!({ "username": "dave", "role": "root", "password": "a long enough password" });
    let wrong = api.checked(Method::POST, "/api/v1/operators", "/api/v1/operators", admin, Some(wrong), None).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The same words and the same text as in the UI's forms.
    let detail = wrong.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("unknown role \"root\": use viewer, operator or admin"), "{detail}");

    let t = "/api/v1/operators/{username}/role";
    let role = api
        .checked(Method::PUT, t, "/api/v1/operators/carol/role", admin, Some(json!({ "role": "operator" })), None)
        .await;
    assert_eq!(role.body["role"], "operator");
    let t = "/api/v1/operators/{username}/disabled";
    let off = api
        .checked(Method::PUT, t, "/api/v1/operators/carol/disabled", admin, Some(json!({ "disabled": true })), None)
        .await;
    assert_eq!(off.body["disabled"], true);
    let t = "/api/v1/operators/{username}/password";
    let reset = json!({ "password": "another long password" });
    let reset = api.checked(Method::PUT, t, "/api/v1/operators/carol/password", admin, Some(reset), None).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    let nobody = json!({ "password": "another long password" });
    let nobody = api.checked(Method::PUT, t, "/api/v1/operators/nobody/password", admin, Some(nobody), None).await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
}
