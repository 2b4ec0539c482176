//! Settings, reachability and stats: `cluster_settings`, `site_reachability`, `backend_stats` and
//! `proxy_dest_stats`.

use domain::geodb::{BackendStat, ClusterSetting, ProxyDestStat, Reachability, ReachabilityTime};

use palomar_core::ports::StoreError;
use scylla::{client::session::Session, statement::prepared::PreparedStatement, DeserializeRow};
use uuid::Uuid;

use crate::adapters::cassandra::prepare;

/// The statements of this area, prepared once at start-up.
pub(super) struct Statements {
    pub(super) list_settings: PreparedStatement,
    pub(super) put_setting: PreparedStatement,
    pub(super) get_setting: PreparedStatement,
    pub(super) add_setting: PreparedStatement,
    pub(super) update_setting: PreparedStatement,
    pub(super) remove_setting: PreparedStatement,
    pub(super) list_reachability: PreparedStatement,
    pub(super) reachability_times: PreparedStatement,
    pub(super) put_reachability: PreparedStatement,
    pub(super) add_reachability: PreparedStatement,
    pub(super) update_reachability: PreparedStatement,
    pub(super) list_backend_stats: PreparedStatement,
    pub(super) put_backend_stat: PreparedStatement,
    pub(super) list_proxy_dest_stats: PreparedStatement,
    pub(super) put_proxy_dest_stat: PreparedStatement,
    pub(super) delete_proxy_dest_stats: PreparedStatement,
}

impl Statements {
    pub(super) async fn prepare(session: &Session, ks: &str) -> Result<Self, StoreError> {
        Ok(Self {
            list_settings: prepare(
                session,
                ks,
                "SELECT section, site_id, backend_id, setting_name, setting_value FROM {ks}.cluster_settings WHERE section = ?",
            )
            .await?,
            put_setting: prepare(
                session,
                ks,
                "INSERT INTO {ks}.cluster_settings (section, site_id, backend_id, setting_name, setting_value) VALUES (?, ?, ?, ?, ?)",
            )
            .await?,
            get_setting: prepare(
                session,
                ks,
                "SELECT section, site_id, backend_id, setting_name, setting_value FROM {ks}.cluster_settings \
                 WHERE section = ? AND site_id = ? AND backend_id = ? AND setting_name = ?",
            )
            .await?,
            add_setting: prepare(
                session,
                ks,
                "INSERT INTO {ks}.cluster_settings (section, site_id, backend_id, setting_name, setting_value) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            update_setting: prepare(
                session,
                ks,
                "UPDATE {ks}.cluster_settings SET setting_value = ? \
                 WHERE section = ? AND site_id = ? AND backend_id = ? AND setting_name = ? IF setting_value = ?",
            )
            .await?,
            remove_setting: prepare(
                session,
                ks,
                "DELETE FROM {ks}.cluster_settings WHERE section = ? AND site_id = ? AND backend_id = ? AND setting_name = ? \
                 IF setting_value = ?",
            )
            .await?,
            list_reachability: prepare(session, ks, "SELECT src_site_id, dest_site_id, reachable FROM {ks}.site_reachability").await?,
            reachability_times: prepare(
                session,
                ks,
                "SELECT src_site_id, dest_site_id, WRITETIME(reachable) AS written FROM {ks}.site_reachability",
            )
            .await?,
            put_reachability: prepare(
                session,
                ks,
                "INSERT INTO {ks}.site_reachability (src_site_id, dest_site_id, reachable) VALUES (?, ?, ?)",
            )
            .await?,
            add_reachability: prepare(
                session,
                ks,
                "INSERT INTO {ks}.site_reachability (src_site_id, dest_site_id, reachable) VALUES (?, ?, ?) IF NOT EXISTS",
            )
            .await?,
            update_reachability: prepare(
                session,
                ks,
                "UPDATE {ks}.site_reachability SET reachable = ? WHERE src_site_id = ? AND dest_site_id = ? \
                 IF reachable = ?",
            )
            .await?,
            list_backend_stats: prepare(session, ks, "SELECT site_id, id, key, value, type FROM {ks}.backend_stats WHERE site_id = ?")
                .await?,
            put_backend_stat: prepare(
                session,
                ks,
                "INSERT INTO {ks}.backend_stats (site_id, id, key, value, type) VALUES (?, ?, ?, ?, ?)",
            )
            .await?,
            list_proxy_dest_stats: prepare(
                session,
                ks,
                "SELECT proxy_site_id, dest_host, proxy_host, key, value, type FROM {ks}.proxy_dest_stats WHERE proxy_site_id = ?",
            )
            .await?,
            put_proxy_dest_stat: prepare(
                session,
                ks,
                "INSERT INTO {ks}.proxy_dest_stats (proxy_site_id, dest_host, proxy_host, key, value, type) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .await?,
            delete_proxy_dest_stats: prepare(
                session,
                ks,
                "DELETE FROM {ks}.proxy_dest_stats WHERE proxy_site_id = ? AND dest_host = ? AND proxy_host = ?",
            )
            .await?,
        })
    }
}

#[derive(DeserializeRow)]
pub(super) struct SettingRow {
    section: String,
    site_id: Uuid,
    backend_id: Uuid,
    setting_name: String,
    setting_value: Option<String>,
}

impl From<SettingRow> for ClusterSetting {
    fn from(r: SettingRow) -> Self {
        ClusterSetting {
            section: r.section,
            site_id: r.site_id,
            backend_id: r.backend_id,
            setting_name: r.setting_name,
            setting_value: r.setting_value.unwrap_or_default(),
        }
    }
}

#[derive(DeserializeRow)]
pub(super) struct ReachabilityRow {
    src_site_id: Uuid,
    dest_site_id: Uuid,
    reachable: Option<i32>,
}

impl From<ReachabilityRow> for Reachability {
    fn from(r: ReachabilityRow) -> Self {
        Reachability {
            src_site_id: r.src_site_id,
            dest_site_id: r.dest_site_id,
            reachable: r.reachable.unwrap_or_default(),
        }
    }
}

#[derive(DeserializeRow)]
pub(super) struct ReachabilityTimeRow {
    src_site_id: Uuid,
    dest_site_id: Uuid,
    /// Microseconds since the epoch; null for a row whose value is null.
    written: Option<i64>,
}

impl ReachabilityTimeRow {
    pub(super) fn into_time(self) -> Option<ReachabilityTime> {
        let written_at = chrono::DateTime::from_timestamp_micros(self.written?)?;
        Some(ReachabilityTime { src_site_id: self.src_site_id, dest_site_id: self.dest_site_id, written_at })
    }
}

#[derive(DeserializeRow)]
pub(super) struct BackendStatRow {
    site_id: Uuid,
    id: Uuid,
    key: String,
    value: Option<f64>,
    r#type: Option<String>,
}

impl From<BackendStatRow> for BackendStat {
    fn from(r: BackendStatRow) -> Self {
        BackendStat {
            site_id: r.site_id,
            id: r.id,
            key: r.key,
            value: r.value.unwrap_or_default(),
            kind: r.r#type.unwrap_or_default(),
        }
    }
}

#[derive(DeserializeRow)]
pub(super) struct ProxyDestStatRow {
    proxy_site_id: Uuid,
    dest_host: String,
    proxy_host: String,
    key: String,
    value: Option<f64>,
    r#type: Option<String>,
}

impl From<ProxyDestStatRow> for ProxyDestStat {
    fn from(r: ProxyDestStatRow) -> Self {
        ProxyDestStat {
            proxy_site_id: r.proxy_site_id,
            dest_host: r.dest_host,
            proxy_host: r.proxy_host,
            key: r.key,
            value: r.value.unwrap_or_default(),
            kind: r.r#type.unwrap_or_default(),
        }
    }
}
