//! Replays and their results: recorded once, changed only while running.

use super::*;
use domain::replay::{ReplayResult, ReplayRun, ReplayStatus, SettingOverride};

fn run(site_id: Uuid) -> ReplayRun {
    let at = now_ms();
    ReplayRun {
        id: Uuid::new_v4(),
        site_id,
        site: "dc1a".into(),
        requested_by: "ops".into(),
        created_at: at,
        updated_at: at,
        from: at - chrono::Duration::hours(1),
        to: at,
        overrides: vec![SettingOverride::parse("HOST_FAILURE_RATIO=0.3").expect("override")],
        status: ReplayStatus::Running,
        done: 0,
        total: 60,
        error: None,
        result: None,
    }
}

pub(super) async fn a_replay_is_recorded_once_and_changes_only_while_running(db: &dyn Store) {
    let site_id = Uuid::new_v4();
    let mut replay = run(site_id);
    assert_eq!(db.get_replay(site_id, replay.id).await.unwrap(), None);
    assert!(db.insert_replay(&replay).await.unwrap());
    assert!(!db.insert_replay(&replay).await.unwrap(), "a replay is recorded once");
    assert_eq!(db.get_replay(Uuid::new_v4(), replay.id).await.unwrap(), None, "replays are per site");

    replay.done = 30;
    assert!(db.update_replay(&replay).await.unwrap());
    assert_eq!(db.get_replay(site_id, replay.id).await.unwrap().map(|r| r.done), Some(30));

    let mut ended = replay.clone();
    ended.status = ReplayStatus::Done;
    ended.done = 60;
    ended.result = Some(ReplayResult {
        from: replay.from,
        to: replay.to,
        passes: 60,
        recorded: Vec::new(),
        decisions: Vec::new(),
        series: Vec::new(),
        summary: Default::default(),
        agreement: Default::default(),
        start: Default::default(),
        skipped_moves: vec!["g1".into()],
    });
    assert!(db.update_replay(&ended).await.unwrap());
    replay.done = 45;
    assert!(!db.update_replay(&replay).await.unwrap(), "a late progress write does not undo the end");
    assert_eq!(db.get_replay(site_id, replay.id).await.unwrap(), Some(ended));
}
