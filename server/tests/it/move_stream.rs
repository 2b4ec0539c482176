//! The live move stream pushes a change as soon as this process writes a move record, instead
//! of waiting for its next poll, and does not send an unchanged list again; stopping the server
//! ends it.

use crate::common;

use std::{sync::Arc, time::Duration};

use axum::{body::Body, http::StatusCode, serve::Listener};
use common::web::{app_with, get, login, post, send, settings};
use http_body_util::BodyExt;
use palomar_core::ports::{read_all, BackendTable, GroupTable};
use palomar_server::{
    adapters::embedded::EmbeddedStore,
    seed::{seed_sample_cluster, SampleSize},
};

/// The next `moves` event's data, or `None` if none comes within `limit` (keep-alive
/// comments are skipped).
async fn next_moves(body: &mut Body, limit: Duration) -> Option<String> {
    let started = std::time::Instant::now();
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        let frame = tokio::time::timeout(left, body.frame()).await.ok()??.ok()?;
        let Some(data) = frame.data_ref() else { continue };
        let text = String::from_utf8_lossy(data);
        if text.contains("event: moves") {
            return Some(text.into_owned());
        }
    }
}

#[tokio::test]
async fn a_started_move_is_pushed_at_once_and_an_unchanged_list_is_not_resent() {
    let store = Arc::new(EmbeddedStore::new());
    let size = SampleSize { sites: 1, backends_per_site: 2, groups_per_site: 4, users: 40 };
    let report = seed_sample_cluster(store.clone(), size, 4).await.unwrap();
    let site = report.sites[0].id;
    let (app, _) = app_with(settings(Duration::from_secs(600), false), Some(common::services_on(store.clone()))).await;
    let (cookie, _) = login(&app, "operator", None).await;

    let response = send(&app, get(&format!("/api/moves/stream?site_id={site}"), Some(&cookie))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = next_moves(&mut body, Duration::from_secs(3)).await.expect("the first event comes at once");
    assert!(first.contains("data: []"), "{first}");
    assert_eq!(next_moves(&mut body, Duration::from_millis(2500)).await, None, "nothing changed: nothing sent");

    // default-1 sits on the first backend; the second one takes it.
    let backends = read_all(|page| store.list_backends(site, page)).await.unwrap();
    let group = store.get_group(site, "default-1").await.unwrap().unwrap();
    let destination = backends.iter().find(|b| Some(b.id) != group.backend_id).unwrap().id;
    let form = format!("site_id={site}&name=default-1&destination={destination}");
    let moved = send(&app, post("/api/groups/move", &form, Some(&cookie))).await;
    assert!(moved.status().is_success() || moved.status().is_redirection(), "{}", moved.status());
    // Well inside the stream's one-second poll: the write itself woke it.
    let pushed = next_moves(&mut body, Duration::from_millis(500)).await.expect("the move is pushed at once");
    assert!(pushed.contains("\"group\":\"default-1\""), "{pushed}");
}

/// An open live feed does not keep a stopping server alive: the signal ends the feed at once,
/// well within the grace other requests get.
#[tokio::test]
async fn stopping_the_server_ends_an_open_feed_at_once() {
    let store = Arc::new(EmbeddedStore::new());
    let size = SampleSize { sites: 1, backends_per_site: 2, groups_per_site: 4, users: 40 };
    let site = seed_sample_cluster(store.clone(), size, 4).await.unwrap().sites[0].id;
    let (app, _) = app_with(settings(Duration::from_secs(600), false), Some(common::services_on(store))).await;
    let (cookie, _) = login(&app, "operator", None).await;

    let listener = palomar_server::web::bind(([127, 0, 0, 1], 0).into()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_signal) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(palomar_server::web::serve_until(listener, app, async {
        let _ = stop_signal.await;
    }));
    let mut feed = reqwest::Client::new()
        .get(format!("http://{addr}/api/moves/stream?site_id={site}"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), reqwest::StatusCode::OK);
    let first = feed.chunk().await.unwrap().expect("the first event");
    assert!(String::from_utf8_lossy(&first).contains("event: moves"));

    let stopped_at = std::time::Instant::now();
    stop.send(()).unwrap();
    let limit = palomar_server::web::GRACE / 2;
    let served = tokio::time::timeout(limit, server).await.expect("the server stops before the grace ends");
    served.unwrap().unwrap();
    assert!(stopped_at.elapsed() < limit);
    // The feed ended cleanly: no more chunks, and no error.
    assert_eq!(tokio::time::timeout(limit, feed.chunk()).await.expect("the feed ends").ok().flatten(), None);
}

// Round two: one session could open 1,000 move streams.
#[tokio::test]
async fn a_session_holds_a_bounded_number_of_streams_and_a_closed_one_frees_its_place() {
    let store = Arc::new(EmbeddedStore::new());
    let size = SampleSize { sites: 1, backends_per_site: 2, groups_per_site: 4, users: 40 };
    let site = seed_sample_cluster(store.clone(), size, 4).await.unwrap().sites[0].id;
    let mut limited = settings(Duration::from_secs(600), false);
    limited.max_move_streams = 2;
    let (app, _) = app_with(limited, Some(common::services_on(store))).await;
    let (cookie, _) = login(&app, "operator", None).await;
    let path = format!("/api/moves/stream?site_id={site}");
    let first = send(&app, get(&path, Some(&cookie))).await;
    let second = send(&app, get(&path, Some(&cookie))).await;
    assert_eq!((first.status(), second.status()), (StatusCode::OK, StatusCode::OK));
    let third = send(&app, get(&path, Some(&cookie))).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers().get(axum::http::header::RETRY_AFTER).is_some());
    // Another session has places of its own; a closed stream frees one.
    let (other, _) = login(&app, "admin", None).await;
    assert_eq!(send(&app, get(&path, Some(&other))).await.status(), StatusCode::OK);
    drop(first);
    assert_eq!(send(&app, get(&path, Some(&cookie))).await.status(), StatusCode::OK);
    drop(second);
}
