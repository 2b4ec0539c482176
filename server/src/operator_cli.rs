//! `palomar operator …`: accounts written straight to the GeoDB from the host.

use std::{io::BufRead, sync::Arc};

use anyhow::Context;
use domain::Role;
use palomar_core::{
    controller::{Census, Controller},
    services::{Caller, Services},
};
use palomar_server::{
    adapters::{cassandra::CassandraStore, embedded::EmbeddedStore, NoDoveadm, NoMetrics},
    config::Config,
};

use crate::{ports_on, resolver};

/// Creates an operator in the GeoDB; the password comes from PALOMAR_OPERATOR_PASSWORD or stdin.
pub(crate) async fn add(config: Config, role: Role, username: &str) -> anyhow::Result<()> {
    let password = read_password(username)?;
    let services = cli_services(&config).await?;
    let operator = services.operator_admin(&Caller::trusted_cli())?.add(username, role, &password).await?;
    println!("operator {} added with role {}", operator.username, operator.role);
    Ok(())
}

/// Sets a new password and ends the operator's sessions. Login throttling is per server
/// process and keyed on failures, so the new password works as soon as the wait (at most 15
/// minutes) is over, or at once after a restart.
pub(crate) async fn reset_password(config: Config, username: &str) -> anyhow::Result<()> {
    let password = read_password(username)?;
    let services = cli_services(&config).await?;
    services.operator_admin(&Caller::trusted_cli())?.reset_password(username, &password).await?;
    println!("password of {} reset; its sessions are ended", username.trim());
    Ok(())
}

/// The password from PALOMAR_OPERATOR_PASSWORD, or one line on stdin.
fn read_password(username: &str) -> anyhow::Result<String> {
    match std::env::var("PALOMAR_OPERATOR_PASSWORD") {
        Ok(password) => Ok(password),
        Err(_) => {
            eprintln!("password for {} (one line on stdin):", username.escape_debug());
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
            Ok(line.trim_end_matches(['\r', '\n']).to_string())
        }
    }
}

/// The services on the GeoDB for a command run on the host.
async fn cli_services(config: &Config) -> anyhow::Result<Services> {
    let store = Arc::new(CassandraStore::connect(&config.cassandra).await?);
    // The services come with the site's controller; here it never runs, so it needs no lease,
    // plans, metrics or doveadm API of its own.
    let idle = Arc::new(EmbeddedStore::new());
    let ports = ports_on(store, idle.clone(), idle, Arc::new(NoMetrics), Arc::new(NoDoveadm), resolver(config));
    let controller = Controller::new(ports.clone(), Arc::new(Census::default()), config.controller_settings());
    Ok(Services::new(ports, controller))
}
