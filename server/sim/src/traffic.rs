//! Traffic: each tick, every proxy makes logins and deliveries for sampled users, routes them
//! as a Palomar proxy would (GeoDB reads) and counts the outcome per `dest_host`.

use std::{collections::HashMap, time::Duration};

use domain::geodb::{Backend, UserGroup};

use palomar_core::{
    ports::StoreError,
    services::{follow_force_moves, pick_site},
};
use rand::{rngs::StdRng, Rng};
use uuid::Uuid;

use super::{
    routing::{self, route, Route, RouteReason, SiteChoice, SitePick},
    settings::PasswordCheck,
    world::{SampleUser, DELIVERY_FAILED, DELIVERY_OK, LOGIN_FAILED, LOGIN_OK},
    Simulator,
};

/// One login or delivery to route.
struct Event<'a> {
    is_login: bool,
    user: &'a SampleUser,
    /// 0..100: which of the backend's outcomes it meets.
    roll: f64,
}

impl Event<'_> {
    /// The metrics it counts under: succeeded, failed.
    fn metrics(&self) -> (&'static str, &'static str) {
        if self.is_login {
            (LOGIN_OK, LOGIN_FAILED)
        } else {
            (DELIVERY_OK, DELIVERY_FAILED)
        }
    }
}

/// One routed event's outcome, applied to the counters after the GeoDB reads.
enum Outcome {
    Counted { metric: &'static str, host: String, seconds: f64 },
    NotCounted,
}

impl Simulator {
    /// Advances the world by `dt`: traffic, moves, resource counters, metric history.
    pub async fn tick(&self, dt: Duration) -> Result<(), StoreError> {
        let dt_s = dt.as_secs_f64();
        self.refresh_topology().await?;
        // Decide how many events each proxy makes, and for whom, under the lock; route them
        // (GeoDB reads) without it.
        let mut plan: Vec<(usize, bool, SampleUser, f64)> = Vec::new();
        {
            let mut world = self.world();
            let world = &mut *world;
            if world.users.is_empty() {
                return Ok(());
            }
            for (index, proxy) in world.proxies.iter_mut().enumerate() {
                proxy.login_carry += self.settings.logins_per_second * dt_s;
                proxy.delivery_carry += self.settings.deliveries_per_second * dt_s;
                let logins = proxy.login_carry.floor();
                let deliveries = proxy.delivery_carry.floor();
                proxy.login_carry -= logins;
                proxy.delivery_carry -= deliveries;
                for (count, is_login) in [(logins as usize, true), (deliveries as usize, false)] {
                    for _ in 0..count {
                        let pick =
                            pick_user(&mut world.rng, &world.users, proxy.site_id, self.settings.cross_site_percent);
                        let roll = world.rng.gen::<f64>() * 100.0;
                        plan.push((index, is_login, pick, roll));
                    }
                }
            }
        }
        let mut groups: HashMap<(Uuid, String), Option<UserGroup>> = HashMap::new();
        let mut outcomes = Vec::with_capacity(plan.len());
        for (proxy_index, is_login, user, roll) in plan {
            let event = Event { is_login, user: &user, roll };
            outcomes.extend(self.route_event(proxy_index, &event, &mut groups).await?);
        }
        {
            let mut world = self.world();
            for (proxy_index, outcome) in outcomes {
                if let Some(proxy) = world.proxies.get_mut(proxy_index) {
                    if let Outcome::Counted { metric, host, seconds } = outcome {
                        proxy.counters.record(metric, &host, seconds);
                    }
                }
            }
            for backend in world.backends.values_mut() {
                let cpu = backend.resources().cpu;
                backend.cpu_idle_seconds += dt_s * (1.0 - cpu);
                backend.cpu_busy_seconds += dt_s * cpu;
            }
        }
        self.advance_moves(dt_s).await?;
        self.record_history();
        Ok(())
    }

    /// Routes one login or delivery and says what each proxy on its way counts.
    async fn route_event(
        &self,
        proxy_index: usize,
        event: &Event<'_>,
        groups: &mut HashMap<(Uuid, String), Option<UserGroup>>,
    ) -> Result<Vec<(usize, Outcome)>, StoreError> {
        let (proxy_site, sites, reachability, cut_links, force_moves) = {
            let world = self.world();
            let Some(proxy) = world.proxies.get(proxy_index) else { return Ok(vec![]) };
            let force_moves = if event.is_login { world.force_moves.clone() } else { Vec::new() };
            (proxy.site_id, world.sites.clone(), world.reachability.clone(), world.cut_links.clone(), force_moves)
        };
        let user = event.user;
        let row = self.geodb.get_user(&user.username).await?;
        // A Pro proxy moves a user a force-move chooses at their login, before routing them.
        let now = self.clock.now();
        let row = follow_force_moves(self.geodb.as_ref(), &force_moves, &sites, row, now).await?;
        let count = self.settings.default_group_count;
        let pick =
            pick_site(self.geodb.as_ref(), &user.username, row.as_ref(), proxy_site, count, &sites, &reachability)
                .await?;
        let SitePick::Serve(SiteChoice { site: site_id, group: group_name, .. }) = pick else { return Ok(vec![]) };
        if site_id == proxy_site {
            return self.route_in_site(proxy_index, site_id, &group_name, event, groups).await;
        }
        // Served in another site: proxied to that site's load balancer, behind which one of
        // that site's proxies routes it in its site. The session fails at the load balancer
        // when the link is cut or the other site cannot serve it.
        let Some(site) = sites.iter().find(|s| s.id == site_id) else { return Ok(vec![]) };
        let host = routing::load_balancer_of(site).to_string();
        let (ok, failed) = event.metrics();
        if cut_links.contains(&(proxy_site, site_id)) {
            return Ok(vec![(proxy_index, Outcome::Counted { metric: failed, host, seconds: 3.0 })]);
        }
        let remote = {
            let world = self.world();
            let theirs: Vec<usize> =
                world.proxies.iter().enumerate().filter(|(_, p)| p.site_id == site_id).map(|(i, _)| i).collect();
            let spread = routing::stable_hash(&user.username) as usize;
            theirs.get(spread % theirs.len().max(1)).copied()
        };
        let mut counted = match remote {
            Some(remote) => self.route_in_site(remote, site_id, &group_name, event, groups).await?,
            None => Vec::new(),
        };
        let served = counted.iter().any(|(_, o)| !matches!(o, Outcome::Counted { metric, .. } if *metric == failed));
        let at_balancer = if served {
            Outcome::Counted { metric: ok, host, seconds: 0.05 }
        } else {
            Outcome::Counted { metric: failed, host, seconds: 3.0 }
        };
        counted.push((proxy_index, at_balancer));
        Ok(counted)
    }

    /// Routes a session within `site_id` as its proxy `proxy_index` does.
    async fn route_in_site(
        &self,
        proxy_index: usize,
        site_id: Uuid,
        group_name: &str,
        event: &Event<'_>,
        groups: &mut HashMap<(Uuid, String), Option<UserGroup>>,
    ) -> Result<Vec<(usize, Outcome)>, StoreError> {
        let (is_login, user, roll) = (event.is_login, event.user, event.roll);
        let (ok, failed) = event.metrics();
        let key = (site_id, group_name.to_string());
        if !groups.contains_key(&key) {
            let group = match self.geodb.get_group(site_id, group_name).await? {
                Some(group) => Some(group),
                None => self.create_group(site_id, group_name).await?,
            };
            groups.insert(key.clone(), group);
        }
        let Some(group) = groups.get(&key).cloned().flatten() else { return Ok(vec![]) };
        let (backends, progress) = {
            let world = self.world();
            let backends: Vec<Backend> =
                world.backends.values().filter(|b| b.row.site_id == site_id).map(|b| b.row.clone()).collect();
            let progress = group
                .backend_id
                .and_then(|id| world.backends.get(&id))
                .and_then(|b| b.moves.get(&group.name))
                .map(|m| (m.users_moved, m.users_total));
            (backends, progress)
        };
        let already_moved = progress.is_some_and(|(moved, total)| routing::user_moved(&user.username, moved, total));
        let route = route(&group, &backends, already_moved);
        let host_of = |id: Uuid| backends.iter().find(|b| b.id == id).map(|b| b.host.clone()).unwrap_or_default();
        let at = |outcome| Ok(vec![(proxy_index, outcome)]);
        match route {
            Route::Unavailable => Ok(vec![]),
            Route::Referred { to, .. } => at(self.serve(to, &host_of(to), is_login, roll, ok, failed)),
            Route::Backend { id, reason } => {
                match reason {
                    RouteReason::MovingSource if progress.is_none() => {
                        self.start_move(id, &group);
                    }
                    RouteReason::MoveFinishedBySourceDown => {
                        self.finish_move(&group, &backends).await?;
                        groups.remove(&key);
                    }
                    _ => {}
                }
                at(self.serve(id, &host_of(id), is_login, roll, ok, failed))
            }
        }
    }

    /// What happens at the backend: the injected failure rate, or a harmless error, or success.
    fn serve(
        &self,
        backend: Uuid,
        host: &str,
        is_login: bool,
        roll: f64,
        ok: &'static str,
        failed: &'static str,
    ) -> Outcome {
        let faults = self.world().backends.get(&backend).map(|b| b.faults.clone()).unwrap_or_default();
        let guessed = if is_login { faults.bad_password_percent } else { 0.0 };
        if roll < guessed {
            return self.wrong_password(host, failed);
        }
        // The rest of the roll, spread over 0..100 again for the backend's own outcomes.
        let roll = if guessed > 0.0 { (roll - guessed) * 100.0 / (100.0 - guessed) } else { roll };
        let fail_percent = if is_login { faults.login_fail_percent } else { faults.delivery_fail_percent };
        let harmless =
            if is_login { self.settings.harmless_login_error_percent } else { self.settings.permanent_reject_percent };
        if roll < fail_percent {
            Outcome::Counted { metric: failed, host: host.to_string(), seconds: 3.0 }
        } else if roll < fail_percent + harmless * (1.0 - fail_percent / 100.0) {
            // proxy_dest_redirected / proxy_dest_auth_temp_failed, or a 5.x.x rejection.
            Outcome::NotCounted
        } else {
            Outcome::Counted { metric: ok, host: host.to_string(), seconds: 0.05 }
        }
    }

    /// A login with a wrong password. Where the proxy checks passwords, it is refused there and
    /// never proxied; where the backend does, the proxy's session ends with an error that only a
    /// filter counting every error counts against the backend.
    fn wrong_password(&self, host: &str, failed: &'static str) -> Outcome {
        let reaches_backend = self.settings.password_check == PasswordCheck::Backend;
        if reaches_backend && self.settings.failure_filter.counts_wrong_passwords() {
            Outcome::Counted { metric: failed, host: host.to_string(), seconds: 2.0 }
        } else {
            Outcome::NotCounted
        }
    }

    /// Creates a group on first use, as proxies do: on an online backend picked by the name.
    async fn create_group(&self, site_id: Uuid, name: &str) -> Result<Option<UserGroup>, StoreError> {
        let backends: Vec<Backend> = {
            let world = self.world();
            world.backends.values().filter(|b| b.row.site_id == site_id).map(|b| b.row.clone()).collect()
        };
        let Some(group) = routing::new_group(site_id, name, &backends) else { return Ok(None) };
        self.geodb.put_group(&group).await?;
        Ok(Some(group))
    }
}

/// Mostly a user of the proxy's own site; `cross_site_percent` of the time anyone.
fn pick_user(rng: &mut StdRng, users: &[SampleUser], site: Uuid, cross_site_percent: f64) -> SampleUser {
    let anyone = rng.gen::<f64>() * 100.0 < cross_site_percent;
    for _ in 0..20 {
        let user = &users[rng.gen_range(0..users.len())];
        if anyone || user.preferred_site.is_none_or(|s| s == site) {
            return user.clone();
        }
    }
    users[rng.gen_range(0..users.len())].clone()
}
