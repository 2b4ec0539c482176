//! The controller with Dovecot CE backends (`DOVECOT_EDITION=ce`), scripted on the embedded
//! store against an in-process stand-in of CE's doveadm API that has only what CE has (`who`,
//! `kick`, `authCacheFlush`; no `cluster*` command). The same flows run on real Dovecot CE in
//! `scripts/test/ce.sh`; here each step is checked on its own.

use crate::common;
use domain::doveadm::DoveadmCommand;
use domain::loops::LoopKind;
use domain::loops::RunKey;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use palomar_core::{
    controller::{Census, Controller, ControllerSettings, DovecotSettings},
    ports::{
        BackendTable, Doveadm, DoveadmError, DoveadmRow, GroupTable, ManualClock, Ports, RecordStore, SettingTable,
        SiteTable, UserTable,
    },
    services::{Caller, Services},
};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use common::rows::{backend, group, user};
use domain::{
    edition::DovecotEdition,
    geodb::{BackendStatus, UserGroup},
    moves::MoveState,
    probe::ReachabilityState,
    PageRequest, Site, SiteStatus,
};
use palomar_server::adapters::{embedded::EmbeddedStore, NoMetrics};
use serde_json::{Map, Value};
use uuid::Uuid;

const PROXY: &str = "127.0.0.1";
const BE1: &str = "127.0.0.2";
const BE2: &str = "127.0.0.3";

/// Sessions per backend, as CE's anvil knows them, and every command asked.
#[derive(Default)]
struct FakeCe {
    sessions: Mutex<BTreeMap<String, BTreeSet<String>>>,
    down: Mutex<BTreeSet<String>>,
    asked: Mutex<Vec<(String, String, Value)>>,
    /// Answers as the 2.4 line (no Director) rather than 2.3.
    is_24: std::sync::atomic::AtomicBool,
}

impl FakeCe {
    fn login(&self, host: &str, user: &str) {
        self.sessions.lock().unwrap().entry(host.into()).or_default().insert(user.into());
    }

    fn sessions_on(&self, host: &str) -> BTreeSet<String> {
        self.sessions.lock().unwrap().get(host).cloned().unwrap_or_default()
    }

    fn asked(&self, host: &str, command: &str) -> Vec<Value> {
        let asked = self.asked.lock().unwrap();
        asked.iter().filter(|(h, c, _)| h == host && c == command).map(|(_, _, p)| p.clone()).collect()
    }
}

/// The user masks of a request, given as one string or a list (CE takes both).
fn masks(params: &Map<String, Value>) -> Vec<String> {
    match params.get("mask") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many.iter().filter_map(|v| v.as_str()).map(String::from).collect(),
        _ => vec![],
    }
}

#[async_trait]
impl Doveadm for FakeCe {
    async fn list_commands(&self, host: &str) -> Result<Vec<String>, DoveadmError> {
        if self.down.lock().unwrap().contains(host) {
            return Err(DoveadmError::Unreachable { host: host.into(), reason: "connection refused".into() });
        }
        let line = if self.is_24.load(std::sync::atomic::Ordering::SeqCst) {
            ["who", "kick", "authCacheFlush", "proxyKick", "sieveList"]
        } else {
            ["who", "kick", "authCacheFlush", "proxyKick", "directorStatus"]
        };
        Ok(line.map(String::from).to_vec())
    }

    async fn run(&self, host: &str, command: &DoveadmCommand) -> Result<Vec<DoveadmRow>, DoveadmError> {
        let (command, params) = (command.name(), command.parameters());
        self.asked.lock().unwrap().push((host.into(), command.into(), Value::Object(params.clone())));
        if self.down.lock().unwrap().contains(host) {
            return Err(DoveadmError::Unreachable { host: host.into(), reason: "connection refused".into() });
        }
        match command {
            // As CE with `separateConnections`, the form the controller must use (one row per
            // connection; CE's grouped answer is malformed with two rows or more).
            "who" if params.get("separateConnections") != Some(&Value::Bool(true)) && masks(&params).is_empty() => {
                Err(DoveadmError::BadResponse { host: host.into(), reason: "grouped who answer".into() })
            }
            "who" => {
                let mask = masks(&params);
                Ok(self
                    .sessions_on(host)
                    .into_iter()
                    .filter(|u| mask.is_empty() || mask.contains(u))
                    .map(|u| {
                        DoveadmRow::from([
                            ("username".into(), Value::String(u)),
                            ("connections".into(), Value::String("1".into())),
                            ("service".into(), Value::String("imap".into())),
                        ])
                    })
                    .collect())
            }
            // As CE: one mask per kick, exit code 68 when nobody was kicked.
            "kick" => {
                let mask = masks(&params);
                let failed = |exit_code| DoveadmError::Failed { host: host.into(), command: "kick".into(), exit_code };
                let [user] = mask.as_slice() else { return Err(failed(64)) };
                let mut sessions = self.sessions.lock().unwrap();
                if sessions.entry(host.into()).or_default().remove(user) {
                    Ok(vec![DoveadmRow::from([("result".into(), Value::String(user.clone()))])])
                } else {
                    Err(failed(68))
                }
            }
            // As CE: without the user parameter the connection closes unanswered.
            "authCacheFlush" if params.get("user").is_some_and(Value::is_array) => Ok(vec![]),
            "authCacheFlush" => {
                Err(DoveadmError::Unreachable { host: host.into(), reason: "connection closed".into() })
            }
            _ => {
                Err(DoveadmError::Refused { host: host.into(), command: command.into(), kind: "unknownMethod".into() })
            }
        }
    }
}

struct World {
    store: Arc<EmbeddedStore>,
    ce: Arc<FakeCe>,
    clock: Arc<ManualClock>,
    site: Uuid,
    be1: Uuid,
    be2: Uuid,
    controller: Arc<Controller>,
    services: Services,
}

impl World {
    /// Site dc1a with two CE backends; groups g1 and g2 on the first; alice in g1, bob in g2.
    async fn new() -> Self {
        let store = Arc::new(EmbeddedStore::new());
        let site = Uuid::from_u128(1);
        let row =
            Site { id: site, name: "dc1a".into(), tag: None, load_balancer: String::new(), status: SiteStatus::Online };
        store.put_site(&row).await.unwrap();
        let (be1, be2) = (backend(site, 11, BE1), backend(site, 12, BE2));
        store.put_backend(&be1).await.unwrap();
        store.put_backend(&be2).await.unwrap();
        for name in ["g1", "g2"] {
            store.put_group(&group(site, name, be1.id, be2.id, "")).await.unwrap();
        }
        store.put_user(&user("alice", Some(site), "g1")).await.unwrap();
        store.put_user(&user("bob", Some(site), "g2")).await.unwrap();
        let ce = Arc::new(FakeCe::default());
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()));
        let ports = Ports {
            doveadm: ce.clone(),
            clock: clock.clone(),
            ..common::embedded_ports(store.clone(), Arc::new(NoMetrics))
        };
        let settings = ControllerSettings {
            dovecot: DovecotSettings {
                edition: DovecotEdition::Ce,
                proxies: vec![PROXY.into()],
                default_group_count: 10,
            },
            ..common::controller_settings("dc1a", "ce")
        };
        let controller = Controller::new(ports.clone(), Arc::new(Census::default()), settings);
        controller.run(LoopKind::Leader).await;
        let services = Services::new(ports, controller.clone());
        World { store, ce, clock, site, be1: be1.id, be2: be2.id, controller, services }
    }

    async fn group(&self, name: &str) -> UserGroup {
        self.store.get_group(self.site, name).await.unwrap().unwrap()
    }

    async fn moves(&self) -> Vec<domain::moves::MoveRecord> {
        self.store.list_moves(self.site, PageRequest::first(100)).await.unwrap().items
    }

    async fn turn_on(&self, feature: domain::Feature) {
        let on = domain::geodb::ClusterSetting {
            section: domain::feature::FEATURE_SECTION.into(),
            site_id: self.site,
            backend_id: Uuid::nil(),
            setting_name: feature.as_str().into(),
            setting_value: domain::FeatureState::On.as_str().into(),
        };
        self.store.put_setting(&on).await.unwrap();
    }

    async fn reachability(&self) -> Vec<ReachabilityState> {
        self.controller.run(LoopKind::Reachability).await;
        self.controller.status().await.reachability
    }
}

#[tokio::test]
async fn the_probe_asks_ce_who_and_sees_a_backend_go_down() {
    let world = World::new().await;
    let reach = world.reachability().await;
    assert!(reach.iter().all(|r| r.reachable), "{reach:?}");
    let probe = world.ce.asked(BE1, "who");
    assert_eq!(probe.len(), 1, "one generic probe per backend, no cluster command");
    assert_eq!(masks(probe[0].as_object().unwrap()), vec!["palomar reachability probe".to_string()]);
    assert!(world.ce.asked(BE1, "clusterBackendStatus").is_empty());

    world.ce.down.lock().unwrap().insert(BE2.into());
    let reach = world.reachability().await;
    let be2 = reach.iter().find(|r| r.host == BE2).unwrap();
    assert!(!be2.reachable && be2.last_error.contains("connection refused"), "{be2:?}");
}

#[tokio::test]
async fn an_operators_move_flushes_the_proxies_kicks_the_group_and_completes_when_the_source_is_clear() {
    let world = World::new().await;
    for u in ["alice", "bob"] {
        world.ce.login(BE1, u);
    }
    let ops = world.services.group_ops(&Caller::trusted_cli()).unwrap();
    ops.start_move(world.site, "g1", world.be2).await.unwrap();

    // The route changed at once (the group is moving: CE sends its users to the destination),
    // the proxy forgot the old route, and only the group's session was kicked.
    assert!(world.group("g1").await.is_moving());
    assert_eq!(world.ce.asked(PROXY, "authCacheFlush").len(), 1);
    assert_eq!(world.ce.sessions_on(BE1), BTreeSet::from(["bob".to_string()]));
    assert!(world.ce.asked(BE1, "clusterGroupAccess").is_empty());

    // alice comes back through a proxy that still had the old route: kicked again, the move
    // runs on; then the source is clear and the move completes.
    world.ce.login(BE1, "alice");
    world.controller.run(LoopKind::Supervision).await;
    assert_eq!(world.ce.sessions_on(BE1), BTreeSet::from(["bob".to_string()]));
    assert_eq!(world.moves().await[0].state, MoveState::Started);
    world.clock.advance(Duration::from_secs(1));
    world.controller.run(LoopKind::Supervision).await;
    let done = &world.moves().await[0];
    assert_eq!(done.state, MoveState::Finished, "{done:?}");
    let g1 = world.group("g1").await;
    assert_eq!((g1.backend_id, g1.alt_backend_id, g1.moving.as_str()), (Some(world.be2), Some(world.be1), ""));
    assert_eq!(world.group("g2").await.backend_id, Some(world.be1), "the other group stays");
}

#[tokio::test]
async fn a_move_whose_source_cannot_be_asked_is_forced_at_the_timeout() {
    let world = World::new().await;
    world.turn_on(domain::Feature::GroupMoveTimeouts).await;
    world.ce.login(BE1, "alice");
    world.ce.down.lock().unwrap().insert(BE1.into());
    let ops = world.services.group_ops(&Caller::trusted_cli()).unwrap();
    ops.start_move(world.site, "g1", world.be2).await.unwrap();
    world.controller.run(LoopKind::Supervision).await;
    assert_eq!(world.moves().await[0].state, MoveState::Initiated, "nothing known: no end yet");
    world.clock.advance(Duration::from_secs(61));
    world.controller.run(LoopKind::Supervision).await;
    assert_eq!(world.moves().await[0].state, MoveState::Forced);
    assert_eq!(world.group("g1").await.backend_id, Some(world.be2));
}

#[tokio::test]
async fn a_24_proxy_is_never_sent_the_auth_cache_flush_that_panics_its_doveadm() {
    let world = World::new().await;
    world.ce.is_24.store(true, std::sync::atomic::Ordering::SeqCst);
    world.ce.login(BE1, "alice");
    let ops = world.services.group_ops(&Caller::trusted_cli()).unwrap();
    ops.start_move(world.site, "g1", world.be2).await.unwrap();
    assert!(world.ce.asked(PROXY, "authCacheFlush").is_empty(), "2.4.1's doveadm panics on it");
    assert!(world.ce.sessions_on(BE1).is_empty(), "the group's sessions are kicked all the same");
    world.clock.advance(Duration::from_secs(1));
    world.controller.run(LoopKind::Supervision).await;
    assert_eq!(world.moves().await[0].state, MoveState::Finished);
}

#[tokio::test]
async fn an_operator_setting_a_backend_offline_flushes_the_proxies() {
    let world = World::new().await;
    let ops = world.services.backend_ops(&Caller::trusted_cli()).unwrap();
    ops.set_status(world.site, world.be1, BackendStatus::Offline).await.unwrap();
    assert_eq!(world.ce.asked(PROXY, "authCacheFlush").len(), 1, "the new route reaches the proxies now");
}

#[tokio::test]
async fn ce_has_no_user_moves_so_none_is_offered() {
    let world = World::new().await;
    let ops = world.services.user_ops(&Caller::trusted_cli()).unwrap();
    let refused = ops.move_user("alice", Some(world.site), &"g2".parse().unwrap(), None).await.unwrap_err();
    assert!(refused.to_string().contains("move the user's group instead"), "{refused}");
    assert_eq!(world.store.get_user("alice").await.unwrap().unwrap().moving_group_name, "", "nothing written");
    world.controller.run(LoopKind::GroupBalancePass).await;
    let status = world.controller.status().await;
    let run = status.loops.get(&RunKey::Loop(LoopKind::GroupBalancePass)).cloned();
    assert!(run.is_some_and(|r| r.detail.contains("off")), "{:?}", status.loops);
    assert!(world.ce.asked(BE1, "clusterUserMove").is_empty());
}

#[tokio::test]
async fn a_drained_backend_hands_its_groups_off_as_with_pro() {
    let world = World::new().await;
    world.turn_on(domain::Feature::Evacuation).await;
    world.ce.login(BE1, "alice");
    world.ce.login(BE1, "bob");
    let ops = world.services.backend_ops(&Caller::trusted_cli()).unwrap();
    ops.evacuate(world.site, world.be1).await.unwrap();
    world.controller.run(LoopKind::Reachability).await;
    for _ in 0..4 {
        world.controller.run(LoopKind::Pass).await;
        world.controller.run(LoopKind::Supervision).await;
        world.clock.advance(Duration::from_secs(1));
    }
    for name in ["g1", "g2"] {
        let group = world.group(name).await;
        assert_eq!((group.backend_id, group.moving.as_str()), (Some(world.be2), ""), "{name} drained");
    }
    assert!(world.ce.sessions_on(BE1).is_empty(), "every session was kicked off the drained backend");
    let moves = world.moves().await;
    assert_eq!(moves.len(), 2);
    assert!(moves.iter().all(|m| m.state == MoveState::Finished
        && m.initiated_by == domain::moves::Initiator::Controller(domain::Feature::Evacuation)));
}
