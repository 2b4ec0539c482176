//! The command line of the built binary: every `--help` prints usage and exits 0 without
//! reading the configuration or contacting anything, argument errors exit 2, configuration
//! errors exit 1.
//!
//! Each run has a clean environment pointing Cassandra, Redis, Prometheus and the simulator at
//! a closed port, plus a setting that would not parse: a run that loaded the configuration
//! would fail on it (exit 1), one that contacted something would fail or hang (the deadline).

use std::{
    io::Read,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

const DEADLINE: Duration = Duration::from_secs(30);

/// What a run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The environment of every run: nothing from the caller, everything unreachable.
fn environment(poison: bool) -> Vec<(&'static str, &'static str)> {
    let mut vars = vec![
        ("CASSANDRA_SERVERS", "127.0.0.1"),
        ("CASSANDRA_PORT", "1"),
        ("CELERY_BROKER_URL", "redis://127.0.0.1:1/0"),
        ("PROMETHEUS_URL", "http://127.0.0.1:1/"),
        ("SIM_CONTROL_URL", "http://127.0.0.1:1"),
        ("CONTROLLER_API_URL", "http://127.0.0.1:1"),
        ("RUST_LOG", "warn"),
    ];
    if poison {
        vars.push(("DRY_RUN", "not-a-boolean"));
    }
    vars
}

/// Runs `palomar args…` with `env` only, stdin closed, killed after [`DEADLINE`].
fn palomar(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_palomar"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start palomar: {e}"));
    // Read both pipes on threads so a full pipe cannot block the child while we wait.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < DEADLINE => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("palomar {args:?} did not finish within {DEADLINE:?}");
            }
            Err(e) => panic!("waiting for palomar {args:?}: {e}"),
        }
    };
    Run { code: status.code(), stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// `args` prints its help: exit 0, a usage line and every one of `mentions`.
fn assert_help(args: &[&str], mentions: &[&str]) {
    let run = palomar(args, &environment(true));
    assert_eq!(run.code, Some(0), "palomar {args:?}: {}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Usage: palomar"), "palomar {args:?} printed no usage:\n{}", run.stdout);
    for mention in mentions {
        assert!(run.stdout.contains(mention), "palomar {args:?} does not mention {mention}:\n{}", run.stdout);
    }
    assert!(run.stderr.is_empty(), "palomar {args:?} wrote to stderr:\n{}", run.stderr);
}

#[test]
fn every_help_prints_usage_without_reading_the_configuration() {
    let commands = ["serve", "demo", "config", "operator", "simulate"];
    assert_help(&["--help"], &commands);
    assert_help(&["-h"], &commands);
    assert_help(&["help"], &commands);
    assert_help(&["serve", "--help"], &["CASSANDRA_SERVERS", "CELERY_BROKER_URL", "SESSION_SECRET", "PROMETHEUS_URL"]);
    assert_help(&["help", "serve"], &["SESSION_SECRET"]);
    assert_help(&["demo", "--help"], &["CONTROLLER_API_URL", "DOVEADM_PASSWORD"]);
    assert_help(&["config", "--help"], &["secrets redacted"]);
    assert_help(&["operator", "--help"], &["add"]);
    assert_help(
        &["operator", "add", "--help"],
        &["--role", "viewer", "admin", "PALOMAR_OPERATOR_PASSWORD", "CASSANDRA_"],
    );
    assert_help(
        &["simulate", "--help"],
        &[
            "seed",
            "fault",
            "topology",
            "--embedded",
            "--control",
            "--file-sd",
            "--move-rate",
            "--logins-per-second",
            "--password-check",
        ],
    );
    assert_help(
        &["simulate", "seed", "--help"],
        &["--sites", "--backends", "--groups", "--users", "--concurrency", "CASSANDRA_"],
    );
    assert_help(
        &["simulate", "fault", "--help"],
        &[
            "--login-fail",
            "--bad-passwords",
            "--delivery-fail",
            "--hot",
            "--doveadm",
            "--stall",
            "--slow",
            "--clear",
            "SIM_CONTROL_URL",
        ],
    );
    assert_help(&["simulate", "topology", "--help"], &["SIM_CONTROL_URL"]);
}

#[test]
fn the_version_prints_without_reading_the_configuration() {
    let run = palomar(&["--version"], &environment(true));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("palomar "), "{}", run.stdout);
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let cases: [&[&str]; 9] = [
        &["--bogus"],
        &["nonsense"],
        &["serve", "extra"],
        &["operator", "add", "--role", "king", "alice"],
        &["operator", "add", "alice"],
        &["simulate", "seed", "--sites", "two"],
        &["simulate", "fault"],
        &["simulate", "fault", "be1", "--doveadm", "maybe"],
        &["simulate", "--control", "not-an-address"],
    ];
    for args in cases {
        let run = palomar(args, &environment(true));
        assert_eq!(run.code, Some(2), "palomar {args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("error:"), "palomar {args:?}: {}", run.stderr);
        assert!(run.stderr.contains("--help"), "palomar {args:?}: {}", run.stderr);
    }
    let clear_and_set = palomar(&["simulate", "fault", "be1", "--clear", "--hot"], &environment(true));
    assert_eq!(clear_and_set.code, Some(2), "{}", clear_and_set.stderr);
}

/// The command line parses a value into the same domain type as a form and the JSON API, so it
/// refuses it with the same words, before it reads any configuration or sends anything.
#[test]
fn the_command_line_refuses_a_value_in_the_domains_words() {
    let cases: [(&[&str], String); 3] = [
        (
            &["cluster", "backend", "update", "--load-factor", "101", "be1"],
            "101".parse::<domain::LoadFactor>().unwrap_err().to_string(),
        ),
        (
            &["cluster", "user", "move", "u@example.net", "a b"],
            "a b".parse::<domain::GroupName>().unwrap_err().to_string(),
        ),
        (
            &["cluster", "feature", "set", "dc1a", "host-failure", "on"],
            "possible values: host_failure, load_balance".to_string(),
        ),
    ];
    for (args, words) in cases {
        let run = palomar(args, &environment(true));
        assert_eq!(run.code, Some(2), "palomar {args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&words), "palomar {args:?}: {} lacks {words:?}", run.stderr);
    }
}

#[test]
fn config_prints_the_effective_values_and_a_bad_setting_exits_1() {
    let run = palomar(&["config"], &environment(false));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("CASSANDRA_PORT=1  (env)\n"), "{}", run.stdout);
    assert!(run.stdout.contains("CELERY_BROKER_URL=<redacted>  (env)\n"), "{}", run.stdout);
    assert!(run.stdout.contains("DRY_RUN=false  (default)\n"), "{}", run.stdout);

    let bad = palomar(&["config"], &environment(true));
    assert_eq!(bad.code, Some(1), "{}", bad.stdout);
    assert!(bad.stderr.contains("DRY_RUN: expected a boolean"), "{}", bad.stderr);
    // An argument that parses but a configuration that does not: exit 1, not 2.
    let bad_operator = palomar(&["operator", "add", "--role", "Admin", "alice"], &environment(true));
    assert_eq!(bad_operator.code, Some(1), "{}", bad_operator.stderr);
    assert!(bad_operator.stderr.contains("DRY_RUN"), "{}", bad_operator.stderr);
}

#[test]
fn fault_and_topology_read_only_the_control_url() {
    // The configuration does not parse, yet they get as far as the (closed) control port.
    let run = palomar(&["simulate", "topology"], &environment(true));
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(!run.stderr.contains("DRY_RUN"), "{}", run.stderr);
    assert!(run.stderr.contains("127.0.0.1:1"), "{}", run.stderr);
    let fault = palomar(&["simulate", "fault", "be1.dc1a.example.net", "--login-fail", "30"], &environment(true));
    assert_eq!(fault.code, Some(1), "{}", fault.stderr);
    assert!(!fault.stderr.contains("DRY_RUN"), "{}", fault.stderr);
}
