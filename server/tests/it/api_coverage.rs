//! Everything the UI does is also in the JSON API: each server function names the API
//! operation that does the same, or is on the short list of those that only a browser needs.

use std::{collections::BTreeSet, path::Path};

use palomar_server::web::api_v1;

use crate::common;

/// Server function → the API operation that does the same (`METHOD path`).
const IN_THE_API: &[(&str, &str)] = &[
    ("list_audit", "GET /api/v1/audit"),
    ("get_force_moves", "GET /api/v1/sites/{site}/force-moves"),
    ("get_replay_page", "GET /api/v1/sites/{site}/replays/{id}"),
    ("start_replay", "POST /api/v1/sites/{site}/replays"),
    ("start_force_move", "POST /api/v1/sites/{site}/force-move"),
    ("start_recover", "POST /api/v1/sites/{site}/recover"),
    ("change_force_move", "PATCH /api/v1/sites/{site}/force-move"),
    ("stop_force_move", "DELETE /api/v1/sites/{site}/force-move"),
    ("add_backend", "POST /api/v1/sites/{site}/backends"),
    ("evacuate_backend", "POST /api/v1/sites/{site}/backends/{host}/evacuate"),
    ("list_backends", "GET /api/v1/sites/{site}/backends"),
    ("remove_backend", "DELETE /api/v1/sites/{site}/backends/{host}"),
    ("set_backend_load_factor", "PATCH /api/v1/sites/{site}/backends/{host}"),
    ("set_backend_status", "PATCH /api/v1/sites/{site}/backends/{host}"),
    ("get_controller_status", "GET /api/v1/controller"),
    ("end_group_move", "POST /api/v1/sites/{site}/moves/{id}/force"),
    ("evaluate_controller", "GET /api/v1/controller/evaluate"),
    ("list_decisions", "GET /api/v1/sites/{site}/decisions"),
    ("list_moves", "GET /api/v1/sites/{site}/moves"),
    ("cluster_overview", "GET /api/v1/overview"),
    ("site_charts", "GET /api/v1/sites/{site}/charts"),
    ("get_site_dashboard", "GET /api/v1/sites/{site}/dashboard"),
    ("get_group", "GET /api/v1/sites/{site}/groups/{group}"),
    ("init_progress", "GET /api/v1/sites/{site}/init"),
    ("init_site_groups", "POST /api/v1/sites/{site}/init"),
    ("list_group_members", "GET /api/v1/sites/{site}/groups/{group}/members"),
    ("list_groups", "GET /api/v1/sites/{site}/groups"),
    ("move_group", "POST /api/v1/sites/{site}/groups/{group}/move"),
    ("set_group_sticky", "PATCH /api/v1/sites/{site}/groups/{group}"),
    ("add_operator", "POST /api/v1/operators"),
    ("list_operators", "GET /api/v1/operators"),
    ("reset_operator_password", "PUT /api/v1/operators/{username}/password"),
    ("set_operator_disabled", "PUT /api/v1/operators/{username}/disabled"),
    ("set_operator_role", "PUT /api/v1/operators/{username}/role"),
    ("delete_setting", "DELETE /api/v1/settings"),
    ("list_features", "GET /api/v1/sites/{site}/features"),
    ("list_settings", "GET /api/v1/settings"),
    ("put_setting", "PUT /api/v1/settings"),
    ("set_feature", "PUT /api/v1/sites/{site}/features/{feature}"),
    ("add_site", "POST /api/v1/sites"),
    ("get_site", "GET /api/v1/sites/{site}"),
    ("list_sites", "GET /api/v1/sites"),
    ("remove_site", "DELETE /api/v1/sites/{site}"),
    ("update_site", "PUT /api/v1/sites/{site}"),
    ("list_backend_stats", "GET /api/v1/sites/{site}/stats/backends"),
    ("list_proxy_dest_stats", "GET /api/v1/sites/{site}/stats/proxies"),
    ("list_reachability", "GET /api/v1/reachability"),
    ("prune_proxy_stats", "DELETE /api/v1/sites/{site}/stats/proxies/{proxy}"),
    ("all_tags", "GET /api/v1/tags"),
    ("create_tag", "POST /api/v1/tags"),
    ("list_tags", "GET /api/v1/tags"),
    ("remove_tag", "DELETE /api/v1/tags/{id}"),
    ("rename_tag", "PUT /api/v1/tags/{id}"),
    ("create_token", "POST /api/v1/tokens"),
    ("list_tokens", "GET /api/v1/tokens"),
    ("revoke_token", "DELETE /api/v1/tokens/{id}"),
    ("delete_user", "DELETE /api/v1/users/{username}"),
    ("lookup_user", "GET /api/v1/users/{username}"),
    ("move_user", "POST /api/v1/users/{username}/move"),
];

/// Server functions with no API operation, and why.
const BROWSER_ONLY: &[(&str, &str)] = &[
    ("login", "a session for a browser; API callers present a token instead"),
    ("logout", "ends a browser's session; a token is revoked with DELETE /api/v1/tokens/{id}"),
    ("current_operator", "who the session belongs to; a token's owner is named in GET /api/v1/tokens"),
];

/// The server functions in the UI crate's sources: each `#[server]` attribute's function.
fn server_functions() -> BTreeSet<String> {
    let root = common::workspace_root().join("app/src/server_fns");
    let mut found = BTreeSet::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.extend(functions_in(&path));
            }
        }
    }
    found
}

fn functions_in(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut names = Vec::new();
    let mut after_attribute = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("#[server") {
            after_attribute = true;
        } else if after_attribute {
            if let Some(rest) = line.strip_prefix("pub async fn ") {
                names.push(rest.split(['(', '<']).next().unwrap_or_default().to_string());
                after_attribute = false;
            }
        }
    }
    names
}

/// The API's operations, as `METHOD path`, from its OpenAPI document.
fn api_operations() -> BTreeSet<String> {
    let document = serde_json::to_value(api_v1::openapi()).unwrap();
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations
}

#[test]
fn every_server_function_has_an_api_operation_or_a_reason() {
    let functions = server_functions();
    assert!(functions.len() > 50, "found only {functions:?}");
    let operations = api_operations();
    let listed: BTreeSet<String> =
        IN_THE_API.iter().map(|(f, _)| f).chain(BROWSER_ONLY.iter().map(|(f, _)| f)).map(|f| f.to_string()).collect();
    let missing: Vec<_> = functions.difference(&listed).collect();
    assert!(missing.is_empty(), "server functions with no API operation and no reason: {missing:?}");
    let gone: Vec<_> = listed.difference(&functions).collect();
    assert!(gone.is_empty(), "listed, but no such server function: {gone:?}");
    for (function, operation) in IN_THE_API {
        assert!(operations.contains(*operation), "{function}: the API has no {operation}");
    }
    for (function, reason) in BROWSER_ONLY {
        assert!(!reason.is_empty(), "{function}: give a reason");
    }
}
