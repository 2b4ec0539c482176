//! What the replay page shows: the form's defaults, and a replay with its charts.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ReplayRun;

/// A site's replay page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayPage {
    pub site_id: Uuid,
    pub site: String,
    /// The window the form offers: the last 24 hours, to the minute.
    pub from: String,
    pub to: String,
    /// The settings in force, one `NAME=VALUE` a line, as the form starts from.
    pub settings: String,
    /// Whether the viewer may start a replay (operators).
    pub can_start: bool,
    /// The replay the address names.
    pub run: Option<ReplayShown>,
}

/// A replay as the page shows it: the record, its chart series drawn as SVG on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayShown {
    /// The replay, without its chart series (the charts carry them).
    pub run: ReplayRun,
    pub charts: Vec<ReplayChart>,
}

/// One chart of a replay, recorded against replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayChart {
    pub id: String,
    pub title: String,
    /// Empty when there is nothing to draw.
    pub svg: String,
}
