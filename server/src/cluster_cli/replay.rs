//! `palomar cluster site replay SITE [--from T] [--to T] [--set NAME=VALUE]…`: replays the
//! site's history with the settings in force or others, waits for the result and prints the
//! summary and the decisions that differ.

use std::{io::IsTerminal, time::Duration};

use chrono::{DateTime, Utc};
use reqwest::Method;

use super::{client::encode, client::Client, json_word, table::Output, CliError};
use crate::web::api_v1::replays::{ReplayIn, ReplayOut};
use domain::replay::{ReplayResult, ReplayStatus, SettingOverride};

/// How often the command asks how far the replay got.
const POLL: Duration = Duration::from_secs(1);

/// `site replay`.
#[derive(Debug, clap::Args)]
pub(super) struct SiteReplay {
    /// The site's name or id.
    site: String,
    /// The window's start, RFC 3339 (2026-12-07T08:00:00Z) [default: --to less 24 hours].
    #[arg(long)]
    from: Option<String>,
    /// The window's end, RFC 3339 [default: now].
    #[arg(long)]
    to: Option<String>,
    /// A setting to replay with instead of the one in force: a controller setting
    /// (HOST_FAILURE_RATIO=0.3) or a feature's state (load_balance=on). Repeat for more; none
    /// replays what was in force, to check how faithful a replay is.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
}

pub(super) async fn replay(client: &Client, out: &Output, command: SiteReplay) -> Result<(), CliError> {
    let time = |raw: Option<String>, what: &str| -> Result<Option<DateTime<Utc>>, CliError> {
        let at = domain::validate::instant(what, raw.as_deref().unwrap_or_default());
        at.map_err(|e| CliError::Usage(format!("--{what}: {e}")))
    };
    let mut set = std::collections::BTreeMap::new();
    for raw in &command.set {
        let o = SettingOverride::parse(raw).map_err(|e| CliError::Usage(format!("--set: {e}")))?;
        set.insert(o.name, o.value);
    }
    let body = ReplayIn { from: time(command.from, "from")?, to: time(command.to, "to")?, set };
    let site = encode(&command.site);
    let mut run: ReplayOut = client.call(Method::POST, &format!("/sites/{site}/replays"), Some(&body)).await?;
    let path = format!("/sites/{site}/replays/{}", run.id);
    let terminal = std::io::stderr().is_terminal();
    while run.status == ReplayStatus::Running {
        if terminal {
            eprint!("\rreplaying: {} of {} passes", run.done, run.total);
        }
        tokio::time::sleep(POLL).await;
        run = client.get(&path).await?;
    }
    if terminal {
        eprintln!();
    }
    if run.status == ReplayStatus::Failed {
        return Err(CliError::Usage(format!("replay {} failed: {}", run.id, run.error.unwrap_or_default())));
    }
    if out.json {
        return out.one(&run, |_| Vec::new());
    }
    let result: Option<ReplayResult> = run.result.clone().and_then(|r| serde_json::from_value(r).ok());
    let Some(result) = result else {
        return Err(CliError::Usage(format!("replay {} has no readable result", run.id)));
    };
    summary(out, &run, &result)?;
    differences(out, &result)
}

fn summary(out: &Output, run: &ReplayOut, result: &ReplayResult) -> Result<(), CliError> {
    let (r, p) = (&result.summary.recorded, &result.summary.replayed);
    let both = |a: String, b: String| format!("recorded {a}, replayed {b}");
    let set: Vec<String> = run.set.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let agreement = &result.agreement;
    out.one(run, |run| {
        vec![
            ("replay", run.id.to_string()),
            ("site", run.site.clone()),
            ("window", format!("{} to {} ({} passes)", result.from, result.to, result.passes)),
            ("set", if set.is_empty() { "(the settings in force)".into() } else { set.join(" ") }),
            (
                "agreement",
                format!(
                    "{:.1} % ({} matched, {} differ)",
                    agreement.percent(),
                    agreement.matched,
                    agreement.disagreements.len()
                ),
            ),
            ("moves", both(r.moves.to_string(), p.moves.to_string())),
            ("forced", both(r.forced.to_string(), p.forced.to_string())),
            ("users moved", both(r.users_moved.to_string(), p.users_moved.to_string())),
            ("set offline", both(r.set_offline.to_string(), p.set_offline.to_string())),
            ("offline time", both(format!("{} s", r.offline_secs), format!("{} s", p.offline_secs))),
            ("peak spread", both(format!("{:.2}", r.peak_spread), format!("{:.2}", p.peak_spread))),
        ]
    })
}

fn differences(out: &Output, result: &ReplayResult) -> Result<(), CliError> {
    let list = &result.agreement.disagreements;
    if list.is_empty() {
        return out.one(&(), |_| vec![("differences", "none: both made the same decisions".into())]);
    }
    out.rows(list, &["at", "only", "feature", "decision", "why"], |d| {
        vec![
            d.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            d.side.to_string(),
            json_word(&d.feature),
            d.summary.clone(),
            d.reason.clone(),
        ]
    })
}
