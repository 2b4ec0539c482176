//! `palomar cluster …`: the cluster from a shell, as `doveadm cluster` names things, through the
//! controller's `/api/v1` with an API token. Tables by default, JSON with `--json`.

pub(crate) mod client;
mod force_move;
mod replay;
mod table;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde::de::DeserializeOwned;

pub use client::{parse_config, CliError, Target};

use self::{
    client::{encode, Client},
    table::Output,
};
use crate::web::api_v1::types::{
    BackendChange, BackendOut, BackendPage, DecisionPage, FeatureChange, FeatureOut, GroupMoveRequest, GroupOut,
    GroupPage, MoveOut, NewBackend, SiteOut, UserMoveRequest, UserOut,
};
use domain::{geodb::SettableStatus, BackendHost, Feature, FeatureState, GroupName, LoadFactor};

/// Settings the command line reads.
pub const CLUSTER_SETTINGS: &str = "\
Settings (environment, then the config file):
  PALOMAR_URL          the controller [config `url`; else CONTROLLER_API_URL; else http://localhost:8000]
  PALOMAR_TOKEN        an API token (the Tokens page, or POST /api/v1/tokens) [config `token`]
  PALOMAR_CLI_CONFIG   the config file [default: ~/.config/palomar/cli.conf], `key = value` lines
Exit codes: 0 done, 64 usage, 65 bad input, 68 not found, 75 conflict or unavailable (try again),
77 no or insufficient token.";

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The controller's URL (overrides PALOMAR_URL and the config file).
    #[arg(long, global = true)]
    url: Option<String>,
    /// Print JSON (the API's own bodies) instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// A site's backends.
    #[command(subcommand)]
    Backend(BackendCommand),
    /// A site's user groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Controller feature states.
    #[command(subcommand)]
    Feature(FeatureCommand),
    /// Supervised group moves.
    #[command(subcommand)]
    Move(MoveCommand),
    /// The controller's decisions of a day, newest first.
    Decisions {
        /// The site's name or id.
        site: String,
        /// A UTC day, YYYY-MM-DD [default: today].
        #[arg(long)]
        day: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum SiteCommand {
    /// Every site.
    List,
    /// Moves users out of a site at their next login: start, update, stop, list.
    #[command(subcommand)]
    ForceMove(force_move::SiteForceMove),
    /// Brings users a force-move moved out of the site back at their next login.
    Recover(force_move::SiteRecover),
    /// Replays the site's history through the controller's planners, with the settings in
    /// force or others, and prints the summary and the decisions that differ.
    Replay(replay::SiteReplay),
}

#[derive(Debug, Subcommand)]
enum BackendCommand {
    /// Backends, by host; every site's unless --site.
    List {
        #[arg(long)]
        site: Option<String>,
    },
    /// Adds a backend in standby.
    Add {
        #[arg(long)]
        site: String,
        host: BackendHost,
    },
    /// Sets a backend's status and/or load factor.
    Update {
        /// The backend's site [default: the one that has the host].
        #[arg(long)]
        site: Option<String>,
        #[arg(long, value_enum)]
        status: Option<SettableStatus>,
        /// 0 to 100; 0 drains it.
        #[arg(long)]
        load_factor: Option<LoadFactor>,
        host: String,
    },
    /// Removes a backend; --force even if groups are on it.
    Remove {
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        force: bool,
        host: String,
    },
    /// Standby and load factor 0: the controller moves its groups away.
    Evacuate {
        #[arg(long)]
        site: Option<String>,
        host: String,
    },
    /// Moves users out of a backend at their next login: start, update, stop.
    #[command(subcommand)]
    ForceMove(force_move::BackendForceMove),
}

#[derive(Debug, Subcommand)]
enum GroupCommand {
    /// A site's groups, every page.
    List {
        site: String,
        /// Names matching this mask (`*`, `?`).
        mask: Option<String>,
        /// Only those on this backend (its host).
        #[arg(long)]
        backend: Option<String>,
    },
    /// Starts moving a group to a backend; the controller supervises the move.
    Move { site: String, group: String, host: String },
    /// Runs `doveadm cluster group access` on the group's backend (starts a pending move).
    Access { site: String, group: String },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// A user's row and where a proxy would send them now.
    Status { user: String },
    /// Moves a user to another group at their next access (Dovecot Pro).
    Move {
        #[arg(long)]
        site: Option<String>,
        user: String,
        group: GroupName,
        failover_group: Option<GroupName>,
    },
}

#[derive(Debug, Subcommand)]
enum FeatureCommand {
    /// Each feature's state for a site.
    List { site: String },
    /// Sets a feature's state for a site: on, dryrun or off.
    Set {
        site: String,
        #[arg(value_enum)]
        feature: Feature,
        #[arg(value_enum)]
        state: FeatureState,
    },
}

#[derive(Debug, Subcommand)]
enum MoveCommand {
    /// A site's moves, newest first (one page).
    List { site: String },
    /// Forces an active move: the group is set on its destination.
    Force { site: String, id: uuid::Uuid },
    /// Cancels an active move that has not started.
    Cancel { site: String, id: uuid::Uuid },
}

/// Runs one command; the error carries the exit code.
pub async fn run(args: ClusterArgs) -> Result<(), CliError> {
    let client = Client::new(Target::resolve(args.url)?)?;
    let out = Output { json: args.json };
    match args.command {
        ClusterCommand::Site(SiteCommand::List) => {
            let sites: Vec<SiteOut> = client.get("/sites").await?;
            out.rows(&sites, &["name", "status", "load balancer", "id"], |s| {
                vec![s.name.clone(), s.status.clone(), s.load_balancer.clone(), s.id.to_string()]
            })
        }
        ClusterCommand::Site(SiteCommand::ForceMove(command)) => force_move::site(&client, &out, command).await,
        ClusterCommand::Site(SiteCommand::Recover(command)) => force_move::recover(&client, &out, command).await,
        ClusterCommand::Site(SiteCommand::Replay(command)) => replay::replay(&client, &out, command).await,
        ClusterCommand::Backend(BackendCommand::ForceMove(command)) => {
            force_move::backend(&client, &out, command).await
        }
        ClusterCommand::Backend(command) => backend(&client, &out, command).await,
        ClusterCommand::Group(command) => group(&client, &out, command).await,
        ClusterCommand::User(UserCommand::Status { user }) => {
            let user: UserOut = client.get(&format!("/users/{}", encode(&user))).await?;
            out.one(&user, user_rows)
        }
        ClusterCommand::User(UserCommand::Move { site, user, group, failover_group }) => {
            let body = UserMoveRequest { group, site, failover_group };
            let path = format!("/users/{}/move", encode(&user));
            let user: UserOut = client.call(Method::POST, &path, Some(&body)).await?;
            out.one(&user, user_rows)
        }
        ClusterCommand::Feature(FeatureCommand::List { site }) => {
            let features: Vec<FeatureOut> = client.get(&format!("/sites/{}/features", encode(&site))).await?;
            features_table(&out, &features)
        }
        ClusterCommand::Feature(FeatureCommand::Set { site, feature, state }) => {
            let path = format!("/sites/{}/features/{}", encode(&site), feature.as_str());
            let features: Vec<FeatureOut> = client.call(Method::PUT, &path, Some(&FeatureChange { state })).await?;
            features_table(&out, &features)
        }
        ClusterCommand::Move(MoveCommand::List { site }) => {
            let page: crate::web::api_v1::types::MovePage =
                client.get(&format!("/sites/{}/moves", encode(&site))).await?;
            moves_table(&out, &page.items)
        }
        ClusterCommand::Move(MoveCommand::Force { site, id }) => end_move(&client, &out, &site, id, "force").await,
        ClusterCommand::Move(MoveCommand::Cancel { site, id }) => end_move(&client, &out, &site, id, "cancel").await,
        ClusterCommand::Decisions { site, day } => {
            let query = day.map(|d| format!("?day={}", encode(&d))).unwrap_or_default();
            let page: DecisionPage = client.get(&format!("/sites/{}/decisions{query}", encode(&site))).await?;
            out.rows(&page.items, &["at", "feature", "mode", "outcome", "reason", "summary", "detail"], |d| {
                vec![
                    d.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    json_word(&d.feature),
                    json_word(&d.mode),
                    json_word(&d.outcome),
                    json_word(&d.reason),
                    d.summary.clone(),
                    d.detail.clone(),
                ]
            })
        }
    }
}

/// An enum as the API spells it.
fn json_word<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn user_rows(u: &UserOut) -> Vec<(&'static str, String)> {
    vec![
        ("user", u.username.clone()),
        ("site", u.site.clone()),
        ("group", u.group.clone()),
        ("failover group", u.failover_group.clone()),
        ("backend", u.backend.clone().unwrap_or_default()),
        ("route", u.route.clone()),
        ("group moving", u.group_moving.to_string()),
    ]
}

fn features_table(out: &Output, features: &[FeatureOut]) -> Result<(), CliError> {
    out.rows(features, &["feature", "stored", "effective", "why"], |f| {
        vec![json_word(&f.feature), json_word(&f.stored), json_word(&f.effective), f.reason.clone().unwrap_or_default()]
    })
}

fn moves_table(out: &Output, moves: &[MoveOut]) -> Result<(), CliError> {
    out.rows(moves, &["id", "group", "from", "to", "state", "by", "users"], |m| {
        vec![
            m.id.to_string(),
            m.group.clone(),
            m.source.clone(),
            m.destination.clone(),
            json_word(&m.state),
            m.initiated_by.clone(),
            format!("{}/{}", m.users_moved, m.users_total),
        ]
    })
}

async fn end_move(client: &Client, out: &Output, site: &str, id: uuid::Uuid, how: &str) -> Result<(), CliError> {
    let path = format!("/sites/{}/moves/{id}/{how}", encode(site));
    let ended: MoveOut = client.call::<(), _>(Method::POST, &path, None).await?;
    moves_table(out, std::slice::from_ref(&ended))
}

/// A backend with its site's name, as `backend list` prints it.
#[derive(serde::Serialize)]
struct SiteBackend {
    site: String,
    #[serde(flatten)]
    backend: BackendOut,
}

fn backends_table(out: &Output, backends: Vec<(String, BackendOut)>) -> Result<(), CliError> {
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    let rows: Vec<SiteBackend> = backends.into_iter().map(|(site, backend)| SiteBackend { site, backend }).collect();
    out.rows(
        &rows,
        &["site", "host", "status", "load factor", "groups", "users", "reason"],
        |SiteBackend { site, backend: b }| {
            vec![
                site.clone(),
                b.host.clone(),
                b.status.clone(),
                b.load_factor.to_string(),
                count(b.groups),
                count(b.users),
                b.status_reason.clone(),
            ]
        },
    )
}

/// Every page of a list.
async fn all_pages<P: DeserializeOwned, T>(
    client: &Client,
    path: &str,
    split: impl Fn(P) -> (Vec<T>, Option<String>),
) -> Result<Vec<T>, CliError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page_path = match &cursor {
            None => format!("{path}{separator}limit=500"),
            Some(c) => format!("{path}{separator}limit=500&cursor={}", encode(c)),
        };
        let (page, next) = split(client.get::<P>(&page_path).await?);
        items.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// The site a backend is in: the one given, or the one that has the host.
async fn site_of(client: &Client, site: Option<String>, host: &str) -> Result<String, CliError> {
    if let Some(site) = site {
        return Ok(site);
    }
    let sites: Vec<SiteOut> = client.get("/sites").await?;
    for s in sites {
        if client.exists(&format!("/sites/{}/backends/{}", encode(&s.name), encode(host))).await? {
            return Ok(s.name);
        }
    }
    Err(CliError::Refused(crate::web::api_v1::problem::Problem::new(
        reqwest::StatusCode::NOT_FOUND,
        "not_found",
        format!("no site has a backend {host}"),
    )))
}

async fn backend(client: &Client, out: &Output, command: BackendCommand) -> Result<(), CliError> {
    match command {
        BackendCommand::List { site } => {
            let sites = match site {
                Some(site) => vec![site],
                None => client.get::<Vec<SiteOut>>("/sites").await?.into_iter().map(|s| s.name).collect(),
            };
            let mut rows = Vec::new();
            for site in sites {
                let path = format!("/sites/{}/backends", encode(&site));
                let backends = all_pages(client, &path, |p: BackendPage| (p.items, p.next)).await?;
                rows.extend(backends.into_iter().map(|b| (site.clone(), b)));
            }
            backends_table(out, rows)
        }
        BackendCommand::Add { site, host } => {
            let path = format!("/sites/{}/backends", encode(&site));
            let added: BackendOut = client.call(Method::POST, &path, Some(&NewBackend { host })).await?;
            backends_table(out, vec![(site, added)])
        }
        BackendCommand::Update { site, status, load_factor, host } => {
            if status.is_none() && load_factor.is_none() {
                return Err(CliError::Usage("give --status, --load-factor or both".into()));
            }
            let site = site_of(client, site, &host).await?;
            let path = format!("/sites/{}/backends/{}", encode(&site), encode(&host));
            let body = BackendChange { status, load_factor };
            let changed: BackendOut = client.call(Method::PATCH, &path, Some(&body)).await?;
            backends_table(out, vec![(site, changed)])
        }
        BackendCommand::Remove { site, force, host } => {
            let site = site_of(client, site, &host).await?;
            let path = format!("/sites/{}/backends/{}?force={force}", encode(&site), encode(&host));
            let removed: BackendOut = client.call::<(), _>(Method::DELETE, &path, None).await?;
            backends_table(out, vec![(site, removed)])
        }
        BackendCommand::Evacuate { site, host } => {
            let site = site_of(client, site, &host).await?;
            let path = format!("/sites/{}/backends/{}/evacuate", encode(&site), encode(&host));
            let evacuated: BackendOut = client.call::<(), _>(Method::POST, &path, None).await?;
            backends_table(out, vec![(site, evacuated)])
        }
        BackendCommand::ForceMove(command) => force_move::backend(client, out, command).await,
    }
}

async fn group(client: &Client, out: &Output, command: GroupCommand) -> Result<(), CliError> {
    match command {
        GroupCommand::List { site, mask, backend } => {
            let path = format!(
                "/sites/{}/groups?mask={}&backend={}",
                encode(&site),
                encode(mask.as_deref().unwrap_or_default()),
                encode(backend.as_deref().unwrap_or_default())
            );
            let groups = all_pages(client, &path, |p: GroupPage| (p.items, p.next)).await?;
            groups_table(out, &groups)
        }
        GroupCommand::Move { site, group, host } => {
            let path = format!("/sites/{}/groups/{}/move", encode(&site), encode(&group));
            let started: MoveOut =
                client.call(Method::POST, &path, Some(&GroupMoveRequest { backend: host.clone() })).await?;
            moves_table(out, std::slice::from_ref(&started))
        }
        GroupCommand::Access { site, group } => {
            let path = format!("/sites/{}/groups/{}/access", encode(&site), encode(&group));
            let answer: serde_json::Value = client.call::<(), _>(Method::POST, &path, None).await?;
            let backend = answer["backend"].as_str().unwrap_or_default().to_string();
            out.one(&answer, |_| vec![("group", group.clone()), ("accessed on", backend.clone())])
        }
    }
}

fn groups_table(out: &Output, groups: &[GroupOut]) -> Result<(), CliError> {
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    out.rows(groups, &["group", "backend", "alternative", "users", "moving", "sticky"], |g| {
        let sticky = match (g.sticky_users, g.sticky_backend) {
            (false, false) => "",
            (true, false) => "users",
            (false, true) => "backend",
            (true, true) => "users,backend",
        };
        vec![
            g.name.clone(),
            g.backend.clone(),
            g.alternative.clone(),
            count(g.users),
            if g.moving { "yes" } else { "" }.to_string(),
            sticky.to_string(),
        ]
    })
}
