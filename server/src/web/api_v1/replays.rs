//! Replays (docs/replay.md): a site's history replayed with the settings in force or others.

use std::collections::BTreeMap;

use axum::{
    extract::State,
    http::{header, StatusCode},
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use domain::replay::{ReplayRun, ReplayStatus, SettingOverride};

use super::{
    extract::{ApiState, At, Authorized, Body, Operator, Viewer},
    problem::Problem,
};

/// What to replay.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    /// The window's start; `to` less 24 hours when absent.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// The window's end; now when absent.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Settings to replay with instead of those in force: a controller setting by its variable
    /// name (`"HOST_FAILURE_RATIO": "0.3"`) or a feature by its name (`"load_balance": "on"`).
    /// None: a replay of what was in force, to check its fidelity.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// A replay, its progress and, once done, its result.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplayOut {
    pub id: Uuid,
    pub site: String,
    pub status: ReplayStatus,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The settings changed, as asked.
    pub set: BTreeMap<String, String>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Passes replayed, and passes in all.
    pub done: u64,
    pub total: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// Decisions both the record and the replay made, in percent of all acting decisions.
    pub agreement: Option<f64>,
    /// The result: both timelines, the chart series, the summaries and each disagreement.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
}

impl From<ReplayRun> for ReplayOut {
    fn from(run: ReplayRun) -> Self {
        Self {
            id: run.id,
            site: run.site,
            status: run.status,
            from: run.from,
            to: run.to,
            set: run.overrides.into_iter().map(|o| (o.name, o.value)).collect(),
            requested_by: run.requested_by,
            created_at: run.created_at,
            updated_at: run.updated_at,
            done: run.done,
            total: run.total,
            error: run.error,
            agreement: run.result.as_ref().map(|r| r.agreement.percent()),
            result: run.result.and_then(|r| serde_json::to_value(r).ok()),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/sites/{site}/replays", tag = "controller", security(("token" = ["operator"])),
    params(("site" = String, Path, description = "The site's name or id")),
    request_body = ReplayIn,
    responses(
        (status = 202, description = "The replay started; `Location` is where its progress and result are", body = ReplayOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "A replay of the site is running", body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem),
    ))]
/// Starts a replay of the site's history through the controller's planners.
pub async fn start_replay(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Operator>,
    At(site): At<String>,
    Body(asked): Body<ReplayIn>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<ReplayOut>), Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let overrides = SettingOverride::parse_all(asked.set.iter().map(|(n, v)| (n.as_str(), v.as_str())))?;
    let replays = api.services.replays(&caller)?;
    let ask = replays.ask(&site, asked.from, asked.to, &overrides).await?;
    let run = replays.start(&site, ask).await?;
    let location = format!("/api/v1/sites/{}/replays/{}", site.name, run.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(run.into())))
}

#[utoipa::path(get, path = "/api/v1/sites/{site}/replays/{id}", tag = "controller", security(("token" = ["viewer"])),
    params(("site" = String, Path, description = "The site's name or id"), ("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The replay; kept 7 days", body = ReplayOut),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem),
    ))]
/// A replay: its progress while it runs, its result once done.
pub async fn get_replay(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    At((site, id)): At<(String, String)>,
) -> Result<Json<ReplayOut>, Problem> {
    let site = api.services.site_by_key(&caller, &site).await?;
    let id = domain::validate::uuid("id", &id)?;
    Ok(Json(api.services.replay_reader(&caller).get(&site, id).await?.into()))
}
