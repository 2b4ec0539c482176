//! The controller of this site: `CLUSTER_SITE`, `DRY_RUN`, `CONTROLLER_*`, and the settings of
//! each planner and loop, read straight into the controller's own settings types so that each
//! field is declared once (in `app`).

use palomar_core::controller::{ControllerSettings, Intervals};

use domain::planning::{
    group_balance::GroupBalanceSettings, group_move_timeouts::SupervisionSettings, host_failure::HostFailureSettings,
    load_balance::LoadBalanceSettings,
};

use super::env::{Process, Reader};

/// Reads the controller's settings; `CONTROLLER_INSTANCE` defaults to `process`'s
/// `<hostname>-<pid>`.
pub(super) fn read(r: &mut Reader<'_>, process: &Process) -> ControllerSettings {
    ControllerSettings {
        site: r.get(&["CLUSTER_SITE"], "dc1a".to_string(), "a site name (letters, digits, '.', '_', '-')", |s| {
            domain::validate::cluster_name("CLUSTER_SITE", s).ok()
        }),
        dry_run: r.boolean(&["DRY_RUN"], false),
        group_balance_enabled: r.boolean(&["GROUP_BALANCE_ENABLED"], false),
        group_balance: group_balance(r),
        group_balance_max_user_moves_per_pass: r.number(
            &["GROUP_BALANCE_MAX_USER_MOVES_PER_PASS"],
            200u32,
            0,
            1_000_000,
        ),
        supervision: supervision(r),
        host_failure: host_failure(r),
        load_balance: load_balance(r),
        dns_failure_allowed: r.seconds(&["BACKEND_REACHABILITY_NAME_RESOLUTION_FAILURE_DURATION_ALLOWED_SECS"], 10, 0),
        score_window: r.seconds(&["HOST_LOAD_BALANCE_SCORE_WINDOW_SECS"], 3600, 60),
        intervals: intervals(r),
        dovecot: super::dovecot::dovecot(r),
        instance: r.string(&["CONTROLLER_INSTANCE"], &process.instance_name()),
    }
}

/// Group-size balancing (`GROUP_BALANCE_*`).
fn group_balance(r: &mut Reader<'_>) -> GroupBalanceSettings {
    GroupBalanceSettings {
        slack_percent: r.number(
            &["GROUP_BALANCE_GROUP_SIZE_SLACK_PERCENT", "GROUP_BALANCE_GROUP_SIZE_RATIO_SLACK"],
            10u32,
            0,
            100,
        ),
        max_between_groups: r.number(&["GROUP_BALANCE_MAX_USER_MOVE_BETWEEN_GROUPS"], 100u32, 0, 1_000_000),
    }
}

/// Timeouts of group moves (`GROUP_MOVE_*_TIMEOUT_SECS`).
fn supervision(r: &mut Reader<'_>) -> SupervisionSettings {
    SupervisionSettings {
        finish_timeout: r.seconds(&["GROUP_MOVE_FINISH_TIMEOUT_SECS"], 600, 1),
        start_timeout: r.seconds(&["GROUP_MOVE_START_TIMEOUT_SECS"], 180, 1),
    }
}

/// Host failure handling (`HOST_FAILURE_*`).
fn host_failure(r: &mut Reader<'_>) -> HostFailureSettings {
    r.removed(
        "HOST_OFFLINE_RATIO",
        "it was removed; a failing backend is set offline only when its doveadm API does not answer either \
         (docs/controller.md, host failure)",
    );
    HostFailureSettings {
        cool_time: r.seconds(&["HOST_FAILURE_COOL_TIME_SECS"], 3600, 0),
        min_logins: r.number(&["HOST_FAILURE_MIN_LOGINS"], 10u32, 0, u32::MAX),
        ratio: r
            .ratio(&["HOST_FAILURE_RATIO"], 0.1, "a number strictly between 0 and 1, e.g. 0.1", |v| v > 0.0 && v < 1.0),
        window: r.seconds(&["HOST_FAILURE_WINDOW_SECS"], 300, 10),
    }
}

/// Load balancing (`HOST_LOAD_BALANCE_*`).
fn load_balance(r: &mut Reader<'_>) -> LoadBalanceSettings {
    LoadBalanceSettings {
        group_cool_time: r.seconds(&["HOST_LOAD_BALANCE_GROUP_MIN_COOL_TIME_SECS"], 3600, 1),
        host_cool_time: r.seconds(&["HOST_LOAD_BALANCE_MIN_COOL_TIME_SECS"], 3600, 1),
        // Read as u32 so the accepted range (and its message) stays what it always was.
        min_samples: u64::from(r.number(&["HOST_LOAD_BALANCE_MIN_SAMPLES"], 3000u32, 0, u32::MAX)),
        delta_threshold: r.ratio(
            &["HOST_LOAD_BALANCE_SCORE_DELTA_THRESHOLD_RATIO"],
            0.5,
            "a number greater than 0, e.g. 0.5",
            |v| v > 0.0,
        ),
    }
}

/// The loops' cadences (docs/controller.md, "Loops and cadence") and the leader lease.
fn intervals(r: &mut Reader<'_>) -> Intervals {
    Intervals {
        reachability: r.seconds(&["BACKEND_REACHABILITY_INTERVAL_SECS"], 10, 1),
        pass: r.seconds(&["CONTROLLER_PASS_INTERVAL_SECS"], 60, 1),
        supervision: r.seconds(&["GROUP_MOVE_SUPERVISION_INTERVAL_SECS"], 10, 1),
        group_balance_pass: r.seconds(&["GROUP_BALANCE_PASS_INTERVAL_SECS"], 1800, 1),
        lease_ttl: r.seconds(&["CONTROLLER_LEASE_TTL_SECS"], 30, 3),
    }
}
