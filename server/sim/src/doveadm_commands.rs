//! The commands behind the simulated doveadm HTTP API: CE's generic `who` (no sessions to
//! list) and Palomar's cluster commands (Dovecot Pro only; their output keys and exit codes are
//! ours, see docs/simulator.md).

use domain::{
    cluster::glob,
    geodb::{User, UserGroup},
    logtext::Untrusted,
    LoadFactor,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    doveadm_request::{CommandResult, CommandSpec, ParamType, ParamValue, Params},
    DoveadmMode, Simulator,
};

const fn spec(name: &'static str, params: &'static [(&'static str, ParamType)]) -> CommandSpec {
    CommandSpec { name, params }
}

/// The commands the simulator serves, with their parameters (camelCase, as the API names
/// them): CE's generic `who`, then Palomar's cluster commands, whose positional names follow
/// the man pages' synopses (docs/simulator.md, "Choices that are ours").
pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec(
        "who",
        &[("socketPath", ParamType::String), ("separateConnections", ParamType::Boolean), ("mask", ParamType::Array)],
    ),
    spec("clusterBackendList", &[("site", ParamType::String)]),
    spec("clusterBackendStatus", &[("host", ParamType::String)]),
    spec(
        "clusterBackendUpdate",
        &[("host", ParamType::String), ("status", ParamType::String), ("loadFactor", ParamType::Integer)],
    ),
    spec("clusterGroupAccess", &[("group", ParamType::String)]),
    spec("clusterGroupList", &[("mask", ParamType::String)]),
    spec(
        "clusterGroupMove",
        &[
            ("site", ParamType::String),
            ("group", ParamType::String),
            ("host", ParamType::String),
            ("direct", ParamType::Boolean),
        ],
    ),
    spec("clusterGroupStatus", &[("site", ParamType::String), ("group", ParamType::String)]),
    spec("clusterKick", &[("user", ParamType::String)]),
    spec("clusterUserAccess", &[("user", ParamType::String)]),
    spec(
        "clusterUserMove",
        &[
            ("user", ParamType::String),
            ("group", ParamType::String),
            ("failoverGroup", ParamType::String),
            ("site", ParamType::String),
            ("direct", ParamType::Boolean),
        ],
    ),
    spec("clusterUserStatus", &[("user", ParamType::String)]),
];

/// doveadm exit codes (sysexits) the commands use.
const EX_USAGE: i64 = 64;
const EX_DATAERR: i64 = 65;
const EX_NOUSER: i64 = 67;
const EX_NOHOST: i64 = 68;
const EX_TEMPFAIL: i64 = 75;

/// Why a command did not succeed.
enum CommandError {
    /// It ran and failed with this exit code.
    Exit(i64),
    /// The server could not run it (no such backend).
    Internal,
}

/// The parameters a command was given, read the way the commands want them.
struct Args(Params);

impl Args {
    /// A string parameter; numbers and booleans in their JSON spelling.
    fn string(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            ParamValue::Str(text) => text.clone(),
            ParamValue::Int(number) => Some(number.to_string()),
            ParamValue::Bool(flag) => Some(flag.to_string()),
            ParamValue::Array(items) => items.first().cloned(),
        }
    }

    fn required(&self, name: &str) -> Result<String, CommandError> {
        self.string(name).filter(|s| !s.is_empty()).ok_or(CommandError::Exit(EX_USAGE))
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.0.get(name), Some(ParamValue::Bool(true)))
    }
}

/// Runs one command on the backend `host`.
pub(crate) async fn execute(sim: &Simulator, host: &str, command: &CommandSpec, params: Params) -> CommandResult {
    match run(sim, host, command.name, &Args(params)).await {
        Ok(rows) => CommandResult::Success(Value::Array(rows).to_string()),
        Err(CommandError::Exit(code)) => CommandResult::ExitCode(code),
        Err(CommandError::Internal) => CommandResult::InternalError,
    }
}

fn store_error(err: palomar_core::ports::StoreError) -> CommandError {
    tracing::warn!(error = %Untrusted(&err), "doveadm command failed on the GeoDB");
    CommandError::Exit(EX_TEMPFAIL)
}

async fn run(sim: &Simulator, host: &str, command: &str, params: &Args) -> Result<Vec<Value>, CommandError> {
    if sim.faults(host).is_some_and(|f| f.doveadm == DoveadmMode::Error) {
        return Err(CommandError::Exit(EX_TEMPFAIL));
    }
    let geodb = sim.geodb();
    match command {
        // CE lists its IMAP/POP3 sessions; the simulator has none to list, but checks the
        // masks as CE does: at most one user mask and one network (`ip[/bits]`).
        "who" => {
            let masks = match params.0.get("mask") {
                Some(ParamValue::Array(masks)) => masks.as_slice(),
                _ => &[],
            };
            let networks = masks.iter().filter(|m| is_network(m)).count();
            if networks > 1 || masks.len() - networks > 1 {
                return Err(CommandError::Exit(EX_USAGE));
            }
            Ok(vec![])
        }
        "clusterBackendList" => {
            let site = params.string("site").filter(|s| !s.is_empty());
            Ok(sim
                .backends()
                .into_iter()
                .filter(|b| site.as_ref().is_none_or(|s| *s == b.site))
                .map(backend_row)
                .collect())
        }
        "clusterBackendStatus" => {
            let host = params.required("host")?;
            sim.backends()
                .into_iter()
                .find(|b| b.host == host)
                .map(|b| vec![backend_row(b)])
                .ok_or(CommandError::Exit(EX_NOHOST))
        }
        "clusterBackendUpdate" => {
            let host = params.required("host")?;
            let info = sim.backends().into_iter().find(|b| b.host == host).ok_or(CommandError::Exit(EX_NOHOST))?;
            let site_id = site_id(sim, &info.site).await?;
            let mut row = geodb
                .list_backends(site_id, domain::PageRequest::first(500))
                .await
                .map_err(store_error)?
                .items
                .into_iter()
                .find(|b| b.id == info.id)
                .ok_or(CommandError::Exit(EX_NOHOST))?;
            if let Some(status) = params.string("status") {
                row.status = status.parse().map_err(|_| CommandError::Exit(EX_USAGE))?;
            }
            if let Some(lf) = params.string("loadFactor") {
                row.load_factor = lf.parse::<LoadFactor>().map_err(|_| CommandError::Exit(EX_USAGE))?.get();
            }
            geodb.put_backend(&row).await.map_err(store_error)?;
            sim.refresh_topology().await.map_err(store_error)?;
            Ok(vec![])
        }
        "clusterGroupList" => {
            let mask = params.string("mask").unwrap_or_default();
            let info = own_backend(sim, host)?;
            let site_id = site_id(sim, &info.site).await?;
            let mut rows = Vec::new();
            let mut cursor = None;
            loop {
                let page =
                    geodb.list_groups(site_id, domain::PageRequest::after(cursor, 500)).await.map_err(store_error)?;
                rows.extend(
                    page.items
                        .iter()
                        .filter(|g| mask.is_empty() || glob(&mask, &g.name))
                        .map(|g| group_row(sim, &info.site, g)),
                );
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            Ok(rows)
        }
        "clusterGroupStatus" => {
            let (site, group) = (params.required("site")?, params.required("group")?);
            let site_id = site_id(sim, &site).await?;
            let group =
                geodb.get_group(site_id, &group).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOHOST))?;
            Ok(vec![group_row(sim, &site, &group)])
        }
        "clusterGroupMove" => {
            let (site, name, host) = (params.required("site")?, params.required("group")?, params.required("host")?);
            let site_id = site_id(sim, &site).await?;
            let destination = sim
                .backends()
                .into_iter()
                .find(|b| b.host == host && b.site == site)
                .ok_or(CommandError::Exit(EX_NOHOST))?;
            let group =
                geodb.get_group(site_id, &name).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOHOST))?;
            if !group.moving.is_empty() || group.backend_id == Some(destination.id) {
                return Err(CommandError::Exit(EX_DATAERR));
            }
            let moved = if params.flag("direct") {
                UserGroup { backend_id: Some(destination.id), alt_backend_id: group.backend_id, ..group }
            } else {
                UserGroup { alt_backend_id: Some(destination.id), moving: format!("{}", Uuid::new_v4()), ..group }
            };
            geodb.put_group(&moved).await.map_err(store_error)?;
            Ok(vec![])
        }
        "clusterGroupAccess" => {
            let group = params.required("group")?;
            match sim.group_access(host, &group).await.map_err(store_error)? {
                Some(backend) => Ok(vec![json!({"group": group, "backend": backend})]),
                None => Err(CommandError::Exit(EX_NOHOST)),
            }
        }
        "clusterUserStatus" => {
            let user = params.required("user")?;
            let row = geodb.get_user(&user).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOUSER))?;
            Ok(vec![user_row(&row)])
        }
        "clusterUserMove" => {
            let (user, group) = (params.required("user")?, params.required("group")?);
            let mut row = geodb.get_user(&user).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOUSER))?;
            let site = match params.string("site").filter(|s| !s.is_empty()) {
                Some(site) => Some(site_id(sim, &site).await?),
                None => row.preferred_site_id,
            };
            let failover = params.string("failoverGroup").unwrap_or_else(|| group.clone());
            if params.flag("direct") {
                row.preferred_site_id = site;
                row.group_name = group;
                row.failover_site_group_name = failover;
            } else {
                row.moving_preferred_site_id = site;
                row.moving_group_name = group;
                row.moving_failover_site_group_name = failover;
            }
            row.last_update = Some(chrono::Utc::now());
            geodb.put_user(&row).await.map_err(store_error)?;
            Ok(vec![])
        }
        "clusterUserAccess" => {
            let user = params.required("user")?;
            let mut row = geodb.get_user(&user).await.map_err(store_error)?.ok_or(CommandError::Exit(EX_NOUSER))?;
            if !row.moving_group_name.is_empty() {
                // The access performs the pending user move.
                row.preferred_site_id = row.moving_preferred_site_id.or(row.preferred_site_id);
                row.group_name = std::mem::take(&mut row.moving_group_name);
                row.failover_site_group_name = std::mem::take(&mut row.moving_failover_site_group_name);
                row.moving_preferred_site_id = None;
                row.last_update = Some(chrono::Utc::now());
                geodb.put_user(&row).await.map_err(store_error)?;
            }
            Ok(vec![json!({"user": row.username, "group": row.group_name})])
        }
        "clusterKick" => {
            params.required("user")?;
            Ok(vec![])
        }
        _ => Err(CommandError::Internal),
    }
}

/// Whether a `who` mask is a network: not all digits, an address with optional `/bits`.
fn is_network(mask: &str) -> bool {
    if mask.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (ip, bits) = mask.split_once('/').map_or((mask, None), |(ip, bits)| (ip, Some(bits)));
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else { return false };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.is_none_or(|bits| bits.parse::<u32>().is_ok_and(|bits| bits <= max))
}

fn own_backend(sim: &Simulator, host: &str) -> Result<super::BackendInfo, CommandError> {
    sim.backends().into_iter().find(|b| b.host == host).ok_or(CommandError::Internal)
}

async fn site_id(sim: &Simulator, name: &str) -> Result<Uuid, CommandError> {
    palomar_core::ports::site_id_by_name(sim.geodb().as_ref(), name)
        .await
        .map_err(store_error)?
        .ok_or(CommandError::Exit(EX_NOHOST))
}

fn backend_row(b: super::BackendInfo) -> Value {
    json!({"id": b.id.to_string(), "site": b.site, "host": b.host, "status": b.status, "load_factor": b.load_factor.to_string()})
}

fn group_row(sim: &Simulator, site: &str, g: &UserGroup) -> Value {
    let host = |id: Option<Uuid>| {
        id.and_then(|id| sim.backends().into_iter().find(|b| b.id == id)).map(|b| b.host).unwrap_or_default()
    };
    let progress = sim.move_progress(&g.name).filter(|p| p.site_id == g.site_id);
    json!({
        "site": site,
        "group": g.name,
        "backend": host(g.backend_id),
        "alt_backend": host(g.alt_backend_id),
        "moving": g.moving,
        "sticky_users": g.sticky_users.to_string(),
        "sticky_backend": g.sticky_backend.to_string(),
        "users_moved": progress.as_ref().map(|p| p.users_moved.to_string()).unwrap_or_default(),
        "users_total": progress.as_ref().map(|p| p.users_total.to_string()).unwrap_or_default(),
    })
}

fn user_row(u: &User) -> Value {
    let id = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
    json!({
        "user": u.username,
        "preferred_site_id": id(u.preferred_site_id),
        "group": u.group_name,
        "failover_site_group": u.failover_site_group_name,
        "metacache_last_host": u.metacache_last_host,
        "moving_preferred_site_id": id(u.moving_preferred_site_id),
        "moving_group": u.moving_group_name,
        "moving_failover_site_group": u.moving_failover_site_group_name,
    })
}
