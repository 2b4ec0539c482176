//! The one way a group move starts and ends, whoever asks: a controller feature, an operator
//! from the UI, or supervision forcing a move that stalled. Every start is the same
//! conditional GeoDB write, recorded for supervision, kicked off on the source with
//! `clusterGroupAccess`, and noted in both backends' `last_moved_*` columns.

use domain::doveadm::DoveadmCommand;
use domain::logtext::Untrusted;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    census::Census,
    feed::MoveFeed,
    handoff::{Handoff, HandoffError},
    telemetry::Telemetry,
};
use crate::ports::{read_all, Clock, Doveadm, GeoDb, RecordStore, StoreError};
use domain::{
    edition::DovecotEdition,
    geodb::{Backend, MoveSide},
    moves::{EndMove, Initiator, MoveEnd, MoveRecord, MoveState, NewMove},
    routing::eligible_destination,
    WriteError,
};

/// Who asks for a move, and where to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    pub site_id: Uuid,
    pub group: String,
    pub destination: Uuid,
    pub initiator: Initiator,
    /// The controller's decision behind it, if any.
    pub decision_id: Option<Uuid>,
}

/// Starts, forces, cancels and records group moves.
pub struct GroupMoves {
    geodb: Arc<dyn GeoDb>,
    records: Arc<dyn RecordStore>,
    doveadm: Arc<dyn Doveadm>,
    clock: Arc<dyn Clock>,
    census: Arc<Census>,
    telemetry: Arc<Telemetry>,
    handoff: Handoff,
    feed: MoveFeed,
}

impl From<StoreError> for WriteError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(why) => WriteError::Unavailable(why),
            StoreError::BadCursor => WriteError::invalid("cursor", "this page link is no longer valid"),
            StoreError::Corrupt(why) => WriteError::Unavailable(format!("unreadable row: {why}")),
            err @ StoreError::TooMany { what, .. } => WriteError::invalid(what, err.to_string()),
        }
    }
}

fn end_of(backends: &[Backend], id: Uuid) -> Option<MoveEnd> {
    backends.iter().find(|b| b.id == id).map(|b| MoveEnd { id, host: b.host.clone() })
}

impl GroupMoves {
    pub(crate) fn new(
        geodb: Arc<dyn GeoDb>,
        records: Arc<dyn RecordStore>,
        doveadm: Arc<dyn Doveadm>,
        clock: Arc<dyn Clock>,
        census: Arc<Census>,
        telemetry: Arc<Telemetry>,
        handoff: Handoff,
    ) -> Self {
        Self { geodb, records, doveadm, clock, census, telemetry, handoff, feed: MoveFeed::default() }
    }

    /// Wakes on every move record this process writes (the live move streams wait on it).
    pub fn feed(&self) -> &MoveFeed {
        &self.feed
    }

    /// Records a move that just started, here or outside (adopted by a pass). Returns false
    /// when a record of it stood already.
    pub(crate) async fn record_start(&self, record: &MoveRecord) -> Result<bool, StoreError> {
        let inserted = self.records.insert_move(record).await?;
        if inserted {
            self.feed.changed();
        }
        Ok(inserted)
    }

    /// Gives the record a pass adopted, between this start's GeoDB write and its record, the
    /// start's initiator and decision, so that the Moves page says why the group moved.
    async fn claim_adopted(&self, started: &MoveRecord) {
        tracing::info!(move_id = %started.id, "the move was adopted by a pass meanwhile");
        let active = match self.records.list_active_moves(started.site_id).await {
            Ok(active) => active,
            Err(err) => {
                tracing::warn!(move_id = %started.id, error = %Untrusted(&err), "cannot name the adopted move's initiator");
                return;
            }
        };
        let Some(mut adopted) = active.into_iter().find(|m| m.id == started.id) else { return };
        adopted.initiated_by = started.initiated_by.clone();
        adopted.decision_id = started.decision_id;
        if let Err(err) = self.save_record(&adopted).await {
            tracing::warn!(move_id = %started.id, error = %Untrusted(&err), "cannot name the adopted move's initiator");
        }
    }

    /// Saves a move's record (progress, or how it ended) unless it ended meanwhile. Returns
    /// whether it was saved.
    pub(crate) async fn save_record(&self, record: &MoveRecord) -> Result<bool, StoreError> {
        let saved = self.records.update_move(record).await?;
        if saved {
            self.feed.changed();
        }
        Ok(saved)
    }

    /// The CE side of moves (flushing proxies' caches, kicking sessions).
    pub fn handoff(&self) -> &Handoff {
        &self.handoff
    }

    /// Starts a move like `doveadm cluster group move`: `alt_backend_id` := destination and
    /// `moving` set, only if the group has a backend and is not moving (a lightweight
    /// transaction). The destination must be online, with a load factor above 0.
    pub async fn start(&self, request: MoveRequest) -> Result<MoveRecord, WriteError> {
        let MoveRequest { site_id, group: name, destination, initiator, decision_id } = request;
        let geodb = self.geodb.as_ref();
        let group =
            geodb.get_group(site_id, &name).await?.ok_or_else(|| WriteError::NotFound(format!("group {name}")))?;
        if group.is_moving() {
            return Err(WriteError::Refused(format!("group {name} is already moving")));
        }
        let source_id = group.backend_id.ok_or_else(|| WriteError::Refused(format!("group {name} has no backend")))?;
        let backends = read_all(|page| geodb.list_backends(site_id, page)).await?;
        let target = backends
            .iter()
            .find(|b| b.id == destination)
            .ok_or_else(|| WriteError::invalid("destination", "no such backend in this site"))?;
        if !eligible_destination(target, &group) {
            return Err(WriteError::invalid(
                "destination",
                format!(
                    "{} cannot take the group: it must be online, with a load factor above 0, and not the group's backend",
                    target.host
                ),
            ));
        }
        let token = Uuid::new_v4().to_string();
        if !geodb.start_group_move(site_id, &name, destination, &token).await? {
            return Err(WriteError::Refused(format!(
                "group {name} started moving meanwhile (conditional write refused); nothing was changed"
            )));
        }
        let now = self.clock.now();
        let record = MoveRecord::initiated(NewMove {
            site_id,
            group: &name,
            token: &token,
            source: end_of(&backends, source_id),
            destination: MoveEnd { id: destination, host: target.host.clone() },
            initiator,
            decision_id,
            users_total: self.census.latest().users_in(site_id, &name),
            now,
        });
        // Recorded at once, so the move shows and is supervised now rather than when the next
        // pass adopts it (which it still does if this write fails).
        match self.record_start(&record).await {
            Ok(true) => {}
            // A pass found the group moving first and adopted the move: one record stands, and
            // it gets who started the move and why.
            Ok(false) => self.claim_adopted(&record).await,
            Err(err) => tracing::error!(
                move_id = %record.id,
                error = %Untrusted(&err),
                "move started but not recorded; the next pass adopts it"
            ),
        }
        for (side, backend) in [(MoveSide::From, source_id), (MoveSide::To, destination)] {
            self.note_move(&backends, site_id, backend, side, now).await;
        }
        self.kick_off(&record).await;
        self.telemetry.move_started(record.initiated_by.label());
        tracing::info!(
            move_id = %record.id,
            group = %Untrusted(&name),
            source = %Untrusted(&record.source_host),
            destination = %Untrusted(&record.destination_host),
            initiated_by = %record.initiated_by,
            "group move started"
        );
        Ok(record)
    }

    /// Sets the move going. Pro: an access to the group on its source (`clusterGroupAccess`)
    /// starts the source's move; when it fails, the start timeout forces the move. CE: the
    /// route already points at the destination; the proxies forget the old one and the group's
    /// sessions on the source are kicked (supervision kicks any that come back).
    async fn kick_off(&self, record: &MoveRecord) {
        let result = self.access(&record.source_host, record.site_id, &record.group).await;
        if let Err(err) = result {
            tracing::warn!(move_id = %record.id, group = %Untrusted(&record.group), error = %Untrusted(&err), "could not kick off the move on its source");
        }
    }

    /// Like `doveadm cluster group access` run on `host` (the group's backend): a lookup of the
    /// group there, which starts a pending move of it. CE: the proxies forget the group's route
    /// and its sessions on `host` are kicked.
    pub async fn access(&self, host: &str, site_id: Uuid, group: &str) -> Result<(), HandoffError> {
        match self.handoff.settings().edition {
            DovecotEdition::Pro => {
                let access = DoveadmCommand::ClusterGroupAccess { group: group.to_string() };
                self.doveadm.run(host, &access).await.map(|_| ()).map_err(HandoffError::from)
            }
            DovecotEdition::Ce => self.handoff.hand_off(host, site_id, group).await.map(|_| ()),
        }
    }

    /// Sets `last_moved_from`/`last_moved_to` on one backend, only if it still holds what we
    /// read: a newer note from someone else wins.
    async fn note_move(&self, backends: &[Backend], site_id: Uuid, id: Uuid, side: MoveSide, now: DateTime<Utc>) {
        let Some(backend) = backends.iter().find(|b| b.id == id) else { return };
        let seen = match side {
            MoveSide::From => &backend.last_moved_from,
            MoveSide::To => &backend.last_moved_to,
        };
        match self.geodb.note_backend_move(site_id, id, side, seen, &now.to_rfc3339()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(backend = %Untrusted(&backend.host), "last move time changed meanwhile; kept the newer one")
            }
            Err(err) => {
                tracing::warn!(backend = %Untrusted(&backend.host), error = %Untrusted(&err), "could not note the move's time on the backend")
            }
        }
    }

    /// One of the site's active moves.
    pub async fn active(&self, site_id: Uuid, move_id: Uuid) -> Result<MoveRecord, WriteError> {
        let active = self.records.list_active_moves(site_id).await?;
        active.into_iter().find(|m| m.id == move_id).ok_or_else(|| WriteError::NotFound("the active move".into()))
    }

    /// Ends an active move before its source finishes it, with a conditional write
    /// (`IF moving = <its token>`): forcing makes the destination the group's backend now;
    /// cancelling, allowed only before users are being moved, leaves it on its source.
    pub async fn end(&self, m: &MoveRecord, how: EndMove, note: &str) -> Result<MoveRecord, WriteError> {
        let (backend, alt) = match how {
            EndMove::Force | EndMove::Complete => (m.destination, m.source.filter(|s| *s != m.destination)),
            EndMove::Cancel => {
                if m.state != MoveState::Initiated {
                    return Err(WriteError::Refused(
                        "the move has started: users are being moved. Force it instead, or let it finish".into(),
                    ));
                }
                let source =
                    m.source.ok_or_else(|| WriteError::Refused("the move has no source to go back to".into()))?;
                (source, Some(m.destination))
            }
        };
        let now = self.clock.now();
        if !self.geodb.end_group_move(m.site_id, &m.group, &m.moving_token, backend, alt, now).await? {
            return Err(WriteError::Refused("the group's move changed meanwhile (conditional write refused)".into()));
        }
        // CE: whichever backend lost the group must not keep its sessions (a forced move's
        // source, a cancelled move's destination).
        let loser = if how == EndMove::Cancel { &m.destination_host } else { &m.source_host };
        if let Err(err) = self.handoff.hand_off(loser, m.site_id, &m.group).await {
            tracing::warn!(move_id = %m.id, error = %Untrusted(&err), "could not kick the group's sessions off the backend that lost it");
        }
        let mut done = m.clone();
        done.state = how.state();
        done.finished_at = Some(now);
        done.eta = None;
        done.note = note.to_string();
        self.record_end(&done).await?;
        Ok(done)
    }

    /// Stores a move that ended (finished, aborted, forced or cancelled) and counts it, unless
    /// someone else ended it first (then theirs stands). Returns whether this end was stored.
    pub async fn record_end(&self, done: &MoveRecord) -> Result<bool, StoreError> {
        if !self.save_record(done).await? {
            tracing::info!(move_id = %done.id, group = %Untrusted(&done.group), "the move had already ended; its record stands");
            return Ok(false);
        }
        self.telemetry.move_ended(done.state.as_str());
        tracing::info!(move_id = %done.id, group = %Untrusted(&done.group), outcome = done.state.as_str(), note = %Untrusted(&done.note), "group move ended");
        Ok(true)
    }
}
