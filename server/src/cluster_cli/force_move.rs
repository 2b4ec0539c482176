//! `palomar cluster site force-move …`, `site recover …` and `backend force-move …`, as
//! `doveadm cluster` names them.

use clap::Subcommand;
use reqwest::Method;

use super::{
    client::{encode, Client},
    json_word, site_of,
    table::Output,
    CliError,
};
use crate::web::api_v1::force_moves::{ForceMoveChanged, ForceMoveIn, ForceMoveOut, PercentIn};

#[derive(Debug, Subcommand)]
pub(super) enum SiteForceMove {
    /// Moves the chosen PERCENT of the site's users to the destination sites at their next login.
    Start {
        /// Hashed with each username to choose users [default: a new random one].
        #[arg(long)]
        id: Option<String>,
        site: String,
        percent: u64,
        #[arg(required = true)]
        destinations: Vec<String>,
    },
    /// Changes the share: a higher one moves more users.
    Update { site: String, percent: u64 },
    /// Stops moving users; those moved stay.
    Stop { site: String },
    /// The site's and its backends' force-moves and recovers, with their progress.
    List { site: String },
}

#[derive(Debug, Subcommand)]
pub(super) enum BackendForceMove {
    /// Moves the chosen PERCENT of the backend's users into groups on the destination backends.
    Start {
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        id: Option<String>,
        host: String,
        percent: u64,
        #[arg(required = true)]
        destinations: Vec<String>,
    },
    /// Changes the share.
    Update {
        #[arg(long)]
        site: Option<String>,
        host: String,
        percent: u64,
    },
    /// Stops moving users.
    Stop {
        #[arg(long)]
        site: Option<String>,
        host: String,
    },
}

/// `site recover [--id ID] SITE PERCENT`: starts a recover, or changes the share of the
/// running one; `--stop SITE` ends it.
#[derive(Debug, clap::Args)]
pub(super) struct SiteRecover {
    /// Hashed with each username to choose users [default: a new random one].
    #[arg(long)]
    id: Option<String>,
    /// Stops the site's recover.
    #[arg(long, conflicts_with_all = ["id", "percent"])]
    stop: bool,
    site: String,
    #[arg(required_unless_present = "stop")]
    percent: Option<u64>,
}

pub(super) async fn site(client: &Client, out: &Output, command: SiteForceMove) -> Result<(), CliError> {
    match command {
        SiteForceMove::Start { id, site, percent, destinations } => {
            let body = ForceMoveIn { id: id.unwrap_or_default(), percent, destinations };
            let path = format!("/sites/{}/force-move", encode(&site));
            changed(out, client.call(Method::POST, &path, Some(&body)).await?)
        }
        SiteForceMove::Update { site, percent } => {
            let path = format!("/sites/{}/force-move", encode(&site));
            changed(out, client.call(Method::PATCH, &path, Some(&PercentIn { percent })).await?)
        }
        SiteForceMove::Stop { site } => {
            let path = format!("/sites/{}/force-move", encode(&site));
            changed(out, client.call::<(), _>(Method::DELETE, &path, None).await?)
        }
        SiteForceMove::List { site } => {
            let list: Vec<ForceMoveOut> = client.get(&format!("/sites/{}/force-moves", encode(&site))).await?;
            list_table(out, &list)
        }
    }
}

pub(super) async fn recover(client: &Client, out: &Output, command: SiteRecover) -> Result<(), CliError> {
    let path = format!("/sites/{}/recover", encode(&command.site));
    if command.stop {
        return changed(out, client.call::<(), _>(Method::DELETE, &path, None).await?);
    }
    let percent = command.percent.ok_or_else(|| CliError::Usage("give PERCENT, or --stop".into()))?;
    let list: Vec<ForceMoveOut> = client.get(&format!("/sites/{}/force-moves", encode(&command.site))).await?;
    let running = list.iter().any(|op| op.kind == domain::force_move::ForceMoveKind::Recover && op.live);
    if running && command.id.is_none() {
        return changed(out, client.call(Method::PATCH, &path, Some(&PercentIn { percent })).await?);
    }
    let body = ForceMoveIn { id: command.id.unwrap_or_default(), percent, destinations: vec![] };
    changed(out, client.call(Method::POST, &path, Some(&body)).await?)
}

pub(super) async fn backend(client: &Client, out: &Output, command: BackendForceMove) -> Result<(), CliError> {
    match command {
        BackendForceMove::Start { site, id, host, percent, destinations } => {
            let path = backend_path(client, site, &host).await?;
            let body = ForceMoveIn { id: id.unwrap_or_default(), percent, destinations };
            changed(out, client.call(Method::POST, &path, Some(&body)).await?)
        }
        BackendForceMove::Update { site, host, percent } => {
            let path = backend_path(client, site, &host).await?;
            changed(out, client.call(Method::PATCH, &path, Some(&PercentIn { percent })).await?)
        }
        BackendForceMove::Stop { site, host } => {
            let path = backend_path(client, site, &host).await?;
            changed(out, client.call::<(), _>(Method::DELETE, &path, None).await?)
        }
    }
}

async fn backend_path(client: &Client, site: Option<String>, host: &str) -> Result<String, CliError> {
    let site = site_of(client, site, host).await?;
    Ok(format!("/sites/{}/backends/{}/force-move", encode(&site), encode(host)))
}

fn changed(out: &Output, op: ForceMoveChanged) -> Result<(), CliError> {
    out.one(&op, |op| vec![("kind", json_word(&op.kind)), ("id", op.id.clone()), ("percent", op.percent.to_string())])
}

fn list_table(out: &Output, list: &[ForceMoveOut]) -> Result<(), CliError> {
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    let header = ["kind", "source", "to", "percent", "live", "at source", "moved", "per minute", "id"];
    out.rows(list, &header, |op| {
        vec![
            json_word(&op.kind),
            op.source.clone(),
            op.destinations.join(","),
            op.percent.to_string(),
            if op.live { "yes" } else { "no (status changed)" }.to_string(),
            count(op.users_at_source),
            count(op.moved),
            op.per_minute.map(|r| format!("{r:.1}")).unwrap_or_else(|| "-".into()),
            op.id.clone(),
        ]
    })
}
