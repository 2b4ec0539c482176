//! The controller's doveadm requests against real Dovecot CE 2.4 (Debian trixie, in a chroot):
//! its line is told from its command list, a move's hand-off never sends it the auth cache flush
//! that panics 2.4.1's doveadm, and `who` and `kick` answer as the hand-off reads them.

use crate::common;

use std::{collections::BTreeMap, sync::Arc};

use domain::doveadm::{DoveadmCommand, DovecotLine};
use palomar_core::{
    controller::{Census, Controller, ControllerSettings, DovecotSettings},
    ports::Doveadm,
};
use palomar_server::adapters::{
    doveadm_http::{DoveadmAuth, DoveadmHttp},
    embedded::EmbeddedStore,
    NoMetrics,
};

const PROXY: &str = "proxy24.palomar.test";
const PASSWORD: &str = "palomar-ce24-doveadm";

fn client(url: &str) -> DoveadmHttp {
    let endpoints = BTreeMap::from([(PROXY.to_string(), url.to_string())]);
    DoveadmHttp::new("http", 8080, Some(DoveadmAuth::Password(PASSWORD.into())), endpoints).expect("a doveadm client")
}

#[tokio::test]
async fn a_24_proxy_is_told_by_its_commands_and_never_sent_the_flush_that_panics_it() {
    let Some(line) = common::dovecot::line_24() else { return };
    let ce = common::dovecot::start(&line, "handoff", Some(PASSWORD), None);
    let doveadm = Arc::new(client(&ce.doveadm_url()));

    let commands = doveadm.list_commands(PROXY).await.expect("2.4 lists its commands");
    assert!(commands.iter().any(|c| c == "authCacheFlush"), "{commands:?}");
    assert_eq!(DovecotLine::of_commands(&commands), DovecotLine::Ce24, "no Director commands on 2.4");

    // What a move's hand-off sends: the flush (skipped on 2.4), then `who` and `kick`.
    let mut ports = common::embedded_ports(Arc::new(EmbeddedStore::new()), Arc::new(NoMetrics));
    ports.doveadm = doveadm.clone();
    let settings = ControllerSettings {
        dovecot: DovecotSettings {
            edition: domain::edition::DovecotEdition::Ce,
            proxies: vec![PROXY.into()],
            default_group_count: 10,
        },
        ..common::controller_settings("dc1ce", "test")
    };
    let controller = Controller::new(ports, Arc::new(Census::default()), settings);
    controller.moves().handoff().flush_proxy_caches().await;
    let who = DoveadmCommand::Who { masks: vec![], separate_connections: true };
    assert_eq!(doveadm.run(PROXY, &who).await.expect("who"), vec![], "no sessions");
    // 2.4 answers a kick of nobody with a count of 0 where 2.3 exits 68.
    let kicked = doveadm.run(PROXY, &DoveadmCommand::Kick { mask: "nobody@example.net".into() }).await;
    assert_eq!(kicked.expect("kick")[0].get("count").and_then(|v| v.as_str()), Some("0"));

    // Dovecot's log process writes a moment after the answer: wait for the last request's line.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ce.log().contains("cmd kick") && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = ce.log();
    assert!(!log.contains("Panic"), "a doveadm request crashed Dovecot 2.4:\n{log}");
    assert!(!log.contains("cmd auth cache flush"), "the flush was sent to 2.4:\n{log}");
    assert!(log.contains("cmd kick"), "the requests reached it:\n{log}");
}
