use std::sync::Arc;

use uuid::Uuid;

use super::Auditor;
use crate::ports::GeoDb;
use domain::audit::AuditAction;
use domain::{
    feature::{feature_states, resolve_mode, Feature, FeatureMode, FeatureState, FEATURE_SECTION},
    geodb::ClusterSetting,
    validate, AppError, Page, PageRequest,
};

/// Checks a settings section or name: 1 to 128 of letters, digits, `.`, `_`, `-`.
pub fn parse_setting_word(field: &str, raw: &str) -> Result<String, AppError> {
    let word = raw.trim();
    validate::bounded(field, word, 1, 128)?;
    if !word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(AppError::invalid(field, "use letters, digits, '.', '_' and '-'"));
    }
    Ok(word.to_string())
}

/// `cluster_settings` rows and feature states: any role.
pub struct SettingsReader {
    geodb: Arc<dyn GeoDb>,
    /// This instance's `DRY_RUN` and `GROUP_BALANCE_ENABLED`.
    dry_run: bool,
    group_balance_enabled: bool,
}

impl SettingsReader {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, dry_run: bool, group_balance_enabled: bool) -> Self {
        Self { geodb, dry_run, group_balance_enabled }
    }

    pub async fn section(&self, section: &str, page: PageRequest) -> Result<Page<ClusterSetting>, AppError> {
        Ok(self.geodb.list_settings(section, page).await?)
    }

    /// Each feature's state for a site (its own row, else the all-sites row, else off), and
    /// the mode this instance's controller runs it in.
    pub async fn features(&self, site_id: Uuid) -> Result<Vec<FeatureMode>, AppError> {
        let mut rows = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.geodb.list_settings(FEATURE_SECTION, PageRequest::after(cursor, 500)).await?;
            rows.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(feature_states(&rows, site_id)
            .into_iter()
            .map(|(f, stored)| resolve_mode(f, stored, self.dry_run, self.group_balance_enabled))
            .collect())
    }
}

/// Feature states per site: operators.
pub struct FeatureOps {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
}

impl FeatureOps {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, audit: Auditor) -> Self {
        Self { geodb, audit }
    }

    pub async fn set(&self, site_id: Uuid, feature: Feature, state: FeatureState) -> Result<(), AppError> {
        if self.geodb.get_site(site_id).await?.is_none() {
            return Err(AppError::NotFound(format!("site {site_id}")));
        }
        let row = ClusterSetting {
            section: FEATURE_SECTION.into(),
            site_id,
            backend_id: Uuid::nil(),
            setting_name: feature.as_str().into(),
            setting_value: state.as_str().into(),
        };
        let before = self.geodb.get_setting(&row).await?;
        let (target, write) = (format!("{feature} @ {site_id}"), self.geodb.write_setting(before.as_ref(), &row));
        let what = format!("feature {feature}");
        self.audit.apply_conditional(AuditAction::FeatureSet, &target, &what, before.as_ref(), Some(&row), write).await
    }
}

/// Any `cluster_settings` row: admins.
pub struct SettingsAdmin {
    geodb: Arc<dyn GeoDb>,
    audit: Auditor,
}

impl SettingsAdmin {
    pub(crate) fn new(geodb: Arc<dyn GeoDb>, audit: Auditor) -> Self {
        Self { geodb, audit }
    }

    pub async fn put(&self, setting: ClusterSetting) -> Result<(), AppError> {
        if setting.section == FEATURE_SECTION {
            if setting.setting_name.parse::<Feature>().is_err() {
                let names: Vec<&str> = Feature::ALL.iter().map(|f| f.as_str()).collect();
                return Err(AppError::invalid(
                    "setting_name",
                    format!("{FEATURE_SECTION} holds only the features {}", names.join(", ")),
                ));
            }
            setting
                .setting_value
                .parse::<FeatureState>()
                .map_err(|_| AppError::invalid("setting_value", "a feature state is on, dryrun or off"))?;
        }
        let target = format!("{}/{}/{}/{}", setting.section, setting.site_id, setting.backend_id, setting.setting_name);
        let before = self.geodb.get_setting(&setting).await?;
        let (what, write) = (format!("setting {target}"), self.geodb.write_setting(before.as_ref(), &setting));
        self.audit
            .apply_conditional(AuditAction::SettingPut, &target, &what, before.as_ref(), Some(&setting), write)
            .await
    }

    pub async fn delete(&self, section: &str, site_id: Uuid, backend_id: Uuid, name: &str) -> Result<(), AppError> {
        let target = format!("{section}/{site_id}/{backend_id}/{name}");
        let key = ClusterSetting {
            section: section.into(),
            site_id,
            backend_id,
            setting_name: name.into(),
            setting_value: String::new(),
        };
        // Deleting what is not there changes nothing, as before.
        let Some(before) = self.geodb.get_setting(&key).await? else { return Ok(()) };
        let (what, write) = (format!("setting {target}"), self.geodb.remove_setting(&before));
        self.audit
            .apply_conditional(AuditAction::SettingDelete, &target, &what, Some(&before), None::<&()>, write)
            .await
    }
}
