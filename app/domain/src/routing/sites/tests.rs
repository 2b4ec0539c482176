use proptest::prelude::*;

use super::*;

fn site(n: u128, status: &str) -> Site {
    Site {
        id: Uuid::from_u128(n),
        name: format!("dc{n}"),
        tag: None,
        load_balancer: format!("lb.dc{n}.test"),
        status: SiteStatus::from_stored(status),
    }
}

fn user(home: u128, group: &str, failover_group: &str) -> User {
    User {
        username: "alice@example.net".into(),
        preferred_site_id: Some(Uuid::from_u128(home)),
        group_name: group.into(),
        failover_site_group_name: failover_group.into(),
        metacache_last_host: String::new(),
        moving_preferred_site_id: None,
        moving_group_name: String::new(),
        moving_failover_site_group_name: String::new(),
        last_update: None,
    }
}

fn failover_row(group: &str, site: u128, to: u128) -> GroupSite {
    GroupSite {
        group_name: group.into(),
        site_id: Uuid::from_u128(site),
        status: String::new(),
        failover_site_id: Some(Uuid::from_u128(to)),
        last_update: None,
    }
}

fn cut(from: u128, to: u128) -> Reachability {
    Reachability { src_site_id: Uuid::from_u128(from), dest_site_id: Uuid::from_u128(to), reachable: 0 }
}

fn pick(user: Option<&User>, proxy: u128, sites: &[Site], reach: &[Reachability], rows: &[GroupSite]) -> SitePick {
    choose_site("alice@example.net", user, Uuid::from_u128(proxy), 10, sites, reach, rows)
}

fn served(p: &SitePick) -> (u128, &str, SiteReason) {
    match p {
        SitePick::Serve(c) => (c.site.as_u128(), c.group.as_str(), c.reason),
        SitePick::NoSite { .. } => panic!("no site: {p:?}"),
    }
}

#[test]
fn an_online_home_site_serves_its_users_in_their_group() {
    let sites = [site(1, "online"), site(2, "online")];
    let u = user(2, "g7", "g9");
    assert_eq!(served(&pick(Some(&u), 1, &sites, &[], &[])), (2, "g7", SiteReason::Home));
}

#[test]
fn a_site_that_cannot_take_users_sends_them_to_the_groups_failover_site_in_their_failover_group() {
    for (status, trouble) in [
        ("offline", SiteTrouble::Offline),
        ("standby", SiteTrouble::Standby),
        ("evacuate", SiteTrouble::Evacuating),
        ("draining", SiteTrouble::UnknownStatus),
    ] {
        let sites = [site(1, "online"), site(2, status), site(3, "online")];
        let u = user(2, "g7", "g9");
        let rows = [failover_row("g7", 2, 3)];
        assert_eq!(served(&pick(Some(&u), 1, &sites, &[], &rows)), (3, "g9", SiteReason::Failover(trouble)));
    }
}

#[test]
fn an_unreachable_site_fails_over_only_for_the_proxies_that_cannot_reach_it() {
    let sites = [site(1, "online"), site(2, "online")];
    let u = user(2, "g7", "");
    let reach = [cut(1, 2)];
    assert_eq!(
        served(&pick(Some(&u), 1, &sites, &reach, &[])),
        (1, "g7", SiteReason::Failover(SiteTrouble::Unreachable))
    );
    assert_eq!(
        served(&pick(Some(&u), 2, &sites, &reach, &[])),
        (2, "g7", SiteReason::Home),
        "a proxy reaches its own site"
    );
}

#[test]
fn without_a_usable_named_failover_the_other_sites_are_tried_in_a_fixed_order_per_group() {
    let sites = [site(1, "online"), site(2, "offline"), site(3, "offline"), site(4, "online"), site(5, "online")];
    let u = user(2, "g7", "");
    let rows = [failover_row("g7", 2, 3)];
    let (first, _, _) = served(&pick(Some(&u), 1, &sites, &[], &rows));
    assert!([1, 4, 5].contains(&first));
    // The same from every proxy, and whatever order the rows came in.
    let mut reversed = sites.to_vec();
    reversed.reverse();
    for proxy in [1, 4, 5] {
        assert_eq!(served(&pick(Some(&u), proxy, &reversed, &[], &rows)).0, first);
    }
    // The groups of one site spread over the others.
    let targets: std::collections::BTreeSet<u128> =
        (0..40).map(|i| served(&pick(Some(&user(2, &format!("g{i}"), "")), 1, &sites, &[], &[])).0).collect();
    assert_eq!(targets.len(), 3, "{targets:?}");
}

#[test]
fn when_no_site_can_take_a_user_the_pick_says_why() {
    let sites = [site(1, "standby"), site(2, "offline")];
    let u = user(2, "g7", "");
    assert_eq!(
        pick(Some(&u), 1, &sites, &[], &[]),
        SitePick::NoSite { home: (Uuid::from_u128(2), "g7".into()), trouble: SiteTrouble::Offline }
    );
    let gone = user(9, "g7", "");
    assert!(matches!(pick(Some(&gone), 1, &sites, &[], &[]), SitePick::NoSite { trouble: SiteTrouble::Missing, .. }));
}

#[test]
fn a_user_without_a_row_belongs_to_the_proxys_site() {
    let sites = [site(1, "online"), site(2, "online")];
    let picked = pick(None, 1, &sites, &[], &[]);
    let (at, group, reason) = served(&picked);
    assert_eq!((at, reason), (1, SiteReason::Home));
    assert_eq!(group, crate::routing::default_group("alice@example.net", 10));
}

const STATUSES: [&str; 5] = ["online", "offline", "standby", "evacuate", "draining"];

prop_compose! {
    fn world()(
        statuses in prop::collection::vec(0..STATUSES.len(), 1..6),
        cuts in prop::collection::vec((1u128..6, 1u128..6), 0..8),
        home in 1u128..7,
        named in prop::option::of(1u128..7),
        proxy in 1u128..6,
    ) -> (Vec<Site>, Vec<Reachability>, User, Vec<GroupSite>, u128) {
        let sites: Vec<Site> =
            statuses.iter().enumerate().map(|(i, s)| site(i as u128 + 1, STATUSES[*s])).collect();
        let reach = cuts.into_iter().map(|(a, b)| cut(a, b)).collect();
        let rows = named.map(|to| failover_row("g7", home, to)).into_iter().collect();
        let proxy = proxy.min(sites.len() as u128);
        (sites, reach, user(home, "g7", "g9"), rows, proxy)
    }
}

proptest! {
    #[test]
    fn a_user_goes_to_a_site_that_can_take_them_whenever_one_can(
        (sites, reach, u, rows, proxy) in world()
    ) {
        let trouble = |id: Uuid| site_trouble(sites.iter().find(|s| s.id == id), Uuid::from_u128(proxy), &reach);
        match pick(Some(&u), proxy, &sites, &reach, &rows) {
            SitePick::Serve(c) => {
                prop_assert_eq!(trouble(c.site), None);
                prop_assert_eq!(c.reason == SiteReason::Home, trouble(c.home.0).is_none());
            }
            SitePick::NoSite { home, trouble: why } => {
                prop_assert_eq!(Some(why), trouble(home.0));
                prop_assert!(sites.iter().all(|s| trouble(s.id).is_some()), "an online site was left out");
            }
        }
    }

    #[test]
    fn proxies_that_see_the_same_rows_route_a_user_alike(
        (sites, reach, u, rows, proxy) in world(),
        seed in any::<u64>(),
    ) {
        let first = pick(Some(&u), proxy, &sites, &reach, &rows);
        // The rows in another order, as another proxy may read them.
        let mut shuffled = sites.clone();
        let len = shuffled.len();
        shuffled.rotate_left((seed % len as u64) as usize);
        let mut reach_shuffled = reach.clone();
        reach_shuffled.reverse();
        prop_assert_eq!(&pick(Some(&u), proxy, &shuffled, &reach_shuffled, &rows), &first);
        // With every site reachable from everywhere, a proxy's own site makes no difference.
        let everywhere: Vec<SitePick> = sites.iter().map(|s| pick(Some(&u), s.id.as_u128(), &sites, &[], &rows)).collect();
        prop_assert!(everywhere.windows(2).all(|w| w[0] == w[1]), "{:?}", everywhere);
    }
}
