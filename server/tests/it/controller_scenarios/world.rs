//! The scenarios' world: the embedded store seeded with one site of three backends, the
//! simulator serving their doveadm APIs over real HTTP, and a manual clock.

use super::*;
use domain::loops::LoopKind;

const PASSWORD: &str = "secret";

pub(crate) struct World {
    pub(crate) store: Arc<EmbeddedStore>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) running: RunningSimulator,
    pub(crate) site: Site,
    pub(crate) census: Arc<Census>,
    pub(crate) doveadm: Arc<DoveadmHttp>,
}

impl World {
    pub(crate) async fn new(users: usize) -> Self {
        Self::with_traffic(users, |_| {}).await
    }

    /// As [`World::new`], with the simulator's settings changed by `adjust` first.
    pub(crate) async fn with_traffic(users: usize, adjust: impl FnOnce(&mut SimSettings)) -> Self {
        Self::with_sites(1, users, adjust).await
    }

    /// `sites` sites of three backends each; the controllers keep the first (`site`).
    pub(crate) async fn with_sites(sites: usize, users: usize, adjust: impl FnOnce(&mut SimSettings)) -> Self {
        let store = Arc::new(EmbeddedStore::new());
        let size = SampleSize { sites, backends_per_site: 3, groups_per_site: 12, users };
        let report = seed_sample_cluster(store.clone(), size, 1).await.unwrap();
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()));
        let mut sim_settings = SimSettings {
            logins_per_second: 50.0,
            deliveries_per_second: 20.0,
            user_move_rate: 5.0,
            score_interval: Duration::from_secs(1),
            ..SimSettings::default()
        };
        adjust(&mut sim_settings);
        let sim = Simulator::load(store.clone(), clock.clone(), sim_settings, 11).await.unwrap();
        let options = ServeOptions {
            ip: [127, 0, 0, 1].into(),
            control: "127.0.0.1:0".parse().unwrap(),
            credentials: DoveadmCredentials { password: Some(PASSWORD.into()), api_key: None },
            line: domain::doveadm::DovecotLine::Ce23,
            tick: None,
        };
        let running = start(sim, options).await.unwrap();
        let endpoints: BTreeMap<String, String> =
            running.topology.backends.iter().map(|b| (b.host.clone(), format!("http://{}", b.doveadm))).collect();
        let doveadm =
            Arc::new(DoveadmHttp::new("http", 8080, Some(DoveadmAuth::Password(PASSWORD.into())), endpoints).unwrap());
        let world = World {
            store,
            clock,
            running,
            site: report.sites[0].clone(),
            census: Arc::new(Census::default()),
            doveadm,
        };
        world.take_census().await;
        world
    }

    pub(crate) fn controller_with(&self, instance: &str, dry_run: bool, metrics: Arc<dyn Metrics>) -> Arc<Controller> {
        self.controller_from(
            ControllerSettings { dry_run, ..common::controller_settings(&self.site.name, instance) },
            metrics,
        )
    }

    /// The embedded store behind every port, the simulator's doveadm API and the manual clock.
    pub(crate) fn ports(&self, metrics: Arc<dyn Metrics>) -> Ports {
        Ports {
            doveadm: self.doveadm.clone(),
            clock: self.clock.clone(),
            ..common::embedded_ports(self.store.clone(), metrics)
        }
    }

    pub(crate) fn controller_from(&self, settings: ControllerSettings, metrics: Arc<dyn Metrics>) -> Arc<Controller> {
        Controller::new(self.ports(metrics), self.census.clone(), settings)
    }

    pub(crate) fn controller(&self, instance: &str) -> Arc<Controller> {
        self.controller_with(instance, false, Arc::new(SimulatorMetrics::new(self.running.sim.clone())))
    }

    pub(crate) async fn take_census(&self) {
        self.census
            .refresh(
                self.store.as_ref(),
                self.store.as_ref(),
                self.store.as_ref(),
                Duration::from_secs(86_400),
                self.clock.as_ref(),
            )
            .await
            .unwrap();
    }

    pub(crate) async fn set_feature(&self, feature: &str, state: FeatureState) {
        let row = ClusterSetting {
            section: FEATURE_SECTION.into(),
            site_id: self.site.id,
            backend_id: uuid::Uuid::nil(),
            setting_name: feature.into(),
            setting_value: state.as_str().into(),
        };
        self.store.put_setting(&row).await.unwrap();
    }

    /// Advances the clock and the simulated world together, one second at a time.
    pub(crate) async fn ticks(&self, seconds: u64) {
        for _ in 0..seconds {
            self.clock.advance(Duration::from_secs(1));
            self.running.sim.tick(Duration::from_secs(1)).await.unwrap();
        }
    }

    pub(crate) fn host(&self, n: usize) -> String {
        format!("be{n}.{}.example.net", self.site.name)
    }

    pub(crate) async fn backend(&self, n: usize) -> Backend {
        let all = self.store.list_backends(self.site.id, PageRequest::first(100)).await.unwrap().items;
        all.into_iter().find(|b| b.host == self.host(n)).unwrap()
    }

    pub(crate) async fn groups(&self) -> Vec<UserGroup> {
        self.store.list_groups(self.site.id, PageRequest::first(1000)).await.unwrap().items
    }

    pub(crate) async fn all_users(&self) -> BTreeMap<String, String> {
        let batches: Vec<_> = self.store.scan_memberships().try_collect().await.unwrap();
        batches.into_iter().flatten().map(|u| (u.username, u.group_name)).collect()
    }

    pub(crate) async fn decisions(&self) -> Vec<DecisionRecord> {
        let day = self.clock_now().date_naive();
        self.store.list_decisions(self.site.id, day, PageRequest::first(1000)).await.unwrap().items
    }

    pub(crate) async fn moves(&self) -> Vec<MoveRecord> {
        self.store.list_moves(self.site.id, PageRequest::first(1000)).await.unwrap().items
    }

    pub(crate) fn clock_now(&self) -> chrono::DateTime<Utc> {
        use palomar_core::ports::Clock;
        self.clock.now()
    }

    /// Starts moving a group of be1 to be2 as `doveadm cluster group move` would, with `token`
    /// as its `moving` value.
    pub(crate) async fn move_externally(&self, token: &str) -> (UserGroup, Backend, Backend) {
        let (be1, be2) = (self.backend(1).await, self.backend(2).await);
        let group =
            self.groups().await.into_iter().find(|g| g.backend_id == Some(be1.id) && g.moving.is_empty()).unwrap();
        assert!(self.store.start_group_move(self.site.id, &group.name, be2.id, token).await.unwrap());
        (group, be1, be2)
    }

    /// Backend `n` is down for 30 s of traffic: every login and delivery fails, and so does its
    /// doveadm API (the failure ratio alone never sets a backend offline).
    pub(crate) async fn failing(&self, n: usize) {
        self.fault(n, Faults::down()).await;
        self.ticks(30).await;
    }

    /// A controller that leads and has probed the backends.
    pub(crate) async fn leading(&self, instance: &str) -> Arc<Controller> {
        let c = self.controller(instance);
        lead(&c).await;
        c
    }

    /// Sets backend `n`'s faults, and waits until its doveadm listener follows them (the
    /// simulator opens and closes listeners every 100 ms of real time).
    pub(crate) async fn fault(&self, n: usize, faults: Faults) {
        self.running.sim.set_faults(&self.host(n), faults).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

pub(crate) async fn lead(c: &Controller) {
    c.run(LoopKind::Leader).await;
    c.run(LoopKind::Reachability).await;
}

pub(crate) fn of_feature<'a>(decisions: &'a [DecisionRecord], feature: &str) -> Vec<&'a DecisionRecord> {
    decisions.iter().filter(|d| d.decision.feature.as_str() == feature && d.decision.action.is_some()).collect()
}
