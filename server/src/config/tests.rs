use std::{collections::BTreeMap, time::Duration};

use super::*;

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| vars.get(name).cloned()
}

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::from_lookup(&lookup(vars))
}

#[test]
fn the_controller_gets_the_seed_settings_by_their_names() {
    let c = config(&[
        ("CLUSTER_SITE", "dc2b"),
        ("DRY_RUN", "true"),
        ("GROUP_MOVE_START_TIMEOUT_SECS", "5"),
        ("HOST_FAILURE_RATIO", "0.2"),
        ("HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS", "120"),
        ("HOST_LOAD_BALANCE_GROUP_MIN_COOL_TIME_SECS", "60"),
        ("GROUP_BALANCE_MAX_USER_MOVES_PER_PASS", "7"),
        ("CONTROLLER_PASS_INTERVAL_SECS", "2"),
    ])
    .unwrap();
    let s = c.controller_settings();
    assert_eq!((s.site.as_str(), s.dry_run), ("dc2b", true));
    assert_eq!(s.supervision.start_timeout, Duration::from_secs(5));
    assert_eq!(s.supervision.finish_timeout, Duration::from_secs(600));
    assert_eq!(s.host_failure.ratio, 0.2);
    assert_eq!(s.host_failure.window, Duration::from_secs(300));
    assert_eq!(
        (s.load_balance.host_cool_time, s.load_balance.group_cool_time),
        (Duration::from_secs(120), Duration::from_secs(60))
    );
    assert_eq!(s.load_balance.min_samples, 3000);
    assert_eq!(s.group_balance_max_user_moves_per_pass, 7);
    assert_eq!(s.dns_failure_allowed, Duration::from_secs(10));
    assert_eq!(
        (s.intervals.pass, s.intervals.reachability, s.intervals.supervision),
        (Duration::from_secs(2), Duration::from_secs(10), Duration::from_secs(10))
    );
    assert_eq!(
        (s.intervals.group_balance_pass, s.intervals.lease_ttl),
        (Duration::from_secs(1800), Duration::from_secs(30))
    );
    let removed = config(&[("HOST_OFFLINE_RATIO", "0.9")]).unwrap_err().to_string();
    assert!(removed.contains("HOST_OFFLINE_RATIO: expected to be unset: it was removed"), "{removed}");
}

#[test]
fn seed_defaults() {
    let c = config(&[]).unwrap();
    let (db, ctl) = (&c.cassandra, &c.controller);
    assert_eq!(db.servers, vec!["localhost"]);
    assert_eq!(db.port, 9042);
    assert_eq!(db.keyspace, "d8s_cluster");
    assert_eq!(db.local_dc, "d8s_cluster");
    assert_eq!(db.load_balancing_policy, LoadBalancingPolicy::DcAwareRoundRobin);
    assert_eq!(db.protocol_version, 4);
    assert!(!db.tls_enabled);
    assert_eq!(ctl.site, "dc1a");
    assert_eq!(c.web.bind_addr, "127.0.0.1:8000".parse().unwrap());
    assert!(!ctl.dry_run);
    assert!(!ctl.group_balance_enabled);
    assert_eq!(ctl.group_balance.slack_percent, 10);
    assert_eq!(ctl.group_balance_max_user_moves_per_pass, 200);
    assert_eq!(ctl.group_balance.max_between_groups, 100);
    assert_eq!(ctl.supervision.finish_timeout, Duration::from_secs(600));
    assert_eq!(ctl.supervision.start_timeout, Duration::from_secs(180));
    assert_eq!(ctl.host_failure.cool_time, Duration::from_secs(3600));
    assert_eq!(ctl.host_failure.min_logins, 10);
    assert_eq!(ctl.host_failure.ratio, 0.1);
    assert_eq!(ctl.load_balance.group_cool_time, Duration::from_secs(3600));
    assert_eq!(ctl.load_balance.host_cool_time, Duration::from_secs(3600));
    assert_eq!(ctl.load_balance.min_samples, 3000);
    assert_eq!(ctl.load_balance.delta_threshold, 0.5);
    assert_eq!(c.prometheus.url, "http://localhost:9090/");
    assert_eq!(c.prometheus.job_name, "");
    assert_eq!(db.consistency, ConsistencyLevel::LocalQuorum);
    assert_eq!(c.redis.result_expires, Duration::from_secs(60));
    assert_eq!(c.services.backend_host_check, HostCheck::Dns);
    assert_eq!(c.services.census_interval, Duration::from_secs(3600));
    assert_eq!(c.services.census_change_margin, Duration::from_secs(300));
    assert_eq!((c.doveadm.http_port, c.doveadm.http_scheme.as_str()), (8080, "http"));
    assert_eq!(c.web.session_secret, None);
    assert_eq!(c.web.site_root, "target/site");
}

#[test]
fn dry_run_is_a_switch() {
    assert!(config(&[("DRY_RUN", "true")]).unwrap().controller.dry_run);
    assert!(config(&[("DRY_RUN", "True")]).unwrap().controller.dry_run);
    assert!(!config(&[("DRY_RUN", "0")]).unwrap().controller.dry_run);
    let err = config(&[("DRY_RUN", "200")]).unwrap_err();
    assert_eq!(err.0[0].var, "DRY_RUN");
    assert!(err.to_string().contains("DRY_RUN: expected a boolean"));
}

#[test]
fn both_names_of_one_setting_are_accepted() {
    assert_eq!(config(&[("CASSANDRA_GEODB_KEYSPACE", "geo")]).unwrap().cassandra.keyspace, "geo");
    assert_eq!(config(&[("CASSANDRA_KEYSPACE", "geo")]).unwrap().cassandra.keyspace, "geo");
    assert_eq!(config(&[("CASSANDRA_SITE", "dc9")]).unwrap().cassandra.local_dc, "dc9");
    let slack = config(&[("GROUP_BALANCE_GROUP_SIZE_RATIO_SLACK", "20")]).unwrap();
    assert_eq!(slack.controller.group_balance.slack_percent, 20);
    let same = config(&[("CASSANDRA_KEYSPACE", "geo"), ("CASSANDRA_GEODB_KEYSPACE", "geo")]).unwrap();
    assert_eq!(same.cassandra.keyspace, "geo");
    let clash = config(&[("CASSANDRA_KEYSPACE", "a"), ("CASSANDRA_GEODB_KEYSPACE", "b")]).unwrap_err();
    assert_eq!(clash.0[0].var, "CASSANDRA_GEODB_KEYSPACE");
    assert_eq!(
        clash.0[0].to_string(),
        "CASSANDRA_GEODB_KEYSPACE: expected the same value as its alias CASSANDRA_KEYSPACE, or to be unset, got \"b\""
    );
}

#[test]
fn bad_values_name_the_variable_and_form() {
    let err = config(&[
        ("HOST_FAILURE_RATIO", "1.5"),
        ("CASSANDRA_PORT", "nine"),
        ("CONTROLLER_API_URL", "localhost"),
        ("CASSANDRA_LOAD_BALANCING_POLICY", "Random"),
        ("CASSANDRA_REPLICATION", "SimpleStrategy:x"),
    ])
    .unwrap_err();
    let vars: Vec<&str> = err.0.iter().map(|e| e.var).collect();
    assert_eq!(
        vars,
        [
            "CASSANDRA_PORT",
            "CASSANDRA_LOAD_BALANCING_POLICY",
            "CASSANDRA_REPLICATION",
            "CONTROLLER_API_URL",
            "HOST_FAILURE_RATIO"
        ]
    );
    assert!(err.to_string().contains("HOST_FAILURE_RATIO: expected a number strictly between 0 and 1"));
}

/// The messages operators see, word for word.
#[test]
fn error_messages_keep_their_wording() {
    let cases = [
        ("CASSANDRA_PORT", "0", "a whole number from 1 to 65535"),
        ("CASSANDRA_PROTOCOL_VERSION", "5", "4 (the protocol version the driver speaks)"),
        ("CASSANDRA_TLS_ENABLED", "true", "false (TLS to Cassandra is not supported yet)"),
        ("CELERY_BROKER_URL", "http://x", "a redis:// or rediss:// URL"),
        ("CELERY_BROKER_TRANSPORT_OPTIONS", "{\"a\": 1}", "{} (Redis Sentinel is not supported yet)"),
        ("SESSION_IDLE_TIMEOUT_SECS", "59", "a whole number from 60 to 315360000"),
        ("SESSION_SECRET", "short", "at least 64 characters (e.g. `openssl rand -base64 64`)"),
        ("DOVEADM_HTTP_SCHEME", "ftp", "http or https"),
        ("DOVEADM_ENDPOINTS", "be1", "host=http://ip:port pairs separated by commas"),
        ("BACKEND_HOST_CHECK", "none", "dns or syntax"),
        ("CLUSTER_SITE", "a b", "a site name (letters, digits, '.', '_', '-')"),
        ("PROMETHEUS_URL", "localhost:9090", "an http:// or https:// URL"),
        ("HOST_LOAD_BALANCE_SCORE_DELTA_THRESHOLD_RATIO", "0", "a number greater than 0, e.g. 0.5"),
        ("CONTROLLER_LEASE_TTL_SECS", "2", "a whole number from 3 to 315360000"),
        ("DRY_RUN", "maybe", "a boolean: true/false, yes/no, on/off or 1/0"),
    ];
    for (var, value, form) in cases {
        let err = config(&[(var, value)]).unwrap_err();
        assert_eq!(err.0.len(), 1, "{var}: {err}");
        // Secrets are never echoed, even when wrong.
        let shown = if matches!(var, "CELERY_BROKER_URL" | "SESSION_SECRET") { "<redacted>" } else { value };
        assert_eq!(err.0[0].to_string(), format!("{var}: expected {form}, got {shown:?}"));
    }
    let all = config(&[("DRY_RUN", "maybe")]).unwrap_err().to_string();
    let expected = "invalid configuration:\n  DRY_RUN: expected a boolean: true/false, yes/no, on/off or 1/0, \
                    got \"maybe\"\n";
    assert_eq!(all, expected);
}

#[test]
fn api_url_sets_bind_address_and_cookie_security() {
    let c = config(&[("CONTROLLER_API_URL", "https://0.0.0.0:8443")]).unwrap();
    assert_eq!(c.web.bind_addr, "0.0.0.0:8443".parse().unwrap());
    assert!(c.web.secure_cookies);
    assert_eq!(c.web.api_url, "https://0.0.0.0:8443");
    let v6 = config(&[("CONTROLLER_API_URL", "http://[::1]:9000/palomar")]).unwrap();
    assert_eq!(v6.web.bind_addr, "[::1]:9000".parse().unwrap());
    assert!(!v6.web.secure_cookies);
}

#[test]
fn replication_forms() {
    assert_eq!(
        "NetworkTopologyStrategy:dc1=3,dc2=2".parse::<Replication>().unwrap().cql(),
        "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"
    );
    assert!("NetworkTopologyStrategy:dc1".parse::<Replication>().is_err());
}

#[test]
fn secrets_are_redacted() {
    let c = config(&[("DOVEADM_PASSWORD", "hunter2"), ("SESSION_SECRET", &"s".repeat(64))]).unwrap();
    let shown = c.render();
    assert!(!shown.contains("hunter2"));
    assert!(shown.contains("DOVEADM_PASSWORD=<redacted>  (env)"));
    assert!(!shown.contains(&"s".repeat(64)));
    assert!(format!("{c:?}").contains("<redacted>") && !format!("{c:?}").contains("hunter2"));
    // A Redis URL may carry a password: redacted even as the default.
    assert!(shown.contains("CELERY_BROKER_URL=<redacted>  (default)"));
    let unset = config(&[]).unwrap().render();
    assert!(unset.contains("SESSION_SECRET=  (default)") && unset.contains("DOVEADM_API_KEY=  (default)"));
}

#[test]
fn render_shows_every_variable_and_its_source() {
    let c = config(&[("CASSANDRA_SITE", "dc9"), ("CASSANDRA_PORT", "9043")]).unwrap();
    let shown = c.render();
    assert!(shown.contains("CASSANDRA_PORT=9043  (env)\n"));
    assert!(shown.contains("CASSANDRA_LOCAL_DC=dc9  (env CASSANDRA_SITE)\n"));
    assert!(shown.contains("CASSANDRA_SITE=dc9  (env)\n"));
    assert!(shown.contains("CONTROLLER_INSTANCE=palomar-0  (default)\n"));
    assert!(shown.contains("BACKEND_HOST_CHECK=dns  (default)\n"));
    assert!(shown.contains("CASSANDRA_LOAD_BALANCING_POLICY=DCAwareRoundRobin  (default)\n"));
    assert!(shown.contains("CASSANDRA_REPLICATION=SimpleStrategy:1  (default)\n"));
    assert!(shown.contains("CONTROLLER_API_URL=http://localhost:8000  (default)\n"));
    // Every setting of the README's table that the configuration reads, and nothing else.
    assert_eq!(c.effective.len(), 68, "{shown}");
    assert!(shown.lines().all(|line| line.ends_with("(default)") || line.contains("(env")));
}

#[test]
fn the_instance_name_comes_from_the_process_facts_given() {
    let process = Process { hostname: "ctl1".into(), pid: 4242 };
    let c = Config::parse(&lookup(&[]), &process).unwrap();
    assert_eq!(c.controller.instance, "ctl1-4242");
    let named = Config::parse(&lookup(&[("CONTROLLER_INSTANCE", "blue")]), &process).unwrap();
    assert_eq!(named.controller.instance, "blue");
}

#[test]
fn doveadm_endpoints_and_credentials() {
    let map = parse_endpoints("be1.example.net=http://127.0.0.1:1234, be2=https://x:1").unwrap();
    assert_eq!(map.get("be1.example.net").map(String::as_str), Some("http://127.0.0.1:1234"));
    assert!(parse_endpoints("be1=ftp://x").is_none());
    assert!(parse_endpoints("nonsense").is_none());
    assert_eq!(parse_endpoints("").unwrap().len(), 0);

    let c = config(&[("DOVEADM_ENDPOINTS", "be1=http://127.0.0.1:1"), ("DOVEADM_PASSWORD", "pw")]).unwrap();
    assert_eq!(c.doveadm.endpoints.len(), 1);
    assert_eq!(c.doveadm.credential(), Some(DoveadmCredential::Password(&Secret("pw".into()))));
    let both = config(&[("DOVEADM_API_KEY", "key"), ("DOVEADM_PASSWORD", "pw")]).unwrap();
    assert_eq!(both.doveadm.credential(), Some(DoveadmCredential::ApiKey(&Secret("key".into()))));
    assert_eq!(config(&[]).unwrap().doveadm.credential(), None);
}

#[test]
fn the_simulator_control_url_is_read_alone() {
    assert_eq!(sim_control_url(&lookup(&[("DRY_RUN", "nonsense")])), "http://127.0.0.1:9700");
    assert_eq!(sim_control_url(&lookup(&[("SIM_CONTROL_URL", "http://10.0.0.1:1")])), "http://10.0.0.1:1");
}

/// A bad secret is not echoed in the error, and credentials in URLs are
/// shown neither by `palomar config` nor in errors nor in `Debug`.
#[test]
fn secrets_and_url_credentials_are_never_echoed() {
    let secret = "hunter2-but-only-20-chars";
    let errors = config(&[
        ("SESSION_SECRET", secret),
        ("CELERY_BROKER_URL", "http://:brokerpw@redis:6379/0"),
        ("CELERY_RESULT_BACKEND", "redis://:resultpw@redis:6379/1"),
        ("CELERY_BROKER_TRANSPORT_OPTIONS", "{}"),
        ("DOVEADM_ENDPOINTS", "be1=http://doveadm:endpointpw@10.0.0.1:8080,nonsense"),
        ("PROMETHEUS_URL", "ftp://prom:prompw@prometheus:9090"),
    ])
    .unwrap_err()
    .to_string();
    for leaked in [secret, "brokerpw", "endpointpw", "prompw"] {
        assert!(!errors.contains(leaked), "{leaked} in {errors}");
    }
    assert!(errors.contains("SESSION_SECRET: expected at least 64 characters"), "{errors}");
    assert!(errors.contains(r#"got "ftp://***@prometheus:9090""#), "{errors}");

    let c = config(&[
        ("PROMETHEUS_URL", "https://prom:prompw@prometheus.example:9090/"),
        ("DOVEADM_ENDPOINTS", "be1=http://doveadm:endpointpw@10.0.0.1:8080,be2=http://10.0.0.2:8080"),
        ("CELERY_BROKER_URL", "redis://:brokerpw@redis:6379/0"),
    ])
    .unwrap();
    let shown = c.render();
    let debug = format!("{c:?}");
    for leaked in ["prompw", "endpointpw", "brokerpw", "prom:", "doveadm:endpoint"] {
        assert!(!shown.contains(leaked), "{leaked} in {shown}");
        assert!(!debug.contains(leaked), "{leaked} in {debug}");
    }
    assert!(shown.contains("PROMETHEUS_URL=https://***@prometheus.example:9090/  (env)\n"), "{shown}");
    assert!(shown.contains("DOVEADM_ENDPOINTS=be1=http://***@10.0.0.1:8080,be2=http://10.0.0.2:8080  (env)\n"));
    // The settings themselves keep the credentials: the clients need them.
    assert_eq!(c.prometheus.url, "https://prom:prompw@prometheus.example:9090/");
    assert_eq!(c.doveadm.endpoints["be1"], "http://doveadm:endpointpw@10.0.0.1:8080");
}

#[test]
fn sessions_have_an_idle_and_an_absolute_limit() {
    let c = config(&[]).unwrap();
    assert_eq!(c.web.session_idle_timeout, Duration::from_secs(3600));
    assert_eq!(c.web.session_absolute_timeout, Duration::from_secs(43200));
    let long_idle = config(&[("SESSION_IDLE_TIMEOUT_SECS", "86400")]).unwrap();
    assert_eq!(long_idle.web.session_absolute_timeout, Duration::from_secs(86400), "never below idle by default");
    let set = config(&[("SESSION_IDLE_TIMEOUT_SECS", "600"), ("SESSION_ABSOLUTE_TIMEOUT_SECS", "7200")]).unwrap();
    assert_eq!(set.web.session_absolute_timeout, Duration::from_secs(7200));
    let err = config(&[("SESSION_ABSOLUTE_TIMEOUT_SECS", "60")]).unwrap_err();
    assert_eq!(err.0[0].var, "SESSION_ABSOLUTE_TIMEOUT_SECS", "shorter than the idle timeout: {err}");
}

#[test]
fn trusted_proxies_are_addresses_and_ranges() {
    let c = config(&[]).unwrap();
    assert!(c.web.trusted_proxies.is_empty(), "no proxy is trusted by default");
    let c = config(&[("TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16,::1")]).unwrap();
    let trusted = |ip: &str| c.web.trusted_proxies.iter().any(|n| n.contains(ip.parse().unwrap()));
    assert!(trusted("10.0.0.1") && !trusted("10.0.0.2"));
    assert!(trusted("192.168.44.3") && !trusted("192.169.0.1"));
    assert!(trusted("::1") && trusted("::ffff:10.0.0.1"), "v6 and v4-mapped");
    assert!(c.render().contains("TRUSTED_PROXIES=10.0.0.1/32,192.168.0.0/16,::1/128  (env)"));
    for bad in ["10.0.0.1/33", "proxy.example.net", "10.0.0.0/x"] {
        let err = config(&[("TRUSTED_PROXIES", bad)]).unwrap_err();
        assert_eq!(err.0[0].var, "TRUSTED_PROXIES", "{bad}");
    }
}

#[test]
fn the_public_origin_is_the_api_url_unless_set() {
    let c = config(&[("CONTROLLER_API_URL", "http://127.0.0.1:3000")]).unwrap();
    assert_eq!(c.web.public_origin, "http://127.0.0.1:3000");
    assert!(!c.web.secure_cookies);
    let c = config(&[
        ("CONTROLLER_API_URL", "http://10.0.0.5:8000"),
        ("CONTROLLER_PUBLIC_URL", "https://Palomar.Example.net:443/ui"),
    ])
    .unwrap();
    assert_eq!(c.web.public_origin, "https://palomar.example.net", "default port left out, lower case");
    assert!(c.web.secure_cookies, "browsers reach it over https");
    assert!(config(&[("CONTROLLER_PUBLIC_URL", "palomar.example.net")]).is_err());
    assert_eq!(super::origin_of("http://[::1]:9000/x").as_deref(), Some("http://[::1]:9000"));
    assert_eq!(super::origin_of("http://user@evil.example/").as_deref(), None);
}
