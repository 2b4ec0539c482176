//! Fuzzing: property tests over everything that reads outside input — the doveadm
//! and Prometheus answer parsers, every server function's argument parsing, mask matching,
//! the log escaping and the configuration. Properties: no panic, a bounded time per input,
//! bounded error messages, and what each parser promises of what it accepts.
//!
//! Cases are few enough for the whole file to run in seconds on two cores; each property
//! prints how many inputs it tried and the slowest.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use domain::{
    cluster::{glob, parse_backend_host, GroupFilter, MAX_MASK_LEN},
    feature::{Feature, FeatureState},
    geodb::BackendStatus,
    logtext::{redact_userinfo, Untrusted, MAX_LOGGED_CHARS},
    moves::EndMove,
    operator::{check_new_password, parse_username},
    planning::parse_moved_at,
    validate, AppError, GroupName, LoadFactor, Role, SiteDraft, SiteStatus, TagDraft,
};
use palomar_core::services::{parse_mail_user, parse_setting_word};
use palomar_server::{
    adapters::{
        doveadm_http::parse_answer,
        prometheus::{parse_matrix, parse_vector},
    },
    config::{Config, Process},
};
use proptest::{
    prelude::*,
    test_runner::{Config as Cases, TestCaseError, TestRunner},
};
use serde_json::{json, Value};

/// The most one input may take, even on a loaded machine and a debug build.
const PER_INPUT: Duration = Duration::from_millis(500);

/// Runs `property` on `cases` inputs drawn from `strategy`, checking each input's time, and
/// prints the count and the slowest.
fn fuzz<S: Strategy>(name: &str, cases: u32, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = Cases { cases, failure_persistence: None, ..Cases::default() };
    let mut runner = TestRunner::new(config);
    let slowest = std::cell::Cell::new(Duration::ZERO);
    let started = Instant::now();
    let result = runner.run(&strategy, |input| {
        let began = Instant::now();
        property(input)?;
        let took = began.elapsed();
        slowest.set(slowest.get().max(took));
        prop_assert!(took < PER_INPUT, "one input took {took:?}");
        Ok(())
    });
    if let Err(err) = result {
        panic!("{name}: {err}");
    }
    println!("fuzz {name}: {cases} cases in {:?}, slowest {:?}", started.elapsed(), slowest.get());
}

/// Any text, weighted towards what parsers care about: the characters of their forms, the
/// separators and controls that break them, and long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9._@*?:/=, -]{0,80}",
        "[ \\t\\n\\r\\x00\\x7f\\u{85}\\u{2028}\\u{202e}\"\\\\a-z]{0,40}",
        "[a-f0-9-]{30,40}",
        ("[a-z*?]{0,3}", 0usize..5000).prop_map(|(s, n)| s.repeat(n)),
    ]
}

/// An AppError's message stays readable: bounded whatever the input's size.
fn bounded_error<T>(result: Result<T, AppError>) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        let message = err.to_string();
        prop_assert!(message.len() < 2_000, "an error message of {} bytes", message.len());
    }
    Ok(())
}

#[test]
fn every_server_function_argument_parser() {
    fuzz("argument parsers", 2000, (text(), text(), text(), text()), |(a, b, c, d)| {
        bounded_error(validate::uuid("id", &a))?;
        bounded_error(validate::optional_uuid("id", &a))?;
        bounded_error(validate::bounded("field", &a, 1, 64))?;
        bounded_error(validate::host_or_ip("proxy_host", &a))?;
        let _ = validate::local_path(&a);
        let _ = parse_moved_at(&a);
        if let Ok(name) = validate::cluster_name("name", &a) {
            prop_assert!(!name.is_empty() && name.len() <= 64);
            prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
        }
        if let Ok(host) = parse_backend_host(&a, domain::edition::DovecotEdition::Pro) {
            prop_assert!(domain::values::is_dns_name(host.as_str()) && !host.is_ip());
        }
        if let Ok(factor) = a.parse::<LoadFactor>() {
            prop_assert!((0..=100).contains(&factor.get()));
        }
        if let Ok(name) = a.parse::<GroupName>() {
            prop_assert!(validate::cluster_name("group", name.as_str()).is_ok());
        }
        if let Ok(user) = parse_username(&a) {
            prop_assert!(!user.is_empty() && user.len() <= 64 && !user.contains(char::is_control));
        }
        if let Ok(user) = parse_mail_user(&a) {
            prop_assert!(!user.is_empty() && !user.contains(|c: char| c.is_control() || c.is_whitespace()));
        }
        bounded_error(parse_setting_word("section", &a))?;
        bounded_error(check_new_password(&a))?;
        bounded_error(TagDraft::parse(&a))?;
        bounded_error(SiteDraft::parse(&a, &b, &c, &d))?;
        bounded_error(GroupFilter::parse(&a, &b, &c))?;
        bounded_error(a.parse::<Feature>())?;
        bounded_error(a.parse::<FeatureState>())?;
        bounded_error(a.parse::<BackendStatus>())?;
        bounded_error(a.parse::<SiteStatus>())?;
        bounded_error(a.parse::<EndMove>())?;
        bounded_error(a.parse::<Role>())?;
        let _ = (BackendStatus::from_stored(&a), SiteStatus::from_stored(&a));
        Ok(())
    });
}

/// Every string of up to `len` characters from `alphabet`.
fn strings(alphabet: &[char], len: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..len {
        last = last.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
        all.extend(last.iter().cloned());
    }
    all
}

/// The mask matcher agrees with the reference on every small case.
#[test]
fn glob_agrees_with_the_reference_on_every_small_case() {
    let masks = strings(&['a', 'b', '*', '?'], 5);
    let names = strings(&['a', 'b'], 6);
    let mut cases = 0;
    for mask in &masks {
        for name in &names {
            assert_eq!(glob(mask, name), reference_glob(mask, name), "mask {mask:?} name {name:?}");
            cases += 1;
        }
    }
    assert!(glob("é?x*", "éyxzz") && !glob("?", "éé"), "a `?` is one character, not one byte");
    println!("glob: {cases} mask/name pairs agree with the reference");
}

/// The plain dynamic programme the matcher must agree with: slow but plainly right.
fn reference_glob(mask: &str, name: &str) -> bool {
    let (m, n): (Vec<char>, Vec<char>) = (mask.chars().collect(), name.chars().collect());
    let mut row = vec![false; n.len() + 1];
    row[0] = true;
    for &c in &m {
        let mut next = vec![false; n.len() + 1];
        next[0] = c == '*' && row[0];
        for j in 1..=n.len() {
            next[j] = match c {
                '*' => row[j] || next[j - 1],
                '?' => row[j - 1],
                c => row[j - 1] && n[j - 1] == c,
            };
        }
        row = next;
    }
    row[n.len()]
}

#[test]
fn mask_matching_agrees_with_the_reference() {
    let mask = prop::string::string_regex("[ab*?]{0,64}").expect("regex");
    let name = prop::string::string_regex("[ab]{0,200}").expect("regex");
    fuzz("mask matching", 2000, (mask, name), |(mask, name)| {
        prop_assert_eq!(glob(&mask, &name), reference_glob(&mask, &name), "mask {:?} name {:?}", mask, name);
        Ok(())
    });
}

#[test]
fn mask_matching_is_fast_on_any_mask() {
    let mask = prop::string::string_regex("[a*?]{0,64}").expect("regex");
    fuzz("mask matching, long names", 300, (mask, 0usize..20_000), |(mask, len)| {
        let filter = GroupFilter::parse("", &mask, "");
        prop_assert!(filter.is_ok() && mask.chars().count() <= MAX_MASK_LEN);
        // Names of one letter make every star's retries as long as they can be.
        let _ = glob(&mask, &"a".repeat(len));
        Ok(())
    });
}

/// JSON values of any shape, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        text().prop_map(Value::from),
        prop_oneof![Just("doveadmResponse"), Just("error"), Just("exitCode"), Just("success"), Just("vector")]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-zA-Z]{0,10}",
                    Just("type".to_string()),
                    Just("exitCode".to_string()),
                    Just("status".to_string()),
                    Just("data".to_string()),
                    Just("resultType".to_string()),
                    Just("result".to_string()),
                    Just("metric".to_string()),
                    Just("value".to_string()),
                    Just("error".to_string()),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies a doveadm API might send: its own shapes with any payload, any JSON, any text.
fn doveadm_body() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop_oneof![Just("doveadmResponse".to_string()), Just("error".to_string()), "[a-z]{0,8}"],
            json_value(),
            json_value()
        )
            .prop_map(|(kind, payload, tag)| json!([[kind, payload, tag]]).to_string()),
        (json_value(), any::<i64>())
            .prop_map(|(rows, code)| json!([["doveadmResponse", [rows, {"exitCode": code}], "t"]]).to_string()),
        json_value().prop_map(|v| v.to_string()),
        text(),
        "[\\[\\]{}\",:0-9a-z ]{0,200}",
    ]
}

#[test]
fn the_doveadm_answer_parser() {
    fuzz("doveadm answers", 2000, doveadm_body(), |body| {
        match parse_answer("be1.example.net", "who", &body) {
            Ok(rows) => prop_assert!(rows.len() <= body.len()),
            Err(err) => {
                let message = err.to_string();
                prop_assert!(message.len() < 2_000, "an error of {} bytes", message.len());
                prop_assert!(!message.contains('\n'), "an error with a raw newline: {message}");
            }
        }
        Ok(())
    });
}

/// Bodies a Prometheus might send: its answer shape with any pieces, any JSON, any bytes.
fn prometheus_body() -> impl Strategy<Value = Vec<u8>> {
    let sample = (prop::collection::btree_map("[a-z_]{1,8}", text(), 0..4), any::<f64>(), text(), json_value())
        .prop_map(|(metric, at, value, other)| {
            let at = if at.is_finite() { json!(at) } else { other };
            // Both shapes at once: a vector's sample and a matrix's series.
            json!({"metric": metric, "value": [at, value], "values": [[at, value], [at, value]]})
        });
    let answer = (
        prop_oneof![Just("success".to_string()), Just("error".to_string()), text()],
        prop_oneof![Just("vector".to_string()), Just("matrix".to_string()), text()],
        prop::collection::vec(sample, 0..6),
        prop::option::of(text()),
    )
        .prop_map(|(status, kind, result, error)| {
            json!({"status": status, "data": {"resultType": kind, "result": result}, "error": error})
        });
    prop_oneof![
        answer.prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..512),
    ]
}

#[test]
fn the_prometheus_answer_parser() {
    fuzz("prometheus answers", 2000, (any::<u16>(), prometheus_body()), |(status, body)| {
        let errors = [
            parse_vector(status, &body).map(|samples| samples.iter().all(|(_, v)| v.is_finite())),
            parse_matrix(status, &body).map(|series| series.iter().flat_map(|s| &s.1).all(|(_, v)| v.is_finite())),
        ];
        for answer in errors {
            match answer {
                Ok(all_finite) => prop_assert!(all_finite),
                Err(err) => {
                    let message = err.to_string();
                    prop_assert!(message.len() < 2_000, "an error of {} bytes", message.len());
                    prop_assert!(!message.contains('\n'), "an error with a raw newline: {message}");
                }
            }
        }
        Ok(())
    });
}

#[test]
fn log_escaping_and_url_redaction() {
    let secret = "[A-Za-z0-9]{12}";
    fuzz("log text", 2000, (text(), text(), secret), |(value, around, secret)| {
        let shown = Untrusted(&value).to_string();
        prop_assert!(!shown.chars().any(|c| c.is_control()));
        prop_assert!(shown.chars().count() <= 2 * 11 * MAX_LOGGED_CHARS);
        let url = format!("{around} http://user:{secret}@host.example:9090/x {around}");
        prop_assert!(!redact_userinfo(&url).contains(&secret), "{:?}", redact_userinfo(&url));
        let _ = redact_userinfo(&value);
        Ok(())
    });
}

/// The names `Config` reads, from what it records.
fn variable_names() -> Vec<&'static str> {
    Config::from_lookup(&|_| None).map(|c| c.effective.keys().copied().collect()).unwrap_or_default()
}

/// Variables whose values are secret, or URLs that may carry credentials.
const SECRET_VARS: [&str; 6] = [
    "SESSION_SECRET",
    "DOVEADM_PASSWORD",
    "DOVEADM_API_KEY",
    "CASSANDRA_PASSWORD",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
];

#[test]
fn configuration_parsing() {
    let names = variable_names();
    assert!(names.len() > 50, "{names:?}");
    let value = prop_oneof![
        text(),
        "[0-9]{1,6}",
        Just("true".to_string()),
        "https?://[a-z0-9.]{1,12}:[0-9]{1,5}/?",
        "[a-z0-9]{1,6}=https?://[a-z.]{1,8}:[0-9]{1,4}(,[a-z0-9]{1,6}=http://[a-z]{1,5}:[0-9]{1,4}){0,3}",
    ];
    let vars = prop::collection::btree_map(prop::sample::select(names), value, 0..20);
    let secret = "[A-Za-z0-9]{16}";
    fuzz("configuration", 1000, (vars, secret, any::<bool>()), |(mut vars, secret, valid)| {
        for var in SECRET_VARS {
            let value = match (var, valid) {
                ("CELERY_BROKER_URL" | "CELERY_RESULT_BACKEND", true) => format!("redis://:{secret}@redis:6379/0"),
                ("CELERY_BROKER_URL" | "CELERY_RESULT_BACKEND", false) => format!("http://:{secret}@redis"),
                ("SESSION_SECRET", true) => secret.repeat(4),
                _ => secret.clone(),
            };
            vars.insert(var, value);
        }
        vars.insert(
            "PROMETHEUS_URL",
            format!("{}://prom:{secret}@prometheus:9090", if valid { "http" } else { "ftp" }),
        );
        let owned: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let lookup = move |name: &str| owned.get(name).cloned();
        let shown = match Config::parse(&lookup, &Process { hostname: "fuzz".into(), pid: 1 }) {
            Ok(config) => format!("{}\n{config:?}", config.render()),
            Err(errors) => errors.to_string(),
        };
        prop_assert!(!shown.contains(&secret), "a secret shown: {shown}");
        Ok(())
    });
}
