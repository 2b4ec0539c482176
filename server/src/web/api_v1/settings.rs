//! `cluster_settings` rows, by section (the Settings page).

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use domain::{geodb::ClusterSetting, validate};

use palomar_core::services::parse_setting_word;

use super::{
    extract::{Admin, ApiState, Authorized, Body, Params, Viewer},
    problem::Problem,
    Paging,
};

/// A `cluster_settings` row. A nil site or backend id means all of them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SettingOut {
    pub section: String,
    pub site_id: Uuid,
    pub backend_id: Uuid,
    pub name: String,
    pub value: String,
}

impl From<&ClusterSetting> for SettingOut {
    fn from(s: &ClusterSetting) -> Self {
        Self {
            section: s.section.clone(),
            site_id: s.site_id,
            backend_id: s.backend_id,
            name: s.setting_name.clone(),
            value: s.setting_value.clone(),
        }
    }
}

/// A page of settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SettingPage {
    pub items: Vec<SettingOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A row to write or remove; absent ids mean all sites or all backends.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingIn {
    pub section: String,
    pub site_id: Option<Uuid>,
    pub backend_id: Option<Uuid>,
    pub name: String,
    /// Up to 4096 characters; ignored by a removal.
    #[serde(default)]
    pub value: String,
}

impl SettingIn {
    fn row(&self) -> Result<ClusterSetting, domain::AppError> {
        validate::bounded("value", self.value.trim(), 0, 4096)?;
        Ok(ClusterSetting {
            section: parse_setting_word("section", &self.section)?,
            site_id: self.site_id.unwrap_or_default(),
            backend_id: self.backend_id.unwrap_or_default(),
            setting_name: parse_setting_word("name", &self.name)?,
            setting_value: self.value.trim().to_string(),
        })
    }
}

/// Which section.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SectionQuery {
    /// e.g. `controller_features`, `controller`.
    pub section: String,
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "controller", security(("token" = ["viewer"])),
    params(SectionQuery, Paging),
    responses(
        (status = 200, description = "A page of the section's rows", body = SettingPage),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// One section of `cluster_settings`.
pub async fn list_settings(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Viewer>,
    Params(query): Params<SectionQuery>,
    Params(paging): Params<Paging>,
) -> Result<Json<SettingPage>, Problem> {
    let section = parse_setting_word("section", &query.section)?;
    let page = api.services.settings(&caller).section(&section, paging.request()?).await?;
    Ok(Json(SettingPage { items: page.items.iter().map(SettingOut::from).collect(), next: page.next }))
}

#[utoipa::path(put, path = "/api/v1/settings", tag = "controller", security(("token" = ["admin"])),
    request_body = SettingIn,
    responses(
        (status = 200, description = "Written", body = SettingOut),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Writes a `cluster_settings` row (feature states are checked as such).
pub async fn put_setting(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    Body(setting): Body<SettingIn>,
) -> Result<Json<SettingOut>, Problem> {
    let row = setting.row()?;
    api.services.settings_admin(&caller)?.put(row.clone()).await?;
    Ok(Json(SettingOut::from(&row)))
}

#[utoipa::path(delete, path = "/api/v1/settings", tag = "controller", security(("token" = ["admin"])),
    request_body = SettingIn,
    responses(
        (status = 200, description = "Removed", body = SettingOut),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem),
    ))]
/// Removes a `cluster_settings` row.
pub async fn delete_setting(
    State(api): State<ApiState>,
    Authorized { 0: caller, .. }: Authorized<Admin>,
    Body(setting): Body<SettingIn>,
) -> Result<Json<SettingOut>, Problem> {
    let row = setting.row()?;
    api.services.settings_admin(&caller)?.delete(&row.section, row.site_id, row.backend_id, &row.setting_name).await?;
    Ok(Json(SettingOut::from(&row)))
}
