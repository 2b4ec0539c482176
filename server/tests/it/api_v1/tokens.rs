//! Tokens are shown once, kept hashed, follow their owner and end.

use super::*;

#[tokio::test]
async fn tokens_are_shown_once_kept_hashed_follow_their_owner_and_end() {
    let api = api().await;
    let sites = |token: String| {
        let api = &api;
        async move { api.send(Method::GET, "/api/v1/sites", Some(&token), None, None).await.status }
    };
    // Made over the API: the secret is in the answer, never in the store or a list.
    let made = api
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&api.operator),
            Some(json!({ "name": "cron", "role": "operator", "days": 7 })),
            None,
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let secret = made.body["secret"].as_str().unwrap().to_string();
    let id: uuid::Uuid = made.body["token"]["id"].as_str().unwrap().parse().unwrap();
    let stored = api.store.get_token(id).await.unwrap().unwrap();
    let raw = secret.rsplit('_').next().unwrap();
    assert!(!stored.secret_hash.contains(raw) && stored.secret_hash.len() == 64, "only a hash is kept");
    assert_eq!(
        (stored.owner.as_str(), stored.role, stored.created_by.as_str()),
        ("operator", Role::Operator, "operator")
    );
    assert_eq!((stored.expires_at - stored.created_at).num_days(), 7);
    let listed = api.send(Method::GET, "/api/v1/tokens", Some(&api.operator), None, None).await;
    assert!(!listed.body.to_string().contains(raw), "never listed");
    assert_eq!(sites(secret.clone()).await, StatusCode::OK);

    // No higher than the creator; for others only as an admin; no higher than the owner.
    let higher = api
        .send(Method::POST, "/api/v1/tokens", Some(&api.operator), Some(json!({ "name": "x", "role": "admin" })), None)
        .await;
    assert_eq!((higher.status, higher.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("role")));
    let for_other = api
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&api.operator),
            Some(json!({ "name": "x", "role": "viewer", "owner": "viewer" })),
            None,
        )
        .await;
    assert_eq!(for_other.status, StatusCode::FORBIDDEN);
    let above_owner = api
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&api.admin),
            Some(json!({ "name": "x", "role": "operator", "owner": "viewer" })),
            None,
        )
        .await;
    assert_eq!(above_owner.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The owner's role drops: so does the token's. The owner disabled: the token stops.
    let cli = Caller::trusted_cli();
    api.services.operator_admin(&cli).unwrap().set_role("operator", Role::Viewer).await.unwrap();
    let patch = api
        .send(
            Method::PATCH,
            "/api/v1/sites/dc1a/backends/be1.dc1a.example.net",
            Some(&secret),
            Some(json!({ "load_factor": 10 })),
            None,
        )
        .await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN, "acts as a viewer now");
    // (A disable or a password reset revokes the owner's tokens: the test below.)

    // Revoked: for good. Expired: likewise.
    let revoked = api.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&api.admin), None, None).await;
    assert_eq!((revoked.status, revoked.body["revoked"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(sites(secret).await, StatusCode::UNAUTHORIZED);
    let now = chrono::Utc::now();
    let expired = TokenRecord {
        id: uuid::Uuid::new_v4(),
        owner: "admin".into(),
        role: Role::Admin,
        name: "old".into(),
        // SHA-256 of "s3cret".
        secret_hash: "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0".into(),
        created_by: "admin".into(),
        created_at: now - chrono::Duration::days(10),
        expires_at: now - chrono::Duration::seconds(1),
        revoked: false,
    };
    api.store.insert_token(&expired).await.unwrap();
    let text = domain::token::token_text(expired.id, "s3cret");
    assert_eq!(sites(text.clone()).await, StatusCode::UNAUTHORIZED, "expired");
    api.store
        .insert_token(&TokenRecord {
            id: uuid::Uuid::new_v4(),
            expires_at: now + chrono::Duration::days(1),
            ..expired.clone()
        })
        .await
        .unwrap();

    // Every use is audited with the token's id, refused ones too.
    let viewer_id = domain::token::split_token(&api.viewer).unwrap().0;
    let refused = api
        .send(Method::DELETE, "/api/v1/sites/dc1a/backends/be1.dc1a.example.net", Some(&api.viewer), None, None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let records = api.store.list_day(now.date_naive(), domain::PageRequest::first(500)).await.unwrap().items;
    let uses: Vec<_> = records.iter().filter(|r| r.token == Some(viewer_id)).collect();
    assert!(uses
        .iter()
        .any(|r| r.action == "api.request" && r.target == "DELETE /api/v1/sites/dc1a/backends/be1.dc1a.example.net"));
    assert!(uses.iter().all(|r| r.operator == "viewer"));
}

// Round two, finding: a password reset ended the operator's sessions but not their API tokens.
#[tokio::test]
async fn a_password_reset_or_a_disable_revokes_the_owners_tokens() {
    let api = api().await;
    async fn sites(api: &Api, token: &str) -> StatusCode {
        api.send(Method::GET, "/api/v1/sites", Some(token), None, None).await.status
    }
    assert_eq!(sites(&api, &api.operator).await, StatusCode::OK);
    assert_eq!(sites(&api, &api.viewer).await, StatusCode::OK);
    let admin = api.services.operator_admin(&Caller::trusted_cli()).unwrap();
    admin.reset_password("operator", "a brand new passphrase").await.unwrap();
    assert_eq!(sites(&api, &api.operator).await, StatusCode::UNAUTHORIZED, "the reset revoked it");
    admin.set_disabled("viewer", true).await.unwrap();
    admin.set_disabled("viewer", false).await.unwrap();
    assert_eq!(sites(&api, &api.viewer).await, StatusCode::UNAUTHORIZED, "enabling again does not bring it back");
    assert_eq!(sites(&api, &api.admin).await, StatusCode::OK, "another owner's token is untouched");
    // The audit says which tokens went, and why.
    let now = chrono::Utc::now();
    let records = api.store.list_day(now.date_naive(), domain::PageRequest::first(500)).await.unwrap().items;
    let revocations: Vec<&str> =
        records.iter().filter(|r| r.action == "token.revoke").map(|r| r.target.as_str()).collect();
    assert!(revocations.iter().any(|t| t.contains("of operator (password reset)")), "{revocations:?}");
    assert!(revocations.iter().any(|t| t.contains("of viewer (account disabled)")), "{revocations:?}");
}
